/* Unit tests for crypto/channel.c (docs/PROTOCOL.md 14.4): messages of 0
 * bytes to exactly AM_MSG_MAX cut into ceil(len / 65518) frames (one for
 * an empty message) and joined back; AM_MSG_MAX + 1 refused by seal; the
 * receiver's limit holds however the sender cuts the message (chunks
 * written here by hand, as a hostile peer would); flags other than "more",
 * tampered, reordered, replayed, dropped frames and lengths outside
 * 17..65535 refused; each message starts fresh; a nonce about to run out
 * refuses a whole message, writing nothing. The two channels share keys
 * made here: the handshake that gives them is test_handshake.c's. */
#include "crypto/channel.h"

#include <stdbool.h>

#include <sodium.h>

#include "crypto/identity.h"
#include "proto/session.h"
#include "tests/test.h"

/* a sends to b with k1, b to a with k2. */
static void pair(am_chan *a, am_chan *b, size_t limit_b) {
  am_noise_cipher k1 = {.has_key = true}, k2 = {.has_key = true};
  randombytes_buf(k1.k, sizeof k1.k);
  randombytes_buf(k2.k, sizeof k2.k);
  am_chan_init(a, &k1, &k2, AM_MSG_MAX);
  am_chan_init(b, &k2, &k1, limit_b);
  am_noise_cipher_wipe(&k1);
  am_noise_cipher_wipe(&k2);
}

static uint8_t *pattern(size_t n, unsigned seed) {
  uint8_t *p = malloc(n ? n : 1);
  if (!p) abort();
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
  return p;
}

/* The frames in a sealed buffer. */
typedef struct frames {
  size_t n;
  size_t off[64], len[64];
} frames;

static void split_frames(const am_buf *b, frames *f) {
  f->n = 0;
  size_t off = 0;
  while (off < b->len) {
    if (b->len - off < 2 || f->n == 64) abort();
    size_t n = (size_t)((uint8_t)b->data[off] << 8 | (uint8_t)b->data[off + 1]);
    if (b->len - off - 2 < n) abort();
    f->off[f->n] = off + 2;
    f->len[f->n++] = n;
    off += 2 + n;
  }
}

static int open_frame(am_chan *c, am_buf *b, const frames *f, size_t k, const uint8_t **msg,
                      size_t *len) {
  return am_chan_open(c, (uint8_t *)b->data + f->off[k], f->len[k], msg, len);
}

/* One chunk written by hand: flags ‖ data in a frame of from's cipher. */
static void chunk(am_chan *from, uint8_t flags, const uint8_t *data, size_t n, am_buf *out) {
  uint8_t *plain = malloc(n + 1);
  if (!plain) abort();
  plain[0] = flags;
  if (n) memcpy(plain + 1, data, n);
  size_t clen = n + 1 + AM_FRAME_TAG;
  uint8_t hdr[2] = {(uint8_t)(clen >> 8), (uint8_t)clen};
  am_buf_append(out, hdr, 2);
  am_buf_reserve(out, clen);
  CHECK_INT(am_noise_encrypt(&from->tx, NULL, 0, plain, n + 1, (uint8_t *)out->data + out->len),
            0);
  out->len += clen;
  free(plain);
}

/* Opens every frame of b in order: 0 for all but the last; the last's
 * result is returned. */
static int deliver(am_chan *to, am_buf *b, const uint8_t **msg, size_t *len) {
  frames f;
  split_frames(b, &f);
  int rc = 0;
  for (size_t k = 0; k < f.n; k++) {
    rc = open_frame(to, b, &f, k, msg, len);
    if (k + 1 < f.n && rc != 0) return rc;
  }
  return rc;
}

static void test_sizes(void) {
  static const size_t sizes[] = {0,
                                 1,
                                 AM_CHUNK_MAX - 1,
                                 AM_CHUNK_MAX,
                                 AM_CHUNK_MAX + 1,
                                 2 * AM_CHUNK_MAX,
                                 2 * AM_CHUNK_MAX + 1,
                                 200000,
                                 AM_MSG_MAX - 1,
                                 AM_MSG_MAX};
  CHECK_INT(AM_CHUNK_MAX, 65518);
  am_chan a, b;
  pair(&a, &b, AM_MSG_MAX);
  uint64_t sent = 0;
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t len = sizes[k];
    uint8_t *msg = pattern(len, (unsigned)k);
    am_buf out = {0};
    REQUIRE(am_chan_seal(&a, msg, len, &out) == 0);
    frames f;
    split_frames(&out, &f);
    size_t want = len ? (len + AM_CHUNK_MAX - 1) / AM_CHUNK_MAX : 1;
    CHECK_INT(f.n, want);
    CHECK_INT(out.len, len + want * (2 + 1 + AM_FRAME_TAG));
    for (size_t j = 0; j + 1 < f.n; j++) CHECK_INT(f.len[j], AM_FRAME_MAX);
    CHECK_INT(f.len[f.n - 1], len - (want - 1) * AM_CHUNK_MAX + 1 + AM_FRAME_TAG);
    sent += want;
    CHECK(a.frames_out == sent);
    const uint8_t *got = NULL;
    size_t glen = 99;
    for (size_t j = 0; j < f.n; j++) {
      int rc = open_frame(&b, &out, &f, j, &got, &glen);
      CHECK_INT(rc, j + 1 < f.n ? 0 : 1);
    }
    CHECK(b.frames_in == sent);
    CHECK(glen == len);
    CHECK(len == 0 || memcmp(got, msg, len) == 0);
    free(msg);
    am_buf_free(&out);
  }
  /* One byte too many: refused, nothing written, no nonce used. */
  uint8_t *msg = pattern(AM_MSG_MAX + 1, 7);
  am_buf out = {0};
  uint64_t n = a.tx.n;
  CHECK_INT(am_chan_seal(&a, msg, AM_MSG_MAX + 1, &out), AM_ETOOBIG);
  CHECK_INT(out.len, 0);
  CHECK(a.tx.n == n);
  /* The channel still works. */
  REQUIRE(am_chan_seal(&a, msg, 3, &out) == 0);
  const uint8_t *got;
  size_t glen;
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 3 && memcmp(got, msg, 3) == 0);
  free(msg);
  am_buf_free(&out);
  am_chan_free(&a);
  am_chan_free(&b);
}

static void test_limit(void) {
  am_chan a, b;
  const uint8_t *got;
  size_t glen;
  uint8_t *msg = pattern(70000, 3);
  am_buf out = {0};

  /* 4096 bytes pass, in one frame or in many; 4097 do not. */
  pair(&a, &b, AM_MSG_MAX_PREHELLO);
  REQUIRE(am_chan_seal(&a, msg, 4096, &out) == 0);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 4096 && memcmp(got, msg, 4096) == 0);
  out.len = 0;
  for (size_t off = 0; off < 4000; off += 100) chunk(&a, 1, msg + off, 100, &out);
  chunk(&a, 0, msg + 4000, 96, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 4096 && memcmp(got, msg, 4096) == 0);
  CHECK(b.cap <= AM_MSG_MAX_PREHELLO);
  /* Twice the limit in all, but as two messages: fine (a limit per
   * message). */
  out.len = 0;
  for (size_t off = 0; off < 4000; off += 100) chunk(&a, 1, msg + off, 100, &out);
  chunk(&a, 0, msg + 4000, 96, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 4096);
  out.len = 0;
  REQUIRE(am_chan_seal(&a, msg, 4097, &out) == 0);
  CHECK_INT(deliver(&b, &out, &got, &glen), AM_ETOOBIG);
  am_chan_free(&a);
  am_chan_free(&b);

  /* 4097 as 41 chunks: the last one crosses the limit. */
  pair(&a, &b, AM_MSG_MAX_PREHELLO);
  out.len = 0;
  for (size_t off = 0; off < 4000; off += 100) chunk(&a, 1, msg + off, 100, &out);
  chunk(&a, 0, msg + 4000, 97, &out);
  frames f;
  split_frames(&out, &f);
  CHECK_INT(f.n, 41);
  for (size_t k = 0; k < 40; k++) CHECK_INT(open_frame(&b, &out, &f, k, &got, &glen), 0);
  CHECK_INT(open_frame(&b, &out, &f, 40, &got, &glen), AM_ETOOBIG);
  CHECK(b.cap <= AM_MSG_MAX_PREHELLO);
  am_chan_free(&a);
  am_chan_free(&b);

  /* 4097 chunks of one byte, all with "more": refused at the 4097th. */
  pair(&a, &b, AM_MSG_MAX_PREHELLO);
  int rc = 0;
  size_t k;
  for (k = 0; k < 5000 && rc == 0; k++) {
    out.len = 0;
    chunk(&a, 1, msg + k, 1, &out);
    rc = deliver(&b, &out, &got, &glen);
  }
  CHECK_INT(rc, AM_ETOOBIG);
  CHECK_INT(k, 4097);
  CHECK(b.cap <= AM_MSG_MAX_PREHELLO);
  am_chan_free(&a);
  am_chan_free(&b);

  /* A first chunk already over the limit, before any copy. */
  pair(&a, &b, AM_MSG_MAX_PREHELLO);
  out.len = 0;
  chunk(&a, 1, msg, 5000, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), AM_ETOOBIG);
  CHECK(b.msg == NULL);
  am_chan_free(&a);
  am_chan_free(&b);

  /* Raising the limit after the hello lets big messages through. */
  pair(&a, &b, AM_MSG_MAX_PREHELLO);
  b.limit = AM_MSG_MAX;
  out.len = 0;
  REQUIRE(am_chan_seal(&a, msg, 70000, &out) == 0);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 70000 && memcmp(got, msg, 70000) == 0);
  am_chan_free(&a);
  am_chan_free(&b);
  am_buf_free(&out);
  free(msg);
}

static void test_flags(void) {
  static const uint8_t bad[] = {0x02, 0x03, 0x04, 0x80, 0x81, 0xfe, 0xff};
  const uint8_t *got;
  size_t glen;
  for (size_t k = 0; k < sizeof bad; k++) {
    am_chan a, b;
    am_buf out = {0};
    pair(&a, &b, AM_MSG_MAX);
    chunk(&a, bad[k], (const uint8_t *)"x", 1, &out);
    CHECK_INT(deliver(&b, &out, &got, &glen), AM_EINVAL);
    /* also in the middle of a message */
    am_chan_free(&a);
    am_chan_free(&b);
    pair(&a, &b, AM_MSG_MAX);
    out.len = 0;
    chunk(&a, 1, (const uint8_t *)"x", 1, &out);
    chunk(&a, bad[k], (const uint8_t *)"y", 1, &out);
    CHECK_INT(deliver(&b, &out, &got, &glen), AM_EINVAL);
    am_chan_free(&a);
    am_chan_free(&b);
    am_buf_free(&out);
  }
  /* 00 and 01 are the two valid ones; empty chunks are allowed, with or
   * without "more". */
  am_chan a, b;
  am_buf out = {0};
  pair(&a, &b, AM_MSG_MAX);
  chunk(&a, 1, NULL, 0, &out);
  chunk(&a, 1, (const uint8_t *)"abc", 3, &out);
  chunk(&a, 1, NULL, 0, &out);
  chunk(&a, 0, NULL, 0, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 3 && memcmp(got, "abc", 3) == 0);
  out.len = 0;
  chunk(&a, 1, NULL, 0, &out);
  chunk(&a, 1, NULL, 0, &out);
  chunk(&a, 0, NULL, 0, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK_INT(glen, 0);
  out.len = 0;
  chunk(&a, 0, NULL, 0, &out);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK_INT(glen, 0);
  am_chan_free(&a);
  am_chan_free(&b);
  am_buf_free(&out);
}

static void test_tamper(void) {
  am_chan a, b;
  const uint8_t *got;
  size_t glen;
  uint8_t *msg = pattern(150000, 9);
  am_buf out = {0};
  pair(&a, &b, AM_MSG_MAX);
  REQUIRE(am_chan_seal(&a, msg, 300, &out) == 0);
  frames f;
  split_frames(&out, &f);
  /* Every byte of the ciphertext (the tag included), each on its own. */
  uint8_t copy[400];
  for (size_t i = 0; i < f.len[0]; i++)
    for (int bit = 0; bit < 8; bit += 7) {
      am_chan probe;
      am_chan_init(&probe, &b.tx, &b.rx, b.limit);
      memcpy(copy, out.data + f.off[0], f.len[0]);
      copy[i] ^= (uint8_t)(1u << bit);
      CHECK_INT(am_chan_open(&probe, copy, f.len[0], &got, &glen), AM_EINVAL);
      am_chan_free(&probe);
    }
  /* Cut short or extended by a byte. */
  am_chan probe;
  am_chan_init(&probe, &b.tx, &b.rx, b.limit);
  memcpy(copy, out.data + f.off[0], f.len[0]);
  CHECK_INT(am_chan_open(&probe, copy, f.len[0] - 1, &got, &glen), AM_EINVAL);
  memcpy(copy, out.data + f.off[0], f.len[0]);
  copy[f.len[0]] = 0;
  CHECK_INT(am_chan_open(&probe, copy, f.len[0] + 1, &got, &glen), AM_EINVAL);
  am_chan_free(&probe);
  /* The frame itself still opens. */
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 300 && memcmp(got, msg, 300) == 0);

  /* A frame in the middle of a message. */
  out.len = 0;
  REQUIRE(am_chan_seal(&a, msg, 150000, &out) == 0);
  split_frames(&out, &f);
  REQUIRE(f.n == 3);
  CHECK_INT(open_frame(&b, &out, &f, 0, &got, &glen), 0);
  out.data[f.off[1] + 1000] ^= 0x10;
  CHECK_INT(open_frame(&b, &out, &f, 1, &got, &glen), AM_EINVAL);
  am_chan_free(&b);

  /* A frame sealed with the wrong key: a channel hearing itself. */
  am_chan_free(&a);
  pair(&a, &b, AM_MSG_MAX);
  out.len = 0;
  REQUIRE(am_chan_seal(&a, msg, 10, &out) == 0);
  am_chan_init(&probe, &a.tx, &a.rx, AM_MSG_MAX);
  CHECK_INT(deliver(&probe, &out, &got, &glen), AM_EINVAL);
  am_chan_free(&probe);
  am_chan_free(&a);
  am_chan_free(&b);
  am_buf_free(&out);
  free(msg);
}

/* A copy to deliver: am_chan_open decrypts in place (and zeroes a frame
 * that does not authenticate), so a buffer is good for one delivery. */
static am_buf dup(const am_buf *b) {
  am_buf c = {0};
  if (am_buf_append(&c, b->data, b->len)) abort();
  return c;
}

static void test_order(void) {
  const uint8_t *got;
  size_t glen;
  am_chan a, b;
  am_buf m1 = {0}, m2 = {0}, big = {0};
  uint8_t *msg = pattern(150000, 1);
  /* m2 before m1. */
  pair(&a, &b, AM_MSG_MAX);
  REQUIRE(am_chan_seal(&a, msg, 10, &m1) == 0);
  REQUIRE(am_chan_seal(&a, msg + 10, 10, &m2) == 0);
  am_buf c = dup(&m2);
  CHECK_INT(deliver(&b, &c, &got, &glen), AM_EINVAL);
  am_buf_free(&c);
  am_chan_free(&b);
  /* m1 twice. */
  am_noise_cipher rx = {.has_key = true};
  memcpy(rx.k, a.tx.k, 32);
  am_chan_init(&b, &a.rx, &rx, AM_MSG_MAX);
  c = dup(&m1);
  CHECK_INT(deliver(&b, &c, &got, &glen), 1);
  CHECK(glen == 10 && memcmp(got, msg, 10) == 0);
  am_buf_free(&c);
  c = dup(&m1);
  CHECK_INT(deliver(&b, &c, &got, &glen), AM_EINVAL);
  am_buf_free(&c);
  c = dup(&m2);
  CHECK_INT(deliver(&b, &c, &got, &glen), 1);
  CHECK(glen == 10 && memcmp(got, msg + 10, 10) == 0);
  am_buf_free(&c);
  am_chan_free(&b);

  /* The frames of one message swapped, or one dropped. */
  REQUIRE(am_chan_seal(&a, msg, 150000, &big) == 0);
  frames f;
  split_frames(&big, &f);
  REQUIRE(f.n == 3);
  rx.n = a.tx.n - 3;
  am_chan_init(&b, &a.rx, &rx, AM_MSG_MAX);
  c = dup(&big);
  CHECK_INT(open_frame(&b, &c, &f, 1, &got, &glen), AM_EINVAL);
  am_buf_free(&c);
  am_chan_free(&b);
  am_chan_init(&b, &a.rx, &rx, AM_MSG_MAX);
  c = dup(&big);
  CHECK_INT(open_frame(&b, &c, &f, 0, &got, &glen), 0);
  CHECK_INT(open_frame(&b, &c, &f, 2, &got, &glen), AM_EINVAL);
  am_buf_free(&c);
  am_chan_free(&b);
  /* In order, it works. */
  am_chan_init(&b, &a.rx, &rx, AM_MSG_MAX);
  c = dup(&big);
  CHECK_INT(deliver(&b, &c, &got, &glen), 1);
  CHECK(glen == 150000 && memcmp(got, msg, 150000) == 0);
  am_buf_free(&c);
  am_chan_free(&b);
  am_noise_cipher_wipe(&rx);
  am_chan_free(&a);
  am_buf_free(&m1);
  am_buf_free(&m2);
  am_buf_free(&big);
  free(msg);
}

static void test_frame_lengths(void) {
  am_chan a, b;
  const uint8_t *got;
  size_t glen;
  static uint8_t buf[AM_FRAME_MAX + 2];
  pair(&a, &b, AM_MSG_MAX);
  static const size_t bad[] = {0, 1, 15, 16, AM_FRAME_MAX + 1, AM_FRAME_MAX + 2};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
    CHECK_INT(am_chan_open(&b, buf, bad[k], &got, &glen), AM_EINVAL);
  CHECK(b.frames_in == 0 && b.rx.n == 0);
  /* The shortest (an empty message) and the longest frames are fine. */
  am_buf out = {0};
  REQUIRE(am_chan_seal(&a, NULL, 0, &out) == 0);
  CHECK_INT(out.len, 2 + 17);
  CHECK(out.data[0] == 0 && out.data[1] == 17);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK_INT(glen, 0);
  uint8_t *msg = pattern(AM_CHUNK_MAX, 5);
  out.len = 0;
  REQUIRE(am_chan_seal(&a, msg, AM_CHUNK_MAX, &out) == 0);
  CHECK_INT(out.len, 2 + AM_FRAME_MAX);
  CHECK((uint8_t)out.data[0] == 0xff && (uint8_t)out.data[1] == 0xff);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == AM_CHUNK_MAX && memcmp(got, msg, AM_CHUNK_MAX) == 0);
  /* A 65536-byte frame made with the right key is still refused. */
  uint8_t *plain = calloc(1, AM_FRAME_MAX + 1 - AM_FRAME_TAG);
  uint8_t *ct = malloc(AM_FRAME_MAX + 1);
  REQUIRE(plain && ct);
  CHECK_INT(am_noise_encrypt(&a.tx, NULL, 0, plain, AM_FRAME_MAX + 1 - AM_FRAME_TAG, ct),
            AM_ETOOBIG);
  free(plain);
  free(ct);
  free(msg);
  am_buf_free(&out);
  am_chan_free(&a);
  am_chan_free(&b);
}

static void test_fresh_messages(void) {
  am_chan a, b;
  const uint8_t *got;
  size_t glen;
  uint8_t *msg = pattern(300000 + 16, 11);
  pair(&a, &b, AM_MSG_MAX);
  static const size_t seq[] = {200000, 5, 0, 70000, 70000, 1, 131036, 131037, 2, 0, 300000};
  for (size_t k = 0; k < sizeof seq / sizeof *seq; k++) {
    am_buf out = {0};
    const uint8_t *m = msg + k; /* a different start each time */
    REQUIRE(am_chan_seal(&a, m, seq[k], &out) == 0);
    CHECK_INT(deliver(&b, &out, &got, &glen), 1);
    CHECK(glen == seq[k]);
    CHECK(seq[k] == 0 || memcmp(got, m, seq[k]) == 0);
    am_buf_free(&out);
  }
  /* An idle channel holds no message buffer once the next frame came. */
  am_buf out = {0};
  REQUIRE(am_chan_seal(&a, msg, 1, &out) == 0);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(b.msg == NULL);
  CHECK_INT(b.len, 0);
  am_buf_free(&out);

  /* Freed in the middle of a message: nothing leaks (ASan). */
  REQUIRE(am_chan_seal(&a, msg, 200000, &out) == 0);
  frames f;
  split_frames(&out, &f);
  CHECK_INT(open_frame(&b, &out, &f, 0, &got, &glen), 0);
  CHECK_INT(open_frame(&b, &out, &f, 1, &got, &glen), 0);
  CHECK(b.msg != NULL);
  am_chan_free(&b);
  CHECK(b.msg == NULL);
  am_chan_free(&b); /* twice is harmless */
  am_chan_free(&a);
  am_buf_free(&out);
  free(msg);
}

static void test_nonce_end(void) {
  am_chan a, b;
  const uint8_t *got;
  size_t glen;
  uint8_t *msg = pattern(200000, 2);
  am_buf out = {0};
  pair(&a, &b, AM_MSG_MAX);
  /* n = 2^64 - 2 is the last nonce a frame may use (14.4). */
  a.tx.n = UINT64_MAX - 1;
  b.rx.n = UINT64_MAX - 1;
  REQUIRE(am_chan_seal(&a, msg, 1, &out) == 0);
  CHECK(a.tx.n == UINT64_MAX);
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  out.len = 0;
  CHECK_INT(am_chan_seal(&a, msg, 1, &out), AM_EINVAL);
  CHECK_INT(out.len, 0);
  CHECK_INT(am_chan_seal(&a, NULL, 0, &out), AM_EINVAL);
  CHECK_INT(out.len, 0);
  /* A message needing 4 frames with 3 nonces left: none is sent, none
   * used, and a shorter one still fits. */
  a.tx.n = UINT64_MAX - 3;
  CHECK_INT(am_chan_seal(&a, msg, 3 * AM_CHUNK_MAX + 1, &out), AM_EINVAL);
  CHECK_INT(out.len, 0);
  CHECK(a.tx.n == UINT64_MAX - 3);
  REQUIRE(am_chan_seal(&a, msg, 3 * AM_CHUNK_MAX, &out) == 0);
  CHECK(a.tx.n == UINT64_MAX);
  b.rx.n = UINT64_MAX - 3;
  CHECK_INT(deliver(&b, &out, &got, &glen), 1);
  CHECK(glen == 3 * AM_CHUNK_MAX && memcmp(got, msg, glen) == 0);
  am_chan_free(&a);
  am_chan_free(&b);
  am_buf_free(&out);
  free(msg);
}

int main(void) {
  if (am_crypto_init()) return EXIT_FAILURE;
  RUN(test_sizes);
  RUN(test_limit);
  RUN(test_flags);
  RUN(test_tamper);
  RUN(test_order);
  RUN(test_frame_lengths);
  RUN(test_fresh_messages);
  RUN(test_nonce_end);
  return TEST_SUMMARY();
}
