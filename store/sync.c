/* Ranges, sums and fingerprints of the held announcements (see sync.h). */
#include "store/sync.h"

#include <string.h>

#define SUM_VAL 40 /* sum[32] count[8] */

static MDB_dbi db(am_txn *t, int which) { return am_store_db(t->store, which); }

void am_setsum_add(am_setsum *s, const uint8_t id[static 32]) {
  unsigned carry = 0;
  for (int i = 0; i < 32; i++) {
    carry += (unsigned)s->sum[i] + id[i];
    s->sum[i] = (uint8_t)carry;
    carry >>= 8;
  }
  s->count++;
}

void am_setsum_sub(am_setsum *s, const uint8_t id[static 32]) {
  int borrow = 0;
  for (int i = 0; i < 32; i++) {
    int v = (int)s->sum[i] - id[i] - borrow;
    borrow = v < 0;
    s->sum[i] = (uint8_t)(v + (borrow ? 256 : 0));
  }
  s->count--;
}

void am_setsum_fp(const am_setsum *s, uint8_t fp[static AM_FP_BYTES]) {
  am_set_fingerprint(s->sum, s->count, fp);
}

/* ---- ann_sum ---- */

static size_t sum_key(uint8_t k[1 + AM_SYNC_SUM_DEPTH / 2 + 1], const uint8_t *id, unsigned depth) {
  size_t n = (depth + 1) / 2;
  k[0] = (uint8_t)depth;
  memcpy(k + 1, id, n);
  if (depth % 2) k[n] &= 0xf0;
  return 1 + n;
}

static int sum_decode(const MDB_val *v, am_setsum *s) {
  if (v->mv_size != SUM_VAL) return AM_ECORRUPT;
  memcpy(s->sum, v->mv_data, 32);
  s->count = am_get_be64((const uint8_t *)v->mv_data + 32);
  return 0;
}

static int sum_update(MDB_txn *txn, MDB_dbi dbi, const uint8_t id[static 32], bool add) {
  for (unsigned d = 0; d <= AM_SYNC_SUM_DEPTH; d++) {
    uint8_t kb[1 + AM_SYNC_SUM_DEPTH / 2 + 1];
    MDB_val k = {sum_key(kb, id, d), kb}, v;
    am_setsum s = {{0}, 0};
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
      if (sum_decode(&v, &s)) return AM_ECORRUPT;
    } else if (rc != MDB_NOTFOUND) {
      return rc;
    }
    if (add) {
      am_setsum_add(&s, id);
    } else {
      if (s.count == 0) return AM_ECORRUPT;
      am_setsum_sub(&s, id);
    }
    if (s.count == 0) {
      if ((rc = mdb_del(txn, dbi, &k, NULL))) return rc;
      continue;
    }
    uint8_t vb[SUM_VAL];
    memcpy(vb, s.sum, 32);
    am_be64(vb + 32, s.count);
    v = (MDB_val){SUM_VAL, vb};
    if ((rc = mdb_put(txn, dbi, &k, &v, 0))) return rc;
  }
  return 0;
}

static int update(am_txn *t, const uint8_t id[static 32], bool add, am_error *err) {
  if (!am_store_has_sums(t->store)) return 0;
  int rc = sum_update(t->txn, db(t, AM_DB_ANN_SUM), id, add);
  if (rc == AM_ECORRUPT)
    return am_fail(err, rc, "the announcement sums (ann_sum) are damaged: restore the "
                            "store from a backup");
  if (rc) return am_store_mdb_error(t, rc, "updating the announcement sums", err);
  return 0;
}

int am_sync_add(am_txn *t, const uint8_t id[static 32], am_error *err) {
  return update(t, id, true, err);
}

int am_sync_remove(am_txn *t, const uint8_t id[static 32], am_error *err) {
  return update(t, id, false, err);
}

int am_sync_rebuild(MDB_txn *txn, MDB_dbi ann, MDB_dbi sum) {
  int rc = mdb_drop(txn, sum, 0);
  if (rc) return rc;
  MDB_cursor *c;
  if ((rc = mdb_cursor_open(txn, ann, &c))) return rc;
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 32) {
      rc = MDB_CORRUPTED;
      break;
    }
    if ((rc = sum_update(txn, sum, k.mv_data, true))) break;
  }
  mdb_cursor_close(c);
  if (rc == AM_ECORRUPT) rc = MDB_CORRUPTED;
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- reading ---- */

/* The first key of the ann table that may be under p. */
static void range_start(const am_prefix *p, uint8_t key[32]) {
  memset(key, 0, 32);
  memcpy(key, p->p, (p->depth + 1u) / 2);
}

int am_sync_each(am_txn *t, const am_prefix *p, am_sync_id_cb cb, void *arg, am_error *err) {
  if (!am_store_has_ann(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_ANN), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading announcement ids", err);
  uint8_t start[32];
  range_start(p, start);
  MDB_val k = {32, start}, v;
  int stop = 0;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 32) {
      mdb_cursor_close(c);
      return am_fail(err, AM_ECORRUPT, "the announcement table is damaged (a key is not an id)");
    }
    if (!am_prefix_match(p, k.mv_data)) break;
    if ((stop = cb(k.mv_data, arg))) break;
  }
  mdb_cursor_close(c);
  if (stop) return stop;
  if (rc && rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "reading announcement ids", err);
  return 0;
}

typedef struct acc_arg {
  am_setsum *one;   /* the whole range */
  am_setsum *kids;  /* or its 16 children */
  unsigned depth;
} acc_arg;

static int acc(const uint8_t id[static 32], void *arg) {
  acc_arg *a = arg;
  if (a->one) am_setsum_add(a->one, id);
  else am_setsum_add(&a->kids[am_nibble(id, a->depth)], id);
  return 0;
}

static int sum_get(am_txn *t, const am_prefix *p, am_setsum *out, am_error *err) {
  uint8_t kb[1 + AM_SYNC_SUM_DEPTH / 2 + 1];
  MDB_val k = {sum_key(kb, p->p, p->depth), kb}, v;
  memset(out, 0, sizeof *out);
  int rc = mdb_get(t->txn, db(t, AM_DB_ANN_SUM), &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return am_store_mdb_error(t, rc, "reading the announcement sums", err);
  if (sum_decode(&v, out))
    return am_fail(err, AM_ECORRUPT, "the announcement sums (ann_sum) are damaged");
  return 0;
}

int am_sync_range(am_txn *t, const am_prefix *p, am_setsum *out, am_error *err) {
  memset(out, 0, sizeof *out);
  if (!am_store_has_sums(t->store)) return 0;
  if (p->depth <= AM_SYNC_SUM_DEPTH) return sum_get(t, p, out, err);
  acc_arg a = {.one = out};
  return am_sync_each(t, p, acc, &a, err);
}

int am_sync_children(am_txn *t, const am_prefix *p, am_setsum out[16], am_error *err) {
  memset(out, 0, 16 * sizeof *out);
  if (!am_store_has_sums(t->store)) return 0;
  if (p->depth + 1 <= AM_SYNC_SUM_DEPTH) {
    for (int n = 0; n < 16; n++) {
      am_prefix c = am_prefix_child(p, n);
      int rc = sum_get(t, &c, &out[n], err);
      if (rc) return rc;
    }
    return 0;
  }
  acc_arg a = {.kids = out, .depth = p->depth};
  return am_sync_each(t, p, acc, &a, err);
}

int am_sync_find(am_txn *t, const uint8_t sid[static AM_SID_BYTES], uint8_t id[static 32]) {
  if (!am_store_has_ann(t->store)) return AM_ENOTFOUND;
  MDB_cursor *c;
  if (mdb_cursor_open(t->txn, db(t, AM_DB_ANN), &c)) return AM_EIO;
  uint8_t start[32] = {0};
  memcpy(start, sid, AM_SID_BYTES);
  MDB_val k = {32, start}, v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  bool found = rc == 0 && k.mv_size == 32 && memcmp(k.mv_data, sid, AM_SID_BYTES) == 0;
  if (found) memcpy(id, k.mv_data, 32);
  mdb_cursor_close(c);
  return found ? 0 : AM_ENOTFOUND;
}
