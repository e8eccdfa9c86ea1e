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
  const char *job_title; /* every word must start a word of the job title */
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

/* Adds an exact filter; AM_EUSAGE when the field has no exact index. The
 * job title is the exception: it sets q->job_title (its words). */
int am_query_filter(am_query *q, int field, const char *value, am_error *err);

int am_search(am_txn *t, const am_query *q, am_results *out, am_error *err);
int am_search_scan(am_txn *t, const am_query *q, am_results *out,
                   am_error *err);
void am_results_free(am_results *r);

/* ---- shared with people search (store/directory.c) ---- */

/* A set of record ids (members or directory rows). */
typedef struct am_ids {
  uint64_t *v;
  size_t n, cap;
} am_ids;
int am_ids_push(am_ids *s, uint64_t id);
void am_ids_normalise(am_ids *s); /* sorted, without repeats */
bool am_ids_has(const am_ids *s, uint64_t id); /* s normalised */
void am_ids_free(am_ids *s);

/* A query folded once: its words and the index keys of its filters. */
typedef struct am_prepared {
  char **words, **title_words;
  size_t nwords, ntitle;
  am_buf exact[AM_QUERY_MAX_FILTERS];
} am_prepared;
int am_query_prepare(const am_query *q, am_prepared *p, am_error *err);
void am_prepared_free(am_prepared *p);
/* Whether record m satisfies q (text, job title, promo, mentoring,
 * exact filters): the predicate of the scans. */
bool am_query_matches(const am_query *q, const am_prepared *p, const am_member *m);

/* Appends to out the ids of every term of index which (AM_DB_INDEX or
 * AM_DB_DIR_INDEX) in [lo, hi] (byte order), or of every term that starts
 * with lo when hi is NULL. */
int am_index_range(am_txn *t, int which, const void *lo, size_t lolen, const void *hi,
                   size_t hilen, am_ids *out, am_error *err);
/* The ids of index which matching q and every one of the extra sets
 * (normalised; the caller's restrictions, emptied here), intersected
 * smallest first, into out (normalised). *unrestricted is true when
 * nothing restricts the query: every record matches, out is empty. */
int am_index_match(am_txn *t, int which, const am_query *q, const am_prepared *p,
                   am_ids *extra, size_t nextra, am_ids *out, bool *unrestricted,
                   am_error *err);

#endif
