/* Unit tests for proto/session.c, the codecs of docs/PROTOCOL.md 14.2 and
 * 14.5: every session message round trips at its limits (200-byte name,
 * 64-byte software, 32 capabilities of 32 bytes, nil and text address, a
 * 65536-byte envelope, a 2^64-1 token) to the exact canonical bytes; the
 * decoder refuses (AM_EINVAL, with a sentence) non-canonical encodings,
 * trailing bytes, wrong element counts and types, texts over their limits,
 * duplicate capabilities, NUL in a text, kind > 3, an empty envelope and
 * length or nesting bombs (at once, without allocating what they declare);
 * unknown types decode with only their type; the goodbye names; and the
 * three handshake payloads, with version selection. Messages are built by
 * hand here, byte by byte, so that the encoder is not its own witness. */
#include "proto/session.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tests/test.h"

static am_error err;

/* The largest block asked of malloc, calloc or realloc while `watching`:
 * the proof that a bomb was refused without allocating what it declares
 * (a lazily mapped 96 GB block would otherwise go unnoticed). glibc's
 * entry points are wrapped here, in the plain build only: the sanitizers
 * bring their own allocator. */
#if defined(__SANITIZE_ADDRESS__)
#define WATCH_ALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WATCH_ALLOC 0
#endif
#endif
#if !defined(WATCH_ALLOC) && defined(__GLIBC__)
#define WATCH_ALLOC 1
#endif
#ifndef WATCH_ALLOC
#define WATCH_ALLOC 0
#endif
static bool watching;
static size_t biggest;
#if WATCH_ALLOC
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static void note(size_t n) {
  if (watching && n > biggest) biggest = n;
}
void *malloc(size_t n) {
  note(n);
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  note(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  note(n);
  return __libc_realloc(p, n);
}
#endif

/* ---- building msgpack by hand ------------------------------------------ */

/* Appends bytes written in hex, spaces allowed: "92 01 cc 05". */
static void hex(am_buf *b, const char *h) {
  while (*h) {
    if (*h == ' ') {
      h++;
      continue;
    }
    unsigned v;
    if (sscanf(h, "%2x", &v) != 1) abort();
    uint8_t c = (uint8_t)v;
    am_buf_append(b, &c, 1);
    h += 2;
  }
}

static void u8(am_buf *b, uint8_t c) { am_buf_append(b, &c, 1); }

static void be(am_buf *b, uint64_t v, unsigned n) {
  while (n--) u8(b, (uint8_t)(v >> (8 * n)));
}

/* The canonical forms of section 3.2 (and the 32-bit ones, which the
 * transport needs for a 65536-byte envelope). */
static void put_uint(am_buf *b, uint64_t v) {
  if (v <= 0x7f) u8(b, (uint8_t)v);
  else if (v <= 0xff) u8(b, 0xcc), be(b, v, 1);
  else if (v <= 0xffff) u8(b, 0xcd), be(b, v, 2);
  else if (v <= 0xffffffff) u8(b, 0xce), be(b, v, 4);
  else u8(b, 0xcf), be(b, v, 8);
}

static void put_str(am_buf *b, const void *s, size_t n) {
  if (n <= 31) u8(b, (uint8_t)(0xa0 | n));
  else if (n <= 0xff) u8(b, 0xd9), be(b, n, 1);
  else if (n <= 0xffff) u8(b, 0xda), be(b, n, 2);
  else u8(b, 0xdb), be(b, n, 4);
  am_buf_append(b, s, n);
}

static void put_cstr(am_buf *b, const char *s) { put_str(b, s, strlen(s)); }

static void put_bin(am_buf *b, const void *p, size_t n) {
  if (n <= 0xff) u8(b, 0xc4), be(b, n, 1);
  else if (n <= 0xffff) u8(b, 0xc5), be(b, n, 2);
  else u8(b, 0xc6), be(b, n, 4);
  am_buf_append(b, p, n);
}

static void put_arr(am_buf *b, uint32_t n) {
  if (n <= 15) u8(b, (uint8_t)(0x90 | n));
  else if (n <= 0xffff) u8(b, 0xdc), be(b, n, 2);
  else u8(b, 0xdd), be(b, n, 4);
}

/* n copies of c, NUL-terminated (a ring of four: several can be alive). */
static const char *rep(char c, size_t n) {
  static char bufs[4][300];
  static int next;
  char *s = bufs[next++ % 4];
  memset(s, c, n);
  s[n] = 0;
  return s;
}

/* ---- decoding helpers -------------------------------------------------- */

/* Decodes b; a refusal must be AM_EINVAL with a sentence. */
static int decode(const am_buf *b, am_msg *m) {
  memset(&err, 0, sizeof err);
  int rc = am_msg_decode((const uint8_t *)b->data, b->len, m, &err);
  if (rc) {
    CHECK_INT(err.code, rc);
    CHECK(err.msg[0] != 0);
  }
  return rc;
}

static int decode_hex(const char *h) {
  am_buf b = {0};
  hex(&b, h);
  am_msg m;
  int rc = decode(&b, &m);
  am_buf_free(&b);
  return rc;
}

#define REFUSED(h) CHECK_INT(decode_hex(h), AM_EINVAL)

/* Encodes m; the bytes must decode to m and encode again to themselves. */
static void encode_and_back(const am_msg *m, am_buf *out, am_msg *back) {
  memset(&err, 0, sizeof err);
  CHECK_INT(am_msg_encode(m, out, &err), 0);
  CHECK_INT(decode(out, back), 0);
  am_buf again = {0};
  CHECK_INT(am_msg_encode(back, &again, &err), 0);
  CHECK(again.len == out->len && memcmp(again.data, out->data, out->len) == 0);
  am_buf_free(&again);
}

/* A hello as its seven elements, each encoded on its own, so a test can
 * replace one (or change the count) and see the decoder's verdict. */
typedef struct parts {
  am_buf el[9];
  uint32_t n;
} parts;

static void hello_parts(parts *h) {
  memset(h, 0, sizeof *h);
  h->n = 7;
  put_uint(&h->el[0], 0);
  put_cstr(&h->el[1], "\xc3\x89" "cole A");
  put_uint(&h->el[2], 0);
  put_cstr(&h->el[3], "amicale/0.1.0");
  put_arr(&h->el[4], 1);
  put_cstr(&h->el[4], "announce");
  put_uint(&h->el[5], 1767225600);
  put_cstr(&h->el[6], "a.example:7400");
}

static void part_hex(parts *h, unsigned i, const char *x) {
  h->el[i].len = 0;
  hex(&h->el[i], x);
}

static void part_str(parts *h, unsigned i, const void *s, size_t n) {
  h->el[i].len = 0;
  put_str(&h->el[i], s, n);
}

/* Decodes the hello made of h's parts, and frees them. */
static int hello_decode(parts *h, am_msg *m) {
  am_buf b = {0};
  put_arr(&b, h->n);
  for (uint32_t i = 0; i < h->n; i++) am_buf_append(&b, h->el[i].data, h->el[i].len);
  for (unsigned i = 0; i < 9; i++) am_buf_free(&h->el[i]);
  int rc = decode(&b, m);
  am_buf_free(&b);
  return rc;
}

/* ---- session messages: round trips ------------------------------------- */

static void test_hello_round_trip_limits(void) {
  am_msg m = {.type = AM_MSG_HELLO}, back;
  am_hello *h = &m.hello;
  strcpy(h->name, rep('n', AM_HELLO_NAME_MAX));
  h->kind = 3;
  strcpy(h->software, rep('s', AM_HELLO_SOFTWARE_MAX));
  for (int i = 0; i < AM_HELLO_CAPS_MAX; i++) {
    memset(h->caps[i], 'c', AM_HELLO_CAP_LEN);
    snprintf(h->caps[i], 3, "%02d", i);
    h->caps[i][2] = 'c';
  }
  h->ncaps = AM_HELLO_CAPS_MAX;
  h->time = UINT64_MAX;
  strcpy(h->address, "[2001:db8::1]:7400");
  am_buf out = {0};
  encode_and_back(&m, &out, &back);

  /* The same bytes, written by hand. */
  am_buf want = {0};
  put_arr(&want, 7);
  put_uint(&want, 0);
  put_cstr(&want, h->name);
  put_uint(&want, 3);
  put_cstr(&want, h->software);
  put_arr(&want, AM_HELLO_CAPS_MAX);
  for (int i = 0; i < AM_HELLO_CAPS_MAX; i++) put_cstr(&want, h->caps[i]);
  put_uint(&want, UINT64_MAX);
  put_cstr(&want, "[2001:db8::1]:7400");
  CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
  CHECK(memcmp(out.data, "\x97\x00\xd9\xc8", 4) == 0); /* str8 for the 200-byte name */
  am_buf_free(&want);

  CHECK_INT(back.type, AM_MSG_HELLO);
  CHECK_STR(back.hello.name, h->name);
  CHECK_INT(strlen(back.hello.name), AM_HELLO_NAME_MAX);
  CHECK_INT(back.hello.kind, 3);
  CHECK_STR(back.hello.software, h->software);
  CHECK_INT(back.hello.ncaps, AM_HELLO_CAPS_MAX);
  for (int i = 0; i < AM_HELLO_CAPS_MAX; i++) CHECK_STR(back.hello.caps[i], h->caps[i]);
  CHECK(back.hello.time == UINT64_MAX);
  CHECK_STR(back.hello.address, "[2001:db8::1]:7400");
  CHECK(am_hello_has_cap(&back.hello, h->caps[31]));
  CHECK(!am_hello_has_cap(&back.hello, "announce"));
  am_buf_free(&out);

  /* The longest address the struct holds. */
  memset(h->address, '1', AM_HELLO_ADDRESS_MAX);
  h->address[AM_HELLO_ADDRESS_MAX] = 0;
  encode_and_back(&m, &out, &back);
  CHECK_STR(back.hello.address, h->address);
  am_buf_free(&out);
}

static void test_hello_round_trip_minimal(void) {
  /* The hello of section 14.10, second line: no address (nil). */
  am_msg m = {.type = AM_MSG_HELLO}, back;
  strcpy(m.hello.name, "\xc3\x89" "cole B");
  strcpy(m.hello.software, "amicale/0.1.0");
  strcpy(m.hello.caps[0], "announce");
  m.hello.ncaps = 1;
  m.hello.time = 1767225600;
  am_buf out = {0};
  encode_and_back(&m, &out, &back);
  am_buf want = {0};
  hex(&want, "97 00 a8 c3 89 63 6f 6c 65 20 42 00 ad");
  am_buf_append(&want, "amicale/0.1.0", 13);
  hex(&want, "91 a8");
  am_buf_append(&want, "announce", 8);
  hex(&want, "ce 69 55 b9 00 c0");
  CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
  CHECK_STR(back.hello.address, "");
  CHECK(am_hello_has_cap(&back.hello, "announce"));
  am_buf_free(&want);
  am_buf_free(&out);

  /* No capabilities at all, one-byte texts, time 0. */
  memset(&m, 0, sizeof m);
  strcpy(m.hello.name, "x");
  strcpy(m.hello.software, "y");
  m.hello.kind = 1;
  encode_and_back(&m, &out, &back);
  CHECK_INT(out.len, 10);
  CHECK(memcmp(out.data, "\x97\x00\xa1x\x01\xa1y\x90\x00\xc0", 10) == 0);
  CHECK_INT(back.hello.ncaps, 0);
  CHECK_INT(back.hello.kind, 1);
  am_buf_free(&out);
}

static void test_ping_pong_round_trip(void) {
  static const struct {
    uint64_t token;
    const char *bytes;
  } cases[] = {
      {0, "00"},
      {127, "7f"},
      {128, "cc 80"},
      {255, "cc ff"},
      {256, "cd 01 00"},
      {65535, "cd ff ff"},
      {65536, "ce 00 01 00 00"},
      {UINT32_MAX, "ce ff ff ff ff"},
      {UINT64_C(1) << 32, "cf 00 00 00 01 00 00 00 00"},
      {UINT64_MAX, "cf ff ff ff ff ff ff ff ff"},
  };
  for (int type = AM_MSG_PING; type <= AM_MSG_PONG; type++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      am_msg m = {.type = (uint64_t)type, .token = cases[i].token}, back;
      am_buf out = {0}, want = {0};
      encode_and_back(&m, &out, &back);
      hex(&want, type == AM_MSG_PING ? "92 01" : "92 02");
      hex(&want, cases[i].bytes);
      CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
      CHECK_INT(back.type, type);
      CHECK(back.token == cases[i].token);
      am_buf_free(&out);
      am_buf_free(&want);
    }
}

static void test_goodbye_error_round_trip(void) {
  for (int type = AM_MSG_GOODBYE; type <= AM_MSG_ERROR; type++)
    for (uint64_t code = 0; code <= AM_BYE__COUNT; code++) {
      for (size_t tl = 0; tl <= AM_MSG_TEXT_MAX; tl += AM_MSG_TEXT_MAX / 4) {
        am_msg m = {.type = (uint64_t)type, .code = code}, back;
        strcpy(m.text, rep('t', tl));
        am_buf out = {0}, want = {0};
        encode_and_back(&m, &out, &back);
        put_arr(&want, 3);
        put_uint(&want, (uint64_t)type);
        put_uint(&want, code);
        put_str(&want, m.text, tl);
        CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
        CHECK_INT(back.type, type);
        CHECK(back.code == code);
        CHECK_STR(back.text, m.text);
        am_buf_free(&out);
        am_buf_free(&want);
      }
    }
  /* Unknown reasons and codes are allowed (logged by number). */
  am_msg m = {.type = AM_MSG_GOODBYE, .code = UINT64_MAX}, back;
  strcpy(m.text, "stopping");
  am_buf out = {0};
  encode_and_back(&m, &out, &back);
  CHECK(back.code == UINT64_MAX);
  am_buf_free(&out);
  /* The goodbye of section 14.10. */
  CHECK_INT(decode_hex("93 03 00 a8 73 74 6f 70 70 69 6e 67"), 0);
}

static void test_announce_round_trip(void) {
  size_t sizes[] = {1, 255, 256, 65535, 65536};
  uint8_t *env = malloc(65536);
  REQUIRE(env != NULL);
  for (size_t i = 0; i < 65536; i++) env[i] = (uint8_t)(i * 7 + 3);
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    am_msg m = {.type = AM_MSG_ANNOUNCE, .envelope = env, .envelope_len = sizes[k]}, back;
    am_buf out = {0}, want = {0};
    encode_and_back(&m, &out, &back);
    hex(&want, "92 05");
    put_bin(&want, env, sizes[k]);
    CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
    CHECK_INT(back.type, AM_MSG_ANNOUNCE);
    CHECK(back.envelope_len == sizes[k]);
    /* The envelope points into the decoded bytes, at its place. */
    CHECK(back.envelope == (const uint8_t *)out.data + out.len - sizes[k]);
    CHECK(memcmp(back.envelope, env, sizes[k]) == 0);
    am_buf_free(&out);
    am_buf_free(&want);
  }
  free(env);
}

static void test_replication_messages(void) {
  uint8_t ids[AM_OFFER_MAX * 16];
  for (size_t i = 0; i < sizeof ids; i++) ids[i] = (uint8_t)(i * 13 + 1);
  size_t counts[] = {1, 2, AM_WANT_MAX, AM_OFFER_MAX};
  for (int type = AM_MSG_OFFER; type <= AM_MSG_WANT; type++)
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
      am_msg m = {.type = (uint64_t)type, .data = ids, .nids = counts[k]}, back;
      am_buf out = {0};
      size_t max = type == AM_MSG_OFFER ? AM_OFFER_MAX : AM_WANT_MAX;
      if (counts[k] > max) {
        CHECK_INT(am_msg_encode(&m, &out, &err), AM_EINVAL);
        am_buf_free(&out);
        continue;
      }
      encode_and_back(&m, &out, &back);
      CHECK_INT(back.type, type);
      CHECK(back.nids == counts[k]);
      CHECK(back.data == (const uint8_t *)out.data + out.len - counts[k] * 16);
      CHECK(memcmp(back.data, ids, counts[k] * 16) == 0);
      am_buf_free(&out);
    }
  am_msg s = {.type = AM_MSG_SENT, .missing = 3}, back;
  am_buf out = {0};
  encode_and_back(&s, &out, &back);
  CHECK(back.missing == 3);
  am_buf_free(&out);
  am_msg y = {.type = AM_MSG_SYNC, .flags = AM_SYNC_START | AM_SYNC_MORE, .data = ids, .data_len = 100};
  encode_and_back(&y, &out, &back);
  CHECK(back.flags == (AM_SYNC_START | AM_SYNC_MORE));
  CHECK(back.data_len == 100 && memcmp(back.data, ids, 100) == 0);
  am_buf_free(&out);
  am_msg e = {.type = AM_MSG_SYNC}; /* an empty round */
  encode_and_back(&e, &out, &back);
  CHECK(back.data_len == 0 && back.flags == 0);
  CHECK_INT(decode_hex("93 09 00 c4 00"), 0);
  am_buf_free(&out);
  /* Refused: empty or ragged id lists, too many ids, unknown flags. */
  REFUSED("92 06 c4 00");
  REFUSED("92 07 c4 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
  REFUSED("92 08 cd 10 01");
  REFUSED("93 09 08 c4 00");
  REFUSED("92 09 00");
  REFUSED("93 09 00 a0");
  am_msg big = {.type = AM_MSG_WANT, .data = ids, .nids = AM_WANT_MAX + 1};
  CHECK_INT(am_msg_encode(&big, &out, &err), AM_EINVAL);
  am_buf_free(&out);
}

static void test_unknown_types(void) {
  am_msg m;
  am_buf b = {0};
  hex(&b, "92 0c 00");
  CHECK_INT(decode(&b, &m), 0);
  CHECK_INT(m.type, 12);
  CHECK(am_msg_type_name(m.type) == NULL);
  b.len = 0;
  hex(&b, "91 cc c8");
  CHECK_INT(decode(&b, &m), 0);
  CHECK_INT(m.type, 200);
  b.len = 0;
  hex(&b, "94 cf ff ff ff ff ff ff ff ff a3 61 62 63 c4 01 00 91 01");
  CHECK_INT(decode(&b, &m), 0);
  CHECK(m.type == UINT64_MAX);
  am_buf_free(&b);
  /* Still one msgpack value: trailing bytes, bombs and floats refused. */
  REFUSED("92 0a 00 00");
  REFUSED("92 0a dd ff ff ff ff");
  REFUSED("92 0a cb 00 00 00 00 00 00 00 00");
  /* The encoder does not write what it does not know. */
  am_msg u = {.type = 12};
  am_buf out = {0};
  CHECK_INT(am_msg_encode(&u, &out, &err), AM_EUSAGE);
  CHECK_INT(out.len, 0);
  am_buf_free(&out);
}

/* Requests and responses of a member's client (section 16): id, method
 * or status, and a JSON text of any length up to the limit, as str. */
static void test_request_response(void) {
  am_msg m, back;
  am_buf out = {0}, b = {0};
  const char *params = "{\"limit\":5}";
  m = (am_msg){.type = AM_MSG_REQUEST, .token = 7, .data = (const uint8_t *)params,
               .data_len = strlen(params)};
  strcpy(m.text, "me.show");
  encode_and_back(&m, &out, &back);
  hex(&b, "94 0a 07 a7 6d 65 2e 73 68 6f 77 ab 7b 22 6c 69 6d 69 74 22 3a 35 7d");
  CHECK_INT(out.len, b.len);
  CHECK(memcmp(out.data, b.data, b.len) == 0);
  CHECK_INT(back.token, 7);
  CHECK_STR(back.text, "me.show");
  CHECK_INT(back.data_len, strlen(params));
  CHECK(memcmp(back.data, params, back.data_len) == 0);
  am_buf_free(&out), am_buf_free(&b);
  /* A response: status, an empty text, the largest id. */
  m = (am_msg){.type = AM_MSG_RESPONSE, .token = UINT64_MAX, .code = AM_ST_RATE_LIMITED};
  encode_and_back(&m, &out, &back);
  hex(&b, "94 0b cf ff ff ff ff ff ff ff ff 03 a0");
  CHECK_INT(out.len, b.len);
  CHECK(memcmp(out.data, b.data, b.len) == 0);
  CHECK_INT(back.code, AM_ST_RATE_LIMITED);
  CHECK_INT(back.data_len, 0);
  am_buf_free(&out), am_buf_free(&b);
  /* The longest JSON text fits a 1 MiB message; one byte more is refused. */
  uint8_t *big = malloc(AM_JSON_TEXT_MAX + 1);
  memset(big, ' ', AM_JSON_TEXT_MAX + 1);
  m = (am_msg){.type = AM_MSG_REQUEST, .token = UINT64_MAX, .data = big,
               .data_len = AM_JSON_TEXT_MAX};
  memset(m.text, 'm', AM_METHOD_MAX);
  encode_and_back(&m, &out, &back);
  CHECK(out.len <= AM_MSG_MAX);
  CHECK_INT(back.data_len, AM_JSON_TEXT_MAX);
  am_buf_free(&out);
  m.data_len++;
  CHECK_INT(am_msg_encode(&m, &out, &err), AM_EINVAL);
  am_buf_free(&out);
  m.data_len--;
  m.text[AM_METHOD_MAX] = 'm'; /* a 65-byte method */
  CHECK_INT(am_msg_encode(&m, &out, &err), AM_EINVAL);
  am_buf_free(&out);
  free(big);
  /* Refused: wrong counts, an empty or non-text method, a status that is
   * not an unsigned integer, a bin instead of str, NUL or bad UTF-8 in the
   * JSON text, a non-canonical str8 for a short text. */
  REFUSED("93 0a 01 a1 6d");
  REFUSED("95 0a 01 a1 6d a0 a0");
  REFUSED("94 0a 01 a0 a0");
  REFUSED("94 0a 01 01 a0");
  REFUSED("94 0b 01 a1 6d a0");
  REFUSED("94 0b 01 ff a0");
  REFUSED("94 0b 01 00 c4 00");
  REFUSED("94 0b 01 00 c0");
  REFUSED("94 0b 01 00 a1 00");
  REFUSED("94 0b 01 00 a1 ff");
  REFUSED("94 0b 01 00 d9 01 7b");
  REFUSED("94 0a c0 a1 6d a0");
  CHECK_STR(am_status_name(AM_ST_OK), "ok");
  CHECK_STR(am_status_name(AM_ST_UNKNOWN_METHOD), "unknown-method");
  CHECK(am_status_name(AM_ST__COUNT) == NULL);
}

static void test_names(void) {
  static const char *const names[] = {"shutdown",  "duplicate",    "idle-timeout",
                                      "protocol-error", "unknown-peer", "blocked",
                                      "too-slow",  "invitation-refused", "removed",
                                      "overloaded", "self", "revoked"};
  CHECK_INT(sizeof names / sizeof *names, AM_BYE__COUNT);
  for (uint64_t r = 0; r < AM_BYE__COUNT; r++) CHECK_STR(am_bye_name(r), names[r]);
  CHECK_STR(am_bye_name(AM_BYE_PROTOCOL), "protocol-error");
  CHECK_STR(am_bye_name(AM_BYE_SELF), "self");
  CHECK(am_bye_name(AM_BYE__COUNT) == NULL);
  CHECK(am_bye_name(UINT64_MAX) == NULL);
  static const char *const types[] = {"hello", "ping",  "pong", "goodbye", "error",
                                      "announce", "offer", "want", "sent",    "sync",
                                      "request", "response"};
  CHECK_INT(sizeof types / sizeof *types, AM_MSG__KNOWN);
  for (uint64_t t = 0; t < AM_MSG__KNOWN; t++) CHECK_STR(am_msg_type_name(t), types[t]);
  CHECK(am_msg_type_name(AM_MSG__KNOWN) == NULL);
}

/* ---- session messages: refusals ---------------------------------------- */

static void test_hand_built_baseline(void) {
  /* The parts as built are a valid hello: each refusal below changes one
   * thing. */
  parts h;
  am_msg m;
  hello_parts(&h);
  CHECK_INT(hello_decode(&h, &m), 0);
  CHECK_STR(m.hello.name, "\xc3\x89" "cole A");
  CHECK_STR(m.hello.address, "a.example:7400");
  CHECK_INT(decode_hex("92 01 05"), 0);
  CHECK_INT(decode_hex("93 04 01 a0"), 0);
  CHECK_INT(decode_hex("92 05 c4 01 00"), 0);
}

static void test_noncanonical(void) {
  /* Integers not in their shortest form, and the signed formats. */
  REFUSED("92 01 cc 05");
  REFUSED("92 01 cd 00 05");
  REFUSED("92 01 ce 00 00 00 05");
  REFUSED("92 01 cf 00 00 00 00 00 00 00 05");
  REFUSED("92 01 cd 00 ff");
  REFUSED("92 01 d0 05");
  REFUSED("92 01 d3 00 00 00 00 00 00 00 05");
  REFUSED("92 cc 01 05");
  REFUSED("93 03 cc 00 a0");
  /* Texts: str8 / str16 for short ones. */
  REFUSED("93 03 00 d9 02 68 69");
  REFUSED("93 03 00 da 00 02 68 69");
  REFUSED("93 03 00 d9 00");
  /* Arrays: array16 for a small one; bin16 for a short envelope. */
  REFUSED("dc 00 02 01 05");
  REFUSED("92 05 c5 00 01 00");
  /* A map instead of the array. */
  REFUSED("82 00 01 01 05");
  REFUSED("81 01 05");
  REFUSED("80");

  parts h;
  am_msg m;
  hello_parts(&h);
  part_hex(&h, 2, "cc 00"); /* kind */
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  hello_parts(&h);
  part_hex(&h, 5, "cf 00 00 00 00 69 55 b9 00"); /* time */
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  hello_parts(&h);
  part_hex(&h, 4, "dc 00 01 a8 61 6e 6e 6f 75 6e 63 65"); /* caps as array16 */
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  hello_parts(&h);
  part_hex(&h, 3, "d9 01 78"); /* software as str8 */
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  /* An empty address is not how nil is written. */
  hello_parts(&h);
  part_hex(&h, 6, "a0");
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
}

static void test_trailing_and_not_one_value(void) {
  REFUSED("92 01 05 00");
  REFUSED("92 01 05 92 01 05");
  REFUSED("92 01 05 c0");
  REFUSED("");
  REFUSED("92 01");    /* truncated */
  REFUSED("93 03 00"); /* truncated */
  REFUSED("93 03 00 a5 68 69");
  REFUSED("c1");
  REFUSED("92 01 c1");
  /* Not an array starting with an unsigned type. */
  REFUSED("00");
  REFUSED("c0");
  REFUSED("a5 68 65 6c 6c 6f");
  REFUSED("90");
  REFUSED("92 ff 05");  /* negative fixint type */
  REFUSED("92 c0 05");
  REFUSED("92 a1 31 05");
  REFUSED("92 c2 05");
  REFUSED("92 91 01 05");
  REFUSED("92 cb 3f f0 00 00 00 00 00 00 05");
  REFUSED("92 d4 01 00 05");
}

static void test_wrong_counts(void) {
  REFUSED("91 01");
  REFUSED("93 01 05 05");
  REFUSED("91 02");
  REFUSED("93 02 05 05");
  REFUSED("92 03 00");
  REFUSED("94 03 00 a0 a0");
  REFUSED("92 04 00");
  REFUSED("94 04 00 a0 00");
  REFUSED("91 05");
  REFUSED("93 05 c4 01 00 c0");
  REFUSED("91 00");
  for (uint32_t n = 1; n <= 9; n++) {
    if (n == 7) continue;
    parts h;
    am_msg m;
    hello_parts(&h);
    h.n = n;
    if (n > 7) part_hex(&h, 7, "c0"), part_hex(&h, 8, "c0");
    CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  }
}

static void test_wrong_types(void) {
  REFUSED("92 01 a1 31");  /* token as text */
  REFUSED("92 01 c0");
  REFUSED("92 01 ff");     /* negative */
  REFUSED("92 02 c3");
  REFUSED("92 02 cb 00 00 00 00 00 00 00 00");
  REFUSED("93 03 a1 30 a0"); /* reason as text */
  REFUSED("93 03 00 c0");    /* text nil */
  REFUSED("93 03 00 c4 02 68 69"); /* text as bin */
  REFUSED("93 04 ff a0");
  REFUSED("93 04 00 90");
  REFUSED("92 05 a1 00");    /* envelope as text */
  REFUSED("92 05 c0");
  REFUSED("92 05 91 c4 01 00");

  static const struct {
    unsigned i;
    const char *bytes;
  } cases[] = {
      {1, "c0"}, {1, "c4 01 78"}, {1, "01"}, {1, "91 a1 78"},  /* name */
      {2, "a1 30"}, {2, "c0"}, {2, "ff"}, {2, "c2"},           /* kind */
      {3, "c0"}, {3, "c4 01 78"}, {3, "00"},                   /* software */
      {4, "c0"}, {4, "a8 61 6e 6e 6f 75 6e 63 65"}, {4, "91 00"}, {4, "91 c0"},
      {4, "91 c4 01 78"}, {4, "91 91 a1 78"}, {4, "81 a1 78 a1 78"}, /* caps */
      {5, "c0"}, {5, "ff"}, {5, "d3 ff ff ff ff ff ff ff ff"}, {5, "a1 31"}, /* time */
      {5, "cb 41 da 55 6e 40 00 00 00"},
      {6, "c4 01 78"}, {6, "00"}, {6, "c2"}, {6, "91 a1 78"}, /* address */
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    parts h;
    am_msg m;
    hello_parts(&h);
    part_hex(&h, cases[k].i, cases[k].bytes);
    int rc = hello_decode(&h, &m);
    if (rc != AM_EINVAL)
      fprintf(stderr, "hello with element %u = %s: %d\n", cases[k].i, cases[k].bytes, rc);
    CHECK_INT(rc, AM_EINVAL);
  }
}

static void test_limits(void) {
  parts h;
  am_msg m;
  struct {
    unsigned i;
    size_t ok, over;
  } texts[] = {{1, AM_HELLO_NAME_MAX, AM_HELLO_NAME_MAX + 1},
               {3, AM_HELLO_SOFTWARE_MAX, AM_HELLO_SOFTWARE_MAX + 1},
               {6, AM_HELLO_ADDRESS_MAX, AM_HELLO_ADDRESS_MAX + 1}};
  for (size_t k = 0; k < 3; k++) {
    hello_parts(&h);
    part_str(&h, texts[k].i, rep('x', texts[k].ok), texts[k].ok);
    CHECK_INT(hello_decode(&h, &m), 0);
    hello_parts(&h);
    part_str(&h, texts[k].i, rep('x', texts[k].over), texts[k].over);
    CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
    if (texts[k].i != 6) { /* empty name, software */
      hello_parts(&h);
      part_str(&h, texts[k].i, "", 0);
      CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
    }
  }
  /* Capabilities: 32 of 32 bytes pass; a 33rd, or a 33-byte one, or an
   * empty one, do not. */
  for (int variant = 0; variant < 4; variant++) {
    hello_parts(&h);
    h.el[4].len = 0;
    uint32_t n = variant == 1 ? AM_HELLO_CAPS_MAX + 1 : AM_HELLO_CAPS_MAX;
    put_arr(&h.el[4], n);
    for (uint32_t i = 0; i < n; i++) {
      char cap[40];
      memset(cap, 'c', sizeof cap);
      snprintf(cap, sizeof cap, "%02u", i);
      cap[2] = 'c';
      size_t len = AM_HELLO_CAP_LEN;
      if (variant == 2 && i == 5) len = AM_HELLO_CAP_LEN + 1;
      if (variant == 3 && i == n - 1) len = 0;
      put_str(&h.el[4], cap, len);
    }
    CHECK_INT(hello_decode(&h, &m), variant == 0 ? 0 : AM_EINVAL);
    if (variant == 0) CHECK_INT(m.hello.ncaps, AM_HELLO_CAPS_MAX);
  }
  /* Goodbye and error texts: 200 bytes, not 201. */
  for (uint64_t type = AM_MSG_GOODBYE; type <= AM_MSG_ERROR; type++)
    for (size_t n = AM_MSG_TEXT_MAX; n <= AM_MSG_TEXT_MAX + 1; n++) {
      am_buf b = {0};
      put_arr(&b, 3);
      put_uint(&b, type);
      put_uint(&b, 0);
      put_str(&b, rep('t', n), n);
      CHECK_INT(decode(&b, &m), n == AM_MSG_TEXT_MAX ? 0 : AM_EINVAL);
      am_buf_free(&b);
    }
  /* Envelopes: not empty, at most 65536 bytes. */
  REFUSED("92 05 c4 00");
  uint8_t *env = calloc(1, 65537);
  REQUIRE(env != NULL);
  am_buf b = {0};
  hex(&b, "92 05");
  put_bin(&b, env, 65537);
  CHECK_INT(decode(&b, &m), AM_EINVAL);
  am_buf_free(&b);
  /* kind 0..3 */
  for (uint64_t kind = 0; kind <= 256; kind += kind < 5 ? 1 : 251) {
    hello_parts(&h);
    h.el[2].len = 0;
    put_uint(&h.el[2], kind);
    CHECK_INT(hello_decode(&h, &m), kind <= 3 ? 0 : AM_EINVAL);
  }

  /* The encoder keeps the same limits. */
  am_msg e = {.type = AM_MSG_HELLO};
  strcpy(e.hello.name, "n");
  strcpy(e.hello.software, "s");
  am_buf out = {0};
  CHECK_INT(am_msg_encode(&e, &out, &err), 0);
  e.hello.kind = 4;
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  e.hello.kind = 0;
  e.hello.name[0] = 0;
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  strcpy(e.hello.name, "n");
  e.hello.software[0] = 0;
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  strcpy(e.hello.software, "s");
  e.hello.ncaps = AM_HELLO_CAPS_MAX + 1;
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  e.hello.ncaps = 2;
  strcpy(e.hello.caps[0], "announce");
  strcpy(e.hello.caps[1], "announce");
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  e.hello.caps[1][0] = 0;
  CHECK_INT(am_msg_encode(&e, &out, &err), AM_EINVAL);
  am_msg a = {.type = AM_MSG_ANNOUNCE, .envelope = env, .envelope_len = 0};
  CHECK_INT(am_msg_encode(&a, &out, &err), AM_EINVAL);
  a.envelope_len = 65537;
  CHECK_INT(am_msg_encode(&a, &out, &err), AM_EINVAL);
  a.envelope = NULL;
  a.envelope_len = 1;
  CHECK_INT(am_msg_encode(&a, &out, &err), AM_EINVAL);
  free(env);
  CHECK_INT(out.len, 10); /* only the first, valid, hello was written */
  am_buf_free(&out);
}

static void test_duplicates_and_nul(void) {
  parts h;
  am_msg m;
  hello_parts(&h);
  part_hex(&h, 4, "92 a8 61 6e 6e 6f 75 6e 63 65 a8 61 6e 6e 6f 75 6e 63 65");
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  CHECK(strstr(err.msg, "twice") != NULL);
  hello_parts(&h);
  part_hex(&h, 4, "93 a1 61 a1 62 a1 61");
  CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
  hello_parts(&h);
  part_hex(&h, 4, "92 a1 61 a2 61 61"); /* "a" and "aa" are distinct */
  CHECK_INT(hello_decode(&h, &m), 0);
  CHECK_INT(m.hello.ncaps, 2);

  /* NUL in every text, at the start, the middle and the end. */
  static const char *const nul[] = {"\0bc", "a\0c", "ab\0"};
  for (unsigned i = 1; i <= 6; i++) {
    if (i == 2 || i == 5) continue;
    for (int k = 0; k < 3; k++) {
      hello_parts(&h);
      if (i == 4) {
        h.el[4].len = 0;
        put_arr(&h.el[4], 1);
        put_str(&h.el[4], nul[k], 3);
      } else {
        part_str(&h, i, nul[k], 3);
      }
      CHECK_INT(hello_decode(&h, &m), AM_EINVAL);
    }
  }
  REFUSED("93 03 00 a3 61 00 63");
  REFUSED("93 04 00 a1 00");
}

/* Declared lengths and counts far beyond the bytes given must be refused
 * at once, before msgpack-c allocates them (msgpack-c #1013: 5 bytes ask
 * for ~96 GB). Under AddressSanitizer such an allocation aborts the test;
 * without it, the time bound below catches the attempt to fill it. */
static void test_bombs(void) {
  static const char *const bombs[] = {
      "dd ff ff ff ff",
      "dd 00 10 00 00",
      "dc ff ff",
      "df ff ff ff ff",
      "de ff ff",
      "db ff ff ff ff",
      "c6 ff ff ff ff",
      "92 05 c6 ff ff ff ff",
      "92 05 c6 00 01 00 00",
      "92 05 c5 ff ff 00",
      "93 03 00 db ff ff ff ff",
      "93 03 00 da ff ff",
      "92 06 dd ff ff ff ff",
      "92 01 dd ff ff ff ff",
      "97 00 a1 78 00 a1 78 dd ff ff ff ff 00 c0",
      "97 00 a1 78 00 a1 78 dc ff ff 00 c0",
      "97 00 a1 78 00 a1 78 91 db ff ff ff ff 00 c0",
      "97 00 db ff ff ff ff",
      "dd ff ff ff ff dd ff ff ff ff dd ff ff ff ff",
      "9f 9f 9f 9f 9f 9f 9f 9f 9f 9f",
  };
  /* The watch sees a real allocation: an honest 65536-byte envelope is
   * re-encoded into a buffer at least that big. */
  if (WATCH_ALLOC) {
    am_buf env = {0};
    uint8_t *z = calloc(1, 65536);
    REQUIRE(z != NULL);
    hex(&env, "92 05");
    put_bin(&env, z, 65536);
    free(z);
    am_msg m;
    biggest = 0;
    watching = true;
    CHECK_INT(decode(&env, &m), 0);
    watching = false;
    CHECK(biggest >= 65536);
    am_buf_free(&env);
  }
  clock_t t0 = clock();
  for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
    am_buf b = {0};
    hex(&b, bombs[i]);
    am_msg m;
    am_versions vs;
    am_hs_proof pr;
    biggest = 0;
    watching = true;
    for (int rounds = 0; rounds < 1000; rounds++) {
      CHECK_INT(am_msg_decode((const uint8_t *)b.data, b.len, &m, &err), AM_EINVAL);
      CHECK_INT(am_hs1_decode((const uint8_t *)b.data, b.len, &vs, &err), AM_EINVAL);
      CHECK_INT(am_hs2_decode((const uint8_t *)b.data, b.len, &pr, &err), AM_EINVAL);
      CHECK_INT(am_hs3_decode((const uint8_t *)b.data, b.len, &pr, &err), AM_EINVAL);
    }
    watching = false;
    /* Refused by the bounded walk, before msgpack-c saw the bytes. */
    CHECK(strstr(err.msg, "within the limits") != NULL);
    if (biggest > 4096) fprintf(stderr, "bomb %s: a %zu-byte allocation\n", bombs[i], biggest);
    CHECK(biggest <= 4096);
    am_buf_free(&b);
  }
  /* Deep nesting: 100 000 levels of one-element arrays (a stack bomb for a
   * recursive decoder). */
  am_buf b = {0};
  hex(&b, "92 06");
  for (int i = 0; i < 100000; i++) u8(&b, 0x91);
  u8(&b, 0x00);
  am_msg m;
  CHECK_INT(decode(&b, &m), AM_EINVAL);
  b.len = 0;
  for (int i = 0; i < 100000; i++) u8(&b, 0x91);
  u8(&b, 0x01);
  CHECK_INT(decode(&b, &m), AM_EINVAL);
  am_buf_free(&b);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  CHECK(secs < 5.0);
}

/* ---- handshake payloads ------------------------------------------------ */

static int hs1_hex(const char *h, am_versions *vs) {
  am_buf b = {0};
  hex(&b, h);
  memset(&err, 0, sizeof err);
  int rc = am_hs1_decode((const uint8_t *)b.data, b.len, vs, &err);
  if (rc) CHECK(err.msg[0] != 0);
  am_buf_free(&b);
  return rc;
}

static void test_versions(void) {
  am_versions vs = {{1}, 1}, back;
  am_buf out = {0};
  CHECK_INT(am_hs1_encode(&vs, &out), 0);
  CHECK(out.len == 2 && memcmp(out.data, "\x91\x01", 2) == 0);
  CHECK_INT(hs1_hex("91 01", &back), 0);
  CHECK_INT(back.n, 1);
  CHECK_INT(back.v[0], 1);
  am_buf_free(&out);

  am_versions many = {{1, 2, 3, 5, 8, 13, 21, 127}, 8};
  CHECK_INT(am_hs1_encode(&many, &out), 0);
  CHECK(out.len == 9 && memcmp(out.data, "\x98\x01\x02\x03\x05\x08\x0d\x15\x7f", 9) == 0);
  CHECK_INT(am_hs1_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK(back.n == 8 && memcmp(back.v, many.v, 8) == 0);
  am_buf_free(&out);
  CHECK_INT(hs1_hex("91 7f", &back), 0);
  CHECK_INT(back.v[0], 127);

  static const char *const bad[] = {
      "90",          /* empty */
      "92 02 01",    /* unsorted */
      "92 01 01",    /* duplicate */
      "93 01 02 02",
      "91 00",       /* 0 */
      "91 cc 80",    /* 128 */
      "91 cc ff",
      "91 cd 01 00",
      "99 01 02 03 04 05 06 07 08 09", /* 9 entries */
      "91 cc 01",    /* non-canonical */
      "dc 00 01 01",
      "91 01 00",    /* trailing */
      "91 01 91 01",
      "81 01 01",    /* map */
      "01",
      "c0",
      "91 a1 31",
      "91 91 01",
      "91 ff",
      "dd ff ff ff ff",
      "",
      "91",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = hs1_hex(bad[i], &back);
    if (rc != AM_EINVAL) fprintf(stderr, "versions %s: %d\n", bad[i], rc);
    CHECK_INT(rc, AM_EINVAL);
  }

  /* The encoder refuses what the decoder would. */
  am_versions e0 = {{0}, 0}, e1 = {{2, 1}, 2}, e2 = {{1, 1}, 2}, e3 = {{128}, 1},
              e4 = {{0}, 1}, e5 = {{1, 2, 3, 4, 5, 6, 7, 8}, 9};
  const am_versions *enc_bad[] = {&e0, &e1, &e2, &e3, &e4, &e5};
  for (size_t i = 0; i < 6; i++) CHECK_INT(am_hs1_encode(enc_bad[i], &out), AM_EUSAGE);
  CHECK_INT(out.len, 0);
  am_buf_free(&out);
}

static void test_versions_pick(void) {
  am_versions v1 = {{1}, 1}, v2 = {{2}, 1}, v123 = {{1, 2, 3}, 3}, v234 = {{2, 3, 4}, 3},
              v5 = {{5, 9}, 2}, v157 = {{1, 5, 7}, 3}, vbig = {{1, 2, 3, 4, 5, 6, 7, 127}, 8},
              v127 = {{127}, 1};
  CHECK_INT(am_versions_pick(&v1, &v1), 1);
  CHECK_INT(am_versions_pick(&v1, &v2), 0);
  CHECK_INT(am_versions_pick(&v2, &v1), 0);
  CHECK_INT(am_versions_pick(&v123, &v234), 3);
  CHECK_INT(am_versions_pick(&v234, &v123), 3);
  CHECK_INT(am_versions_pick(&v5, &v157), 5);
  CHECK_INT(am_versions_pick(&v157, &v5), 5);
  CHECK_INT(am_versions_pick(&v1, &v123), 1);
  CHECK_INT(am_versions_pick(&vbig, &v127), 127);
  CHECK_INT(am_versions_pick(&v127, &vbig), 127);
  CHECK_INT(am_versions_pick(&v2, &v157), 0);
}

static am_hs_proof sample_proof(void) {
  am_hs_proof p = {.version = 1, .versions = {{1}, 1}};
  for (int i = 0; i < 32; i++) p.identity[i] = (uint8_t)(0x10 + i);
  for (int i = 0; i < 64; i++) p.binding[i] = (uint8_t)(0x80 + i);
  for (int i = 0; i < 40; i++) p.invitation[i] = (uint8_t)(0x40 + i);
  return p;
}

/* [version, identity, binding, versions] from raw parts. */
static int hs2_build(const char *n, const char *version, size_t idlen, size_t bindlen,
                     const char *versions, const char *extra) {
  uint8_t z[80] = {0};
  am_buf b = {0};
  hex(&b, n);
  hex(&b, version);
  put_bin(&b, z, idlen);
  put_bin(&b, z, bindlen);
  hex(&b, versions);
  hex(&b, extra);
  am_hs_proof p;
  memset(&err, 0, sizeof err);
  int rc = am_hs2_decode((const uint8_t *)b.data, b.len, &p, &err);
  if (rc) CHECK(err.msg[0] != 0);
  am_buf_free(&b);
  return rc;
}

static void test_hs2(void) {
  am_hs_proof p = sample_proof(), back;
  am_buf out = {0}, want = {0};
  CHECK_INT(am_hs2_encode(&p, &out), 0);
  hex(&want, "94 01");
  put_bin(&want, p.identity, 32);
  put_bin(&want, p.binding, 64);
  hex(&want, "91 01");
  CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
  CHECK_INT(out.len, 1 + 1 + 34 + 66 + 2);
  CHECK_INT(am_hs2_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK_INT(back.version, 1);
  CHECK(memcmp(back.identity, p.identity, 32) == 0);
  CHECK(memcmp(back.binding, p.binding, 64) == 0);
  CHECK(back.versions.n == 1 && back.versions.v[0] == 1);
  CHECK(!back.has_invitation);
  am_buf_free(&out);
  am_buf_free(&want);

  /* Version 0 (none in common) and a long list. */
  p.version = 0;
  p.versions = (am_versions){{2, 3, 4, 5, 6, 7, 8, 127}, 8};
  CHECK_INT(am_hs2_encode(&p, &out), 0);
  CHECK_INT(am_hs2_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK_INT(back.version, 0);
  CHECK(back.versions.n == 8 && back.versions.v[7] == 127);
  am_buf_free(&out);
  p.version = 127;
  CHECK_INT(am_hs2_encode(&p, &out), 0);
  CHECK_INT(am_hs2_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK_INT(back.version, 127);
  am_buf_free(&out);
  p.versions.n = 0;
  CHECK_INT(am_hs2_encode(&p, &out), AM_EUSAGE);
  am_buf_free(&out);

  CHECK_INT(hs2_build("94", "01", 32, 64, "91 01", ""), 0);
  CHECK_INT(hs2_build("94", "01", 31, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 33, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 0, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 63, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 65, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "cc 80", 32, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "cc 01", 32, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "ff", 32, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "c0", 32, 64, "91 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "90", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "92 02 01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "91 00", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "01", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "c0", ""), AM_EINVAL);
  CHECK_INT(hs2_build("94", "01", 32, 64, "91 01", "00"), AM_EINVAL);    /* trailing */
  CHECK_INT(hs2_build("95", "01", 32, 64, "91 01", "c0"), AM_EINVAL);    /* 5 elements */
  CHECK_INT(hs2_build("93", "01", 32, 64, "", ""), AM_EINVAL);           /* 3 elements */
  CHECK_INT(hs2_build("dc 00 04", "01", 32, 64, "91 01", ""), AM_EINVAL);
  /* identity as text */
  am_buf b = {0};
  hex(&b, "94 01");
  put_str(&b, p.identity, 32);
  put_bin(&b, p.binding, 64);
  hex(&b, "91 01");
  CHECK_INT(am_hs2_decode((const uint8_t *)b.data, b.len, &back, &err), AM_EINVAL);
  am_buf_free(&b);
  /* a message 3 payload is not a message 2 payload, nor the reverse */
  p = sample_proof();
  CHECK_INT(am_hs3_encode(&p, &b), 0);
  CHECK_INT(am_hs2_decode((const uint8_t *)b.data, b.len, &back, &err), AM_EINVAL);
  am_buf_free(&b);
  CHECK_INT(am_hs2_encode(&p, &b), 0);
  CHECK_INT(am_hs3_decode((const uint8_t *)b.data, b.len, &back, &err), AM_EINVAL);
  am_buf_free(&b);
  uint8_t bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  CHECK_INT(am_hs2_decode(bomb, sizeof bomb, &back, &err), AM_EINVAL);
  CHECK_INT(am_hs3_decode(bomb, sizeof bomb, &back, &err), AM_EINVAL);
  CHECK_INT(am_hs2_decode(bomb, 0, &back, &err), AM_EINVAL);
}

static int hs3_build(const char *n, size_t idlen, size_t bindlen, const char *inv_hex,
                     long invlen, const char *extra) {
  uint8_t z[80] = {0};
  am_buf b = {0};
  hex(&b, n);
  put_bin(&b, z, idlen);
  put_bin(&b, z, bindlen);
  if (invlen >= 0) put_bin(&b, z, (size_t)invlen);
  hex(&b, inv_hex);
  hex(&b, extra);
  am_hs_proof p;
  memset(&err, 0, sizeof err);
  int rc = am_hs3_decode((const uint8_t *)b.data, b.len, &p, &err);
  if (rc) CHECK(err.msg[0] != 0);
  am_buf_free(&b);
  return rc;
}

static void test_hs3(void) {
  am_hs_proof p = sample_proof(), back;
  p.version = 0;
  p.versions = (am_versions){{0}, 0};
  am_buf out = {0}, want = {0};
  /* Without an invitation: nil. */
  CHECK_INT(am_hs3_encode(&p, &out), 0);
  hex(&want, "93");
  put_bin(&want, p.identity, 32);
  put_bin(&want, p.binding, 64);
  hex(&want, "c0");
  CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
  CHECK_INT(am_hs3_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK(memcmp(back.identity, p.identity, 32) == 0);
  CHECK(memcmp(back.binding, p.binding, 64) == 0);
  CHECK(!back.has_invitation);
  am_buf_free(&out);
  am_buf_free(&want);
  /* With one: bin(40). */
  p.has_invitation = true;
  CHECK_INT(am_hs3_encode(&p, &out), 0);
  hex(&want, "93");
  put_bin(&want, p.identity, 32);
  put_bin(&want, p.binding, 64);
  put_bin(&want, p.invitation, 40);
  CHECK(want.len == out.len && memcmp(want.data, out.data, out.len) == 0);
  CHECK_INT(am_hs3_decode((const uint8_t *)out.data, out.len, &back, &err), 0);
  CHECK(back.has_invitation);
  CHECK(memcmp(back.invitation, p.invitation, 40) == 0);
  am_buf_free(&out);
  am_buf_free(&want);

  CHECK_INT(hs3_build("93", 32, 64, "c0", -1, ""), 0);
  CHECK_INT(hs3_build("93", 32, 64, "", 40, ""), 0);
  CHECK_INT(hs3_build("93", 32, 64, "", 39, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "", 41, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "", 0, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "c2", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "90", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "a0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "00", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 31, 64, "c0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 33, 64, "c0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 63, "c0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 65, "c0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "c0", -1, "00"), AM_EINVAL); /* trailing */
  CHECK_INT(hs3_build("93", 32, 64, "c0", -1, "c0"), AM_EINVAL);
  CHECK_INT(hs3_build("93", 32, 64, "", 40, "00"), AM_EINVAL);
  CHECK_INT(hs3_build("94", 32, 64, "c0", -1, "c0"), AM_EINVAL);  /* 4 elements */
  CHECK_INT(hs3_build("92", 32, 64, "", -1, ""), AM_EINVAL);      /* 2 elements */
  CHECK_INT(hs3_build("dc 00 03", 32, 64, "c0", -1, ""), AM_EINVAL);
  CHECK_INT(hs3_build("83", 32, 64, "c0", -1, ""), AM_EINVAL);
  /* bin16 for a 40-byte invitation */
  uint8_t z[40] = {0};
  am_buf b = {0};
  hex(&b, "93");
  put_bin(&b, z, 32);
  put_bin(&b, p.binding, 64);
  hex(&b, "c5 00 28");
  am_buf_append(&b, z, 40);
  CHECK_INT(am_hs3_decode((const uint8_t *)b.data, b.len, &back, &err), AM_EINVAL);
  CHECK(!back.has_invitation);
  am_buf_free(&b);
}

int main(void) {
  RUN(test_hello_round_trip_limits);
  RUN(test_hello_round_trip_minimal);
  RUN(test_ping_pong_round_trip);
  RUN(test_goodbye_error_round_trip);
  RUN(test_announce_round_trip);
  RUN(test_replication_messages);
  RUN(test_unknown_types);
  RUN(test_request_response);
  RUN(test_names);
  RUN(test_hand_built_baseline);
  RUN(test_noncanonical);
  RUN(test_trailing_and_not_one_value);
  RUN(test_wrong_counts);
  RUN(test_wrong_types);
  RUN(test_limits);
  RUN(test_duplicates_and_nul);
  RUN(test_bombs);
  RUN(test_versions);
  RUN(test_versions_pick);
  RUN(test_hs2);
  RUN(test_hs3);
  return TEST_SUMMARY();
}
