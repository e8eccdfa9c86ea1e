/* The directory: federated profiles (kind 1 announcements of other nodes)
 * held by this node, indexed like members (store/members.h) so that a
 * people search covers this node's members and every institution of the
 * federation without scanning. Maintained at ingest by store/catalog.c.
 *
 * One result list mixes both sources: am_people_search. */
#ifndef AMICALE_STORE_DIRECTORY_H
#define AMICALE_STORE_DIRECTORY_H

#include "proto/announce.h"
#include "store/search.h"

int am_directory_put(am_txn *t, const am_ann *a, int64_t now, am_error *err);
int am_directory_del(am_txn *t, const am_ann *a, am_error *err);

/* Who asks: decides which members of this node can be seen and which of
 * their fields (federated profiles only ever hold federation fields). */
enum am_viewer_kind {
  AM_VIEWER_MANAGER = 0, /* alumni manager on the node: everything */
  AM_VIEWER_MEMBER = 1,  /* a member of this node: school and federation
                            fields of listed members */
};

#define AM_PEOPLE_MAX_ORIGINS 64

typedef struct am_people_query {
  am_query q;           /* text, promo range, mentoring, exact filters, sort,
                           offset, limit: as for members */
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
  uint8_t origin[AM_ANN_KEY_BYTES];
  uint8_t ann_id[AM_ANN_ID_BYTES]; /* federated: the profile's id */
  int64_t first_seen;   /* local: created; federated: first stored here */
} am_person;

typedef struct am_people {
  am_person *v;
  size_t n;     /* in this page */
  size_t total; /* matching */
} am_people;

/* One list, both sources, ordered by q.sort then name then institution.
 * A member viewer never sees members without consent to be listed, and a
 * filter only matches fields the viewer may see. */
int am_people_search(am_txn *t, const am_people_query *q, am_people *out, am_error *err);
/* The same answer by decoding every record and profile: the reference of
 * the tests and the baseline of the benchmark. */
int am_people_scan(am_txn *t, const am_people_query *q, am_people *out, am_error *err);
void am_people_free(am_people *p);

#endif
