/* Unit tests for crypto/noise.c. First the cacophony vectors
 * ($AMICALE_TEST_VECTORS/noise, see the README.md there): for each of the
 * 59, an initiator and a responder set up from the vector run every message
 * in turn; each produced ciphertext must equal the vector's byte for byte
 * and decrypt back to its payload on the other side, and both sides must
 * reach the vector's handshake hash. Then what vectors cannot show:
 * tampered and truncated XX messages are refused and leave the handshake
 * dead, calls in the wrong state, buffers too small, malformed protocol
 * names, the reserved nonce, rekey, in-place use, a zero DH output, and an
 * XX handshake between two fresh random key pairs. */
#include "crypto/noise.h"

#include <stdbool.h>

#include <jansson.h>
#include <sodium.h>

#include "tests/test.h"

#define VECTOR_FILE "noise/cacophony-25519-ChaChaPoly-BLAKE2b.json"
#define VECTOR_COUNT 59 /* tests/vectors/noise/README.md */

#define XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"

static char vector_path[4096];

/* ---- the cacophony vectors ---- */

/* Hex to bytes; the length, or -1 for bad hex or more than cap bytes. */
static long unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s), bin_len = 0;
  if (n % 2 || n / 2 > cap) return -1;
  if (sodium_hex2bin(out, cap, s, n, NULL, &bin_len, NULL) != 0 || bin_len != n / 2) return -1;
  return (long)bin_len;
}

/* Field name of a vector as bytes: exactly want bytes (want 0: any number
 * up to cap). *present tells whether the field is there; -1 on a bad one. */
static long field(json_t *v, const char *name, uint8_t *out, size_t cap, size_t want,
                  bool *present) {
  json_t *f = json_object_get(v, name);
  *present = f != NULL;
  if (!f) return 0;
  if (!json_is_string(f)) return -1;
  long n = unhex(json_string_value(f), out, cap);
  if (n < 0 || (want && (size_t)n != want)) return -1;
  return n;
}

typedef struct side {
  am_noise_keypair s, e;
  uint8_t rs[AM_NOISE_KEY];
  uint8_t prologue[256];
  uint8_t psks[AM_NOISE_MAX_PSKS][AM_NOISE_KEY];
  am_noise_hs_config cfg;
  am_noise_hs hs;
  am_noise_cipher send, recv;
  uint8_t hash[AM_NOISE_HASH];
} side;

/* Sets up one side from the fields prefixed by who ("init", "resp"). */
static bool side_setup(side *sd, json_t *v, const char *who, bool initiator, const char *proto) {
  char name[64];
  bool has;
  uint8_t priv[AM_NOISE_KEY];
  memset(sd, 0, sizeof *sd);
  sd->cfg.protocol = proto;
  sd->cfg.initiator = initiator;

  snprintf(name, sizeof name, "%s_prologue", who);
  long n = field(v, name, sd->prologue, sizeof sd->prologue, 0, &has);
  if (n < 0) return false;
  sd->cfg.prologue = sd->prologue;
  sd->cfg.prologue_len = (size_t)n;

  snprintf(name, sizeof name, "%s_static", who);
  if (field(v, name, priv, sizeof priv, sizeof priv, &has) < 0) return false;
  if (has) {
    if (am_noise_keypair_from_private(&sd->s, priv) != 0) return false;
    sd->cfg.s = &sd->s;
  }
  snprintf(name, sizeof name, "%s_ephemeral", who);
  if (field(v, name, priv, sizeof priv, sizeof priv, &has) < 0) return false;
  if (has) {
    if (am_noise_keypair_from_private(&sd->e, priv) != 0) return false;
    sd->cfg.e = &sd->e;
  }
  snprintf(name, sizeof name, "%s_remote_static", who);
  if (field(v, name, sd->rs, sizeof sd->rs, sizeof sd->rs, &has) < 0) return false;
  if (has) sd->cfg.rs = sd->rs;

  snprintf(name, sizeof name, "%s_psks", who);
  json_t *psks = json_object_get(v, name);
  if (psks) {
    if (!json_is_array(psks) || json_array_size(psks) > AM_NOISE_MAX_PSKS) return false;
    for (size_t i = 0; i < json_array_size(psks); i++) {
      json_t *p = json_array_get(psks, i);
      if (!json_is_string(p) ||
          unhex(json_string_value(p), sd->psks[i], AM_NOISE_KEY) != AM_NOISE_KEY)
        return false;
    }
    sd->cfg.psks = (const uint8_t(*)[AM_NOISE_KEY])sd->psks;
    sd->cfg.npsks = json_array_size(psks);
  }
  sodium_memzero(priv, sizeof priv);
  return am_noise_hs_init(&sd->hs, &sd->cfg) == 0;
}

/* The one-way patterns: N, K, X and their psk variants. */
static bool one_way(const char *proto) {
  const char *p = proto + strlen("Noise_");
  return (p[0] == 'N' || p[0] == 'K' || p[0] == 'X') && (p[1] == '_' || p[1] == 'p');
}

static uint8_t buf_payload[AM_NOISE_MAX_MSG], buf_expect[AM_NOISE_MAX_MSG],
    buf_out[AM_NOISE_MAX_MSG], buf_back[AM_NOISE_MAX_MSG];

/* Runs one vector; on a mismatch says where on stderr and returns false. */
static bool run_vector(json_t *v, size_t index) {
  json_t *jp = json_object_get(v, "protocol_name");
  const char *proto = json_is_string(jp) ? json_string_value(jp) : "?";
#define FAIL(...)                                                                  \
  do {                                                                             \
    fprintf(stderr, "vector %zu (%s): ", index, proto);                            \
    fprintf(stderr, __VA_ARGS__);                                                  \
    fputc('\n', stderr);                                                           \
    ok = false;                                                                    \
    goto out;                                                                      \
  } while (0)
  bool ok = true, has;
  static side init, resp;
  uint8_t want_hash[AM_NOISE_HASH];
  if (!json_is_string(jp)) FAIL("no protocol_name");
  if (field(v, "handshake_hash", want_hash, sizeof want_hash, sizeof want_hash, &has) < 0 || !has)
    FAIL("bad or missing handshake_hash");
  if (!side_setup(&init, v, "init", true, proto)) FAIL("initiator setup");
  if (!side_setup(&resp, v, "resp", false, proto)) FAIL("responder setup");

  json_t *msgs = json_object_get(v, "messages");
  if (!json_is_array(msgs) || json_array_size(msgs) == 0) FAIL("no messages");
  bool split = false, oneway = one_way(proto);
  for (size_t i = 0; i < json_array_size(msgs); i++) {
    json_t *m = json_array_get(msgs, i);
    bool hp, hc;
    long plen = field(m, "payload", buf_payload, sizeof buf_payload, 0, &hp);
    long clen = field(m, "ciphertext", buf_expect, sizeof buf_expect, 0, &hc);
    if (plen < 0 || clen < 0 || !hp || !hc) FAIL("message %zu: bad fields", i);
    /* Messages alternate, initiator first; after a one-way handshake only
     * the initiator sends (cacophony's convention too). */
    bool from_init = oneway && split ? true : i % 2 == 0;
    side *tx = from_init ? &init : &resp, *rx = from_init ? &resp : &init;
    size_t olen = 0, blen = 0;
    if (!split) {
      if (!am_noise_hs_writes_next(&tx->hs) || am_noise_hs_writes_next(&rx->hs))
        FAIL("message %zu: wrong turn", i);
      int rc = am_noise_hs_write(&tx->hs, buf_payload, (size_t)plen, buf_out, sizeof buf_out,
                                 &olen);
      if (rc != 0) FAIL("message %zu: write: %d", i, rc);
      if (olen != (size_t)clen || memcmp(buf_out, buf_expect, olen) != 0)
        FAIL("message %zu: handshake ciphertext differs", i);
      rc = am_noise_hs_read(&rx->hs, buf_out, olen, buf_back, sizeof buf_back, &blen);
      if (rc != 0) FAIL("message %zu: read: %d", i, rc);
      if (am_noise_hs_done(&init.hs) != am_noise_hs_done(&resp.hs))
        FAIL("message %zu: only one side done", i);
      if (am_noise_hs_done(&init.hs)) {
        uint8_t h[AM_NOISE_HASH];
        am_noise_hs_get_hash(&init.hs, h);
        if (memcmp(h, want_hash, sizeof h) != 0) FAIL("handshake hash differs (get_hash)");
        if (am_noise_hs_split(&init.hs, &init.send, &init.recv, init.hash) != 0 ||
            am_noise_hs_split(&resp.hs, &resp.send, &resp.recv, resp.hash) != 0)
          FAIL("split");
        if (memcmp(init.hash, want_hash, sizeof want_hash) != 0 ||
            memcmp(resp.hash, want_hash, sizeof want_hash) != 0)
          FAIL("handshake hash differs");
        split = true;
      }
    } else {
      if (am_noise_encrypt(&tx->send, NULL, 0, buf_payload, (size_t)plen, buf_out) != 0)
        FAIL("message %zu: encrypt", i);
      olen = (size_t)plen + AM_NOISE_TAG;
      if (olen != (size_t)clen || memcmp(buf_out, buf_expect, olen) != 0)
        FAIL("message %zu: transport ciphertext differs", i);
      if (am_noise_decrypt(&rx->recv, NULL, 0, buf_out, olen, buf_back) != 0)
        FAIL("message %zu: decrypt", i);
      blen = olen - AM_NOISE_TAG;
    }
    if (blen != (size_t)plen || (blen && memcmp(buf_back, buf_payload, blen) != 0))
      FAIL("message %zu: payload differs after decryption", i);
  }
  if (!split) FAIL("handshake not finished after the last message");
out:
  am_noise_hs_wipe(&init.hs);
  am_noise_hs_wipe(&resp.hs);
  am_noise_cipher_wipe(&init.send);
  am_noise_cipher_wipe(&init.recv);
  am_noise_cipher_wipe(&resp.send);
  am_noise_cipher_wipe(&resp.recv);
  return ok;
#undef FAIL
}

static void test_cacophony_vectors(void) {
  json_error_t jerr;
  json_t *root = json_load_file(vector_path, 0, &jerr);
  if (!root) fprintf(stderr, "%s: %s (line %d)\n", vector_path, jerr.text, jerr.line);
  REQUIRE(root != NULL);
  json_t *vs = json_object_get(root, "vectors");
  size_t n = json_is_array(vs) ? json_array_size(vs) : 0, passed = 0;
  for (size_t i = 0; i < n; i++) passed += run_vector(json_array_get(vs, i), i);
  printf("noise vectors: %zu/%zu passed\n", passed, n);
  CHECK_INT(n, VECTOR_COUNT);
  CHECK_INT(passed, n);
  json_decref(root);
}

/* ---- a pair of XX peers ---- */

typedef struct peer {
  am_noise_keypair s, e;
  am_noise_hs hs;
  am_noise_cipher send, recv;
  uint8_t hash[AM_NOISE_HASH];
} peer;

static am_noise_keypair fixed_s[2], fixed_e[2];

static void fixed_keys(void) {
  for (int i = 0; i < 2; i++) {
    uint8_t priv[AM_NOISE_KEY];
    for (int j = 0; j < AM_NOISE_KEY; j++) priv[j] = (uint8_t)(16 * i + j + 1);
    am_noise_keypair_from_private(&fixed_s[i], priv);
    priv[0] ^= 0x80;
    am_noise_keypair_from_private(&fixed_e[i], priv);
  }
}

/* XX peers with the fixed keys (same messages every time) or fresh ones. */
static int xx_pair(peer *a, peer *b, bool fixed) {
  static const uint8_t prologue[] = "amicale test";
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  if (fixed) {
    a->s = fixed_s[0], a->e = fixed_e[0], b->s = fixed_s[1], b->e = fixed_e[1];
  } else if (am_noise_keypair_generate(&a->s) || am_noise_keypair_generate(&b->s)) {
    return -1;
  }
  am_noise_hs_config ca = {.protocol = XX, .initiator = true, .prologue = prologue,
                           .prologue_len = sizeof prologue, .s = &a->s,
                           .e = fixed ? &a->e : NULL};
  am_noise_hs_config cb = ca;
  cb.initiator = false;
  cb.s = &b->s;
  cb.e = fixed ? &b->e : NULL;
  return am_noise_hs_init(&a->hs, &ca) || am_noise_hs_init(&b->hs, &cb) ? -1 : 0;
}

static const uint8_t pay[3][12] = {"first hello", "second word", "third thing"};

/* The honest XX transcript with the fixed keys. */
static uint8_t transcript[3][256];
static size_t transcript_len[3];

static void make_transcript(void) {
  peer a, b;
  size_t n;
  uint8_t back[256];
  xx_pair(&a, &b, true);
  for (int m = 0; m < 3; m++) {
    peer *w = m % 2 ? &b : &a, *r = m % 2 ? &a : &b;
    am_noise_hs_write(&w->hs, pay[m], sizeof pay[m], transcript[m], sizeof transcript[m],
                      &transcript_len[m]);
    am_noise_hs_read(&r->hs, transcript[m], transcript_len[m], back, sizeof back, &n);
  }
}

/* Runs the honest messages before message m, and writes message m: what
 * its reader gets is the test's choice. */
static void honest_prefix(peer *a, peer *b, int m) {
  uint8_t back[256], out[256];
  size_t n;
  for (int k = 0; k <= m; k++) {
    peer *w = k % 2 ? b : a, *r = k % 2 ? a : b;
    am_noise_hs_write(&w->hs, pay[k], sizeof pay[k], out, sizeof out, &n);
    if (k < m) am_noise_hs_read(&r->hs, transcript[k], transcript_len[k], back, sizeof back, &n);
  }
}

/* A dead handshake refuses everything. */
static bool refuses(am_noise_hs *hs) {
  uint8_t buf[256], h[AM_NOISE_HASH];
  size_t n;
  am_noise_cipher s, r;
  return !am_noise_hs_writes_next(hs) && !am_noise_hs_done(hs) &&
         am_noise_hs_remote_static(hs) == NULL &&
         am_noise_hs_write(hs, NULL, 0, buf, sizeof buf, &n) == AM_EUSAGE &&
         am_noise_hs_read(hs, transcript[0], transcript_len[0], buf, sizeof buf, &n) ==
             AM_EUSAGE &&
         am_noise_hs_split(hs, &s, &r, h) == AM_EUSAGE;
}

static void test_xx_random(void) {
  peer a, b;
  REQUIRE(xx_pair(&a, &b, false) == 0);
  CHECK(am_noise_hs_remote_static(&a.hs) == NULL);
  CHECK(am_noise_hs_remote_static(&b.hs) == NULL);
  uint8_t msg[256], back[256];
  size_t n, bn;
  for (int m = 0; m < 3; m++) {
    peer *w = m % 2 ? &b : &a, *r = m % 2 ? &a : &b;
    CHECK(am_noise_hs_writes_next(&w->hs) && !am_noise_hs_writes_next(&r->hs));
    CHECK(!am_noise_hs_done(&w->hs) && !am_noise_hs_done(&r->hs));
    REQUIRE(am_noise_hs_write(&w->hs, pay[m], sizeof pay[m], msg, sizeof msg, &n) == 0);
    static const size_t sizes[3] = {32 + 12, 32 + 48 + 12 + 16, 48 + 12 + 16};
    CHECK_INT(n, sizes[m]);
    REQUIRE(am_noise_hs_read(&r->hs, msg, n, back, sizeof back, &bn) == 0);
    CHECK(bn == sizeof pay[m] && memcmp(back, pay[m], bn) == 0);
  }
  CHECK(am_noise_hs_done(&a.hs) && am_noise_hs_done(&b.hs));
  CHECK(!am_noise_hs_writes_next(&a.hs) && !am_noise_hs_writes_next(&b.hs));
  const uint8_t *ra = am_noise_hs_remote_static(&a.hs), *rb = am_noise_hs_remote_static(&b.hs);
  REQUIRE(ra && rb);
  CHECK(memcmp(ra, b.s.pub, AM_NOISE_KEY) == 0 && memcmp(rb, a.s.pub, AM_NOISE_KEY) == 0);
  uint8_t ha[AM_NOISE_HASH], hb[AM_NOISE_HASH];
  am_noise_hs_get_hash(&a.hs, ha);
  REQUIRE(am_noise_hs_split(&a.hs, &a.send, &a.recv, a.hash) == 0);
  REQUIRE(am_noise_hs_split(&b.hs, &b.send, &b.recv, b.hash) == 0);
  CHECK(memcmp(a.hash, b.hash, AM_NOISE_HASH) == 0 && memcmp(a.hash, ha, AM_NOISE_HASH) == 0);
  am_noise_hs_get_hash(&b.hs, hb);
  CHECK(memcmp(hb, b.hash, AM_NOISE_HASH) == 0);
  /* still known after the split, which wiped the secrets */
  CHECK(am_noise_hs_remote_static(&a.hs) == ra && am_noise_hs_done(&a.hs));
  static const uint8_t zero[AM_NOISE_HASH];
  CHECK(memcmp(a.hs.ck, zero, AM_NOISE_HASH) == 0 && memcmp(a.hs.s.priv, zero, 32) == 0);
  CHECK(memcmp(a.hs.e.priv, zero, 32) == 0 && !a.hs.cs.has_key);
  CHECK(memcmp(a.send.k, b.recv.k, 32) == 0 && memcmp(a.recv.k, b.send.k, 32) == 0);
  CHECK(memcmp(a.send.k, a.recv.k, 32) != 0);
  uint8_t h2[AM_NOISE_HASH];
  am_noise_cipher s2, r2;
  CHECK_INT(am_noise_hs_split(&a.hs, &s2, &r2, h2), AM_EUSAGE);

  /* both ways, several messages, with associated data */
  for (int i = 0; i < 4; i++) {
    peer *w = i % 2 ? &b : &a, *r = i % 2 ? &a : &b;
    uint8_t ad[3] = {1, 2, (uint8_t)i};
    REQUIRE(am_noise_encrypt(&w->send, ad, sizeof ad, pay[i % 3], 12, msg) == 0);
    REQUIRE(am_noise_decrypt(&r->recv, ad, sizeof ad, msg, 12 + AM_NOISE_TAG, back) == 0);
    CHECK(memcmp(back, pay[i % 3], 12) == 0);
  }
  CHECK(a.send.n == 2 && b.recv.n == 2 && b.send.n == 2 && a.recv.n == 2);

  /* a failed decryption does not advance n, and the next good one works */
  REQUIRE(am_noise_encrypt(&a.send, NULL, 0, pay[0], 12, msg) == 0);
  msg[3] ^= 1;
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back), AM_EINVAL);
  CHECK_INT(b.recv.n, 2);
  uint8_t ad1 = 1;
  msg[3] ^= 1;
  CHECK_INT(am_noise_decrypt(&b.recv, &ad1, 1, msg, 28, back), AM_EINVAL); /* wrong ad */
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 15, back), AM_EINVAL); /* shorter than a tag */
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back), 0);
  CHECK_INT(b.recv.n, 3);
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back), AM_EINVAL); /* replay */
  am_noise_hs_wipe(&a.hs);
  am_noise_hs_wipe(&b.hs);
  CHECK(am_noise_hs_remote_static(&a.hs) == NULL && !am_noise_hs_done(&a.hs));
  am_noise_hs_wipe(NULL);
  am_noise_cipher_wipe(&a.send);
  CHECK(!a.send.has_key && a.send.n == 0);
  CHECK_INT(am_noise_encrypt(&a.send, NULL, 0, pay[0], 12, msg), AM_EUSAGE);
  am_noise_cipher_wipe(NULL);
}

/* Every byte of every XX message flipped in turn. Message 1 (e and a
 * cleartext payload) carries no authentication in XX: the change shows
 * when the initiator reads message 2, made with the responder's view of a
 * different transcript. Messages 2 and 3 are refused as they are read. */
static void test_tamper(void) {
  make_transcript();
  int refused = 0, total = 0;
  for (int m = 0; m < 3; m++) {
    for (size_t pos = 0; pos < transcript_len[m]; pos++) {
      peer a, b;
      REQUIRE(xx_pair(&a, &b, true) == 0);
      honest_prefix(&a, &b, m);
      uint8_t bad[256], back[256], out[256];
      size_t n, on;
      memcpy(bad, transcript[m], transcript_len[m]);
      bad[pos] ^= 1;
      peer *r = m % 2 ? &a : &b;
      int rc = am_noise_hs_read(&r->hs, bad, transcript_len[m], back, sizeof back, &n);
      total++;
      if (m == 0 && rc == 0) {
        /* the responder answers; the initiator refuses the answer */
        rc = am_noise_hs_write(&b.hs, pay[1], sizeof pay[1], out, sizeof out, &on);
        if (rc == 0) {
          rc = am_noise_hs_read(&a.hs, out, on, back, sizeof back, &n);
          r = &a;
        } else {
          r = &b; /* a zero DH output with the changed ephemeral */
        }
      }
      if (rc == AM_EINVAL && refuses(&r->hs)) {
        refused++;
      } else {
        fprintf(stderr, "message %d byte %zu: rc %d\n", m + 1, pos, rc);
      }
      am_noise_hs_wipe(&a.hs);
      am_noise_hs_wipe(&b.hs);
    }
  }
  CHECK_INT(refused, total);
  CHECK_INT(total, (int)(transcript_len[0] + transcript_len[1] + transcript_len[2]));
}

/* Every shorter length of every XX message. Message 1 is e then a
 * cleartext payload: cut into the key it is refused at once; cut into the
 * payload it is a shorter payload, refused by the initiator on message 2. */
static void test_truncated(void) {
  make_transcript();
  for (int m = 0; m < 3; m++) {
    for (size_t len = 0; len < transcript_len[m]; len++) {
      peer a, b;
      REQUIRE(xx_pair(&a, &b, true) == 0);
      honest_prefix(&a, &b, m);
      uint8_t back[256], out[256];
      size_t n, on;
      peer *r = m % 2 ? &a : &b;
      int rc = am_noise_hs_read(&r->hs, transcript[m], len, back, sizeof back, &n);
      if (m == 0 && len >= AM_NOISE_KEY) {
        CHECK_INT(rc, 0);
        CHECK_INT(n, len - AM_NOISE_KEY);
        REQUIRE(am_noise_hs_write(&b.hs, pay[1], sizeof pay[1], out, sizeof out, &on) == 0);
        rc = am_noise_hs_read(&a.hs, out, on, back, sizeof back, &n);
        r = &a;
      }
      if (rc != AM_EINVAL || !refuses(&r->hs))
        fprintf(stderr, "message %d cut to %zu: rc %d\n", m + 1, len, rc);
      CHECK_INT(rc, AM_EINVAL);
      CHECK(refuses(&r->hs));
      am_noise_hs_wipe(&a.hs);
      am_noise_hs_wipe(&b.hs);
    }
  }
}

static void test_wrong_state(void) {
  peer a, b;
  uint8_t msg[256], back[256], h[AM_NOISE_HASH];
  size_t n = 99, bn;
  am_noise_cipher s, r;
  REQUIRE(xx_pair(&a, &b, false) == 0);
  CHECK_INT(am_noise_hs_write(&b.hs, NULL, 0, msg, sizeof msg, &n), AM_EUSAGE); /* not its turn */
  CHECK_INT(n, 0);
  CHECK_INT(am_noise_hs_read(&a.hs, msg, 32, back, sizeof back, &n), AM_EUSAGE);
  CHECK_INT(am_noise_hs_split(&a.hs, &s, &r, h), AM_EUSAGE); /* not done */
  CHECK_INT(am_noise_hs_write(&a.hs, NULL, 0, NULL, 0, NULL), AM_EUSAGE);
  CHECK_INT(am_noise_hs_write(&a.hs, NULL, 5, msg, sizeof msg, &n), AM_EUSAGE);

  /* too small an output: refused, nothing changed, then it works */
  uint8_t h0[AM_NOISE_HASH], h1[AM_NOISE_HASH];
  am_noise_hs_get_hash(&a.hs, h0);
  CHECK_INT(am_noise_hs_write(&a.hs, pay[0], 12, msg, 32 + 11, &n), AM_EUSAGE);
  am_noise_hs_get_hash(&a.hs, h1);
  CHECK(memcmp(h0, h1, sizeof h0) == 0 && am_noise_hs_writes_next(&a.hs));
  REQUIRE(am_noise_hs_write(&a.hs, pay[0], 12, msg, 32 + 12, &n) == 0);
  CHECK_INT(n, 44);
  CHECK_INT(am_noise_hs_write(&a.hs, NULL, 0, msg, sizeof msg, &n), AM_EUSAGE); /* now reads */
  /* too small a payload buffer: refused, nothing changed, then it works */
  CHECK_INT(am_noise_hs_read(&b.hs, msg, 44, back, 11, &bn), AM_EUSAGE);
  CHECK(!am_noise_hs_writes_next(&b.hs));
  REQUIRE(am_noise_hs_read(&b.hs, msg, 44, back, 12, &bn) == 0);
  CHECK_INT(bn, 12);

  /* too big */
  static uint8_t big[AM_NOISE_MAX_MSG + 1];
  CHECK_INT(am_noise_hs_write(&b.hs, big, AM_NOISE_MAX_MSG - 80 - 16 + 1, big, sizeof big, &n),
            AM_ETOOBIG);
  REQUIRE(am_noise_hs_write(&b.hs, big, AM_NOISE_MAX_MSG - 80 - 16, big, sizeof big, &n) == 0);
  CHECK_INT(n, AM_NOISE_MAX_MSG);
  REQUIRE(am_noise_hs_read(&a.hs, big, n, big, sizeof big, &bn) == 0);
  CHECK_INT(bn, AM_NOISE_MAX_MSG - 96);
  REQUIRE(am_noise_hs_write(&a.hs, NULL, 0, msg, sizeof msg, &n) == 0);
  CHECK_INT(n, 48 + 16);
  REQUIRE(am_noise_hs_read(&b.hs, msg, n, NULL, 0, &bn) == 0);
  CHECK_INT(bn, 0);
  CHECK(am_noise_hs_done(&a.hs) && am_noise_hs_done(&b.hs));
  CHECK_INT(am_noise_hs_write(&a.hs, NULL, 0, msg, sizeof msg, &n), AM_EUSAGE); /* done */
  CHECK_INT(am_noise_hs_read(&a.hs, msg, 64, back, sizeof back, &n), AM_EUSAGE);
  CHECK_INT(am_noise_hs_split(&a.hs, &s, &s, h), AM_EUSAGE);
  REQUIRE(am_noise_hs_split(&a.hs, &a.send, &a.recv, a.hash) == 0);
  REQUIRE(am_noise_hs_split(&b.hs, &b.send, &b.recv, b.hash) == 0);
  CHECK_INT(am_noise_hs_write(&a.hs, NULL, 0, msg, sizeof msg, &n), AM_EUSAGE); /* split */

  /* transport limits */
  CHECK_INT(am_noise_encrypt(&a.send, NULL, 0, big, AM_NOISE_MAX_PAYLOAD + 1, big), AM_ETOOBIG);
  REQUIRE(am_noise_encrypt(&a.send, NULL, 0, big, AM_NOISE_MAX_PAYLOAD, big) == 0);
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, big, AM_NOISE_MAX_MSG + 1, big), AM_ETOOBIG);
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, big, AM_NOISE_MAX_MSG, big), 0);
  CHECK_INT(b.recv.n, 1);

  /* a fresh (wiped) state refuses all */
  am_noise_hs fresh;
  am_noise_hs_wipe(&fresh);
  CHECK_INT(am_noise_hs_write(&fresh, NULL, 0, msg, sizeof msg, &n), AM_EUSAGE);
  CHECK_INT(am_noise_hs_read(&fresh, msg, 32, back, sizeof back, &n), AM_EUSAGE);
  CHECK_INT(am_noise_hs_split(&fresh, &s, &r, h), AM_EUSAGE);
  CHECK(!am_noise_hs_writes_next(&fresh) && !am_noise_hs_done(&fresh));
}

static void test_init_errors(void) {
  am_noise_keypair k;
  REQUIRE(am_noise_keypair_generate(&k) == 0);
  uint8_t psk[2][AM_NOISE_KEY] = {{1}, {2}};
  am_noise_hs hs;
  static const char *bad[] = {
      "Noise_XY_25519_ChaChaPoly_BLAKE2b",   "Noise__25519_ChaChaPoly_BLAKE2b",
      "Noise_XX_25519_AESGCM_SHA256",        "Noise_XX_448_ChaChaPoly_BLAKE2b",
      "Noise_XX_25519_ChaChaPoly_BLAKE2s",   "noise_XX_25519_ChaChaPoly_BLAKE2b",
      "Noise_XX_25519_ChaChaPoly_BLAKE2b ",  "Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b",
      "Noise_XXpsk_25519_ChaChaPoly_BLAKE2b", "Noise_XXpsk3+_25519_ChaChaPoly_BLAKE2b",
      "Noise_XXpsk3+psk3_25519_ChaChaPoly_BLAKE2b",
      "Noise_XXpsk3+psk0_25519_ChaChaPoly_BLAKE2b",
      "Noise_XXpsk10_25519_ChaChaPoly_BLAKE2b", "Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
      "Noise_XX+psk0_25519_ChaChaPoly_BLAKE2b", "Noise_Npsk2_25519_ChaChaPoly_BLAKE2b",
      "Noise_XX", "", "Noise_X1X1X_25519_ChaChaPoly_BLAKE2b",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    am_noise_hs_config c = {.protocol = bad[i], .initiator = true, .s = &k,
                            .rs = k.pub, .psks = (const uint8_t(*)[32])psk, .npsks = 1};
    if (am_noise_hs_init(&hs, &c) != AM_EUSAGE) fprintf(stderr, "accepted: %s\n", bad[i]);
    CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE);
    CHECK(!am_noise_hs_writes_next(&hs));
  }
  am_noise_hs_config c = {.protocol = XX, .initiator = true}; /* XX needs s */
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE);
  c.initiator = false;
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE);
  c.protocol = "Noise_NX_25519_ChaChaPoly_BLAKE2b"; /* the initiator sends no s */
  c.initiator = true;
  CHECK_INT(am_noise_hs_init(&hs, &c), 0);
  c.protocol = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  c.s = &k;
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE); /* no rs */
  c.rs = k.pub;
  CHECK_INT(am_noise_hs_init(&hs, &c), 0);
  c.initiator = false; /* the responder has it from the message */
  c.rs = NULL;
  CHECK_INT(am_noise_hs_init(&hs, &c), 0);
  CHECK(am_noise_hs_remote_static(&hs) == NULL);
  c.protocol = "Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2b";
  c.psks = (const uint8_t(*)[32])psk;
  c.npsks = 1;
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE);
  c.npsks = 2;
  CHECK_INT(am_noise_hs_init(&hs, &c), 0);
  c.psks = NULL;
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE);
  c.protocol = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  c.npsks = 0;
  c.prologue_len = 3;
  CHECK_INT(am_noise_hs_init(&hs, &c), AM_EUSAGE); /* prologue NULL */
  CHECK_INT(am_noise_hs_init(&hs, NULL), AM_EUSAGE);
  CHECK_INT(am_noise_hs_init(NULL, &c), AM_EUSAGE);
  am_noise_hs_wipe(&hs);
}

/* Two psk modifiers and a deferred pattern, with random keys: the engine's
 * combinations beyond the vectors. */
static void test_psk_combinations(void) {
  static const char *protos[] = {
      "Noise_XXpsk0+psk1+psk2+psk3_25519_ChaChaPoly_BLAKE2b",
      "Noise_X1X1psk4_25519_ChaChaPoly_BLAKE2b",
      "Noise_IKpsk0+psk2_25519_ChaChaPoly_BLAKE2b",
      "Noise_NNpsk0+psk1+psk2_25519_ChaChaPoly_BLAKE2b",
  };
  uint8_t psks[5][AM_NOISE_KEY];
  randombytes_buf(psks, sizeof psks);
  for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
    am_noise_keypair si, sr;
    am_noise_keypair_generate(&si);
    am_noise_keypair_generate(&sr);
    size_t np = 0;
    for (const char *p = protos[i]; (p = strstr(p, "psk")); p++) np++;
    am_noise_hs_config ci = {.protocol = protos[i], .initiator = true, .s = &si, .rs = sr.pub,
                             .psks = (const uint8_t(*)[32])psks, .npsks = np};
    am_noise_hs_config cr = ci;
    cr.initiator = false, cr.s = &sr, cr.rs = si.pub;
    am_noise_hs a, b;
    REQUIRE(am_noise_hs_init(&a, &ci) == 0 && am_noise_hs_init(&b, &cr) == 0);
    uint8_t msg[512], back[512];
    size_t n, bn;
    int m = 0;
    while (!am_noise_hs_done(&a)) {
      am_noise_hs *w = am_noise_hs_writes_next(&a) ? &a : &b, *r = w == &a ? &b : &a;
      REQUIRE(am_noise_hs_write(w, pay[m % 3], 12, msg, sizeof msg, &n) == 0);
      REQUIRE(am_noise_hs_read(r, msg, n, back, sizeof back, &bn) == 0);
      CHECK(bn == 12 && memcmp(back, pay[m % 3], 12) == 0);
      m++;
    }
    CHECK(am_noise_hs_done(&b));
    am_noise_cipher as, ar, bs, br;
    uint8_t ha[64], hb[64];
    REQUIRE(am_noise_hs_split(&a, &as, &ar, ha) == 0 && am_noise_hs_split(&b, &bs, &br, hb) == 0);
    CHECK(memcmp(ha, hb, 64) == 0);
    CHECK(memcmp(as.k, br.k, 32) == 0 && memcmp(ar.k, bs.k, 32) == 0);

    /* a wrong psk on one side: refused at the first encrypted payload */
    uint8_t other[5][AM_NOISE_KEY];
    memcpy(other, psks, sizeof other);
    other[np - 1][0] ^= 1;
    cr.psks = (const uint8_t(*)[32])other;
    REQUIRE(am_noise_hs_init(&a, &ci) == 0 && am_noise_hs_init(&b, &cr) == 0);
    int rc = 0;
    while (rc == 0 && !am_noise_hs_done(&a)) {
      am_noise_hs *w = am_noise_hs_writes_next(&a) ? &a : &b, *r = w == &a ? &b : &a;
      REQUIRE(am_noise_hs_write(w, pay[0], 12, msg, sizeof msg, &n) == 0);
      rc = am_noise_hs_read(r, msg, n, back, sizeof back, &bn);
    }
    CHECK_INT(rc, AM_EINVAL);
    am_noise_hs_wipe(&a);
    am_noise_hs_wipe(&b);
  }
}

static void test_one_way_split(void) {
  am_noise_keypair sr;
  REQUIRE(am_noise_keypair_generate(&sr) == 0);
  am_noise_hs_config ci = {.protocol = "Noise_N_25519_ChaChaPoly_BLAKE2b", .initiator = true,
                           .rs = sr.pub};
  am_noise_hs_config cr = {.protocol = ci.protocol, .s = &sr};
  am_noise_hs a, b;
  REQUIRE(am_noise_hs_init(&a, &ci) == 0 && am_noise_hs_init(&b, &cr) == 0);
  CHECK(!am_noise_hs_writes_next(&b));
  uint8_t msg[128], back[128], h[64];
  size_t n, bn;
  REQUIRE(am_noise_hs_write(&a, pay[0], 12, msg, sizeof msg, &n) == 0);
  CHECK_INT(n, 32 + 12 + 16);
  REQUIRE(am_noise_hs_read(&b, msg, n, back, sizeof back, &bn) == 0);
  am_noise_cipher as, ar, bs, br;
  REQUIRE(am_noise_hs_split(&a, &as, &ar, h) == 0 && am_noise_hs_split(&b, &bs, &br, h) == 0);
  CHECK(as.has_key && br.has_key && !ar.has_key && !bs.has_key);
  CHECK_INT(am_noise_encrypt(&bs, NULL, 0, pay[0], 12, msg), AM_EUSAGE);
  REQUIRE(am_noise_encrypt(&as, NULL, 0, pay[0], 12, msg) == 0);
  CHECK_INT(am_noise_decrypt(&br, NULL, 0, msg, 28, back), 0);
}

/* Section 5.1: n = 2^64-1 is never used for a message. */
static void test_nonce_limit(void) {
  am_noise_cipher a = {.has_key = true}, b;
  randombytes_buf(a.k, sizeof a.k);
  a.n = UINT64_MAX - 1;
  b = a;
  uint8_t m[64], back[64];
  REQUIRE(am_noise_encrypt(&a, NULL, 0, pay[0], 12, m) == 0);
  CHECK(a.n == UINT64_MAX);
  CHECK_INT(am_noise_encrypt(&a, NULL, 0, pay[0], 12, m + 28), AM_EUSAGE);
  CHECK(a.n == UINT64_MAX);
  REQUIRE(am_noise_decrypt(&b, NULL, 0, m, 28, back) == 0);
  CHECK(b.n == UINT64_MAX && memcmp(back, pay[0], 12) == 0);
  CHECK_INT(am_noise_decrypt(&b, NULL, 0, m, 28, back), AM_EUSAGE);
  /* the nonce is 4 zero bytes || LE64(n) (section 12.3) */
  uint8_t nonce[12] = {0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ref[64];
  crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, pay[0], 12, NULL, 0, NULL, nonce, a.k);
  CHECK(memcmp(ref, m, 28) == 0);
  /* rekey still works at the limit (it uses that nonce itself) */
  CHECK_INT(am_noise_rekey(&a), 0);
}

/* Section 4.2: REKEY(k) = the first 32 bytes of ENCRYPT(k, 2^64-1, "",
 * zeros[32]); n is kept; both sides rekeyed interoperate, one alone not. */
static void test_rekey(void) {
  peer a, b;
  REQUIRE(xx_pair(&a, &b, false) == 0);
  uint8_t msg[256], back[256];
  size_t n, bn;
  for (int m = 0; m < 3; m++) {
    peer *w = m % 2 ? &b : &a, *r = m % 2 ? &a : &b;
    REQUIRE(am_noise_hs_write(&w->hs, NULL, 0, msg, sizeof msg, &n) == 0);
    REQUIRE(am_noise_hs_read(&r->hs, msg, n, back, sizeof back, &bn) == 0);
  }
  REQUIRE(am_noise_hs_split(&a.hs, &a.send, &a.recv, a.hash) == 0);
  REQUIRE(am_noise_hs_split(&b.hs, &b.send, &b.recv, b.hash) == 0);
  REQUIRE(am_noise_encrypt(&a.send, NULL, 0, pay[0], 12, msg) == 0);
  REQUIRE(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back) == 0);

  uint8_t old[32], expect[48], nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t zeros[32];
  memcpy(old, a.send.k, 32);
  crypto_aead_chacha20poly1305_ietf_encrypt(expect, NULL, zeros, 32, NULL, 0, NULL, nonce, old);
  CHECK_INT(am_noise_rekey(&a.send), 0);
  CHECK(memcmp(a.send.k, expect, 32) == 0 && memcmp(a.send.k, old, 32) != 0);
  CHECK_INT(a.send.n, 1);

  /* the peer has not rekeyed yet: refused, its n unchanged */
  REQUIRE(am_noise_encrypt(&a.send, NULL, 0, pay[1], 12, msg) == 0);
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back), AM_EINVAL);
  CHECK_INT(b.recv.n, 1);
  CHECK_INT(am_noise_rekey(&b.recv), 0);
  CHECK_INT(am_noise_decrypt(&b.recv, NULL, 0, msg, 28, back), 0);
  CHECK(memcmp(back, pay[1], 12) == 0);
  /* the other direction is untouched */
  REQUIRE(am_noise_encrypt(&b.send, NULL, 0, pay[2], 12, msg) == 0);
  CHECK_INT(am_noise_decrypt(&a.recv, NULL, 0, msg, 28, back), 0);
  am_noise_cipher none = {0};
  CHECK_INT(am_noise_rekey(&none), AM_EUSAGE);
  CHECK_INT(am_noise_rekey(NULL), AM_EUSAGE);
}

/* The same messages in place as with separate buffers. */
static void test_in_place(void) {
  make_transcript();
  peer a, b;
  REQUIRE(xx_pair(&a, &b, true) == 0);
  uint8_t buf[256];
  size_t n, bn;
  for (int m = 0; m < 3; m++) {
    peer *w = m % 2 ? &b : &a, *r = m % 2 ? &a : &b;
    /* the payload at the start of the output buffer, or in its middle */
    size_t at = m == 1 ? 50 : 0;
    memcpy(buf + at, pay[m], 12);
    REQUIRE(am_noise_hs_write(&w->hs, buf + at, 12, buf, sizeof buf, &n) == 0);
    CHECK(n == transcript_len[m] && memcmp(buf, transcript[m], n) == 0);
    /* read: payload over the message itself, or across its ciphertext */
    uint8_t *dst = m == 2 ? buf + 40 : buf;
    REQUIRE(am_noise_hs_read(&r->hs, buf, n, dst, n, &bn) == 0);
    CHECK(bn == 12 && memcmp(dst, pay[m], 12) == 0);
  }
  REQUIRE(am_noise_hs_split(&a.hs, &a.send, &a.recv, a.hash) == 0);
  REQUIRE(am_noise_hs_split(&b.hs, &b.send, &b.recv, b.hash) == 0);
  memcpy(buf, pay[0], 12);
  REQUIRE(am_noise_encrypt(&a.send, NULL, 0, buf, 12, buf) == 0);
  REQUIRE(am_noise_decrypt(&b.recv, NULL, 0, buf, 28, buf) == 0);
  CHECK(memcmp(buf, pay[0], 12) == 0);
}

/* A low-order point as the peer's ephemeral gives an all-zero DH output:
 * refused (AM_EINVAL), and the handshake is dead. */
static void test_zero_dh(void) {
  make_transcript();
  peer a, b;
  uint8_t msg[256], back[256];
  size_t n, bn;
  /* the responder receives e = 0 in message 1, and fails writing ee */
  REQUIRE(xx_pair(&a, &b, true) == 0);
  memcpy(msg, transcript[0], transcript_len[0]);
  memset(msg, 0, AM_NOISE_KEY);
  REQUIRE(am_noise_hs_read(&b.hs, msg, transcript_len[0], back, sizeof back, &bn) == 0);
  CHECK_INT(am_noise_hs_write(&b.hs, NULL, 0, msg, sizeof msg, &n), AM_EINVAL);
  CHECK(refuses(&b.hs));
  /* the initiator receives e = 0 in message 2, and fails reading ee */
  REQUIRE(xx_pair(&a, &b, true) == 0);
  REQUIRE(am_noise_hs_write(&a.hs, pay[0], 12, msg, sizeof msg, &n) == 0);
  memcpy(msg, transcript[1], transcript_len[1]);
  memset(msg, 0, AM_NOISE_KEY);
  CHECK_INT(am_noise_hs_read(&a.hs, msg, transcript_len[1], back, sizeof back, &bn), AM_EINVAL);
  CHECK(refuses(&a.hs));
}

int main(void) {
  const char *base = getenv("AMICALE_TEST_VECTORS");
  if (!base || !*base) {
    fprintf(stderr, "AMICALE_TEST_VECTORS is not set (ctest sets it)\n");
    return EXIT_FAILURE;
  }
  snprintf(vector_path, sizeof vector_path, "%s/%s", base, VECTOR_FILE);
  if (sodium_init() < 0) return EXIT_FAILURE;
  fixed_keys();
  RUN(test_cacophony_vectors);
  RUN(test_xx_random);
  RUN(test_tamper);
  RUN(test_truncated);
  RUN(test_wrong_state);
  RUN(test_init_errors);
  RUN(test_psk_combinations);
  RUN(test_one_way_split);
  RUN(test_nonce_limit);
  RUN(test_rekey);
  RUN(test_in_place);
  RUN(test_zero_dh);
  return TEST_SUMMARY();
}
