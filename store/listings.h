/* The listings: events and job offers held by this node (its own and every
 * trusted origin's), indexed at ingest by store/catalog.c so that the
 * events and jobs queries never scan the store. */
#ifndef AMICALE_STORE_LISTINGS_H
#define AMICALE_STORE_LISTINGS_H

#include "proto/announce.h"
#include "store/store.h"

int am_listings_put(am_txn *t, const am_ann *a, am_error *err);
int am_listings_del(am_txn *t, const am_ann *a, am_error *err);

#define AM_LISTING_MAX_ORIGINS 64

typedef struct am_listing_query {
  int kind;               /* AM_K_EVENT or AM_K_JOB */
  /* events: starts_at in [from, to] (Unix seconds; 0 = open). Upcoming =
   * from now. An event counts as upcoming until it ends. */
  uint64_t from, to;
  uint64_t posted_since;  /* >0: only created >= this (the digest) */
  const char *text;       /* words of title, description, employer, tags,
                             skills (accent- and case-insensitive prefixes) */
  const char *city, *country; /* folded exact */
  const char *tag;        /* events */
  const char *skill;      /* jobs */
  int contract;           /* jobs: enum index of AM_JOB_CONTRACT, -1 any */
  int online;             /* events: -1 any, 0 in person, 1 online */
  int remote;             /* jobs: -1 any, else the enum index of AM_JOB_REMOTE */
  int alumni_only;        /* jobs: -1 any, 0/1 */
  bool include_cancelled; /* events: cancelled ones too (ICS export) */
  uint8_t origins[AM_LISTING_MAX_ORIGINS][AM_ANN_KEY_BYTES];
  size_t norigins;        /* 0: every origin */
  size_t offset, limit;   /* limit 0: all */
} am_listing_query;

typedef struct am_listings {
  am_ann *v;    /* decoded announcements, id set */
  size_t n;     /* in this page */
  size_t total; /* matching */
} am_listings;

/* Events by start time (soonest first), jobs newest first. */
int am_listings_search(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err);
/* The same by decoding every held event or job (tests, benchmark). */
int am_listings_scan(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err);
void am_listings_free(am_listings *l);

#endif
