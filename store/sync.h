/* The set of announcements a node holds, as replication sees it
 * (docs/PROTOCOL.md section 15): the ids of the `ann` table, split into
 * ranges by their leading hexadecimal digits ("nibbles"). A range is named
 * by a prefix of depth d nibbles; its fingerprint is computed from the sum
 * and count of the ids under it.
 *
 * Sums and counts of every prefix of up to AM_SYNC_SUM_DEPTH nibbles are
 * kept in the `ann_sum` table, updated in the same transaction as the
 * `ann` table (store/announcements.c calls am_sync_add / am_sync_remove),
 * so any range's fingerprint costs one read down to that depth and a short
 * scan of `ann` below it (~15 ids per depth-4 range at a million).
 *
 *   ann_sum  depth[1] prefix[(depth+1)/2] -> sum[32] (LE) count[8] (BE) */
#ifndef AMICALE_STORE_SYNC_H
#define AMICALE_STORE_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "proto/sync.h"
#include "store/store.h"

#define AM_SYNC_SUM_DEPTH 4  /* ann_sum holds prefixes of 0..4 nibbles */

/* Sum (mod 2^256, little-endian) and count of a set of ids. */
typedef struct am_setsum {
  uint8_t sum[32];
  uint64_t count;
} am_setsum;

void am_setsum_add(am_setsum *s, const uint8_t id[static 32]);
void am_setsum_sub(am_setsum *s, const uint8_t id[static 32]);
void am_setsum_fp(const am_setsum *s, uint8_t fp[static AM_FP_BYTES]);

/* Bookkeeping of the ann table (store/announcements.c, in the same
 * transaction as the put or delete of the id). */
int am_sync_add(am_txn *t, const uint8_t id[static 32], am_error *err);
int am_sync_remove(am_txn *t, const uint8_t id[static 32], am_error *err);
/* Builds ann_sum from the ann table (store upgrade to format 4). */
int am_sync_rebuild(MDB_txn *txn, MDB_dbi ann, MDB_dbi sum);

/* Sum and count of the ids under p. */
int am_sync_range(am_txn *t, const am_prefix *p, am_setsum *out, am_error *err);
/* The same for each of p's 16 children (p->depth < AM_SYNC_MAX_DEPTH). */
int am_sync_children(am_txn *t, const am_prefix *p, am_setsum out[16], am_error *err);
/* Calls cb with each id under p in order; stops when cb returns non-zero
 * (that value is returned). */
typedef int (*am_sync_id_cb)(const uint8_t id[static 32], void *arg);
int am_sync_each(am_txn *t, const am_prefix *p, am_sync_id_cb cb, void *arg, am_error *err);
/* The held announcement whose id starts with sid: 0 and id filled, or
 * AM_ENOTFOUND. */
int am_sync_find(am_txn *t, const uint8_t sid[static AM_SID_BYTES],
                 uint8_t id[static 32]);

#endif
