/* Noise Protocol Framework, revision 34, suite 25519_ChaChaPoly_BLAKE2b
 * (see noise.h). The sections named below are the specification's. The
 * three objects of section 5 are flattened into am_noise_hs: its CipherState
 * (cs), the SymmetricState's ck and h, the HandshakeState's keys. Handshake
 * patterns are rows of a constant table, interpreted token by token; psk
 * modifiers are not copied into a row but applied on the fly from a bit mask
 * when a message's tokens are listed. Every libsodium primitive used is
 * one-shot or streaming over caller memory: nothing is allocated. */
#include "crypto/noise.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

static_assert(AM_NOISE_KEY == crypto_scalarmult_BYTES, "X25519 public key / DH output");
static_assert(AM_NOISE_KEY == crypto_scalarmult_SCALARBYTES, "X25519 private key");
static_assert(AM_NOISE_KEY == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "cipher key");
static_assert(AM_NOISE_TAG == crypto_aead_chacha20poly1305_ietf_ABYTES, "AEAD tag");
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "4 zero bytes || LE64(n)");
static_assert(AM_NOISE_HASH == crypto_generichash_blake2b_BYTES_MAX, "BLAKE2b-512");

#define BLOCKLEN 128 /* BLAKE2b's block: B of RFC 2104 */
static_assert(AM_NOISE_HASH <= BLOCKLEN, "HMAC keys (ck, temp_key) are padded, never hashed");
#define MAX_MSGS 4   /* the deferred patterns have four messages */
#define MAX_BASE_TOKENS 5 /* KX's and IX's second message: e, ee, se, s, es */
/* A message's tokens with its modifiers: psk0 before, pskN after. */
#define MAX_TOKENS (MAX_BASE_TOKENS + 2)
static_assert(AM_NOISE_MAX_PSKS == MAX_MSGS + 1, "psk0 .. pskN for N messages");
/* One per connection: keep an eye on its size (544 bytes on LP64). */
static_assert(sizeof(am_noise_hs) <= 576, "am_noise_hs grew");

enum { T_END, T_E, T_S, T_EE, T_ES, T_SE, T_SS, T_PSK };

enum { PRE_I = 1, PRE_R = 2 }; /* "-> s" / "<- s" before "..." */

struct am_noise_pattern {
  char name[5];
  uint8_t pre;
  uint8_t nmsg; /* 1: one-way */
  uint8_t msg[MAX_MSGS][MAX_BASE_TOKENS + 1]; /* T_END-terminated; even: initiator's */
};

#define E T_E
#define S T_S
#define EE T_EE
#define ES T_ES
#define SE T_SE
#define SS T_SS
/* Sections 7.4 (one-way), 7.5 (interactive, fundamental) and 18 (deferred). */
static const struct am_noise_pattern patterns[] = {
    {"N", PRE_R, 1, {{E, ES}}},
    {"K", PRE_I | PRE_R, 1, {{E, ES, SS}}},
    {"X", PRE_R, 1, {{E, ES, S, SS}}},
    {"NN", 0, 2, {{E}, {E, EE}}},
    {"NK", PRE_R, 2, {{E, ES}, {E, EE}}},
    {"NX", 0, 2, {{E}, {E, EE, S, ES}}},
    {"XN", 0, 3, {{E}, {E, EE}, {S, SE}}},
    {"XK", PRE_R, 3, {{E, ES}, {E, EE}, {S, SE}}},
    {"XX", 0, 3, {{E}, {E, EE, S, ES}, {S, SE}}},
    {"KN", PRE_I, 2, {{E}, {E, EE, SE}}},
    {"KK", PRE_I | PRE_R, 2, {{E, ES, SS}, {E, EE, SE}}},
    {"KX", PRE_I, 2, {{E}, {E, EE, SE, S, ES}}},
    {"IN", 0, 2, {{E, S}, {E, EE, SE}}},
    {"IK", PRE_R, 2, {{E, ES, S, SS}, {E, EE, SE}}},
    {"IX", 0, 2, {{E, S}, {E, EE, SE, S, ES}}},
    {"NK1", PRE_R, 2, {{E}, {E, EE, ES}}},
    {"NX1", 0, 3, {{E}, {E, EE, S}, {ES}}},
    {"X1N", 0, 4, {{E}, {E, EE}, {S}, {SE}}},
    {"X1K", PRE_R, 4, {{E, ES}, {E, EE}, {S}, {SE}}},
    {"XK1", PRE_R, 3, {{E}, {E, EE, ES}, {S, SE}}},
    {"X1K1", PRE_R, 4, {{E}, {E, EE, ES}, {S}, {SE}}},
    {"X1X", 0, 4, {{E}, {E, EE, S, ES}, {S}, {SE}}},
    {"XX1", 0, 3, {{E}, {E, EE, S}, {ES, S, SE}}},
    {"X1X1", 0, 4, {{E}, {E, EE, S}, {ES, S}, {SE}}},
    {"K1N", PRE_I, 3, {{E}, {E, EE}, {SE}}},
    {"K1K", PRE_I | PRE_R, 3, {{E, ES}, {E, EE}, {SE}}},
    {"KK1", PRE_I | PRE_R, 2, {{E}, {E, EE, SE, ES}}},
    {"K1K1", PRE_I | PRE_R, 3, {{E}, {E, EE, ES}, {SE}}},
    {"K1X", PRE_I, 3, {{E}, {E, EE, S, ES}, {SE}}},
    {"KX1", PRE_I, 3, {{E}, {E, EE, SE, S}, {ES}}},
    {"K1X1", PRE_I, 3, {{E}, {E, EE, S}, {SE, ES}}},
    {"I1N", 0, 3, {{E, S}, {E, EE}, {SE}}},
    {"I1K", PRE_R, 3, {{E, ES, S}, {E, EE}, {SE}}},
    {"IK1", PRE_R, 2, {{E, S}, {E, EE, SE, ES}}},
    {"I1K1", PRE_R, 3, {{E, S}, {E, EE, ES}, {SE}}},
    {"I1X", 0, 3, {{E, S}, {E, EE, S, ES}, {SE}}},
    {"IX1", 0, 3, {{E, S}, {E, EE, SE, S}, {ES}}},
    {"I1X1", 0, 3, {{E, S}, {E, EE, S}, {SE, ES}}},
};
#undef E
#undef S
#undef EE
#undef ES
#undef SE
#undef SS

enum { ST_FRESH, ST_RUN, ST_DONE, ST_SPLIT, ST_FAILED };
enum { K_S = 1, K_E = 2, K_RS = 4, K_RE = 8 };

#define PREFIX "Noise_"
#define SUFFIX "_25519_ChaChaPoly_BLAKE2b"

/* ---- Hash functions (section 4.3) ---- */

static void hash2(uint8_t out[static AM_NOISE_HASH], const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen) {
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, NULL, 0, AM_NOISE_HASH);
  crypto_generichash_blake2b_update(&st, a, alen);
  if (blen) crypto_generichash_blake2b_update(&st, b, blen);
  crypto_generichash_blake2b_final(&st, out, AM_NOISE_HASH);
}

/* HMAC-HASH(key, a || b) by RFC 2104 with B = 128: the key is always
 * HASHLEN = 64 bytes in Noise, so it is zero-padded, never hashed. BLAKE2b's
 * own keyed mode would give other bytes. out may alias key or a: it is
 * written last. */
static void hmac(uint8_t out[static AM_NOISE_HASH], const uint8_t key[static AM_NOISE_HASH],
                 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  crypto_generichash_blake2b_state st;
  uint8_t pad[BLOCKLEN], inner[AM_NOISE_HASH];
  for (size_t i = 0; i < AM_NOISE_HASH; i++) pad[i] = key[i] ^ 0x36;
  memset(pad + AM_NOISE_HASH, 0x36, BLOCKLEN - AM_NOISE_HASH);
  crypto_generichash_blake2b_init(&st, NULL, 0, AM_NOISE_HASH);
  crypto_generichash_blake2b_update(&st, pad, BLOCKLEN);
  if (alen) crypto_generichash_blake2b_update(&st, a, alen);
  if (blen) crypto_generichash_blake2b_update(&st, b, blen);
  crypto_generichash_blake2b_final(&st, inner, AM_NOISE_HASH);
  for (size_t i = 0; i < AM_NOISE_HASH; i++) pad[i] = key[i] ^ 0x5c;
  memset(pad + AM_NOISE_HASH, 0x5c, BLOCKLEN - AM_NOISE_HASH);
  crypto_generichash_blake2b_init(&st, NULL, 0, AM_NOISE_HASH);
  crypto_generichash_blake2b_update(&st, pad, BLOCKLEN);
  crypto_generichash_blake2b_update(&st, inner, AM_NOISE_HASH);
  crypto_generichash_blake2b_final(&st, out, AM_NOISE_HASH);
  sodium_memzero(pad, sizeof pad);
  sodium_memzero(inner, sizeof inner);
  sodium_memzero(&st, sizeof st);
}

/* HKDF(chaining_key, ikm) with two or three outputs (o3 NULL: two). o1
 * may be ck itself: ck is read only for temp_key. */
static void hkdf(const uint8_t ck[static AM_NOISE_HASH], const uint8_t *ikm, size_t ikmlen,
                 uint8_t o1[static AM_NOISE_HASH], uint8_t o2[static AM_NOISE_HASH],
                 uint8_t *o3) {
  static const uint8_t one = 1, two = 2, three = 3;
  uint8_t temp[AM_NOISE_HASH];
  hmac(temp, ck, ikm, ikmlen, NULL, 0);
  hmac(o1, temp, &one, 1, NULL, 0);
  hmac(o2, temp, o1, AM_NOISE_HASH, &two, 1);
  if (o3) hmac(o3, temp, o2, AM_NOISE_HASH, &three, 1);
  sodium_memzero(temp, sizeof temp);
}

/* ---- Cipher functions (sections 4.2, 12.3) ---- */

#define NONCE_MAX UINT64_MAX /* reserved: Rekey's nonce, never a message's */

static void nonce_of(uint8_t nonce[static 12], uint64_t n) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, in) into out (len + tag); out may equal in. */
static void aead_encrypt(const uint8_t k[static AM_NOISE_KEY], uint64_t n, const uint8_t *ad,
                         size_t adlen, const uint8_t *in, size_t len, uint8_t *out) {
  uint8_t nonce[12];
  nonce_of(nonce, n);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, adlen, NULL, nonce, k);
}

/* DECRYPT(k, n, ad, in [len >= tag]) into out (len - tag); out may equal in.
 * libsodium checks the tag before it writes anything but zeros. */
static int aead_decrypt(const uint8_t k[static AM_NOISE_KEY], uint64_t n, const uint8_t *ad,
                        size_t adlen, const uint8_t *in, size_t len, uint8_t *out) {
  uint8_t nonce[12];
  nonce_of(nonce, n);
  return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, adlen, nonce,
                                                   k) == 0
             ? 0
             : AM_EINVAL;
}

/* Whether [a, a+alen) and [b, b+blen) share a byte (addresses as integers:
 * they may belong to different objects). */
static bool overlap(const void *a, size_t alen, const void *b, size_t blen) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return alen && blen && x < y + blen && y < x + alen;
}

int am_noise_encrypt(am_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                     size_t len, uint8_t *out) {
  if (!c || !c->has_key || c->n == NONCE_MAX || !out || (len && !in) || (adlen && !ad))
    return AM_EUSAGE;
  if (len > AM_NOISE_MAX_PAYLOAD) return AM_ETOOBIG;
  aead_encrypt(c->k, c->n, ad, adlen, in, len, out);
  c->n++;
  return 0;
}

int am_noise_decrypt(am_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *in,
                     size_t len, uint8_t *out) {
  if (!c || !c->has_key || c->n == NONCE_MAX || (len && !in) || (adlen && !ad))
    return AM_EUSAGE;
  if (len > AM_NOISE_MAX_MSG) return AM_ETOOBIG;
  if (len < AM_NOISE_TAG) return AM_EINVAL;
  if (!out && len > AM_NOISE_TAG) return AM_EUSAGE;
  int rc = aead_decrypt(c->k, c->n, ad, adlen, in, len, out);
  if (rc == 0) c->n++;
  return rc;
}

int am_noise_rekey(am_noise_cipher *c) {
  if (!c || !c->has_key) return AM_EUSAGE;
  static const uint8_t zeros[AM_NOISE_KEY];
  uint8_t out[AM_NOISE_KEY + AM_NOISE_TAG];
  aead_encrypt(c->k, NONCE_MAX, NULL, 0, zeros, sizeof zeros, out);
  memcpy(c->k, out, AM_NOISE_KEY);
  sodium_memzero(out, sizeof out);
  return 0;
}

void am_noise_cipher_wipe(am_noise_cipher *c) {
  if (c) sodium_memzero(c, sizeof *c);
}

/* ---- Key pairs (DH functions, section 12.1) ---- */

int am_noise_keypair_generate(am_noise_keypair *kp) {
  if (!kp) return AM_EUSAGE;
  if (sodium_init() < 0) return AM_EINTERNAL;
  randombytes_buf(kp->priv, sizeof kp->priv);
  if (crypto_scalarmult_base(kp->pub, kp->priv) != 0) {
    sodium_memzero(kp, sizeof *kp);
    return AM_EINTERNAL;
  }
  return 0;
}

int am_noise_keypair_from_private(am_noise_keypair *kp, const uint8_t priv[static AM_NOISE_KEY]) {
  if (!kp) return AM_EUSAGE;
  memmove(kp->priv, priv, AM_NOISE_KEY);
  if (crypto_scalarmult_base(kp->pub, kp->priv) != 0) {
    sodium_memzero(kp, sizeof *kp);
    return AM_EINVAL;
  }
  return 0;
}

/* ---- SymmetricState (section 5.2) ---- */

static void mix_hash(am_noise_hs *hs, const uint8_t *data, size_t len) {
  hash2(hs->h, hs->h, AM_NOISE_HASH, data, len);
}

static void mix_key(am_noise_hs *hs, const uint8_t *ikm, size_t len) {
  uint8_t tk[AM_NOISE_HASH];
  hkdf(hs->ck, ikm, len, hs->ck, tk, NULL);
  memcpy(hs->cs.k, tk, AM_NOISE_KEY); /* HASHLEN 64: truncated to 32 */
  hs->cs.n = 0;
  hs->cs.has_key = true;
  sodium_memzero(tk, sizeof tk);
}

static void mix_key_and_hash(am_noise_hs *hs, const uint8_t psk[static AM_NOISE_KEY]) {
  uint8_t th[AM_NOISE_HASH], tk[AM_NOISE_HASH];
  hkdf(hs->ck, psk, AM_NOISE_KEY, hs->ck, th, tk);
  mix_hash(hs, th, sizeof th);
  memcpy(hs->cs.k, tk, AM_NOISE_KEY);
  hs->cs.n = 0;
  hs->cs.has_key = true;
  sodium_memzero(th, sizeof th);
  sodium_memzero(tk, sizeof tk);
}

/* EncryptAndHash(in [len]) into out: len + tag bytes with a key, else len.
 * out may equal in. */
static int encrypt_and_hash(am_noise_hs *hs, const uint8_t *in, size_t len, uint8_t *out) {
  if (!hs->cs.has_key) {
    if (len && out != in) memcpy(out, in, len);
    mix_hash(hs, out, len);
    return 0;
  }
  if (hs->cs.n == NONCE_MAX) return AM_EINVAL;
  aead_encrypt(hs->cs.k, hs->cs.n, hs->h, AM_NOISE_HASH, in, len, out);
  hs->cs.n++;
  mix_hash(hs, out, len + AM_NOISE_TAG);
  return 0;
}

/* DecryptAndHash(c [clen]) into out (clen, or clen - tag with a key).
 * out may equal c, lie inside it or be apart; when it overlaps c otherwise
 * than exactly, c is writable (the caller's in-place buffer): the payload
 * is decrypted where it lies, then moved. The new h covers the ciphertext,
 * so it is computed before an in-place decryption destroys it. */
static int decrypt_and_hash(am_noise_hs *hs, const uint8_t *c, size_t clen, uint8_t *out) {
  if (!hs->cs.has_key) {
    mix_hash(hs, c, clen);
    if (clen && out != c) memmove(out, c, clen);
    return 0;
  }
  if (hs->cs.n == NONCE_MAX) return AM_EINVAL;
  uint8_t h[AM_NOISE_HASH];
  size_t plen = clen - AM_NOISE_TAG;
  hash2(h, hs->h, AM_NOISE_HASH, c, clen);
  int rc;
  if (out == c || !overlap(out, plen, c, clen)) {
    rc = aead_decrypt(hs->cs.k, hs->cs.n, hs->h, AM_NOISE_HASH, c, clen, out);
  } else {
    uint8_t *w = (uint8_t *)(uintptr_t)c;
    rc = aead_decrypt(hs->cs.k, hs->cs.n, hs->h, AM_NOISE_HASH, w, clen, w);
    if (rc == 0) memmove(out, w, plen);
  }
  if (rc != 0) return rc;
  hs->cs.n++;
  memcpy(hs->h, h, AM_NOISE_HASH);
  return 0;
}

/* ---- HandshakeState (section 5.3) ---- */

/* The tokens of message m with the psk modifiers (section 9.2): psk0 goes
 * first in the first message, pskN last in message N-1. */
static size_t tokens_of(const am_noise_hs *hs, unsigned m, uint8_t t[static MAX_TOKENS]) {
  size_t n = 0;
  if (m == 0 && (hs->psk_mask & 1)) t[n++] = T_PSK;
  for (const uint8_t *p = hs->pattern->msg[m]; *p != T_END; p++) t[n++] = *p;
  if (hs->psk_mask & (1u << (m + 1))) t[n++] = T_PSK;
  return n;
}

/* Bytes a message's tokens take before the payload, and whether the payload
 * is then encrypted: the same walk as the processing, with has_key only. */
static size_t keys_len(const am_noise_hs *hs, const uint8_t *t, size_t n, bool *enc) {
  bool k = hs->cs.has_key;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    switch (t[i]) {
    case T_E:
      len += AM_NOISE_KEY;
      if (hs->psk_mask) k = true; /* MixKey(e.public_key), section 9.2 */
      break;
    case T_S:
      len += AM_NOISE_KEY + (k ? AM_NOISE_TAG : 0);
      break;
    default: /* a DH or psk: MixKey */
      k = true;
    }
  }
  *enc = k;
  return len;
}

/* A failed handshake keeps nothing: not a secret, not a key to report. */
static int fail(am_noise_hs *hs, int rc) {
  sodium_memzero(hs, sizeof *hs);
  hs->state = ST_FAILED;
  return rc;
}

/* MixKey(DH(local, remote)) for ee, es, se, ss from this side's view. The
 * pattern table and am_noise_hs_init guarantee the keys are there; the
 * flags are checked anyway (a missing key is a bug: AM_EINTERNAL). An
 * all-zero output (a low-order remote key) is refused: AM_EINVAL. */
static int dh_token(am_noise_hs *hs, uint8_t tok) {
  bool local_e, remote_e;
  switch (tok) {
  case T_EE: local_e = true, remote_e = true; break;
  case T_ES: local_e = hs->initiator, remote_e = !hs->initiator; break;
  case T_SE: local_e = !hs->initiator, remote_e = hs->initiator; break;
  default: local_e = false, remote_e = false; break; /* T_SS */
  }
  unsigned need = (local_e ? K_E : K_S) | (remote_e ? K_RE : K_RS);
  if ((hs->keys & need) != need) return AM_EINTERNAL;
  uint8_t dh[AM_NOISE_KEY];
  int rc = crypto_scalarmult(dh, local_e ? hs->e.priv : hs->s.priv, remote_e ? hs->re : hs->rs);
  if (rc == 0) mix_key(hs, dh, sizeof dh);
  sodium_memzero(dh, sizeof dh);
  return rc == 0 ? 0 : AM_EINVAL;
}

static void advance(am_noise_hs *hs) {
  if (++hs->msg == hs->pattern->nmsg) hs->state = ST_DONE;
}

/* Parses "Noise_<base>[pskN[+pskN..]]_25519_ChaChaPoly_BLAKE2b". */
static int parse_protocol(const char *name, size_t len, const struct am_noise_pattern **pat,
                          uint8_t *mask) {
  const size_t pre = sizeof PREFIX - 1, suf = sizeof SUFFIX - 1;
  if (len <= pre + suf || memcmp(name, PREFIX, pre) != 0 ||
      memcmp(name + len - suf, SUFFIX, suf) != 0)
    return AM_EUSAGE;
  const char *p = name + pre, *end = name + len - suf;
  size_t base = 0;
  while (p + base < end && p[base] != 'p') base++;
  *pat = NULL;
  for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
    if (strlen(patterns[i].name) == base && memcmp(patterns[i].name, p, base) == 0)
      *pat = &patterns[i];
  if (!*pat) return AM_EUSAGE;
  p += base;
  *mask = 0;
  int last = -1;
  while (p < end) {
    /* "psk" digit, then '+' and another, or the end */
    if (end - p < 4 || memcmp(p, "psk", 3) != 0 || p[3] < '0' || p[3] > '9') return AM_EUSAGE;
    int n = p[3] - '0';
    if (n > (*pat)->nmsg || n <= last) return AM_EUSAGE;
    *mask |= (uint8_t)(1u << n);
    last = n;
    p += 4;
    if (p < end && (*p != '+' || ++p == end)) return AM_EUSAGE;
  }
  return 0;
}

int am_noise_hs_init(am_noise_hs *hs, const am_noise_hs_config *cfg) {
  if (!hs) return AM_EUSAGE;
  sodium_memzero(hs, sizeof *hs);
  if (!cfg || !cfg->protocol || (cfg->prologue_len && !cfg->prologue)) return AM_EUSAGE;
  /* Every name parse_protocol accepts is shorter than HASHLEN (the longest,
   * with psk0+psk1+psk2+psk3+psk4, is 59 bytes), so InitializeSymmetric
   * always pads it and never hashes it. */
  size_t len = strnlen(cfg->protocol, AM_NOISE_HASH + 1);
  const struct am_noise_pattern *pat;
  uint8_t mask;
  if (len > AM_NOISE_HASH || parse_protocol(cfg->protocol, len, &pat, &mask) != 0)
    return AM_EUSAGE;

  /* The keys the pattern needs from this side's configuration. */
  bool me_pre = cfg->initiator ? pat->pre & PRE_I : pat->pre & PRE_R;
  bool peer_pre = cfg->initiator ? pat->pre & PRE_R : pat->pre & PRE_I;
  bool sends_s = me_pre;
  for (unsigned m = cfg->initiator ? 0 : 1; m < pat->nmsg; m += 2)
    for (const uint8_t *t = pat->msg[m]; *t != T_END; t++) sends_s |= *t == T_S;
  unsigned npsk = 0;
  for (unsigned i = 0; i <= MAX_MSGS; i++) npsk += (mask >> i) & 1;
  if ((sends_s && !cfg->s) || (peer_pre && !cfg->rs) || cfg->npsks != npsk ||
      (npsk && !cfg->psks))
    return AM_EUSAGE;

  hs->pattern = pat;
  hs->psk_mask = mask;
  hs->initiator = cfg->initiator;
  if (cfg->s) {
    hs->s = *cfg->s;
    hs->keys |= K_S;
  }
  if (cfg->e) {
    hs->e = *cfg->e;
    hs->keys |= K_E;
  } else if (sodium_init() < 0) {
    return fail(hs, AM_EINTERNAL);
  }
  if (peer_pre) {
    memcpy(hs->rs, cfg->rs, AM_NOISE_KEY);
    hs->keys |= K_RS;
  }
  if (npsk) memcpy(hs->psks, cfg->psks, npsk * AM_NOISE_KEY);

  memcpy(hs->h, cfg->protocol, len); /* the rest is zero */
  memcpy(hs->ck, hs->h, AM_NOISE_HASH);
  mix_hash(hs, cfg->prologue, cfg->prologue_len);
  /* Pre-messages: the initiator's key first. */
  if (pat->pre & PRE_I) mix_hash(hs, cfg->initiator ? hs->s.pub : hs->rs, AM_NOISE_KEY);
  if (pat->pre & PRE_R) mix_hash(hs, cfg->initiator ? hs->rs : hs->s.pub, AM_NOISE_KEY);
  hs->state = ST_RUN;
  return 0;
}

bool am_noise_hs_writes_next(const am_noise_hs *hs) {
  return hs && hs->state == ST_RUN && ((hs->msg & 1) == 0) == hs->initiator;
}

bool am_noise_hs_done(const am_noise_hs *hs) {
  return hs && (hs->state == ST_DONE || hs->state == ST_SPLIT);
}

int am_noise_hs_write(am_noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
                      size_t cap, size_t *outlen) {
  if (outlen) *outlen = 0;
  if (!am_noise_hs_writes_next(hs) || !outlen || (len && !payload) || (cap && !out))
    return AM_EUSAGE;
  uint8_t t[MAX_TOKENS];
  size_t n = tokens_of(hs, hs->msg, t);
  bool enc;
  size_t off = keys_len(hs, t, n, &enc);
  if (len > AM_NOISE_MAX_MSG) return AM_ETOOBIG;
  size_t total = off + len + (enc ? AM_NOISE_TAG : 0);
  if (total > AM_NOISE_MAX_MSG) return AM_ETOOBIG;
  if (total > cap) return AM_EUSAGE;

  /* A payload inside out is moved to where its ciphertext goes before the
   * keys are written over it, then encrypted in place. */
  const uint8_t *src = payload;
  if (overlap(payload, len, out, total)) {
    memmove(out + off, payload, len);
    src = out + off;
  }
  uint8_t *p = out;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    switch (t[i]) {
    case T_E:
      if (!(hs->keys & K_E)) {
        randombytes_buf(hs->e.priv, AM_NOISE_KEY);
        if (crypto_scalarmult_base(hs->e.pub, hs->e.priv) != 0) {
          rc = AM_EINTERNAL;
          break;
        }
        hs->keys |= K_E;
      }
      memcpy(p, hs->e.pub, AM_NOISE_KEY);
      mix_hash(hs, p, AM_NOISE_KEY);
      if (hs->psk_mask) mix_key(hs, p, AM_NOISE_KEY);
      p += AM_NOISE_KEY;
      break;
    case T_S: {
      bool k = hs->cs.has_key;
      rc = encrypt_and_hash(hs, hs->s.pub, AM_NOISE_KEY, p);
      p += AM_NOISE_KEY + (k ? AM_NOISE_TAG : 0);
      break;
    }
    case T_PSK:
      mix_key_and_hash(hs, hs->psks[hs->psk_next++]);
      break;
    default:
      rc = dh_token(hs, t[i]);
    }
  }
  if (rc == 0) rc = encrypt_and_hash(hs, src, len, p);
  if (rc != 0) return fail(hs, rc);
  advance(hs);
  *outlen = total;
  return 0;
}

int am_noise_hs_read(am_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                     size_t cap, size_t *plen) {
  if (plen) *plen = 0;
  if (!hs || hs->state != ST_RUN || am_noise_hs_writes_next(hs) || !plen || (len && !msg))
    return AM_EUSAGE;
  uint8_t t[MAX_TOKENS];
  size_t n = tokens_of(hs, hs->msg, t);
  bool enc;
  size_t off = keys_len(hs, t, n, &enc);
  size_t need = off + (enc ? AM_NOISE_TAG : 0);
  if (len > AM_NOISE_MAX_MSG) return fail(hs, AM_ETOOBIG);
  if (len < need) return fail(hs, AM_EINVAL);
  size_t pl = len - need;
  if (pl > cap || (pl && !payload)) return AM_EUSAGE;

  const uint8_t *p = msg;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    switch (t[i]) {
    case T_E:
      memcpy(hs->re, p, AM_NOISE_KEY);
      hs->keys |= K_RE;
      mix_hash(hs, hs->re, AM_NOISE_KEY);
      if (hs->psk_mask) mix_key(hs, hs->re, AM_NOISE_KEY);
      p += AM_NOISE_KEY;
      break;
    case T_S: {
      size_t sl = AM_NOISE_KEY + (hs->cs.has_key ? AM_NOISE_TAG : 0);
      rc = decrypt_and_hash(hs, p, sl, hs->rs);
      hs->keys |= K_RS;
      p += sl;
      break;
    }
    case T_PSK:
      mix_key_and_hash(hs, hs->psks[hs->psk_next++]);
      break;
    default:
      rc = dh_token(hs, t[i]);
    }
  }
  if (rc == 0) rc = decrypt_and_hash(hs, p, len - off, payload);
  if (rc != 0) return fail(hs, rc);
  advance(hs);
  *plen = pl;
  return 0;
}

int am_noise_hs_split(am_noise_hs *hs, am_noise_cipher *send, am_noise_cipher *recv,
                      uint8_t hash[static AM_NOISE_HASH]) {
  if (!hs || hs->state != ST_DONE || !send || !recv || send == recv) return AM_EUSAGE;
  uint8_t t1[AM_NOISE_HASH], t2[AM_NOISE_HASH];
  hkdf(hs->ck, NULL, 0, t1, t2, NULL);
  am_noise_cipher *c1 = hs->initiator ? send : recv, *c2 = hs->initiator ? recv : send;
  memcpy(c1->k, t1, AM_NOISE_KEY);
  c1->n = 0;
  c1->has_key = true;
  if (hs->pattern->nmsg == 1) { /* one-way: the second cipher is discarded */
    sodium_memzero(c2, sizeof *c2);
  } else {
    memcpy(c2->k, t2, AM_NOISE_KEY);
    c2->n = 0;
    c2->has_key = true;
  }
  sodium_memzero(t1, sizeof t1);
  sodium_memzero(t2, sizeof t2);
  memcpy(hash, hs->h, AM_NOISE_HASH);

  sodium_memzero(&hs->cs, sizeof hs->cs);
  sodium_memzero(hs->ck, sizeof hs->ck);
  sodium_memzero(&hs->s, sizeof hs->s);
  sodium_memzero(&hs->e, sizeof hs->e);
  sodium_memzero(hs->re, sizeof hs->re);
  sodium_memzero(hs->psks, sizeof hs->psks);
  hs->keys &= K_RS;
  hs->state = ST_SPLIT;
  return 0;
}

const uint8_t *am_noise_hs_remote_static(const am_noise_hs *hs) {
  if (!hs || hs->state == ST_FRESH || hs->state == ST_FAILED || !(hs->keys & K_RS)) return NULL;
  return hs->rs;
}

void am_noise_hs_get_hash(const am_noise_hs *hs, uint8_t out[static AM_NOISE_HASH]) {
  memcpy(out, hs->h, AM_NOISE_HASH);
}

void am_noise_hs_wipe(am_noise_hs *hs) {
  if (hs) sodium_memzero(hs, sizeof *hs);
}
