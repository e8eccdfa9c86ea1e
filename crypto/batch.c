/* Opening batches of announcements on several threads (see batch.h).
 *
 * The pool is deliberately plain: one mutex guards the batch description
 * and its counters, threads claim a few items at a time under it and open
 * them outside it. An item costs tens of microseconds (an Ed25519
 * verification), so one uncontended lock per few items is noise, and every
 * result written by a worker is published to the waiter by the mutex it
 * takes afterwards: no atomics to reason about. */
#include "crypto/batch.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "crypto/sign.h"

/* Items claimed at once: small enough that the threads finish a batch
 * together (the last claim is at most this many verifications long). */
#define CHUNK 4

struct am_opener {
  pthread_mutex_t mu;
  pthread_cond_t work; /* workers: items to claim, or stop */
  pthread_cond_t idle; /* the waiter: the batch's last item is done */
  pthread_t tid[AM_OPENER_MAX_THREADS];
  unsigned nworkers;
  bool stop;
  bool busy; /* submitted and not yet waited for */
  /* The batch in flight. */
  const am_span *in;
  am_ann *out;
  int *reasons;
  am_error *errs;
  size_t n, next, done;
  bool nomem;
};

/* One item, exactly as am_ann_open would do it alone. True when it ran
 * out of memory. */
static bool open_one(const am_span *in, am_ann *a, int *reason, am_error *e) {
  e->code = 0;
  e->msg[0] = '\0';
  int rc = am_ann_open(in->p, in->len, a, reason, e);
  e->code = rc;
  if (rc == 0) *reason = AM_REJ_NONE;
  return rc == AM_ENOMEM;
}

/* With mu held: claims items [*i, *j) of the batch, false when none is left. */
static bool claim(am_opener *o, size_t *i, size_t *j) {
  if (o->next >= o->n) return false;
  *i = o->next;
  *j = o->n - o->next > CHUNK ? o->next + CHUNK : o->n;
  o->next = *j;
  return true;
}

/* With mu held on entry and on return: opens claimed items until the batch
 * has none left to claim. The arrays are read under the lock because
 * submit may replace them once the batch is done. */
static void drain(am_opener *o) {
  size_t i, j;
  while (claim(o, &i, &j)) {
    const am_span *in = o->in;
    am_ann *out = o->out;
    int *reasons = o->reasons;
    am_error *errs = o->errs;
    pthread_mutex_unlock(&o->mu);
    bool nomem = false;
    for (size_t k = i; k < j; k++)
      nomem |= open_one(&in[k], &out[k], &reasons[k], &errs[k]);
    pthread_mutex_lock(&o->mu);
    o->nomem |= nomem;
    o->done += j - i;
    if (o->done == o->n) pthread_cond_broadcast(&o->idle);
  }
}

static void *worker(void *arg) {
  am_opener *o = arg;
  pthread_mutex_lock(&o->mu);
  for (;;) {
    drain(o);
    if (o->stop) break;
    pthread_cond_wait(&o->work, &o->mu);
  }
  pthread_mutex_unlock(&o->mu);
  return NULL;
}

int am_opener_new(am_opener **out, unsigned threads) {
  am_opener *o = calloc(1, sizeof *o);
  if (!o) return AM_ENOMEM;
  /* How many of mu, work, idle were initialised, for the exit path. */
  int ready = 0;
  if (pthread_mutex_init(&o->mu, NULL)) goto fail;
  ready++;
  if (pthread_cond_init(&o->work, NULL)) goto fail;
  ready++;
  if (pthread_cond_init(&o->idle, NULL)) goto fail;
  if (threads == 0) threads = 1;
  if (threads > AM_OPENER_MAX_THREADS) threads = AM_OPENER_MAX_THREADS;
  /* Workers block the asynchronous signals (they inherit this mask):
   * those are for the thread that owns the event loop or the command. The
   * synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL) stay deliverable: a
   * fault in a worker must crash, and be reported, like anywhere else. */
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  sigdelset(&all, SIGTRAP);
  sigdelset(&all, SIGABRT);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (unsigned i = 0; i + 1 < threads; i++) {
    if (pthread_create(&o->tid[o->nworkers], NULL, worker, o)) break;
    o->nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  *out = o;
  return 0;
fail:
  if (ready > 1) pthread_cond_destroy(&o->work);
  if (ready > 0) pthread_mutex_destroy(&o->mu);
  free(o);
  return AM_ENOMEM;
}

void am_opener_free(am_opener *o) {
  if (!o) return;
  am_opener_wait(o);
  pthread_mutex_lock(&o->mu);
  o->stop = true;
  pthread_cond_broadcast(&o->work);
  pthread_mutex_unlock(&o->mu);
  for (unsigned i = 0; i < o->nworkers; i++) pthread_join(o->tid[i], NULL);
  pthread_cond_destroy(&o->idle);
  pthread_cond_destroy(&o->work);
  pthread_mutex_destroy(&o->mu);
  free(o);
}

unsigned am_opener_threads(const am_opener *o) { return o->nworkers + 1; }

int am_opener_submit(am_opener *o, const am_span *in, size_t n, am_ann *out,
                     int *reasons, am_error *errs) {
  if (n && (!in || !out || !reasons || !errs)) return AM_EUSAGE;
  pthread_mutex_lock(&o->mu);
  int rc = 0;
  if (o->busy) {
    rc = AM_EUSAGE;
  } else {
    o->in = in, o->out = out, o->reasons = reasons, o->errs = errs;
    o->n = n, o->next = 0, o->done = 0, o->nomem = false;
    o->busy = true;
    if (n) pthread_cond_broadcast(&o->work);
  }
  pthread_mutex_unlock(&o->mu);
  return rc;
}

int am_opener_wait(am_opener *o) {
  pthread_mutex_lock(&o->mu);
  int rc = 0;
  if (o->busy) {
    drain(o);
    while (o->done < o->n) pthread_cond_wait(&o->idle, &o->mu);
    rc = o->nomem ? AM_ENOMEM : 0;
    o->busy = false;
    o->in = NULL, o->out = NULL, o->reasons = NULL, o->errs = NULL;
    o->n = o->next = o->done = 0;
  }
  pthread_mutex_unlock(&o->mu);
  return rc;
}

int am_ann_open_batch(const am_span *in, size_t n, am_ann *out, int *reasons,
                      am_error *errs, unsigned threads) {
  if (n && (!in || !out || !reasons || !errs)) return AM_EUSAGE;
  /* More threads than items would only be started to find nothing to do. */
  if (threads > n) threads = n ? (unsigned)n : 1;
  am_opener *o;
  int rc = am_opener_new(&o, threads);
  if (rc) return rc;
  if (!(rc = am_opener_submit(o, in, n, out, reasons, errs))) rc = am_opener_wait(o);
  am_opener_free(o);
  return rc;
}
