/* Invitations: how a node lets another one in without the two
 * administrators exchanging keys by hand. The inviting node makes a secret,
 * keeps only what is derived from it (store/peers.h, table `invite`), and
 * hands out a code carrying the secret, its own key and its address. The
 * accepting node connects, and inside the Noise handshake proves it holds
 * the secret by a MAC over the handshake hash, so a proof cannot be
 * replayed on another connection.
 *
 *   d        = BLAKE2b-512(key = secret[16], message = "amicale/invite/1")
 *   id       = d[0..8)       names the invitation (not secret)
 *   mac key  = d[32..64)     kept by the inviting node
 *   proof    = id || BLAKE2b-256(key = mac key, message = h)   (40 bytes)
 *              h: the 64-byte Noise handshake hash
 *   code     = "amicale-invite:" + base64url-nopad(0x01 || secret[16] ||
 *              node public key[32] || port[2, big-endian] || host[1..253])
 *
 * The host in a code is the text of am_addr.host: a lower-case name, an
 * IPv4 dotted quad, or an IPv6 address without brackets.
 *
 * Both the hashing and the code text live here, in crypto/: the code is
 * base64url (libsodium's constant-time codec, as for keys) and holds a
 * secret that must be wiped (sodium_memzero), so a proto/ version would
 * need libsodium anyway, and every libsodium call stays in crypto/. */
#ifndef AMICALE_CRYPTO_INVITE_H
#define AMICALE_CRYPTO_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "proto/address.h"
#include "proto/error.h"

#define AM_INVITE_SECRET_BYTES 16
#define AM_INVITE_ID_BYTES 8
#define AM_INVITE_MAC_KEY_BYTES 32
#define AM_INVITE_HASH_BYTES 64  /* the Noise handshake hash h */
#define AM_INVITE_TAG_BYTES 32
#define AM_INVITE_PROOF_BYTES (AM_INVITE_ID_BYTES + AM_INVITE_TAG_BYTES) /* 40 */
#define AM_INVITE_CONTEXT "amicale/invite/1"

#define AM_INVITE_CODE_PREFIX "amicale-invite:"
#define AM_INVITE_CODE_VERSION 1
/* version, secret, key, port, host: 20 to 304 bytes before base64 */
#define AM_INVITE_RAW_MIN (1 + AM_INVITE_SECRET_BYTES + AM_PUBKEY_BYTES + 2 + 1)
#define AM_INVITE_RAW_MAX (AM_INVITE_RAW_MIN - 1 + AM_HOST_MAX)
/* Longest code text, without the NUL: the prefix and ceil(304 * 4 / 3). */
#define AM_INVITE_CODE_MAX (sizeof AM_INVITE_CODE_PREFIX - 1 + (AM_INVITE_RAW_MAX * 4 + 2) / 3)

/* id and mac key of a secret. */
void am_invite_derive(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                      uint8_t id[static AM_INVITE_ID_BYTES],
                      uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES]);

/* The accepting node's proof for handshake hash h. */
void am_invite_proof(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                     const uint8_t h[static AM_INVITE_HASH_BYTES],
                     uint8_t proof[static AM_INVITE_PROOF_BYTES]);

/* The inviting node's check: 0 when proof is id || MAC(mac_key, h),
 * compared in constant time; AM_EINVAL otherwise. */
int am_invite_proof_check(const uint8_t id[static AM_INVITE_ID_BYTES],
                          const uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES],
                          const uint8_t h[static AM_INVITE_HASH_BYTES],
                          const uint8_t proof[static AM_INVITE_PROOF_BYTES]);

/* What a code carries. Wipe it (am_invite_code_wipe) when done. */
typedef struct am_invite_code {
  uint8_t secret[AM_INVITE_SECRET_BYTES];
  uint8_t node_key[AM_PUBKEY_BYTES]; /* the inviting node */
  am_addr addr;                      /* where to reach it */
} am_invite_code;

/* A fresh secret from the system's random source (initialises libsodium). */
int am_invite_secret_new(uint8_t secret[static AM_INVITE_SECRET_BYTES]);

/* Writes the code text (NUL-terminated, at most AM_INVITE_CODE_MAX bytes).
 * AM_EINVAL when c->addr is not a reachable address. */
int am_invite_code_encode(const am_invite_code *c, char out[static AM_INVITE_CODE_MAX + 1],
                          am_error *err);

/* Reads a code (surrounding white space ignored; line breaks or spaces
 * inside the base64 part too, as a mail program may wrap a long line).
 * Refusals, with a message for an administrator, never a programmer:
 *   AM_EINVAL  not starting with "amicale-invite:", bad base64, too short
 *              or too long, an invalid host, port 0 ("this invitation code
 *              is damaged or incomplete: check it was copied whole");
 *   AM_ENEWER  a version byte above 1 ("made by a newer version of
 *              Amicale").
 * out is wiped on failure; intermediate copies of the secret are wiped. */
int am_invite_code_decode(const char *text, am_invite_code *out, am_error *err);

void am_invite_code_wipe(am_invite_code *c);

/* Login codes (docs/PROTOCOL.md section 16.1): the same construction for
 * one member's first connection, with its own context string and prefix,
 * so that a login code can never be taken for a node invitation nor the
 * reverse (their ids and MAC keys differ for the same secret):
 *
 *   d    = BLAKE2b-512(key = secret[16], message = "amicale/login/1")
 *   code = "amicale-login:" + base64url-nopad(the same bytes as above)
 *
 * am_invite_proof_check checks either kind of proof (it takes the id and
 * MAC key). */
#define AM_LOGIN_CONTEXT "amicale/login/1"
#define AM_LOGIN_CODE_PREFIX "amicale-login:"
#define AM_LOGIN_CODE_MAX (sizeof AM_LOGIN_CODE_PREFIX - 1 + (AM_INVITE_RAW_MAX * 4 + 2) / 3)

void am_login_derive(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                     uint8_t id[static AM_INVITE_ID_BYTES],
                     uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES]);
void am_login_proof(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                    const uint8_t h[static AM_INVITE_HASH_BYTES],
                    uint8_t proof[static AM_INVITE_PROOF_BYTES]);
int am_login_code_encode(const am_invite_code *c, char out[static AM_LOGIN_CODE_MAX + 1],
                         am_error *err);
/* As am_invite_code_decode, for "amicale-login:" codes (an invitation code
 * given instead is refused with a sentence saying so, and the reverse). */
int am_login_code_decode(const char *text, am_invite_code *out, am_error *err);

/* sodium_memzero, for secrets held outside crypto/ (the CLI's copy of a
 * fresh invitation secret). */
void am_wipe(void *p, size_t len);

#endif
