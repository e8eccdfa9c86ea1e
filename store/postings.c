/* Posting-list chunks of the search index (see postings.h). */
#include "store/postings.h"

#include <stdlib.h>
#include <string.h>

#include "store/members.h"

#define KEY_BUF (AM_IDX_KEY_MAX + AM_POSTING_SUFFIX)

static size_t make_key(uint8_t *k, const void *term, size_t tlen, uint64_t low) {
  memcpy(k, term, tlen);
  k[tlen] = 0;
  am_be64(k + tlen + 1, low);
  return tlen + AM_POSTING_SUFFIX;
}

static bool same_term(const MDB_val *key, const void *term, size_t tlen) {
  return am_postings_term_len(key) == tlen && memcmp(key->mv_data, term, tlen) == 0;
}

/* Positions c on the chunk of term that may hold id: the last one whose low
 * is <= id. Returns 0 with *key and *val (LMDB's memory, valid until the
 * next write), or MDB_NOTFOUND when id is below every chunk of term. Either
 * way *has_next says whether a following chunk of term exists, and *next_low
 * is its low. */
static int find_chunk(MDB_cursor *c, const void *term, size_t tlen, uint64_t id, MDB_val *key,
                      MDB_val *val, bool *has_next, uint64_t *next_low) {
  uint8_t kb[KEY_BUF];
  MDB_val k = {make_key(kb, term, tlen, id), kb}, v;
  *has_next = false;
  *next_low = 0;
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && same_term(&k, term, tlen)) {
    uint64_t low = am_get_be64((const uint8_t *)k.mv_data + tlen + 1);
    if (low == id) {
      /* The chunk starting at id; its successor bounds it. */
      *key = k, *val = v;
      MDB_val nk, nv;
      if (mdb_cursor_get(c, &nk, &nv, MDB_NEXT) == 0 && same_term(&nk, term, tlen))
        *has_next = true, *next_low = am_get_be64((const uint8_t *)nk.mv_data + tlen + 1);
      /* Back to the chunk, so *key and *val stay what the cursor points at. */
      return mdb_cursor_get(c, key, val, MDB_SET_KEY);
    }
    *has_next = true, *next_low = low;
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  } else if (rc == 0) {
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  }
  if (rc == 0 && same_term(&k, term, tlen)) {
    *key = k, *val = v;
    return 0;
  }
  return rc == 0 ? MDB_NOTFOUND : rc;
}

static int put_chunk(am_txn *t, MDB_dbi dbi, const void *term, size_t tlen, uint64_t low,
                     const uint64_t *ids, size_t n, am_error *err) {
  uint8_t kb[KEY_BUF], vb[AM_POSTING_CHUNK * 8];
  for (size_t i = 0; i < n; i++) am_be64(vb + 8 * i, ids[i]);
  MDB_val k = {make_key(kb, term, tlen, low), kb}, v = {8 * n, vb};
  return am_store_mdb_error(t, mdb_put(t->txn, dbi, &k, &v, 0), "updating the search index", err);
}

static const char *damaged(int which) {
  return which == AM_DB_INDEX ? "the search index is damaged" : "the directory index is damaged";
}

int am_postings_add(am_txn *t, const void *term, size_t tlen, const uint64_t *ids, size_t n,
                    am_error *err) {
  return am_postings_add_db(t, AM_DB_INDEX, term, tlen, ids, n, err);
}

int am_postings_remove(am_txn *t, const void *term, size_t tlen, uint64_t id, am_error *err) {
  return am_postings_remove_db(t, AM_DB_INDEX, term, tlen, id, err);
}

int am_postings_add_db(am_txn *t, int which, const void *term, size_t tlen, const uint64_t *ids,
                       size_t n, am_error *err) {
  MDB_dbi dbi = am_store_db(t->store, which);
  MDB_cursor *c = NULL;
  uint64_t *merged = NULL;
  size_t cap = 0;
  if (tlen == 0 || tlen > AM_IDX_KEY_MAX) return am_fail(err, AM_EINTERNAL, "bad index term");
  int rc = mdb_cursor_open(t->txn, dbi, &c);
  if (rc) return am_store_mdb_error(t, rc, "updating the search index", err);
  for (size_t i = 0; i < n;) {
    MDB_val k, v;
    uint64_t next_low, low = ids[i];
    bool has_next;
    size_t have = 0;
    const uint8_t *old = NULL;
    int mrc = find_chunk(c, term, tlen, ids[i], &k, &v, &has_next, &next_low);
    if (mrc == 0) {
      if (!(have = am_postings_count(&v))) {
        rc = am_fail(err, AM_ECORRUPT, "%s", damaged(which));
        break;
      }
      old = v.mv_data;
      low = am_get_be64((const uint8_t *)k.mv_data + tlen + 1);
      /* A full chunk that the new ids all follow stays as it is: they
       * start a chunk of their own (the usual case of an import). */
      if (have == AM_POSTING_CHUNK && ids[i] > am_get_be64(old + 8 * (have - 1))) {
        have = 0, old = NULL, low = ids[i];
      }
    } else if (mrc != MDB_NOTFOUND) {
      rc = am_store_mdb_error(t, mrc, "reading the search index", err);
      break;
    }
    size_t j = i;
    while (j < n && (!has_next || ids[j] < next_low)) j++;
    if (have + (j - i) > cap) {
      cap = have + (j - i);
      uint64_t *m = realloc(merged, cap * sizeof *m);
      if (!m) { rc = AM_ENOMEM; break; }
      merged = m;
    }
    /* Merge the chunk's ids (read before any write moves them) and ours. */
    size_t a = 0, b = i, out = 0;
    while (a < have && b < j) {
      uint64_t x = am_get_be64(old + 8 * a), y = ids[b];
      if (x <= y) a++;
      if (y <= x) b++;
      merged[out++] = x < y ? x : y;
    }
    for (; a < have; a++) merged[out++] = am_get_be64(old + 8 * a);
    for (; b < j; b++) merged[out++] = ids[b];
    for (size_t p = 0; p < out && !rc; p += AM_POSTING_CHUNK) {
      size_t len = out - p < AM_POSTING_CHUNK ? out - p : AM_POSTING_CHUNK;
      rc = put_chunk(t, dbi, term, tlen, p == 0 ? low : merged[p], merged + p, len, err);
    }
    if (rc) break;
    i = j;
  }
  mdb_cursor_close(c);
  free(merged);
  return rc;
}

int am_postings_remove_db(am_txn *t, int which, const void *term, size_t tlen, uint64_t id,
                          am_error *err) {
  MDB_dbi dbi = am_store_db(t->store, which);
  MDB_cursor *c;
  MDB_val k, v;
  uint64_t next_low;
  bool has_next;
  if (tlen == 0 || tlen > AM_IDX_KEY_MAX) return am_fail(err, AM_EINTERNAL, "bad index term");
  int rc = mdb_cursor_open(t->txn, dbi, &c);
  if (rc) return am_store_mdb_error(t, rc, "updating the search index", err);
  rc = find_chunk(c, term, tlen, id, &k, &v, &has_next, &next_low);
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return am_store_mdb_error(t, rc, "reading the search index", err);
  size_t have = am_postings_count(&v);
  if (!have) return am_fail(err, AM_ECORRUPT, "%s", damaged(which));
  const uint8_t *old = v.mv_data;
  size_t lo = 0, hi = have;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (am_get_be64(old + 8 * mid) < id) lo = mid + 1;
    else hi = mid;
  }
  if (lo == have || am_get_be64(old + 8 * lo) != id) return 0;
  uint64_t low = am_get_be64((const uint8_t *)k.mv_data + tlen + 1);
  if (have == 1) {
    uint8_t kb[KEY_BUF];
    MDB_val dk = {make_key(kb, term, tlen, low), kb};
    return am_store_mdb_error(t, mdb_del(t->txn, dbi, &dk, NULL), "updating the search index", err);
  }
  uint64_t rest[AM_POSTING_CHUNK];
  size_t n = 0;
  for (size_t i = 0; i < have; i++)
    if (i != lo) rest[n++] = am_get_be64(old + 8 * i);
  /* The chunk keeps its low even when its first id goes: lows are bounds. */
  return put_chunk(t, dbi, term, tlen, low, rest, n, err);
}
