/* The Amicale handshake (docs/PROTOCOL.md 14.1–14.3): Noise XX with the
 * prologue "amicale/transport", whose payloads settle the transport version
 * and bind each side's Noise static key to its Ed25519 identity. When it is
 * done, each side knows the other's identity key, cryptographically.
 *
 * A state machine with no I/O: node/ feeds it the handshake messages it
 * reads (without their 2-byte length) and writes what it produces (with
 * it). Admission (is this identity a peer? is its invitation valid?) is the
 * caller's decision, taken after the last message. */
#ifndef AMICALE_CRYPTO_HANDSHAKE_H
#define AMICALE_CRYPTO_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "crypto/noise.h"
#include "proto/error.h"
#include "proto/session.h"

#define AM_HS_PROLOGUE "amicale/transport"
#define AM_HS_PROTOCOL "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define AM_HS_BINDING_CONTEXT "amicale/transport/1/static-key"

/* What a node needs for every handshake: this run's Noise static key pair
 * and its binding to the identity, signed once at start. */
typedef struct am_hs_local {
  am_noise_keypair s;
  uint8_t identity[AM_PUBKEY_BYTES];
  uint8_t binding[AM_SIG_BYTES];
} am_hs_local;

/* A fresh static key pair signed by id (which must hold its secret key). */
int am_hs_local_init(am_hs_local *l, const am_identity *id);
/* The same with a given static private key (the transport test vectors;
 * a node that keeps its static key across restarts could use it too). */
int am_hs_local_init_with(am_hs_local *l, const am_identity *id,
                          const uint8_t static_private[static 32]);
void am_hs_local_wipe(am_hs_local *l);

/* The bytes an identity signs to bind a static key (63 bytes). */
#define AM_HS_BINDING_MSG_LEN (sizeof AM_HS_BINDING_CONTEXT + 32)
void am_hs_binding_message(const uint8_t static_pub[static 32],
                           uint8_t out[static AM_HS_BINDING_MSG_LEN]);

/* Why a handshake failed, for logs and status. */
enum am_hs_failure {
  AM_HSF_NONE = 0,
  AM_HSF_NOISE,     /* Noise refused the message (tag, key, length) */
  AM_HSF_PAYLOAD,   /* payload not as section 14.2 says */
  AM_HSF_BINDING,   /* the identity's signature over the static key is wrong */
  AM_HSF_WRONG_KEY, /* initiator: a different identity answered */
  AM_HSF_VERSION,   /* no transport version in common */
  AM_HSF_STATE,     /* called out of turn */
};
const char *am_hs_failure_text(int failure);

/* Computes the invitation proof of section 14.9 over h (initiator). */
typedef int (*am_hs_proof_fn)(void *arg, const uint8_t h[static 64], uint8_t proof[static 40]);

typedef struct am_hs {
  am_noise_hs noise;
  const am_hs_local *local;
  bool initiator;
  uint8_t step; /* handshake messages processed: 0..3 */
  uint8_t version;
  uint8_t failure;
  uint8_t expected[AM_PUBKEY_BYTES]; /* initiator: the identity it means to reach */
  uint8_t remote[AM_PUBKEY_BYTES];   /* the other side's identity, once proven */
  am_versions remote_versions;
  am_hs_proof_fn proof_fn;
  void *proof_arg;
  /* Responder: the invitation proof received in message 3, and the
   * handshake hash it must be checked against. */
  bool has_invitation;
  uint8_t invitation[40];
  uint8_t h_before_3[64];
} am_hs;

/* Initiator towards the node whose identity is `expected`; proof_fn (may
 * be NULL) supplies an invitation proof for message 3. */
int am_hs_start_initiator(am_hs *hs, const am_hs_local *local,
                          const uint8_t expected[static AM_PUBKEY_BYTES],
                          am_hs_proof_fn proof_fn, void *proof_arg);
int am_hs_start_responder(am_hs *hs, const am_hs_local *local);

/* Uses e as this side's ephemeral private key instead of a random one:
 * for test vectors only (a fixed ephemeral breaks forward secrecy). Only
 * before the first message; AM_EUSAGE afterwards. */
int am_hs_fix_ephemeral(am_hs *hs, const uint8_t e[static 32]);

bool am_hs_wants_write(const am_hs *hs);
bool am_hs_done(const am_hs *hs);
/* Size bounds of the next message to read (without its length prefix):
 * a length outside them ends the connection before anything is read. */
size_t am_hs_read_min(const am_hs *hs);
size_t am_hs_read_max(const am_hs *hs);

/* Writes the next handshake message, with its 2-byte length, to out
 * (AM_HS_MSG_MAX + 2 bytes are always enough). */
int am_hs_write(am_hs *hs, uint8_t *out, size_t cap, size_t *len, am_error *err);
/* Reads the next handshake message (without its length). On failure the
 * state is dead (hs->failure says why) and err has a sentence. */
int am_hs_read(am_hs *hs, const uint8_t *msg, size_t len, am_error *err);

/* Responder, once done: the invitation proof the initiator sent, if any,
 * and the handshake hash it is bound to. */
bool am_hs_invitation(const am_hs *hs, const uint8_t **proof, const uint8_t **h);

/* Once done: the transport ciphers (send, receive) of this side. Wipes the
 * handshake's secrets. */
int am_hs_split(am_hs *hs, am_noise_cipher *send, am_noise_cipher *recv);
void am_hs_wipe(am_hs *hs);

#endif
