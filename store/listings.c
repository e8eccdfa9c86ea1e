/* Events and job offers, indexed at ingest (see listings.h; the tables are
 * in docs/STORE.md, "Listings").
 *
 *   lst        seq[8] -> id[32] kind[1] order[8] until[8] created[8]
 *   lst_ref    id[32] -> seq[8], then every lst_index key written for the
 *              listing, in order, front-coded: shared[1] suffix_len[1]
 *              suffix (shared: bytes in common with the key before)
 *   lst_index  kind[1] tag[1] term -> posting order[8] seq[8], sorted
 *              (MDB_DUPSORT | MDB_DUPFIXED)
 *
 * order is the place in the results: starts_at for events, ~created for
 * jobs (newest first). seq is the listing's local number: the first 8
 * bytes of its id (the next free number on a clash), so that postings with
 * the same order fall in id order as the results do. Every posting list is
 * therefore already in result order: a time window is a range of each
 * list, an intersection keeps the order, and no result set is ever sorted.
 * The walk of the time order that member search chooses when cheaper
 * (store/search.c, walk_is_cheaper) is here the read of the most selective
 * list over the window itself. The one list in another order is 'C' of
 * events (created[8] seq[8], for the digest's "posted since").
 *
 * lst_ref keeps the keys written, so deleting a listing removes exactly
 * them, even after a change of folding (libunistring) or of the fields
 * indexed. */
#include "store/listings.h"

#include <stdlib.h>
#include <string.h>

#include "proto/text.h"
#include "store/announcements.h"

/* The tag byte after the kind in lst_index keys. */
enum {
  T_ALL = 'A',      /* every listing of the kind (no term) */
  T_CREATED = 'C',  /* events by created time (postings created[8] seq[8]) */
  T_SPAN = 'D',     /* events by duration class (1 byte), see spans[] */
  T_CITY = 'c',
  T_COUNTRY = 'n',
  T_TAG = 'g',
  T_ONLINE = 'o',   /* 1 byte 0/1 */
  T_STATUS = 's',   /* 1 byte, the enum index */
  T_CONTRACT = 'k', /* 1 byte */
  T_REMOTE = 'r',   /* 1 byte, only when set */
  T_ALUMNI = 'a',   /* 1 byte 0/1 */
  T_SKILL = 'K',
  T_ORIGIN = 'O',   /* 32 bytes */
  T_WORD = 'w',
};

#define POST 16        /* order[8] seq[8] */
#define REC 57         /* id[32] kind[1] order[8] until[8] created[8] */
#define TERM_MAX 200   /* bytes of a folded exact term (city, tag...) */
#define KEY_MAX (2 + TERM_MAX)
#define REF_MAX (1u << 20) /* a listing's keys: far above any real one */
#define SEQ_TRIES 64

/* An event in progress at time from started at most its duration before.
 * Durations fall in classes, each its own list by start time, so that
 * finding the events in progress reads only the starts within a class's
 * longest duration before from (most events last under a day). */
static const uint64_t spans[] = {86400, 7 * 86400, 31 * 86400, 366 * 86400, UINT64_MAX};
#define NSPANS (sizeof spans / sizeof *spans)

/* Fields whose words are indexed, and fields matched whole. */
static const uint8_t event_words[] = {AM_EV_TITLE, AM_EV_DESCRIPTION, AM_EV_VENUE,
                                      AM_EV_ORGANISER, AM_EV_TAGS};
static const uint8_t job_words[] = {AM_JOB_TITLE, AM_JOB_EMPLOYER, AM_JOB_DESCRIPTION,
                                    AM_JOB_SKILLS};

static MDB_dbi db(am_txn *t, int which) { return am_store_db(t->store, which); }

static int mdb_err(am_txn *t, int rc, am_error *err) {
  return am_store_mdb_error(t, rc, "the listings index", err);
}

static int corrupt(am_error *err, const char *what) {
  return am_fail(err, AM_ECORRUPT, "the listings index is damaged (%s)", what);
}

/* ---- text ---------------------------------------------------------------- */

/* Length of the longest prefix of s[0..n) of at most max bytes that ends
 * at a character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80) max--;
  return max;
}

/* The folded form of an exact term, cut to TERM_MAX bytes (*out malloc'd,
 * possibly empty). AM_EINVAL when s is not UTF-8. */
static int norm(const char *s, char **out) {
  size_t n;
  int rc = am_text_fold(s, strlen(s), out, &n);
  if (rc) return rc;
  (*out)[utf8_cut(*out, n, TERM_MAX)] = '\0';
  return 0;
}

/* Calls cb for each word of the indexed text fields of a. */
static int each_word(const am_ann *a, am_word_cb cb, void *arg) {
  const uint8_t *f = a->kind == AM_K_EVENT ? event_words : job_words;
  size_t nf = a->kind == AM_K_EVENT ? sizeof event_words : sizeof job_words;
  for (size_t i = 0; i < nf; i++) {
    const am_aval *v = &a->body[f[i]];
    if (!v->set) continue;
    uint32_t n = v->s ? 1 : v->l.n;
    for (uint32_t j = 0; j < n; j++) {
      const char *s = v->s ? v->s : v->l.v[j];
      char *fo;
      size_t len;
      int rc = am_text_fold(s, strlen(s), &fo, &len);
      if (rc) return rc;
      rc = am_text_words(fo, len, cb, arg);
      free(fo);
      if (rc) return rc;
    }
  }
  return 0;
}

/* ---- the keys of one listing -------------------------------------------- */

/* Keys collected for one listing, each len[1] key in b; offs: where each
 * starts. */
typedef struct terms {
  int kind;
  am_buf b;
  size_t *offs;
  size_t n, cap;
} terms;

static int terms_add(terms *ts, int tag, const void *p, size_t n) {
  if (n > TERM_MAX) return AM_EINTERNAL;
  if (ts->n == ts->cap) {
    size_t cap = ts->cap ? ts->cap * 2 : 64;
    size_t *v = realloc(ts->offs, cap * sizeof *v);
    if (!v) return AM_ENOMEM;
    ts->offs = v, ts->cap = cap;
  }
  uint8_t head[3] = {(uint8_t)(n + 2), (uint8_t)ts->kind, (uint8_t)tag};
  ts->offs[ts->n] = ts->b.len;
  int rc = am_buf_append(&ts->b, head, 3);
  if (!rc && n) rc = am_buf_append(&ts->b, p, n);
  if (!rc) ts->n++;
  return rc;
}

static int terms_byte(terms *ts, int tag, uint64_t v) {
  uint8_t b = (uint8_t)v;
  return terms_add(ts, tag, &b, 1);
}

static int terms_exact(terms *ts, int tag, const char *s) {
  char *f;
  int rc = norm(s, &f);
  if (rc) return rc;
  if (*f) rc = terms_add(ts, tag, f, strlen(f)); /* nothing to match: not indexed */
  free(f);
  return rc;
}

static int terms_exact_field(terms *ts, int tag, const am_aval *v) {
  if (!v->set) return 0;
  if (v->s) return terms_exact(ts, tag, v->s);
  for (uint32_t i = 0; i < v->l.n; i++) {
    int rc = terms_exact(ts, tag, v->l.v[i]);
    if (rc) return rc;
  }
  return 0;
}

static int word_cb(const char *w, size_t len, void *arg) {
  return terms_add(arg, T_WORD, w, len);
}

static void terms_free(terms *ts) {
  am_buf_free(&ts->b);
  free(ts->offs);
}

static int span_class(uint64_t duration) {
  int c = 0;
  while (duration > spans[c]) c++;
  return c;
}

/* End of an event (its start when it gives no end); 0 for a job. */
static uint64_t until_of(const am_ann *a) {
  if (a->kind != AM_K_EVENT) return 0;
  const am_aval *e = &a->body[AM_EV_ENDS_AT];
  return e->set ? e->u : a->body[AM_EV_STARTS_AT].u;
}

static uint64_t order_of(const am_ann *a) {
  return a->kind == AM_K_EVENT ? a->body[AM_EV_STARTS_AT].u : ~a->created;
}

static int collect(const am_ann *a, terms *ts) {
  const am_aval *b = a->body;
  int rc = terms_add(ts, T_ALL, NULL, 0);
  if (!rc) rc = terms_add(ts, T_ORIGIN, a->origin, AM_ANN_KEY_BYTES);
  if (a->kind == AM_K_EVENT) {
    if (!rc) rc = terms_add(ts, T_CREATED, NULL, 0);
    if (!rc) rc = terms_byte(ts, T_SPAN, (uint64_t)span_class(until_of(a) - b[AM_EV_STARTS_AT].u));
    if (!rc) rc = terms_exact_field(ts, T_CITY, &b[AM_EV_CITY]);
    if (!rc) rc = terms_exact_field(ts, T_COUNTRY, &b[AM_EV_COUNTRY]);
    if (!rc) rc = terms_exact_field(ts, T_TAG, &b[AM_EV_TAGS]);
    if (!rc) rc = terms_byte(ts, T_ONLINE, b[AM_EV_ONLINE].set);
    if (!rc) rc = terms_byte(ts, T_STATUS, b[AM_EV_STATUS].u);
  } else {
    if (!rc) rc = terms_exact_field(ts, T_CITY, &b[AM_JOB_CITY]);
    if (!rc) rc = terms_exact_field(ts, T_COUNTRY, &b[AM_JOB_COUNTRY]);
    if (!rc) rc = terms_exact_field(ts, T_SKILL, &b[AM_JOB_SKILLS]);
    if (!rc) rc = terms_byte(ts, T_CONTRACT, b[AM_JOB_CONTRACT].u);
    if (!rc && b[AM_JOB_REMOTE].set) rc = terms_byte(ts, T_REMOTE, b[AM_JOB_REMOTE].u);
    if (!rc) rc = terms_byte(ts, T_ALUMNI, b[AM_JOB_ALUMNI_ONLY].u);
  }
  if (!rc) rc = each_word(a, word_cb, ts);
  return rc;
}

/* Orders len[1] key strings by key. */
static int key_cmp(const void *x, const void *y) {
  const uint8_t *a = *(const uint8_t *const *)x, *b = *(const uint8_t *const *)y;
  size_t n = a[0] < b[0] ? a[0] : b[0];
  int c = memcmp(a + 1, b + 1, n);
  return c ? c : (a[0] > b[0]) - (a[0] < b[0]);
}

/* ---- writing --------------------------------------------------------------- */

typedef struct rec {
  uint8_t id[AM_ANN_ID_BYTES];
  uint8_t kind;
  uint64_t order, until, created;
} rec;

static void rec_encode(uint8_t v[REC], const rec *r) {
  memcpy(v, r->id, 32);
  v[32] = r->kind;
  am_be64(v + 33, r->order);
  am_be64(v + 41, r->until);
  am_be64(v + 49, r->created);
}

/* The record of seq: 0, AM_ENOTFOUND, or an error. */
static int rec_get(am_txn *t, uint64_t seq, rec *r, am_error *err) {
  uint8_t k[8];
  am_be64(k, seq);
  MDB_val key = {8, k}, val;
  int rc = mdb_get(t->txn, db(t, AM_DB_LST), &key, &val);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return mdb_err(t, rc, err);
  if (val.mv_size != REC) return corrupt(err, "a listing record has the wrong size");
  const uint8_t *v = val.mv_data;
  memcpy(r->id, v, 32);
  r->kind = v[32];
  r->order = am_get_be64(v + 33);
  r->until = am_get_be64(v + 41);
  r->created = am_get_be64(v + 49);
  return 0;
}

static void posting(uint8_t p[POST], uint64_t order, uint64_t seq) {
  am_be64(p, order);
  am_be64(p + 8, seq);
}

/* The posting of key for the listing r (the 'C' list is by created). */
static void posting_of(uint8_t p[POST], const uint8_t *key, size_t len, const rec *r,
                       uint64_t seq) {
  bool created = len == 2 && key[1] == T_CREATED;
  posting(p, created ? r->created : r->order, seq);
}

int am_listings_put(am_txn *t, const am_ann *a, am_error *err) {
  if (a->kind != AM_K_EVENT && a->kind != AM_K_JOB) return 0;
  terms ts = {.kind = a->kind};
  const uint8_t **keys = NULL; /* into ts.b, sorted */
  am_buf ref = {0};
  MDB_val k = {AM_ANN_ID_BYTES, (void *)a->id}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_LST_REF), &k, &v);
  if (rc == 0) return 0; /* indexed already: the same bytes again */
  if (rc != MDB_NOTFOUND) return mdb_err(t, rc, err);
  if ((rc = collect(a, &ts))) goto out;
  if (!(keys = malloc(ts.n * sizeof *keys))) {
    rc = AM_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < ts.n; i++) keys[i] = (const uint8_t *)ts.b.data + ts.offs[i];
  qsort(keys, ts.n, sizeof *keys, key_cmp);

  /* The number: the id's first 8 bytes, or the next free one. */
  uint64_t seq = am_get_be64(a->id);
  rec r;
  for (int i = 0;; i++, seq++) {
    if (i == SEQ_TRIES) {
      rc = am_fail(err, AM_EINTERNAL, "no free listing number near %016llx",
                   (unsigned long long)am_get_be64(a->id));
      goto out;
    }
    rc = rec_get(t, seq, &r, err);
    if (rc == AM_ENOTFOUND) break;
    if (rc) goto out;
  }
  memcpy(r.id, a->id, 32);
  r.kind = a->kind;
  r.order = order_of(a);
  r.until = until_of(a);
  r.created = a->created;
  uint8_t sk[8], rv[REC], p[POST];
  am_be64(sk, seq);
  rec_encode(rv, &r);
  k = (MDB_val){8, sk}, v = (MDB_val){REC, rv};
  if ((rc = mdb_put(t->txn, db(t, AM_DB_LST), &k, &v, MDB_NOOVERWRITE))) {
    rc = mdb_err(t, rc, err);
    goto out;
  }
  if ((rc = am_buf_append(&ref, sk, 8))) goto out;
  for (size_t i = 0; i < ts.n; i++) {
    if (i && key_cmp(&keys[i - 1], &keys[i]) == 0) continue; /* a word seen twice */
    const uint8_t *key = keys[i] + 1;
    size_t len = keys[i][0];
    posting_of(p, key, len, &r, seq);
    k = (MDB_val){len, (void *)key}, v = (MDB_val){POST, p};
    if ((rc = mdb_put(t->txn, db(t, AM_DB_LST_INDEX), &k, &v, 0))) {
      rc = mdb_err(t, rc, err);
      goto out;
    }
    /* Front coding: sorted keys share their start (kind, tag, the first
     * letters of words), which halves the list. */
    size_t shared = 0;
    if (i) {
      const uint8_t *prev = keys[i - 1];
      while (shared < prev[0] && shared < len && prev[1 + shared] == key[shared]) shared++;
    }
    uint8_t head[2] = {(uint8_t)shared, (uint8_t)(len - shared)};
    if ((rc = am_buf_append(&ref, head, 2)) ||
        (rc = am_buf_append(&ref, key + shared, len - shared)))
      goto out;
  }
  k = (MDB_val){AM_ANN_ID_BYTES, (void *)a->id}, v = (MDB_val){ref.len, ref.data};
  if (ref.len > REF_MAX) rc = am_fail(err, AM_ETOOBIG, "a listing has too many words to index");
  else if ((rc = mdb_put(t->txn, db(t, AM_DB_LST_REF), &k, &v, 0))) rc = mdb_err(t, rc, err);
out:
  terms_free(&ts);
  free(keys);
  am_buf_free(&ref);
  return rc;
}

static int del_one(am_txn *t, int which, const void *key, size_t len, const void *val,
                   size_t vlen, am_error *err) {
  MDB_val k = {len, (void *)key}, v = {vlen, (void *)val};
  int rc = mdb_del(t->txn, db(t, which), &k, val ? &v : NULL);
  /* Already gone is what deleting wants: a damaged index heals here
   * rather than blocking the retraction that reaches it. */
  return rc == MDB_NOTFOUND ? 0 : mdb_err(t, rc, err);
}

int am_listings_del(am_txn *t, const am_ann *a, am_error *err) {
  if (a->kind != AM_K_EVENT && a->kind != AM_K_JOB) return 0;
  MDB_val k = {AM_ANN_ID_BYTES, (void *)a->id}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_LST_REF), &k, &v);
  if (rc == MDB_NOTFOUND) return 0; /* never indexed */
  if (rc) return mdb_err(t, rc, err);
  if (v.mv_size < 8 || v.mv_size > REF_MAX) return corrupt(err, "a listing's key list");
  /* LMDB's copy moves with the deletions below. */
  uint8_t *ref = malloc(v.mv_size);
  if (!ref) return AM_ENOMEM;
  size_t n = v.mv_size;
  memcpy(ref, v.mv_data, n);
  uint64_t seq = am_get_be64(ref);
  rec r;
  if ((rc = rec_get(t, seq, &r, err)) == AM_ENOTFOUND || (!rc && memcmp(r.id, a->id, 32)))
    rc = corrupt(err, "a listing's number points elsewhere");
  uint8_t key[KEY_MAX];
  size_t klen = 0;
  for (size_t i = 8; !rc && i < n;) {
    /* shared[1] suffix_len[1] suffix: the key is the previous one's first
     * shared bytes and the suffix. */
    size_t shared = ref[i], more = i + 1 < n ? ref[i + 1] : 0;
    if (i + 2 + more > n || shared > klen || shared + more < 2 || shared + more > KEY_MAX) {
      rc = corrupt(err, "a listing's key list");
      break;
    }
    memcpy(key + shared, ref + i + 2, more);
    klen = shared + more;
    if (key[0] != a->kind) {
      rc = corrupt(err, "a listing's key list");
      break;
    }
    uint8_t p[POST];
    posting_of(p, key, klen, &r, seq);
    rc = del_one(t, AM_DB_LST_INDEX, key, klen, p, POST, err);
    i += 2 + more;
  }
  uint8_t sk[8];
  am_be64(sk, seq);
  if (!rc) rc = del_one(t, AM_DB_LST, sk, 8, NULL, 0, err);
  if (!rc) rc = del_one(t, AM_DB_LST_REF, a->id, AM_ANN_ID_BYTES, NULL, 0, err);
  free(ref);
  return rc;
}

/* ---- the query, checked and folded ----------------------------------------- */

void am_listing_query_init(am_listing_query *q, int kind) {
  memset(q, 0, sizeof *q);
  q->kind = kind;
  q->contract = q->online = q->remote = q->alumni_only = -1;
}

typedef struct prepared {
  int kind;
  char *words[AM_LISTING_MAX_WORDS];
  size_t nwords;
  char *city, *country, *tag, *skill; /* folded, NULL: any */
  int contract, online, remote, alumni;
  /* The window over order (postings in [lo, hi]); events also those that
   * started before lo and end at or after it (lo > 0). */
  uint64_t lo, hi;
  uint64_t since; /* events: created >= since */
  bool empty;     /* the window holds nothing */
} prepared;

static void prepared_free(prepared *p) {
  for (size_t i = 0; i < p->nwords; i++) free(p->words[i]);
  free(p->city), free(p->country), free(p->tag), free(p->skill);
  memset(p, 0, sizeof *p);
}

static int collect_word(const char *w, size_t len, void *arg) {
  prepared *p = arg;
  if (p->nwords == AM_LISTING_MAX_WORDS) return 1;
  if (!(p->words[p->nwords] = strndup(w, len))) return AM_ENOMEM;
  p->nwords++;
  return 0;
}

static int prep_term(const char *s, const char *what, char **out, am_error *err) {
  if (!s || !*s) return 0;
  if (!am_utf8_valid(s, strlen(s)))
    return am_fail(err, AM_EUSAGE, "the %s to look for is not valid UTF-8", what);
  int rc = norm(s, out);
  if (rc) return rc;
  if (!**out) return am_fail(err, AM_EUSAGE, "the %s '%.60s' has nothing to look for", what, s);
  return 0;
}

static uint32_t enum_count(int kind, int field) {
  const char *const *names = am_ann_kinds[kind].fields[field].names;
  uint32_t n = 0;
  while (names[n]) n++;
  return n;
}

static int prep_enum(int v, int kind, int field, am_error *err) {
  if (v < -1 || (v >= 0 && (uint32_t)v >= enum_count(kind, field)))
    return am_fail(err, AM_EUSAGE, "%d is not a %s value", v,
                   am_ann_kinds[kind].fields[field].name);
  return 0;
}

static int prepare(const am_listing_query *q, prepared *p, am_error *err) {
  memset(p, 0, sizeof *p);
  p->kind = q->kind;
  p->contract = p->online = p->remote = p->alumni = -1;
  if (q->kind != AM_K_EVENT && q->kind != AM_K_JOB)
    return am_fail(err, AM_EUSAGE, "listings are events or jobs (kind %d)", q->kind);
  if (q->norigins > AM_LISTING_MAX_ORIGINS)
    return am_fail(err, AM_EUSAGE, "at most %d origins", AM_LISTING_MAX_ORIGINS);
  int rc;
  if (q->text && *q->text) {
    if (!am_utf8_valid(q->text, strlen(q->text)))
      return am_fail(err, AM_EUSAGE, "the search text is not valid UTF-8");
    char *f;
    size_t n;
    if ((rc = am_text_fold(q->text, strlen(q->text), &f, &n))) return rc;
    rc = am_text_words(f, n, collect_word, p);
    free(f);
    if (rc == 1)
      return am_fail(err, AM_EUSAGE, "the search text has more than %d words",
                     AM_LISTING_MAX_WORDS);
    if (rc) return rc;
    if (!p->nwords)
      return am_fail(err, AM_EUSAGE, "the search text '%.60s' has no letter or digit to look for",
                     q->text);
  }
  if ((rc = prep_term(q->city, "city", &p->city, err)) ||
      (rc = prep_term(q->country, "country", &p->country, err)))
    return rc;
  if (q->kind == AM_K_EVENT) {
    if ((rc = prep_term(q->tag, "tag", &p->tag, err))) return rc;
    if (q->online < -1 || q->online > 1)
      return am_fail(err, AM_EUSAGE, "online is -1 (any), 0 or 1, not %d", q->online);
    p->online = q->online;
    /* Starts in [from, to], or before from and still going on. */
    p->lo = q->from;
    p->hi = q->to ? q->to : UINT64_MAX;
    p->since = q->posted_since;
  } else {
    if ((rc = prep_term(q->skill, "skill", &p->skill, err))) return rc;
    if ((rc = prep_enum(q->contract, AM_K_JOB, AM_JOB_CONTRACT, err)) ||
        (rc = prep_enum(q->remote, AM_K_JOB, AM_JOB_REMOTE, err)))
      return rc;
    if (q->alumni_only < -1 || q->alumni_only > 1)
      return am_fail(err, AM_EUSAGE, "alumni_only is -1 (any), 0 or 1, not %d", q->alumni_only);
    p->contract = q->contract, p->remote = q->remote, p->alumni = q->alumni_only;
    /* Created in [max(from, since), to], newest first: order = ~created. */
    uint64_t from = q->from > q->posted_since ? q->from : q->posted_since;
    uint64_t to = q->to ? q->to : UINT64_MAX;
    p->lo = ~to, p->hi = ~from;
  }
  p->empty = p->lo > p->hi;
  return 0;
}

/* ---- posting lists and sets of postings ------------------------------------- */

typedef struct ents {
  uint8_t (*v)[POST];
  size_t n, cap;
} ents;

static int ents_push(ents *s, const uint8_t *p) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    void *v = realloc(s->v, cap * POST);
    if (!v) return AM_ENOMEM;
    s->v = v, s->cap = cap;
  }
  memcpy(s->v[s->n++], p, POST);
  return 0;
}

static void ents_free(ents *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}

static int post_cmp(const void *a, const void *b) { return memcmp(a, b, POST); }

static void ents_normalise(ents *s) {
  if (s->n < 2) return;
  qsort(s->v, s->n, POST, post_cmp);
  size_t k = 1;
  for (size_t i = 1; i < s->n; i++)
    if (memcmp(s->v[k - 1], s->v[i], POST)) memcpy(s->v[k++], s->v[i], POST);
  s->n = k;
}

/* A group: the union of a few posting lists (the keys a word prefix
 * matches, the origins asked for; one key for the other filters). */
typedef struct group {
  am_buf keys;  /* each len[1] key */
  size_t nkeys;
  size_t count; /* postings in all, for choosing the order of work */
  bool negate;  /* the postings to leave out (cancelled events) */
} group;

typedef struct ctx {
  am_txn *t;
  MDB_cursor *c;
  am_error *err;
} ctx;

static int add_key(group *g, const MDB_val *k, size_t count) {
  uint8_t len = (uint8_t)k->mv_size;
  int rc = am_buf_append(&g->keys, &len, 1);
  if (!rc) rc = am_buf_append(&g->keys, k->mv_data, k->mv_size);
  if (!rc) g->nkeys++, g->count += count;
  return rc;
}

/* Adds the key kind tag term (when it has postings), or every key that
 * starts with it (prefix). */
static int group_add(ctx *x, group *g, int kind, int tag, const void *term, size_t n,
                     bool prefix) {
  uint8_t kb[KEY_MAX];
  if (n > TERM_MAX) return AM_EINTERNAL;
  kb[0] = (uint8_t)kind, kb[1] = (uint8_t)tag;
  if (n) memcpy(kb + 2, term, n);
  MDB_val k = {n + 2, kb}, v;
  int rc = mdb_cursor_get(x->c, &k, &v, prefix ? MDB_SET_RANGE : MDB_SET_KEY);
  while (rc == 0) {
    if (k.mv_size < n + 2 || memcmp(k.mv_data, kb, n + 2) != 0) break;
    if (k.mv_size > KEY_MAX || v.mv_size != POST) return corrupt(x->err, "a key or posting");
    size_t count;
    if ((rc = mdb_cursor_count(x->c, &count))) break;
    if ((rc = add_key(g, &k, count))) return rc;
    if (!prefix) break;
    rc = mdb_cursor_get(x->c, &k, &v, MDB_NEXT_NODUP);
  }
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(x->t, rc, x->err);
}

#define EACH_KEY(g, p, len)                                                    \
  for (size_t off_ = 0, len = 0; off_ < (g)->keys.len &&                       \
       (len = (uint8_t)(g)->keys.data[off_], p = (const uint8_t *)(g)->keys.data + off_ + 1, 1); \
       off_ += 1 + len)

/* Calls visit for each posting of one list in [lo, hi] (16-byte bounds),
 * in order, reading a page of postings at a time. */
typedef int (*visit_fn)(const uint8_t *post, void *arg);

static int walk_list(ctx *x, const uint8_t *key, size_t len, const uint8_t *lo,
                     const uint8_t *hi, visit_fn visit, void *arg) {
  MDB_val k = {len, (void *)key}, v = {POST, (void *)lo};
  size_t count;
  int rc = mdb_cursor_get(x->c, &k, &v, MDB_GET_BOTH_RANGE);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc == 0) rc = mdb_cursor_count(x->c, &count);
  if (rc) return mdb_err(x->t, rc, x->err);
  if (count == 1) {
    /* No page of duplicates behind a single posting: MDB_GET_MULTIPLE
     * would return nothing new. */
    if (v.mv_size != POST) return corrupt(x->err, "a posting");
    return memcmp(v.mv_data, hi, POST) <= 0 ? visit(v.mv_data, arg) : 0;
  }
  /* The first page may start before lo. */
  for (rc = mdb_cursor_get(x->c, &k, &v, MDB_GET_MULTIPLE); rc == 0;
       rc = mdb_cursor_get(x->c, &k, &v, MDB_NEXT_MULTIPLE)) {
    if (v.mv_size == 0 || v.mv_size % POST) return corrupt(x->err, "a page of postings");
    const uint8_t *p = v.mv_data;
    for (size_t i = 0; i < v.mv_size / POST; i++, p += POST) {
      if (memcmp(p, lo, POST) < 0) continue;
      if (memcmp(p, hi, POST) > 0) return 0;
      int vrc = visit(p, arg);
      if (vrc) return vrc;
    }
  }
  return rc == MDB_NOTFOUND ? 0 : mdb_err(x->t, rc, x->err);
}

static int push_visit(const uint8_t *post, void *arg) { return ents_push(arg, post); }

static int read_list(ctx *x, const uint8_t *key, size_t len, const uint8_t *lo,
                     const uint8_t *hi, ents *out) {
  return walk_list(x, key, len, lo, hi, push_visit, out);
}

static int read_group(ctx *x, const group *g, const uint8_t *lo, const uint8_t *hi, ents *out) {
  const uint8_t *p;
  EACH_KEY(g, p, len) {
    int rc = read_list(x, p, len, lo, hi, out);
    if (rc) return rc;
  }
  if (g->nkeys > 1) ents_normalise(out);
  return 0;
}

static int in_group(ctx *x, const group *g, const uint8_t *post, bool *yes) {
  const uint8_t *p;
  *yes = false;
  EACH_KEY(g, p, len) {
    MDB_val k = {len, (void *)p}, v = {POST, (void *)post};
    int rc = mdb_cursor_get(x->c, &k, &v, MDB_GET_BOTH);
    if (rc == 0) return *yes = true, 0;
    if (rc != MDB_NOTFOUND) return mdb_err(x->t, rc, x->err);
  }
  return 0;
}

/* Marks the postings of s that a list also holds: both are in order, so
 * one merge. */
typedef struct marker {
  const ents *s;
  bool *marks;
  size_t at;
} marker;

static int mark_visit(const uint8_t *post, void *arg) {
  marker *m = arg;
  while (m->at < m->s->n && memcmp(m->s->v[m->at], post, POST) < 0) m->at++;
  if (m->at < m->s->n && memcmp(m->s->v[m->at], post, POST) == 0) m->marks[m->at] = true;
  return 0;
}

/* Keeps the postings of s that are in g (not in g when g->negate): a
 * lookup per posting when s is small beside g, else g's lists read over
 * the span of s and merged with it. */
static int filter(ctx *x, const group *g, ents *s) {
  int rc = 0;
  size_t k = 0;
  if (!s->n) return 0;
  bool *marks = calloc(s->n, sizeof *marks);
  if (!marks) return AM_ENOMEM;
  /* A lookup costs some tens of sequential reads. */
  if ((double)s->n * (double)g->nkeys * 16.0 < (double)g->count) {
    for (size_t i = 0; i < s->n && !rc; i++) rc = in_group(x, g, s->v[i], &marks[i]);
  } else {
    const uint8_t *p;
    EACH_KEY(g, p, len) {
      marker m = {s, marks, 0};
      if ((rc = walk_list(x, p, len, s->v[0], s->v[s->n - 1], mark_visit, &m))) break;
    }
  }
  for (size_t i = 0; i < s->n && !rc; i++)
    if (marks[i] != g->negate) memcpy(s->v[k++], s->v[i], POST);
  if (!rc) s->n = k;
  free(marks);
  return rc;
}

/* ---- search ------------------------------------------------------------------- */

#define MAX_GROUPS (AM_LISTING_MAX_WORDS + 12)

typedef struct search {
  ctx x;
  const prepared *p;
  group g[MAX_GROUPS];
  size_t ng;
  bool none; /* a filter has no postings at all */
} search;

static int add_group(search *s, int tag, const void *term, size_t n, bool prefix) {
  if (s->none) return 0;
  group *g = &s->g[s->ng++];
  int rc = group_add(&s->x, g, s->p->kind, tag, term, n, prefix);
  if (!rc && !g->nkeys) s->none = true;
  return rc;
}

static int add_groups(search *s, const am_listing_query *q) {
  const prepared *p = s->p;
  int rc = add_group(s, T_ALL, NULL, 0, false);
  if (!rc && p->city) rc = add_group(s, T_CITY, p->city, strlen(p->city), false);
  if (!rc && p->country) rc = add_group(s, T_COUNTRY, p->country, strlen(p->country), false);
  if (!rc && p->tag) rc = add_group(s, T_TAG, p->tag, strlen(p->tag), false);
  if (!rc && p->skill) rc = add_group(s, T_SKILL, p->skill, strlen(p->skill), false);
  uint8_t b[4] = {(uint8_t)p->online, (uint8_t)p->contract, (uint8_t)p->remote,
                  (uint8_t)p->alumni};
  if (!rc && p->online >= 0) rc = add_group(s, T_ONLINE, &b[0], 1, false);
  if (!rc && p->contract >= 0) rc = add_group(s, T_CONTRACT, &b[1], 1, false);
  if (!rc && p->remote >= 0) rc = add_group(s, T_REMOTE, &b[2], 1, false);
  if (!rc && p->alumni >= 0) rc = add_group(s, T_ALUMNI, &b[3], 1, false);
  for (size_t i = 0; !rc && i < p->nwords; i++)
    rc = add_group(s, T_WORD, p->words[i], strlen(p->words[i]), true);
  if (!rc && q->norigins && !s->none) {
    /* One group, a list per origin. */
    group *g = &s->g[s->ng++];
    for (size_t i = 0; !rc && i < q->norigins; i++)
      rc = group_add(&s->x, g, p->kind, T_ORIGIN, q->origins[i], AM_ANN_KEY_BYTES, false);
    if (!rc && !g->nkeys) s->none = true;
  }
  if (!rc && p->kind == AM_K_EVENT && !q->include_cancelled && !s->none) {
    uint8_t cancelled = AM_EV_CANCELLED;
    group *g = &s->g[s->ng];
    if (!(rc = group_add(&s->x, g, p->kind, T_STATUS, &cancelled, 1, false)) && g->nkeys) {
      g->negate = true;
      s->ng++;
    } else {
      am_buf_free(&g->keys);
      memset(g, 0, sizeof *g);
    }
  }
  return rc;
}

/* Events of group src that started before p->lo (within [from - span,
 * from) of their class) and are still going on at p->lo, in order. */
static int in_progress(search *s, const group *src, ents *out) {
  const prepared *p = s->p;
  uint8_t lo[POST], hi[POST];
  int rc = 0;
  posting(hi, p->lo - 1, UINT64_MAX);
  if (p->hi < p->lo - 1) posting(hi, p->hi, UINT64_MAX);
  ents c = {0};
  for (size_t i = 0; i < NSPANS && !rc; i++) {
    uint8_t key[3] = {(uint8_t)p->kind, T_SPAN, (uint8_t)i};
    posting(lo, p->lo > spans[i] ? p->lo - spans[i] : 0, 0);
    c.n = 0;
    /* The source's filter first: it leaves fewer records to read. */
    if ((rc = read_list(&s->x, key, 3, lo, hi, &c)) || (rc = filter(&s->x, src, &c))) break;
    for (size_t j = 0; j < c.n && !rc; j++) {
      rec r;
      if ((rc = rec_get(s->x.t, am_get_be64(c.v[j] + 8), &r, s->x.err)) == AM_ENOTFOUND)
        rc = corrupt(s->x.err, "a posting without its listing");
      else if (!rc && r.until >= p->lo)
        rc = ents_push(out, c.v[j]);
    }
  }
  ents_free(&c);
  ents_normalise(out);
  return rc;
}

/* The 'C' postings (created[8] seq[8]) of the events created since
 * p->since: the digest's candidates, or its filter by number. */
static int created_since(search *s, ents *out) {
  uint8_t key[2] = {(uint8_t)s->p->kind, T_CREATED}, lo[POST], hi[POST];
  posting(lo, s->p->since, 0);
  posting(hi, UINT64_MAX, UINT64_MAX);
  return read_list(&s->x, key, 2, lo, hi, out);
}

/* Orders postings by number alone. */
static int seq_cmp(const void *a, const void *b) {
  return memcmp((const uint8_t *)a + 8, (const uint8_t *)b + 8, 8);
}

/* The postings of the numbers in created (rewritten from created[8]
 * seq[8] to order[8] seq[8]) within the window. */
static int created_as_postings(search *s, ents *created) {
  const prepared *p = s->p;
  size_t k = 0;
  for (size_t i = 0; i < created->n; i++) {
    uint64_t seq = am_get_be64(created->v[i] + 8);
    rec r;
    int rc = rec_get(s->x.t, seq, &r, s->x.err);
    if (rc == AM_ENOTFOUND) return corrupt(s->x.err, "a posting without its listing");
    if (rc) return rc;
    if (r.order > p->hi || r.until < p->lo) continue;
    posting(created->v[k++], r.order, seq);
  }
  created->n = k;
  ents_normalise(created);
  return 0;
}

/* Keeps the postings whose number is in seqs (sorted by number). */
static void filter_seqs(ents *s, const ents *seqs) {
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++)
    if (bsearch(s->v[i], seqs->v, seqs->n, POST, seq_cmp)) memcpy(s->v[k++], s->v[i], POST);
  s->n = k;
}

static int load_page(am_txn *t, const ents *r, const am_listing_query *q, am_listings *out,
                     am_error *err) {
  size_t from = q->offset < r->n ? q->offset : r->n;
  size_t to = q->limit && q->limit < r->n - from ? from + q->limit : r->n;
  out->total = r->n;
  out->v = calloc(to - from ? to - from : 1, sizeof *out->v);
  if (!out->v) return AM_ENOMEM;
  for (size_t i = from; i < to; i++) {
    rec lr;
    int rc = rec_get(t, am_get_be64(r->v[i] + 8), &lr, err);
    if (rc == AM_ENOTFOUND) return corrupt(err, "a posting without its listing");
    if (rc) return rc;
    rc = am_ann_load(t, lr.id, &out->v[out->n], err);
    if (rc == AM_ENOTFOUND) return corrupt(err, "a listing no longer held");
    if (rc) return rc;
    out->n++;
    if (out->v[out->n - 1].kind != q->kind) return corrupt(err, "a listing of another kind");
  }
  return 0;
}

int am_listings_search(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err) {
  prepared p;
  search s = {.x = {.t = t, .err = err}, .p = &p};
  ents r = {0}, pre = {0}, created = {0};
  bool by_created = false;
  memset(out, 0, sizeof *out);
  int rc = prepare(q, &p, err);
  if (rc) goto out;
  /* A store of format 4 opened read-only has no listings index. */
  if (!am_store_has_catalog(t->store)) {
    prepared_free(&p);
    return am_listings_scan(t, q, out, err);
  }
  if (p.empty) goto page;
  if ((rc = mdb_cursor_open(t->txn, db(t, AM_DB_LST_INDEX), &s.x.c))) {
    rc = mdb_err(t, rc, err);
    goto out;
  }
  if ((rc = add_groups(&s, q))) goto out;
  if (s.none) goto page;

  /* The source: the smallest group, read over the window; the others
   * filter it. */
  size_t src = 0;
  for (size_t i = 1; i < s.ng; i++)
    if (!s.g[i].negate && s.g[i].count < s.g[src].count) src = i;
  if (p.kind == AM_K_EVENT && p.since) {
    /* The digest: events created since, found by their own list. */
    if ((rc = created_since(&s, &created))) goto out;
    by_created = created.n < s.g[src].count;
  }
  if (by_created) {
    if ((rc = created_as_postings(&s, &created))) goto out;
    r = created, created = (ents){0};
  } else {
    uint8_t lo[POST], hi[POST];
    posting(lo, p.lo, 0);
    posting(hi, p.hi, UINT64_MAX);
    if ((rc = read_group(&s.x, &s.g[src], lo, hi, &r))) goto out;
    if (p.kind == AM_K_EVENT && p.lo > 0) {
      /* Those in progress come first: they started before the window. */
      if ((rc = in_progress(&s, &s.g[src], &pre))) goto out;
      if (pre.n) {
        for (size_t i = 0; i < r.n; i++)
          if ((rc = ents_push(&pre, r.v[i]))) goto out;
        ents_free(&r);
        r = pre, pre = (ents){0};
      }
    }
    if (created.n) {
      qsort(created.v, created.n, POST, seq_cmp);
      filter_seqs(&r, &created);
    } else if (p.kind == AM_K_EVENT && p.since) {
      r.n = 0;
    }
  }
  /* Smallest first: each filter leaves less for the next. */
  for (;;) {
    size_t best = s.ng;
    for (size_t i = 0; i < s.ng; i++)
      /* Group 0 (every listing) filters nothing. */
      if (i && (by_created || i != src) && s.g[i].nkeys &&
          (best == s.ng || s.g[i].count < s.g[best].count))
        best = i;
    if (best == s.ng || !r.n) break;
    if ((rc = filter(&s.x, &s.g[best], &r))) goto out;
    s.g[best].nkeys = 0; /* done */
  }
page:
  rc = load_page(t, &r, q, out, err);
out:
  if (s.x.c) mdb_cursor_close(s.x.c);
  for (size_t i = 0; i < s.ng; i++) am_buf_free(&s.g[i].keys);
  if (rc) am_listings_free(out);
  ents_free(&r), ents_free(&pre), ents_free(&created);
  prepared_free(&p);
  return rc;
}

/* ---- the full-scan reference --------------------------------------------------- */

typedef struct hit {
  uint8_t key[8 + AM_ANN_ID_BYTES]; /* order[8] id[32]: the result order */
} hit;

typedef struct scan {
  const am_listing_query *q;
  const prepared *p;
  hit *v;
  size_t n, cap;
  am_error *err;
  int rc;
} scan;

static bool exact_any(const am_aval *v, const char *want) {
  if (!want) return true;
  if (!v->set) return false;
  uint32_t n = v->s ? 1 : v->l.n;
  for (uint32_t i = 0; i < n; i++) {
    char *f;
    if (norm(v->s ? v->s : v->l.v[i], &f)) continue;
    bool eq = strcmp(f, want) == 0;
    free(f);
    if (eq) return true;
  }
  return false;
}

typedef struct wordmatch {
  const prepared *p;
  unsigned found;
} wordmatch;

static int word_match_cb(const char *w, size_t len, void *arg) {
  wordmatch *m = arg;
  for (size_t i = 0; i < m->p->nwords; i++) {
    size_t n = strlen(m->p->words[i]);
    if (len >= n && memcmp(w, m->p->words[i], n) == 0) m->found |= 1u << i;
  }
  return 0;
}

static bool matches(const am_ann *a, const scan *s) {
  const prepared *p = s->p;
  const am_listing_query *q = s->q;
  const am_aval *b = a->body;
  if (a->kind != p->kind) return false;
  if (a->kind == AM_K_EVENT) {
    uint64_t start = b[AM_EV_STARTS_AT].u;
    if (start > p->hi || until_of(a) < p->lo) return false;
    if (a->created < p->since) return false;
    if (!exact_any(&b[AM_EV_CITY], p->city) || !exact_any(&b[AM_EV_COUNTRY], p->country) ||
        !exact_any(&b[AM_EV_TAGS], p->tag))
      return false;
    if (p->online >= 0 && (int)b[AM_EV_ONLINE].set != p->online) return false;
    if (!q->include_cancelled && b[AM_EV_STATUS].u == AM_EV_CANCELLED) return false;
  } else {
    if (~a->created < p->lo || ~a->created > p->hi) return false;
    if (!exact_any(&b[AM_JOB_CITY], p->city) || !exact_any(&b[AM_JOB_COUNTRY], p->country) ||
        !exact_any(&b[AM_JOB_SKILLS], p->skill))
      return false;
    if (p->contract >= 0 && b[AM_JOB_CONTRACT].u != (uint64_t)p->contract) return false;
    if (p->remote >= 0 &&
        (!b[AM_JOB_REMOTE].set || b[AM_JOB_REMOTE].u != (uint64_t)p->remote))
      return false;
    if (p->alumni >= 0 && b[AM_JOB_ALUMNI_ONLY].u != (uint64_t)p->alumni) return false;
  }
  if (q->norigins) {
    bool any = false;
    for (size_t i = 0; i < q->norigins && !any; i++)
      any = memcmp(q->origins[i], a->origin, AM_ANN_KEY_BYTES) == 0;
    if (!any) return false;
  }
  if (p->nwords) {
    wordmatch m = {p, 0};
    each_word(a, word_match_cb, &m);
    if (m.found != (1u << p->nwords) - 1) return false;
  }
  return true;
}

static int scan_cb(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  (void)t;
  scan *s = arg;
  am_ann a;
  int reason;
  if (am_ann_decode(env, len, &a, &reason, s->err)) {
    am_error_prefix(s->err, "stored announcement damaged: ");
    s->rc = AM_ECORRUPT;
    return 1;
  }
  memcpy(a.id, id, AM_ANN_ID_BYTES);
  bool yes = matches(&a, s);
  uint64_t order = order_of(&a);
  am_ann_free(&a);
  if (!yes) return 0;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    hit *v = realloc(s->v, cap * sizeof *v);
    if (!v) return s->rc = AM_ENOMEM, 1;
    s->v = v, s->cap = cap;
  }
  am_be64(s->v[s->n].key, order);
  memcpy(s->v[s->n].key + 8, id, AM_ANN_ID_BYTES);
  s->n++;
  return 0;
}

static int hit_cmp(const void *a, const void *b) {
  return memcmp(((const hit *)a)->key, ((const hit *)b)->key, sizeof ((const hit *)a)->key);
}

int am_listings_scan(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err) {
  prepared p;
  scan s = {.q = q, .p = &p, .err = err};
  memset(out, 0, sizeof *out);
  int rc = prepare(q, &p, err);
  if (rc) goto out;
  if (!p.empty) {
    rc = am_ann_each_kind(t, q->kind, scan_cb, &s);
    if (s.rc) rc = s.rc;
    else if (rc) rc = am_fail(err, rc < 0 ? rc : AM_EINTERNAL, "cannot read the held %ss",
                              am_ann_kinds[q->kind].name);
    if (rc) goto out;
  }
  if (s.n) qsort(s.v, s.n, sizeof *s.v, hit_cmp);
  size_t from = q->offset < s.n ? q->offset : s.n;
  size_t to = q->limit && q->limit < s.n - from ? from + q->limit : s.n;
  out->total = s.n;
  if (!(out->v = calloc(to - from ? to - from : 1, sizeof *out->v))) {
    rc = AM_ENOMEM;
    goto out;
  }
  for (size_t i = from; i < to && !rc; i++)
    if (!(rc = am_ann_load(t, s.v[i].key + 8, &out->v[out->n], err))) out->n++;
out:
  if (rc) am_listings_free(out);
  free(s.v);
  prepared_free(&p);
  return rc;
}

void am_listings_free(am_listings *l) {
  for (size_t i = 0; i < l->n; i++) am_ann_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}
