/* The search index as posting lists. For each search term (store/members.h
 * lists them), the sorted ids of the members it matches, kept in chunks:
 *
 *   key   = term || 0x00 || u64 low      (terms never contain 0x00, except
 *                                         the fixed-size year term)
 *   value = u64 id, ...                  (ascending, 1 to AM_POSTING_CHUNK)
 *
 * Every id in a chunk is >= its low and below the next chunk's low. A batch
 * of new members costs one or two puts per distinct term rather than one
 * per (term, member) pair, and a query reads ids a chunk at a time. */
#ifndef AMICALE_STORE_POSTINGS_H
#define AMICALE_STORE_POSTINGS_H

#include "store/store.h"

#define AM_POSTING_CHUNK 160
#define AM_POSTING_SUFFIX 9 /* the 0x00 separator and the chunk's low id */

/* Adds ids (ascending, no repeats) to term's list. */
int am_postings_add(am_txn *t, const void *term, size_t tlen, const uint64_t *ids, size_t n,
                    am_error *err);
/* Removes id from term's list (nothing when it is not there). */
int am_postings_remove(am_txn *t, const void *term, size_t tlen, uint64_t id, am_error *err);
/* The same in another table of posting lists (which: enum am_db, the
 * member index or the directory's, store/directory.h); the two above are
 * these with AM_DB_INDEX. */
int am_postings_add_db(am_txn *t, int which, const void *term, size_t tlen, const uint64_t *ids,
                       size_t n, am_error *err);
int am_postings_remove_db(am_txn *t, int which, const void *term, size_t tlen, uint64_t id,
                          am_error *err);

/* The term part of an index key; 0 when the key is malformed. */
static inline size_t am_postings_term_len(const MDB_val *key) {
  if (key->mv_size <= AM_POSTING_SUFFIX) return 0;
  size_t n = key->mv_size - AM_POSTING_SUFFIX;
  return ((const uint8_t *)key->mv_data)[n] == 0 ? n : 0;
}

/* Number of ids in a chunk value; 0 when the value is malformed. */
static inline size_t am_postings_count(const MDB_val *val) {
  if (val->mv_size == 0 || val->mv_size % 8 || val->mv_size / 8 > AM_POSTING_CHUNK) return 0;
  return val->mv_size / 8;
}

#endif
