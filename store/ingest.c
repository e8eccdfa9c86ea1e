/* Batched, pipelined ingest of concatenated envelopes (see ingest.h).
 *
 * Two batches take turns: while the calling thread applies batch k in its
 * write transaction, the opener's workers verify batch k+1; when the
 * transaction is committed, the calling thread joins them. Verdicts are
 * reported only after the commit, so a transaction run again after the map
 * grew (am_store_write) never reports twice, and every verdict a caller
 * sees is durable. */
#include "store/ingest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/batch.h"

typedef struct batch {
  size_t n, cap;
  size_t *off;        /* offset of each envelope in the buffer */
  am_span *in;
  am_ann *ann;        /* opened; empty when opening refused it */
  int *reasons;
  am_error *errs;     /* why opening or applying refused it */
  bool *opened;
  am_ingest *res;
  /* Unframeable bytes after the last envelope: the end of the input. */
  bool tail;
  size_t tail_off, tail_len;
  int tail_reason;
} batch;

typedef struct apply_arg {
  batch *b;
  int64_t now;
  am_error *err;
} apply_arg;

static int batch_alloc(batch *b, size_t cap) {
  memset(b, 0, sizeof *b);
  b->cap = cap;
  b->off = calloc(cap, sizeof *b->off);
  b->in = calloc(cap, sizeof *b->in);
  b->ann = calloc(cap, sizeof *b->ann); /* zeroed: am_ann_free is harmless */
  b->reasons = calloc(cap, sizeof *b->reasons);
  b->errs = calloc(cap, sizeof *b->errs);
  b->opened = calloc(cap, sizeof *b->opened);
  b->res = calloc(cap, sizeof *b->res);
  if (!b->off || !b->in || !b->ann || !b->reasons || !b->errs || !b->opened || !b->res)
    return AM_ENOMEM;
  return 0;
}

/* Frees the announcements the batch holds (all of them have been opened
 * or refused: the opener was waited for). */
static void batch_clear(batch *b) {
  for (size_t i = 0; i < b->n; i++) am_ann_free(&b->ann[i]);
  b->n = 0;
  b->tail = false;
}

static void batch_free(batch *b) {
  if (b->ann) batch_clear(b);
  free(b->off), free(b->in), free(b->ann), free(b->reasons);
  free(b->errs), free(b->opened), free(b->res);
}

/* Cuts up to cap envelopes from p[*pos..len). A frame that does not parse
 * leaves no way to find the next one: it becomes the batch's tail and the
 * input ends there. */
static void frame(batch *b, const uint8_t *p, size_t len, size_t *pos) {
  b->n = 0;
  b->tail = false;
  while (b->n < b->cap && *pos < len) {
    size_t used;
    int reason;
    if (am_ann_frame(p + *pos, len - *pos, &used, &reason)) {
      b->tail = true;
      b->tail_off = *pos, b->tail_len = len - *pos, b->tail_reason = reason;
      *pos = len;
      return;
    }
    b->off[b->n] = *pos;
    b->in[b->n] = (am_span){p + *pos, used};
    b->n++;
    *pos += used;
  }
}

/* After opening: the verdicts of the envelopes refused already. */
static void settle_opened(batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    b->opened[i] = b->errs[i].code == 0;
    if (!b->opened[i]) {
      memset(&b->res[i], 0, sizeof b->res[i]);
      b->res[i].reason = b->reasons[i];
    }
  }
}

/* Applies the opened envelopes in buffer order. Starts from scratch every
 * time: am_store_write runs it again after growing the map, and only the
 * verdicts of opened envelopes are (re)written here. */
static int apply_fn(am_txn *t, void *arg) {
  apply_arg *a = arg;
  batch *b = a->b;
  for (size_t i = 0; i < b->n; i++) {
    if (!b->opened[i]) continue;
    am_error *e = &b->errs[i];
    e->code = 0;
    e->msg[0] = '\0';
    int rc = am_ann_apply(t, &b->ann[i], b->in[i].p, b->in[i].len, a->now, &b->res[i], e);
    if (rc) {
      am_fail(a->err, rc, "announcement at byte %zu: %s", b->off[i], am_error_text(e, rc));
      return rc;
    }
  }
  return 0;
}

static void count(am_ingest_totals *tot, const am_ingest *r) {
  tot->seen++;
  if (r->reason != AM_REJ_NONE) {
    tot->refused++;
    if (r->reason > 0 && r->reason < AM_REJ__COUNT) tot->by_reason[r->reason]++;
  } else if (r->duplicate) {
    tot->duplicate++;
  } else {
    tot->applied++;
  }
}

static int report_batch(const batch *b, am_ingest_report report, void *arg,
                        am_ingest_totals *tot) {
  for (size_t i = 0; i < b->n; i++) {
    const am_ingest *r = &b->res[i];
    count(tot, r);
    int rc = report ? report(b->off[i], b->in[i].len, r, r->reason ? b->errs[i].msg : "", arg)
                    : 0;
    if (rc) return rc;
  }
  if (b->tail) {
    am_ingest r = {.reason = b->tail_reason};
    am_error e;
    if (b->tail_reason == AM_REJ_TOO_LARGE)
      am_fail(&e, AM_EINVAL, "an announcement here declares more than %d bytes; the "
              "remaining %zu bytes are not read", AM_ANN_MAX_BYTES, b->tail_len);
    else
      am_fail(&e, AM_EINVAL, "not an announcement envelope, or cut short; the remaining "
              "%zu bytes are not read", b->tail_len);
    count(tot, &r);
    tot->unread += b->tail_len;
    if (report) return report(b->tail_off, b->tail_len, &r, e.msg, arg);
  }
  return 0;
}

int am_ann_ingest_buffer(am_store *s, const uint8_t *p, size_t len,
                         const am_ingest_opts *opts, am_ingest_report report,
                         void *arg, am_ingest_totals *totals, am_error *err) {
  am_ingest_opts o = opts ? *opts : (am_ingest_opts){.now = am_now()};
  am_ingest_totals tot_local;
  am_ingest_totals *tot = totals ? totals : &tot_local;
  memset(tot, 0, sizeof *tot);
  if (!p && len) return am_fail(err, AM_EUSAGE, "no input");
  size_t cap = o.batch ? o.batch : AM_INGEST_BATCH;
  if (cap > AM_INGEST_MAX_BATCH) cap = AM_INGEST_MAX_BATCH;

  batch bs[2] = {0};
  am_opener *op = NULL;
  int rc;
  if ((rc = batch_alloc(&bs[0], cap)) || (rc = batch_alloc(&bs[1], cap)) ||
      (rc = am_opener_new(&op, o.threads))) {
    rc = am_fail(err, rc, "out of memory ingesting announcements");
    goto out;
  }
  batch *cur = &bs[0], *next = &bs[1];
  size_t pos = 0;
  frame(cur, p, len, &pos);
  if ((rc = am_opener_submit(op, cur->in, cur->n, cur->ann, cur->reasons, cur->errs)))
    goto out;
  while (cur->n || cur->tail) {
    if ((rc = am_opener_wait(op))) {
      rc = am_fail(err, rc, "out of memory opening announcements");
      goto out;
    }
    settle_opened(cur);
    /* The workers start on the next batch while this one is applied. */
    frame(next, p, len, &pos);
    if ((rc = am_opener_submit(op, next->in, next->n, next->ann, next->reasons, next->errs)))
      goto out;
    if (cur->n) {
      apply_arg a = {cur, o.now, err};
      if ((rc = am_store_write(s, apply_fn, &a, err))) goto out;
      tot->batches++;
    }
    /* Free the decoded announcements before the callback: only the
     * verdicts are needed from here on. */
    for (size_t i = 0; i < cur->n; i++) am_ann_free(&cur->ann[i]);
    if ((rc = report_batch(cur, report, arg, tot))) goto out;
    cur->n = 0, cur->tail = false;
    batch *t = cur;
    cur = next, next = t;
  }
out:
  /* A batch may still be in flight: freeing the opener finishes it first,
   * so its arrays outlive the workers' use of them and what they decoded
   * is freed with the batch. */
  am_opener_free(op);
  batch_free(&bs[0]);
  batch_free(&bs[1]);
  return rc;
}
