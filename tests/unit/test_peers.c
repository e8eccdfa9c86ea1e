/* store/peers.c: the peer table (put, get, each, find, remove, block,
 * statistics, damaged records) and the invitation table (create, redeem,
 * expiry, uses, wrong MAC, revoke, prune). Clocks are parameters: nothing
 * sleeps. Stores live under a fresh directory in /tmp, removed at the end. */
#include "store/peers.h"

#include <msgpack.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/announcements.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400)

static am_error err;

static void key_of(uint8_t key[32], int n) {
  memset(key, 0, 32);
  key[0] = (uint8_t)n;
  key[31] = 0xAA;
}

/* ---- transactions run from a function and its arguments ------------------------------ */

typedef struct op {
  int kind;
  am_peer peer;
  uint8_t key[32];
  am_peer_stats delta;
  const char *text;
  bool flag, existed, changed;
  int64_t now, expires;
  uint32_t uses;
  uint8_t secret[16], proof[40], h[64], id[8];
  am_invite inv;
  int refusal;
  uint64_t count;
  am_peer *list;
  size_t n;
} op;

enum { PUT, GET, REMOVE, BLOCK, STATS, FIND, LIST, CREATE, REDEEM, REVOKE, IGET, IFIND, PRUNE };

static int op_fn(am_txn *t, void *arg) {
  op *o = arg;
  switch (o->kind) {
  case PUT: return am_peer_put(t, &o->peer, &o->existed, &err);
  case GET: return am_peer_get(t, o->key, &o->peer);
  case REMOVE: return am_peer_remove(t, o->key, &err);
  case BLOCK: return am_peer_set_blocked(t, o->key, o->flag, o->now, &o->changed, &err);
  case STATS: return am_peer_stats_add(t, o->key, &o->delta, o->text, o->now, &err);
  case FIND: return am_peer_find(t, o->text, &o->peer, &err);
  case LIST: return am_peer_list(t, &o->list, &o->n, &err);
  case CREATE: return am_invite_create(t, o->now, o->expires, o->uses, o->secret, &o->inv, &err);
  case REDEEM: return am_invite_redeem(t, o->proof, o->h, o->now, &o->inv, &o->refusal, &err);
  case REVOKE: return am_invite_revoke(t, o->id, &err);
  case IGET: return am_invite_get(t, o->id, &o->inv);
  case IFIND: return am_invite_find(t, o->text, o->inv.id, &err);
  case PRUNE: return am_invite_prune(t, o->now, &o->count, &err);
  }
  return AM_EINTERNAL;
}

static int wr(am_store *s, op *o) {
  memset(&err, 0, sizeof err);
  return am_store_write(s, op_fn, o, &err);
}
static int rd(am_store *s, op *o) {
  memset(&err, 0, sizeof err);
  return am_store_read(s, op_fn, o, &err);
}

static am_peer make_peer(int n, const char *address, const char *name) {
  am_peer p;
  memset(&p, 0, sizeof p);
  key_of(p.key, n);
  snprintf(p.address, sizeof p.address, "%s", address);
  snprintf(p.name, sizeof p.name, "%s", name);
  p.added = NOW;
  return p;
}

/* ---- peers ----------------------------------------------------------------------------- */

static void test_put_get(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op o = {.kind = PUT, .peer = make_peer(1, "School.Example:7400", "École Partenaire")};
  o.peer.via = AM_PEER_VIA_ACCEPTED;
  CHECK_INT(wr(s, &o), 0);
  CHECK_INT(o.existed, false);
  op g = {.kind = GET};
  key_of(g.key, 1);
  CHECK_INT(rd(s, &g), 0);
  CHECK_STR(g.peer.address, "school.example:7400"); /* normal form */
  CHECK_STR(g.peer.name, "École Partenaire");
  CHECK(g.peer.added == NOW);
  CHECK_INT(g.peer.via, AM_PEER_VIA_ACCEPTED);
  CHECK_INT(g.peer.blocked, false);
  CHECK_STR(g.peer.last_error, "");
  /* Replacing it. */
  o.peer.blocked = true;
  strcpy(o.peer.address, "");
  CHECK_INT(wr(s, &o), 0);
  CHECK_INT(o.existed, true);
  CHECK_INT(rd(s, &g), 0);
  CHECK_INT(g.peer.blocked, true);
  CHECK_STR(g.peer.address, "");
  /* Unknown key. */
  key_of(g.key, 2);
  CHECK_INT(rd(s, &g), AM_ENOTFOUND);
  am_store_close(s);
}

static void test_put_refusals(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op o = {.kind = PUT, .peer = make_peer(1, "school.example", "x")};
  CHECK_INT(wr(s, &o), AM_EINVAL);
  CHECK(strstr(err.msg, "missing \":PORT\"") != NULL);
  o.peer = make_peer(1, "*:7400", "x");
  CHECK_INT(wr(s, &o), AM_EINVAL);
  o.peer = make_peer(1, "a:1", "two\nlines");
  CHECK_INT(wr(s, &o), AM_EINVAL);
  o.peer = make_peer(1, "a:1", "\xff");
  CHECK_INT(wr(s, &o), AM_EINVAL);
  o.peer = make_peer(1, "a:1", "x");
  o.peer.via = 9;
  CHECK_INT(wr(s, &o), AM_EINVAL);
  o.peer = make_peer(1, "a:1", "x");
  o.peer.added = -1;
  CHECK_INT(wr(s, &o), AM_EINVAL);
  op l = {.kind = LIST};
  CHECK_INT(rd(s, &l), 0);
  CHECK(l.n == 0 && l.list == NULL);
  am_store_close(s);
}

static void test_each_find_remove(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op o = {.kind = PUT};
  o.peer = make_peer(3, "c.example:1", "Lycée Ampère");
  CHECK_INT(wr(s, &o), 0);
  o.peer = make_peer(1, "a.example:1", "École A");
  CHECK_INT(wr(s, &o), 0);
  o.peer = make_peer(2, "", "");
  CHECK_INT(wr(s, &o), 0);
  o.peer = make_peer(4, "d.example:1", "Twin");
  CHECK_INT(wr(s, &o), 0);
  o.peer = make_peer(5, "e.example:1", "twin");
  CHECK_INT(wr(s, &o), 0);
  o.peer = make_peer(6, "f.example:1", "TWIN");
  CHECK_INT(wr(s, &o), 0);
  op l = {.kind = LIST};
  CHECK_INT(rd(s, &l), 0);
  REQUIRE(l.n == 6);
  for (size_t i = 0; i < l.n; i++) CHECK_INT(l.list[i].key[0], i + 1); /* key order */
  CHECK_STR(l.list[0].name, "École A");
  free(l.list);

  op f = {.kind = FIND};
  f.text = "École A";
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 1);
  f.text = "ecole a"; /* case and accents ignored */
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 1);
  f.text = "LYCEE AMPERE";
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 3);
  /* By key. */
  char k[AM_PUBKEY_TEXT_LEN + 1];
  uint8_t key[32];
  key_of(key, 2);
  am_pubkey_to_text(key, k);
  f.text = k;
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 2);
  key_of(key, 9);
  am_pubkey_to_text(key, k);
  CHECK_INT(rd(s, &f), AM_ENOTFOUND);
  CHECK(strstr(err.msg, k) != NULL);
  /* An exact match wins over loose ones; loose ones alone are ambiguous. */
  f.text = "twin";
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 5);
  f.text = "Twin";
  CHECK_INT(rd(s, &f), 0);
  CHECK_INT(f.peer.key[0], 4);
  f.text = "tWin";
  CHECK_INT(rd(s, &f), AM_EINVAL);
  CHECK(strstr(err.msg, "several peers") != NULL);
  f.text = "Nobody";
  CHECK_INT(rd(s, &f), AM_ENOTFOUND);
  CHECK(strstr(err.msg, "\"Nobody\"") != NULL);
  f.text = "";
  CHECK_INT(rd(s, &f), AM_ENOTFOUND);
  f.text = "\xff\xfe";
  CHECK_INT(rd(s, &f), AM_ENOTFOUND);

  op r = {.kind = REMOVE};
  key_of(r.key, 3);
  CHECK_INT(wr(s, &r), 0);
  CHECK_INT(wr(s, &r), AM_ENOTFOUND);
  l = (op){.kind = LIST};
  CHECK_INT(rd(s, &l), 0);
  CHECK(l.n == 5);
  free(l.list);
  am_store_close(s);
}

static void test_block(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op b = {.kind = BLOCK, .flag = true, .now = NOW};
  key_of(b.key, 7);
  /* Unknown: unblocking fails, blocking records it. */
  b.flag = false;
  CHECK_INT(wr(s, &b), AM_ENOTFOUND);
  b.flag = true;
  CHECK_INT(wr(s, &b), 0);
  CHECK_INT(b.changed, true);
  op g = {.kind = GET};
  key_of(g.key, 7);
  CHECK_INT(rd(s, &g), 0);
  CHECK_INT(g.peer.blocked, true);
  CHECK_STR(g.peer.address, "");
  CHECK(g.peer.added == NOW);
  CHECK_INT(wr(s, &b), 0);
  CHECK_INT(b.changed, false);
  b.flag = false;
  CHECK_INT(wr(s, &b), 0);
  CHECK_INT(b.changed, true);
  CHECK_INT(rd(s, &g), 0);
  CHECK_INT(g.peer.blocked, false);
  /* Blocking keeps what is known. */
  op p = {.kind = PUT, .peer = make_peer(8, "h.example:9", "H")};
  p.peer.stats.bytes_in = 42;
  CHECK_INT(wr(s, &p), 0);
  key_of(b.key, 8);
  b.flag = true;
  CHECK_INT(wr(s, &b), 0);
  key_of(g.key, 8);
  CHECK_INT(rd(s, &g), 0);
  CHECK_INT(g.peer.blocked, true);
  CHECK_STR(g.peer.name, "H");
  CHECK(g.peer.stats.bytes_in == 42);
  am_store_close(s);
}

static void test_stats(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op p = {.kind = PUT, .peer = make_peer(1, "a.example:7400", "A")};
  CHECK_INT(wr(s, &p), 0);
  op st = {.kind = STATS, .now = NOW + 10};
  key_of(st.key, 1);
  st.delta = (am_peer_stats){.last_seen = NOW + 5, .last_connected = NOW + 1, .bytes_in = 100,
                             .bytes_out = 200, .ann_in = 3, .ann_out = 4, .connects = 1};
  CHECK_INT(wr(s, &st), 0);
  st.delta = (am_peer_stats){.last_seen = NOW + 2, .bytes_in = 1, .ann_out = 1}; /* older time */
  st.text = "connection refused";
  st.now = NOW + 20;
  CHECK_INT(wr(s, &st), 0);
  op g = {.kind = GET};
  key_of(g.key, 1);
  CHECK_INT(rd(s, &g), 0);
  am_peer_stats *x = &g.peer.stats;
  CHECK(x->last_seen == NOW + 5);
  CHECK(x->last_connected == NOW + 1);
  CHECK(x->bytes_in == 101 && x->bytes_out == 200);
  CHECK(x->ann_in == 3 && x->ann_out == 5 && x->connects == 1);
  CHECK_STR(g.peer.last_error, "connection refused");
  CHECK(g.peer.last_error_at == NOW + 20);
  CHECK_STR(g.peer.name, "A");
  CHECK_STR(g.peer.address, "a.example:7400");
  /* NULL keeps the error, "" clears it; NULL delta changes no counter. */
  st.text = NULL;
  st.delta = (am_peer_stats){0};
  CHECK_INT(wr(s, &st), 0);
  CHECK_INT(rd(s, &g), 0);
  CHECK_STR(g.peer.last_error, "connection refused");
  st.text = "";
  CHECK_INT(wr(s, &st), 0);
  CHECK_INT(rd(s, &g), 0);
  CHECK_STR(g.peer.last_error, "");
  CHECK(g.peer.last_error_at == 0);
  /* An error is one line of valid UTF-8, cut at a character boundary. */
  char long_err[600];
  strcpy(long_err, "line one\nline\ttwo ");
  while (strlen(long_err) < 400) strcat(long_err, "é");
  st.text = long_err;
  CHECK_INT(wr(s, &st), 0);
  CHECK_INT(rd(s, &g), 0);
  CHECK(strlen(g.peer.last_error) <= AM_PEER_ERROR_MAX);
  CHECK(strlen(g.peer.last_error) >= AM_PEER_ERROR_MAX - 1);
  CHECK(strncmp(g.peer.last_error, "line one line two ", 18) == 0);
  st.text = "bad \xff byte";
  CHECK_INT(wr(s, &st), 0);
  CHECK_INT(rd(s, &g), 0);
  CHECK_STR(g.peer.last_error, "bad ? byte");
  /* Counters saturate rather than wrap. */
  st.text = NULL;
  st.delta = (am_peer_stats){.bytes_in = UINT64_MAX};
  CHECK_INT(wr(s, &st), 0);
  CHECK_INT(rd(s, &g), 0);
  CHECK(g.peer.stats.bytes_in == UINT64_MAX);
  /* An unknown peer: AM_ENOTFOUND, nothing written. */
  key_of(st.key, 2);
  CHECK_INT(wr(s, &st), AM_ENOTFOUND);
  key_of(g.key, 2);
  CHECK_INT(rd(s, &g), AM_ENOTFOUND);
  am_store_close(s);
}

/* Many peers' statistics in one transaction, as the daemon writes them. */
typedef struct batch {
  int n;
} batch;

static int batch_fn(am_txn *t, void *arg) {
  batch *b = arg;
  for (int i = 1; i <= b->n; i++) {
    uint8_t key[32];
    key_of(key, i);
    am_peer_stats d = {.bytes_in = (uint64_t)i, .last_seen = NOW};
    int rc = am_peer_stats_add(t, key, &d, NULL, NOW, &err);
    if (rc && rc != AM_ENOTFOUND) return rc; /* a removed peer is skipped */
  }
  return 0;
}

static void test_stats_batch(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op p = {.kind = PUT};
  for (int i = 1; i <= 20; i += 2) {
    p.peer = make_peer(i, "a.example:1", "");
    CHECK_INT(wr(s, &p), 0);
  }
  batch b = {.n = 20};
  CHECK_INT(am_store_write(s, batch_fn, &b, &err), 0);
  op l = {.kind = LIST};
  CHECK_INT(rd(s, &l), 0);
  REQUIRE(l.n == 10);
  for (size_t i = 0; i < l.n; i++) CHECK(l.list[i].stats.bytes_in == l.list[i].key[0]);
  free(l.list);
  am_store_close(s);
}

static void test_damaged_peer(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op p = {.kind = PUT, .peer = make_peer(1, "a.example:1", "A")};
  CHECK_INT(wr(s, &p), 0);
  uint8_t key[32];
  key_of(key, 2);
  /* Each of these is refused as damage, never read past its end. */
  static const struct { const char *v; size_t n; } bad[] = {
    {"", 0},
    {"\xc0", 1},
    {"\x90", 1},                          /* empty array */
    {"\xdd\xff\xff\xff\xff", 5},          /* an array of 4 billion elements */
    {"\x9f\x01\xa0\xa0", 4},              /* 15 elements declared, 3 there */
    {"\x9f\x02\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16}, /* version 2 */
    {"\x9f\x01\xa0\xa0\x00\x01\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16}, /* blocked not bool */
    {"\x9f\x01\xa0\xa0\x00\xc2\x07\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16}, /* via 7 */
    {"\x9f\x01\xa0\xa0\xff\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16}, /* negative time */
    {"\x9f\x01\xa3\x61\x3a\x30\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 19}, /* "a:0" */
    {"\x9f\x01\xa0\xa1\x00\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 17}, /* NUL in name */
    {"\x9f\x01\xa0\xa1\xff\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 17}, /* bad UTF-8 */
    {"\x9f\x01\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00\x00", 17}, /* trailing byte */
    {"\x9f\x01\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\xcb\x00\x00\x00\x00\x00\x00\x00\x00", 24}, /* float */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_INT(fx_put_raw(s, AM_DB_PEER, key, 32, bad[i].v, bad[i].n), 0);
    op g = {.kind = GET};
    memcpy(g.key, key, 32);
    if (rd(s, &g) != AM_ECORRUPT) {
      fprintf(stderr, "  damaged record %zu accepted\n", i);
      CHECK(0);
    }
    op l = {.kind = LIST};
    CHECK_INT(rd(s, &l), AM_ECORRUPT);
    CHECK(strstr(err.msg, "damaged") != NULL);
    char k[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(key, k);
    CHECK(strstr(err.msg, k) != NULL);
    CHECK(l.list == NULL);
    /* Changing it is refused too, and says why. */
    op st = {.kind = STATS, .now = NOW};
    memcpy(st.key, key, 32);
    CHECK_INT(wr(s, &st), AM_ECORRUPT);
    CHECK(strstr(err.msg, "damaged") != NULL);
  }
  /* The well-formed minimum decodes (and later elements are ignored). */
  CHECK_INT(fx_put_raw(s, AM_DB_PEER, key, 32, "\x9f\x01\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16), 0);
  op g = {.kind = GET};
  memcpy(g.key, key, 32);
  CHECK_INT(rd(s, &g), 0);
  CHECK_INT(fx_put_raw(s, AM_DB_PEER, key, 32, "\xdc\x00\x10\x01\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00\xc0", 19), 0);
  CHECK_INT(rd(s, &g), 0);
  /* A key of the wrong size. */
  CHECK_INT(fx_put_raw(s, AM_DB_PEER, "short", 5, "\x9f\x01\xa0\xa0\x00\xc2\x00\x00\x00\xa0\x00\x00\x00\x00\x00\x00", 16), 0);
  op l = {.kind = LIST};
  CHECK_INT(rd(s, &l), AM_ECORRUPT);
  CHECK(strstr(err.msg, "a key of 5 bytes") != NULL);
  am_store_close(s);
}

/* ---- invitations ------------------------------------------------------------------------- */

static void make_proof(op *r, const uint8_t secret[16], uint8_t hbyte) {
  memset(r->h, hbyte, 64);
  am_invite_proof(secret, r->h, r->proof);
}

static void test_invite_create_redeem(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op c = {.kind = CREATE, .now = NOW, .expires = NOW + 7 * DAY, .uses = 2};
  CHECK_INT(wr(s, &c), 0);
  CHECK(c.inv.created == NOW && c.inv.expires == NOW + 7 * DAY);
  CHECK(c.inv.uses_left == 2 && c.inv.uses_total == 2 && c.inv.last_used == 0);
  uint8_t id[8], mk[32];
  am_invite_derive(c.secret, id, mk);
  CHECK(memcmp(id, c.inv.id, 8) == 0);
  CHECK_INT(am_invite_state(&c.inv, NOW), AM_INVITE_ACTIVE);

  op r = {.kind = REDEEM, .now = NOW + 60};
  make_proof(&r, c.secret, 0x11);
  CHECK_INT(wr(s, &r), 0);
  CHECK_INT(r.refusal, AM_INVITE_OK);
  CHECK(r.inv.uses_left == 1 && r.inv.last_used == NOW + 60);
  /* The same proof again is a second use (the daemon's handshake hash is
   * never the same twice; the store does not need to know). */
  make_proof(&r, c.secret, 0x22);
  r.now = NOW + 120;
  CHECK_INT(wr(s, &r), 0);
  CHECK(r.inv.uses_left == 0);
  CHECK_INT(am_invite_state(&r.inv, NOW + 120), AM_INVITE_USED);
  /* Used up: refused, kept, listed as used. */
  make_proof(&r, c.secret, 0x33);
  CHECK_INT(wr(s, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_INVITE_REFUSED_USED_UP);
  CHECK_STR(err.msg, "invitation already used");
  op g = {.kind = IGET};
  memcpy(g.id, id, 8);
  CHECK_INT(rd(s, &g), 0);
  CHECK(g.inv.uses_left == 0 && g.inv.last_used == NOW + 120);
  am_wipe(c.secret, 16);
  am_store_close(s);
}

static void test_invite_refusals(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op c = {.kind = CREATE, .now = NOW, .expires = NOW + DAY, .uses = 1};
  CHECK_INT(wr(s, &c), 0);
  op r = {.kind = REDEEM, .now = NOW};
  /* Wrong handshake hash: the MAC does not match. */
  make_proof(&r, c.secret, 0x11);
  r.h[0] ^= 1;
  CHECK_INT(wr(s, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_INVITE_REFUSED_UNKNOWN);
  CHECK_STR(err.msg, "invitation not recognised");
  /* Every tampered byte of the proof. */
  for (int i = 0; i < 40; i++) {
    make_proof(&r, c.secret, 0x11);
    r.proof[i] ^= 0x40;
    CHECK_INT(wr(s, &r), AM_EINVAL);
    CHECK_INT(r.refusal, AM_INVITE_REFUSED_UNKNOWN);
  }
  /* Another secret (unknown id). */
  uint8_t other[16];
  memcpy(other, c.secret, 16);
  other[5] ^= 1;
  make_proof(&r, other, 0x11);
  CHECK_INT(wr(s, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_INVITE_REFUSED_UNKNOWN);
  CHECK_STR(err.msg, "invitation not recognised");
  /* Nothing of this used it. */
  op g = {.kind = IGET};
  memcpy(g.id, c.inv.id, 8);
  CHECK_INT(rd(s, &g), 0);
  CHECK(g.inv.uses_left == 1 && g.inv.last_used == 0);
  /* Expired: exactly at the expiry time and after. */
  make_proof(&r, c.secret, 0x11);
  r.now = NOW + DAY;
  CHECK_INT(wr(s, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_INVITE_REFUSED_EXPIRED);
  CHECK_STR(err.msg, "invitation expired on 2026-01-02 00:00 UTC");
  CHECK_INT(am_invite_state(&g.inv, NOW + DAY), AM_INVITE_EXPIRED);
  /* One second before, it works. */
  r.now = NOW + DAY - 1;
  CHECK_INT(wr(s, &r), 0);
  CHECK_INT(r.refusal, AM_INVITE_OK);
  /* Revoked: unknown. */
  op c2 = {.kind = CREATE, .now = NOW, .expires = NOW + DAY, .uses = 5};
  CHECK_INT(wr(s, &c2), 0);
  op v = {.kind = REVOKE};
  memcpy(v.id, c2.inv.id, 8);
  CHECK_INT(wr(s, &v), 0);
  CHECK_INT(wr(s, &v), AM_ENOTFOUND);
  make_proof(&r, c2.secret, 0x11);
  r.now = NOW;
  CHECK_INT(wr(s, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_INVITE_REFUSED_UNKNOWN);
  am_store_close(s);
}

static void test_invite_create_limits(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op c = {.kind = CREATE, .now = NOW, .expires = NOW + DAY, .uses = 0};
  CHECK_INT(wr(s, &c), AM_EUSAGE);
  c.uses = AM_INVITE_USES_MAX + 1;
  CHECK_INT(wr(s, &c), AM_EUSAGE);
  c.uses = AM_INVITE_USES_MAX;
  CHECK_INT(wr(s, &c), 0);
  c.expires = NOW;
  CHECK_INT(wr(s, &c), AM_EUSAGE);
  c.expires = NOW + AM_INVITE_TTL_MAX + 1;
  CHECK_INT(wr(s, &c), AM_EUSAGE);
  c.expires = NOW + AM_INVITE_TTL_MAX;
  CHECK_INT(wr(s, &c), 0);
  am_store_close(s);
}

static int count_invites(const am_invite *inv, void *arg) {
  (void)inv;
  ++*(size_t *)arg;
  return 0;
}

static int count_fn(am_txn *t, void *arg) { return am_invite_each(t, count_invites, arg, &err); }

static size_t invites(am_store *s) {
  size_t n = 0;
  CHECK_INT(am_store_read(s, count_fn, &n, &err), 0);
  return n;
}

static void test_invite_prune_and_find(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  /* A: expires at day 1. B: used up at day 2. C: valid until day 100. */
  op a = {.kind = CREATE, .now = NOW, .expires = NOW + DAY, .uses = 1};
  op b = {.kind = CREATE, .now = NOW, .expires = NOW + 50 * DAY, .uses = 1};
  op c = {.kind = CREATE, .now = NOW, .expires = NOW + 100 * DAY, .uses = 3};
  CHECK_INT(wr(s, &a), 0);
  CHECK_INT(wr(s, &b), 0);
  CHECK_INT(wr(s, &c), 0);
  op r = {.kind = REDEEM, .now = NOW + 2 * DAY};
  make_proof(&r, b.secret, 1);
  CHECK_INT(wr(s, &r), 0);
  CHECK_INT(invites(s), 3);
  /* 30 days after A expired, B is still within its 30 days. */
  op p = {.kind = PRUNE, .now = NOW + 31 * DAY};
  CHECK_INT(wr(s, &p), 0);
  CHECK(p.count == 1);
  CHECK_INT(invites(s), 2);
  op g = {.kind = IGET};
  memcpy(g.id, a.inv.id, 8);
  CHECK_INT(rd(s, &g), AM_ENOTFOUND);
  /* Creating prunes: B goes at day 32. */
  op d = {.kind = CREATE, .now = NOW + 32 * DAY, .expires = NOW + 33 * DAY, .uses = 1};
  CHECK_INT(wr(s, &d), 0);
  CHECK_INT(invites(s), 2);
  memcpy(g.id, b.inv.id, 8);
  CHECK_INT(rd(s, &g), AM_ENOTFOUND);

  /* find by hex prefix, any case. */
  char hex[17];
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02X", c.inv.id[i]);
  op f = {.kind = IFIND, .text = hex};
  CHECK_INT(rd(s, &f), 0);
  CHECK(memcmp(f.inv.id, c.inv.id, 8) == 0);
  hex[6] = '\0';
  CHECK_INT(rd(s, &f), 0);
  CHECK(memcmp(f.inv.id, c.inv.id, 8) == 0);
  f.text = "abc";
  CHECK_INT(rd(s, &f), AM_EINVAL);
  f.text = "xyz0";
  CHECK_INT(rd(s, &f), AM_EINVAL);
  f.text = "00000000000000000";
  CHECK_INT(rd(s, &f), AM_EINVAL);
  /* An id no invitation has (a, pruned). */
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", a.inv.id[i]);
  f.text = hex;
  CHECK_INT(rd(s, &f), AM_ENOTFOUND);
  am_store_close(s);
}

static void test_damaged_invite(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  op c = {.kind = CREATE, .now = NOW, .expires = NOW + DAY, .uses = 1};
  CHECK_INT(wr(s, &c), 0);
  static const struct { const char *v; size_t n; } bad[] = {
    {"\x96\xc4\x01\x00\x00\x00\x01\x01\x00", 9},                /* 1-byte MAC key */
    {"\x96\xa0\x00\x00\x01\x01\x00", 7},                        /* str, not bin */
    {"\x95\xc4\x00\x00\x00\x01\x01", 7},                        /* five elements */
    {"\xde\x00\x00", 3},                                        /* a map */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_INT(fx_put_raw(s, AM_DB_INVITE, c.inv.id, 8, bad[i].v, bad[i].n), 0);
    op g = {.kind = IGET};
    memcpy(g.id, c.inv.id, 8);
    CHECK_INT(rd(s, &g), AM_ECORRUPT);
    CHECK_INT(am_store_read(s, count_fn, &(size_t){0}, &err), AM_ECORRUPT);
    CHECK(strstr(err.msg, "invitation") && strstr(err.msg, "damaged"));
    op r = {.kind = REDEEM, .now = NOW};
    make_proof(&r, c.secret, 1);
    CHECK_INT(wr(s, &r), AM_ECORRUPT);
    /* Pruning leaves it alone; creating still works. */
    op p = {.kind = PRUNE, .now = NOW + 400 * DAY};
    CHECK_INT(wr(s, &p), 0);
  }
  /* A damaged one is found by its id, and revoked. */
  char hex[17];
  for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", c.inv.id[i]);
  op f = {.kind = IFIND, .text = hex};
  CHECK_INT(rd(s, &f), 0);
  CHECK(memcmp(f.inv.id, c.inv.id, 8) == 0);
  op rv = {.kind = REVOKE};
  memcpy(rv.id, c.inv.id, 8);
  CHECK_INT(wr(s, &rv), 0);
  CHECK_INT(am_store_read(s, count_fn, &(size_t){0}, &err), 0);
  /* uses_left above uses_total, and above the maximum. */
  uint8_t v[64];
  size_t n = 0;
  v[n++] = 0x96, v[n++] = 0xc4, v[n++] = 32;
  memset(v + n, 7, 32), n += 32;
  v[n++] = 0, v[n++] = 0x10, v[n++] = 2, v[n++] = 1, v[n++] = 0;
  CHECK_INT(fx_put_raw(s, AM_DB_INVITE, c.inv.id, 8, v, n), 0);
  op g = {.kind = IGET};
  memcpy(g.id, c.inv.id, 8);
  CHECK_INT(rd(s, &g), AM_ECORRUPT);
  v[n - 3] = 1;
  CHECK_INT(fx_put_raw(s, AM_DB_INVITE, c.inv.id, 8, v, n), 0);
  CHECK_INT(rd(s, &g), 0);
  am_store_close(s);
}

int main(void) {
  if (!fx_scratch("peers")) return 1;
  if (am_crypto_init()) return 1;
  RUN(test_put_get);
  RUN(test_put_refusals);
  RUN(test_each_find_remove);
  RUN(test_block);
  RUN(test_stats);
  RUN(test_stats_batch);
  RUN(test_damaged_peer);
  RUN(test_invite_create_redeem);
  RUN(test_invite_refusals);
  RUN(test_invite_create_limits);
  RUN(test_invite_prune_and_find);
  RUN(test_damaged_invite);
  fx_scratch_remove();
  return TEST_SUMMARY();
}
