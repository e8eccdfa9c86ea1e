/* Member search over the indexes of store/members.h: every filter is a set
 * of ids read from the index (no table scan), the sets are intersected
 * smallest first, and only the page asked for is decoded. am_search_scan
 * answers the same query by decoding every record; it is the reference the
 * tests compare against and the baseline of the benchmark. */
#ifndef AMICALE_STORE_SEARCH_H
#define AMICALE_STORE_SEARCH_H

#include "store/members.h"

#define AM_QUERY_MAX_FILTERS 32
/* Query words looked up; more add little selectivity and are ignored by
 * the index and the scan alike. */
#define AM_QUERY_MAX_WORDS 8

enum am_sort { AM_SORT_NAME = 0, AM_SORT_PROMO = 1 };

typedef struct am_query {
  const char *text;    /* free text: every word must start a word of the
                          names, employer, job title or bio */
  uint32_t promo_min;  /* 0: no lower bound */
  uint32_t promo_max;  /* 0: no upper bound */
  bool mentoring;      /* only members available for mentoring */
  struct { int field; const char *value; } filters[AM_QUERY_MAX_FILTERS];
  size_t nfilters;     /* exact values (folded comparison), all must hold */
  int sort;
  size_t offset, limit; /* limit 0: no limit */
} am_query;

typedef struct am_results {
  am_member *v;
  size_t n;      /* members in this page */
  size_t total;  /* members matching the query */
} am_results;

/* Adds an exact filter; AM_EUSAGE when the field has no exact index. */
int am_query_filter(am_query *q, int field, const char *value, am_error *err);

int am_search(am_txn *t, const am_query *q, am_results *out, am_error *err);
int am_search_scan(am_txn *t, const am_query *q, am_results *out,
                   am_error *err);
void am_results_free(am_results *r);

#endif
