/* The encrypted channel after the handshake (docs/PROTOCOL.md 14.4): session
 * messages cut into chunks, each chunk one frame `len(2) ‖ ciphertext`
 * under the Noise transport ciphers; and the reverse: frames decrypted and
 * chunks joined back into messages, with a size limit that the caller
 * tightens before the peer's hello. No I/O: node/ passes bytes in and out. */
#ifndef AMICALE_CRYPTO_CHANNEL_H
#define AMICALE_CRYPTO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/noise.h"
#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

typedef struct am_chan {
  am_noise_cipher tx, rx;
  size_t limit;  /* longest message accepted (AM_MSG_MAX_PREHELLO, AM_MSG_MAX) */
  /* The message being reassembled from chunks (heap, grown as chunks
   * arrive, freed when a message completes: an idle channel holds none). */
  uint8_t *msg;
  size_t len, cap;
  bool complete; /* msg[0..len) is a whole message, until the next frame */
  uint64_t frames_in, frames_out;
} am_chan;

void am_chan_init(am_chan *c, const am_noise_cipher *tx, const am_noise_cipher *rx,
                  size_t limit);
void am_chan_free(am_chan *c); /* wipes the keys, frees the buffer */

/* Appends the frames carrying msg[0..len) to out. AM_ETOOBIG past
 * AM_MSG_MAX, AM_EINVAL when the nonce is used up, AM_ENOMEM. */
int am_chan_seal(am_chan *c, const uint8_t *msg, size_t len, am_buf *out);

/* Decrypts one frame's ciphertext (the bytes after its 2-byte length) and
 * adds its chunk. Returns 1 when a message is complete (then *msg, *len
 * point to it until the next call), 0 when more frames are needed, or an
 * error: AM_EINVAL (tag, flags, length: the stream is dead), AM_ETOOBIG
 * (message over the limit), AM_ENOMEM. */
int am_chan_open(am_chan *c, uint8_t *frame, size_t len, const uint8_t **msg,
                 size_t *msglen);

#endif
