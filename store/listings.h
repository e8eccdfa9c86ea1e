/* The listings: events and job offers held by this node (its own and every
 * trusted origin's), indexed at ingest by store/catalog.c so that the
 * events and jobs queries never scan the store. The tables (lst, lst_ref,
 * lst_index) are described in docs/STORE.md, "Listings". */
#ifndef AMICALE_STORE_LISTINGS_H
#define AMICALE_STORE_LISTINGS_H

#include "proto/announce.h"
#include "store/store.h"

int am_listings_put(am_txn *t, const am_ann *a, am_error *err);
int am_listings_del(am_txn *t, const am_ann *a, am_error *err);

#define AM_LISTING_MAX_ORIGINS 64
#define AM_LISTING_MAX_WORDS 8 /* words of a free-text query */

/* Filters of the other kind are ignored (a skill in an events query). NULL
 * or "" strings and -1 numbers are "any": start from am_listing_query_init,
 * as 0 means something for contract, online, remote and alumni_only. */
typedef struct am_listing_query {
  int kind;               /* AM_K_EVENT or AM_K_JOB */
  /* events: those in progress at some time in [from, to] (Unix seconds; 0
   * = open): starts_at <= to and ends_at (or starts_at when it has no end)
   * >= from. Upcoming = from now: an event counts as upcoming until it
   * ends. jobs: created in [from, to]. */
  uint64_t from, to;
  uint64_t posted_since;  /* >0: only created >= this (the digest) */
  /* Words, each an accent- and case-insensitive prefix of a word of: events
   * title, description, venue, organiser, tags; jobs title, employer,
   * description, skills. At most AM_LISTING_MAX_WORDS. */
  const char *text;
  const char *city, *country; /* folded exact ("montreal" = "Montréal") */
  const char *tag;        /* events, folded exact */
  const char *skill;      /* jobs, folded exact */
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

/* kind, every filter "any", no limit. */
void am_listing_query_init(am_listing_query *q, int kind);

/* Events by start time (soonest first), jobs newest first (created), then
 * by id. AM_EUSAGE for a malformed query (text not UTF-8, a filter with no
 * letter or digit, an enum index out of range, too many words or origins),
 * AM_ECORRUPT when the index is damaged. */
int am_listings_search(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err);
/* The same by decoding every held event or job (tests, benchmark). */
int am_listings_scan(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err);
void am_listings_free(am_listings *l);

#endif
