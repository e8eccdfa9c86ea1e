/* The node's identity: an Ed25519 key pair (libsodium). The secret key lives
 * in guarded memory (sodium_malloc) and is wiped when released; on disk it is
 * a small text file of mode 0600. The public key has a text form that is
 * easy to copy and paste: unpadded URL-safe base64, 43 characters. Every
 * libsodium call of the project sits in crypto/. */
#ifndef AMICALE_CRYPTO_IDENTITY_H
#define AMICALE_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

#define AM_PUBKEY_BYTES 32
#define AM_SECKEY_BYTES 64     /* libsodium's seed || public key */
#define AM_SIG_BYTES 64
#define AM_PUBKEY_TEXT_LEN 43  /* without the terminating NUL */

typedef struct am_identity {
  uint8_t pk[AM_PUBKEY_BYTES];
  uint8_t *sk; /* AM_SECKEY_BYTES in sodium_malloc'd memory, or NULL */
} am_identity;

/* Initialises libsodium; safe to call more than once. AM_EINTERNAL if it
 * cannot. am_identity_generate and am_identity_load call it themselves. */
int am_crypto_init(void);

/* Fresh key pair from the system's random source. id is an output: what it
 * held is overwritten, not freed; on failure it holds no key (sk NULL, pk
 * zero), so am_identity_wipe is always safe afterwards. */
int am_identity_generate(am_identity *id, am_error *err);

/* Writes the secret key to path, which must not exist yet (O_EXCL; a
 * symbolic link there counts as existing): AM_EEXIST. The mode is exactly
 * 0600 whatever the umask, and the file is fsynced (not its directory). Any
 * other failure is AM_EIO, naming the path and the system's reason, and
 * removes the partial file; AM_EUSAGE when id has no secret key.
 * File format (text, LF line ends):
 *   line 1: "# Amicale node secret key: keep private, back up safely."
 *   line 2: "amicale-secret-key-v1 " + base64url-nopad(seed[32] || pk[32])
 * Any further lines are ignored. */
int am_identity_save(const am_identity *id, const char *path, am_error *err);

/* Loads and checks a key file. The key line is the first line starting
 * with "amicale-secret-key-"; other lines are ignored, a CR or blanks at its
 * end tolerated. Errors (each with a message naming the file):
 *   AM_ENOTFOUND  no file at path;
 *   AM_EINVAL     a symbolic link (not followed), not a regular file, or
 *                 readable/writable by group or others (says: chmod 600);
 *   AM_ENEWER     "amicale-secret-key-vN" with N other than 1;
 *   AM_ECORRUPT   no key line ("not an Amicale key file"), an empty file or
 *                 one over 4096 bytes, bad base64url or not 64 bytes, or a
 *                 stored public key that differs from the one derived from
 *                 the seed (compared in constant time): "damaged key file";
 *   AM_EIO        the system refused to open or read it.
 * id is an output as for am_identity_generate. Intermediate copies of the
 * secret are wiped. */
int am_identity_load(am_identity *id, const char *path, am_error *err);

/* Wipes and frees the secret key (sodium_free), sets sk to NULL and zeroes
 * pk. id may be NULL; wiping twice is harmless. */
void am_identity_wipe(am_identity *id);

/* Public key text form; out gets AM_PUBKEY_TEXT_LEN chars and a NUL. */
void am_pubkey_to_text(const uint8_t pk[static AM_PUBKEY_BYTES],
                       char out[static AM_PUBKEY_TEXT_LEN + 1]);
/* Parses the text form (surrounding ASCII white space ignored); AM_EINVAL
 * with a message quoting the input (shortened) when it is not exactly 43
 * characters of base64url in canonical form; pk is then left untouched. */
int am_pubkey_from_text(const char *text, uint8_t pk[static AM_PUBKEY_BYTES],
                        am_error *err);

/* Detached Ed25519 signatures (used by announcements). msg may be NULL when
 * len is 0. am_sign: 0, or AM_EUSAGE without a secret key. am_verify: 0 when
 * sig is pk's signature of msg, else AM_EINVAL. */
int am_sign(const am_identity *id, const uint8_t *msg, size_t len,
            uint8_t sig[static AM_SIG_BYTES]);
int am_verify(const uint8_t pk[static AM_PUBKEY_BYTES], const uint8_t *msg,
              size_t len, const uint8_t sig[static AM_SIG_BYTES]);

/* Random bytes (member ids, invitation secrets). */
void am_random(void *buf, size_t len);

#endif
