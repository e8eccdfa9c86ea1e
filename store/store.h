/* The node's database: one LMDB environment in DIR/store/ with these
 * sub-databases (all keys and integers big-endian, so byte order is value
 * order):
 *   meta     "format" -> u32 store format, "next_id" -> u64 next member id
 *   members  u64 id -> member record (msgpack, proto/member.c)
 *   email    normalised address -> u64 id (an address belongs to one member)
 *   index    search term -> member ids, posting lists (store/postings.h)
 *   ann, ann_slot, ann_seq, ann_kind, ann_exp, trust: announcements and
 *            the trust list (store/announcements.h)
 *   peer, invite: the nodes this one connects to, and its invitations
 *            (store/peers.h)
 *   ann_sum  sums of announcement ids by prefix, for replication
 *            (store/sync.h)
 *
 * Work happens in transactions run through am_store_read / am_store_write,
 * which take a function and run it inside one transaction: one logical
 * change is one transaction, committed at one place or not at all. When the
 * map is full the store grows it and runs the function again, so
 * MDB_MAP_FULL never reaches a user. LMDB's own codes are translated here,
 * at the border, into AM_E* codes with a sentence. */
#ifndef AMICALE_STORE_STORE_H
#define AMICALE_STORE_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "proto/error.h"

enum am_db {
  AM_DB_META, AM_DB_MEMBERS, AM_DB_EMAIL, AM_DB_INDEX,
  AM_DB_ANN, AM_DB_ANN_SLOT, AM_DB_ANN_SEQ, AM_DB_ANN_KIND, AM_DB_ANN_EXP,
  AM_DB_TRUST, AM_DB_PEER, AM_DB_INVITE, AM_DB_ANN_SUM,
  /* format 5: the catalog of held announcements (store/catalog.h) and
   * members' own keys (store/accounts.h) */
  AM_DB_DIR, AM_DB_DIR_INDEX, AM_DB_DIR_REF, AM_DB_LST, AM_DB_LST_INDEX,
  AM_DB_LST_REF, AM_DB_MKEY, AM_DB_MCODE, AM_DB__COUNT
};

#define AM_STORE_FORMAT 5 /* 2: announcement and trust tables; 3: peer, invite;
                            4: ann_sum (replication); 5: the catalog
                            (federated search) and member keys */
#define AM_STORE_DEFAULT_MAP (64UL << 20)   /* 64 MiB, grown on demand */
#define AM_STORE_MAX_MAP (1UL << 40)        /* 1 TiB */

typedef struct am_store am_store;

typedef struct am_store_opts {
  size_t map_size; /* 0: AM_STORE_DEFAULT_MAP (or what the file already has) */
  bool create;     /* create DIR/store if missing (amicale init) */
  bool read_only;
} am_store_opts;

/* A transaction and what the store layer needs alongside it. */
typedef struct am_txn {
  am_store *store;
  MDB_txn *txn;
  bool write;
  bool map_full; /* an operation hit MDB_MAP_FULL: grow and retry */
  void *idx;     /* pending index insertions (store/members.c) */
  uint64_t next_id;   /* the member counter, read once per transaction */
  bool next_id_dirty; /* ... and written back at commit when it moved */
} am_txn;

typedef int (*am_txn_fn)(am_txn *t, void *arg);

/* Opens (or with create, creates) the store in dir/store. Errors: not an
 * Amicale store, newer format, damaged file, permission. */
int am_store_open(am_store **out, const char *dir, const am_store_opts *opts,
                  am_error *err);
void am_store_close(am_store *s);

/* Runs fn in a read-only / read-write transaction. A write commits when fn
 * returns 0 and aborts otherwise; fn may run more than once (after the map
 * was grown), so it must start from scratch each time. */
int am_store_read(am_store *s, am_txn_fn fn, void *arg, am_error *err);
int am_store_write(am_store *s, am_txn_fn fn, void *arg, am_error *err);

/* Translates an LMDB return code (records MDB_MAP_FULL in t). */
int am_store_mdb_error(am_txn *t, int mdb_rc, const char *what, am_error *err);

/* Current map size in bytes (for status and tests). */
size_t am_store_map_size(am_store *s);

/* The sub-database handles (for store/ internals, the benchmark and tests). */
MDB_dbi am_store_dbi(am_store *s, const char *name);
MDB_dbi am_store_db(am_store *s, int which); /* enum am_db */
/* False only for a format-1 store opened read-only (no announcement
 * tables yet: they read as empty). */
bool am_store_has_ann(am_store *s);
/* False only for a store of format 1 or 2 opened read-only (no peer and
 * invite tables yet: they read as empty). */
bool am_store_has_peers(am_store *s);
/* False only for a store of format 1 to 3 opened read-only (no ann_sum). */
bool am_store_has_sums(am_store *s);
bool am_store_has_catalog(am_store *s); /* format 5 tables */

/* The identity this node signs its own announcements with. When set,
 * member changes publish or retract the member's federated profile in the
 * same transaction (store/announcements.h); the CLI sets it on every
 * store it opens for writing. Not owned by the store. */
void am_store_set_signer(am_store *s, const am_identity *id);
const am_identity *am_store_signer(am_store *s);
MDB_env *am_store_env(am_store *s);

static inline void am_be64(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) out[i] = (uint8_t)v;
}
static inline uint64_t am_get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

#endif
