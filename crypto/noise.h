/* The Noise Protocol Framework (revision 34) for the one cipher suite the
 * node speaks: Noise_<PATTERN>_25519_ChaChaPoly_BLAKE2b (X25519, the IETF
 * ChaCha20-Poly1305 AEAD, BLAKE2b-512 with HMAC/HKDF as the specification's
 * section 4.3 defines them), over libsodium. The handshake patterns are a
 * table read at run time: the fundamental ones (N, K, X, NN .. IX), the
 * deferred ones of section 18 (NK1 .. I1X1) and any of them with psk
 * modifiers ("XXpsk3", "NNpsk0+psk2"). Proven against the cacophony test
 * vectors (tests/vectors/noise). Nothing here allocates: every struct is
 * plain, embeddable (a daemon keeps one am_noise_hs per connection) and is
 * wiped with its am_noise_*_wipe function. Functions return 0 or a negative
 * AM_E* code (proto/error.h):
 *   AM_EINVAL   a received message that fails to authenticate, is too short
 *               or carries a key whose DH output is zero;
 *   AM_EUSAGE   a call in the wrong state, an output buffer too small, an
 *               unknown protocol name, a key the pattern needs and was not
 *               given;
 *   AM_ETOOBIG  over AM_NOISE_MAX_MSG bytes on the wire. */
#ifndef AMICALE_CRYPTO_NOISE_H
#define AMICALE_CRYPTO_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

#define AM_NOISE_MAX_MSG 65535 /* any Noise message, handshake or transport */
#define AM_NOISE_KEY 32        /* DH public/private key, DH output, cipher key */
#define AM_NOISE_HASH 64       /* HASHLEN: handshake hash, chaining key */
#define AM_NOISE_TAG 16        /* AEAD tag added to every encrypted field */
#define AM_NOISE_MAX_PAYLOAD (AM_NOISE_MAX_MSG - AM_NOISE_TAG) /* one transport message */
#define AM_NOISE_MAX_PSKS 5    /* psk0 .. psk4: a pattern has at most 4 messages */

/* A CipherState (section 5.1): key, nonce counter. A cipher without a key
 * (has_key false) refuses to encrypt or decrypt. */
typedef struct am_noise_cipher {
  uint8_t k[AM_NOISE_KEY];
  uint64_t n;
  bool has_key;
} am_noise_cipher;

/* An X25519 key pair. */
typedef struct am_noise_keypair {
  uint8_t priv[AM_NOISE_KEY], pub[AM_NOISE_KEY];
} am_noise_keypair;

/* A HandshakeState (section 5.3) with its SymmetricState (5.2). Opaque in
 * use: read it only through the functions below. 544 bytes on LP64. */
struct am_noise_pattern;
typedef struct am_noise_hs {
  am_noise_cipher cs;          /* the handshake's CipherState */
  uint8_t ck[AM_NOISE_HASH];   /* chaining key */
  uint8_t h[AM_NOISE_HASH];    /* handshake hash */
  am_noise_keypair s, e;
  uint8_t rs[AM_NOISE_KEY], re[AM_NOISE_KEY];
  uint8_t psks[AM_NOISE_MAX_PSKS][AM_NOISE_KEY];
  const struct am_noise_pattern *pattern; /* a row of the static table */
  uint8_t state;    /* internal: fresh (wiped), running, done, split, failed */
  uint8_t msg;      /* index of the next handshake message */
  uint8_t psk_mask; /* bit i: modifier "pski" */
  uint8_t psk_next; /* psks[] used so far */
  uint8_t keys;     /* internal: which of s, e, rs, re are set */
  bool initiator;
} am_noise_hs;

typedef struct am_noise_hs_config {
  const char *protocol;       /* "Noise_XX_25519_ChaChaPoly_BLAKE2b" */
  bool initiator;
  const uint8_t *prologue;    /* may be NULL when prologue_len is 0 */
  size_t prologue_len;
  const am_noise_keypair *s;  /* local static key pair, or NULL */
  const am_noise_keypair *e;  /* fixed ephemeral (test vectors only), or NULL:
                                 generated when the "e" token is written */
  const uint8_t *rs;          /* the peer's static public key known in
                                 advance (AM_NOISE_KEY bytes), or NULL */
  const uint8_t (*psks)[AM_NOISE_KEY]; /* in the order the pattern uses them */
  size_t npsks;
} am_noise_hs_config;

/* A random X25519 key pair (initialises libsodium if needed). */
int am_noise_keypair_generate(am_noise_keypair *kp);

/* The key pair of a given private key (copied; the public key derived). */
int am_noise_keypair_from_private(am_noise_keypair *kp,
                                  const uint8_t priv[static AM_NOISE_KEY]);

/* Initialize() (section 5.3): parses cfg->protocol, hashes it, the
 * prologue and the pre-message keys. The keys and psks are copied: cfg and
 * what it points to may go once this returns. AM_EUSAGE (hs then wiped) for
 * an unknown or malformed protocol name (modifiers must be distinct pskN in
 * increasing order, N at most the number of messages), a missing local
 * static key the pattern sends or pre-shares, a missing rs the pattern has
 * as a pre-message, or npsks other than the number of psk modifiers. A
 * given s or rs the pattern does not use is ignored (rs then still comes
 * from the peer's message, and am_noise_hs_remote_static gives that). */
int am_noise_hs_init(am_noise_hs *hs, const am_noise_hs_config *cfg);

/* True when the next handshake message is ours to write (false once done,
 * failed or wiped). */
bool am_noise_hs_writes_next(const am_noise_hs *hs);

/* True once the last handshake message was written or read (and after
 * am_noise_hs_split). */
bool am_noise_hs_done(const am_noise_hs *hs);

/* WriteMessage(): writes the next handshake message, carrying payload
 * [0, len), into out (cap bytes); *outlen gets its length. payload may be
 * NULL when len is 0, and may lie anywhere in out (in place). Checked before
 * anything is touched, the state then unchanged: AM_EUSAGE when it is not
 * our turn or the handshake is done or failed, or the message would not fit
 * in cap; AM_ETOOBIG when it would exceed AM_NOISE_MAX_MSG. Any later
 * failure (a peer's key giving a zero DH output: AM_EINVAL) leaves the
 * handshake failed: every call but the wipe then gives AM_EUSAGE. */
int am_noise_hs_write(am_noise_hs *hs, const uint8_t *payload, size_t len,
                      uint8_t *out, size_t cap, size_t *outlen);

/* ReadMessage(): reads the next handshake message msg [0, len) and
 * decrypts its payload into payload (cap bytes); *plen gets its length.
 * payload may be msg itself or lie inside it (in place: msg is then
 * overwritten), or be a separate buffer. AM_EUSAGE, with the state
 * unchanged, when it is not our turn to read, the handshake is done or
 * failed, or the payload would not fit in cap. A message that is too long
 * (AM_ETOOBIG), too short for the pattern's keys and tags, fails to
 * authenticate or carries a key giving a zero DH output (AM_EINVAL) leaves
 * the handshake failed, its secrets wiped: it then refuses everything. */
int am_noise_hs_read(am_noise_hs *hs, const uint8_t *msg, size_t len,
                     uint8_t *payload, size_t cap, size_t *plen);

/* Split(), once done: the transport ciphers from this side's view (send:
 * ours to the peer; recv: the peer's to us) and the final handshake hash.
 * For the one-way patterns (N, K, X and their psk variants) only the
 * initiator sends: the initiator's recv and the responder's send come out
 * without a key (they refuse to work), as section 7.4 requires. The
 * handshake's secrets are wiped; the hash and the remote static key stay
 * readable. AM_EUSAGE when not done or already split. */
int am_noise_hs_split(am_noise_hs *hs, am_noise_cipher *send, am_noise_cipher *recv,
                      uint8_t hash[static AM_NOISE_HASH]);

/* The peer's static public key (AM_NOISE_KEY bytes) once known: given in
 * advance (a pre-message of the pattern) or received in a handshake
 * message. That the peer holds its private key is proven only by a later
 * payload that decrypts, so rely on it once am_noise_hs_done. NULL before,
 * after a failure and after a wipe; kept by the split. Valid while hs is. */
const uint8_t *am_noise_hs_remote_static(const am_noise_hs *hs);

/* The handshake hash h as it is now (for channel binding: invitation proofs
 * sign it); the final one after the handshake. */
void am_noise_hs_get_hash(const am_noise_hs *hs, uint8_t out[static AM_NOISE_HASH]);

/* EncryptWithAd(): out gets len + AM_NOISE_TAG bytes. in and out may be the
 * same buffer (not otherwise overlapping); in may be NULL when len is 0, ad
 * when adlen is 0. AM_EUSAGE without a key or once n reached 2^64-1 (the
 * reserved nonce: rekey does not lift this, a new handshake does);
 * AM_ETOOBIG when len > AM_NOISE_MAX_PAYLOAD. n advances on success only. */
int am_noise_encrypt(am_noise_cipher *c, const uint8_t *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out);

/* DecryptWithAd(): in [0, len) is a ciphertext with its tag; out gets
 * len - AM_NOISE_TAG bytes (in place allowed as for encrypt). AM_EINVAL
 * when len < AM_NOISE_TAG or authentication fails (out is then zeroed), and
 * n does not advance; AM_ETOOBIG when len > AM_NOISE_MAX_MSG; AM_EUSAGE as
 * for encrypt. */
int am_noise_decrypt(am_noise_cipher *c, const uint8_t *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out);

/* Rekey() (section 4.2): k = the first 32 bytes of ENCRYPT(k, 2^64-1, "",
 * 32 zero bytes); n is kept. Both sides must rekey at the same point of
 * the stream. AM_EUSAGE without a key. */
int am_noise_rekey(am_noise_cipher *c);

/* Wipe everything (sodium_memzero); the object is then fresh: every call
 * but init refuses it. NULL is allowed; wiping twice is harmless. */
void am_noise_hs_wipe(am_noise_hs *hs);
void am_noise_cipher_wipe(am_noise_cipher *c);

#endif
