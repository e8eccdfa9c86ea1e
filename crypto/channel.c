/* Frames and chunks over the Noise transport ciphers (channel.h). */
#include "crypto/channel.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/session.h"

void am_chan_init(am_chan *c, const am_noise_cipher *tx, const am_noise_cipher *rx,
                  size_t limit) {
  memset(c, 0, sizeof *c);
  c->tx = *tx;
  c->rx = *rx;
  c->limit = limit;
}

void am_chan_free(am_chan *c) {
  am_noise_cipher_wipe(&c->tx);
  am_noise_cipher_wipe(&c->rx);
  free(c->msg);
  c->msg = NULL;
  c->len = c->cap = 0;
}

int am_chan_seal(am_chan *c, const uint8_t *msg, size_t len, am_buf *out) {
  if (len > AM_MSG_MAX) return AM_ETOOBIG;
  /* All or nothing: the nonces and the room for every frame are checked
   * before the first is sealed, so a refusal leaves no half message in out
   * and no nonce spent on frames the peer will never see. Noise refuses
   * n = 2^64 - 1 (14.4), so frames use n .. n + frames - 1 < 2^64 - 1. */
  size_t frames = len ? (len + AM_CHUNK_MAX - 1) / AM_CHUNK_MAX : 1;
  if (c->tx.n > UINT64_MAX - frames) return AM_EINVAL;
  if (am_buf_reserve(out, len + frames * (2 + 1 + AM_FRAME_TAG))) return AM_ENOMEM;
  size_t off = 0;
  int rc = 0;
  uint8_t plain[AM_CHUNK_MAX + 1];
  do {
    size_t n = len - off < AM_CHUNK_MAX ? len - off : AM_CHUNK_MAX;
    bool more = off + n < len;
    plain[0] = more ? 1 : 0;
    if (n) memcpy(plain + 1, msg + off, n);
    size_t clen = n + 1 + AM_FRAME_TAG;
    /* The length and the ciphertext, written in place. */
    uint8_t *f = (uint8_t *)out->data + out->len;
    f[0] = (uint8_t)(clen >> 8);
    f[1] = (uint8_t)clen;
    /* Fails only without a key, at the first frame (nothing written). */
    if ((rc = am_noise_encrypt(&c->tx, NULL, 0, plain, n + 1, f + 2))) break;
    out->len += 2 + clen;
    out->data[out->len] = 0;
    c->frames_out++;
    off += n;
  } while (off < len);
  sodium_memzero(plain, len + 1 < sizeof plain ? len + 1 : sizeof plain);
  return rc;
}

int am_chan_open(am_chan *c, uint8_t *frame, size_t len, const uint8_t **msg,
                 size_t *msglen) {
  if (c->complete) { /* the previous message was consumed */
    free(c->msg);
    c->msg = NULL;
    c->len = c->cap = 0;
    c->complete = false;
  }
  if (len < 1 + AM_FRAME_TAG || len > AM_FRAME_MAX) return AM_EINVAL;
  size_t plen = len - AM_FRAME_TAG;
  /* Decrypt in place: the frame buffer is the caller's scratch. */
  if (am_noise_decrypt(&c->rx, NULL, 0, frame, len, frame)) return AM_EINVAL;
  c->frames_in++;
  uint8_t flags = frame[0];
  if (flags & ~1u) return AM_EINVAL;
  size_t n = plen - 1;
  if (c->len + n > c->limit) return AM_ETOOBIG;
  if (!(flags & 1) && c->len == 0) { /* one-frame message: no copy */
    c->complete = true;
    *msg = frame + 1;
    *msglen = n;
    return 1;
  }
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 4096;
    while (cap < c->len + n) cap *= 2;
    if (cap > c->limit) cap = c->limit;
    uint8_t *p = realloc(c->msg, cap);
    if (!p) return AM_ENOMEM;
    c->msg = p;
    c->cap = cap;
  }
  /* An empty chunk with "more" (allowed) may come before any buffer:
   * c->msg is then NULL, and memcpy(NULL, ..., 0) is undefined. */
  if (n) memcpy(c->msg + c->len, frame + 1, n);
  c->len += n;
  if (flags & 1) return 0;
  c->complete = true;
  *msg = c->msg;
  *msglen = c->len;
  return 1;
}
