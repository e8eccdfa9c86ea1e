/* crypto/invite.c: derivation and proof against values computed
 * independently (Python's hashlib.blake2b from the spec in invite.h), the
 * proof check (right and wrong hash, wrong key, every tampered byte), and
 * invitation codes: round trip, and each refusal with its message. */
#include "crypto/invite.h"

#include <sodium.h>

#include "tests/test.h"

static void from_hex(const char *h, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

/* secret 00..0f, h 40..7f, node key 80..9f (see the header comment). */
#define VEC_ID "71b67dec5264d812"
#define VEC_MAC_KEY "0c47cdcaaf7df72ecb37ae48e1458eebade9e7db47cb4ff74d0cbde0a5060c17"
#define VEC_PROOF VEC_ID "834ada2894b0b5216dc9b9d7e28a3651bda1090703d23d8ca65554a864877775"
#define VEC_CODE \
  "amicale-invite:AQABAgMEBQYHCAkKCwwNDg-AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2enxzoc2Nob29sLmV4YW1wbGU"

/* The code as an array, for offsets into it (clang warns on "literal" + n). */
static const char vec_code[] = VEC_CODE;
static uint8_t secret[16], h[64], pk[32];

static void setup(void) {
  for (int i = 0; i < 16; i++) secret[i] = (uint8_t)i;
  for (int i = 0; i < 64; i++) h[i] = (uint8_t)(0x40 + i);
  for (int i = 0; i < 32; i++) pk[i] = (uint8_t)(0x80 + i);
}

static void test_vectors(void) {
  uint8_t id[8], mk[32], want_id[8], want_mk[32], proof[40], want_proof[40];
  from_hex(VEC_ID, want_id, 8);
  from_hex(VEC_MAC_KEY, want_mk, 32);
  from_hex(VEC_PROOF, want_proof, 40);
  am_invite_derive(secret, id, mk);
  CHECK(memcmp(id, want_id, 8) == 0);
  CHECK(memcmp(mk, want_mk, 32) == 0);
  am_invite_proof(secret, h, proof);
  CHECK(memcmp(proof, want_proof, 40) == 0);
  CHECK_INT(am_invite_proof_check(id, mk, h, proof), 0);
}

static void test_proof_refusals(void) {
  uint8_t id[8], mk[32], proof[40];
  am_invite_derive(secret, id, mk);
  am_invite_proof(secret, h, proof);
  /* Another handshake: the proof does not carry over. */
  uint8_t h2[64];
  memcpy(h2, h, 64);
  h2[63] ^= 1;
  CHECK_INT(am_invite_proof_check(id, mk, h2, proof), AM_EINVAL);
  /* Another secret's MAC key. */
  uint8_t s2[16], id2[8], mk2[32];
  memcpy(s2, secret, 16);
  s2[0] ^= 0x80;
  am_invite_derive(s2, id2, mk2);
  CHECK(memcmp(id, id2, 8) != 0);
  CHECK_INT(am_invite_proof_check(id, mk2, h, proof), AM_EINVAL);
  /* Every bit of every byte matters, the id's included. */
  for (int i = 0; i < 40; i++)
    for (int bit = 0; bit < 8; bit++) {
      uint8_t t[40];
      memcpy(t, proof, 40);
      t[i] ^= (uint8_t)(1u << bit);
      if (am_invite_proof_check(id, mk, h, t) != AM_EINVAL) {
        fprintf(stderr, "  tampered byte %d bit %d accepted\n", i, bit);
        CHECK(0);
      }
    }
  /* The secret's own proof against the wrong id. */
  CHECK_INT(am_invite_proof_check(id2, mk, h, proof), AM_EINVAL);
}

static void test_code_vector(void) {
  am_invite_code c = {0}, d;
  memcpy(c.secret, secret, 16);
  memcpy(c.node_key, pk, 32);
  am_error err = {0};
  REQUIRE(am_addr_parse("school.example:7400", &c.addr, &err) == 0);
  char text[AM_INVITE_CODE_MAX + 1];
  CHECK_INT(am_invite_code_encode(&c, text, &err), 0);
  CHECK_STR(text, VEC_CODE);
  CHECK_INT(am_invite_code_decode(text, &d, &err), 0);
  CHECK(memcmp(d.secret, secret, 16) == 0);
  CHECK(memcmp(d.node_key, pk, 32) == 0);
  CHECK_STR(d.addr.host, "school.example");
  CHECK_INT(d.addr.port, 7400);
  /* White space around, and inside (a wrapped line), is ignored; the prefix
   * in capitals is still the prefix. */
  char wrapped[600];
  snprintf(wrapped, sizeof wrapped, "\n  %.40s\r\n  %s \t\n", VEC_CODE, vec_code + 40);
  CHECK_INT(am_invite_code_decode(wrapped, &d, &err), 0);
  CHECK(memcmp(d.secret, secret, 16) == 0);
  snprintf(wrapped, sizeof wrapped, "AMICALE-INVITE:%s", vec_code + 15);
  CHECK_INT(am_invite_code_decode(wrapped, &d, &err), 0);
  am_invite_code_wipe(&d);
  uint8_t zero[sizeof d] = {0};
  CHECK(memcmp(&d, zero, sizeof d) == 0);
}

static void round_trip(const char *addr) {
  am_invite_code c = {0}, d;
  am_error err = {0};
  am_invite_secret_new(c.secret);
  memcpy(c.node_key, pk, 32);
  REQUIRE(am_addr_parse(addr, &c.addr, &err) == 0);
  char text[AM_INVITE_CODE_MAX + 1];
  REQUIRE(am_invite_code_encode(&c, text, &err) == 0);
  CHECK(strlen(text) <= AM_INVITE_CODE_MAX);
  CHECK_INT(am_invite_code_decode(text, &d, &err), 0);
  CHECK(memcmp(&c, &d, sizeof c) == 0);
}

static void test_code_round_trips(void) {
  round_trip("[2001:db8::1]:7400");
  round_trip("192.0.2.1:1");
  round_trip("a:65535");
  /* The longest host: the longest code. */
  char label[64], addr[300];
  memset(label, 'z', 63);
  label[63] = '\0';
  snprintf(addr, sizeof addr, "%s.%s.%s.%.61s:7400", label, label, label, label);
  round_trip(addr);
  am_invite_code c = {0};
  am_addr_parse(addr, &c.addr, NULL);
  char text[AM_INVITE_CODE_MAX + 1];
  CHECK_INT(am_invite_code_encode(&c, text, NULL), 0);
  CHECK_INT(strlen(text), AM_INVITE_CODE_MAX);
  /* A wildcard cannot go into a code. */
  CHECK_INT(am_addr_parse_listen("*:7400", &c.addr, NULL), 0);
  am_error err = {0};
  CHECK_INT(am_invite_code_encode(&c, text, &err), AM_EINVAL);
}

/* Encodes raw bytes as a code (what a damaged or hostile code may hold). */
static void code_of(const uint8_t *raw, size_t n, char *out, size_t outlen) {
  strcpy(out, AM_INVITE_CODE_PREFIX);
  sodium_bin2base64(out + 15, outlen - 15, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void expect_refused(const char *text, int code, const char *msg) {
  am_invite_code d;
  memset(&d, 0x55, sizeof d);
  am_error err = {0};
  int rc = am_invite_code_decode(text, &d, &err);
  CHECK_INT(rc, code);
  if (!strstr(err.msg, msg)) {
    fprintf(stderr, "  code \"%.60s\": message \"%s\" lacks \"%s\"\n", text, err.msg, msg);
    CHECK(0);
  }
  uint8_t zero[sizeof d] = {0};
  CHECK(memcmp(&d, zero, sizeof d) == 0); /* wiped */
}

#define DAMAGED "this invitation code is damaged or incomplete: check it was copied whole"

static void test_code_refusals(void) {
  char text[1200];
  uint8_t raw[400];
  expect_refused("", AM_EINVAL, "no invitation code given");
  expect_refused("  \n", AM_EINVAL, "no invitation code given");
  expect_refused(NULL, AM_EINVAL, "no invitation code given");
  expect_refused("amicale-invit", AM_EINVAL, "not an Amicale invitation code");
  expect_refused("hello world", AM_EINVAL, "not an Amicale invitation code");
  expect_refused(vec_code + 1, AM_EINVAL, "not an Amicale invitation code");
  expect_refused("9t1n7psW8iTYqrEBBwoNMG_4DY_-hL1xekRXD4D2mJM", AM_EINVAL, "this is a node key");
  /* Cut short: every length from nothing to one byte short. */
  for (size_t n = 15; n < strlen(VEC_CODE); n++) {
    snprintf(text, sizeof text, "%.*s", (int)n, VEC_CODE);
    am_invite_code d;
    am_error err = {0};
    int rc = am_invite_code_decode(text, &d, &err);
    /* A cut inside the host may leave a shorter, valid host: "school.ex". */
    if (rc == 0) {
      CHECK(n >= strlen(VEC_CODE) - 19);
      continue;
    }
    CHECK_INT(rc, AM_EINVAL);
    CHECK(strstr(err.msg, DAMAGED) != NULL);
  }
  /* Not base64url: '+' '/' '=' and other characters. */
  snprintf(text, sizeof text, "%s+", VEC_CODE);
  expect_refused(text, AM_EINVAL, DAMAGED);
  snprintf(text, sizeof text, "%.40s/%s", VEC_CODE, vec_code + 41);
  expect_refused(text, AM_EINVAL, DAMAGED);
  snprintf(text, sizeof text, "%s==", VEC_CODE);
  expect_refused(text, AM_EINVAL, DAMAGED);
  snprintf(text, sizeof text, "%.40sé%s", VEC_CODE, vec_code + 40);
  expect_refused(text, AM_EINVAL, DAMAGED);

  /* Well-formed base64 of wrong contents. */
  size_t n = 0;
  raw[n++] = 1;
  memcpy(raw + n, secret, 16), n += 16;
  memcpy(raw + n, pk, 32), n += 32;
  raw[n++] = 0x1c, raw[n++] = 0xe8; /* 7400 */
  memcpy(raw + n, "school.example", 14), n += 14;
  code_of(raw, n, text, sizeof text);
  CHECK_STR(text, VEC_CODE);
  raw[0] = 2;
  code_of(raw, n, text, sizeof text);
  expect_refused(text, AM_ENEWER, "made by a newer version of Amicale");
  raw[0] = 0xff;
  code_of(raw, 1, text, sizeof text);
  expect_refused(text, AM_ENEWER, "made by a newer version of Amicale");
  raw[0] = 0;
  code_of(raw, n, text, sizeof text);
  expect_refused(text, AM_EINVAL, DAMAGED);
  raw[0] = 1;
  /* No host at all. */
  code_of(raw, 51, text, sizeof text);
  expect_refused(text, AM_EINVAL, "too short");
  /* Port 0. */
  raw[49] = 0, raw[50] = 0;
  code_of(raw, n, text, sizeof text);
  expect_refused(text, AM_EINVAL, "port is 0");
  raw[49] = 0x1c, raw[50] = 0xe8;
  /* Hosts that are not hosts. */
  static const char *const hosts[] = {"*", "0.0.0.0", "::", "bad host", "école", "a..b", "[::1]",
                                      "school.example:7400", "1.2.3"};
  for (size_t i = 0; i < sizeof hosts / sizeof *hosts; i++) {
    size_t hl = strlen(hosts[i]);
    memcpy(raw + 51, hosts[i], hl);
    code_of(raw, 51 + hl, text, sizeof text);
    expect_refused(text, AM_EINVAL, DAMAGED " (its address is not valid");
  }
  raw[51] = 'a', raw[52] = '\0', raw[53] = 'b';
  code_of(raw, 54, text, sizeof text);
  expect_refused(text, AM_EINVAL, DAMAGED);
  /* Too long: 254 bytes of host, and far more. */
  memset(raw + 51, 'a', 300);
  for (int i = 51 + 60; i < 51 + 300; i += 60) raw[i] = '.';
  code_of(raw, 51 + 254, text, sizeof text);
  expect_refused(text, AM_EINVAL, DAMAGED);
  code_of(raw, 51 + 300, text, sizeof text);
  expect_refused(text, AM_EINVAL, DAMAGED);
  /* Megabytes of input are refused without being decoded. */
  size_t big = 1 << 20;
  char *huge = malloc(big + 1);
  REQUIRE(huge);
  memcpy(huge, AM_INVITE_CODE_PREFIX, 15);
  memset(huge + 15, 'A', big - 15);
  huge[big] = '\0';
  expect_refused(huge, AM_EINVAL, "far too long");
  free(huge);
}

static void test_secrets_differ(void) {
  uint8_t a[16], b[16];
  CHECK_INT(am_invite_secret_new(a), 0);
  CHECK_INT(am_invite_secret_new(b), 0);
  CHECK(memcmp(a, b, 16) != 0);
  am_wipe(a, sizeof a);
  uint8_t zero[16] = {0};
  CHECK(memcmp(a, zero, 16) == 0);
}

/* Login codes (PROTOCOL.md 16.1): the same bytes under another prefix and
 * context; neither kind of code nor proof passes for the other. */
static void test_login_codes(void) {
  am_error err = {0};
  am_invite_code c = {0}, back;
  for (int i = 0; i < 16; i++) c.secret[i] = (uint8_t)(i * 7);
  memset(c.node_key, 0x42, sizeof c.node_key);
  REQUIRE(am_addr_parse("school.example:7400", &c.addr, &err) == 0);
  char text[AM_INVITE_CODE_MAX + 1], inv[AM_INVITE_CODE_MAX + 1];
  CHECK_INT(am_login_code_encode(&c, text, &err), 0);
  CHECK(strncmp(text, "amicale-login:", 14) == 0);
  CHECK(strlen(text) <= AM_LOGIN_CODE_MAX);
  CHECK_INT(am_login_code_decode(text, &back, &err), 0);
  CHECK(memcmp(back.secret, c.secret, 16) == 0);
  CHECK(memcmp(back.node_key, c.node_key, 32) == 0);
  CHECK_STR(back.addr.host, "school.example");
  CHECK_INT(back.addr.port, 7400);
  CHECK_INT(am_invite_code_encode(&c, inv, &err), 0);
  CHECK(strcmp(text + 14, inv + 15) == 0); /* same payload */
  CHECK_INT(am_invite_code_decode(text, &back, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "login code") != NULL);
  CHECK_INT(am_login_code_decode(inv, &back, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "node invitation") != NULL);
  CHECK_INT(am_login_code_decode("", &back, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "no login code") != NULL);
  /* Different ids and MAC keys for one secret. */
  uint8_t id1[8], k1[32], id2[8], k2[32], hh[64] = {1}, p1[40], p2[40];
  am_invite_derive(c.secret, id1, k1);
  am_login_derive(c.secret, id2, k2);
  CHECK(memcmp(id1, id2, 8) != 0);
  CHECK(memcmp(k1, k2, 32) != 0);
  am_login_proof(c.secret, hh, p1);
  am_invite_proof(c.secret, hh, p2);
  CHECK_INT(am_invite_proof_check(id2, k2, hh, p1), 0);
  CHECK_INT(am_invite_proof_check(id1, k1, hh, p1), AM_EINVAL);
  CHECK_INT(am_invite_proof_check(id2, k2, hh, p2), AM_EINVAL);
}

int main(void) {
  if (am_crypto_init()) return 1;
  setup();
  RUN(test_vectors);
  RUN(test_proof_refusals);
  RUN(test_code_vector);
  RUN(test_code_round_trips);
  RUN(test_code_refusals);
  RUN(test_secrets_differ);
  RUN(test_login_codes);
  return TEST_SUMMARY();
}
