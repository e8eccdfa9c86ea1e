/* libFuzzer target for the transport's codecs (proto/session.h): every
 * input is given, whole, to the four decoders a peer's bytes reach: a
 * session message (am_msg_decode) and the payloads of handshake messages
 * 1, 2 and 3 (am_hs1_decode, am_hs2_decode, am_hs3_decode).
 *
 * Checked (abort() on a violation, with the line on stderr):
 *  - a refusal is AM_EINVAL with a sentence;
 *  - what a decoder accepts is canonical: encoding it again gives exactly
 *    the input (one value, one encoding), and that encoding decodes again;
 *  - the ranges of an accepted sync are read entry by entry: each entry
 *    stays inside the message and re-encodes to its own bytes, or the
 *    reading stops with a refusal (section 15.3);
 *  - an accepted message of an unknown type (10 and above) is only a type:
 *    the encoder refuses it (AM_EUSAGE), writing nothing;
 *  - an announce's envelope points into the input, at its end;
 *  - a message 2 payload's version and list agree with am_versions_pick's
 *    bounds (the version is 0..127).
 * The input is copied into a heap block of its exact size, so
 * AddressSanitizer reports any byte read beyond it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/session.h"
#include "proto/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)                                                              \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "fuzz_session.c:%d: check failed: %s\n", __LINE__, #c);  \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static void same(const am_buf *re, const uint8_t *p, size_t len) {
  ASSERT(re->len == len);
  ASSERT(len == 0 || memcmp(re->data, p, len) == 0);
}

static void refused(int rc, const am_error *err) {
  ASSERT(rc == AM_EINVAL);
  ASSERT(err->code == AM_EINVAL && err->msg[0] != 0);
}

static void session(const uint8_t *p, size_t len) {
  am_msg m;
  am_error err = {0};
  int rc = am_msg_decode(p, len, &m, &err);
  if (rc) {
    refused(rc, &err);
    return;
  }
  am_buf re = {0};
  if (m.type >= AM_MSG__KNOWN) {
    ASSERT(am_msg_encode(&m, &re, &err) == AM_EUSAGE);
    ASSERT(re.len == 0);
    am_buf_free(&re);
    return;
  }
  if (m.type == AM_MSG_ANNOUNCE) {
    ASSERT(m.envelope_len >= 1 && m.envelope_len <= 65536);
    ASSERT(m.envelope == p + len - m.envelope_len);
  }
  if (m.type == AM_MSG_HELLO) ASSERT(m.hello.kind <= 3 && m.hello.ncaps <= AM_HELLO_CAPS_MAX);
  if (m.type == AM_MSG_OFFER || m.type == AM_MSG_WANT) {
    ASSERT(m.nids >= 1 && m.nids * 16 == m.data_len);
    ASSERT(m.data == p + len - m.data_len);
  }
  if (m.type == AM_MSG_SYNC) {
    ASSERT(m.data == p + len - m.data_len);
    size_t off = 0, prev = 0;
    am_range r;
    int got;
    am_error rerr = {0};
    while ((got = am_range_next(m.data, m.data_len, &off, &r, &rerr)) == 1) {
      ASSERT(off > prev && off <= m.data_len);
      am_buf one = {0};
      if (r.mode == AM_RANGE_FPS) {
        uint8_t fps[16][AM_FP_LEN];
        memcpy(fps, r.fps, sizeof fps);
        ASSERT(am_range_put_fps(&one, &r.prefix, fps) == 0);
      } else {
        ASSERT(am_range_put_ids(&one, &r.prefix, r.ids, r.n) == 0);
      }
      same(&one, m.data + prev, off - prev);
      am_buf_free(&one);
      prev = off;
    }
    if (got) refused(got, &rerr);
  }
  ASSERT(am_msg_encode(&m, &re, &err) == 0);
  same(&re, p, len);
  am_msg again;
  ASSERT(am_msg_decode((const uint8_t *)re.data, re.len, &again, &err) == 0);
  ASSERT(again.type == m.type);
  am_buf_free(&re);
}

static void hs1(const uint8_t *p, size_t len) {
  am_versions vs;
  am_error err = {0};
  int rc = am_hs1_decode(p, len, &vs, &err);
  if (rc) {
    refused(rc, &err);
    return;
  }
  ASSERT(vs.n >= 1 && vs.n <= AM_TRANSPORT_MAX_VERSIONS);
  uint8_t v = am_versions_pick(&vs, &vs);
  ASSERT(v == vs.v[vs.n - 1]);
  am_buf re = {0};
  ASSERT(am_hs1_encode(&vs, &re) == 0);
  same(&re, p, len);
  am_buf_free(&re);
}

static void hs23(const uint8_t *p, size_t len, int msg) {
  am_hs_proof pr;
  am_error err = {0};
  int rc = msg == 2 ? am_hs2_decode(p, len, &pr, &err) : am_hs3_decode(p, len, &pr, &err);
  if (rc) {
    refused(rc, &err);
    return;
  }
  am_buf re = {0};
  if (msg == 2) {
    ASSERT(pr.version <= 127 && !pr.has_invitation);
    ASSERT(pr.versions.n >= 1 && pr.versions.n <= AM_TRANSPORT_MAX_VERSIONS);
    uint8_t v = am_versions_pick(&pr.versions, &pr.versions);
    ASSERT(v == pr.versions.v[pr.versions.n - 1]);
    ASSERT(am_hs2_encode(&pr, &re) == 0);
  } else {
    ASSERT(am_hs3_encode(&pr, &re) == 0);
  }
  same(&re, p, len);
  am_buf_free(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *p = malloc(size ? size : 1);
  ASSERT(p != NULL);
  if (size) memcpy(p, data, size);
  session(p, size);
  hs1(p, size);
  hs23(p, size, 2);
  hs23(p, size, 3);
  free(p);
  return 0;
}
