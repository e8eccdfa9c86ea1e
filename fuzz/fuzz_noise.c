/* libFuzzer target for the Noise handshake and transport (crypto/noise.h),
 * as a node meets them: Noise_XX (or XXpsk3) between fixed keys, with the
 * bytes a peer sends taken from the input.
 *
 * Input: one mode byte, then chunks, each a 2-byte little-endian length and
 * that many bytes (cut short by the end of the input). Mode bits 0-1:
 *   0  a responder reads chunk 0 as message 1, answers, reads chunk 1 as
 *      message 3, then the rest as transport messages;
 *   1  an initiator writes message 1, reads chunk 0 as message 2, answers,
 *      then reads the rest as transport messages;
 *   2  an honest handshake and transport in both directions where every
 *      message is XORed with the next chunk (its extra bytes appended): the
 *      fuzzer gets near-valid messages, and all-zero masks must succeed;
 *   3  an honest handshake, then every chunk as a transport message to
 *      both sides.
 * Bit 2: read in place (payload over the message) instead of into a
 * separate buffer. Bit 3: Noise_XXpsk3 instead of Noise_XX.
 *
 * Every message and payload buffer is a heap block of exactly the size
 * given to the library, so AddressSanitizer reports any byte touched
 * beyond. Checked (__builtin_trap on a violation): return codes are the
 * documented ones; a refused handshake message leaves the state dead (no
 * turn, not done, no remote key, every call AM_EUSAGE); a refused
 * transport message leaves the nonce where it was; the payload length is
 * what the message could hold; an unchanged message decrypts to what was
 * sent; both sides of a handshake that completed agree on the hash. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)                                                          \
  do {                                                                     \
    if (!(c)) __builtin_trap();                                            \
  } while (0)

static const char *const protocols[2] = {"Noise_XX_25519_ChaChaPoly_BLAKE2b",
                                         "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"};
static const uint8_t prologue[] = "amicale fuzz";
static const uint8_t psk[1][AM_NOISE_KEY] = {{0x70, 0x73, 0x6b}};
static const uint8_t payloads[3][9] = {"message 1", "message 2", "message 3"};

static am_noise_keypair keys[4]; /* initiator s, e; responder s, e */

static void setup(void) {
  uint8_t priv[AM_NOISE_KEY];
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < AM_NOISE_KEY; i++) priv[i] = (uint8_t)(k * 40 + i + 1);
    ASSERT(am_noise_keypair_from_private(&keys[k], priv) == 0);
  }
}

typedef struct chunks {
  const uint8_t *p;
  size_t left;
} chunks;

/* The next chunk, or false at the end of the input. */
static bool next(chunks *c, const uint8_t **p, size_t *len) {
  if (c->left < 2) return false;
  size_t n = c->p[0] | (size_t)c->p[1] << 8;
  c->p += 2, c->left -= 2;
  if (n > c->left) n = c->left;
  *p = c->p, *len = n;
  c->p += n, c->left -= n;
  return true;
}

typedef struct side {
  am_noise_hs hs;
  am_noise_cipher send, recv;
  uint8_t hash[AM_NOISE_HASH];
} side;

static void init(side *s, bool initiator, int proto) {
  memset(s, 0, sizeof *s);
  am_noise_hs_config c = {.protocol = protocols[proto],
                          .initiator = initiator,
                          .prologue = prologue,
                          .prologue_len = sizeof prologue,
                          .s = &keys[initiator ? 0 : 2],
                          .e = &keys[initiator ? 1 : 3],
                          .psks = proto ? psk : NULL,
                          .npsks = proto ? 1 : 0};
  ASSERT(am_noise_hs_init(&s->hs, &c) == 0);
}

static void dead(am_noise_hs *hs) {
  uint8_t buf[64], h[AM_NOISE_HASH];
  size_t n;
  am_noise_cipher a, b;
  ASSERT(!am_noise_hs_writes_next(hs) && !am_noise_hs_done(hs));
  ASSERT(am_noise_hs_remote_static(hs) == NULL);
  ASSERT(am_noise_hs_write(hs, NULL, 0, buf, sizeof buf, &n) == AM_EUSAGE);
  ASSERT(am_noise_hs_read(hs, buf, sizeof buf, buf, sizeof buf, &n) == AM_EUSAGE);
  ASSERT(am_noise_hs_split(hs, &a, &b, h) == AM_EUSAGE);
}

/* Writes the next handshake message into a heap block of its exact size;
 * NULL when the peer's ephemeral gave a zero DH output (the state is then
 * dead). */
static uint8_t *write_msg(side *s, int m, size_t *len) {
  uint8_t tmp[256];
  ASSERT(am_noise_hs_writes_next(&s->hs));
  int rc = am_noise_hs_write(&s->hs, payloads[m], sizeof payloads[m], tmp, sizeof tmp, len);
  if (rc != 0) {
    ASSERT(rc == AM_EINVAL && *len == 0);
    dead(&s->hs);
    return NULL;
  }
  uint8_t *out = malloc(*len);
  ASSERT(out != NULL);
  memcpy(out, tmp, *len);
  return out;
}

/* Reads msg [0, len) (a heap block of exactly len bytes, freed here); 0 or
 * the refusal, checked. expect: the payload an unchanged message holds, or
 * NULL. */
static int read_msg(side *s, uint8_t *msg, size_t len, bool in_place, const uint8_t *expect,
                    size_t elen) {
  uint8_t *pl = in_place ? msg : malloc(len ? len : 1);
  ASSERT(pl != NULL);
  size_t n = 99;
  bool was_done = am_noise_hs_done(&s->hs);
  int rc = am_noise_hs_read(&s->hs, msg, len, pl, len, &n);
  if (rc == 0) {
    ASSERT(!was_done && n + AM_NOISE_KEY <= len);
    if (expect) ASSERT(n == elen && memcmp(pl, expect, n) == 0);
  } else {
    ASSERT(rc == AM_EINVAL || rc == AM_ETOOBIG);
    ASSERT(n == 0 && !expect);
    dead(&s->hs);
  }
  if (!in_place) free(pl);
  free(msg);
  return rc;
}

static void split(side *s) {
  ASSERT(am_noise_hs_done(&s->hs));
  ASSERT(am_noise_hs_remote_static(&s->hs) != NULL);
  ASSERT(am_noise_hs_split(&s->hs, &s->send, &s->recv, s->hash) == 0);
}

/* Decrypts c [0, len) with s's receiving cipher, from a heap copy. */
static int transport_in(side *s, const uint8_t *c, size_t len, bool in_place,
                        const uint8_t *expect, size_t elen) {
  uint8_t *msg = malloc(len ? len : 1), *out = msg;
  ASSERT(msg != NULL);
  if (len) memcpy(msg, c, len);
  if (!in_place) {
    out = malloc(len > AM_NOISE_TAG ? len - AM_NOISE_TAG : 1);
    ASSERT(out != NULL);
  }
  uint64_t n = s->recv.n;
  int rc = am_noise_decrypt(&s->recv, NULL, 0, msg, len, out);
  if (rc == 0) {
    ASSERT(s->recv.n == n + 1 && len >= AM_NOISE_TAG);
    if (expect) ASSERT(len - AM_NOISE_TAG == elen && memcmp(out, expect, elen) == 0);
  } else {
    ASSERT(rc == AM_EINVAL || rc == AM_ETOOBIG);
    ASSERT(s->recv.n == n && !expect);
  }
  if (out != msg) free(out);
  free(msg);
  return rc;
}

/* msg XORed with mask, mask's extra bytes appended; *same if unchanged. */
static uint8_t *masked(uint8_t *msg, size_t *len, const uint8_t *mask, size_t mlen, bool *same) {
  size_t n = mlen > *len ? mlen : *len;
  uint8_t *out = malloc(n ? n : 1);
  ASSERT(out != NULL);
  if (*len) memcpy(out, msg, *len);
  *same = mlen <= *len;
  for (size_t i = 0; i < mlen; i++) {
    out[i] = i < *len ? out[i] ^ mask[i] : mask[i];
    if (mask[i]) *same = false;
  }
  free(msg);
  *len = n;
  return out;
}

static void handshake_honest(side *a, side *b) {
  for (int m = 0; m < 3; m++) {
    side *w = m % 2 ? b : a, *r = m % 2 ? a : b;
    size_t len;
    uint8_t *msg = write_msg(w, m, &len);
    ASSERT(msg != NULL);
    ASSERT(read_msg(r, msg, len, false, payloads[m], sizeof payloads[m]) == 0);
  }
  split(a);
  split(b);
  ASSERT(memcmp(a->hash, b->hash, AM_NOISE_HASH) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) setup(), ready = true;
  if (size < 1) return 0;
  int mode = data[0] & 3, proto = (data[0] >> 3) & 1;
  bool in_place = data[0] & 4;
  chunks c = {data + 1, size - 1};
  const uint8_t *p;
  size_t len, mlen;
  side a, b; /* initiator, responder */
  init(&a, true, proto);
  init(&b, false, proto);

  if (mode == 0 || mode == 1) {
    side *me = mode == 0 ? &b : &a;
    if (mode == 1) free(write_msg(&a, 0, &len));
    for (int m = mode; m < 3; m += 2) {
      if (!next(&c, &p, &len)) goto out;
      uint8_t *msg = malloc(len ? len : 1);
      ASSERT(msg != NULL);
      if (len) memcpy(msg, p, len);
      if (read_msg(me, msg, len, in_place, NULL, 0) != 0) goto out;
      if (m + 1 < 3) {
        uint8_t *answer = write_msg(me, m + 1, &len);
        if (!answer) goto out;
        free(answer);
      }
    }
    split(me);
    while (next(&c, &p, &len)) transport_in(me, p, len, in_place, NULL, 0);
  } else if (mode == 2) {
    bool clean = true; /* every message so far unchanged */
    for (int m = 0; m < 3; m++) {
      side *w = m % 2 ? &b : &a, *r = m % 2 ? &a : &b;
      uint8_t *msg = write_msg(w, m, &len);
      if (!msg) goto out;
      bool same = true;
      if (next(&c, &p, &mlen)) msg = masked(msg, &len, p, mlen, &same);
      clean &= same;
      if (read_msg(r, msg, len, in_place, clean ? payloads[m] : NULL, sizeof payloads[m]) != 0)
        goto out;
    }
    split(&a);
    split(&b);
    ASSERT(memcmp(a.hash, b.hash, AM_NOISE_HASH) == 0);
    for (int i = 0; c.left >= 2 && i < 64; i++) {
      side *w = i % 2 ? &b : &a, *r = i % 2 ? &a : &b;
      const uint8_t *pl = payloads[i % 3];
      uint8_t *ct = malloc(sizeof payloads[0] + AM_NOISE_TAG);
      ASSERT(ct != NULL);
      ASSERT(am_noise_encrypt(&w->send, NULL, 0, pl, sizeof payloads[0], ct) == 0);
      len = sizeof payloads[0] + AM_NOISE_TAG;
      bool same = true;
      if (next(&c, &p, &mlen)) ct = masked(ct, &len, p, mlen, &same);
      int rc = transport_in(r, ct, len, in_place, same ? pl : NULL, sizeof payloads[0]);
      free(ct);
      /* a refused message breaks this direction's stream: rewind the
       * sender as if it had never sent it */
      if (rc != 0) w->send.n--;
    }
  } else {
    handshake_honest(&a, &b);
    while (next(&c, &p, &len)) {
      transport_in(&a, p, len, in_place, NULL, 0);
      transport_in(&b, p, len, in_place, NULL, 0);
    }
  }
out:
  am_noise_hs_wipe(&a.hs);
  am_noise_hs_wipe(&b.hs);
  am_noise_cipher_wipe(&a.send);
  am_noise_cipher_wipe(&a.recv);
  am_noise_cipher_wipe(&b.send);
  am_noise_cipher_wipe(&b.recv);
  return 0;
}
