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

typedef struct idset {
  uint64_t *v;
  size_t n, cap;
} idset;

static void set_free(idset *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}

static int set_push(idset *s, uint64_t id) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *v = realloc(s->v, cap * sizeof *v);
    if (!v) return AM_ENOMEM;
    s->v = v, s->cap = cap;
  }
  s->v[s->n++] = id;
  return 0;
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void set_normalise(idset *s) {
  if (!s->n) return;
  qsort(s->v, s->n, sizeof *s->v, u64_cmp);
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++)
    if (k == 0 || s->v[k - 1] != s->v[i]) s->v[k++] = s->v[i];
  s->n = k;
}

static bool set_has(const idset *s, uint64_t id) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->v[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->n && s->v[lo] == id;
}

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
static int read_chunk(const MDB_val *v, idset *out, am_error *err) {
  size_t n = am_postings_count(v);
  if (!n) return am_fail(err, AM_ECORRUPT, "the search index is damaged");
  const uint8_t *p = v->mv_data;
  for (size_t i = 0; i < n; i++)
    if (set_push(out, am_get_be64(p + 8 * i))) return AM_ENOMEM;
  return 0;
}

/* Ids of every term in [lo, hi] (byte order), or of every term that
 * starts with lo when hi is NULL. */
static int scan_keys(am_txn *t, const void *lo, size_t lolen, const void *hi,
                     size_t hilen, idset *out, am_error *err) {
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, am_store_dbi(t->store, "index"), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the search index", err);
  MDB_val k = {lolen, (void *)lo}, v;
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    size_t tlen = am_postings_term_len(&k);
    if (!tlen) {
      rc = am_fail(err, AM_ECORRUPT, "the search index is damaged");
      goto out;
    }
    if (hi) {
      size_t n = tlen < hilen ? tlen : hilen;
      int cmp = memcmp(k.mv_data, hi, n);
      if (cmp > 0 || (cmp == 0 && tlen > hilen)) break;
    } else if (tlen < lolen || memcmp(k.mv_data, lo, lolen) != 0) {
      break;
    }
    if ((rc = read_chunk(&v, out, err))) goto out;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  rc = (rc == 0 || rc == MDB_NOTFOUND) ? 0 : am_store_mdb_error(t, rc, "reading the search index", err);
out:
  mdb_cursor_close(c);
  return rc;
}

static int exact_ids(am_txn *t, const void *key, size_t len, idset *out, am_error *err) {
  return scan_keys(t, key, len, key, len, out, err);
}

int am_query_filter(am_query *q, int field, const char *value, am_error *err) {
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

typedef struct prepared {
  char **words; /* folded query words */
  size_t nwords;
  am_buf exact[AM_QUERY_MAX_FILTERS]; /* index keys of the exact filters */
} prepared;

static int collect_word(const char *w, size_t len, void *arg) {
  prepared *p = arg;
  char **v = realloc(p->words, (p->nwords + 1) * sizeof *v);
  if (!v) return AM_ENOMEM;
  p->words = v;
  if (!(p->words[p->nwords] = strndup(w, len))) return AM_ENOMEM;
  p->nwords++;
  return 0;
}

static void prepared_free(prepared *p) {
  for (size_t i = 0; i < p->nwords; i++) free(p->words[i]);
  free(p->words);
  for (size_t i = 0; i < AM_QUERY_MAX_FILTERS; i++) am_buf_free(&p->exact[i]);
}

static int prepare(const am_query *q, prepared *p, am_error *err) {
  memset(p, 0, sizeof *p);
  int rc = 0;
  if (q->text && *q->text) {
    if (!am_utf8_valid(q->text, strlen(q->text)))
      return am_fail(err, AM_EUSAGE, "the search text is not valid UTF-8");
    char *f;
    size_t n;
    if ((rc = am_text_fold(q->text, strlen(q->text), &f, &n))) return rc;
    rc = am_text_words(f, n, collect_word, p);
    free(f);
    if (rc) return rc;
    /* "!!!" would otherwise match everyone. */
    if (!p->nwords)
      return am_fail(err, AM_EUSAGE, "the search text '%.60s' has no letter or digit to look for",
                     q->text);
  }
  for (size_t i = 0; i < q->nfilters && !rc; i++) {
    if (!am_utf8_valid(q->filters[i].value, strlen(q->filters[i].value)))
      return am_fail(err, AM_EUSAGE, "the value for %s is not valid UTF-8",
                     am_fields[q->filters[i].field].name);
    rc = am_index_key_exact(q->filters[i].field, q->filters[i].value, &p->exact[i]);
  }
  return rc;
}

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
    if ((rc = read_chunk(&v, &group, err))) { set_free(&group); goto out; }
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

int am_search(am_txn *t, const am_query *q, am_results *out, am_error *err) {
  prepared p;
  /* Every filter, the promo range, mentoring and the words. */
  idset sets[AM_QUERY_MAX_FILTERS + 2 + AM_QUERY_MAX_WORDS];
  size_t nsets = 0;
  int rc;
  memset(out, 0, sizeof *out);
  memset(sets, 0, sizeof sets);
  if ((rc = prepare(q, &p, err))) goto out;

  for (size_t i = 0; i < q->nfilters; i++) {
    idset *s = &sets[nsets++];
    if ((rc = exact_ids(t, p.exact[i].data, p.exact[i].len, s, err))) goto out;
  }
  if (q->promo_min || q->promo_max) {
    uint32_t lo = q->promo_min, hi = q->promo_max ? q->promo_max : 0xffff;
    char a[3] = {AM_IDX_YEAR, (char)(lo >> 8), (char)(lo & 0xff)};
    char b[3] = {AM_IDX_YEAR, (char)(hi >> 8), (char)(hi & 0xff)};
    idset *s = &sets[nsets++];
    if ((rc = scan_keys(t, a, 3, b, 3, s, err))) goto out;
  }
  if (q->mentoring) {
    char m = AM_IDX_MENTOR;
    if ((rc = exact_ids(t, &m, 1, &sets[nsets++], err))) goto out;
  }
  /* Words: each query word matches as a prefix. */
  for (size_t i = 0; i < p.nwords && i < AM_QUERY_MAX_WORDS; i++) {
    am_buf key = {0};
    char tag = AM_IDX_WORD;
    if ((rc = am_buf_append(&key, &tag, 1)) ||
        (rc = am_buf_append(&key, p.words[i], strlen(p.words[i])))) {
      am_buf_free(&key);
      goto out;
    }
    rc = scan_keys(t, key.data, key.len, NULL, 0, &sets[nsets++], err);
    am_buf_free(&key);
    if (rc) goto out;
  }

  if (nsets == 0 && q->sort == AM_SORT_NAME) {
    size_t total;
    if ((rc = am_members_count(t, &total))) goto out;
    out->total = total;
    rc = order_by_index(t, NULL, q, out, err);
    goto out;
  }
  if (nsets == 0) {
    /* Everyone by promo (members without one last): no index holds them
     * all in that order, so every member is ordered in memory. */
    if ((rc = all_ids(t, &sets[nsets++], err))) goto out;
  }
  /* Intersect, smallest set first, so the work follows the rarest filter. */
  for (size_t i = 0; i < nsets; i++) set_normalise(&sets[i]);
  size_t smallest = 0;
  for (size_t i = 1; i < nsets; i++)
    if (sets[i].n < sets[smallest].n) smallest = i;
  idset *r = &sets[smallest];
  for (size_t i = 0; i < nsets && r->n; i++)
    if (i != smallest) set_intersect(r, &sets[i]);
  out->total = r->n;
  size_t members;
  if ((rc = am_members_count(t, &members))) goto out;
  if (walk_is_cheaper(r->n, members, q))
    rc = order_by_index(t, r, q, out, err);
  else
    rc = order_in_memory(t, r, q, out, err);
out:
  if (rc) am_results_free(out);
  for (size_t i = 0; i < nsets; i++) set_free(&sets[i]);
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

static bool words_match(const am_member *m, const char *word) {
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (!(am_fields[f].flags & AM_FF_WORDS)) continue;
    const char *s = *(char *const *)((const char *)m + am_fields[f].offset);
    if (!s) continue;
    char *fo;
    size_t n;
    if (am_text_fold(s, strlen(s), &fo, &n)) continue;
    int hit = am_text_words(fo, n, word_prefix_cb, (void *)word);
    free(fo);
    if (hit == 1) return true;
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

static int scan_cb(am_member *m, void *arg) {
  scan *s = arg;
  const am_query *q = s->q;
  if (q->promo_min && (!m->promo || m->promo < q->promo_min)) return 0;
  if (q->promo_max && (!m->promo || m->promo > q->promo_max)) return 0;
  if (q->mentoring && !m->mentoring) return 0;
  for (size_t i = 0; i < q->nfilters; i++)
    if (!exact_match(m, q->filters[i].field, &s->p->exact[i])) return 0;
  for (size_t i = 0; i < s->p->nwords && i < AM_QUERY_MAX_WORDS; i++)
    if (!words_match(m, s->p->words[i])) return 0;
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
