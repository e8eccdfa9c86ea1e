/* Unit tests for crypto/handshake.c (docs/PROTOCOL.md 14.1-14.3, 14.8): two
 * nodes complete the handshake in memory, exchanging exactly the bytes
 * am_hs_write produces (its 2-byte length stripped), learn each other's
 * identity and get transport ciphers that work both ways through am_chan.
 * Then the failures: a different identity answering (wrong key), bindings
 * that do not bind (signed by another identity, over another static key,
 * damaged) in both directions, no version in common (with a peer written
 * here on raw Noise, since our own nodes always speak version 1), every
 * single-byte change of messages 1 to 3, message lengths outside the
 * bounds, calls out of turn. And the invitation proof: the hash given to
 * the proof function is the one the responder exposes, and a proof made
 * with crypto/invite.h verifies against it, in this handshake only. */
#include "crypto/handshake.h"

#include <stdbool.h>

#include <sodium.h>

#include "crypto/channel.h"
#include "crypto/invite.h"
#include "tests/test.h"

static am_identity ida, idb, idc; /* initiator, responder, a third node */
static am_hs_local la, lb, lc;
static am_error err;

typedef struct wire {
  uint8_t b[AM_HS_MSG_MAX + 2];
  size_t len;
} wire;

/* from's next message into w, its length prefix checked. */
static int put(am_hs *from, wire *w) {
  memset(&err, 0, sizeof err);
  w->len = 0;
  int rc = am_hs_write(from, w->b, sizeof w->b, &w->len, &err);
  if (rc == 0) {
    CHECK(w->len >= 2 && w->len <= sizeof w->b);
    CHECK_INT((size_t)(w->b[0] << 8 | w->b[1]), w->len - 2);
  } else {
    CHECK(err.msg[0] != 0);
  }
  return rc;
}

/* w, without its length, read by to. */
static int get(am_hs *to, const wire *w) {
  memset(&err, 0, sizeof err);
  int rc = am_hs_read(to, w->b + 2, w->len - 2, &err);
  if (rc) {
    CHECK(err.msg[0] != 0);
    CHECK(to->failure != AM_HSF_NONE);
  }
  return rc;
}

static int pass(am_hs *from, am_hs *to) {
  wire w;
  int rc = put(from, &w);
  return rc ? rc : get(to, &w);
}

/* Starts both sides and runs the three messages; the first failure. */
static int handshake(am_hs *i, am_hs *r, const am_hs_local *li, const am_hs_local *lr,
                     const uint8_t *expected, am_hs_proof_fn fn, void *arg) {
  CHECK_INT(am_hs_start_initiator(i, li, expected, fn, arg), 0);
  CHECK_INT(am_hs_start_responder(r, lr), 0);
  int rc;
  if ((rc = pass(i, r)) || (rc = pass(r, i)) || (rc = pass(i, r))) return rc;
  return 0;
}

/* A failed handshake refuses everything. */
static void dead(am_hs *hs) {
  wire w;
  am_noise_cipher tx, rx;
  const uint8_t *p, *h;
  int failure = hs->failure;
  CHECK(failure != AM_HSF_NONE);
  CHECK(!am_hs_wants_write(hs));
  CHECK(!am_hs_done(hs));
  CHECK_INT(am_hs_write(hs, w.b, sizeof w.b, &w.len, NULL), AM_EUSAGE);
  memset(w.b, 0, sizeof w.b);
  CHECK_INT(am_hs_read(hs, w.b, am_hs_read_min(hs), NULL), AM_EUSAGE);
  CHECK_INT(am_hs_split(hs, &tx, &rx), AM_EUSAGE);
  CHECK(!am_hs_invitation(hs, &p, &h));
  CHECK_INT(hs->failure, failure); /* the reason stays the first one */
}

/* Frames from one channel to the other; the message must come out whole. */
static void chan_send(am_chan *from, am_chan *to, const uint8_t *msg, size_t len) {
  am_buf out = {0};
  CHECK_INT(am_chan_seal(from, msg, len, &out), 0);
  size_t off = 0;
  int rc = 0;
  const uint8_t *got = NULL;
  size_t glen = 0;
  while (off < out.len) {
    REQUIRE(out.len - off >= 2);
    size_t n = (size_t)((uint8_t)out.data[off] << 8 | (uint8_t)out.data[off + 1]);
    REQUIRE(out.len - off - 2 >= n);
    CHECK_INT(rc, 0);
    rc = am_chan_open(to, (uint8_t *)out.data + off + 2, n, &got, &glen);
    off += 2 + n;
  }
  CHECK_INT(rc, 1);
  CHECK(glen == len && (len == 0 || memcmp(got, msg, len) == 0));
  am_buf_free(&out);
}

/* ---- a handshake that works ------------------------------------------- */

static void test_binding_message(void) {
  uint8_t msg[AM_HS_BINDING_MSG_LEN];
  CHECK_INT(AM_HS_BINDING_MSG_LEN, 63);
  am_hs_binding_message(la.s.pub, msg);
  CHECK(memcmp(msg, "amicale/transport/1/static-key", 30) == 0);
  CHECK_INT(msg[30], 0);
  CHECK(memcmp(msg + 31, la.s.pub, 32) == 0);
  CHECK_INT(am_verify(ida.pk, msg, sizeof msg, la.binding), 0);
  CHECK(memcmp(la.identity, ida.pk, 32) == 0);
  /* The identity's key is not the Noise static key. */
  CHECK(memcmp(la.s.pub, ida.pk, 32) != 0);
  /* Without the secret key there is nothing to sign with. */
  am_identity pub_only = {.sk = NULL};
  memcpy(pub_only.pk, ida.pk, 32);
  am_hs_local l;
  CHECK_INT(am_hs_local_init(&l, &pub_only), AM_EUSAGE);
  /* A fresh static key each time. */
  CHECK_INT(am_hs_local_init(&l, &ida), 0);
  CHECK(memcmp(l.s.pub, la.s.pub, 32) != 0);
  CHECK(memcmp(l.identity, la.identity, 32) == 0);
  am_hs_local_wipe(&l);
}

static void test_full_handshake(void) {
  am_hs i, r;
  wire w;
  REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  CHECK(am_hs_wants_write(&i));
  CHECK(!am_hs_wants_write(&r));
  CHECK_INT(am_hs_read_min(&r), AM_HS_MSG1_MIN);
  CHECK_INT(am_hs_read_max(&r), AM_HS_MSG1_MAX);

  /* 1: e and the versions in the clear: 00 22 ‖ e ‖ 91 01 (14.10). */
  REQUIRE(put(&i, &w) == 0);
  CHECK_INT(w.len, 2 + 34);
  CHECK(w.b[0] == 0x00 && w.b[1] == 0x22);
  CHECK(w.b[34] == 0x91 && w.b[35] == 0x01);
  CHECK(!am_hs_wants_write(&i));
  CHECK(!am_hs_done(&i));
  CHECK_INT(am_hs_read_min(&i), AM_HS_MSG2_MIN); /* 32 + 48 + 104 + 16 */
  CHECK_INT(am_hs_read_max(&i), AM_HS_MSG2_MAX);
  REQUIRE(get(&r, &w) == 0);
  CHECK(am_hs_wants_write(&r));
  CHECK_INT(r.version, 1);
  CHECK(r.remote_versions.n == 1 && r.remote_versions.v[0] == 1);

  /* 2: e, ee, s, es and [1, id, binding, [1]] (104 bytes) encrypted. */
  REQUIRE(put(&r, &w) == 0);
  CHECK_INT(w.len, 2 + 32 + 48 + 104 + 16);
  CHECK(!am_hs_wants_write(&r));
  CHECK_INT(am_hs_read_min(&r), AM_HS_MSG3_MIN); /* 48 + 102 + 16 */
  CHECK_INT(am_hs_read_max(&r), AM_HS_MSG3_MAX);
  REQUIRE(get(&i, &w) == 0);
  CHECK(am_hs_wants_write(&i));
  CHECK(!am_hs_done(&i));
  CHECK(memcmp(i.remote, idb.pk, 32) == 0);
  CHECK_INT(i.version, 1);

  /* 3: s, se and [id, binding, nil] (102 bytes). */
  REQUIRE(put(&i, &w) == 0);
  CHECK_INT(w.len, 2 + 48 + 102 + 16);
  CHECK(am_hs_done(&i));
  CHECK(!am_hs_wants_write(&i));
  CHECK(!am_hs_done(&r));
  REQUIRE(get(&r, &w) == 0);
  CHECK(am_hs_done(&r));
  CHECK(!am_hs_wants_write(&r));
  CHECK_INT(i.failure, AM_HSF_NONE);
  CHECK_INT(r.failure, AM_HSF_NONE);

  /* Each knows the other. */
  CHECK(memcmp(i.remote, idb.pk, 32) == 0);
  CHECK(memcmp(r.remote, ida.pk, 32) == 0);
  CHECK_INT(r.version, 1);
  const uint8_t *proof, *h;
  CHECK(!am_hs_invitation(&r, &proof, &h)); /* none was sent */
  CHECK(!am_hs_invitation(&i, &proof, &h));
  uint8_t hi[64], hr[64];
  am_noise_hs_get_hash(&i.noise, hi);
  am_noise_hs_get_hash(&r.noise, hr);
  CHECK(memcmp(hi, hr, 64) == 0);

  /* The ciphers: the initiator sends with the first, the responder
   * receives with it. */
  am_noise_cipher itx, irx, rtx, rrx;
  REQUIRE(am_hs_split(&i, &itx, &irx) == 0);
  REQUIRE(am_hs_split(&r, &rtx, &rrx) == 0);
  CHECK(memcmp(itx.k, rrx.k, 32) == 0);
  CHECK(memcmp(irx.k, rtx.k, 32) == 0);
  CHECK(memcmp(itx.k, irx.k, 32) != 0);
  CHECK(itx.n == 0 && irx.n == 0 && rtx.n == 0 && rrx.n == 0);
  am_noise_cipher x, y;
  CHECK_INT(am_hs_split(&i, &x, &y), AM_EUSAGE); /* once */

  am_chan ci, cr;
  am_chan_init(&ci, &itx, &irx, AM_MSG_MAX_PREHELLO);
  am_chan_init(&cr, &rtx, &rrx, AM_MSG_MAX_PREHELLO);
  am_noise_cipher_wipe(&itx);
  am_noise_cipher_wipe(&irx);
  am_noise_cipher_wipe(&rtx);
  am_noise_cipher_wipe(&rrx);
  /* The hellos of 14.10, then ping and pong, both ways. */
  am_msg m = {.type = AM_MSG_HELLO};
  strcpy(m.hello.name, "\xc3\x89" "cole A");
  strcpy(m.hello.software, "amicale/0.1.0");
  strcpy(m.hello.caps[0], "announce");
  m.hello.ncaps = 1;
  strcpy(m.hello.address, "a.example:7400");
  am_buf hello = {0};
  REQUIRE(am_msg_encode(&m, &hello, &err) == 0);
  chan_send(&ci, &cr, (const uint8_t *)hello.data, hello.len);
  chan_send(&cr, &ci, (const uint8_t *)hello.data, hello.len);
  am_buf_free(&hello);
  ci.limit = cr.limit = AM_MSG_MAX;
  uint8_t big[100000];
  for (size_t k = 0; k < sizeof big; k++) big[k] = (uint8_t)(k ^ (k >> 8));
  for (int round = 0; round < 3; round++) {
    chan_send(&ci, &cr, big, sizeof big);
    chan_send(&cr, &ci, big, 10);
    chan_send(&cr, &ci, big, sizeof big);
    chan_send(&ci, &cr, big, 0);
  }
  /* A channel does not hear itself (each direction has its own key). */
  am_buf out = {0};
  const uint8_t *got;
  size_t glen;
  REQUIRE(am_chan_seal(&ci, big, 5, &out) == 0);
  am_chan copy;
  am_chan_init(&copy, &ci.tx, &ci.rx, ci.limit);
  CHECK_INT(am_chan_open(&copy, (uint8_t *)out.data + 2, out.len - 2, &got, &glen), AM_EINVAL);
  am_chan_free(&copy);
  am_buf_free(&out);
  am_chan_free(&ci);
  am_chan_free(&cr);
  am_hs_wipe(&i);
  am_hs_wipe(&r);
}

/* ---- who answered ------------------------------------------------------ */

static void test_wrong_key(void) {
  am_hs i, r;
  /* The initiator means to reach C; B answers. */
  REQUIRE(am_hs_start_initiator(&i, &la, idc.pk, NULL, NULL) == 0);
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  REQUIRE(pass(&i, &r) == 0);
  CHECK_INT(pass(&r, &i), AM_EINVAL);
  CHECK_INT(i.failure, AM_HSF_WRONG_KEY);
  /* The key that answered, proven, for the log. */
  CHECK(memcmp(i.remote, idb.pk, 32) == 0);
  CHECK(!am_hs_wants_write(&i));
  /* No message 3, and trying does not hide why. */
  wire w;
  CHECK_INT(put(&i, &w), AM_EUSAGE);
  CHECK_INT(i.failure, AM_HSF_WRONG_KEY);
  dead(&i);
  CHECK(!am_hs_done(&r));
  am_hs_wipe(&i);
  am_hs_wipe(&r);

  /* C answering where B was expected, the other way round. */
  CHECK_INT(handshake(&i, &r, &la, &lc, idb.pk, NULL, NULL), AM_EINVAL);
  CHECK_INT(i.failure, AM_HSF_WRONG_KEY);
  CHECK(memcmp(i.remote, idc.pk, 32) == 0);
  am_hs_wipe(&i);
  am_hs_wipe(&r);
  /* And the right one works. */
  CHECK_INT(handshake(&i, &r, &la, &lc, idc.pk, NULL, NULL), 0);
  CHECK(am_hs_done(&i) && am_hs_done(&r));
  am_hs_wipe(&i);
  am_hs_wipe(&r);
}

/* A local whose binding does not bind its static key to its identity. */
static void bad_local(am_hs_local *out, const am_hs_local *base, const am_identity *id,
                      int how) {
  *out = *base;
  uint8_t msg[AM_HS_BINDING_MSG_LEN];
  am_hs_binding_message(base->s.pub, msg);
  switch (how) {
  case 0: /* signed by another identity */
    CHECK_INT(am_sign(&idc, msg, sizeof msg, out->binding), 0);
    break;
  case 1: /* claims another identity, signed by its own */
    memcpy(out->identity, idc.pk, 32);
    break;
  case 2: { /* the right identity, over another static key */
    am_noise_keypair other;
    CHECK_INT(am_noise_keypair_generate(&other), 0);
    am_hs_binding_message(other.pub, msg);
    CHECK_INT(am_sign(id, msg, sizeof msg, out->binding), 0);
    break;
  }
  case 3: { /* the right key, without the context's zero byte */
    uint8_t m62[62];
    memcpy(m62, AM_HS_BINDING_CONTEXT, 30);
    memcpy(m62 + 30, base->s.pub, 32);
    CHECK_INT(am_sign(id, m62, sizeof m62, out->binding), 0);
    break;
  }
  case 4: /* damaged */
    out->binding[63] ^= 0x40;
    break;
  case 5: /* all zeros */
    memset(out->binding, 0, sizeof out->binding);
    break;
  }
}

static void test_bad_binding(void) {
  for (int how = 0; how <= 5; how++) {
    am_hs_local bad;
    am_hs i, r;
    /* A responder whose binding is bad: the initiator refuses message 2,
     * before looking at which identity it claims (14.3, check 1 before
     * check 2). */
    bad_local(&bad, &lb, &idb, how);
    CHECK_INT(handshake(&i, &r, &la, &bad, idb.pk, NULL, NULL), AM_EINVAL);
    CHECK_INT(i.failure, AM_HSF_BINDING);
    CHECK_INT(i.step, 1);
    dead(&i);
    CHECK(!am_hs_done(&r));
    am_hs_wipe(&i);
    am_hs_wipe(&r);
    CHECK_INT(handshake(&i, &r, &la, &bad, bad.identity, NULL, NULL), AM_EINVAL);
    CHECK_INT(i.failure, AM_HSF_BINDING);
    am_hs_wipe(&i);
    am_hs_wipe(&r);

    /* An initiator whose binding is bad: the responder refuses message 3. */
    bad_local(&bad, &la, &ida, how);
    CHECK_INT(handshake(&i, &r, &bad, &lb, idb.pk, NULL, NULL), AM_EINVAL);
    CHECK_INT(r.failure, AM_HSF_BINDING);
    CHECK_INT(r.step, 2);
    dead(&r);
    CHECK(am_hs_done(&i)); /* it cannot know: the goodbye will tell it */
    am_hs_wipe(&i);
    am_hs_wipe(&r);
    am_hs_local_wipe(&bad);
  }
}

/* ---- versions ---------------------------------------------------------- */

/* A side written on raw Noise, to send what our nodes never would. */
static void raw_side(am_noise_hs *n, bool initiator, const am_hs_local *l) {
  am_noise_hs_config cfg = {.protocol = AM_HS_PROTOCOL,
                            .initiator = initiator,
                            .prologue = (const uint8_t *)AM_HS_PROLOGUE,
                            .prologue_len = strlen(AM_HS_PROLOGUE),
                            .s = &l->s};
  CHECK_INT(am_noise_hs_init(n, &cfg), 0);
}

static void raw_write(am_noise_hs *n, const am_buf *payload, wire *w) {
  size_t len = 0;
  CHECK_INT(am_noise_hs_write(n, (const uint8_t *)payload->data, payload->len, w->b + 2,
                              sizeof w->b - 2, &len),
            0);
  w->b[0] = (uint8_t)(len >> 8);
  w->b[1] = (uint8_t)len;
  w->len = len + 2;
}

static void test_no_common_version(void) {
  /* A responder receiving [2] answers version 0 with its own list, then
   * refuses a message 3 even if one comes. */
  am_noise_hs ri;
  am_hs r;
  wire w;
  am_buf pl = {0};
  raw_side(&ri, true, &la);
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  am_buf_append(&pl, "\x91\x02", 2);
  raw_write(&ri, &pl, &w);
  REQUIRE(get(&r, &w) == 0);
  CHECK_INT(r.version, 0);
  CHECK(r.remote_versions.n == 1 && r.remote_versions.v[0] == 2);
  REQUIRE(put(&r, &w) == 0);
  uint8_t payload[AM_HS_MSG_MAX];
  size_t plen = 0;
  REQUIRE(am_noise_hs_read(&ri, w.b + 2, w.len - 2, payload, sizeof payload, &plen) == 0);
  am_hs_proof p;
  REQUIRE(am_hs2_decode(payload, plen, &p, &err) == 0);
  CHECK_INT(p.version, 0);
  CHECK(p.versions.n == 1 && p.versions.v[0] == 1);
  CHECK(memcmp(p.identity, idb.pk, 32) == 0);
  am_hs_proof mine = {0};
  memcpy(mine.identity, la.identity, 32);
  memcpy(mine.binding, la.binding, 64);
  pl.len = 0;
  REQUIRE(am_hs3_encode(&mine, &pl) == 0);
  raw_write(&ri, &pl, &w);
  CHECK_INT(get(&r, &w), AM_EINVAL);
  CHECK_INT(r.failure, AM_HSF_VERSION);
  dead(&r);
  am_hs_wipe(&r);
  am_noise_hs_wipe(&ri);

  /* Message 2 as a responder of another version would write it: the
   * initiator refuses it with AM_HSF_VERSION (after checking who it is),
   * and keeps the responder's list to tell the user. Also answers that
   * do not follow from the two lists. */
  static const struct {
    const char *payload_tail; /* version, then versions */
    uint8_t n, last;
    int ok;
  } cases[] = {
      {"00 91 02", 1, 2, 0},    {"01 91 02", 1, 2, 0}, {"02 92 01 02", 2, 2, 0},
      {"00 92 01 02", 2, 2, 0}, {"01 92 01 02", 2, 2, 1}, {"01 91 01", 1, 1, 1},
      {"05 92 05 07", 2, 7, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    am_hs i;
    am_noise_hs rr;
    REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
    raw_side(&rr, false, &lb);
    REQUIRE(put(&i, &w) == 0);
    REQUIRE(am_noise_hs_read(&rr, w.b + 2, w.len - 2, payload, sizeof payload, &plen) == 0);
    CHECK(plen == 2 && payload[0] == 0x91 && payload[1] == 0x01);
    pl.len = 0;
    am_buf_append(&pl, "\x94", 1);
    const char *t = cases[k].payload_tail;
    unsigned v;
    sscanf(t, "%2x", &v);
    uint8_t c = (uint8_t)v;
    am_buf_append(&pl, &c, 1);
    am_buf_append(&pl, "\xc4\x20", 2);
    am_buf_append(&pl, lb.identity, 32);
    am_buf_append(&pl, "\xc4\x40", 2);
    am_buf_append(&pl, lb.binding, 64);
    for (t += 2; *t;) {
      if (*t == ' ') {
        t++;
        continue;
      }
      sscanf(t, "%2x", &v);
      c = (uint8_t)v;
      am_buf_append(&pl, &c, 1);
      t += 2;
    }
    raw_write(&rr, &pl, &w);
    int rc = get(&i, &w);
    if (cases[k].ok) {
      CHECK_INT(rc, 0);
      CHECK_INT(i.version, 1);
    } else {
      CHECK_INT(rc, AM_EINVAL);
      CHECK_INT(i.failure, AM_HSF_VERSION);
      CHECK(memcmp(i.remote, idb.pk, 32) == 0);
      dead(&i);
    }
    CHECK_INT(i.remote_versions.n, cases[k].n);
    CHECK_INT(i.remote_versions.v[i.remote_versions.n - 1], cases[k].last);
    am_hs_wipe(&i);
    am_noise_hs_wipe(&rr);
  }

  /* A message 1 whose payload is not a version list: refused. */
  static const struct {
    const char *p;
    size_t n;
  } bad1[] = {{"\x90", 1}, {"\x91\x01\x00", 3}, {"\x91\xcc\x01", 3}, {"\x01", 1},
              {"\x92\x02\x01", 3}, {"\x91\x00", 2}, {"", 0}};
  for (size_t k = 0; k < sizeof bad1 / sizeof *bad1; k++) {
    raw_side(&ri, true, &la);
    REQUIRE(am_hs_start_responder(&r, &lb) == 0);
    pl.len = 0;
    am_buf_append(&pl, bad1[k].p, bad1[k].n);
    raw_write(&ri, &pl, &w);
    CHECK_INT(get(&r, &w), AM_EINVAL);
    /* under 2 bytes of payload the message is under its 34-byte bound */
    CHECK_INT(r.failure, bad1[k].n >= 2 ? AM_HSF_PAYLOAD : AM_HSF_NOISE);
    dead(&r);
    am_hs_wipe(&r);
    am_noise_hs_wipe(&ri);
  }
  am_buf_free(&pl);
}

/* ---- tampering and lengths --------------------------------------------- */

static void test_flips(void) {
  static const uint8_t masks[] = {0x01, 0x80, 0xff};
  size_t tried[3] = {0};
  for (int msgno = 1; msgno <= 3; msgno++)
    for (size_t mk = 0; mk < sizeof masks; mk++)
      for (size_t at = 0;; at++) {
        am_hs i, r;
        wire w;
        REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
        REQUIRE(am_hs_start_responder(&r, &lb) == 0);
        am_hs *writer = &i, *reader = &r;
        for (int m = 1; m < msgno; m++) {
          REQUIRE(pass(writer, reader) == 0);
          am_hs *t = writer;
          writer = reader;
          reader = t;
        }
        REQUIRE(put(writer, &w) == 0);
        size_t body = w.len - 2;
        if (at >= body) {
          am_hs_wipe(&i);
          am_hs_wipe(&r);
          break;
        }
        w.b[2 + at] ^= masks[mk];
        int rc = get(reader, &w);
        if (msgno == 1 && rc == 0) {
          /* Message 1 is in the clear, its e any 32 bytes: the change is
           * caught by message 2, whose keys and hash then differ. */
          REQUIRE(put(&r, &w) == 0);
          rc = get(&i, &w);
          reader = &i;
        }
        if (rc != AM_EINVAL) fprintf(stderr, "message %d, byte %zu ^ %02x: %d\n", msgno, at,
                                     masks[mk], rc);
        CHECK_INT(rc, AM_EINVAL);
        CHECK(reader->failure == AM_HSF_NOISE ||
              (msgno == 1 && reader == &r && reader->failure == AM_HSF_PAYLOAD));
        dead(reader);
        tried[msgno - 1]++;
        am_hs_wipe(&i);
        am_hs_wipe(&r);
      }
  CHECK_INT(tried[0], 3 * 34);
  CHECK_INT(tried[1], 3 * 200);
  CHECK_INT(tried[2], 3 * 166);
}

static void test_lengths(void) {
  static uint8_t junk[AM_HS_MSG_MAX + 1];
  am_hs i, r;
  wire w;
  /* Message 1: 34 to 41 bytes (PROTOCOL.md 14.2). */
  size_t bad1[] = {0, 1, 32, 33, 42, 64, 100, 513};
  for (size_t k = 0; k < sizeof bad1 / sizeof *bad1; k++) {
    REQUIRE(am_hs_start_responder(&r, &lb) == 0);
    memset(&err, 0, sizeof err);
    CHECK_INT(am_hs_read(&r, junk, bad1[k], &err), AM_EINVAL);
    CHECK_INT(r.failure, AM_HSF_NOISE);
    CHECK(strstr(err.msg, "length") != NULL);
    dead(&r);
    am_hs_wipe(&r);
  }
  /* 41 bytes get past the length check (then the payload is refused). */
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  CHECK_INT(am_hs_read(&r, junk, 41, &err), AM_EINVAL);
  CHECK_INT(r.failure, AM_HSF_PAYLOAD);
  am_hs_wipe(&r);

  /* Message 2: 200 to 207 bytes. */
  size_t bad2[] = {0, 34, 95, 199, 208, 513};
  for (size_t k = 0; k < sizeof bad2 / sizeof *bad2; k++) {
    REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
    REQUIRE(am_hs_start_responder(&r, &lb) == 0);
    REQUIRE(pass(&i, &r) == 0);
    REQUIRE(put(&r, &w) == 0);
    memset(&err, 0, sizeof err);
    CHECK_INT(am_hs_read(&i, junk, bad2[k], &err), AM_EINVAL);
    CHECK_INT(i.failure, AM_HSF_NOISE);
    CHECK(strstr(err.msg, "length") != NULL);
    dead(&i);
    am_hs_wipe(&i);
    am_hs_wipe(&r);
  }
  /* Message 3: 166 to 207 bytes. And the real messages, cut or padded. */
  size_t bad3[] = {0, 63, 165, 208, 513};
  for (size_t k = 0; k < sizeof bad3 / sizeof *bad3; k++) {
    REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
    REQUIRE(am_hs_start_responder(&r, &lb) == 0);
    REQUIRE(pass(&i, &r) == 0);
    REQUIRE(pass(&r, &i) == 0);
    REQUIRE(put(&i, &w) == 0);
    memset(&err, 0, sizeof err);
    CHECK_INT(am_hs_read(&r, junk, bad3[k], &err), AM_EINVAL);
    CHECK_INT(r.failure, AM_HSF_NOISE);
    CHECK(strstr(err.msg, "length") != NULL);
    dead(&r);
    am_hs_wipe(&i);
    am_hs_wipe(&r);
  }
  for (int msgno = 2; msgno <= 3; msgno++)
    for (int delta = -1; delta <= 1; delta += 2) {
      REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
      REQUIRE(am_hs_start_responder(&r, &lb) == 0);
      REQUIRE(pass(&i, &r) == 0);
      if (msgno == 3) REQUIRE(pass(&r, &i) == 0);
      REQUIRE(put(msgno == 2 ? &r : &i, &w) == 0);
      w.b[w.len] = 0;
      w.len = (size_t)((long)w.len + delta);
      CHECK_INT(get(msgno == 2 ? &i : &r, &w), AM_EINVAL);
      CHECK_INT((msgno == 2 ? &i : &r)->failure, AM_HSF_NOISE);
      am_hs_wipe(&i);
      am_hs_wipe(&r);
    }

  /* A stale sentence in a reused am_error is replaced, not kept. */
  am_error reused = {0};
  am_fail(&reused, AM_EINVAL, "an older failure");
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  CHECK_INT(am_hs_read(&r, junk, 10, &reused), AM_EINVAL);
  CHECK(strstr(reused.msg, "length") != NULL);
  am_hs_wipe(&r);
  /* A payload refusal keeps the decoder's own sentence. */
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  memset(&reused, 0, sizeof reused);
  CHECK_INT(am_hs_read(&r, junk, 41, &reused), AM_EINVAL);
  CHECK(strstr(reused.msg, "message 1") != NULL);
  am_hs_wipe(&r);
}

/* ---- invitations -------------------------------------------------------- */

typedef struct inv {
  uint8_t secret[AM_INVITE_SECRET_BYTES];
  uint8_t h[64];
  uint8_t proof[40];
  int calls;
  int rc;
} inv;

static int proof_cb(void *arg, const uint8_t h[static 64], uint8_t proof[static 40]) {
  inv *v = arg;
  v->calls++;
  memcpy(v->h, h, 64);
  if (v->rc) return v->rc;
  am_invite_proof(v->secret, h, proof);
  memcpy(v->proof, proof, 40);
  return 0;
}

static void test_invitation(void) {
  inv v = {0}, v2 = {0};
  REQUIRE(am_invite_secret_new(v.secret) == 0);
  memcpy(v2.secret, v.secret, sizeof v.secret);
  am_hs i, r, i2, r2;
  REQUIRE(handshake(&i, &r, &la, &lb, idb.pk, proof_cb, &v) == 0);
  CHECK_INT(v.calls, 1);
  const uint8_t *proof, *h;
  REQUIRE(am_hs_invitation(&r, &proof, &h));
  CHECK(memcmp(h, v.h, 64) == 0);
  CHECK(memcmp(proof, v.proof, 40) == 0);
  CHECK(!am_hs_invitation(&i, &proof, &h)); /* the responder's business */
  REQUIRE(am_hs_invitation(&r, &proof, &h));

  uint8_t id[AM_INVITE_ID_BYTES], mac[AM_INVITE_MAC_KEY_BYTES];
  am_invite_derive(v.secret, id, mac);
  CHECK(memcmp(proof, id, AM_INVITE_ID_BYTES) == 0);
  CHECK_INT(am_invite_proof_check(id, mac, h, proof), 0);
  /* h is the hash before message 3, not the final one. */
  uint8_t final_h[64];
  am_noise_hs_get_hash(&r.noise, final_h);
  CHECK(memcmp(final_h, h, 64) != 0);
  CHECK_INT(am_invite_proof_check(id, mac, final_h, proof), AM_EINVAL);
  /* Another secret does not prove this one. */
  uint8_t other[AM_INVITE_SECRET_BYTES], oid[8], omac[32];
  REQUIRE(am_invite_secret_new(other) == 0);
  am_invite_derive(other, oid, omac);
  CHECK_INT(am_invite_proof_check(oid, omac, h, proof), AM_EINVAL);
  CHECK_INT(am_invite_proof_check(id, omac, h, proof), AM_EINVAL);

  /* The same nodes again: another h, so the first proof is no good there
   * (no replay), while a fresh one is. */
  REQUIRE(handshake(&i2, &r2, &la, &lb, idb.pk, proof_cb, &v2) == 0);
  const uint8_t *proof2, *h2;
  REQUIRE(am_hs_invitation(&r2, &proof2, &h2));
  CHECK(memcmp(h2, h, 64) != 0);
  CHECK(memcmp(proof2, proof, 40) != 0);
  CHECK_INT(am_invite_proof_check(id, mac, h2, proof), AM_EINVAL);
  CHECK_INT(am_invite_proof_check(id, mac, h2, proof2), 0);
  uint8_t fi[64], fr[64], fi2[64];
  am_noise_hs_get_hash(&i.noise, fi);
  am_noise_hs_get_hash(&r.noise, fr);
  am_noise_hs_get_hash(&i2.noise, fi2);
  CHECK(memcmp(fi, fr, 64) == 0);
  CHECK(memcmp(fi, fi2, 64) != 0);
  am_noise_cipher a, b, a2, b2;
  REQUIRE(am_hs_split(&i, &a, &b) == 0);
  REQUIRE(am_hs_split(&i2, &a2, &b2) == 0);
  CHECK(memcmp(a.k, a2.k, 32) != 0);
  CHECK(memcmp(b.k, b2.k, 32) != 0);
  am_hs_wipe(&i);
  am_hs_wipe(&r);
  am_hs_wipe(&i2);
  am_hs_wipe(&r2);

  /* A proof function that fails stops the handshake before message 3. */
  inv v3 = {.rc = AM_EIO};
  CHECK_INT(handshake(&i, &r, &la, &lb, idb.pk, proof_cb, &v3), AM_EIO);
  CHECK_INT(v3.calls, 1);
  CHECK(i.failure != AM_HSF_NONE);
  dead(&i);
  CHECK(!am_hs_done(&r));
  am_hs_wipe(&i);
  am_hs_wipe(&r);
}

/* ---- out of turn ------------------------------------------------------- */

static void test_out_of_turn(void) {
  am_hs i, r;
  wire w;
  static uint8_t zero[100];
  /* The initiator writes first; the responder reads first. */
  REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
  CHECK_INT(am_hs_read(&i, zero, 40, &err), AM_EUSAGE);
  CHECK_INT(i.failure, AM_HSF_STATE);
  dead(&i);
  am_hs_wipe(&i);
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  CHECK_INT(put(&r, &w), AM_EUSAGE);
  CHECK_INT(r.failure, AM_HSF_STATE);
  dead(&r);
  am_hs_wipe(&r);

  /* Twice in a row. */
  REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
  REQUIRE(am_hs_start_responder(&r, &lb) == 0);
  REQUIRE(put(&i, &w) == 0);
  wire w2;
  CHECK_INT(put(&i, &w2), AM_EUSAGE);
  REQUIRE(get(&r, &w) == 0);
  CHECK_INT(get(&r, &w), AM_EUSAGE);
  am_hs_wipe(&i);
  am_hs_wipe(&r);

  /* Before it is done: no split, no invitation; a buffer too small. */
  am_noise_cipher tx, rx;
  const uint8_t *p, *h;
  REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
  CHECK_INT(am_hs_split(&i, &tx, &rx), AM_EUSAGE);
  CHECK(!am_hs_invitation(&i, &p, &h));
  size_t n = 0;
  CHECK_INT(am_hs_write(&i, w.b, 1, &n, &err), AM_EUSAGE);
  am_hs_wipe(&i);
  REQUIRE(am_hs_start_initiator(&i, &la, idb.pk, NULL, NULL) == 0);
  CHECK(am_hs_write(&i, w.b, 20, &n, &err) < 0);
  CHECK(!am_hs_wants_write(&i));
  am_hs_wipe(&i);

  /* After it is done, neither side takes more. */
  REQUIRE(handshake(&i, &r, &la, &lb, idb.pk, NULL, NULL) == 0);
  CHECK_INT(put(&i, &w), AM_EUSAGE);
  CHECK_INT(am_hs_read(&r, zero, 64, &err), AM_EUSAGE);
  am_hs_wipe(&i);
  am_hs_wipe(&r);

  /* A wiped state refuses everything. */
  CHECK_INT(put(&i, &w), AM_EUSAGE);
  CHECK(am_hs_read(&r, zero, 64, &err) < 0);
  CHECK(!am_hs_done(&r));
}

int main(void) {
  if (am_crypto_init()) return EXIT_FAILURE;
  if (am_identity_generate(&ida, &err) || am_identity_generate(&idb, &err) ||
      am_identity_generate(&idc, &err))
    return EXIT_FAILURE;
  if (am_hs_local_init(&la, &ida) || am_hs_local_init(&lb, &idb) ||
      am_hs_local_init(&lc, &idc))
    return EXIT_FAILURE;
  RUN(test_binding_message);
  RUN(test_full_handshake);
  RUN(test_wrong_key);
  RUN(test_bad_binding);
  RUN(test_no_common_version);
  RUN(test_flips);
  RUN(test_lengths);
  RUN(test_invitation);
  RUN(test_out_of_turn);
  am_hs_local_wipe(&la);
  am_hs_local_wipe(&lb);
  am_hs_local_wipe(&lc);
  am_identity_wipe(&ida);
  am_identity_wipe(&idb);
  am_identity_wipe(&idc);
  return TEST_SUMMARY();
}
