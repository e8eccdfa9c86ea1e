/* Indexed member search and its full-scan reference (see search.h). */
#include "store/search.h"

#include <stdlib.h>
#include <string.h>

#include "proto/text.h"
#include "store/postings.h"

/* A page of a result set R ordered by name comes either from decoding and
 * sorting all of R, or from walking the name index (all N members, in
 * order) until the page is full: about (offset + limit) * N / |R| steps,
 * each a binary search, some 30 times cheaper than decoding a record. */
static bool walk_is_cheaper(size_t matches, size_t members, const am_query *q) {
  if (q->sort != AM_SORT_NAME || !q->limit) return false;
  double steps = (double)(q->offset + q->limit) * (double)members / (double)(matches ? matches : 1);
  return steps < 30.0 * (double)matches;
}

typedef am_ids idset;

void am_ids_free(am_ids *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}
#define set_free am_ids_free

int am_ids_push(am_ids *s, uint64_t id) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return AM_ENOMEM;
    s->v = v, s->cap = cap;
  }
  s->v[s->n++] = id;
  return 0;
}
#define set_push am_ids_push

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void am_ids_normalise(am_ids *s) {
  if (!s->n) return;
  /* Posting lists come sorted: most sets need no sort at all. */
  bool sorted = true;
  for (size_t i = 1; i < s->n && sorted; i++) sorted = s->v[i - 1] < s->v[i];
  if (sorted) return;
  qsort(s->v, s->n, sizeof *s->v, u64_cmp);
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++)
    if (k == 0 || s->v[k - 1] != s->v[i]) s->v[k++] = s->v[i];
  s->n = k;
}
#define set_normalise am_ids_normalise

bool am_ids_has(const am_ids *s, uint64_t id) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->v[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->n && s->v[lo] == id;
}
#define set_has am_ids_has

/* a := a ∩ b (both sorted). */
static void set_intersect(idset *a, const idset *b) {
  size_t i = 0, j = 0, k = 0;
  while (i < a->n && j < b->n) {
    if (a->v[i] < b->v[j]) i++;
    else if (a->v[i] > b->v[j]) j++;
    else a->v[k++] = a->v[i++], j++;
  }
  a->n = k;
}

/* Appends the ids of the posting chunk under the cursor. */
static const char *damaged(int which) {
  return which == AM_DB_INDEX ? "the search index is damaged" : "the directory index is damaged";
}

static int read_chunk(int which, const MDB_val *v, idset *out, am_error *err) {
  size_t n = am_postings_count(v);
  if (!n) return am_fail(err, AM_ECORRUPT, "%s", damaged(which));
  const uint8_t *p = v->mv_data;
  for (size_t i = 0; i < n; i++)
    if (set_push(out, am_get_be64(p + 8 * i))) return AM_ENOMEM;
  return 0;
}

int am_index_range(am_txn *t, int which, const void *lo, size_t lolen, const void *hi,
                   size_t hilen, am_ids *out, am_error *err) {
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, am_store_db(t->store, which), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the search index", err);
  MDB_val k = {lolen, (void *)lo}, v;
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    size_t tlen = am_postings_term_len(&k);
    if (!tlen) {
      rc = am_fail(err, AM_ECORRUPT, "%s", damaged(which));
      goto out;
    }
    if (hi) {
      size_t n = tlen < hilen ? tlen : hilen;
      int cmp = memcmp(k.mv_data, hi, n);
      if (cmp > 0 || (cmp == 0 && tlen > hilen)) break;
    } else if (tlen < lolen || memcmp(k.mv_data, lo, lolen) != 0) {
      break;
    }
    if ((rc = read_chunk(which, &v, out, err))) goto out;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : am_store_mdb_error(t, rc, "reading the search index", err);
out:
  mdb_cursor_close(c);
  return rc;
}

static int exact_ids(am_txn *t, int which, const void *key, size_t len, idset *out,
                     am_error *err) {
  return am_index_range(t, which, key, len, key, len, out, err);
}

int am_query_filter(am_query *q, int field, const char *value, am_error *err) {
  /* The job title is free text: its filter is on its words (q->job_title). */
  if (field == AM_F_JOB_TITLE) {
    if (q->job_title)
      return am_fail(err, AM_EUSAGE, "one job title at a time (its words must all match)");
    q->job_title = value;
    return 0;
  }
  if (field < 0 || field >= AM_F__COUNT || !(am_fields[field].flags & AM_FF_EXACT))
    return am_fail(err, AM_EUSAGE, "cannot search by %s", field >= 0 && field < AM_F__COUNT ? am_fields[field].name : "?");
  if (q->nfilters >= AM_QUERY_MAX_FILTERS)
    return am_fail(err, AM_EUSAGE, "too many filters (at most %d)", AM_QUERY_MAX_FILTERS);
  q->filters[q->nfilters].field = field;
  q->filters[q->nfilters].value = value;
  q->nfilters++;
  return 0;
}

/* ---- the folded query ------------------------------------------------- */

typedef am_prepared prepared;

typedef struct wordlist {
  char **v;
  size_t n;
} wordlist;

static int collect_word(const char *w, size_t len, void *arg) {
  wordlist *l = arg;
  char **v = realloc(l->v, (l->n + 1) * sizeof *v);
  if (!v) return AM_ENOMEM;
  l->v = v;
  if (!(l->v[l->n] = strndup(w, len))) return AM_ENOMEM;
  l->n++;
  return 0;
}

/* The folded words of text (what the index holds of a field). */
static int collect_words(const char *text, char ***words, size_t *n) {
  char *f;
  size_t len;
  int rc = am_text_fold(text, strlen(text), &f, &len);
  if (rc) return rc;
  wordlist l = {*words, *n};
  rc = am_text_words(f, len, collect_word, &l);
  *words = l.v, *n = l.n;
  free(f);
  return rc;
}

void am_prepared_free(am_prepared *p) {
  for (size_t i = 0; i < p->nwords; i++) free(p->words[i]);
  free(p->words);
  for (size_t i = 0; i < p->ntitle; i++) free(p->title_words[i]);
  free(p->title_words);
  for (size_t i = 0; i < AM_QUERY_MAX_FILTERS; i++) am_buf_free(&p->exact[i]);
  memset(p, 0, sizeof *p);
}
#define prepared_free am_prepared_free

int am_query_prepare(const am_query *q, am_prepared *p, am_error *err) {
  memset(p, 0, sizeof *p);
  int rc = 0;
  if (q->text && *q->text) {
    if (!am_utf8_valid(q->text, strlen(q->text)))
      return am_fail(err, AM_EUSAGE, "the search text is not valid UTF-8");
    if ((rc = collect_words(q->text, &p->words, &p->nwords))) return rc;
    /* "!!!" would otherwise match everyone. */
    if (!p->nwords)
      return am_fail(err, AM_EUSAGE, "the search text '%.60s' has no letter or digit to look for",
                     q->text);
  }
  if (q->job_title && *q->job_title) {
    if (!am_utf8_valid(q->job_title, strlen(q->job_title)))
      return am_fail(err, AM_EUSAGE, "the job title is not valid UTF-8");
    if ((rc = collect_words(q->job_title, &p->title_words, &p->ntitle))) return rc;
    if (!p->ntitle)
      return am_fail(err, AM_EUSAGE, "the job title '%.60s' has no letter or digit to look for",
                     q->job_title);
  }
  for (size_t i = 0; i < q->nfilters && !rc; i++) {
    if (!am_utf8_valid(q->filters[i].value, strlen(q->filters[i].value)))
      return am_fail(err, AM_EUSAGE, "the value for %s is not valid UTF-8",
                     am_fields[q->filters[i].field].name);
    rc = am_index_key_exact(q->filters[i].field, q->filters[i].value, &p->exact[i]);
  }
  return rc;
}
#define prepare am_query_prepare

/* ---- ordering ---------------------------------------------------------- */

typedef struct keyed {
  am_member m;
  char *key;
  size_t keylen;
} keyed;

static int keyed_cmp(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
  int c = memcmp(x->key, y->key, n);
  if (!c) c = (x->keylen > y->keylen) - (x->keylen < y->keylen);
  if (!c) c = (x->m.id > y->m.id) - (x->m.id < y->m.id);
  return c;
}

/* Sort key: promo (2 bytes, unknown last) when sorting by promo, then the
 * name key. */
static int sort_key(const am_member *m, int sort, am_buf *key) {
  if (sort == AM_SORT_PROMO) {
    uint32_t y = m->promo ? m->promo : 0xffff;
    char b[2] = {(char)(y >> 8), (char)(y & 0xff)};
    int rc = am_buf_append(key, b, 2);
    if (rc) return rc;
  }
  return am_index_key_name(m, key);
}

/* Decodes the members of ids, orders them, keeps [offset, offset+limit). */
static int order_in_memory(am_txn *t, const idset *ids, const am_query *q,
                           am_results *out, am_error *err) {
  keyed *k = calloc(ids->n ? ids->n : 1, sizeof *k);
  size_t n = 0;
  int rc = 0;
  if (!k) return AM_ENOMEM;
  for (; n < ids->n; n++) {
    if ((rc = am_members_get(t, ids->v[n], &k[n].m, err))) goto out;
    am_buf key = {0};
    if ((rc = sort_key(&k[n].m, q->sort, &key))) { am_member_free(&k[n].m); goto out; }
    k[n].key = key.data, k[n].keylen = key.len;
  }
  qsort(k, n, sizeof *k, keyed_cmp);
  size_t from = q->offset < n ? q->offset : n;
  size_t to = (q->limit && q->limit < n - from) ? from + q->limit : n;
  out->v = calloc(to - from ? to - from : 1, sizeof *out->v);
  if (!out->v) { rc = AM_ENOMEM; goto out; }
  for (size_t i = from; i < to; i++) {
    out->v[out->n++] = k[i].m;
    k[i].m.id = 0; /* handed over */
    memset(&k[i].m, 0, sizeof k[i].m);
  }
out:
  for (size_t i = 0; i < n; i++) {
    am_member_free(&k[i].m);
    free(k[i].key);
  }
  free(k);
  return rc;
}

/* Walks the name index in order, keeping members of ids (all when ids is
 * NULL), and decodes only the page. Ties are in id order, as in
 * order_in_memory. */
static int order_by_index(am_txn *t, const idset *ids, const am_query *q,
                          am_results *out, am_error *err) {
  MDB_cursor *c;
  size_t want = q->limit ? q->limit : (ids ? ids->n : SIZE_MAX);
  size_t skip = q->offset, seen = 0;
  idset page = {0};
  int rc = mdb_cursor_open(t->txn, am_store_dbi(t->store, "index"), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the search index", err);
  char tag = AM_IDX_NAME;
  MDB_val k = {1, &tag}, v;
  int mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); /* LMDB's codes */
  while (mrc == 0 && page.n < want) {
    if (k.mv_size < 1 || *(char *)k.mv_data != tag) break;
    idset group = {0};
    if ((rc = read_chunk(AM_DB_INDEX, &v, &group, err))) { set_free(&group); goto out; }
    for (size_t i = 0; i < group.n && page.n < want && !rc; i++) {
      if (ids && !set_has(ids, group.v[i])) continue;
      if (seen++ < skip) continue;
      rc = set_push(&page, group.v[i]);
    }
    set_free(&group);
    if (rc) goto out;
    mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  if (mrc && mrc != MDB_NOTFOUND) {
    rc = am_store_mdb_error(t, mrc, "reading the search index", err);
    goto out;
  }
  out->v = calloc(page.n ? page.n : 1, sizeof *out->v);
  if (!out->v) { rc = AM_ENOMEM; goto out; }
  for (size_t i = 0; i < page.n && !rc; i++) {
    rc = am_members_get(t, page.v[i], &out->v[i], err);
    if (!rc) out->n++;
  }
out:
  mdb_cursor_close(c);
  set_free(&page);
  return rc;
}

static int all_ids(am_txn *t, idset *out, am_error *err) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t->txn, am_store_dbi(t->store, "members"), &c), mrc;
  if (rc) return am_store_mdb_error(t, rc, "reading members", err);
  for (int op = MDB_FIRST; (mrc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
    if (k.mv_size != 8) { rc = am_fail(err, AM_ECORRUPT, "the member table is damaged"); break; }
    if ((rc = set_push(out, am_get_be64(k.mv_data)))) break;
  }
  mdb_cursor_close(c);
  if (!rc && mrc != MDB_NOTFOUND) rc = am_store_mdb_error(t, mrc, "reading members", err);
  return rc;
}

/* ---- queries ------------------------------------------------------------ */

static int prefix_ids(am_txn *t, int which, char tag, const char *word, idset *out,
                      am_error *err) {
  am_buf key = {0};
  int rc = am_buf_append(&key, &tag, 1);
  if (!rc) rc = am_buf_append(&key, word, strlen(word));
  if (!rc) rc = am_index_range(t, which, key.data, key.len, NULL, 0, out, err);
  am_buf_free(&key);
  return rc;
}

int am_index_match(am_txn *t, int which, const am_query *q, const am_prepared *p,
                   am_ids *extra, size_t nextra, am_ids *out, bool *unrestricted,
                   am_error *err) {
  /* Every filter, the promo range, mentoring, the words, the job title's. */
  enum { MAX_SETS = AM_QUERY_MAX_FILTERS + 2 + 2 * AM_QUERY_MAX_WORDS };
  idset sets[MAX_SETS];
  size_t nsets = 0;
  int rc = 0;
  memset(sets, 0, sizeof sets);
  memset(out, 0, sizeof *out);
  *unrestricted = false;
  for (size_t i = 0; i < q->nfilters; i++)
    if ((rc = exact_ids(t, which, p->exact[i].data, p->exact[i].len, &sets[nsets++], err))) goto out;
  if (q->promo_min || q->promo_max) {
    uint32_t lo = q->promo_min, hi = q->promo_max ? q->promo_max : 0xffff;
    char a[3] = {AM_IDX_YEAR, (char)(lo >> 8), (char)(lo & 0xff)};
    char b[3] = {AM_IDX_YEAR, (char)(hi >> 8), (char)(hi & 0xff)};
    if ((rc = am_index_range(t, which, a, 3, b, 3, &sets[nsets++], err))) goto out;
  }
  if (q->mentoring) {
    char m = AM_IDX_MENTOR;
    if ((rc = exact_ids(t, which, &m, 1, &sets[nsets++], err))) goto out;
  }
  /* Words: each query word matches as a prefix. */
  for (size_t i = 0; i < p->nwords && i < AM_QUERY_MAX_WORDS; i++)
    if ((rc = prefix_ids(t, which, AM_IDX_WORD, p->words[i], &sets[nsets++], err))) goto out;
  for (size_t i = 0; i < p->ntitle && i < AM_QUERY_MAX_WORDS; i++)
    if ((rc = prefix_ids(t, which, AM_IDX_TITLE, p->title_words[i], &sets[nsets++], err)))
      goto out;
  if (nsets == 0 && nextra == 0) {
    *unrestricted = true;
    goto out;
  }
  /* Intersect, smallest set first, so the work follows the rarest filter. */
  for (size_t i = 0; i < nsets; i++) set_normalise(&sets[i]);
  idset *smallest = NULL;
  for (size_t i = 0; i < nsets; i++)
    if (!smallest || sets[i].n < smallest->n) smallest = &sets[i];
  for (size_t i = 0; i < nextra; i++)
    if (!smallest || extra[i].n < smallest->n) smallest = &extra[i];
  for (size_t i = 0; i < nsets && smallest->n; i++)
    if (&sets[i] != smallest) set_intersect(smallest, &sets[i]);
  for (size_t i = 0; i < nextra && smallest->n; i++)
    if (&extra[i] != smallest) set_intersect(smallest, &extra[i]);
  *out = *smallest;
  memset(smallest, 0, sizeof *smallest); /* handed over */
out:
  for (size_t i = 0; i < nsets; i++) set_free(&sets[i]);
  for (size_t i = 0; i < nextra; i++) set_free(&extra[i]);
  return rc;
}

int am_search(am_txn *t, const am_query *q, am_results *out, am_error *err) {
  prepared p;
  idset r = {0};
  bool all;
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = prepare(q, &p, err))) goto out;
  if ((rc = am_index_match(t, AM_DB_INDEX, q, &p, NULL, 0, &r, &all, err))) goto out;
  if (all && q->sort == AM_SORT_NAME) {
    size_t total;
    if ((rc = am_members_count(t, &total))) goto out;
    out->total = total;
    rc = order_by_index(t, NULL, q, out, err);
    goto out;
  }
  if (all) {
    /* Everyone by promo (members without one last): no index holds them
     * all in that order, so every member is ordered in memory. */
    if ((rc = all_ids(t, &r, err))) goto out;
  }
  out->total = r.n;
  size_t members;
  if ((rc = am_members_count(t, &members))) goto out;
  if (walk_is_cheaper(r.n, members, q))
    rc = order_by_index(t, &r, q, out, err);
  else
    rc = order_in_memory(t, &r, q, out, err);
out:
  if (rc) am_results_free(out);
  set_free(&r);
  prepared_free(&p);
  return rc;
}

/* ---- the full-scan reference ------------------------------------------- */

typedef struct scan {
  const am_query *q;
  const prepared *p;
  idset hits;
  int rc;
} scan;

static int word_prefix_cb(const char *w, size_t len, void *arg) {
  const char *want = arg;
  size_t n = strlen(want);
  return len >= n && memcmp(w, want, n) == 0;
}

static bool text_has_word(const char *s, const char *word) {
  char *fo;
  size_t n;
  if (!s || am_text_fold(s, strlen(s), &fo, &n)) return false;
  int hit = am_text_words(fo, n, word_prefix_cb, (void *)word);
  free(fo);
  return hit == 1;
}

static bool words_match(const am_member *m, const char *word) {
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (!(am_fields[f].flags & AM_FF_WORDS)) continue;
    if (text_has_word(*(char *const *)((const char *)m + am_fields[f].offset), word)) return true;
  }
  return false;
}

static bool exact_match(const am_member *m, int f, const am_buf *want) {
  const char *one;
  const char *const *items;
  uint32_t n = am_member_items(m, f, &items, &one);
  for (uint32_t i = 0; i < n; i++) {
    am_buf k = {0};
    bool eq = am_index_key_exact(f, items[i], &k) == 0 && k.len == want->len &&
              memcmp(k.data, want->data, k.len) == 0;
    am_buf_free(&k);
    if (eq) return true;
  }
  return false;
}

bool am_query_matches(const am_query *q, const am_prepared *p, const am_member *m) {
  if (q->promo_min && (!m->promo || m->promo < q->promo_min)) return false;
  if (q->promo_max && (!m->promo || m->promo > q->promo_max)) return false;
  if (q->mentoring && !m->mentoring) return false;
  for (size_t i = 0; i < q->nfilters; i++)
    if (!exact_match(m, q->filters[i].field, &p->exact[i])) return false;
  for (size_t i = 0; i < p->nwords && i < AM_QUERY_MAX_WORDS; i++)
    if (!words_match(m, p->words[i])) return false;
  for (size_t i = 0; i < p->ntitle && i < AM_QUERY_MAX_WORDS; i++)
    if (!text_has_word(m->job_title, p->title_words[i])) return false;
  return true;
}

static int scan_cb(am_member *m, void *arg) {
  scan *s = arg;
  if (!am_query_matches(s->q, s->p, m)) return 0;
  return set_push(&s->hits, m->id);
}

int am_search_scan(am_txn *t, const am_query *q, am_results *out,
                   am_error *err) {
  prepared p;
  scan s = {.q = q, .p = &p};
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = prepare(q, &p, err))) goto out;
  if ((rc = am_members_each(t, scan_cb, &s, err))) goto out;
  out->total = s.hits.n;
  rc = order_in_memory(t, &s.hits, q, out, err);
out:
  if (rc) am_results_free(out);
  set_free(&s.hits);
  prepared_free(&p);
  return rc;
}

void am_results_free(am_results *r) {
  for (size_t i = 0; i < r->n; i++) am_member_free(&r->v[i]);
  free(r->v);
  memset(r, 0, sizeof *r);
}
