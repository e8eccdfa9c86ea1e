/* Opening many announcements at once (decode, id, signature: am_ann_open
 * on each) with a few threads. Ed25519 verification is by far the largest
 * cost of taking in announcements, and it needs nothing but the bytes, so
 * it is the part a second core can take while the caller's thread applies
 * the previous batch to the store (LMDB allows one writer: applying stays
 * on one thread).
 *
 * Two forms: am_ann_open_batch does a whole batch and returns; an
 * am_opener keeps its threads between batches and lets the caller start a
 * batch (am_opener_submit), do other work, then help finish it and wait
 * (am_opener_wait). The calling thread always takes part, so threads = 1
 * means no extra thread at all, and the results never depend on the number
 * of threads: item i is opened exactly as am_ann_open would open it. */
#ifndef AMICALE_CRYPTO_BATCH_H
#define AMICALE_CRYPTO_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/announce.h"
#include "proto/error.h"

/* Bytes owned by someone else. */
typedef struct am_span {
  const uint8_t *p;
  size_t len;
} am_span;

#define AM_OPENER_MAX_THREADS 64

/* Opens in[i] into out[i] for i in 0..n. For each item, errs[i].code is 0
 * (out[i] holds the announcement, reasons[i] is AM_REJ_NONE), AM_EINVAL
 * (refused: reasons[i] says why, errs[i].msg what; out[i] is empty) or
 * AM_ENOMEM (out[i] empty). threads counts the calling thread (0 is taken
 * as 1); when extra threads cannot be started, fewer do the work. Returns
 * AM_EUSAGE for bad arguments, AM_ENOMEM when any item ran out of memory,
 * else 0: a refused item is a result, not an error. The caller frees each
 * out[i] with am_ann_free (harmless on an empty one). */
int am_ann_open_batch(const am_span *in, size_t n, am_ann *out, int *reasons,
                      am_error *errs, unsigned threads);

typedef struct am_opener am_opener;

/* A pool of threads - 1 workers (0 is taken as 1; more than
 * AM_OPENER_MAX_THREADS as that). Workers the system refuses to start are
 * done without: the pool then has fewer threads (am_opener_threads), never
 * different results. AM_ENOMEM is the only error. */
int am_opener_new(am_opener **out, unsigned threads);
/* Stops and joins the workers. A batch still in flight is finished first. */
void am_opener_free(am_opener *o);
/* Threads taking part, the caller's included. */
unsigned am_opener_threads(const am_opener *o);

/* Starts opening a batch (arguments as am_ann_open_batch) and returns at
 * once; the arrays must stay put until am_opener_wait returns. One batch at
 * a time: AM_EUSAGE when the previous one was not waited for. */
int am_opener_submit(am_opener *o, const am_span *in, size_t n, am_ann *out,
                     int *reasons, am_error *errs);
/* Opens items of the current batch on the calling thread until none is
 * left, then waits for the workers' last ones. Returns as
 * am_ann_open_batch (0 when nothing was submitted). */
int am_opener_wait(am_opener *o);

#endif
