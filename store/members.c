/* Member table, email table and search index maintenance (see members.h). */
#include "store/members.h"

#include "store/announcements.h"

#include <stdlib.h>
#include <string.h>

#include "proto/text.h"
#include "store/directory.h"
#include "store/postings.h"

/* ---- search keys of a record ----------------------------------------- */

void am_terms_free(am_terms *ts) {
  am_buf_free(&ts->data);
  free(ts->v);
  memset(ts, 0, sizeof *ts);
}

/* Cuts at a character boundary so a key stays valid UTF-8. */
static size_t utf8_cut(const char *s, size_t len, size_t max) {
  if (len <= max) return len;
  while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80) max--;
  return max;
}

int am_terms_add(am_terms *ts, char tag, const void *p, size_t len) {
  if (ts->n == ts->cap) {
    size_t cap = ts->cap ? ts->cap * 2 : 32;
    struct am_term *v = realloc(ts->v, cap * sizeof *v);
    if (!v) return AM_ENOMEM;
    ts->v = v, ts->cap = cap;
  }
  len = utf8_cut(p, len, AM_IDX_KEY_MAX - 1); /* tag + term <= AM_IDX_KEY_MAX */
  uint32_t off = (uint32_t)ts->data.len;
  int rc = am_buf_append(&ts->data, &tag, 1);
  if (!rc && len) rc = am_buf_append(&ts->data, p, len);
  if (rc) return rc;
  ts->v[ts->n++] = (struct am_term){off, (uint32_t)(len + 1)};
  return 0;
}

static int word_cb(const char *w, size_t len, void *arg) {
  return am_terms_add(arg, AM_IDX_WORD, w, len);
}

static int title_cb(const char *w, size_t len, void *arg) {
  return am_terms_add(arg, AM_IDX_TITLE, w, len);
}

static int fold_words(am_terms *ts, const char *s, int (*cb)(const char *, size_t, void *)) {
  char *f;
  size_t n;
  int rc = am_text_fold(s, strlen(s), &f, &n);
  if (rc) return rc;
  rc = am_text_words(f, n, cb, ts);
  free(f);
  return rc;
}

int am_index_key_exact(int field, const char *value, am_buf *key) {
  char *f;
  size_t n;
  int rc = am_text_fold(value, strlen(value), &f, &n);
  if (rc) return rc;
  char head[2] = {AM_IDX_EXACT, (char)field};
  rc = am_buf_append(key, head, 2);
  if (!rc) rc = am_buf_append(key, f, utf8_cut(f, n, AM_IDX_KEY_MAX - 2));
  free(f);
  return rc;
}

int am_index_key_name(const am_member *m, am_buf *key) {
  const char *family = m->family_name ? m->family_name : m->usual_name;
  am_buf raw = {0};
  int rc = 0;
  if (family) rc = am_buf_append(&raw, family, strlen(family));
  if (!rc) rc = am_buf_append(&raw, " ", 1);
  if (!rc && m->given_name) rc = am_buf_append(&raw, m->given_name, strlen(m->given_name));
  char *f = NULL;
  size_t n = 0;
  if (!rc) rc = am_text_fold(raw.data, raw.len, &f, &n);
  char tag = AM_IDX_NAME;
  if (!rc) rc = am_buf_append(key, &tag, 1);
  if (!rc) rc = am_buf_append(key, f, utf8_cut(f, n, AM_IDX_KEY_MAX - 2));
  free(f);
  am_buf_free(&raw);
  return rc;
}

static int term_cmp(const am_terms *ts, const struct am_term *x, const struct am_term *y) {
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(ts->data.data + x->off, ts->data.data + y->off, n);
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

int am_terms_of_record(const am_member *m, am_terms *ts) {
  int rc = 0;
  am_buf key = {0};
  if ((rc = am_index_key_name(m, &key))) goto out;
  if ((rc = am_terms_add(ts, key.data[0], key.data + 1, key.len - 1))) goto out;
  if (m->promo) {
    char y[2] = {(char)(m->promo >> 8), (char)(m->promo & 0xff)};
    if ((rc = am_terms_add(ts, AM_IDX_YEAR, y, 2))) goto out;
  }
  if (m->mentoring && (rc = am_terms_add(ts, AM_IDX_MENTOR, "", 0))) goto out;
  if (m->job_title && (rc = fold_words(ts, m->job_title, title_cb))) goto out;
  for (int f = 0; f < AM_F__COUNT; f++) {
    const am_field *fd = &am_fields[f];
    if (!(fd->flags & (AM_FF_EXACT | AM_FF_WORDS))) continue;
    const char *one;
    const char *const *items;
    uint32_t n = am_member_items(m, f, &items, &one);
    for (uint32_t i = 0; i < n; i++) {
      if (fd->flags & AM_FF_EXACT) {
        key.len = 0;
        if ((rc = am_index_key_exact(f, items[i], &key))) goto out;
        if ((rc = am_terms_add(ts, key.data[0], key.data + 1, key.len - 1))) goto out;
      }
      if ((fd->flags & AM_FF_WORDS) && (rc = fold_words(ts, items[i], word_cb))) goto out;
    }
  }
out:
  am_buf_free(&key);
  return rc;
}

void am_terms_finish(am_terms *ts) {
  /* A record has a few dozen keys: insertion sort beats qsort's set-up. */
  for (size_t i = 1; i < ts->n; i++) {
    struct am_term x = ts->v[i];
    size_t j = i;
    for (; j > 0 && term_cmp(ts, &ts->v[j - 1], &x) > 0; j--) ts->v[j] = ts->v[j - 1];
    ts->v[j] = x;
  }
  size_t k = 0;
  for (size_t i = 0; i < ts->n; i++)
    if (k == 0 || term_cmp(ts, &ts->v[k - 1], &ts->v[i]) != 0) ts->v[k++] = ts->v[i];
  ts->n = k;
}

/* All index keys of a member, sorted and without repeats. */
static int member_terms(const am_member *m, am_terms *ts) {
  uint8_t c[8];
  am_be64(c, (uint64_t)m->created);
  int rc = am_terms_of_record(m, ts);
  if (!rc) rc = am_terms_add(ts, AM_IDX_CREATED, c, 8);
  if (!rc && m->consent_listed) rc = am_terms_add(ts, AM_IDX_LISTED, "", 0);
  if (!rc) am_terms_finish(ts);
  return rc;
}

/* ---- the transaction's index writer ---------------------------------- */
/* Index additions are gathered per key during a write transaction and
 * written when it commits (am_store_write calls am_members_txn_flush), in
 * key order, as one posting-list update per key (store/postings.h). An
 * import adds some twenty keys per row; written one by one they cost more
 * than everything else the import does, grouped they cost a put or two per
 * distinct key and batch.
 * Removals look in the pending set first, so a member added and changed
 * in one transaction leaves no stale key. Index reads inside a write
 * transaction would not see pending keys; none are made.
 * The directory's index (dir_index) goes through the same writer: a
 * pending key is the table's number (one byte) then the term. The
 * directory also leaves here the references it must check at commit
 * (am_txn_defer_ref). */

typedef struct pending_key {
  uint32_t off, len; /* key bytes in pending.keys */
  uint64_t *ids;
  uint32_t n, cap;
} pending_key;

typedef struct pending {
  am_buf refs; /* am_txn_defer_ref: directory references to check */
  am_buf keys;
  pending_key *v;
  size_t n, cap;
  uint32_t *slots; /* hash table of v indexes + 1; 0 = empty */
  size_t nslots;
} pending;

static uint64_t key_hash(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
  return h;
}

static pending_key *pending_find(pending *pd, const char *key, size_t len, bool create) {
  if (create && 2 * (pd->n + 1) > pd->nslots) {
    size_t ns = pd->nslots ? 2 * pd->nslots : 4096;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) return NULL;
    for (size_t i = 0; i < pd->n; i++) {
      size_t h = key_hash(pd->keys.data + pd->v[i].off, pd->v[i].len) & (ns - 1);
      while (sl[h]) h = (h + 1) & (ns - 1);
      sl[h] = (uint32_t)i + 1;
    }
    free(pd->slots);
    pd->slots = sl, pd->nslots = ns;
  }
  if (!pd->nslots) return NULL;
  size_t h = key_hash(key, len) & (pd->nslots - 1);
  for (; pd->slots[h]; h = (h + 1) & (pd->nslots - 1)) {
    pending_key *e = &pd->v[pd->slots[h] - 1];
    if (e->len == len && memcmp(pd->keys.data + e->off, key, len) == 0) return e;
  }
  if (!create) return NULL;
  if (pd->n == pd->cap) {
    size_t cap = pd->cap ? 2 * pd->cap : 1024;
    pending_key *v = realloc(pd->v, cap * sizeof *v);
    if (!v) return NULL;
    pd->v = v, pd->cap = cap;
  }
  pending_key *e = &pd->v[pd->n];
  *e = (pending_key){(uint32_t)pd->keys.len, (uint32_t)len, NULL, 0, 0};
  if (am_buf_append(&pd->keys, key, len)) return NULL;
  pd->slots[h] = (uint32_t)++pd->n;
  return e;
}

static void pending_free(pending *pd) {
  if (!pd) return;
  for (size_t i = 0; i < pd->n; i++) free(pd->v[i].ids);
  free(pd->v);
  free(pd->slots);
  am_buf_free(&pd->keys);
  am_buf_free(&pd->refs);
  free(pd);
}

void am_members_txn_end(am_txn *t);
int am_members_txn_flush(am_txn *t, am_error *err);
static int counter_save(am_txn *t, am_error *err);

void am_members_txn_end(am_txn *t) {
  pending_free(t->idx);
  t->idx = NULL;
}

static const pending *flush_ctx;
static int pending_cmp(const void *a, const void *b) {
  const pending_key *x = &flush_ctx->v[*(const uint32_t *)a];
  const pending_key *y = &flush_ctx->v[*(const uint32_t *)b];
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(flush_ctx->keys.data + x->off, flush_ctx->keys.data + y->off, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

int am_members_txn_flush(am_txn *t, am_error *err) {
  pending *pd = t->idx;
  int crc = counter_save(t, err);
  if (crc) return crc;
  if (!pd) return 0;
  uint32_t *order = malloc((pd->n ? pd->n : 1) * sizeof *order);
  int rc = 0;
  if (!order) return AM_ENOMEM;
  for (size_t i = 0; i < pd->n; i++) order[i] = (uint32_t)i;
  flush_ctx = pd;
  qsort(order, pd->n, sizeof *order, pending_cmp);
  for (size_t i = 0; !rc && i < pd->n; i++) {
    pending_key *e = &pd->v[order[i]];
    if (!e->n) continue;
    /* Ids arrive in increasing order in an import (new ids grow); sort
     * only when a change of an older member broke the order. */
    bool sorted = true;
    for (uint32_t k = 1; k < e->n && sorted; k++) sorted = e->ids[k - 1] < e->ids[k];
    if (!sorted) qsort(e->ids, e->n, sizeof *e->ids, u64_cmp);
    const uint8_t *key = (const uint8_t *)pd->keys.data + e->off;
    rc = am_postings_add_db(t, key[0], key + 1, e->len - 1, e->ids, e->n, err);
  }
  free(order);
  if (!rc && pd->refs.len) rc = am_directory_txn_flush(t, (const uint8_t *)pd->refs.data, pd->refs.len, err);
  if (rc) return rc;
  pending_free(pd);
  t->idx = NULL;
  return 0;
}

static pending *pending_get(am_txn *t) {
  if (!t->idx) t->idx = calloc(1, sizeof(pending));
  return t->idx;
}

int am_txn_defer_ref(am_txn *t, const uint8_t *key, size_t len) {
  pending *pd = pending_get(t);
  if (!pd) return AM_ENOMEM;
  return am_buf_append(&pd->refs, key, len);
}

static int index_op(am_txn *t, int which, const am_terms *ts, const struct am_term *tm,
                    uint64_t id, bool add, am_error *err) {
  char key[AM_IDX_KEY_MAX + 1];
  if (tm->len > AM_IDX_KEY_MAX) return am_fail(err, AM_EINTERNAL, "bad index term");
  key[0] = (char)which;
  memcpy(key + 1, ts->data.data + tm->off, tm->len);
  size_t len = tm->len + 1;
  pending *pd = t->idx;
  if (add) {
    if (!(pd = pending_get(t))) return AM_ENOMEM;
    pending_key *e = pending_find(pd, key, len, true);
    if (!e) return AM_ENOMEM;
    if (e->n == e->cap) {
      uint32_t cap = e->cap ? 2 * e->cap : 4;
      uint64_t *ids = realloc(e->ids, cap * sizeof *ids);
      if (!ids) return AM_ENOMEM;
      e->ids = ids, e->cap = cap;
    }
    e->ids[e->n++] = id;
    return 0;
  }
  pending_key *e = pd ? pending_find(pd, key, len, false) : NULL;
  for (uint32_t k = 0; e && k < e->n; k++)
    if (e->ids[k] == id) {
      memmove(e->ids + k, e->ids + k + 1, (e->n - k - 1) * sizeof *e->ids);
      e->n--;
      return 0;
    }
  return am_postings_remove_db(t, which, key + 1, tm->len, id, err);
}

int am_index_update(am_txn *t, int which, uint64_t id, const am_terms *old,
                    const am_terms *neu, am_error *err) {
  size_t i = 0, j = 0;
  int rc = 0;
  while (!rc && (i < (old ? old->n : 0) || j < (neu ? neu->n : 0))) {
    int c;
    if (!old || i >= old->n) c = 1;
    else if (!neu || j >= neu->n) c = -1;
    else {
      const struct am_term *a = &old->v[i], *b = &neu->v[j];
      size_t n = a->len < b->len ? a->len : b->len;
      c = memcmp(old->data.data + a->off, neu->data.data + b->off, n);
      if (!c) c = (a->len > b->len) - (a->len < b->len);
    }
    if (c < 0) rc = index_op(t, which, old, &old->v[i++], id, false, err);
    else if (c > 0) rc = index_op(t, which, neu, &neu->v[j++], id, true, err);
    else i++, j++;
  }
  return rc;
}

/* ---- records ---------------------------------------------------------- */

/* The member counter lives in meta/next_id; a transaction reads it once
 * and writes it back once, at commit (am_members_txn_flush). */
static int counter_load(am_txn *t, am_error *err) {
  if (t->next_id) return 0;
  MDB_val k = {7, "next_id"}, v;
  int rc = mdb_get(t->txn, am_store_dbi(t->store, "meta"), &k, &v);
  if (rc == MDB_NOTFOUND) {
    t->next_id = 1;
    return 0;
  }
  if (rc) return am_store_mdb_error(t, rc, "reading the member counter", err);
  if (v.mv_size != 8 || am_get_be64(v.mv_data) == 0)
    return am_fail(err, AM_ECORRUPT, "the member counter is damaged");
  t->next_id = am_get_be64(v.mv_data);
  return 0;
}

static int counter_save(am_txn *t, am_error *err) {
  if (!t->next_id_dirty) return 0;
  uint8_t b[8];
  am_be64(b, t->next_id);
  MDB_val k = {7, "next_id"}, v = {8, b};
  int rc = mdb_put(t->txn, am_store_dbi(t->store, "meta"), &k, &v, 0);
  if (!rc) t->next_id_dirty = false;
  return am_store_mdb_error(t, rc, "updating the member counter", err);
}

static int next_id(am_txn *t, uint64_t *id, am_error *err) {
  int rc = counter_load(t, err);
  if (rc) return rc;
  if (t->next_id > AM_MEMBER_ID_MAX)
    return am_fail(err, AM_ETOOBIG, "no member id is left (the counter is at %llu)",
                   (unsigned long long)t->next_id);
  *id = t->next_id++;
  t->next_id_dirty = true;
  return 0;
}

static int bump_counter(am_txn *t, uint64_t id, am_error *err) {
  int rc = counter_load(t, err);
  if (rc) return rc;
  if (t->next_id <= id) {
    t->next_id = id + 1;
    t->next_id_dirty = true;
  }
  return 0;
}

int am_members_get(am_txn *t, uint64_t id, am_member *out, am_error *err) {
  uint8_t kb[8];
  am_be64(kb, id);
  MDB_val k = {8, kb}, v;
  int rc = mdb_get(t->txn, am_store_dbi(t->store, "members"), &k, &v);
  if (rc == MDB_NOTFOUND)
    return am_fail(err, AM_ENOTFOUND, "no member with id %llu", (unsigned long long)id);
  if (rc) return am_store_mdb_error(t, rc, "reading a member", err);
  rc = am_member_decode(v.mv_data, v.mv_size, out, err);
  if (rc) am_error_prefix(err, "member %llu: ", (unsigned long long)id);
  return rc;
}

int am_members_by_email(am_txn *t, const char *email, uint64_t *id) {
  MDB_val k = {strlen(email), (void *)email}, v;
  if (k.mv_size == 0 || k.mv_size > AM_IDX_KEY_MAX) return AM_ENOTFOUND;
  int rc = mdb_get(t->txn, am_store_dbi(t->store, "email"), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the email table", NULL);
  if (v.mv_size != 8) return AM_ECORRUPT;
  *id = am_get_be64(v.mv_data);
  return 0;
}

static bool has_email(const am_member *m, const char *e) {
  for (uint32_t i = 0; m && i < m->emails.n; i++)
    if (strcmp(m->emails.v[i], e) == 0) return true;
  return false;
}

static int emails_update(am_txn *t, const am_member *old, const am_member *neu,
                         am_error *err) {
  MDB_dbi dbi = am_store_dbi(t->store, "email");
  uint8_t idb[8];
  am_be64(idb, neu ? neu->id : old->id);
  int rc;
  for (uint32_t i = 0; old && i < old->emails.n; i++) {
    if (has_email(neu, old->emails.v[i])) continue;
    MDB_val k = {strlen(old->emails.v[i]), old->emails.v[i]};
    rc = mdb_del(t->txn, dbi, &k, NULL);
    if (rc && rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "updating the email table", err);
  }
  for (uint32_t i = 0; neu && i < neu->emails.n; i++) {
    if (has_email(old, neu->emails.v[i])) continue;
    MDB_val k = {strlen(neu->emails.v[i]), neu->emails.v[i]}, v = {8, idb};
    rc = mdb_put(t->txn, dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc) return am_store_mdb_error(t, rc, "updating the email table", err);
  }
  return 0;
}

/* Checked before anything is written, so a refused change leaves the
 * transaction exactly as it was (an import goes on with the next row). */
static int emails_available(am_txn *t, const am_member *m, am_error *err) {
  for (uint32_t i = 0; i < m->emails.n; i++) {
    uint64_t owner;
    int rc = am_members_by_email(t, m->emails.v[i], &owner);
    if (rc == AM_ENOTFOUND) continue;
    if (rc) return am_fail(err, rc, "cannot read the email table");
    if (owner != m->id)
      return am_fail(err, AM_EEXIST, "the address %s already belongs to member %llu",
                     m->emails.v[i], (unsigned long long)owner);
  }
  return 0;
}

int am_members_put(am_txn *t, am_member *m, int flags, am_error *err) {
  am_member old;
  bool have_old = false;
  am_terms ot = {0}, nt = {0};
  am_buf rec = {0};
  int rc;
  if ((rc = am_member_check(m, err))) return rc;
  if (m->id > AM_MEMBER_ID_MAX)
    return am_fail(err, AM_EINVAL, "member id %llu is too large (at most %llu)",
                   (unsigned long long)m->id, (unsigned long long)AM_MEMBER_ID_MAX);
  if ((rc = emails_available(t, m, err))) return rc;
  /* Refused before anything is written (the profile is published last). */
  if (am_store_signer(t->store) && (rc = am_profile_check(m, err))) return rc;
  int64_t now = am_now();
  bool append = false;
  if (m->id == 0) {
    if ((rc = next_id(t, &m->id, err))) goto out;
    if (!m->created) m->created = now;
    append = true;
  } else if ((rc = am_members_get(t, m->id, &old, err)) == AM_ENOTFOUND &&
             (flags & AM_PUT_CREATE)) {
    /* Restoring a member under its exported id: keep the counter ahead. */
    if ((rc = bump_counter(t, m->id, err))) goto out;
    if (!m->created) m->created = now;
  } else if (rc) {
    goto out;
  } else {
    have_old = true;
    m->created = old.created;
    if ((rc = member_terms(&old, &ot))) goto out;
  }
  m->updated = now;
  if ((rc = emails_update(t, have_old ? &old : NULL, m, err))) goto out;
  if ((rc = member_terms(m, &nt))) goto out;
  if ((rc = am_index_update(t, AM_DB_INDEX, m->id, have_old ? &ot : NULL, &nt, err))) goto out;
  if ((rc = am_member_encode(m, &rec))) goto out;
  uint8_t kb[8];
  am_be64(kb, m->id);
  MDB_val k = {8, kb}, v = {rec.len, rec.data};
  /* New ids only grow, so a new record is an append at the end of the tree. */
  rc = mdb_put(t->txn, am_store_dbi(t->store, "members"), &k, &v, append ? MDB_APPEND : 0);
  if (rc == MDB_KEYEXIST) rc = am_fail(err, AM_ECORRUPT, "the member counter is behind the member table");
  else rc = am_store_mdb_error(t, rc, "writing a member", err);
  /* The federated profile follows the record, in the same transaction
   * (whatever the consent: a profile published earlier is retracted). */
  if (!rc && am_store_signer(t->store)) rc = am_profile_sync(t, m->id, m, now, err);
out:
  if (have_old) am_member_free(&old);
  am_terms_free(&ot);
  am_terms_free(&nt);
  am_buf_free(&rec);
  return rc;
}

int am_members_remove(am_txn *t, uint64_t id, am_error *err) {
  am_member old;
  am_terms ot = {0};
  int rc = am_members_get(t, id, &old, err);
  if (rc) return rc;
  if ((rc = member_terms(&old, &ot))) goto out;
  if ((rc = am_index_update(t, AM_DB_INDEX, id, &ot, NULL, err))) goto out;
  if ((rc = emails_update(t, &old, NULL, err))) goto out;
  uint8_t kb[8];
  am_be64(kb, id);
  MDB_val k = {8, kb};
  rc = am_store_mdb_error(t, mdb_del(t->txn, am_store_dbi(t->store, "members"), &k, NULL),
                          "removing a member", err);
  if (!rc && am_store_signer(t->store)) rc = am_profile_sync(t, id, NULL, am_now(), err);
out:
  am_member_free(&old);
  am_terms_free(&ot);
  return rc;
}

int am_members_count(am_txn *t, size_t *n) {
  MDB_stat st;
  int rc = mdb_stat(t->txn, am_store_dbi(t->store, "members"), &st);
  if (rc) return am_store_mdb_error(t, rc, "counting members", NULL);
  *n = st.ms_entries;
  return 0;
}

int am_members_each(am_txn *t, int (*cb)(am_member *m, void *arg), void *arg,
                    am_error *err) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t->txn, am_store_dbi(t->store, "members"), &c), mrc;
  if (rc) return am_store_mdb_error(t, rc, "reading members", err);
  /* mrc: LMDB's codes; rc: ours (both are negative numbers). */
  for (int op = MDB_FIRST; (mrc = mdb_cursor_get(c, &k, &v, op)) == 0; op = MDB_NEXT) {
    am_member m;
    if ((rc = am_member_decode(v.mv_data, v.mv_size, &m, err))) {
      if (k.mv_size == 8) am_error_prefix(err, "member %llu: ", (unsigned long long)am_get_be64(k.mv_data));
      break;
    }
    rc = cb(&m, arg);
    am_member_free(&m);
    if (rc) break;
  }
  mdb_cursor_close(c);
  if (!rc && mrc != MDB_NOTFOUND) rc = am_store_mdb_error(t, mrc, "reading members", err);
  return rc;
}

/* Format 5 added terms (created, listed, job title words, mentoring
 * topics): the index is emptied and every member indexed again, in the
 * upgrade's transaction. The additions go through the pending writer, so
 * the caller flushes (am_members_txn_flush) before committing. */
static int reindex_one(am_member *m, void *arg) {
  am_txn *t = arg;
  am_terms ts = {0};
  int rc = member_terms(m, &ts);
  if (!rc) rc = am_index_update(t, AM_DB_INDEX, m->id, NULL, &ts, NULL);
  am_terms_free(&ts);
  return rc;
}

int am_members_reindex(am_txn *t, am_error *err) {
  int rc = mdb_drop(t->txn, am_store_db(t->store, AM_DB_INDEX), 0);
  if (rc) return am_store_mdb_error(t, rc, "rebuilding the search index", err);
  rc = am_members_each(t, reindex_one, t, err);
  if (rc && err && !err->msg[0]) am_fail(err, rc, "rebuilding the search index");
  return rc;
}
