/* Unit tests for announcements (proto/announce.c, crypto/sign.c): a sealed
 * announcement of every kind opens to the same fields and id; the content
 * rules of am_ann_check; the decoder's verdicts on hand-built signed parts
 * (non-shortest encodings are non-canonical, floats, maps, ext types and
 * negative numbers malformed, other formats unsupported, more than 64 KiB
 * too large, msgpack-c #1013 length bombs refused at once); a bit flipped
 * anywhere in an envelope is always refused; framing of concatenated and
 * truncated envelopes; the CLI text forms; the federated profile built from
 * a member record, and the agreement of the two field tables. */
#include "proto/announce.h"

#include <stdbool.h>
#include <time.h>

#include <sodium.h>

#include "crypto/sign.h"
#include "proto/member.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

/* 2026-01-01T00:00:00Z: creation time of the sample announcements. */
#define T0 FX_T0

static am_identity gid;   /* signs everything below */
static am_error err;

/* ---- helpers ---------------------------------------------------------- */

/* A list of n copies of item. */
static void lrep(am_ann *a, uint32_t f, uint32_t n, const char *item) {
  fx_ann_list(a, f, NULL);
  am_aval *v = &a->body[f];
  v->l.v = calloc(n ? n : 1, sizeof *v->l.v);
  for (uint32_t i = 0; i < n; i++) v->l.v[i] = strdup(item);
  v->l.n = n;
}

/* A string of n copies of c (static ring of two). */
static const char *rep(char c, size_t n) {
  static char bufs[2][9000];
  static int next;
  char *b = bufs[next++ % 2];
  memset(b, c, n);
  b[n] = '\0';
  return b;
}

/* Sample announcements with every body field set. */
static void make_node(am_ann *a) {
  am_ann_init(a, AM_K_NODE);
  a->version = 3, a->created = T0;
  fx_ann_text(a, AM_NODE_NAME, "École Exemple");
  fx_ann_uint(a, AM_NODE_KIND, 0);
  fx_ann_text(a, AM_NODE_COUNTRY, "France");
  fx_ann_text(a, AM_NODE_CITY, "Paris");
  fx_ann_text(a, AM_NODE_WEBSITE, "https://exemple.fr/alumni");
  fx_ann_text(a, AM_NODE_CONTACT, "anciens@exemple.fr");
  fx_ann_list(a, AM_NODE_ADDRESSES, "tcp://192.0.2.1:7400", "tcp://[2001:db8::1]:7400", NULL);
}

static void make_profile(am_ann *a) {
  am_ann_init(a, AM_K_PROFILE);
  a->object = 42, a->version = 7, a->created = T0 + 5;
  fx_ann_text(a, AM_F_GIVEN_NAME, "Éléonore");
  fx_ann_text(a, AM_F_FAMILY_NAME, "Dupont");
  fx_ann_text(a, AM_F_USUAL_NAME, "Léo");
  fx_ann_list(a, AM_F_EMAILS, "eleonore@example.fr", "leo@example.org", NULL);
  fx_ann_text(a, AM_F_PHONE, "+33 1 23 45 67 89");
  fx_ann_uint(a, AM_F_PROMO, 2010);
  fx_ann_text(a, AM_F_PROGRAMME, "Ingénieur généraliste");
  fx_ann_text(a, AM_F_DIPLOMA, "Diplôme d'ingénieur");
  fx_ann_text(a, AM_F_DEPARTMENT, "Chimie");
  fx_ann_text(a, AM_F_EMPLOYER, "Société Générale");
  fx_ann_text(a, AM_F_JOB_TITLE, "Analyste");
  fx_ann_text(a, AM_F_SECTOR, "Finance");
  fx_ann_text(a, AM_F_CITY, "Lyon");
  fx_ann_text(a, AM_F_COUNTRY, "France");
  fx_ann_list(a, AM_F_SKILLS, "Python", "C", "Gestion de projet", NULL);
  fx_ann_list(a, AM_F_LANGUAGES, "français", "English", NULL);
  fx_ann_text(a, AM_F_LINKEDIN, "https://www.linkedin.com/in/eleonore");
  fx_ann_text(a, AM_F_WEBSITE, "http://eleonore.example.fr");
  fx_ann_text(a, AM_F_BIO, "Première ligne.\nSeconde ligne.");
  fx_ann_uint(a, AM_F_MENTORING, 1);
  fx_ann_list(a, AM_F_MENTORING_TOPICS, "carrière", "finance", NULL);
}

static void make_retraction(am_ann *a) {
  am_ann_init(a, AM_K_RETRACTION);
  a->object = 7, a->version = 13, a->created = T0 + 60;
  fx_ann_uint(a, AM_RET_KIND, AM_K_EVENT);
  fx_ann_text(a, AM_RET_REASON, "Annulé par les organisateurs");
}

typedef void (*maker)(am_ann *a);
static const maker makers[AM_K__COUNT] = {
    [AM_K_NODE] = make_node, [AM_K_PROFILE] = make_profile, [AM_K_EVENT] = fx_sample_event,
    [AM_K_JOB] = fx_sample_job, [AM_K_RETRACTION] = make_retraction};

/* Reports every difference between two announcements; returns how many. */
static int ann_diff(const am_ann *x, const am_ann *y) {
  int d = 0;
#define DIFF(cond, ...)                                                       \
  do {                                                                        \
    if (cond) {                                                               \
      fprintf(stderr, "  differs: " __VA_ARGS__);                             \
      fputc('\n', stderr);                                                    \
      d++;                                                                    \
    }                                                                         \
  } while (0)
  DIFF(x->kind != y->kind, "kind");
  DIFF(memcmp(x->origin, y->origin, AM_ANN_KEY_BYTES) != 0, "origin");
  DIFF(x->object != y->object, "object");
  DIFF(x->version != y->version, "version");
  DIFF(x->created != y->created, "created");
  DIFF(x->expires != y->expires, "expires");
  if (x->kind != y->kind || x->kind >= AM_K__COUNT) return d;
  const am_kind_desc *kd = &am_ann_kinds[x->kind];
  for (uint32_t f = 0; f < AM_ANN_MAX_FIELDS; f++) {
    const am_aval *a = &x->body[f], *b = &y->body[f];
    const char *name = f < kd->nfields ? kd->fields[f].name : "(beyond the body)";
    DIFF(a->set != b->set, "%s: set", name);
    if (!a->set || !b->set) continue;
    DIFF(a->u != b->u, "%s: %llu / %llu", name, (unsigned long long)a->u,
         (unsigned long long)b->u);
    DIFF(!a->s != !b->s || (a->s && strcmp(a->s, b->s) != 0), "%s: text", name);
    DIFF(a->l.n != b->l.n, "%s: list length", name);
    for (uint32_t i = 0; i < a->l.n && i < b->l.n; i++)
      DIFF(strcmp(a->l.v[i], b->l.v[i]) != 0, "%s: item %u", name, (unsigned)i);
  }
#undef DIFF
  return d;
}

/* Bytes from hex pairs, spaces ignored; "O" stands for the 32 bytes of
 * gid's public key, "o" for its first 31. */
static void hexb(am_buf *b, const char *hex) {
  for (const char *p = hex; *p;) {
    if (*p == ' ') { p++; continue; }
    if (*p == 'O' || *p == 'o') {
      am_buf_append(b, gid.pk, *p == 'O' ? 32 : 31);
      p++;
      continue;
    }
    unsigned v;
    sscanf(p, "%2x", &v);
    uint8_t c = (uint8_t)v;
    am_buf_append(b, &c, 1);
    p += 2;
  }
}

/* The signature gid makes over a signed part (context, zero, bytes). */
static void sign_part(const uint8_t *sp, size_t n, uint8_t sig[64]) {
  am_buf m = {0};
  am_buf_append(&m, AM_ANN_SIG_CONTEXT, sizeof AM_ANN_SIG_CONTEXT);
  am_buf_append(&m, sp, n);
  am_sign(&gid, (const uint8_t *)m.data, m.len, sig);
  am_buf_free(&m);
}

/* Builds a signed part from hex, signs it correctly with gid, wraps it in
 * a canonical envelope and opens it: returns the reason (AM_REJ_NONE when
 * accepted). The decoder alone must agree with am_ann_open. */
static int open_hand(const char *hex) {
  am_buf sp = {0}, env = {0};
  hexb(&sp, hex);
  uint8_t sig[64];
  sign_part((const uint8_t *)sp.data, sp.len, sig);
  am_ann_envelope((const uint8_t *)sp.data, sp.len, sig, &env);
  am_ann a;
  int reason = -1, dreason = -1;
  memset(&err, 0, sizeof err);
  int rc = am_ann_open((const uint8_t *)env.data, env.len, &a, &reason, &err);
  if (rc == 0) am_ann_free(&a);
  else if (!err.msg[0]) fprintf(stderr, "  no message for a refusal of %s\n", hex);
  if ((rc == 0) != (reason == AM_REJ_NONE)) {
    fprintf(stderr, "  rc %d with reason %d for %s\n", rc, reason, hex);
    reason = -2;
  }
  int drc = am_ann_decode((const uint8_t *)env.data, env.len, &a, &dreason, NULL);
  if (drc == 0) am_ann_free(&a);
  if (dreason != reason) {
    fprintf(stderr, "  decode says %d, open says %d for %s\n", dreason, reason, hex);
    reason = -3;
  }
  am_buf_free(&sp);
  am_buf_free(&env);
  return reason;
}

/* Opens raw bytes; returns the reason. */
static int open_raw(const void *p, size_t n) {
  am_ann a;
  int reason = -1;
  memset(&err, 0, sizeof err);
  int rc = am_ann_open(p, n, &a, &reason, &err);
  if (rc == 0) am_ann_free(&a);
  return reason;
}

static int open_hex(const char *hex) {
  am_buf b = {0};
  hexb(&b, hex);
  int r = open_raw(b.data ? b.data : "", b.len);
  am_buf_free(&b);
  return r;
}

static int check(const am_ann *a) {
  memset(&err, 0, sizeof err);
  return am_ann_check(a, &err);
}

static bool msg_has(const char *s) {
  if (strstr(err.msg, s)) return true;
  fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, s);
  return false;
}

/* The message names what is wrong: rc AM_EINVAL and a substring. */
#define CHECK_REFUSED(a, what)                                                 \
  do {                                                                         \
    CHECK_INT(check(a), AM_EINVAL);                                            \
    CHECK(msg_has(what));                                                      \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_every_kind(void) {
  for (int k = 0; k < AM_K__COUNT; k++) {
    am_ann a, b;
    makers[k](&a);
    memset(a.origin, 0xee, sizeof a.origin); /* seal replaces it */
    am_buf env = {0};
    memset(&err, 0, sizeof err);
    int rc = am_ann_seal(&a, &gid, &env, &err);
    if (rc) fprintf(stderr, "  seal %s: %s\n", am_ann_kinds[k].name, err.msg);
    REQUIRE(rc == 0);
    CHECK(memcmp(a.origin, gid.pk, 32) == 0);
    int reason = -1;
    rc = am_ann_open((const uint8_t *)env.data, env.len, &b, &reason, &err);
    if (rc) fprintf(stderr, "  open %s: %s\n", am_ann_kinds[k].name, err.msg);
    REQUIRE(rc == 0);
    CHECK_INT(reason, AM_REJ_NONE);
    CHECK_INT(ann_diff(&a, &b), 0);
    CHECK(memcmp(a.id, b.id, AM_ANN_ID_BYTES) == 0);
    CHECK(memcmp(a.sig, b.sig, AM_ANN_SIG_BYTES) == 0);
    CHECK(am_ann_same_content(&a, &b));
    /* The id is BLAKE2b-256 of the signed part as it sits in the envelope,
     * and the signature covers the context string, a zero, then that part
     * (checked here with libsodium directly, not through our code). */
    const uint8_t *sp, *sig;
    size_t n;
    REQUIRE(am_ann_span((const uint8_t *)env.data, env.len, &sp, &n, &sig) == 0);
    am_buf enc = {0};
    REQUIRE(am_ann_encode_signed(&b, &enc) == 0);
    CHECK(enc.len == n && memcmp(enc.data, sp, n) == 0);
    uint8_t id[32];
    crypto_generichash(id, sizeof id, sp, n, NULL, 0);
    CHECK(memcmp(id, b.id, 32) == 0);
    CHECK(memcmp(sig, b.sig, 64) == 0);
    am_buf m = {0};
    am_buf_append(&m, "amicale/announcement/1", 23); /* with its zero byte */
    am_buf_append(&m, sp, n);
    CHECK_INT(crypto_sign_verify_detached(sig, (const uint8_t *)m.data, m.len, gid.pk), 0);
    CHECK(crypto_sign_verify_detached(sig, sp, n, gid.pk) != 0); /* no context: no */
    /* The envelope is [bin signed, bin sig] with the shortest headers. */
    CHECK_INT((uint8_t)env.data[0], 0x92);
    CHECK_INT((uint8_t)env.data[1], n < 256 ? 0xc4 : 0xc5);
    CHECK_INT(env.len, n + (n < 256 ? 3 : 4) + 66);
    /* Sealing the same content again gives the same bytes (Ed25519 is
     * deterministic, the encoding canonical). */
    am_buf env2 = {0};
    REQUIRE(am_ann_seal(&b, &gid, &env2, &err) == 0);
    CHECK(env2.len == env.len && memcmp(env2.data, env.data, env.len) == 0);
    am_buf_free(&m);
    am_buf_free(&enc);
    am_buf_free(&env);
    am_buf_free(&env2);
    am_ann_free(&a);
    am_ann_free(&b);
  }
}

/* Announcements with every optional field nil round-trip too, and differ
 * in id from the full ones. */
static void test_round_trip_minimal(void) {
  for (int k = 0; k < AM_K__COUNT; k++) {
    am_ann a, b, full;
    makers[k](&a);
    makers[k](&full);
    const am_kind_desc *kd = &am_ann_kinds[k];
    int cleared = 0;
    for (uint32_t f = 0; f < kd->nfields; f++)
      if (!(kd->fields[f].flags & AM_AF_REQUIRED)) fx_ann_unset(&a, f), cleared++;
    CHECK(cleared > 0);
    am_buf env = {0}, envf = {0};
    REQUIRE(am_ann_seal(&a, &gid, &env, &err) == 0);
    REQUIRE(am_ann_seal(&full, &gid, &envf, &err) == 0);
    CHECK(memcmp(a.id, full.id, 32) != 0);
    CHECK(!am_ann_same_content(&a, &full));
    int reason;
    REQUIRE(am_ann_open((const uint8_t *)env.data, env.len, &b, &reason, &err) == 0);
    CHECK_INT(ann_diff(&a, &b), 0);
    CHECK(memcmp(a.id, b.id, 32) == 0);
    for (uint32_t f = 0; f < kd->nfields; f++)
      if (!(kd->fields[f].flags & AM_AF_REQUIRED)) CHECK(!b.body[f].set);
    am_buf_free(&env);
    am_buf_free(&envf);
    am_ann_free(&a);
    am_ann_free(&b);
    am_ann_free(&full);
  }
}

static void test_seal_refusals(void) {
  am_ann a;
  fx_sample_event(&a);
  am_identity pub = gid;
  pub.sk = NULL;
  am_buf env = {0};
  CHECK_INT(am_ann_seal(&a, &pub, &env, &err), AM_EUSAGE);
  CHECK_INT(env.len, 0);
  fx_ann_unset(&a, AM_EV_TITLE);
  memset(&err, 0, sizeof err);
  CHECK_INT(am_ann_seal(&a, &gid, &env, &err), AM_EINVAL);
  CHECK(msg_has("'title'"));
  CHECK_INT(env.len, 0);
  am_buf_free(&env);
  am_ann_free(&a);
}

/* ---- rules ----------------------------------------------------------------- */

static void test_check_envelope_fields(void) {
  am_ann a;
  make_profile(&a);
  CHECK_INT(check(&a), 0);
  a.version = 0;
  CHECK_REFUSED(&a, "version");
  a.version = AM_ANN_VERSION_MAX;
  CHECK_INT(check(&a), 0);
  a.version = AM_ANN_VERSION_MAX + 1;
  CHECK_REFUSED(&a, "version");
  a.version = 1;
  a.object = AM_ANN_OBJECT_MAX;
  CHECK_INT(check(&a), 0);
  a.object = AM_ANN_OBJECT_MAX + 1;
  CHECK_REFUSED(&a, "object");
  a.object = 0; /* any object for a profile, 0 included */
  CHECK_INT(check(&a), 0);
  a.created = AM_ANN_TIME_MAX;
  CHECK_INT(check(&a), 0);
  a.created = AM_ANN_TIME_MAX + 1;
  CHECK_REFUSED(&a, "created");
  a.created = T0;
  a.expires = T0 + 10; /* a profile does not expire */
  CHECK_REFUSED(&a, "expire");
  a.expires = 0;
  a.kind = AM_K__COUNT;
  CHECK_INT(check(&a), AM_EINVAL);
  a.kind = AM_K_PROFILE;
  /* A value past the kind's body. */
  fx_ann_uint(&a, AM_F__PROFILE_COUNT, 1);
  CHECK_REFUSED(&a, "too many fields");
  fx_ann_unset(&a, AM_F__PROFILE_COUNT);
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  /* Node: object 0, no expiry. */
  make_node(&a);
  CHECK_INT(check(&a), 0);
  a.object = 1;
  CHECK_REFUSED(&a, "object id 0");
  a.object = 0;
  a.expires = T0 + 1;
  CHECK_REFUSED(&a, "expire");
  a.expires = 0;
  fx_ann_uint(&a, AM_NODE__N, 1);
  CHECK_REFUSED(&a, "too many fields");
  am_ann_free(&a);

  /* Events and jobs must expire, after their creation and before 10000. */
  for (int k = AM_K_EVENT; k <= AM_K_JOB; k++) {
    makers[k](&a);
    CHECK_INT(check(&a), 0);
    uint64_t e = a.expires;
    a.expires = 0;
    CHECK_REFUSED(&a, "expiry");
    a.expires = a.created;
    CHECK_REFUSED(&a, "expiry");
    a.expires = a.created - 1;
    CHECK_REFUSED(&a, "expiry");
    a.expires = a.created + 1;
    CHECK_INT(check(&a), 0);
    a.expires = AM_ANN_TIME_MAX;
    CHECK_INT(check(&a), 0);
    a.expires = AM_ANN_TIME_MAX + 1;
    CHECK_INT(check(&a), AM_EINVAL);
    a.expires = e;
    am_ann_free(&a);
  }
  /* A retraction does not expire. */
  make_retraction(&a);
  a.expires = a.created + 100;
  CHECK_REFUSED(&a, "expire");
  am_ann_free(&a);
}

static void test_check_text_rules(void) {
  am_ann a;
  make_node(&a);
  fx_ann_unset(&a, AM_NODE_NAME);
  CHECK_REFUSED(&a, "'name'");
  CHECK(msg_has("required"));
  fx_ann_text(&a, AM_NODE_NAME, "");
  CHECK_REFUSED(&a, "empty");
  fx_ann_text(&a, AM_NODE_NAME, rep('x', 200));
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_NODE_NAME, rep('x', 201));
  CHECK_REFUSED(&a, "longer than 200");
  /* 200 bytes of two-byte letters is 100 letters: the limit is bytes. */
  {
    char s[404] = "";
    for (int i = 0; i < 101; i++) strcat(s, "é");
    fx_ann_text(&a, AM_NODE_NAME, s);
    CHECK_REFUSED(&a, "longer than 200");
  }
  fx_ann_text(&a, AM_NODE_NAME, "bad \xff byte");
  CHECK_REFUSED(&a, "UTF-8");
  fx_ann_text(&a, AM_NODE_NAME, "overlong \xc0\xaf");
  CHECK_REFUSED(&a, "UTF-8");
  fx_ann_text(&a, AM_NODE_NAME, "bell \x07");
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_NODE_NAME, "two\nlines"); /* LF only in multi-line fields */
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_NODE_NAME, "tab\there");
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_NODE_NAME, "del \x7f");
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_NODE_NAME, "c1 \xc2\x85 next line");
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_NODE_NAME, "nbsp\xc2\xa0ok");
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_NODE_NAME, "École Exemple");
  /* URLs: http:// or https:// and a host, no spaces. */
  fx_ann_text(&a, AM_NODE_WEBSITE, "ftp://exemple.fr");
  CHECK_REFUSED(&a, "'website'");
  fx_ann_text(&a, AM_NODE_WEBSITE, "exemple.fr");
  CHECK_REFUSED(&a, "http");
  fx_ann_text(&a, AM_NODE_WEBSITE, "https://");
  CHECK_INT(check(&a), AM_EINVAL);
  fx_ann_text(&a, AM_NODE_WEBSITE, "https://exemple.fr/a b");
  CHECK_REFUSED(&a, "space");
  fx_ann_text(&a, AM_NODE_WEBSITE, "http://x");
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_NODE_WEBSITE, "https://exemple.fr");
  /* Lists: 1..max_items items, each a text. */
  lrep(&a, AM_NODE_ADDRESSES, 8, "tcp://192.0.2.1:7400");
  CHECK_INT(check(&a), 0);
  lrep(&a, AM_NODE_ADDRESSES, 9, "tcp://192.0.2.1:7400");
  CHECK_REFUSED(&a, "more than 8 items");
  lrep(&a, AM_NODE_ADDRESSES, 0, "");
  CHECK_REFUSED(&a, "empty list");
  fx_ann_list(&a, AM_NODE_ADDRESSES, "tcp://192.0.2.1:7400", "", NULL);
  CHECK_REFUSED(&a, "item 2");
  fx_ann_list(&a, AM_NODE_ADDRESSES, rep('a', 261), NULL);
  CHECK_INT(check(&a), 0);
  fx_ann_list(&a, AM_NODE_ADDRESSES, rep('a', 262), NULL);
  CHECK_REFUSED(&a, "longer than 261");
  fx_ann_list(&a, AM_NODE_ADDRESSES, "a\x01", NULL);
  CHECK_REFUSED(&a, "control");
  am_ann_free(&a);

  /* Multi-line fields accept LF, not CR or other controls. */
  fx_sample_event(&a);
  fx_ann_text(&a, AM_EV_DESCRIPTION, "a\nb\n\nc");
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_EV_DESCRIPTION, "a\r\nb");
  CHECK_REFUSED(&a, "control");
  fx_ann_text(&a, AM_EV_DESCRIPTION, rep('d', 4000));
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_EV_DESCRIPTION, rep('d', 4001));
  CHECK_REFUSED(&a, "longer than 4000");
  fx_ann_text(&a, AM_EV_TITLE, "a\nb");
  CHECK_REFUSED(&a, "'title'");
  am_ann_free(&a);

  /* A text value that is set but has no string is refused, not crashed on. */
  make_node(&a);
  fx_ann_unset(&a, AM_NODE_CITY);
  a.body[AM_NODE_CITY].set = true;
  CHECK_REFUSED(&a, "'city'");
  am_ann_free(&a);
}

static void test_check_numbers_and_enums(void) {
  am_ann a;
  make_node(&a);
  fx_ann_uint(&a, AM_NODE_KIND, 3);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_NODE_KIND, 4);
  CHECK_REFUSED(&a, "'kind'");
  fx_ann_uint(&a, AM_NODE_KIND, UINT64_MAX);
  CHECK_INT(check(&a), AM_EINVAL);
  am_ann_free(&a);

  make_profile(&a);
  fx_ann_uint(&a, AM_F_PROMO, AM_YEAR_MIN);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_F_PROMO, AM_YEAR_MAX);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_F_PROMO, AM_YEAR_MIN - 1);
  CHECK_REFUSED(&a, "'promo'");
  fx_ann_uint(&a, AM_F_PROMO, AM_YEAR_MAX + 1);
  CHECK_REFUSED(&a, "out of range");
  fx_ann_uint(&a, AM_F_PROMO, 2010);
  fx_ann_uint(&a, AM_F_MENTORING, 0);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_F_MENTORING, 2);
  CHECK_REFUSED(&a, "boolean");
  fx_ann_uint(&a, AM_F_MENTORING, 1);
  lrep(&a, AM_F_SKILLS, 50, "x");
  CHECK_INT(check(&a), 0);
  lrep(&a, AM_F_SKILLS, 51, "x");
  CHECK_REFUSED(&a, "'skills'");
  lrep(&a, AM_F_SKILLS, 1, rep('s', 101));
  CHECK_REFUSED(&a, "longer than 100");
  am_ann_free(&a);
  /* A profile may be entirely nil. */
  am_ann_init(&a, AM_K_PROFILE);
  a.version = 1;
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  fx_sample_event(&a);
  for (uint32_t f = 0; f < AM_EV__N; f++) {
    if (!(am_ann_kinds[AM_K_EVENT].fields[f].flags & AM_AF_REQUIRED)) continue;
    am_ann b;
    fx_sample_event(&b);
    fx_ann_unset(&b, f);
    CHECK_REFUSED(&b, am_ann_kinds[AM_K_EVENT].fields[f].name);
    am_ann_free(&b);
  }
  fx_ann_uint(&a, AM_EV_STATUS, AM_EV_CANCELLED);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_EV_STATUS, 3);
  CHECK_REFUSED(&a, "'status'");
  fx_ann_uint(&a, AM_EV_STATUS, 0);
  fx_ann_uint(&a, AM_EV_CAPACITY, 0);
  CHECK_REFUSED(&a, "'capacity'");
  fx_ann_uint(&a, AM_EV_CAPACITY, 1000000);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_EV_CAPACITY, 1000001);
  CHECK_REFUSED(&a, "'capacity'");
  fx_ann_uint(&a, AM_EV_CAPACITY, 10);
  fx_ann_uint(&a, AM_EV_STARTS_AT, AM_ANN_TIME_MAX + 1);
  CHECK_REFUSED(&a, "9999");
  fx_ann_uint(&a, AM_EV_STARTS_AT, T0 + 1000);
  fx_ann_uint(&a, AM_EV_ENDS_AT, T0 + 999);
  CHECK_REFUSED(&a, "ends before it starts");
  fx_ann_uint(&a, AM_EV_ENDS_AT, T0 + 1000);
  CHECK_INT(check(&a), 0);
  fx_ann_unset(&a, AM_EV_ENDS_AT);
  CHECK_INT(check(&a), 0);
  /* An event may start before the announcement was made (a correction). */
  fx_ann_uint(&a, AM_EV_STARTS_AT, 0);
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  fx_sample_job(&a);
  for (uint32_t f = 0; f < AM_JOB__N; f++) {
    if (!(am_ann_kinds[AM_K_JOB].fields[f].flags & AM_AF_REQUIRED)) continue;
    am_ann b;
    fx_sample_job(&b);
    fx_ann_unset(&b, f);
    CHECK_REFUSED(&b, am_ann_kinds[AM_K_JOB].fields[f].name);
    am_ann_free(&b);
  }
  fx_ann_uint(&a, AM_JOB_CONTRACT, 7);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_JOB_CONTRACT, 8);
  CHECK_REFUSED(&a, "'contract'");
  fx_ann_uint(&a, AM_JOB_CONTRACT, 0);
  fx_ann_uint(&a, AM_JOB_REMOTE, 3);
  CHECK_REFUSED(&a, "'remote'");
  fx_ann_uint(&a, AM_JOB_REMOTE, 2);
  fx_ann_uint(&a, AM_JOB_EXPERIENCE, 6);
  CHECK_REFUSED(&a, "'experience'");
  fx_ann_uint(&a, AM_JOB_EXPERIENCE, 5);
  fx_ann_uint(&a, AM_JOB_SALARY_PERIOD, 4);
  CHECK_REFUSED(&a, "'salary_period'");
  fx_ann_uint(&a, AM_JOB_SALARY_PERIOD, 3);
  fx_ann_uint(&a, AM_JOB_ALUMNI_ONLY, 2);
  CHECK_REFUSED(&a, "'alumni_only'");
  fx_ann_uint(&a, AM_JOB_ALUMNI_ONLY, 1);
  CHECK_INT(check(&a), 0);
  /* Salaries: min <= max, a currency with either, an ISO 4217 code. */
  fx_ann_uint(&a, AM_JOB_SALARY_MIN, 55001);
  CHECK_REFUSED(&a, "salary_min is above salary_max");
  fx_ann_uint(&a, AM_JOB_SALARY_MIN, 55000);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_JOB_SALARY_MAX, 1000000001);
  CHECK_REFUSED(&a, "'salary_max'");
  fx_ann_uint(&a, AM_JOB_SALARY_MAX, 1000000000);
  CHECK_INT(check(&a), 0);
  fx_ann_unset(&a, AM_JOB_CURRENCY);
  CHECK_REFUSED(&a, "currency");
  fx_ann_unset(&a, AM_JOB_SALARY_MIN);
  CHECK_REFUSED(&a, "currency"); /* salary_max alone needs one too */
  fx_ann_unset(&a, AM_JOB_SALARY_MAX);
  CHECK_INT(check(&a), 0); /* no salary, no currency */
  fx_ann_text(&a, AM_JOB_CURRENCY, "CHF");
  CHECK_INT(check(&a), 0); /* a currency alone is harmless */
  fx_ann_uint(&a, AM_JOB_SALARY_MAX, 0);
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_JOB_CURRENCY, "eur");
  CHECK_REFUSED(&a, "ISO 4217");
  fx_ann_text(&a, AM_JOB_CURRENCY, "E1R");
  CHECK_REFUSED(&a, "ISO 4217");
  fx_ann_text(&a, AM_JOB_CURRENCY, "EU");
  CHECK_REFUSED(&a, "ISO 4217");
  fx_ann_text(&a, AM_JOB_CURRENCY, "EURO");
  CHECK_INT(check(&a), AM_EINVAL);
  fx_ann_text(&a, AM_JOB_CURRENCY, "EUR");
  CHECK_INT(check(&a), 0);
  /* Dates: real calendar days, from 1900; valid_through not before posted. */
  fx_ann_uint(&a, AM_JOB_POSTED, 20240229);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_JOB_POSTED, 20250229);
  CHECK_REFUSED(&a, "not a date");
  fx_ann_uint(&a, AM_JOB_POSTED, 20261301);
  CHECK_REFUSED(&a, "'posted'");
  fx_ann_uint(&a, AM_JOB_POSTED, 20260100);
  CHECK_INT(check(&a), AM_EINVAL);
  fx_ann_uint(&a, AM_JOB_POSTED, 18991231);
  CHECK_INT(check(&a), AM_EINVAL);
  fx_ann_uint(&a, AM_JOB_POSTED, 19000101);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_JOB_POSTED, (UINT64_C(1) << 32) + 20260101);
  CHECK_INT(check(&a), AM_EINVAL);
  fx_ann_uint(&a, AM_JOB_POSTED, 20260401);
  CHECK_REFUSED(&a, "valid_through is before posted");
  fx_ann_uint(&a, AM_JOB_POSTED, 20260331);
  CHECK_INT(check(&a), 0);
  fx_ann_uint(&a, AM_JOB_VALID_THROUGH, 20260332);
  CHECK_REFUSED(&a, "'valid_through'");
  am_ann_free(&a);
}

static void test_check_retraction(void) {
  am_ann a;
  make_retraction(&a);
  for (int k = 0; k < AM_K__COUNT; k++) {
    fx_ann_uint(&a, AM_RET_KIND, (uint64_t)k);
    a.object = k == AM_K_NODE ? 0 : 7;
    if (k == AM_K_RETRACTION)
      CHECK_REFUSED(&a, "cannot withdraw a retraction");
    else
      CHECK_INT(check(&a), 0);
  }
  fx_ann_uint(&a, AM_RET_KIND, AM_K__COUNT);
  CHECK_REFUSED(&a, "'kind'");
  fx_ann_uint(&a, AM_RET_KIND, AM_K_NODE);
  a.object = 1;
  CHECK_REFUSED(&a, "object id 0");
  fx_ann_uint(&a, AM_RET_KIND, AM_K_EVENT);
  fx_ann_unset(&a, AM_RET_KIND);
  CHECK_REFUSED(&a, "required");
  fx_ann_uint(&a, AM_RET_KIND, AM_K_JOB);
  fx_ann_unset(&a, AM_RET_REASON);
  CHECK_INT(check(&a), 0);
  fx_ann_text(&a, AM_RET_REASON, rep('r', 201));
  CHECK_REFUSED(&a, "'reason'");
  am_ann_free(&a);
}

/* ---- the decoder's verdicts --------------------------------------------- */

/* A retraction (kind 4) of event (2) object 5, version 1, created
 * 0x65000000, reason "abc", written by hand in its canonical form. */
#define HDR "98 01 04 c420 O"
#define TAIL_OK "05 01 ce65000000 00 92 02 a3616263"
#define BASE HDR " " TAIL_OK

static void test_hand_built_baseline(void) {
  /* The hand-written bytes are what the encoder writes. */
  am_ann a;
  am_ann_init(&a, AM_K_RETRACTION);
  memcpy(a.origin, gid.pk, 32);
  a.object = 5, a.version = 1, a.created = 0x65000000;
  fx_ann_uint(&a, AM_RET_KIND, AM_K_EVENT);
  fx_ann_text(&a, AM_RET_REASON, "abc");
  CHECK_INT(check(&a), 0);
  am_buf enc = {0}, hand = {0};
  REQUIRE(am_ann_encode_signed(&a, &enc) == 0);
  hexb(&hand, BASE);
  CHECK(enc.len == hand.len && memcmp(enc.data, hand.data, enc.len) == 0);
  CHECK_INT(open_hand(BASE), AM_REJ_NONE);
  /* Other canonical values decode too: boundaries of each integer width. */
  CHECK_INT(open_hand(HDR " 7f 01 ce65000000 00 92 02 a3616263"), AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " cc80 01 ce65000000 00 92 02 a3616263"), AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " ccff 01 ce65000000 00 92 02 a3616263"), AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " cd0100 01 ce65000000 00 92 02 a3616263"), AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " ce00010000 01 ce65000000 00 92 02 a3616263"), AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " cf0000000100000000 01 ce65000000 00 92 02 a3616263"),
            AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " cf001fffffffffffff 01 ce65000000 00 92 02 a3616263"),
            AM_REJ_NONE);
  CHECK_INT(open_hand(HDR " 05 01 00 00 92 02 c0"), AM_REJ_NONE); /* created 0, no reason */
  /* A 31-byte reason is a fixstr, a 32-byte one a str8. */
  {
    char hex[400];
    snprintf(hex, sizeof hex, "%s 05 01 ce65000000 00 92 02 bf%s", HDR,
             rep('6', 62));
    CHECK_INT(open_hand(hex), AM_REJ_NONE);
    snprintf(hex, sizeof hex, "%s 05 01 ce65000000 00 92 02 d920%s", HDR,
             rep('6', 64));
    CHECK_INT(open_hand(hex), AM_REJ_NONE);
    snprintf(hex, sizeof hex, "%s 05 01 ce65000000 00 92 02 d91f%s", HDR,
             rep('6', 62));
    CHECK_INT(open_hand(hex), AM_REJ_NONCANONICAL);
  }
  am_buf_free(&enc);
  am_buf_free(&hand);
  am_ann_free(&a);
}

static void test_noncanonical(void) {
  static const char *const cases[] = {
      /* integers longer than they need to be, in every position */
      "98 cc01 04 c420 O " TAIL_OK,
      "98 01 cc04 c420 O " TAIL_OK,
      HDR " cc05 01 ce65000000 00 92 02 a3616263",
      HDR " cd0005 01 ce65000000 00 92 02 a3616263",
      HDR " ce00000005 01 ce65000000 00 92 02 a3616263",
      HDR " cf0000000000000005 01 ce65000000 00 92 02 a3616263",
      HDR " cc7f 01 ce65000000 00 92 02 a3616263",
      HDR " cd00ff 01 ce65000000 00 92 02 a3616263",
      HDR " 05 cc01 ce65000000 00 92 02 a3616263",
      HDR " 05 01 cf0000000065000000 00 92 02 a3616263",
      HDR " 05 01 ce65000000 cc00 92 02 a3616263",
      HDR " 05 01 ce65000000 00 92 cc02 a3616263",
      /* signed types for non-negative values */
      HDR " d005 01 ce65000000 00 92 02 a3616263",
      HDR " d10005 01 ce65000000 00 92 02 a3616263",
      /* lengths: str8/16/32 for a fixstr, bin16/32 for the origin, array16 */
      HDR " 05 01 ce65000000 00 92 02 d903616263",
      HDR " 05 01 ce65000000 00 92 02 da0003616263",
      HDR " 05 01 ce65000000 00 92 02 db00000003616263",
      "98 01 04 c50020 O " TAIL_OK,
      "98 01 04 c600000020 O " TAIL_OK,
      HDR " 05 01 ce65000000 00 dc0002 02 a3616263",
      "dc0008 01 04 c420 O " TAIL_OK,
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int r = open_hand(cases[i]);
    if (r != AM_REJ_NONCANONICAL) fprintf(stderr, "  case %zu: %s\n", i, cases[i]);
    CHECK_INT(r, AM_REJ_NONCANONICAL);
  }
  CHECK(msg_has("canonical"));

  /* The envelope's own bin header must be the shortest too. */
  am_buf sp = {0};
  hexb(&sp, BASE);
  uint8_t sig[64];
  sign_part((const uint8_t *)sp.data, sp.len, sig);
  REQUIRE(sp.len < 256);
  for (int w = 2; w <= 4; w += 2) {
    am_buf env = {0};
    uint8_t h[6] = {0x92, w == 2 ? 0xc5 : 0xc6};
    size_t hn = w == 2 ? 4 : 6;
    if (w == 2) h[2] = 0, h[3] = (uint8_t)sp.len;
    else h[2] = h[3] = h[4] = 0, h[5] = (uint8_t)sp.len;
    am_buf_append(&env, h, hn);
    am_buf_append(&env, sp.data, sp.len);
    am_buf_append(&env, "\xc4\x40", 2);
    am_buf_append(&env, sig, 64);
    CHECK_INT(open_raw(env.data, env.len), AM_REJ_NONCANONICAL);
    am_buf_free(&env);
  }
  /* A signature in a bin16: not an envelope of this format. */
  {
    am_buf env = {0};
    am_buf_append(&env, "\x92\xc4", 2);
    uint8_t n = (uint8_t)sp.len;
    am_buf_append(&env, &n, 1);
    am_buf_append(&env, sp.data, sp.len);
    am_buf_append(&env, "\xc5\x00\x40", 3);
    am_buf_append(&env, sig, 64);
    CHECK_INT(open_raw(env.data, env.len), AM_REJ_MALFORMED);
    am_buf_free(&env);
  }
  am_buf_free(&sp);
}

static void test_malformed(void) {
  static const char *const cases[] = {
      /* floats */
      HDR " ca40a00000 01 ce65000000 00 92 02 a3616263",
      HDR " cb4014000000000000 01 ce65000000 00 92 02 a3616263",
      HDR " 05 01 ce65000000 00 92 02 ca3f800000",
      /* maps, anywhere */
      "81 01 02",
      HDR " 05 01 ce65000000 00 81 02 a3616263",
      HDR " 05 01 ce65000000 00 92 02 81 a161 a162",
      HDR " 05 01 ce65000000 00 92 80 c0",
      /* ext types */
      HDR " 05 01 ce65000000 00 92 02 d40100",
      HDR " 05 01 ce65000000 00 92 02 c7010100",
      HDR " d6ff65000000 01 ce65000000 00 92 02 a3616263",
      /* wrong body length */
      HDR " 05 01 ce65000000 00 91 02",
      HDR " 05 01 ce65000000 00 93 02 a3616263 c0",
      HDR " 05 01 ce65000000 00 90",
      /* negative integers */
      HDR " ff 01 ce65000000 00 92 02 a3616263",
      HDR " 05 d0ff ce65000000 00 92 02 a3616263",
      HDR " 05 01 d3ffffffffffffffff 00 92 02 a3616263",
      HDR " 05 01 ce65000000 e0 92 02 a3616263",
      HDR " 05 01 ce65000000 00 92 ff a3616263",
      "98 01 ff c420 O " TAIL_OK,
      /* wrong number of elements, wrong types */
      "97 01 04 c420 O 05 01 ce65000000 00",
      "99 01 04 c420 O " TAIL_OK " c0",
      "90",
      "01",
      "a3616263",
      "98 a131 04 c420 O " TAIL_OK,
      "98 01 a3616263 c420 O " TAIL_OK,
      "98 01 05 c420 O " TAIL_OK, /* kind 5 does not exist */
      "98 01 04 c41f o " TAIL_OK, /* a 31-byte origin */
      "98 01 04 a0 " TAIL_OK,
      "98 01 04 c0 " TAIL_OK,
      HDR " c0 01 ce65000000 00 92 02 a3616263",
      HDR " c3 01 ce65000000 00 92 02 a3616263",
      HDR " 05 01 ce65000000 00 c0",
      HDR " 05 01 ce65000000 00 92 a3616263 a3616263", /* enum as text */
      HDR " 05 01 ce65000000 00 92 c3 a3616263",
      HDR " 05 01 ce65000000 00 92 02 c403616263",     /* text as bin */
      HDR " 05 01 ce65000000 00 92 02 03",
      HDR " 05 01 ce65000000 00 92 02 91a161",         /* text as array */
      HDR " 05 01 ce65000000 00 92 02 919191c0",       /* too deep */
      /* text content */
      HDR " 05 01 ce65000000 00 92 02 a3610063",       /* NUL */
      HDR " 05 01 ce65000000 00 92 02 a361ff63",       /* not UTF-8 */
      HDR " 05 01 ce65000000 00 92 02 a3610763",       /* control */
      HDR " 05 01 ce65000000 00 92 02 a0",             /* empty */
      /* rules (am_ann_check after decoding) */
      HDR " 05 00 ce65000000 00 92 02 a3616263",       /* version 0 */
      HDR " 05 cf0020000000000000 ce65000000 00 92 02 a3616263",
      HDR " cf0020000000000000 01 ce65000000 00 92 02 a3616263",
      HDR " 05 01 ce65000000 ce65000001 92 02 a3616263", /* expires */
      HDR " 05 01 ce65000000 00 92 04 a3616263",       /* retracts a retraction */
      HDR " 05 01 ce65000000 00 92 05 a3616263",       /* enum out of range */
      HDR " 05 01 ce65000000 00 92 00 a3616263",       /* node, object 5 */
      HDR " 05 01 ce65000000 00 92 c0 a3616263",       /* required */
      HDR " 05 01 cf0000003afff44180 00 92 02 a3616263", /* created > 9999 */
      /* a trailing byte inside the signed part */
      BASE " c0",
      /* a rule broken in a non-canonical encoding: the rule comes first */
      HDR " cc05 00 ce65000000 00 92 02 a3616263",
      HDR " 05 01 ce65000000 00 92 02 d900",
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int r = open_hand(cases[i]);
    if (r != AM_REJ_MALFORMED) fprintf(stderr, "  case %zu: %s\n", i, cases[i]);
    CHECK_INT(r, AM_REJ_MALFORMED);
  }
  /* Envelopes that are not [bin, bin64]. */
  am_buf sp = {0};
  hexb(&sp, BASE);
  uint8_t sig[64];
  sign_part((const uint8_t *)sp.data, sp.len, sig);
  am_buf good = {0};
  am_ann_envelope((const uint8_t *)sp.data, sp.len, sig, &good);
  CHECK_INT(open_raw(good.data, good.len), AM_REJ_NONE);
  CHECK_INT(open_raw("", 0), AM_REJ_MALFORMED);
  CHECK_INT(open_raw("\x92", 1), AM_REJ_MALFORMED);
  CHECK_INT(open_raw("\xc0", 1), AM_REJ_MALFORMED);
  {
    am_buf b = {0};
    am_buf_append(&b, good.data, good.len);
    am_buf_append(&b, "\xc0", 1); /* a byte after the envelope */
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    CHECK(msg_has("follow"));
    b.data[0] = (char)0x93; /* three elements */
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    am_buf_free(&b);
    /* The whole envelope in an array16. */
    am_buf_append(&b, "\xdc\x00\x02", 3);
    am_buf_append(&b, good.data + 1, good.len - 1);
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    am_buf_free(&b);
    /* The signed part as a str8 instead of a bin8. */
    am_buf_append(&b, good.data, good.len);
    b.data[1] = (char)0xd9;
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    am_buf_free(&b);
    /* A 63-byte signature, then with one byte more after it. */
    am_buf_append(&b, good.data, good.len - 66);
    am_buf_append(&b, "\xc4\x3f", 2);
    am_buf_append(&b, sig, 63);
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    am_buf_append(&b, "\x00", 1);
    CHECK_INT(open_raw(b.data, b.len), AM_REJ_MALFORMED);
    am_buf_free(&b);
  }
  /* Every truncation of a valid envelope. */
  for (size_t n = 0; n < good.len; n++) CHECK_INT(open_raw(good.data, n), AM_REJ_MALFORMED);
  am_buf_free(&good);
  am_buf_free(&sp);
}

static void test_unsupported(void) {
  CHECK_INT(open_hand("98 02 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  CHECK(msg_has("format version 2"));
  CHECK_INT(open_hand("98 00 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("98 7f 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  /* A later format may have another shape: the version alone decides. */
  CHECK_INT(open_hand("91 02"), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("93 02 a178 c0"), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("9f 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), AM_REJ_UNSUPPORTED);
  /* Whatever a later format contains, even what this one refuses. */
  CHECK_INT(open_hand("93 02 ca3f800000 c0"), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("92 02 81a161c0"), AM_REJ_UNSUPPORTED);
  /* The version decides before the encoding is judged. */
  CHECK_INT(open_hand("98 cc02 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("dc0008 02 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  CHECK_INT(open_hand("98 cd0100 04 c420 O " TAIL_OK), AM_REJ_UNSUPPORTED);
  /* Format 1 in a long encoding is format 1, badly written. */
  CHECK_INT(open_hand("98 cc01 04 c420 O " TAIL_OK), AM_REJ_NONCANONICAL);
}

static void test_too_large(void) {
  /* More bytes than an announcement may have, whatever they are. */
  size_t big = AM_ANN_MAX_BYTES + 1;
  uint8_t *p = calloc(1, big);
  REQUIRE(p);
  p[0] = 0x92, p[1] = 0xc6, p[2] = 0, p[3] = 1, p[4] = 0, p[5] = 0;
  CHECK_INT(open_raw(p, big), AM_REJ_TOO_LARGE);
  memset(p, 0, big);
  CHECK_INT(open_raw(p, big), AM_REJ_TOO_LARGE);
  /* Headers declaring more than the limit, with few bytes behind them. */
  CHECK_INT(open_hex("92 c6 00010000 0000"), AM_REJ_TOO_LARGE);
  CHECK_INT(open_hex("92 c5 ffff 0000"), AM_REJ_TOO_LARGE);
  CHECK_INT(open_hex("92 c6 ffffffff"), AM_REJ_TOO_LARGE);
  /* Exactly at the limit the size is fine (the content is not). */
  size_t n = AM_ANN_MAX_BYTES - 6 - 66; /* bin32 header */
  memset(p, 0, big);
  p[0] = 0x92, p[1] = 0xc6;
  p[2] = (uint8_t)(n >> 24), p[3] = (uint8_t)(n >> 16), p[4] = (uint8_t)(n >> 8),
  p[5] = (uint8_t)n;
  p[6 + n] = 0xc4, p[7 + n] = 64;
  size_t used = 0;
  int reason = -1;
  CHECK_INT(am_ann_frame(p, AM_ANN_MAX_BYTES, &used, &reason), 0);
  CHECK_INT(used, AM_ANN_MAX_BYTES);
  CHECK_INT(open_raw(p, AM_ANN_MAX_BYTES), AM_REJ_MALFORMED);
  /* One more declared byte is too large. */
  n++;
  p[5] = (uint8_t)n, p[4] = (uint8_t)(n >> 8);
  CHECK_INT(am_ann_frame(p, big, &used, &reason), AM_EINVAL);
  CHECK_INT(reason, AM_REJ_TOO_LARGE);
  free(p);
}

/* msgpack-c issue #1013: headers that make msgpack-c allocate what they
 * declare. Each must be refused without allocating, at once. */
static void test_length_bombs(void) {
  static const char *const bombs[] = {
      "dd ff000000", "dc ffff", "c6 ffffffff", "db ffffffff", "df ffffffff",
      "de ffff", "c5 ffff", "da ffff", "dd 7fffffff 00",
  };
  double t = now_s();
  for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
    /* As the whole input. */
    CHECK_INT(open_hex(bombs[i]), AM_REJ_MALFORMED);
    /* As the signed part of a well-formed, correctly signed envelope. */
    CHECK_INT(open_hand(bombs[i]), AM_REJ_MALFORMED);
    /* Inside a signed part: as the body, as a body value, as a list. */
    char hex[300];
    snprintf(hex, sizeof hex, HDR " 05 01 ce65000000 00 %s", bombs[i]);
    CHECK_INT(open_hand(hex), AM_REJ_MALFORMED);
    snprintf(hex, sizeof hex, HDR " 05 01 ce65000000 00 92 02 %s", bombs[i]);
    CHECK_INT(open_hand(hex), AM_REJ_MALFORMED);
    snprintf(hex, sizeof hex, "98 01 00 c420 O 00 01 ce65000000 00 97 a178 00 c0 c0 c0 c0 %s",
             bombs[i]);
    CHECK_INT(open_hand(hex), AM_REJ_MALFORMED);
    snprintf(hex, sizeof hex, "%s 01 04 c420 O " TAIL_OK, bombs[i]);
    CHECK_INT(open_hand(hex), AM_REJ_MALFORMED);
  }
  /* That node body is right apart from the bomb. */
  CHECK_INT(open_hand("98 01 00 c420 O 00 01 ce65000000 00 97 a178 00 c0 c0 c0 c0 91a161"),
            AM_REJ_NONE);
  double dt = now_s() - t;
  if (dt > 2.0) fprintf(stderr, "  length bombs took %.2f s\n", dt);
  CHECK(dt < 2.0);
}

/* Any single bit flipped anywhere in an envelope: refused, always. */
static void test_tampering(void) {
  for (int k = 0; k < AM_K__COUNT; k += 2) { /* node, event, retraction */
    am_ann a;
    makers[k](&a);
    am_buf env = {0};
    REQUIRE(am_ann_seal(&a, &gid, &env, &err) == 0);
    const uint8_t *sp, *sig;
    size_t n;
    REQUIRE(am_ann_span((const uint8_t *)env.data, env.len, &sp, &n, &sig) == 0);
    size_t sig_at = (size_t)(sig - (const uint8_t *)env.data);
    uint8_t *p = malloc(env.len);
    int counts[AM_REJ__COUNT] = {0};
    for (size_t i = 0; i < env.len; i++) {
      for (int bit = 0; bit < 8; bit++) {
        memcpy(p, env.data, env.len);
        p[i] ^= (uint8_t)(1u << bit);
        am_ann b;
        int reason = -1;
        int rc = am_ann_open(p, env.len, &b, &reason, NULL);
        if (rc == 0) {
          fprintf(stderr, "  %s: bit %d of byte %zu flipped, still accepted\n",
                  am_ann_kinds[k].name, bit, i);
          am_ann_free(&b);
          CHECK(rc != 0);
          continue;
        }
        CHECK(reason == AM_REJ_BAD_SIGNATURE || reason == AM_REJ_MALFORMED ||
              reason == AM_REJ_NONCANONICAL || reason == AM_REJ_UNSUPPORTED ||
              reason == AM_REJ_TOO_LARGE);
        if (reason >= 0 && reason < AM_REJ__COUNT) counts[reason]++;
        /* In the signature itself, only the signature check can tell. */
        if (i >= sig_at) CHECK_INT(reason, AM_REJ_BAD_SIGNATURE);
        /* Whatever decodes still must not decode to the same content
         * (the encoding is one-to-one), unless only the signature moved. */
        if (am_ann_decode(p, env.len, &b, &reason, NULL) == 0) {
          am_buf re = {0};
          am_ann_encode_signed(&b, &re);
          bool same = re.len == n && memcmp(re.data, sp, n) == 0;
          CHECK(!same || i >= sig_at);
          am_buf_free(&re);
          am_ann_free(&b);
        }
      }
    }
    /* Most flips inside strings decode and are caught by the signature. */
    CHECK(counts[AM_REJ_BAD_SIGNATURE] > 64 * 8 / 2);
    CHECK(counts[AM_REJ_MALFORMED] > 0);
    free(p);
    am_buf_free(&env);
    am_ann_free(&a);
  }
  /* Signed by another key than the origin's. */
  am_identity other;
  REQUIRE(am_identity_generate(&other, NULL) == 0);
  am_buf sp = {0}, env = {0};
  hexb(&sp, BASE); /* origin: gid */
  uint8_t sig[64];
  am_buf m = {0};
  am_buf_append(&m, AM_ANN_SIG_CONTEXT, sizeof AM_ANN_SIG_CONTEXT);
  am_buf_append(&m, sp.data, sp.len);
  am_sign(&other, (const uint8_t *)m.data, m.len, sig);
  am_ann_envelope((const uint8_t *)sp.data, sp.len, sig, &env);
  CHECK_INT(open_raw(env.data, env.len), AM_REJ_BAD_SIGNATURE);
  CHECK(msg_has("signature"));
  /* Signed without the context string. */
  am_buf_free(&env);
  am_sign(&gid, (const uint8_t *)sp.data, sp.len, sig);
  am_ann_envelope((const uint8_t *)sp.data, sp.len, sig, &env);
  CHECK_INT(open_raw(env.data, env.len), AM_REJ_BAD_SIGNATURE);
  /* The decoder alone does not verify. */
  am_ann b;
  int reason;
  CHECK_INT(am_ann_decode((const uint8_t *)env.data, env.len, &b, &reason, NULL), 0);
  CHECK_INT(am_ann_verify(&b, (const uint8_t *)env.data, env.len), AM_EINVAL);
  am_ann_free(&b);
  am_buf_free(&m);
  am_buf_free(&sp);
  am_buf_free(&env);
  am_identity_wipe(&other);
}

/* ---- framing -------------------------------------------------------------- */

static void test_frame(void) {
  am_buf all = {0};
  size_t lens[AM_K__COUNT];
  for (int k = 0; k < AM_K__COUNT; k++) {
    am_ann a;
    makers[k](&a);
    size_t before = all.len;
    REQUIRE(am_ann_seal(&a, &gid, &all, &err) == 0);
    lens[k] = all.len - before;
    am_ann_free(&a);
  }
  /* The profile is more than 255 bytes: a bin16 header among bin8 ones. */
  CHECK(lens[AM_K_PROFILE] > 300);
  size_t off = 0;
  for (int k = 0; k < AM_K__COUNT; k++) {
    size_t used = 0;
    int reason = -1;
    REQUIRE(am_ann_frame((const uint8_t *)all.data + off, all.len - off, &used, &reason) == 0);
    CHECK_INT(reason, AM_REJ_NONE);
    CHECK_INT(used, lens[k]);
    am_ann a;
    CHECK_INT(am_ann_open((const uint8_t *)all.data + off, used, &a, &reason, &err), 0);
    if (reason == AM_REJ_NONE) {
      CHECK_INT(a.kind, k);
      am_ann_free(&a);
    }
    /* Every cut inside this envelope is "cut short". */
    for (size_t cut = 0; cut < used; cut++) {
      size_t u2 = 12345;
      reason = -1;
      CHECK_INT(am_ann_frame((const uint8_t *)all.data + off, cut, &u2, &reason), AM_EINVAL);
      CHECK_INT(reason, AM_REJ_MALFORMED);
      CHECK_INT(u2, 12345);
    }
    off += used;
  }
  CHECK_INT(off, all.len);
  /* Not an envelope header. */
  size_t used;
  int reason;
  CHECK_INT(am_ann_frame((const uint8_t *)"\x93\xc4\x01", 3, &used, &reason), AM_EINVAL);
  CHECK_INT(reason, AM_REJ_MALFORMED);
  CHECK_INT(am_ann_frame((const uint8_t *)"\x92\xa1", 2, &used, &reason), AM_EINVAL);
  CHECK_INT(reason, AM_REJ_MALFORMED);
  CHECK_INT(am_ann_frame((const uint8_t *)"\x92\xc6\xff\xff\xff\xff", 6, &used, &reason),
            AM_EINVAL);
  CHECK_INT(reason, AM_REJ_TOO_LARGE);
  /* am_ann_span wants exactly one envelope. */
  const uint8_t *sp, *sig;
  size_t n;
  CHECK_INT(am_ann_span((const uint8_t *)all.data, all.len, &sp, &n, &sig), AM_EINVAL);
  CHECK_INT(am_ann_span((const uint8_t *)all.data, lens[0], &sp, &n, &sig), 0);
  CHECK(sp == (const uint8_t *)all.data + 3);
  CHECK_INT(n, lens[0] - 3 - 66);
  CHECK(sig == (const uint8_t *)all.data + lens[0] - 64);
  am_buf_free(&all);
}

/* ---- text forms --------------------------------------------------------- */

static int set(am_ann *a, uint32_t f, const char *v) {
  memset(&err, 0, sizeof err);
  return am_ann_set(a, f, v, &err);
}

static const char *fmt(const am_ann *a, uint32_t f) {
  static char bufs[2][9000];
  static int next;
  char *out = bufs[next++ % 2];
  am_buf b = {0};
  if (am_ann_format(a, f, &b) != 0 || b.len >= sizeof bufs[0]) {
    am_buf_free(&b);
    return "(format failed)";
  }
  if (b.len) memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  am_buf_free(&b);
  return out;
}

static void test_time_parse(void) {
  static const struct {
    const char *in;
    uint64_t want;
  } ok[] = {
      {"2026-12-10T18:30Z", 1796927400},
      {"2026-12-10T18:30:00Z", 1796927400},
      {"2026-12-10 18:30Z", 1796927400},
      {"2026-12-10T18:30:45Z", 1796927445},
      {"2026-12-10T19:30+01:00", 1796927400},
      {"2026-12-10T20:00:00+01:30", 1796927400},
      {"2026-12-10T13:30-05:00", 1796927400},
      {"2026-12-11T00:00+05:30", 1796927400},
      {"1796927400", 1796927400},
      {"0", 0},
      {"1970-01-01T00:00Z", 0},
      {"2024-02-29T12:00Z", 1709208000},
      {"253402300799", AM_ANN_TIME_MAX},
      {"9999-12-31T23:59:59Z", AM_ANN_TIME_MAX},
      {"2026-12-11T18:29+23:59", 1796927400},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    uint64_t t = 1;
    int rc = am_time_parse(ok[i].in, &t);
    if (rc || t != ok[i].want) fprintf(stderr, "  time '%s'\n", ok[i].in);
    CHECK_INT(rc, 0);
    CHECK_INT(t, ok[i].want);
  }
  static const char *const bad[] = {
      "", "tomorrow", "2026-12-10", "2026-12-10T18:30", "2026-12-10T18Z",
      "2026-13-10T18:30Z", "2026-02-29T18:30Z", "2026-12-32T18:30Z", "2026-12-10T24:00Z",
      "2026-12-10T18:60Z", "2026-12-10T18:30:60Z", "2026-12-10T18:30:5Z",
      "2026-12-10T18:30ZZ", "2026-12-10T18:30+0100", "2026-12-10T18:30+01",
      "2026-12-10T18:30 Z", "2026-12-10X18:30Z", "1969-12-31T23:59Z",
      "1970-01-01T00:00+00:01", /* before 1970 once the offset is applied */
      "253402300800", "9999999999999", "-1", "+1796927400", "1796927400Z",
      "10000-01-01T00:00Z",
      /* digits where digits go, nothing else */
      "2026- 1-10T18:30Z", "2026-12-10T 8:30Z", "2026-12-10T18:+3Z", "+026-12-10T18:30Z",
      "2026-12-10T18:3", " 2026-12-10T18:30Z", "2026-12-10t18:30Z",
      /* offsets are hours 0-23 and minutes 0-59 */
      "2026-12-10T18:30+24:00", "2026-12-10T18:30-00:60", "2026-12-10T18:30+99:99",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    uint64_t t = 777;
    int rc = am_time_parse(bad[i], &t);
    if (rc != AM_EINVAL) fprintf(stderr, "  time '%s' accepted as %llu\n", bad[i],
                                 (unsigned long long)t);
    CHECK_INT(rc, AM_EINVAL);
  }
}

static void test_set_and_format(void) {
  am_ann a;
  am_ann_init(&a, AM_K_EVENT);
  /* Times */
  CHECK_INT(set(&a, AM_EV_STARTS_AT, "2026-12-10T19:30+01:00"), 0);
  CHECK_INT(a.body[AM_EV_STARTS_AT].u, 1796927400);
  CHECK_STR(fmt(&a, AM_EV_STARTS_AT), "2026-12-10T18:30:00Z");
  CHECK_INT(set(&a, AM_EV_ENDS_AT, " 1796934600 "), 0);
  CHECK_STR(fmt(&a, AM_EV_ENDS_AT), "2026-12-10T20:30:00Z");
  CHECK_INT(set(&a, AM_EV_ENDS_AT, "2026-12-10T18:30"), AM_EINVAL);
  CHECK(msg_has("not a time"));
  CHECK_INT(a.body[AM_EV_ENDS_AT].u, 1796934600); /* untouched on error */
  /* Enums: case-insensitive, '-' for '_' */
  CHECK_INT(set(&a, AM_EV_STATUS, "Cancelled"), 0);
  CHECK_INT(a.body[AM_EV_STATUS].u, AM_EV_CANCELLED);
  CHECK_STR(fmt(&a, AM_EV_STATUS), "cancelled");
  CHECK_INT(set(&a, AM_EV_STATUS, "SCHEDULED"), 0);
  CHECK_INT(a.body[AM_EV_STATUS].u, AM_EV_SCHEDULED);
  CHECK_INT(set(&a, AM_EV_STATUS, "done"), AM_EINVAL);
  CHECK(msg_has("scheduled, cancelled, postponed"));
  CHECK_INT(set(&a, AM_EV_STATUS, "cancelled!"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_STATUS, "cancel"), AM_EINVAL);
  CHECK_INT(a.body[AM_EV_STATUS].u, AM_EV_SCHEDULED);
  /* Text: trimmed, NFC; empty clears */
  CHECK_INT(set(&a, AM_EV_TITLE, "  Gala \t"), 0);
  CHECK_STR(a.body[AM_EV_TITLE].s, "Gala");
  CHECK_INT(set(&a, AM_EV_TITLE, "Cafe\xcc\x81"), 0); /* e + combining acute */
  CHECK_STR(a.body[AM_EV_TITLE].s, "Café");
  CHECK_INT(set(&a, AM_EV_TITLE, "a\x07"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_TITLE, rep('t', 201)), AM_EINVAL);
  CHECK_STR(a.body[AM_EV_TITLE].s, "Café");
  CHECK_INT(set(&a, AM_EV_DESCRIPTION, "one\ntwo"), 0);
  CHECK_STR(a.body[AM_EV_DESCRIPTION].s, "one\ntwo");
  CHECK_INT(set(&a, AM_EV_TITLE, "   "), 0);
  CHECK(!a.body[AM_EV_TITLE].set);
  CHECK_STR(fmt(&a, AM_EV_TITLE), "");
  CHECK_INT(set(&a, AM_EV_TITLE, "Gala"), 0);
  CHECK_INT(set(&a, AM_EV_TITLE, ""), 0);
  CHECK(!a.body[AM_EV_TITLE].set);
  CHECK_INT(set(&a, AM_EV_TITLE, "Gala"), 0);
  /* Lists: ';' or ',', items trimmed, empty items dropped */
  CHECK_INT(set(&a, AM_EV_TAGS, " gala ; réseau,, dîner ;"), 0);
  REQUIRE(a.body[AM_EV_TAGS].l.n == 3);
  CHECK_STR(a.body[AM_EV_TAGS].l.v[0], "gala");
  CHECK_STR(a.body[AM_EV_TAGS].l.v[1], "réseau");
  CHECK_STR(a.body[AM_EV_TAGS].l.v[2], "dîner");
  CHECK_STR(fmt(&a, AM_EV_TAGS), "gala; réseau; dîner");
  CHECK_INT(set(&a, AM_EV_TAGS, ";,;"), 0);
  CHECK(!a.body[AM_EV_TAGS].set);
  {
    char many[200] = "";
    for (int i = 0; i < 21; i++) strcat(many, "t,");
    CHECK_INT(set(&a, AM_EV_TAGS, many), AM_EINVAL);
    CHECK(msg_has("more than 20"));
    many[strlen(many) - 2] = '\0'; /* 20 items */
    CHECK_INT(set(&a, AM_EV_TAGS, many), 0);
    CHECK_INT(a.body[AM_EV_TAGS].l.n, 20);
  }
  CHECK_INT(set(&a, AM_EV_TAGS, rep('x', 51)), AM_EINVAL);
  CHECK_INT(a.body[AM_EV_TAGS].l.n, 20);
  /* Numbers */
  CHECK_INT(set(&a, AM_EV_CAPACITY, "120"), 0);
  CHECK_INT(a.body[AM_EV_CAPACITY].u, 120);
  CHECK_STR(fmt(&a, AM_EV_CAPACITY), "120");
  CHECK_INT(set(&a, AM_EV_CAPACITY, "0"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_CAPACITY, "1000001"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_CAPACITY, "-5"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_CAPACITY, "12a"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_CAPACITY, "1e3"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_CAPACITY, "99999999999999999999999"), AM_EINVAL);
  CHECK_INT(a.body[AM_EV_CAPACITY].u, 120);
  /* URLs get https:// */
  CHECK_INT(set(&a, AM_EV_ONLINE, "meet.example.org/gala"), 0);
  CHECK_STR(a.body[AM_EV_ONLINE].s, "https://meet.example.org/gala");
  CHECK_INT(set(&a, AM_EV_ONLINE, "http://meet.example.org"), 0);
  CHECK_STR(a.body[AM_EV_ONLINE].s, "http://meet.example.org");
  CHECK_INT(set(&a, AM_EV_ONLINE, "not a link"), AM_EINVAL);
  CHECK_INT(set(&a, AM_EV_ONLINE, "ftp://example.org"), AM_EINVAL);
  /* No such field */
  CHECK_INT(set(&a, AM_EV__N, "x"), AM_EUSAGE);
  CHECK_INT(am_ann_format(&a, AM_EV__N, &(am_buf){0}), AM_EUSAGE);
  CHECK_INT(set(&a, AM_EV_TIMEZONE, "Europe/Paris"), 0);
  a.version = 1, a.created = T0, a.expires = 1796934600;
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  am_ann_init(&a, AM_K_JOB);
  CHECK_INT(set(&a, AM_JOB_CONTRACT, "Work-Study"), 0);
  CHECK_INT(a.body[AM_JOB_CONTRACT].u, 3);
  CHECK_STR(fmt(&a, AM_JOB_CONTRACT), "work_study");
  CHECK_INT(set(&a, AM_JOB_CONTRACT, "work_study"), 0);
  CHECK_INT(set(&a, AM_JOB_REMOTE, "ON-SITE"), 0);
  CHECK_INT(a.body[AM_JOB_REMOTE].u, 0);
  /* Booleans */
  CHECK_INT(set(&a, AM_JOB_ALUMNI_ONLY, "Oui"), 0);
  CHECK_INT(a.body[AM_JOB_ALUMNI_ONLY].u, 1);
  CHECK_STR(fmt(&a, AM_JOB_ALUMNI_ONLY), "yes");
  CHECK_INT(set(&a, AM_JOB_ALUMNI_ONLY, "no"), 0);
  CHECK(a.body[AM_JOB_ALUMNI_ONLY].set);
  CHECK_INT(a.body[AM_JOB_ALUMNI_ONLY].u, 0);
  CHECK_STR(fmt(&a, AM_JOB_ALUMNI_ONLY), "no");
  CHECK_INT(set(&a, AM_JOB_ALUMNI_ONLY, "maybe"), AM_EINVAL);
  /* Dates */
  CHECK_INT(set(&a, AM_JOB_POSTED, "2026-01-31"), 0);
  CHECK_INT(a.body[AM_JOB_POSTED].u, 20260131);
  CHECK_STR(fmt(&a, AM_JOB_POSTED), "2026-01-31");
  CHECK_INT(set(&a, AM_JOB_VALID_THROUGH, "28/02/2026"), 0);
  CHECK_INT(a.body[AM_JOB_VALID_THROUGH].u, 20260228);
  CHECK_INT(set(&a, AM_JOB_VALID_THROUGH, "2026-02-29"), AM_EINVAL);
  CHECK_INT(set(&a, AM_JOB_VALID_THROUGH, "soon"), AM_EINVAL);
  CHECK_INT(a.body[AM_JOB_VALID_THROUGH].u, 20260228);
  am_ann_free(&a);

  /* A URL typed with an upper-case scheme is still a URL the rules take. */
  am_ann_init(&a, AM_K_NODE);
  a.version = 1;
  CHECK_INT(set(&a, AM_NODE_NAME, "N"), 0);
  CHECK_INT(set(&a, AM_NODE_KIND, "school"), 0);
  CHECK_INT(set(&a, AM_NODE_WEBSITE, "HTTPS://Exemple.fr"), 0);
  memset(&err, 0, sizeof err);
  int rc = check(&a);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  CHECK_INT(rc, 0);
  am_ann_free(&a);
}

/* Formatting any field and setting the text back gives the same value. */
static void test_format_round_trip(void) {
  for (int k = 0; k < AM_K__COUNT; k++) {
    am_ann a, b;
    makers[k](&a);
    am_ann_init(&b, k);
    const am_kind_desc *kd = &am_ann_kinds[k];
    for (uint32_t f = 0; f < kd->nfields; f++) {
      REQUIRE(a.body[f].set);
      const char *text = fmt(&a, f);
      int rc = set(&b, f, text);
      if (rc) fprintf(stderr, "  %s.%s = '%s': %s\n", kd->name, kd->fields[f].name, text, err.msg);
      CHECK_INT(rc, 0);
    }
    b.object = a.object, b.version = a.version, b.created = a.created, b.expires = a.expires;
    memcpy(b.origin, a.origin, 32);
    CHECK_INT(ann_diff(&a, &b), 0);
    am_ann_free(&a);
    am_ann_free(&b);
  }
}

static void test_names(void) {
  CHECK_STR(am_reject_name(AM_REJ_NONE), "accepted");
  CHECK_STR(am_reject_name(AM_REJ_MALFORMED), "malformed");
  CHECK_STR(am_reject_name(AM_REJ_TOO_LARGE), "too-large");
  CHECK_STR(am_reject_name(AM_REJ_NONCANONICAL), "non-canonical");
  CHECK_STR(am_reject_name(AM_REJ_UNSUPPORTED), "unsupported-format");
  CHECK_STR(am_reject_name(AM_REJ_BAD_SIGNATURE), "bad-signature");
  CHECK_STR(am_reject_name(AM_REJ_UNKNOWN_ORIGIN), "unknown-origin");
  CHECK_STR(am_reject_name(AM_REJ_STALE), "stale");
  CHECK_STR(am_reject_name(AM_REJ_EXPIRED), "expired");
  CHECK_STR(am_reject_name(AM_REJ_FUTURE), "from-the-future");
  CHECK_STR(am_reject_name(AM_REJ__COUNT), "unknown");
  CHECK_STR(am_reject_name(-1), "unknown");
  for (int k = 0; k < AM_K__COUNT; k++) CHECK_INT(am_ann_kind_parse(am_ann_kinds[k].name), k);
  CHECK_INT(am_ann_kind_parse("evenement"), -1);
  CHECK_INT(am_ann_kind_parse(""), -1);
  uint8_t id[32];
  for (int i = 0; i < 32; i++) id[i] = (uint8_t)(i * 8 + 7);
  char hex[65];
  am_ann_id_hex(id, hex);
  CHECK_STR(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

/* ---- profiles -------------------------------------------------------------- */

static int mset(am_member *m, int f, const char *v) {
  memset(&err, 0, sizeof err);
  int rc = am_member_set(m, f, v, strlen(v), &err);
  if (rc) fprintf(stderr, "  member %s = '%s': %s\n", am_fields[f].name, v, err.msg);
  return rc;
}

/* A member with every profile field filled, default visibility. */
static void full_member(am_member *m) {
  am_member_init(m);
  m->id = 314;
  mset(m, AM_F_GIVEN_NAME, "Marie");
  mset(m, AM_F_FAMILY_NAME, "Curie");
  mset(m, AM_F_USUAL_NAME, "Skłodowska");
  mset(m, AM_F_EMAILS, "marie@example.fr; m.curie@example.org");
  mset(m, AM_F_PHONE, "+33 1 23 45 67 89");
  mset(m, AM_F_PROMO, "1903");
  mset(m, AM_F_PROGRAMME, "Physique");
  mset(m, AM_F_DIPLOMA, "Doctorat");
  mset(m, AM_F_DEPARTMENT, "Radioactivité");
  mset(m, AM_F_EMPLOYER, "Institut du Radium");
  mset(m, AM_F_JOB_TITLE, "Directrice");
  mset(m, AM_F_SECTOR, "Recherche");
  mset(m, AM_F_CITY, "Paris");
  mset(m, AM_F_COUNTRY, "France");
  mset(m, AM_F_SKILLS, "physique, chimie");
  mset(m, AM_F_LANGUAGES, "polonais; français");
  mset(m, AM_F_LINKEDIN, "https://www.linkedin.com/in/mcurie");
  mset(m, AM_F_WEBSITE, "curie.example.fr");
  mset(m, AM_F_BIO, "Deux prix Nobel.\nPhysique et chimie.");
  mset(m, AM_F_MENTORING, "yes");
  mset(m, AM_F_MENTORING_TOPICS, "recherche");
  mset(m, AM_F_DUES_PAID_UNTIL, "2026-12-31");
}

/* The text form of a member field, for comparing with the profile. */
static const char *mfmt(const am_member *m, int f) {
  static char out[9000];
  am_buf b = {0};
  am_member_format(m, f, &b);
  out[0] = '\0';
  if (b.data && b.len < sizeof out) memcpy(out, b.data, b.len + 1);
  am_buf_free(&b);
  return out;
}

static void test_profile_from_member(void) {
  am_member m;
  full_member(&m);
  am_ann a;
  fx_sample_job(&a); /* untouched without consent */
  CHECK_INT(am_profile_from_member(&a, &m), AM_ENOTFOUND);
  CHECK_INT(a.kind, AM_K_JOB);
  CHECK_STR(a.body[AM_JOB_TITLE].s, "Ingénieur logiciel");
  am_ann_free(&a);

  /* Federation sharing without consent to be listed: still nothing. */
  m.consent_federation = 20260101;
  m.consent_listed = 0;
  CHECK_INT(am_profile_from_member(&a, &m), AM_ENOTFOUND);
  CHECK_INT(a.kind, AM_K_JOB);
  m.consent_listed = 20260101;
  REQUIRE(am_profile_from_member(&a, &m) == 0);
  CHECK_INT(a.kind, AM_K_PROFILE);
  CHECK_INT(a.object, 314);
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    bool want = m.vis[f] == AM_VIS_FEDERATION;
    if (a.body[f].set != want) fprintf(stderr, "  field %s\n", am_fields[f].name);
    CHECK(a.body[f].set == want);
    if (want) CHECK_STR(fmt(&a, (uint32_t)f), mfmt(&m, f));
  }
  /* With default visibility: no emails, phone, links or bio. */
  CHECK(!a.body[AM_F_EMAILS].set);
  CHECK(!a.body[AM_F_PHONE].set);
  CHECK(!a.body[AM_F_LINKEDIN].set);
  CHECK(!a.body[AM_F_WEBSITE].set);
  CHECK(!a.body[AM_F_BIO].set);
  CHECK(a.body[AM_F_GIVEN_NAME].set);
  CHECK_INT(a.body[AM_F_PROMO].u, 1903);
  CHECK_INT(a.body[AM_F_MENTORING].u, 1);
  for (uint32_t f = AM_F__PROFILE_COUNT; f < AM_ANN_MAX_FIELDS; f++) CHECK(!a.body[f].set);
  a.version = 1, a.created = T0;
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  /* Visibility decides, for every field: a private promo stays home. */
  memset(&err, 0, sizeof err);
  const char *spec = "emails=federation,family_name=school,programme=private,"
                     "promo=private,website=federation,mentoring=school";
  REQUIRE(am_member_set_visibility(&m, spec, strlen(spec), &err) == 0);
  REQUIRE(am_profile_from_member(&a, &m) == 0);
  CHECK(a.body[AM_F_EMAILS].set);
  CHECK_STR(fmt(&a, AM_F_EMAILS), "marie@example.fr; m.curie@example.org");
  CHECK(!a.body[AM_F_FAMILY_NAME].set);
  CHECK(!a.body[AM_F_PROGRAMME].set);
  CHECK(!a.body[AM_F_PROMO].set);
  CHECK_STR(a.body[AM_F_WEBSITE].s, "https://curie.example.fr");
  CHECK(!a.body[AM_F_MENTORING].set);
  a.version = 1;
  CHECK_INT(check(&a), 0);
  am_ann_free(&a);

  /* An empty record with consent: a valid, nearly empty profile. */
  am_member e;
  am_member_init(&e);
  e.id = 5;
  e.consent_federation = e.consent_listed = 20260101;
  REQUIRE(am_profile_from_member(&a, &e) == 0);
  a.version = 1;
  CHECK_INT(check(&a), 0);
  CHECK(!a.body[AM_F_PROMO].set);
  CHECK(!a.body[AM_F_GIVEN_NAME].set);
  CHECK(a.body[AM_F_MENTORING].set); /* a boolean is always known */
  CHECK_INT(a.body[AM_F_MENTORING].u, 0);
  am_ann_free(&a);
  am_member_free(&e);

  /* Whatever a member record accepts, its profile passes the rules: the
   * longest values of every field, and URLs as people type them. */
  am_member big;
  am_member_init(&big);
  big.id = AM_MEMBER_ID_MAX;
  big.consent_federation = big.consent_listed = 20260101;
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) big.vis[f] = AM_VIS_FEDERATION;
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    const am_field *fd = &am_fields[f];
    if (fd->flags & (AM_FF_EMAIL | AM_FF_PHONE | AM_FF_URL)) continue;
    if (fd->type == AM_T_TEXT) {
      CHECK_INT(mset(&big, f, rep('z', fd->max_len)), 0);
    } else if (fd->type == AM_T_LIST) {
      am_buf b = {0};
      for (int i = 0; i < fd->max_items; i++) {
        char item[300];
        int n = snprintf(item, sizeof item, "%d", i);
        memset(item + n, 'q', fd->max_len - (size_t)n);
        item[fd->max_len] = '\0';
        am_buf_printf(&b, "%s%s", i ? ";" : "", item);
      }
      CHECK_INT(mset(&big, f, b.data), 0);
      am_buf_free(&b);
    }
  }
  CHECK_INT(mset(&big, AM_F_PROMO, "2100"), 0);
  CHECK_INT(mset(&big, AM_F_PHONE, "+33 1 23 45 67 89"), 0);
  CHECK_INT(mset(&big, AM_F_LINKEDIN, "HTTPS://www.linkedin.com/in/x"), 0);
  CHECK_INT(mset(&big, AM_F_WEBSITE, "Http://Example.org"), 0);
  CHECK_INT(mset(&big, AM_F_BIO, "a\nb"), 0);
  REQUIRE(am_profile_from_member(&a, &big) == 0);
  a.version = 1;
  int rc = check(&a);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  CHECK_INT(rc, 0);
  am_buf env = {0};
  CHECK_INT(am_ann_seal(&a, &gid, &env, &err), 0);
  CHECK(env.len <= AM_ANN_MAX_BYTES);
  am_buf_free(&env);
  am_ann_free(&a);
  am_member_free(&big);
  am_member_free(&m);
}

/* The profile body mirrors the member profile fields: same names, types
 * and limits (a field added to one and not the other fails here). */
static void test_profile_table_agrees(void) {
  const am_kind_desc *kd = &am_ann_kinds[AM_K_PROFILE];
  CHECK_INT(kd->nfields, AM_F__PROFILE_COUNT);
  CHECK_STR(kd->name, "profile");
  for (uint32_t f = 0; f < kd->nfields && f < AM_F__PROFILE_COUNT; f++) {
    const am_afield *af = &kd->fields[f];
    const am_field *mf = &am_fields[f];
    CHECK_STR(af->name, mf->name);
    CHECK(!(af->flags & AM_AF_REQUIRED));
    switch (mf->type) {
    case AM_T_TEXT:
      CHECK_INT(af->type, AM_A_TEXT);
      CHECK_INT(af->max_len, mf->max_len);
      CHECK_INT(!!(af->flags & AM_AF_URL), !!(mf->flags & AM_FF_URL));
      CHECK_INT(!!(af->flags & AM_AF_MULTILINE), !!(mf->flags & AM_FF_MULTILINE));
      break;
    case AM_T_LIST:
      CHECK_INT(af->type, AM_A_LIST);
      CHECK_INT(af->max_items, mf->max_items);
      CHECK_INT(af->max_len, mf->max_len);
      break;
    case AM_T_YEAR:
      CHECK_INT(af->type, AM_A_UINT);
      CHECK_INT(af->min, AM_YEAR_MIN);
      CHECK_INT(af->max, AM_YEAR_MAX);
      break;
    case AM_T_BOOL:
      CHECK_INT(af->type, AM_A_BOOL);
      break;
    default:
      fprintf(stderr, "  member field %s has a type profiles do not carry\n", mf->name);
      CHECK(0);
    }
  }
  /* The table positions named in announce.h, and all field names unique
   * within each kind (they are JSON keys and CLI flags). */
  CHECK_INT(am_ann_kinds[AM_K_NODE].nfields, AM_NODE__N);
  CHECK_INT(am_ann_kinds[AM_K_EVENT].nfields, AM_EV__N);
  CHECK_INT(am_ann_kinds[AM_K_JOB].nfields, AM_JOB__N);
  CHECK_INT(am_ann_kinds[AM_K_RETRACTION].nfields, AM_RET__N);
  CHECK_STR(am_ann_kinds[AM_K_EVENT].fields[AM_EV_STATUS].name, "status");
  CHECK_STR(am_ann_kinds[AM_K_JOB].fields[AM_JOB_ALUMNI_ONLY].name, "alumni_only");
  for (int k = 0; k < AM_K__COUNT; k++) {
    const am_kind_desc *d = &am_ann_kinds[k];
    CHECK(d->nfields <= AM_ANN_MAX_FIELDS);
    for (uint32_t i = 0; i < d->nfields; i++) {
      CHECK(d->fields[i].name && d->fields[i].label);
      CHECK((d->fields[i].type == AM_A_ENUM) == (d->fields[i].names != NULL));
      for (uint32_t j = i + 1; j < d->nfields; j++)
        CHECK(strcmp(d->fields[i].name, d->fields[j].name) != 0);
    }
  }
}

static void test_same_content(void) {
  am_ann a, b;
  fx_sample_event(&a);
  fx_sample_event(&b);
  CHECK(am_ann_same_content(&a, &b));
  /* The envelope fields do not count. */
  b.version++, b.created += 100, b.expires += 100;
  memset(b.origin, 1, 32);
  memset(b.id, 2, 32);
  CHECK(am_ann_same_content(&a, &b));
  /* Kind, object and every body field do. */
  b.object++;
  CHECK(!am_ann_same_content(&a, &b));
  b.object--;
  for (uint32_t f = 0; f < AM_EV__N; f++) {
    am_ann c;
    fx_sample_event(&c);
    if (c.body[f].s) fx_ann_text(&c, f, "changed");
    else if (c.body[f].l.n) fx_ann_list(&c, f, "gala", NULL);
    else fx_ann_uint(&c, f, c.body[f].u + 1);
    if (am_ann_same_content(&a, &c)) fprintf(stderr, "  field %u\n", (unsigned)f);
    CHECK(!am_ann_same_content(&a, &c));
    fx_ann_unset(&c, f);
    CHECK(!am_ann_same_content(&a, &c));
    am_ann_free(&c);
  }
  /* One list item more is a change; so is the order of items. */
  fx_ann_list(&b, AM_EV_TAGS, "gala", "réseau", "x", NULL);
  CHECK(!am_ann_same_content(&a, &b));
  fx_ann_list(&b, AM_EV_TAGS, "réseau", "gala", NULL);
  CHECK(!am_ann_same_content(&a, &b));
  fx_ann_list(&b, AM_EV_TAGS, "gala", "réseau", NULL);
  CHECK(am_ann_same_content(&a, &b));
  am_ann_free(&a);
  am_ann_free(&b);
  /* Same body positions, other kind. */
  am_ann_init(&b, AM_K_EVENT);
  am_ann_init(&a, AM_K_JOB);
  a.object = b.object = 1;
  CHECK(!am_ann_same_content(&a, &b));
  am_ann_free(&a);
  am_ann_free(&b);
}

int main(void) {
  if (am_identity_generate(&gid, NULL) != 0) return 1;
  RUN(test_round_trip_every_kind);
  RUN(test_round_trip_minimal);
  RUN(test_seal_refusals);
  RUN(test_check_envelope_fields);
  RUN(test_check_text_rules);
  RUN(test_check_numbers_and_enums);
  RUN(test_check_retraction);
  RUN(test_hand_built_baseline);
  RUN(test_noncanonical);
  RUN(test_malformed);
  RUN(test_unsupported);
  RUN(test_too_large);
  RUN(test_length_bombs);
  RUN(test_tampering);
  RUN(test_frame);
  RUN(test_time_parse);
  RUN(test_set_and_format);
  RUN(test_format_round_trip);
  RUN(test_names);
  RUN(test_profile_from_member);
  RUN(test_profile_table_agrees);
  RUN(test_same_content);
  am_identity_wipe(&gid);
  return TEST_SUMMARY();
}
