/* Taking in many announcements at once: a file of concatenated envelopes
 * (`amicale announcement import FILE`), later a peer's backlog. The buffer
 * is cut into envelopes (am_ann_frame), and in batches: every envelope of a
 * batch is opened (decode, id, signature) by a pool of threads
 * (crypto/batch.h), then applied in order in one write transaction
 * (am_ann_apply, the rules of store/announcements.h). While one batch is
 * applied the next is already being verified, so with two threads the
 * signatures no longer stand in line behind the store.
 *
 * Every envelope gets exactly one verdict, reported in buffer order once
 * its batch is committed; the verdicts do not depend on the number of
 * threads. */
#ifndef AMICALE_STORE_INGEST_H
#define AMICALE_STORE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "store/announcements.h"
#include "store/store.h"

#define AM_INGEST_BATCH 1000       /* envelopes per transaction by default */
#define AM_INGEST_MAX_BATCH 100000 /* larger batches are cut to this */

typedef struct am_ingest_opts {
  int64_t now;      /* the clock for the time rules (expired, from the
                       future); negative: no time rules */
  size_t batch;     /* envelopes per transaction; 0: AM_INGEST_BATCH */
  unsigned threads; /* threads opening envelopes, the caller's included;
                       0: 1 */
} am_ingest_opts;

typedef struct am_ingest_totals {
  size_t seen;      /* verdicts reported */
  size_t applied;   /* stored now */
  size_t duplicate; /* already held */
  size_t refused;   /* by_reason says why */
  size_t by_reason[AM_REJ__COUNT];
  size_t unread;    /* bytes at the end that are not an envelope */
  size_t batches;   /* transactions committed */
} am_ingest_totals;

/* One verdict: the envelope at p[offset..offset+len) and what became of it
 * (r->reason AM_REJ_NONE: applied or duplicate; r's id, kind, origin,
 * object and version are known only when the envelope could be opened).
 * msg says why it was refused ("" when accepted). Bytes that cannot be
 * framed end the input: they get one last verdict (MALFORMED or
 * TOO_LARGE) covering them all. Returning non-zero stops the ingest with
 * that value (the batches already reported stay committed). */
typedef int (*am_ingest_report)(size_t offset, size_t len, const am_ingest *r,
                                const char *msg, void *arg);

/* Ingests the concatenated envelopes p[0..len) into s. opts may be NULL
 * (now = the system clock, defaults otherwise); report and totals may be
 * NULL. Returns 0 when every envelope got its verdict (refusals included),
 * the report's non-zero value, or a negative code for a failure of the
 * store or of memory (err says which; batches reported before it stay
 * committed, the failing one is not). */
int am_ann_ingest_buffer(am_store *s, const uint8_t *p, size_t len,
                         const am_ingest_opts *opts, am_ingest_report report,
                         void *arg, am_ingest_totals *totals, am_error *err);

#endif
