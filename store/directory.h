/* The directory: federated profiles (kind 1 announcements of other nodes)
 * held by this node, indexed like members (store/members.h) so that a
 * people search covers this node's members and every institution of the
 * federation without scanning. Maintained at ingest by store/catalog.c.
 *
 * One result list mixes both sources: am_people_search.
 *
 * Tables (format 5; integers big-endian):
 *   dir        u64 row -> row: version[1]=1, flags[1]=0, origin[32],
 *              ann id[32], object[8], first_seen[8], promo[2], name key
 *              length[2], name key (the 'n' term without its tag), then
 *              the profile as a member record (proto/member.c codec).
 *              The head orders a result without decoding the record.
 *   dir_index  the terms of store/members.h for each row (posting lists
 *              of row numbers, store/postings.h), plus 'o' origin and 'c'
 *              first_seen.
 *   dir_ref    origin[32] object[8] -> row[8] first_seen[8] live[1]: the
 *              row of a held profile, and when it was first stored.
 *
 * first_seen is the time this node first stored a profile of that
 * (origin, object); a newer version keeps it. Replacing a profile deletes
 * the old version (am_directory_del) then stores the new one
 * (am_directory_put) in the same transaction: del marks the reference
 * dead (live = 0) and asks for it to be checked at commit
 * (am_txn_defer_ref); put revives it with its first_seen; at commit a
 * reference still dead (a retraction, an expiry, an untrusted origin) is
 * deleted, so nothing of a withdrawn profile stays in the three tables.
 * Profiles stored before format 5 get their announcement's created time.
 *
 * Rows are never made for this node's own profiles when its signer is
 * set (its members are searched in the member table); a store upgraded
 * before the signer is known may hold rows of its own origin: searches
 * skip them, and the next change of that profile deletes them. */
#ifndef AMICALE_STORE_DIRECTORY_H
#define AMICALE_STORE_DIRECTORY_H

#include "proto/announce.h"
#include "store/search.h"

int am_directory_put(am_txn *t, const am_ann *a, int64_t now, am_error *err);
int am_directory_del(am_txn *t, const am_ann *a, am_error *err);
/* At commit (store/members.c): deletes the references in keys (len bytes
 * of 40-byte keys) that no put revived. */
int am_directory_txn_flush(am_txn *t, const uint8_t *keys, size_t len, am_error *err);

/* Who asks: decides which members of this node can be seen and which of
 * their fields (federated profiles only ever hold federation fields). */
enum am_viewer_kind {
  AM_VIEWER_MANAGER = 0, /* alumni manager on the node: everything */
  AM_VIEWER_MEMBER = 1,  /* a member of this node: school and federation
                            fields of listed members */
};

#define AM_PEOPLE_MAX_ORIGINS 64

typedef struct am_people_query {
  am_query q;           /* text, job title, promo range, mentoring, exact
                           filters, sort, offset, limit: as for members */
  int viewer;           /* enum am_viewer_kind */
  /* Restrict to these institutions (origin keys; this node's own key means
   * its members); none: everyone. */
  uint8_t origins[AM_PEOPLE_MAX_ORIGINS][AM_ANN_KEY_BYTES];
  size_t norigins;
  bool local_only, federated_only;
  int64_t since;        /* >0: only people new since (member created /
                           profile first seen), for the digest */
} am_people_query;

typedef struct am_person {
  am_member m;          /* the member record, or the profile as a record
                           (m.id = the member's id at its origin); fields the
                           viewer may not see are empty */
  bool local;           /* a member of this node */
  uint8_t origin[AM_ANN_KEY_BYTES]; /* local: the signer's key (zero when
                                       the store has no signer) */
  uint8_t ann_id[AM_ANN_ID_BYTES]; /* federated: the profile's id */
  int64_t first_seen;   /* local: created; federated: first stored here */
} am_person;

typedef struct am_people {
  am_person *v;
  size_t n;     /* in this page */
  size_t total; /* matching */
} am_people;

/* One list, both sources, ordered by q.sort (promo: unknown last) then
 * name key, then this node's members before other institutions, then
 * origin key bytes, then id. A member viewer never sees members without
 * consent to be listed, and a filter only matches fields the viewer may
 * see. */
int am_people_search(am_txn *t, const am_people_query *q, am_people *out, am_error *err);
/* The same answer by decoding every record and row: the reference of
 * the tests and the baseline of the benchmark. */
int am_people_scan(am_txn *t, const am_people_query *q, am_people *out, am_error *err);
void am_people_free(am_people *p);

/* What a member viewer may see of a record: profile fields below school
 * visibility and the administrative fields emptied. */
void am_member_view(am_member *m, int viewer);

/* ---- institutions ---- */

#define AM_INST_NAME_MAX 200

typedef struct am_institution {
  uint8_t key[AM_ANN_KEY_BYTES];
  char name[AM_INST_NAME_MAX + 1]; /* node announcement, else trust list */
  int kind;   /* enum am_kind (store/datadir.h), -1 when not announced */
  bool self;  /* this node */
} am_institution;

/* This node as the directory shows it (its name and kind come from its
 * configuration, store/datadir.h, which a transaction cannot reach). */
typedef struct am_self {
  const char *name;
  int kind;
} am_self;

/* The institution of key: its held node announcement (kind AM_K_NODE,
 * object 0), else its trust list entry, else this node (self, may be
 * NULL). AM_ENOTFOUND when the key is none of those. */
int am_institution_get(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES],
                       const am_self *self, am_institution *out, am_error *err);
/* The institutions that text names: a key in its text form, or words of
 * a name (accents and case ignored, each word of text starting a word of
 * the name, in any order). kind >= 0 keeps those of that kind. Fills at
 * most max keys, *n says how many matched (may be more than max).
 * Candidates: this node and the trusted origins. */
int am_institution_resolve(am_txn *t, const char *text, int kind, const am_self *self,
                           uint8_t (*keys)[AM_ANN_KEY_BYTES], size_t max, size_t *n,
                           am_error *err);
/* Calls cb for this node then each trusted origin, as institutions. */
int am_institution_each(am_txn *t, const am_self *self,
                        int (*cb)(const am_institution *in, void *arg), void *arg,
                        am_error *err);

#endif
