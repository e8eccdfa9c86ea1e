/* Range-based set reconciliation over the held announcements
 * (docs/PROTOCOL.md 15.4): one round in, the next round out. Stateless
 * between rounds: everything a round needs is in the ranges it answers,
 * so node/ only carries bytes and the benchmark can run two stores against
 * each other in one process.
 *
 * A round is a list of range entries (proto/sync.h). Answering one:
 *   FPS(P): for each child C of P whose fingerprint differs from ours:
 *     - the peer's is empty: offer every id we hold under C;
 *     - we hold at most AM_REC_LEAF ids under C (or C is as deep as ids
 *       go): IDS(C, our ids), for the peer to settle;
 *     - otherwise FPS(C) with our fingerprints of C's children.
 *   IDS(P, theirs): settle P: offer what we hold and they lack, want what
 *     they hold and we lack.
 * Output that would pass a cap is left out and `partial` set: the
 * session then ends unsettled and another one follows. */
#ifndef AMICALE_STORE_RECONCILE_H
#define AMICALE_STORE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sync.h"
#include "store/store.h"

#define AM_REC_LEAF 32 /* a range with at most this many ids is listed */
#define AM_REC_WORK_MAX (1u << 20) /* ids visited and entries answered per round */

typedef struct am_rec {
  /* The next round's entries, cut into messages of at most chunk_max
   * bytes (an entry never spans two). */
  am_buf *chunks;
  size_t nchunks, chunks_cap;
  size_t chunk_max;
  size_t ranges_bytes, ranges_max;
  am_buf offers; /* short ids we hold that the peer lacks */
  am_buf wants;  /* short ids the peer holds that we lack */
  size_t offers_max, wants_max; /* in ids */
  bool partial;
  size_t work, work_max; /* this round's cost so far, and its budget */
  /* What the rounds so far found (for logs, status and the benchmark). */
  uint64_t entries_in, entries_out, ranges_differing;
} am_rec;

/* Caps: bytes of entries per round and per message, ids offered and
 * wanted per round. */
void am_rec_init(am_rec *r, size_t ranges_max, size_t chunk_max, size_t offers_max,
                 size_t wants_max);
/* Empties the outputs (caps and totals stay). */
void am_rec_clear(am_rec *r);
void am_rec_free(am_rec *r);
bool am_rec_empty(const am_rec *r); /* no entries to send */

/* The first round of a session. */
int am_rec_begin(am_txn *t, am_rec *r, am_error *err);
/* Answers the entries in[0..len) (one message of a round: call once per
 * message, the answers accumulate). AM_EINVAL when the bytes break the
 * protocol (err says how). */
int am_rec_answer(am_txn *t, am_rec *r, const uint8_t *in, size_t len, am_error *err);

#endif
