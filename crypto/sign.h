/* Signatures over announcements (proto/announce.h): the announcement id
 * (BLAKE2b-256 of the signed part), sealing (encode, sign, wrap) and
 * opening (decode, hash, verify the bytes exactly as received). The
 * signature covers AM_ANN_SIG_CONTEXT, one zero byte, then the signed part:
 * domain separation, so a node key's signature over these bytes can never
 * be mistaken for one over anything else. */
#ifndef AMICALE_CRYPTO_SIGN_H
#define AMICALE_CRYPTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "proto/announce.h"

/* id = BLAKE2b-256(signed part). */
void am_ann_hash(const uint8_t *signed_part, size_t len,
                 uint8_t id[static AM_ANN_ID_BYTES]);

/* Sets a->origin to the identity's public key, checks the announcement
 * (am_ann_check), encodes, signs, fills a->id and a->sig, and appends the
 * envelope to out. AM_EINVAL (err names the field) or AM_EUSAGE without a
 * secret key. */
int am_ann_seal(am_ann *a, const am_identity *id, am_buf *out, am_error *err);

/* Verifies the signature of envelope p[0..len) over the signed bytes as
 * received, against a->origin: 0 or AM_EINVAL. */
int am_ann_verify(const am_ann *a, const uint8_t *p, size_t len);

/* Decode + id + signature in one call; *reason as am_ann_decode, or
 * AM_REJ_BAD_SIGNATURE. a is empty on failure. */
int am_ann_open(const uint8_t *p, size_t len, am_ann *a, int *reason,
                am_error *err);

/* The fingerprint of a set of announcement ids (docs/PROTOCOL.md 15.2):
 * BLAKE2b with a 16-byte digest over the ids' sum (32 bytes, little-endian,
 * modulo 2^256) and their count (8 bytes, little-endian); 16 zero bytes for
 * the empty set. */
#define AM_FP_BYTES 16
void am_set_fingerprint(const uint8_t sum[static 32], uint64_t count,
                        uint8_t fp[static AM_FP_BYTES]);

/* A keyed 64-bit hash (SipHash-2-4) for hash tables that hold what peers
 * chose (short ids): with a random key per process, they cannot aim at
 * one bucket. */
void am_hashkey_init(uint8_t key[static 16]);
uint64_t am_keyed_hash(const uint8_t key[static 16], const uint8_t *p, size_t n);

#endif
