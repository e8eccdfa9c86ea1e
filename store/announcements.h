/* Announcements held by this node (its own and those received) and the
 * trust list. One ingest path for announcements from anywhere: decode,
 * verify, trusted origin, time rules, ordering, then applied atomically in
 * the caller's transaction. Only the current announcement of each object is
 * kept: a newer version or a retraction deletes what it replaces.
 *
 * Sub-databases (keys and integers big-endian):
 *   ann       id[32] -> envelope, exactly as received
 *   ann_slot  origin[32] kind[1] object[8] -> slot: the object's current
 *             state (version[8] id[32] state[1] ann_kind[1] created[8]
 *             expires[8]); kept after a retraction or expiry so an older
 *             copy is refused for ever
 *   ann_seq   origin[32] version[8] -> id       ("from O since version V")
 *   ann_kind  kind[1] created[8] id[32] -> ""   (by kind and time)
 *   ann_exp   expires[8] id[32] -> ""           (what to prune, in order)
 *   trust     key[32] -> msgpack [name, added]
 *   meta      "ann_version" -> u64 last version this node signed
 *             "ann_object_event", "ann_object_job" -> u64 last object
 *             number given to this node's events, jobs */
#ifndef AMICALE_STORE_ANNOUNCEMENTS_H
#define AMICALE_STORE_ANNOUNCEMENTS_H

#include "proto/announce.h"
#include "proto/member.h"
#include "store/store.h"

enum am_slot_state {
  AM_SLOT_LIVE = 0,      /* content held */
  AM_SLOT_RETRACTED = 1, /* the retraction is held, the content deleted */
  AM_SLOT_PRUNED = 2,    /* expired: content deleted, version remembered */
  AM_SLOT_FORGOTTEN = 3, /* its origin was untrusted: content deleted, version remembered */
};

typedef struct am_slot {
  uint64_t version;
  uint8_t id[AM_ANN_ID_BYTES];
  uint8_t state, ann_kind;
  uint64_t created, expires;
} am_slot;

/* What ingest did with one announcement. */
typedef struct am_ingest {
  int reason;      /* AM_REJ_NONE when accepted (applied or duplicate) */
  bool applied;    /* stored now */
  bool duplicate;  /* already held: nothing changed */
  uint8_t id[AM_ANN_ID_BYTES];
  uint8_t kind;
  uint64_t object, version;
  uint8_t origin[AM_ANN_KEY_BYTES];
} am_ingest;

/* Decodes, verifies and applies one envelope in write transaction t.
 * Returns 0 with r->reason telling whether it was accepted (a refusal is
 * not an error: the transaction stays usable and nothing was written for
 * it; err says precisely why), or a negative code for a store failure. */
int am_ann_ingest(am_txn *t, const uint8_t *p, size_t len, int64_t now,
                  am_ingest *r, am_error *err);

/* The same after decoding and verification (a second core may have done
 * those: a must come from am_ann_open on exactly p[0..len)). */
int am_ann_apply(am_txn *t, const am_ann *a, const uint8_t *p, size_t len,
                 int64_t now, am_ingest *r, am_error *err);

/* Signs and stores an announcement of this node (needs the store's
 * signer): takes the next version, sets created to now, seals, applies.
 * a->id holds the new id afterwards; the envelope is appended to env when
 * env is not NULL. AM_EINVAL when a breaks a rule (err names the field). */
int am_ann_publish(am_txn *t, am_ann *a, int64_t now, am_buf *env,
                   am_error *err);
/* A fresh object number for this node's events or jobs (1, 2, ... per
 * kind). */
int am_ann_next_object(am_txn *t, int kind, uint64_t *object, am_error *err);
/* Publishes a retraction of this node's object (kind, object). */
int am_ann_retract(am_txn *t, int kind, uint64_t object, const char *reason,
                   int64_t now, am_error *err);

/* Reading. Returned bytes are valid until the transaction ends. */
int am_ann_slot_get(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                    int kind, uint64_t object, am_slot *slot);  /* AM_ENOTFOUND */
int am_ann_get(am_txn *t, const uint8_t id[static AM_ANN_ID_BYTES],
               const uint8_t **p, size_t *len);                 /* AM_ENOTFOUND */
/* Decodes a held announcement (it was verified when it came in). */
int am_ann_load(am_txn *t, const uint8_t id[static AM_ANN_ID_BYTES], am_ann *a,
                am_error *err);
/* The held announcement whose id starts with hex (8 to 64 hex digits):
 * AM_ENOTFOUND, or AM_EINVAL when the prefix is ambiguous or not hex. */
int am_ann_find(am_txn *t, const char *hex, uint8_t id[static AM_ANN_ID_BYTES],
                am_error *err);

typedef int (*am_ann_cb)(am_txn *t, const uint8_t *id, const uint8_t *env,
                         size_t len, void *arg);
/* Held announcements of one kind, oldest created first (kind -1: all, by
 * id). Stops when cb returns non-zero and returns that value. */
int am_ann_each_kind(am_txn *t, int kind, am_ann_cb cb, void *arg);
/* Held announcements of one origin with version > since, in version order. */
int am_ann_each_since(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                      uint64_t since, am_ann_cb cb, void *arg);
int am_ann_count(am_txn *t, size_t *n);
/* The highest version of origin's announcements held (0: none). */
int am_ann_last_version(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                        uint64_t *version, am_error *err);

/* Deletes events and jobs whose expiry time is <= now (their slots keep
 * the version). *pruned counts them (may be NULL). */
int am_ann_prune(am_txn *t, int64_t now, uint64_t *pruned, am_error *err);

/* Trust list: the origins whose announcements this node accepts (its own
 * key is always trusted). */
#define AM_TRUST_NAME_MAX 200
typedef struct am_trust {
  uint8_t key[AM_ANN_KEY_BYTES];
  char name[AM_TRUST_NAME_MAX + 1]; /* may be empty */
  int64_t added;
} am_trust;
/* Adds key, or renames it when present (*existed says which; may be NULL). */
int am_trust_add(am_txn *t, const am_trust *tr, bool *existed, am_error *err);
/* Removes key and deletes every announcement of that origin; their slots
 * keep the versions, so trusting it again later cannot bring back an
 * older copy (a withdrawn profile). *deleted counts them.
 * AM_ENOTFOUND when not trusted. */
int am_trust_remove(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES],
                    uint64_t *deleted, am_error *err);
int am_trust_get(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES],
                 am_trust *out); /* AM_ENOTFOUND */
int am_trust_each(am_txn *t, int (*cb)(const am_trust *tr, void *arg), void *arg,
                  am_error *err);
bool am_trusted(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES]);

/* Brings the member's federated profile up to date after a change (m is
 * NULL when the member was removed): publishes a new profile version when
 * the federated view changed, a retraction when consent was withdrawn or
 * the member removed, nothing otherwise. No-op without a signer. Called
 * by store/members.c inside the member's transaction. */
int am_profile_sync(am_txn *t, uint64_t member_id, const am_member *m,
                    int64_t now, am_error *err);
/* Checks that the profile a consenting member's record would give passes
 * the protocol's rules (AM_EINVAL saying which field does not), so that a
 * member write can refuse before writing anything. 0 without consent. */
int am_profile_check(const am_member *m, am_error *err);
/* publish: issues the member's profile now if it is not current (the
 * member must have consented: AM_EINVAL otherwise). unpublish: withdraws
 * the member's federation consent, which retracts the profile. *changed
 * says whether anything was issued. */
int am_profile_publish(am_txn *t, uint64_t member_id, bool publish, int64_t now,
                       bool *changed, am_error *err);

#endif
