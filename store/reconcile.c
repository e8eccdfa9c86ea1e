/* Answering reconciliation rounds (see reconcile.h). */
#include "store/reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "store/sync.h"

void am_rec_init(am_rec *r, size_t ranges_max, size_t chunk_max, size_t offers_max,
                 size_t wants_max) {
  memset(r, 0, sizeof *r);
  r->ranges_max = ranges_max;
  r->chunk_max = chunk_max;
  r->offers_max = offers_max;
  r->wants_max = wants_max;
  r->work_max = AM_REC_WORK_MAX;
}

void am_rec_clear(am_rec *r) {
  for (size_t i = 0; i < r->nchunks; i++) am_buf_free(&r->chunks[i]);
  r->nchunks = 0;
  r->ranges_bytes = 0;
  r->offers.len = 0;
  r->wants.len = 0;
  r->partial = false;
  r->work = 0;
}

void am_rec_free(am_rec *r) {
  am_rec_clear(r);
  free(r->chunks);
  am_buf_free(&r->offers);
  am_buf_free(&r->wants);
  memset(r, 0, sizeof *r);
}

bool am_rec_empty(const am_rec *r) { return r->ranges_bytes == 0; }

/* The chunk an entry of n bytes goes into, or NULL when the round is full
 * (partial is then set). */
static am_buf *room(am_rec *r, size_t n) {
  if (r->ranges_bytes + n > r->ranges_max || n > r->chunk_max) {
    r->partial = true;
    return NULL;
  }
  if (r->nchunks == 0 || r->chunks[r->nchunks - 1].len + n > r->chunk_max) {
    if (r->nchunks == r->chunks_cap) {
      size_t cap = r->chunks_cap ? 2 * r->chunks_cap : 4;
      am_buf *c = realloc(r->chunks, cap * sizeof *c);
      if (!c) return NULL;
      r->chunks = c;
      r->chunks_cap = cap;
    }
    r->chunks[r->nchunks++] = (am_buf){0};
  }
  r->ranges_bytes += n;
  r->entries_out++;
  return &r->chunks[r->nchunks - 1];
}

static int add_id(am_buf *b, size_t max, const uint8_t *sid, bool *partial) {
  if (b->len / AM_SID_BYTES >= max) {
    *partial = true;
    return 0;
  }
  return am_buf_append(b, (const char *)sid, AM_SID_BYTES) ? AM_ENOMEM : 0;
}

/* ---- IDS entries we send ---- */

typedef struct list_arg {
  uint8_t ids[AM_REC_LEAF * AM_SID_BYTES];
  uint32_t n;
} list_arg;

static int list_cb(const uint8_t id[static 32], void *arg) {
  list_arg *l = arg;
  if (l->n == AM_REC_LEAF) return 1; /* more than we counted: the store moved */
  memcpy(l->ids + (size_t)l->n++ * AM_SID_BYTES, id, AM_SID_BYTES);
  return 0;
}

static int send_ids(am_txn *t, am_rec *r, const am_prefix *c, am_error *err) {
  list_arg l = {.n = 0};
  int rc = am_sync_each(t, c, list_cb, &l, err);
  if (rc < 0) return rc;
  am_buf *b = room(r, am_range_ids_size(c, l.n));
  if (!b) return r->partial ? 0 : AM_ENOMEM;
  return am_range_put_ids(b, c, l.ids, l.n);
}

static int send_fps(am_txn *t, am_rec *r, const am_prefix *c, am_error *err) {
  am_setsum kids[16];
  int rc = am_sync_children(t, c, kids, err);
  if (rc) return rc;
  uint8_t fps[16][AM_FP_LEN];
  for (int i = 0; i < 16; i++) am_setsum_fp(&kids[i], fps[i]);
  am_buf *b = room(r, am_range_fps_size(c));
  if (!b) return r->partial ? 0 : AM_ENOMEM;
  return am_range_put_fps(b, c, fps);
}

/* Our description of range c: listed when small, split otherwise. */
static int describe(am_txn *t, am_rec *r, const am_prefix *c, uint64_t count, am_error *err) {
  if (count <= AM_REC_LEAF || c->depth >= AM_SYNC_MAX_DEPTH) return send_ids(t, r, c, err);
  return send_fps(t, r, c, err);
}

/* ---- settling a range ---- */

typedef struct settle_arg {
  am_rec *r;
  const uint8_t *theirs;
  uint32_t n, j;
} settle_arg;

#define SETTLE_STOP 1

static bool offers_full(const am_rec *r) { return r->offers.len / AM_SID_BYTES >= r->offers_max; }

/* Walks our ids under the range beside their sorted list: ours they lack
 * are offered, theirs we lack are wanted. Stops walking when no more
 * offers fit or the round's work budget is spent (the rest of their list
 * is then looked up one by one). */
static int settle_cb(const uint8_t id[static 32], void *arg) {
  settle_arg *s = arg;
  am_rec *r = s->r;
  if (++r->work > r->work_max || offers_full(r)) {
    r->partial = true;
    return SETTLE_STOP;
  }
  while (s->j < s->n) {
    int c = memcmp(s->theirs + (size_t)s->j * AM_SID_BYTES, id, AM_SID_BYTES);
    if (c > 0) break;
    if (c < 0) {
      int rc = add_id(&r->wants, r->wants_max, s->theirs + (size_t)s->j * AM_SID_BYTES, &r->partial);
      if (rc) return rc;
    }
    s->j++;
    if (c == 0) return 0;
  }
  return add_id(&r->offers, r->offers_max, id, &r->partial);
}

static int settle(am_txn *t, am_rec *r, const am_prefix *p, const uint8_t *theirs, uint32_t n,
                  am_error *err) {
  settle_arg s = {.r = r, .theirs = theirs, .n = n};
  int rc = am_sync_each(t, p, settle_cb, &s, err);
  if (rc == AM_ENOMEM) return am_fail(err, rc, "out of memory settling a range");
  bool walked = rc == 0;
  if (rc && rc != SETTLE_STOP) return rc;
  for (; s.j < n; s.j++) {
    const uint8_t *sid = theirs + (size_t)s.j * AM_SID_BYTES;
    uint8_t id[32];
    /* Past the walk, each of theirs costs a lookup. */
    if (!walked && (r->work++, am_sync_find(t, sid, id) == 0)) continue;
    if ((rc = add_id(&r->wants, r->wants_max, sid, &r->partial)))
      return am_fail(err, rc, "out of memory settling a range");
  }
  return 0;
}

/* ---- rounds ---- */

int am_rec_begin(am_txn *t, am_rec *r, am_error *err) {
  am_prefix root = {0};
  am_setsum all;
  int rc = am_sync_range(t, &root, &all, err);
  if (rc) return rc;
  rc = describe(t, r, &root, all.count, err);
  if (rc > 0) rc = 0;
  if (rc == AM_ENOMEM) return am_fail(err, rc, "out of memory describing our set");
  return rc;
}

static int answer_fps(am_txn *t, am_rec *r, const am_range *in, am_error *err) {
  am_setsum mine[16];
  int rc = am_sync_children(t, &in->prefix, mine, err);
  if (rc) return rc;
  static const uint8_t zero[AM_FP_LEN];
  for (int i = 0; i < 16; i++) {
    uint8_t fp[AM_FP_LEN];
    am_setsum_fp(&mine[i], fp);
    const uint8_t *theirs = in->fps + i * AM_FP_LEN;
    if (memcmp(fp, theirs, AM_FP_LEN) == 0) continue;
    r->ranges_differing++;
    am_prefix c = am_prefix_child(&in->prefix, i);
    if (memcmp(theirs, zero, AM_FP_LEN) == 0) rc = settle(t, r, &c, NULL, 0, err);
    else rc = describe(t, r, &c, mine[i].count, err);
    if (rc) return rc == AM_ENOMEM ? am_fail(err, rc, "out of memory answering a round") : rc;
  }
  return 0;
}

int am_rec_answer(am_txn *t, am_rec *r, const uint8_t *in, size_t len, am_error *err) {
  size_t off = 0;
  am_range e;
  int rc;
  while ((rc = am_range_next(in, len, &off, &e, err)) == 1) {
    r->entries_in++;
    /* A round's answer costs at most work_max ids visited: what is left
     * is not answered (partial), whatever the peer sends. */
    if (r->work > r->work_max) {
      r->partial = true;
      return 0;
    }
    r->work += e.mode == AM_RANGE_FPS ? 16 : 1 + e.n;
    if (e.mode == AM_RANGE_FPS) {
      rc = answer_fps(t, r, &e, err);
    } else {
      r->ranges_differing++;
      rc = settle(t, r, &e.prefix, e.ids, e.n, err);
    }
    if (rc) return rc;
  }
  return rc;
}
