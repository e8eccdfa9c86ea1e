/* Federated profiles, indexed, and the people search over them and this
 * node's members (see directory.h). The index code is the members' one
 * (store/members.c writes the terms, store/search.c reads them); this file
 * adds the rows, their references and the merging of the two sources. */
#include "store/directory.h"

#include <stdlib.h>
#include <string.h>

#include "proto/text.h"
#include "store/announcements.h"
#include "store/postings.h"

#define ROW_VERSION 1
#define ROW_HEAD 86 /* version, flags, origin, ann id, object, first_seen, promo, key length */
#define REF_KEY 40  /* origin[32] object[8] */
#define REF_VAL 17  /* row[8] first_seen[8] live[1] */

static int dir_corrupt(am_error *err) {
  return am_fail(err, AM_ECORRUPT, "the directory index is damaged; rebuild it from the "
                                   "announcements (restore a backup, or re-ingest them)");
}

static const uint8_t *self_key(am_txn *t) {
  const am_identity *me = am_store_signer(t->store);
  return me ? me->pk : NULL;
}

static bool is_self(am_txn *t, const uint8_t *origin) {
  const uint8_t *me = self_key(t);
  return me && memcmp(me, origin, AM_ANN_KEY_BYTES) == 0;
}

/* ---- rows ----------------------------------------------------------------- */

/* The head of a row, pointing into the row's bytes. */
typedef struct row_head {
  const uint8_t *origin, *ann_id;
  uint64_t object;
  int64_t first_seen;
  uint16_t promo;
  const uint8_t *name;
  size_t name_len;
  const uint8_t *rec; /* the member record */
  size_t rec_len;
} row_head;

static int row_parse(const MDB_val *v, row_head *h, am_error *err) {
  const uint8_t *p = v->mv_data;
  if (v->mv_size < ROW_HEAD || p[0] != ROW_VERSION) return dir_corrupt(err);
  h->origin = p + 2;
  h->ann_id = p + 34;
  h->object = am_get_be64(p + 66);
  h->first_seen = (int64_t)am_get_be64(p + 74);
  h->promo = (uint16_t)(p[82] << 8 | p[83]);
  h->name_len = (size_t)(p[84] << 8 | p[85]);
  if (h->name_len > AM_IDX_KEY_MAX || v->mv_size - ROW_HEAD < h->name_len) return dir_corrupt(err);
  h->name = p + ROW_HEAD;
  h->rec = h->name + h->name_len;
  h->rec_len = v->mv_size - ROW_HEAD - h->name_len;
  return 0;
}

/* The profile's body as a member record: every field at federation
 * visibility (that is what the origin announced). */
static int profile_record(const am_ann *a, am_member *m) {
  am_member_init(m);
  m->id = a->object;
  m->created = m->updated = (int64_t)a->created;
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    const am_field *fd = &am_fields[f];
    const am_aval *v = &a->body[f];
    char *base = (char *)m + fd->offset;
    m->vis[f] = AM_VIS_FEDERATION;
    if (!v->set) continue;
    switch (fd->type) {
    case AM_T_TEXT:
      if (v->s && !(*(char **)base = strdup(v->s))) goto nomem;
      break;
    case AM_T_LIST: {
      am_strlist *l = (am_strlist *)base;
      if (!v->l.n) break;
      if (!(l->v = calloc(v->l.n, sizeof *l->v))) goto nomem;
      for (uint32_t i = 0; i < v->l.n; i++) {
        if (!(l->v[i] = strdup(v->l.v[i]))) goto nomem;
        l->n++;
      }
      break;
    }
    case AM_T_YEAR: *(uint32_t *)base = (uint32_t)v->u; break;
    case AM_T_BOOL: *(bool *)base = v->u != 0; break;
    default: break;
    }
  }
  return 0;
nomem:
  am_member_free(m);
  return AM_ENOMEM;
}

/* The terms of a row: those of any record, its origin and first_seen. */
static int row_terms(const am_member *m, const uint8_t *origin, int64_t first_seen,
                     am_terms *ts) {
  uint8_t c[8];
  am_be64(c, (uint64_t)first_seen);
  int rc = am_terms_of_record(m, ts);
  if (!rc) rc = am_terms_add(ts, AM_IDX_ORIGIN, origin, AM_ANN_KEY_BYTES);
  if (!rc) rc = am_terms_add(ts, AM_IDX_CREATED, c, 8);
  if (!rc) am_terms_finish(ts);
  return rc;
}

static void ref_key(uint8_t k[REF_KEY], const uint8_t *origin, uint64_t object) {
  memcpy(k, origin, AM_ANN_KEY_BYTES);
  am_be64(k + AM_ANN_KEY_BYTES, object);
}

typedef struct ref {
  uint64_t row;
  int64_t first_seen;
  bool live;
} ref;

/* 0, AM_ENOTFOUND, or an error. */
static int ref_get(am_txn *t, const uint8_t k[REF_KEY], ref *r, am_error *err) {
  MDB_val key = {REF_KEY, (void *)k}, v;
  int rc = mdb_get(t->txn, am_store_db(t->store, AM_DB_DIR_REF), &key, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  const uint8_t *p = v.mv_data;
  if (v.mv_size != REF_VAL || p[16] > 1) return dir_corrupt(err);
  r->row = am_get_be64(p);
  r->first_seen = (int64_t)am_get_be64(p + 8);
  r->live = p[16];
  return 0;
}

static int ref_put(am_txn *t, const uint8_t k[REF_KEY], const ref *r, am_error *err) {
  uint8_t b[REF_VAL];
  am_be64(b, r->row);
  am_be64(b + 8, (uint64_t)r->first_seen);
  b[16] = r->live;
  MDB_val key = {REF_KEY, (void *)k}, v = {REF_VAL, b};
  return am_store_mdb_error(t, mdb_put(t->txn, am_store_db(t->store, AM_DB_DIR_REF), &key, &v, 0),
                            "updating the directory", err);
}

/* Deletes row and its index entries (recomputed from the row itself). */
static int row_delete(am_txn *t, uint64_t row, am_error *err) {
  MDB_dbi dbi = am_store_db(t->store, AM_DB_DIR);
  uint8_t kb[8];
  am_be64(kb, row);
  MDB_val k = {8, kb}, v;
  int rc = mdb_get(t->txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return dir_corrupt(err); /* a live reference to no row */
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  row_head h;
  am_member m;
  am_terms ts = {0};
  uint8_t origin[AM_ANN_KEY_BYTES];
  if ((rc = row_parse(&v, &h, err))) return rc;
  memcpy(origin, h.origin, sizeof origin);
  int64_t first_seen = h.first_seen;
  if (am_member_decode(h.rec, h.rec_len, &m, NULL)) return dir_corrupt(err);
  rc = row_terms(&m, origin, first_seen, &ts);
  am_member_free(&m);
  if (!rc) rc = am_index_update(t, AM_DB_DIR_INDEX, row, &ts, NULL, err);
  am_terms_free(&ts);
  if (rc) return rc;
  return am_store_mdb_error(t, mdb_del(t->txn, dbi, &k, NULL), "updating the directory", err);
}

/* Rows are numbered in the order they are made: one more than the last. */
static int next_row(am_txn *t, uint64_t *row, am_error *err) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t->txn, am_store_db(t->store, AM_DB_DIR), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) {
    *row = 1;
    return 0;
  }
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  if (k.mv_size != 8 || am_get_be64(k.mv_data) >= UINT64_MAX - 1) return dir_corrupt(err);
  *row = am_get_be64(k.mv_data) + 1;
  return 0;
}

int am_directory_put(am_txn *t, const am_ann *a, int64_t now, am_error *err) {
  if (a->kind != AM_K_PROFILE || is_self(t, a->origin)) return 0;
  uint8_t rk[REF_KEY];
  ref r;
  ref_key(rk, a->origin, a->object);
  int rc = ref_get(t, rk, &r, err);
  if (rc == AM_ENOTFOUND) {
    /* Before format 5 nobody noted when a profile arrived: its creation
     * is the best estimate. */
    r.first_seen = now > 0 ? now : (int64_t)a->created;
  } else if (rc) {
    return rc;
  } else if (r.live && (rc = row_delete(t, r.row, err))) {
    return rc; /* a put without a del: the old row goes */
  }
  am_member m;
  am_terms ts = {0};
  am_buf rec = {0}, name = {0};
  uint8_t head[ROW_HEAD];
  if ((rc = next_row(t, &r.row, err))) return rc;
  if ((rc = profile_record(a, &m))) return rc;
  if ((rc = row_terms(&m, a->origin, r.first_seen, &ts))) goto out;
  if ((rc = am_index_update(t, AM_DB_DIR_INDEX, r.row, NULL, &ts, err))) goto out;
  if ((rc = am_index_key_name(&m, &name))) goto out;
  head[0] = ROW_VERSION, head[1] = 0;
  memcpy(head + 2, a->origin, AM_ANN_KEY_BYTES);
  memcpy(head + 34, a->id, AM_ANN_ID_BYTES);
  am_be64(head + 66, a->object);
  am_be64(head + 74, (uint64_t)r.first_seen);
  head[82] = (uint8_t)(m.promo >> 8), head[83] = (uint8_t)m.promo;
  size_t nl = name.len - 1; /* without the tag; <= AM_IDX_KEY_MAX */
  head[84] = (uint8_t)(nl >> 8), head[85] = (uint8_t)nl;
  if ((rc = am_buf_append(&rec, head, ROW_HEAD)) ||
      (rc = am_buf_append(&rec, name.data + 1, nl)) || (rc = am_member_encode(&m, &rec)))
    goto out;
  uint8_t kb[8];
  am_be64(kb, r.row);
  MDB_val k = {8, kb}, v = {rec.len, rec.data};
  rc = mdb_put(t->txn, am_store_db(t->store, AM_DB_DIR), &k, &v, MDB_APPEND);
  if ((rc = am_store_mdb_error(t, rc, "updating the directory", err))) goto out;
  r.live = true;
  rc = ref_put(t, rk, &r, err);
out:
  am_member_free(&m);
  am_terms_free(&ts);
  am_buf_free(&rec);
  am_buf_free(&name);
  return rc;
}

int am_directory_del(am_txn *t, const am_ann *a, am_error *err) {
  if (a->kind != AM_K_PROFILE) return 0;
  uint8_t rk[REF_KEY];
  ref r;
  ref_key(rk, a->origin, a->object);
  int rc = ref_get(t, rk, &r, err);
  if (rc == AM_ENOTFOUND) return 0; /* this node's own profile: no row */
  if (rc || !r.live) return rc;
  if ((rc = row_delete(t, r.row, err))) return rc;
  /* A put may follow (a newer version): the reference keeps first_seen
   * until the commit decides (am_directory_txn_flush). */
  r.live = false;
  if ((rc = ref_put(t, rk, &r, err))) return rc;
  return am_txn_defer_ref(t, rk, REF_KEY);
}

int am_directory_txn_flush(am_txn *t, const uint8_t *keys, size_t len, am_error *err) {
  for (size_t i = 0; i + REF_KEY <= len; i += REF_KEY) {
    ref r;
    int rc = ref_get(t, keys + i, &r, err);
    if (rc == AM_ENOTFOUND) continue;
    if (rc) return rc;
    if (r.live) continue;
    MDB_val k = {REF_KEY, (void *)(keys + i)};
    rc = mdb_del(t->txn, am_store_db(t->store, AM_DB_DIR_REF), &k, NULL);
    if (rc && rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "updating the directory", err);
  }
  return 0;
}

/* ---- viewers -------------------------------------------------------------- */

void am_member_view(am_member *m, int viewer) {
  if (viewer == AM_VIEWER_MANAGER) return;
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    if (m->vis[f] >= AM_VIS_SCHOOL) continue;
    const am_field *fd = &am_fields[f];
    char *base = (char *)m + fd->offset;
    switch (fd->type) {
    case AM_T_TEXT:
      free(*(char **)base);
      *(char **)base = NULL;
      break;
    case AM_T_LIST: {
      am_strlist *l = (am_strlist *)base;
      for (uint32_t i = 0; i < l->n; i++) free(l->v[i]);
      free(l->v);
      *l = (am_strlist){0};
      break;
    }
    case AM_T_YEAR:
    case AM_T_DATE:
    case AM_T_CONSENT: *(uint32_t *)base = 0; break;
    case AM_T_BOOL: *(bool *)base = false; break;
    default: break;
    }
  }
  m->dues_paid_until = 0;
  m->dues_lifetime = false;
  m->consent_listed = m->consent_federation = 0;
}

/* ---- one result list ------------------------------------------------------ */

typedef struct entry {
  uint64_t id;      /* member id, or directory row */
  uint64_t tie;     /* member id, or the profile's object */
  uint32_t key_off, key_len;
  const uint8_t *key; /* set once the arena stops moving */
  uint16_t promo;   /* sorting by promo: 0xffff unknown (last); else 0 */
  bool local;
  uint8_t origin[AM_ANN_KEY_BYTES];
} entry;

typedef struct list {
  entry *v;
  size_t n, cap;
  am_buf keys; /* name keys */
  int sort;
} list;

static void list_free(list *l) {
  free(l->v);
  am_buf_free(&l->keys);
  memset(l, 0, sizeof *l);
}

static int list_push(list *l, bool local, uint64_t id, uint64_t tie, uint32_t promo,
                     const void *key, size_t key_len, const uint8_t *origin) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    entry *v = realloc(l->v, cap * sizeof *v);
    if (!v) return AM_ENOMEM;
    l->v = v, l->cap = cap;
  }
  entry *e = &l->v[l->n];
  memset(e, 0, sizeof *e);
  e->id = id, e->tie = tie, e->local = local;
  e->promo = promo ? (uint16_t)promo : 0xffff;
  e->key_off = (uint32_t)l->keys.len, e->key_len = (uint32_t)key_len;
  if (origin) memcpy(e->origin, origin, AM_ANN_KEY_BYTES);
  int rc = key_len ? am_buf_append(&l->keys, key, key_len) : 0;
  if (!rc) l->n++;
  return rc;
}

static int push_member(list *l, const am_member *m) {
  am_buf key = {0};
  int rc = am_index_key_name(m, &key);
  if (!rc) rc = list_push(l, true, m->id, m->id, m->promo, key.data + 1, key.len - 1, NULL);
  am_buf_free(&key);
  return rc;
}

/* The entries carry all their order (no global: searches may run on
 * several threads). */
static int entry_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->promo != y->promo) return x->promo < y->promo ? -1 : 1;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = n ? memcmp(x->key, y->key, n) : 0;
  if (c) return c;
  if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
  if (x->local != y->local) return x->local ? -1 : 1;
  if ((c = memcmp(x->origin, y->origin, AM_ANN_KEY_BYTES))) return c;
  return (x->tie > y->tie) - (x->tie < y->tie);
}

/* Reads row and its head; AM_ECORRUPT when the index names a missing row. */
static int row_get(am_txn *t, uint64_t row, MDB_val *v, row_head *h, am_error *err) {
  uint8_t kb[8];
  am_be64(kb, row);
  MDB_val k = {8, kb};
  int rc = mdb_get(t->txn, am_store_db(t->store, AM_DB_DIR), &k, v);
  if (rc == MDB_NOTFOUND) return dir_corrupt(err);
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  return row_parse(v, h, err);
}

static int push_row(list *l, uint64_t row, const row_head *h) {
  return list_push(l, false, row, h->object, h->promo, h->name, h->name_len, h->origin);
}

static bool wants_origin(const am_people_query *q, const uint8_t *origin) {
  if (!q->norigins) return true;
  for (size_t i = 0; i < q->norigins && i < AM_PEOPLE_MAX_ORIGINS; i++)
    if (memcmp(q->origins[i], origin, AM_ANN_KEY_BYTES) == 0) return true;
  return false;
}

/* Which sources the query covers. */
static void sources(am_txn *t, const am_people_query *q, bool *local, bool *dir) {
  const uint8_t *me = self_key(t);
  *local = !q->federated_only && (!q->norigins || (me && wants_origin(q, me)));
  *dir = !q->local_only;
  if (*dir && q->norigins) {
    *dir = false;
    for (size_t i = 0; i < q->norigins && i < AM_PEOPLE_MAX_ORIGINS; i++)
      if (!is_self(t, q->origins[i])) *dir = true;
  }
}

/* A local member as the viewer finds it: false when the viewer may not
 * see it, or the query does not match what the viewer sees. */
static bool local_visible(const am_people_query *q, const am_prepared *p, am_member *m,
                          bool recheck) {
  if (q->viewer != AM_VIEWER_MANAGER) {
    if (!m->consent_listed) return false;
    am_member_view(m, q->viewer);
  }
  if (q->since > 0 && m->created < q->since) return false;
  return !recheck || am_query_matches(&q->q, p, m);
}

/* The page [offset, offset + limit) of the sorted list, as people. */
static int materialise(am_txn *t, const am_people_query *q, list *l, am_people *out,
                       am_error *err) {
  bool by_promo = q->q.sort == AM_SORT_PROMO;
  for (size_t i = 0; i < l->n; i++) {
    l->v[i].key = (const uint8_t *)l->keys.data + l->v[i].key_off;
    if (!by_promo) l->v[i].promo = 0;
  }
  if (l->n) qsort(l->v, l->n, sizeof *l->v, entry_cmp);
  out->total = l->n;
  size_t from = q->q.offset < l->n ? q->q.offset : l->n;
  size_t to = (q->q.limit && q->q.limit < l->n - from) ? from + q->q.limit : l->n;
  out->v = calloc(to - from ? to - from : 1, sizeof *out->v);
  if (!out->v) return AM_ENOMEM;
  const uint8_t *me = self_key(t);
  int rc = 0;
  for (size_t i = from; i < to && !rc; i++) {
    const entry *e = &l->v[i];
    am_person *p = &out->v[out->n];
    if (e->local) {
      if ((rc = am_members_get(t, e->id, &p->m, err))) break;
      am_member_view(&p->m, q->viewer);
      p->local = true;
      if (me) memcpy(p->origin, me, AM_ANN_KEY_BYTES);
      p->first_seen = p->m.created;
    } else {
      MDB_val v;
      row_head h;
      if ((rc = row_get(t, e->id, &v, &h, err))) break;
      if (am_member_decode(h.rec, h.rec_len, &p->m, NULL)) {
        rc = dir_corrupt(err);
        break;
      }
      memcpy(p->origin, h.origin, AM_ANN_KEY_BYTES);
      memcpy(p->ann_id, h.ann_id, AM_ANN_ID_BYTES);
      p->first_seen = h.first_seen;
    }
    out->n++;
  }
  return rc;
}

typedef struct local_walk {
  const am_people_query *q;
  const am_prepared *p;
  list *l;
  bool recheck;
} local_walk;

static int local_cb(am_member *m, void *arg) {
  local_walk *w = arg;
  if (!local_visible(w->q, w->p, m, w->recheck)) return 0;
  return push_member(w->l, m);
}

/* Every row in table order: cb gets each row's head (and bytes). */
static int each_row(am_txn *t, int (*cb)(am_txn *t, uint64_t row, const MDB_val *v,
                                         const row_head *h, void *arg),
                    void *arg, am_error *err) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t->txn, am_store_db(t->store, AM_DB_DIR), &c), mrc;
  if (rc) return am_store_mdb_error(t, rc, "reading the directory", err);
  for (int op = MDB_FIRST; (mrc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
    row_head h;
    if (k.mv_size != 8) { rc = dir_corrupt(err); break; }
    if ((rc = row_parse(&v, &h, err))) break;
    if ((rc = cb(t, am_get_be64(k.mv_data), &v, &h, arg))) break;
  }
  mdb_cursor_close(c);
  if (!rc && mrc != MDB_NOTFOUND) rc = am_store_mdb_error(t, mrc, "reading the directory", err);
  return rc;
}

typedef struct row_walk {
  const am_people_query *q;
  const am_prepared *p;
  list *l;
  bool decode; /* the scan: check the query on the record */
  am_error *err;
} row_walk;

static int row_cb(am_txn *t, uint64_t row, const MDB_val *v, const row_head *h, void *arg) {
  (void)v;
  row_walk *w = arg;
  if (is_self(t, h->origin) || !wants_origin(w->q, h->origin)) return 0;
  if (w->q->since > 0 && h->first_seen < w->q->since) return 0;
  if (w->decode) {
    am_member m;
    if (am_member_decode(h->rec, h->rec_len, &m, NULL)) return dir_corrupt(w->err);
    bool hit = am_query_matches(&w->q->q, w->p, &m);
    am_member_free(&m);
    if (!hit) return 0;
  }
  return push_row(w->l, row, h);
}

static int since_set(am_txn *t, int which, int64_t since, am_ids *out, am_error *err) {
  uint8_t lo[9] = {AM_IDX_CREATED}, hi[9];
  am_be64(lo + 1, (uint64_t)since);
  memset(hi, 0xff, sizeof hi);
  hi[0] = AM_IDX_CREATED;
  int rc = am_index_range(t, which, lo, 9, hi, 9, out, err);
  if (!rc) am_ids_normalise(out);
  return rc;
}

static int search_local(am_txn *t, const am_people_query *q, const am_prepared *p, list *l,
                        am_error *err) {
  am_ids extra[2] = {{0}}, ids = {0};
  size_t nextra = 0;
  bool all;
  int rc = 0;
  if (q->since > 0 && (rc = since_set(t, AM_DB_INDEX, q->since, &extra[nextra++], err))) goto out;
  if (q->viewer != AM_VIEWER_MANAGER) {
    char tag = AM_IDX_LISTED;
    if ((rc = am_index_range(t, AM_DB_INDEX, &tag, 1, &tag, 1, &extra[nextra++], err))) goto out;
    am_ids_normalise(&extra[nextra - 1]);
  }
  if ((rc = am_index_match(t, AM_DB_INDEX, &q->q, p, extra, nextra, &ids, &all, err))) goto out;
  nextra = 0;
  /* A member viewer may match a field it cannot see: each candidate is
   * checked again on the record as that viewer sees it. */
  local_walk w = {q, p, l, q->viewer != AM_VIEWER_MANAGER};
  if (all) {
    rc = am_members_each(t, local_cb, &w, err);
    goto out;
  }
  for (size_t i = 0; i < ids.n && !rc; i++) {
    am_member m;
    if ((rc = am_members_get(t, ids.v[i], &m, err))) {
      if (rc == AM_ENOTFOUND) rc = am_fail(err, AM_ECORRUPT, "the search index is damaged");
      break;
    }
    rc = local_cb(&m, &w);
    am_member_free(&m);
  }
out:
  for (size_t i = 0; i < nextra; i++) am_ids_free(&extra[i]);
  am_ids_free(&ids);
  return rc;
}

static int search_dir(am_txn *t, const am_people_query *q, const am_prepared *p, list *l,
                      am_error *err) {
  am_ids extra[2] = {{0}}, ids = {0};
  size_t nextra = 0;
  bool all;
  int rc = 0;
  if (q->norigins) {
    /* One institution filter: the union of the origins' lists. */
    am_ids *s = &extra[nextra++];
    for (size_t i = 0; i < q->norigins && i < AM_PEOPLE_MAX_ORIGINS && !rc; i++) {
      uint8_t term[1 + AM_ANN_KEY_BYTES] = {AM_IDX_ORIGIN};
      memcpy(term + 1, q->origins[i], AM_ANN_KEY_BYTES);
      rc = am_index_range(t, AM_DB_DIR_INDEX, term, sizeof term, term, sizeof term, s, err);
    }
    if (rc) goto out;
    am_ids_normalise(s);
  }
  if (q->since > 0 && (rc = since_set(t, AM_DB_DIR_INDEX, q->since, &extra[nextra++], err)))
    goto out;
  if ((rc = am_index_match(t, AM_DB_DIR_INDEX, &q->q, p, extra, nextra, &ids, &all, err)))
    goto out;
  nextra = 0;
  row_walk w = {q, p, l, false, err};
  if (all) {
    rc = each_row(t, row_cb, &w, err);
    goto out;
  }
  for (size_t i = 0; i < ids.n && !rc; i++) {
    MDB_val v;
    row_head h;
    if (!(rc = row_get(t, ids.v[i], &v, &h, err))) rc = row_cb(t, ids.v[i], &v, &h, &w);
  }
out:
  for (size_t i = 0; i < nextra; i++) am_ids_free(&extra[i]);
  am_ids_free(&ids);
  return rc;
}

/* ---- everyone, by name: a walk of the name indexes ------------------------ */

/* A query with no filter at all, sorted by name (`amicale search` alone,
 * the commonest), would otherwise read every row head and sort them: on a
 * federation of a million people, a second of the node's loop. Both
 * indexes hold a name term per person ('n' then the name key, the order
 * of entry_cmp), so the page is the merge of two ordered walks, stopped
 * at offset + limit; the total is counted, not listed. */

typedef struct name_stream {
  MDB_cursor *c;
  MDB_val k, v;
  bool live;        /* positioned on an 'n' term */
  const uint8_t *term;
  size_t term_len;  /* the name key, without the 'n' */
} name_stream;

static int stream_set(name_stream *s, int mrc, am_error *err) {
  s->live = false;
  if (mrc == MDB_NOTFOUND) return 0;
  if (mrc) return am_store_mdb_error(NULL, mrc, "reading the search index", err);
  size_t tl = am_postings_term_len(&s->k);
  if (s->k.mv_size < 1 || ((const uint8_t *)s->k.mv_data)[0] != AM_IDX_NAME) return 0;
  if (!tl || !am_postings_count(&s->v)) return dir_corrupt(err);
  s->term = (const uint8_t *)s->k.mv_data + 1, s->term_len = tl - 1;
  s->live = true;
  return 0;
}

static int stream_open(am_txn *t, int which, name_stream *s, am_error *err) {
  int rc = mdb_cursor_open(t->txn, am_store_db(t->store, which), &s->c);
  if (rc) return am_store_mdb_error(t, rc, "reading the search index", err);
  uint8_t tag = AM_IDX_NAME;
  s->k = (MDB_val){1, &tag};
  return stream_set(s, mdb_cursor_get(s->c, &s->k, &s->v, MDB_SET_RANGE), err);
}

/* The ids of the stream's current term (all its chunks); moves past it. */
static int stream_take(name_stream *s, am_ids *ids, am_error *err) {
  uint8_t key[AM_IDX_KEY_MAX];
  size_t len = s->term_len;
  if (len > sizeof key) return dir_corrupt(err);
  memcpy(key, s->term, len);
  int rc = 0;
  while (s->live && !rc && s->term_len == len && !memcmp(s->term, key, len)) {
    const uint8_t *p = s->v.mv_data;
    for (size_t i = 0; i < am_postings_count(&s->v) && !rc; i++) rc = am_ids_push(ids, am_get_be64(p + 8 * i));
    if (!rc) rc = stream_set(s, mdb_cursor_get(s->c, &s->k, &s->v, MDB_NEXT), err);
  }
  return rc;
}

static int rows_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = memcmp(x->origin, y->origin, AM_ANN_KEY_BYTES);
  return c ? c : (x->tie > y->tie) - (x->tie < y->tie);
}

/* A local entry against the stream's term, in entry_cmp's order (a member
 * before a profile of the same name). */
static int local_vs_term(const entry *e, const name_stream *s) {
  size_t n = e->key_len < s->term_len ? e->key_len : s->term_len;
  int c = n ? memcmp(e->key, s->term, n) : 0;
  if (c) return c;
  if (e->key_len != s->term_len) return e->key_len < s->term_len ? -1 : 1;
  return -1;
}

/* This node's members come sorted from the usual path (a member viewer
 * sorts them by the names it may see, which the index does not know; they
 * are one institution's, not the federation's); the directory is walked in
 * name order and merged with them up to offset + limit. */
static int walk_by_name(am_txn *t, const am_people_query *q, const am_prepared *p, bool local,
                        bool dir, list *l, size_t *total, am_error *err) {
  name_stream ds = {0};
  list loc = {0};
  am_ids ids = {0};
  size_t want = q->q.offset + q->q.limit, i = 0;
  int rc = 0;
  if (local) {
    if ((rc = search_local(t, q, p, &loc, err))) goto out;
    for (size_t k = 0; k < loc.n; k++) {
      loc.v[k].key = (const uint8_t *)loc.keys.data + loc.v[k].key_off;
      loc.v[k].promo = 0; /* by name alone */
    }
    if (loc.n) qsort(loc.v, loc.n, sizeof *loc.v, entry_cmp);
  }
  *total = loc.n;
  if (dir) {
    MDB_stat st;
    if ((rc = mdb_stat(t->txn, am_store_db(t->store, AM_DB_DIR), &st))) {
      rc = am_store_mdb_error(t, rc, "reading the directory", err);
      goto out;
    }
    *total += st.ms_entries;
    if ((rc = stream_open(t, AM_DB_DIR_INDEX, &ds, err))) goto out;
  }
  while (l->n < want && (i < loc.n || ds.live)) {
    if (i < loc.n && (!ds.live || local_vs_term(&loc.v[i], &ds) < 0)) {
      const entry *e = &loc.v[i++];
      if ((rc = list_push(l, true, e->id, e->tie, 0, e->key, e->key_len, NULL))) goto out;
      continue;
    }
    /* The profiles of the stream's name, by institution then object. */
    uint8_t key[AM_IDX_KEY_MAX];
    size_t klen = ds.term_len, from = l->n;
    if (klen > sizeof key) { rc = dir_corrupt(err); goto out; }
    memcpy(key, ds.term, klen);
    ids.n = 0;
    if ((rc = stream_take(&ds, &ids, err))) goto out;
    for (size_t k = 0; k < ids.n && !rc; k++) {
      MDB_val v;
      row_head h;
      if ((rc = row_get(t, ids.v[k], &v, &h, err))) goto out;
      if (is_self(t, h.origin)) { /* left by an upgrade: not a person of the directory */
        (*total)--;
        continue;
      }
      rc = list_push(l, false, ids.v[k], h.object, 0, key, klen, h.origin);
    }
    if (rc) goto out;
    for (size_t k = from; k < l->n; k++) l->v[k].key = (const uint8_t *)l->keys.data + l->v[k].key_off;
    qsort(l->v + from, l->n - from, sizeof *l->v, rows_cmp);
  }
out:
  if (ds.c) mdb_cursor_close(ds.c);
  am_ids_free(&ids);
  list_free(&loc);
  return rc;
}

static bool unfiltered(const am_people_query *q) {
  const am_query *x = &q->q;
  return x->sort == AM_SORT_NAME && x->limit && !(x->text && *x->text) && !x->promo_min &&
         !x->promo_max && !x->mentoring && !x->nfilters && !(x->job_title && *x->job_title) &&
         !q->norigins && q->since <= 0;
}

static int people(am_txn *t, const am_people_query *q, am_people *out, bool scan,
                  am_error *err) {
  am_prepared p;
  list l = {0};
  bool local, dir;
  memset(out, 0, sizeof *out);
  int rc = am_query_prepare(&q->q, &p, err);
  if (rc) goto out;
  if (q->norigins > AM_PEOPLE_MAX_ORIGINS) {
    rc = am_fail(err, AM_EUSAGE, "too many institutions (at most %d)", AM_PEOPLE_MAX_ORIGINS);
    goto out;
  }
  sources(t, q, &local, &dir);
  dir = dir && am_store_has_catalog(t->store);
  if (scan) {
    local_walk lw = {q, &p, &l, true};
    row_walk rw = {q, &p, &l, true, err};
    if (local && (rc = am_members_each(t, local_cb, &lw, err))) goto out;
    if (dir && (rc = each_row(t, row_cb, &rw, err))) goto out;
  } else if (unfiltered(q)) {
    size_t total = 0;
    if ((rc = walk_by_name(t, q, &p, local, dir, &l, &total, err))) goto out;
    rc = materialise(t, q, &l, out, err);
    out->total = total;
    goto out;
  } else {
    if (local && (rc = search_local(t, q, &p, &l, err))) goto out;
    if (dir && (rc = search_dir(t, q, &p, &l, err))) goto out;
  }
  rc = materialise(t, q, &l, out, err);
out:
  if (rc) am_people_free(out);
  list_free(&l);
  am_prepared_free(&p);
  return rc;
}

int am_people_search(am_txn *t, const am_people_query *q, am_people *out, am_error *err) {
  return people(t, q, out, false, err);
}

int am_people_scan(am_txn *t, const am_people_query *q, am_people *out, am_error *err) {
  return people(t, q, out, true, err);
}

void am_people_free(am_people *p) {
  for (size_t i = 0; i < p->n; i++) am_member_free(&p->v[i].m);
  free(p->v);
  memset(p, 0, sizeof *p);
}

/* ---- institutions ----------------------------------------------------------- */

static void copy_name(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > AM_INST_NAME_MAX) n = AM_INST_NAME_MAX;
  while (n > 0 && n < strlen(src) && ((unsigned char)src[n] & 0xc0) == 0x80) n--;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int am_institution_get(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES],
                       const am_self *self, am_institution *out, am_error *err) {
  memset(out, 0, sizeof *out);
  memcpy(out->key, key, AM_ANN_KEY_BYTES);
  out->kind = -1;
  out->self = is_self(t, key);
  bool known = out->self;
  if (out->self && self) {
    if (self->name) copy_name(out->name, self->name);
    out->kind = self->kind;
  }
  am_slot s;
  if (am_store_has_ann(t->store) && am_ann_slot_get(t, key, AM_K_NODE, 0, &s) == 0 &&
      s.state == AM_SLOT_LIVE) {
    am_ann a;
    int rc = am_ann_load(t, s.id, &a, err);
    if (rc && rc != AM_ENOTFOUND) return rc;
    if (!rc) {
      if (!out->self || !out->name[0]) {
        if (a.body[AM_NODE_NAME].set && a.body[AM_NODE_NAME].s) copy_name(out->name, a.body[AM_NODE_NAME].s);
        if (a.body[AM_NODE_KIND].set) out->kind = (int)a.body[AM_NODE_KIND].u;
      }
      am_ann_free(&a);
      known = true;
    }
  }
  am_trust tr;
  if (am_store_has_ann(t->store) && am_trust_get(t, key, &tr) == 0) {
    if (!out->name[0]) copy_name(out->name, tr.name);
    known = true;
  }
  if (!known) return am_fail(err, AM_ENOTFOUND, "no institution with that key");
  return 0;
}

typedef struct each_ctx {
  am_txn *t;
  const am_self *self;
  int (*cb)(const am_institution *in, void *arg);
  void *arg;
  am_error *err;
  int rc;
} each_ctx;

static int each_trust(const am_trust *tr, void *arg) {
  each_ctx *c = arg;
  if (is_self(c->t, tr->key)) return 0; /* already given */
  am_institution in;
  if ((c->rc = am_institution_get(c->t, tr->key, c->self, &in, c->err))) return 1;
  return c->cb(&in, c->arg);
}

int am_institution_each(am_txn *t, const am_self *self,
                        int (*cb)(const am_institution *in, void *arg), void *arg,
                        am_error *err) {
  const uint8_t *me = self_key(t);
  int rc;
  if (me) {
    am_institution in;
    if ((rc = am_institution_get(t, me, self, &in, err))) return rc;
    if ((rc = cb(&in, arg))) return rc;
  }
  if (!am_store_has_ann(t->store)) return 0;
  each_ctx c = {t, self, cb, arg, err, 0};
  rc = am_trust_each(t, each_trust, &c, err);
  return c.rc ? c.rc : rc;
}

typedef struct resolve {
  char **words; /* folded words of the text */
  size_t nwords;
  int kind;
  uint8_t (*keys)[AM_ANN_KEY_BYTES];
  size_t max, n;
} resolve;

static int fold_word_cb(const char *w, size_t len, void *arg) {
  resolve *r = arg;
  if (r->nwords >= 16) return 0; /* enough to tell names apart */
  char **v = realloc(r->words, (r->nwords + 1) * sizeof *v);
  if (!v) return AM_ENOMEM;
  r->words = v;
  if (!(r->words[r->nwords] = strndup(w, len))) return AM_ENOMEM;
  r->nwords++;
  return 0;
}

static int prefix_cb(const char *w, size_t len, void *arg) {
  const char *want = arg;
  size_t n = strlen(want);
  return len >= n && memcmp(w, want, n) == 0;
}

static int resolve_cb(const am_institution *in, void *arg) {
  resolve *r = arg;
  if (r->kind >= 0 && in->kind != r->kind) return 0;
  char *f;
  size_t n;
  if (am_text_fold(in->name, strlen(in->name), &f, &n)) return AM_ENOMEM;
  bool all = r->nwords > 0;
  for (size_t i = 0; i < r->nwords && all; i++)
    all = am_text_words(f, n, prefix_cb, r->words[i]) == 1;
  free(f);
  if (!all) return 0;
  if (r->n < r->max) memcpy(r->keys[r->n], in->key, AM_ANN_KEY_BYTES);
  r->n++;
  return 0;
}

int am_institution_resolve(am_txn *t, const char *text, int kind, const am_self *self,
                           uint8_t (*keys)[AM_ANN_KEY_BYTES], size_t max, size_t *n,
                           am_error *err) {
  *n = 0;
  if (!am_utf8_valid(text, strlen(text)))
    return am_fail(err, AM_EUSAGE, "the institution is not valid UTF-8");
  uint8_t key[AM_ANN_KEY_BYTES];
  if (am_pubkey_from_text(text, key, NULL) == 0) {
    am_institution in;
    int rc = am_institution_get(t, key, self, &in, NULL);
    if (rc == AM_ENOTFOUND) return 0; /* a key this node does not know */
    if (rc) return am_fail(err, rc, "cannot read the institution");
    if (kind >= 0 && in.kind != kind) return 0;
    if (max) memcpy(keys[0], key, AM_ANN_KEY_BYTES);
    *n = 1;
    return 0;
  }
  resolve r = {.kind = kind, .keys = keys, .max = max};
  char *f;
  size_t len;
  int rc = am_text_fold(text, strlen(text), &f, &len);
  if (rc) return rc;
  rc = am_text_words(f, len, fold_word_cb, &r);
  free(f);
  if (!rc && !r.nwords)
    rc = am_fail(err, AM_EUSAGE, "the institution '%.60s' has no letter or digit to look for", text);
  if (!rc) rc = am_institution_each(t, self, resolve_cb, &r, err);
  for (size_t i = 0; i < r.nwords; i++) free(r.words[i]);
  free(r.words);
  *n = r.n;
  return rc;
}
