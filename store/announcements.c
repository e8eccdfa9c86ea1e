/* Announcements in LMDB: ingest, ordering, publication, pruning, the trust
 * list and federated profiles (see announcements.h; the ordering rules are
 * those of docs/PROTOCOL.md, "Ordering"). */
#include "store/announcements.h"
#include "store/catalog.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sign.h"
#include "proto/mpcheck.h"
#include "store/members.h"
#include "store/sync.h"

#define SLOT_KEY 41   /* origin[32] kind[1] object[8] */
#define SLOT_VAL 58   /* version[8] id[32] state[1] ann_kind[1] created[8] expires[8] */
#define SEQ_KEY 40    /* origin[32] version[8] */
#define KIND_KEY 41   /* kind[1] created[8] id[32] */
#define EXP_KEY 40    /* expires[8] id[32] */

static MDB_dbi db(am_txn *t, int which) { return am_store_db(t->store, which); }

/* Loops below meet both our codes (-1..-10) and LMDB's (errno values and
 * MDB_* codes below -30000) in one variable: only LMDB's get translated. */
static bool is_am_code(int rc) { return rc < 0 && rc >= AM_EINTERNAL; }

static int mdb_fail(am_txn *t, int rc, const char *what, am_error *err) {
  return am_store_mdb_error(t, rc, what, err);
}

static void slot_key(uint8_t k[SLOT_KEY], const uint8_t *origin, int kind, uint64_t object) {
  memcpy(k, origin, 32);
  k[32] = (uint8_t)kind;
  am_be64(k + 33, object);
}

static void slot_encode(uint8_t v[SLOT_VAL], const am_slot *s) {
  am_be64(v, s->version);
  memcpy(v + 8, s->id, 32);
  v[40] = s->state;
  v[41] = s->ann_kind;
  am_be64(v + 42, s->created);
  am_be64(v + 50, s->expires);
}

static int slot_get_key(am_txn *t, const uint8_t k[SLOT_KEY], am_slot *s) {
  MDB_val key = {SLOT_KEY, (void *)k}, val;
  int rc = mdb_get(t->txn, db(t, AM_DB_ANN_SLOT), &key, &val);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading an announcement slot", NULL);
  if (val.mv_size != SLOT_VAL) return AM_ECORRUPT;
  const uint8_t *v = val.mv_data;
  s->version = am_get_be64(v);
  memcpy(s->id, v + 8, 32);
  s->state = v[40];
  s->ann_kind = v[41];
  s->created = am_get_be64(v + 42);
  s->expires = am_get_be64(v + 50);
  return 0;
}

int am_ann_slot_get(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                    int kind, uint64_t object, am_slot *slot) {
  if (!am_store_has_ann(t->store)) return AM_ENOTFOUND;
  uint8_t k[SLOT_KEY];
  slot_key(k, origin, kind, object);
  return slot_get_key(t, k, slot);
}

int am_ann_get(am_txn *t, const uint8_t id[static AM_ANN_ID_BYTES],
               const uint8_t **p, size_t *len) {
  if (!am_store_has_ann(t->store)) return AM_ENOTFOUND;
  MDB_val key = {AM_ANN_ID_BYTES, (void *)id}, val;
  int rc = mdb_get(t->txn, db(t, AM_DB_ANN), &key, &val);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading an announcement", NULL);
  *p = val.mv_data;
  *len = val.mv_size;
  return 0;
}

int am_ann_load(am_txn *t, const uint8_t id[static AM_ANN_ID_BYTES], am_ann *a,
                am_error *err) {
  const uint8_t *p = NULL;
  size_t len = 0;
  int rc = am_ann_get(t, id, &p, &len), reason;
  if (rc == AM_ENOTFOUND) return am_fail(err, rc, "no such announcement");
  if (rc) return am_fail(err, rc, "cannot read an announcement from the store");
  if ((rc = am_ann_decode(p, len, a, &reason, err))) {
    am_error_prefix(err, "stored announcement damaged: ");
    return AM_ECORRUPT;
  }
  memcpy(a->id, id, AM_ANN_ID_BYTES);
  return 0;
}

/* ---- Writing the indexes of one announcement ---- */

static int index_put(am_txn *t, const am_ann *a, const uint8_t *p, size_t len,
                     int64_t now, am_error *err) {
  MDB_val k = {AM_ANN_ID_BYTES, (void *)a->id}, v = {len, (void *)p};
  int rc = mdb_put(t->txn, db(t, AM_DB_ANN), &k, &v, MDB_NOOVERWRITE);
  if (rc == 0) {
    /* New content: its place in the sums and in the catalog. */
    rc = am_sync_add(t, a->id, err);
    if (!rc && am_store_has_catalog(t->store)) rc = am_catalog_put(t, a, now, err);
    if (rc) return rc;
  } else if (rc != MDB_KEYEXIST) { /* MDB_KEYEXIST: the same bytes (the id is their hash) */
    return mdb_fail(t, rc, "storing an announcement", err);
  }
  uint8_t seq[SEQ_KEY], kind[KIND_KEY], exp[EXP_KEY];
  memcpy(seq, a->origin, 32);
  am_be64(seq + 32, a->version);
  k = (MDB_val){SEQ_KEY, seq}, v = (MDB_val){AM_ANN_ID_BYTES, (void *)a->id};
  /* version_free made sure the version is free: a key already there is
   * an index out of step with the slots. */
  rc = mdb_put(t->txn, db(t, AM_DB_ANN_SEQ), &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST)
    return am_fail(err, AM_ECORRUPT, "the announcement index is damaged (version %llu taken twice)",
                   (unsigned long long)a->version);
  if (rc) return mdb_fail(t, rc, "indexing an announcement", err);
  kind[0] = a->kind;
  am_be64(kind + 1, a->created);
  memcpy(kind + 9, a->id, 32);
  k = (MDB_val){KIND_KEY, kind}, v = (MDB_val){0, ""};
  if ((rc = mdb_put(t->txn, db(t, AM_DB_ANN_KIND), &k, &v, 0)))
    return mdb_fail(t, rc, "indexing an announcement", err);
  if (a->expires) {
    am_be64(exp, a->expires);
    memcpy(exp + 8, a->id, 32);
    k = (MDB_val){EXP_KEY, exp};
    if ((rc = mdb_put(t->txn, db(t, AM_DB_ANN_EXP), &k, &v, 0)))
      return mdb_fail(t, rc, "indexing an announcement", err);
  }
  return 0;
}

static int del(am_txn *t, int which, void *key, size_t n, am_error *err) {
  MDB_val k = {n, key};
  int rc = mdb_del(t->txn, db(t, which), &k, NULL);
  if (rc && rc != MDB_NOTFOUND) return mdb_fail(t, rc, "deleting an announcement", err);
  return 0;
}

/* Deletes the content a slot points at (announcement and its indexes). */
static int index_del(am_txn *t, const uint8_t *origin, const am_slot *s, am_error *err) {
  uint8_t seq[SEQ_KEY], kind[KIND_KEY], exp[EXP_KEY];
  MDB_val idk = {32, (void *)s->id};
  int rc = 0;
  /* The catalog needs the content to find its index entries. */
  if (am_store_has_catalog(t->store) &&
      (s->ann_kind == AM_K_PROFILE || s->ann_kind == AM_K_EVENT || s->ann_kind == AM_K_JOB)) {
    am_ann old;
    rc = am_ann_load(t, s->id, &old, err);
    if (rc == AM_ENOTFOUND) {
      rc = 0; /* nothing held: nothing indexed */
    } else if (rc) {
      return rc;
    } else {
      rc = am_catalog_del(t, &old, err);
      am_ann_free(&old);
      if (rc) return rc;
    }
  }
  rc = mdb_del(t->txn, db(t, AM_DB_ANN), &idk, NULL);
  if (rc == 0) rc = am_sync_remove(t, s->id, err);
  else if (rc == MDB_NOTFOUND) rc = 0;
  else return mdb_fail(t, rc, "deleting an announcement", err);
  memcpy(seq, origin, 32);
  am_be64(seq + 32, s->version);
  if (!rc) rc = del(t, AM_DB_ANN_SEQ, seq, SEQ_KEY, err);
  kind[0] = s->ann_kind;
  am_be64(kind + 1, s->created);
  memcpy(kind + 9, s->id, 32);
  if (!rc) rc = del(t, AM_DB_ANN_KIND, kind, KIND_KEY, err);
  if (!rc && s->expires) {
    am_be64(exp, s->expires);
    memcpy(exp + 8, s->id, 32);
    rc = del(t, AM_DB_ANN_EXP, exp, EXP_KEY, err);
  }
  return rc;
}

/* ---- Trust ---- */

bool am_trusted(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES]) {
  const am_identity *me = am_store_signer(t->store);
  if (me && memcmp(me->pk, key, AM_ANN_KEY_BYTES) == 0) return true;
  if (!am_store_has_ann(t->store)) return false;
  MDB_val k = {AM_ANN_KEY_BYTES, (void *)key}, v;
  return mdb_get(t->txn, db(t, AM_DB_TRUST), &k, &v) == 0;
}

static int buf_write(void *data, const char *p, size_t n) {
  return am_buf_append(data, p, n) ? -1 : 0;
}

static int trust_decode(const MDB_val *k, const MDB_val *v, am_trust *out) {
  if (k->mv_size != AM_ANN_KEY_BYTES) return AM_ECORRUPT;
  memset(out, 0, sizeof *out);
  memcpy(out->key, k->mv_data, AM_ANN_KEY_BYTES);
  size_t used;
  if (am_mp_check(v->mv_data, v->mv_size, 2, 0, &used) || used != v->mv_size)
    return AM_ECORRUPT;
  msgpack_zone zone;
  if (!msgpack_zone_init(&zone, 256)) return AM_ENOMEM;
  msgpack_object o;
  size_t off = 0;
  int rc = AM_ECORRUPT;
  if (msgpack_unpack(v->mv_data, v->mv_size, &off, &zone, &o) == MSGPACK_UNPACK_SUCCESS &&
      o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size >= 2 &&
      o.via.array.ptr[0].type == MSGPACK_OBJECT_STR &&
      o.via.array.ptr[0].via.str.size <= AM_TRUST_NAME_MAX &&
      o.via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    /* An empty name has no bytes (and msgpack-c may give no pointer). */
    if (o.via.array.ptr[0].via.str.size)
      memcpy(out->name, o.via.array.ptr[0].via.str.ptr, o.via.array.ptr[0].via.str.size);
    out->added = (int64_t)o.via.array.ptr[1].via.u64;
    rc = 0;
  }
  msgpack_zone_destroy(&zone);
  return rc;
}

int am_trust_get(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES], am_trust *out) {
  if (!am_store_has_ann(t->store)) return AM_ENOTFOUND;
  MDB_val k = {AM_ANN_KEY_BYTES, (void *)key}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_TRUST), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the trust list", NULL);
  return trust_decode(&k, &v, out);
}

int am_trust_add(am_txn *t, const am_trust *tr, bool *existed, am_error *err) {
  am_trust old;
  int rc = am_trust_get(t, tr->key, &old);
  if (rc && rc != AM_ENOTFOUND) return am_fail(err, rc, "the trust list is damaged");
  if (existed) *existed = rc == 0;
  am_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, buf_write);
  size_t n = strlen(tr->name);
  int prc = msgpack_pack_array(&pk, 2) | msgpack_pack_str(&pk, n) |
            msgpack_pack_str_body(&pk, tr->name, n) |
            msgpack_pack_uint64(&pk, (uint64_t)(rc == 0 ? old.added : tr->added));
  if (prc) { am_buf_free(&b); return AM_ENOMEM; }
  MDB_val k = {AM_ANN_KEY_BYTES, (void *)tr->key}, v = {b.len, b.data};
  rc = mdb_put(t->txn, db(t, AM_DB_TRUST), &k, &v, 0);
  am_buf_free(&b);
  return rc ? mdb_fail(t, rc, "writing the trust list", err) : 0;
}

int am_trust_each(am_txn *t, int (*cb)(const am_trust *tr, void *arg), void *arg,
                  am_error *err) {
  if (!am_store_has_ann(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_TRUST), &c), stop = 0;
  if (rc) return mdb_fail(t, rc, "reading the trust list", err);
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    am_trust tr;
    if (trust_decode(&k, &v, &tr)) {
      mdb_cursor_close(c);
      return am_fail(err, AM_ECORRUPT, "the trust list is damaged");
    }
    if ((stop = cb(&tr, arg))) break;
  }
  mdb_cursor_close(c);
  if (stop) return stop; /* the callback's value, not an LMDB code */
  if (stop) return stop;
  return rc == MDB_NOTFOUND ? 0 : mdb_fail(t, rc, "reading the trust list", err);
}

int am_trust_remove(am_txn *t, const uint8_t key[static AM_ANN_KEY_BYTES],
                    uint64_t *deleted, am_error *err) {
  am_trust old;
  int rc = am_trust_get(t, key, &old);
  if (rc == AM_ENOTFOUND) return am_fail(err, rc, "that key is not in the trust list");
  if (rc) return am_fail(err, rc, "the trust list is damaged");
  if ((rc = del(t, AM_DB_TRUST, (void *)key, AM_ANN_KEY_BYTES, err))) return rc;
  /* Every slot of the origin: what it holds is deleted, but the slot
   * keeps the version, so trusting the origin again later cannot bring
   * back an older copy (a withdrawn profile, say). */
  uint64_t n = 0;
  MDB_cursor *c;
  if ((rc = mdb_cursor_open(t->txn, db(t, AM_DB_ANN_SLOT), &c)))
    return mdb_fail(t, rc, "forgetting an origin", err);
  MDB_val k = {AM_ANN_KEY_BYTES, (void *)key}, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == SLOT_KEY && memcmp(k.mv_data, key, 32) == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    am_slot s;
    if ((rc = slot_get_key(t, k.mv_data, &s))) break;
    if (s.state == AM_SLOT_PRUNED || s.state == AM_SLOT_FORGOTTEN) continue;
    if ((rc = index_del(t, key, &s, err))) break;
    n++;
    s.state = AM_SLOT_FORGOTTEN;
    uint8_t val[SLOT_VAL];
    slot_encode(val, &s);
    MDB_val vv = {SLOT_VAL, val};
    if ((rc = mdb_cursor_put(c, &k, &vv, MDB_CURRENT))) {
      rc = mdb_fail(t, rc, "forgetting an origin", err);
      break;
    }
  }
  mdb_cursor_close(c);
  if (rc && rc != MDB_NOTFOUND) return is_am_code(rc) ? rc : mdb_fail(t, rc, "forgetting an origin", err);
  if (deleted) *deleted = n;
  return 0;
}

/* ---- Ingest ---- */

/* An origin numbers all its announcements with one counter, so a version
 * names at most one held announcement of that origin. A second object
 * under a version already used (a misbehaving origin, or one restored from
 * an old backup) is refused: accepting it would make "everything since
 * version V" miss one of the two. cur: the slot being replaced, whose
 * version may be the same. */
static int version_free(am_txn *t, const am_ann *a, const am_slot *cur, am_ingest *r,
                        am_error *err) {
  uint8_t seq[SEQ_KEY];
  memcpy(seq, a->origin, 32);
  am_be64(seq + 32, a->version);
  MDB_val k = {SEQ_KEY, seq}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_ANN_SEQ), &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return mdb_fail(t, rc, "reading the announcement index", err);
  if (v.mv_size == AM_ANN_ID_BYTES && cur && memcmp(v.mv_data, cur->id, AM_ANN_ID_BYTES) == 0)
    return 0;
  r->reason = AM_REJ_CONFLICT;
  am_fail(err, AM_EINVAL, "its origin already used version %llu for another announcement",
          (unsigned long long)a->version);
  return 0;
}

static int reject(am_ingest *r, int reason, am_error *err, const char *msg) {
  r->reason = reason;
  am_fail(err, AM_EINVAL, "%s", msg);
  return 0;
}

int am_ann_apply(am_txn *t, const am_ann *a, const uint8_t *p, size_t len,
                 int64_t now, am_ingest *r, am_error *err) {
  memset(r, 0, sizeof *r);
  memcpy(r->id, a->id, AM_ANN_ID_BYTES);
  memcpy(r->origin, a->origin, AM_ANN_KEY_BYTES);
  r->kind = a->kind, r->object = a->object, r->version = a->version;
  if (!am_store_has_ann(t->store))
    return am_fail(err, AM_EUSAGE, "the store is open read-only");
  if (now >= 0 && a->created > (uint64_t)now + AM_ANN_MAX_SKEW) {
    r->reason = AM_REJ_FUTURE;
    am_fail(err, AM_EINVAL, "created %llu s after this node's clock (at most %d s ahead)",
            (unsigned long long)(a->created - (uint64_t)now), AM_ANN_MAX_SKEW);
    return 0;
  }
  if (a->expires && now >= 0 && a->expires <= (uint64_t)now)
    return reject(r, AM_REJ_EXPIRED, err, "expired before it arrived");
  if (!am_trusted(t, a->origin)) {
    char key[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(a->origin, key);
    r->reason = AM_REJ_UNKNOWN_ORIGIN;
    am_fail(err, AM_EINVAL, "its origin %s is not in this node's trust list (amicale trust add %s)",
            key, key);
    return 0;
  }

  bool retraction = a->kind == AM_K_RETRACTION;
  int target = retraction ? (int)a->body[AM_RET_KIND].u : a->kind;
  uint8_t k[SLOT_KEY];
  slot_key(k, a->origin, target, a->object);
  am_slot cur;
  int rc = slot_get_key(t, k, &cur);
  if (rc && rc != AM_ENOTFOUND)
    return am_fail(err, rc, "an announcement slot in the store is damaged");
  bool have = rc == 0;
  if (have) {
    bool held = cur.state == AM_SLOT_LIVE || cur.state == AM_SLOT_RETRACTED;
    if (memcmp(cur.id, a->id, AM_ANN_ID_BYTES) == 0) {
      if (held) {
        r->duplicate = true;
        return 0;
      }
      /* The same announcement after its content was dropped (expired, or
       * its origin was untrusted for a while): store it again, if its
       * version was not taken meanwhile. */
      if ((rc = version_free(t, a, NULL, r, err)) || r->reason) return rc;
      goto store;
    }
    /* From the kind, not the state: a retraction whose record was dropped
     * (its origin untrusted for a while) still beats its own version. */
    bool cur_ret = cur.ann_kind == AM_K_RETRACTION;
    bool wins;
    if (a->version != cur.version)
      wins = a->version > cur.version;
    else if (retraction != cur_ret)
      wins = retraction; /* a retraction beats every version up to its own */
    else
      wins = memcmp(a->id, cur.id, AM_ANN_ID_BYTES) < 0; /* tie: lowest id */
    if (!wins) {
      r->reason = AM_REJ_STALE;
      am_fail(err, AM_EINVAL, "version %llu is not newer than the %s version %llu held",
              (unsigned long long)a->version, cur_ret ? "retracted" : "current",
              (unsigned long long)cur.version);
      return 0;
    }
    if ((rc = version_free(t, a, &cur, r, err)) || r->reason) return rc;
    if (held && (rc = index_del(t, a->origin, &cur, err))) return rc;
  } else if ((rc = version_free(t, a, NULL, r, err)) || r->reason) {
    return rc;
  }
store:
  if ((rc = index_put(t, a, p, len, now, err))) return rc;
  am_slot s = {.version = a->version, .state = retraction ? AM_SLOT_RETRACTED : AM_SLOT_LIVE,
               .ann_kind = a->kind, .created = a->created, .expires = a->expires};
  memcpy(s.id, a->id, AM_ANN_ID_BYTES);
  uint8_t v[SLOT_VAL];
  slot_encode(v, &s);
  MDB_val key = {SLOT_KEY, k}, val = {SLOT_VAL, v};
  if ((rc = mdb_put(t->txn, db(t, AM_DB_ANN_SLOT), &key, &val, 0)))
    return mdb_fail(t, rc, "storing an announcement", err);
  r->applied = true;
  return 0;
}

int am_ann_ingest(am_txn *t, const uint8_t *p, size_t len, int64_t now,
                  am_ingest *r, am_error *err) {
  am_ann a;
  int reason;
  memset(r, 0, sizeof *r);
  int rc = am_ann_open(p, len, &a, &reason, err);
  if (rc == AM_ENOMEM) return rc;
  if (rc) {
    r->reason = reason;
    return 0;
  }
  rc = am_ann_apply(t, &a, p, len, now, r, err);
  am_ann_free(&a);
  return rc;
}

/* ---- This node's own announcements ---- */

/* The next value of counter name: one more than both its stored value and
 * floor (what the store already holds of it: after a restore from an old
 * backup the stored value is behind), written back in this transaction. */
static int counter_next(am_txn *t, const char *name, uint64_t max, uint64_t floor,
                        uint64_t *out, am_error *err) {
  MDB_val k = {strlen(name), (void *)name}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_META), &k, &v);
  uint64_t n = 0;
  if (rc == 0) {
    if (v.mv_size != 8) return am_fail(err, AM_ECORRUPT, "the store's %s counter is damaged", name);
    n = am_get_be64(v.mv_data);
  } else if (rc != MDB_NOTFOUND) {
    return mdb_fail(t, rc, "reading a counter", err);
  }
  if (n < floor) n = floor;
  if (n >= max) return am_fail(err, AM_ETOOBIG, "the %s counter is exhausted", name);
  uint8_t b[8];
  am_be64(b, ++n);
  v = (MDB_val){8, b};
  if ((rc = mdb_put(t->txn, db(t, AM_DB_META), &k, &v, 0)))
    return mdb_fail(t, rc, "writing a counter", err);
  *out = n;
  return 0;
}



/* The highest big-endian u64 that follows prefix (plen bytes) in a key of
 * klen bytes of table which: 0 when there is none. */
static int last_under(am_txn *t, int which, const uint8_t *prefix, size_t plen, size_t klen,
                      uint64_t *out, am_error *err) {
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, which), &c);
  if (rc) return mdb_fail(t, rc, "reading the announcement index", err);
  uint8_t end[64];
  memcpy(end, prefix, plen);
  memset(end + plen, 0xff, 8);
  MDB_val k = {klen, end}, v;
  *out = 0;
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && k.mv_size == klen && memcmp(k.mv_data, end, klen) == 0) {
    *out = UINT64_MAX;
  } else {
    if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc == 0 && k.mv_size == klen && memcmp(k.mv_data, prefix, plen) == 0)
      *out = am_get_be64((const uint8_t *)k.mv_data + plen);
  }
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_fail(t, rc, "reading the announcement index", err);
}

int am_ann_last_version(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                        uint64_t *version, am_error *err) {
  return last_under(t, AM_DB_ANN_SEQ, origin, 32, SEQ_KEY, version, err);
}

int am_ann_next_object(am_txn *t, int kind, uint64_t *object, am_error *err) {
  /* As for versions: never the number of an object this node still has
   * a slot for. */
  const am_identity *me = am_store_signer(t->store);
  uint64_t held = 0;
  if (me) {
    uint8_t prefix[33];
    memcpy(prefix, me->pk, 32);
    prefix[32] = (uint8_t)kind;
    int rc = last_under(t, AM_DB_ANN_SLOT, prefix, 33, SLOT_KEY, &held, err);
    if (rc) return rc;
  }
  return counter_next(t, kind == AM_K_JOB ? "ann_object_job" : "ann_object_event",
                      AM_ANN_OBJECT_MAX, held, object, err);
}

int am_ann_publish(am_txn *t, am_ann *a, int64_t now, am_buf *env, am_error *err) {
  const am_identity *me = am_store_signer(t->store);
  if (!me || !me->sk) return am_fail(err, AM_EUSAGE, "no node key loaded to sign with");
  /* Never a version this node still holds one of (the counter of a store
   * restored from an old backup is behind). */
  uint64_t held = 0;
  int rc = last_under(t, AM_DB_ANN_SEQ, me->pk, 32, SEQ_KEY, &held, err);
  if (!rc) rc = counter_next(t, "ann_version", AM_ANN_VERSION_MAX, held, &a->version, err);
  if (rc) return rc;
  a->created = now > 0 ? (uint64_t)now : 0;
  am_buf b = {0};
  if ((rc = am_ann_seal(a, me, &b, err))) goto out;
  am_ingest r;
  if ((rc = am_ann_apply(t, a, (const uint8_t *)b.data, b.len, now, &r, err))) goto out;
  if (!r.applied) {
    /* Our own newest version always applies; anything else is a bug or a
     * clock far behind the expiry chosen: report it as such. */
    am_error_prefix(err, "cannot publish (%s): ", am_reject_name(r.reason));
    rc = AM_EINVAL;
    goto out;
  }
  if (env) rc = am_buf_append(env, b.data, b.len);
out:
  am_buf_free(&b);
  return rc;
}

int am_ann_retract(am_txn *t, int kind, uint64_t object, const char *reason,
                   int64_t now, am_error *err) {
  am_ann a;
  am_ann_init(&a, AM_K_RETRACTION);
  a.object = object;
  a.body[AM_RET_KIND] = (am_aval){.set = true, .u = (uint64_t)kind};
  int rc = 0;
  if (reason && *reason && (rc = am_ann_set(&a, AM_RET_REASON, reason, err))) {
    am_ann_free(&a);
    return rc;
  }
  rc = am_ann_publish(t, &a, now, NULL, err);
  am_ann_free(&a);
  return rc;
}

/* ---- Reading many ---- */

static int each_range(am_txn *t, int which, const uint8_t *prefix, size_t plen,
                      size_t id_at, am_ann_cb cb, void *arg) {
  if (!am_store_has_ann(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, which), &c), stop = 0;
  if (rc) return am_store_mdb_error(t, rc, "reading announcements", NULL);
  MDB_val k = {plen, (void *)prefix}, v;
  rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) {
      rc = MDB_NOTFOUND;
      break;
    }
    const uint8_t *id = which == AM_DB_ANN_SEQ ? v.mv_data : (const uint8_t *)k.mv_data + id_at;
    const uint8_t *p = NULL;
    size_t len = 0;
    if (which == AM_DB_ANN) {
      p = v.mv_data, len = v.mv_size;
    } else if ((rc = am_ann_get(t, id, &p, &len))) {
      rc = rc == AM_ENOTFOUND ? AM_ECORRUPT : rc;
      break;
    }
    if ((stop = cb(t, id, p, len, arg))) break;
  }
  mdb_cursor_close(c);
  /* The callback's value is returned as it is: a positive one must not
   * be taken for an LMDB code. */
  if (stop) return stop;
  if (rc == MDB_NOTFOUND) return 0;
  if (is_am_code(rc)) return rc;
  return am_store_mdb_error(t, rc, "reading announcements", NULL);
}

int am_ann_each_kind(am_txn *t, int kind, am_ann_cb cb, void *arg) {
  if (kind < 0) return each_range(t, AM_DB_ANN, NULL, 0, 0, cb, arg);
  uint8_t k = (uint8_t)kind;
  return each_range(t, AM_DB_ANN_KIND, &k, 1, 9, cb, arg);
}

int am_ann_each_since(am_txn *t, const uint8_t origin[static AM_ANN_KEY_BYTES],
                      uint64_t since, am_ann_cb cb, void *arg) {
  if (!am_store_has_ann(t->store)) return 0;
  /* Start after `since`, then walk the origin's prefix. */
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_ANN_SEQ), &c), stop = 0;
  if (rc) return am_store_mdb_error(t, rc, "reading announcements", NULL);
  uint8_t start[SEQ_KEY];
  memcpy(start, origin, 32);
  am_be64(start + 32, since == UINT64_MAX ? since : since + 1);
  MDB_val k = {SEQ_KEY, start}, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != SEQ_KEY || memcmp(k.mv_data, origin, 32) != 0) { rc = MDB_NOTFOUND; break; }
    const uint8_t *p = NULL;
    size_t len = 0;
    if (v.mv_size != AM_ANN_ID_BYTES) { rc = AM_ECORRUPT; break; }
    if ((rc = am_ann_get(t, v.mv_data, &p, &len))) { rc = rc == AM_ENOTFOUND ? AM_ECORRUPT : rc; break; }
    if ((stop = cb(t, v.mv_data, p, len, arg))) break;
  }
  mdb_cursor_close(c);
  if (stop) return stop; /* as in each_range */
  if (rc == MDB_NOTFOUND) return 0;
  if (is_am_code(rc)) return rc;
  return am_store_mdb_error(t, rc, "reading announcements", NULL);
}

int am_ann_count(am_txn *t, size_t *n) {
  *n = 0;
  if (!am_store_has_ann(t->store)) return 0;
  MDB_stat st;
  int rc = mdb_stat(t->txn, db(t, AM_DB_ANN), &st);
  if (rc) return am_store_mdb_error(t, rc, "counting announcements", NULL);
  *n = st.ms_entries;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int am_ann_find(am_txn *t, const char *hex, uint8_t id[static AM_ANN_ID_BYTES],
                am_error *err) {
  size_t n = strlen(hex);
  if (n < 8 || n > 64)
    return am_fail(err, AM_EINVAL, "'%.70s' is not an announcement id (8 to 64 hex digits)", hex);
  uint8_t pre[32] = {0};
  for (size_t i = 0; i < n; i++) {
    int x = hexval(hex[i]);
    if (x < 0) return am_fail(err, AM_EINVAL, "'%.70s' is not an announcement id (hex digits)", hex);
    pre[i / 2] |= (uint8_t)(i % 2 ? x : x << 4);
  }
  if (!am_store_has_ann(t->store)) return am_fail(err, AM_ENOTFOUND, "no announcement %s", hex);
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_ANN), &c);
  if (rc) return mdb_fail(t, rc, "reading announcements", err);
  MDB_val k = {32, pre}, v;
  int found = 0;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && found < 2;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const uint8_t *kp = k.mv_data;
    bool match = memcmp(kp, pre, n / 2) == 0 && (n % 2 == 0 || (kp[n / 2] >> 4) == (pre[n / 2] >> 4));
    if (!match) break;
    if (!found) memcpy(id, kp, 32);
    found++;
  }
  mdb_cursor_close(c);
  if (found == 0) return am_fail(err, AM_ENOTFOUND, "no announcement %s", hex);
  if (found > 1) return am_fail(err, AM_EINVAL, "announcement id %s is ambiguous: give more digits", hex);
  return 0;
}

/* ---- Expiry ---- */

int am_ann_prune(am_txn *t, int64_t now, uint64_t *pruned, am_error *err) {
  uint64_t n = 0;
  if (pruned) *pruned = 0;
  if (!am_store_has_ann(t->store) || now < 0) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_ANN_EXP), &c);
  if (rc) return mdb_fail(t, rc, "pruning announcements", err);
  MDB_val k, v;
  uint8_t ids[64][32];
  for (;;) {
    /* Collect a handful, then delete them (the cursor's table changes). */
    int got = 0;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && got < 64;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size != EXP_KEY) { rc = AM_ECORRUPT; break; }
      if (am_get_be64(k.mv_data) > (uint64_t)now) break;
      memcpy(ids[got++], (const uint8_t *)k.mv_data + 8, 32);
    }
    /* MDB_NOTFOUND (negative too) only means the walk passed the last
     * entry: what was collected must still be pruned. */
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc) {
      if (rc != AM_ECORRUPT) rc = mdb_fail(t, rc, "pruning announcements", err);
      break;
    }
    for (int i = 0; i < got && !rc; i++) {
      am_ann a;
      if ((rc = am_ann_load(t, ids[i], &a, err))) break;
      bool ret = a.kind == AM_K_RETRACTION;
      uint8_t key[SLOT_KEY];
      slot_key(key, a.origin, ret ? (int)a.body[AM_RET_KIND].u : a.kind, a.object);
      am_ann_free(&a);
      am_slot s;
      if ((rc = slot_get_key(t, key, &s))) { rc = AM_ECORRUPT; break; }
      if (memcmp(s.id, ids[i], AM_ANN_ID_BYTES) != 0) {
        /* The slot holds another announcement: this expiry entry is out
         * of step with it. Deleting what the slot points at would drop
         * live content; refuse instead (and stop: the loop would meet
         * the same entry again). */
        rc = AM_ECORRUPT;
        break;
      }
      if ((rc = index_del(t, key, &s, err))) break;
      s.state = AM_SLOT_PRUNED;
      uint8_t val[SLOT_VAL];
      slot_encode(val, &s);
      MDB_val kk = {SLOT_KEY, key}, vv = {SLOT_VAL, val};
      if ((rc = mdb_put(t->txn, db(t, AM_DB_ANN_SLOT), &kk, &vv, 0)))
        rc = mdb_fail(t, rc, "pruning announcements", err);
      n++;
    }
    if (rc || got < 64) break;
  }
  mdb_cursor_close(c);
  if (rc == AM_ECORRUPT) return am_fail(err, rc, "the announcement expiry index is damaged");
  if (pruned) *pruned = n;
  return rc;
}

/* ---- Federated profiles ---- */

static int profile_update(am_txn *t, uint64_t member_id, const am_member *m,
                          int64_t now, bool *changed, am_error *err) {
  const am_identity *me = am_store_signer(t->store);
  if (changed) *changed = false;
  if (!me || !me->sk || !am_store_has_ann(t->store)) return 0;
  am_ann want;
  int rc = m ? am_profile_from_member(&want, m) : AM_ENOTFOUND;
  if (rc && rc != AM_ENOTFOUND) return am_fail(err, rc, "out of memory");
  bool publish = rc == 0;
  am_slot s;
  int src = am_ann_slot_get(t, me->pk, AM_K_PROFILE, member_id, &s);
  if (src && src != AM_ENOTFOUND) {
    if (publish) am_ann_free(&want);
    return am_fail(err, src, "an announcement slot in the store is damaged");
  }
  bool live = src == 0 && s.state == AM_SLOT_LIVE;
  if (publish) {
    if (live) {
      am_ann cur;
      if ((rc = am_ann_load(t, s.id, &cur, err))) { am_ann_free(&want); return rc; }
      bool same = am_ann_same_content(&cur, &want);
      am_ann_free(&cur);
      if (same) { am_ann_free(&want); return 0; }
    }
    rc = am_ann_publish(t, &want, now, NULL, err);
    am_ann_free(&want);
  } else if (live) {
    rc = am_ann_retract(t, AM_K_PROFILE, member_id,
                        m ? "consent withdrawn" : "member removed", now, err);
  } else {
    return 0;
  }
  if (!rc && changed) *changed = true;
  return rc;
}

int am_profile_check(const am_member *m, am_error *err) {
  am_ann a;
  int rc = am_profile_from_member(&a, m);
  if (rc == AM_ENOTFOUND) return 0;
  if (rc) return am_fail(err, rc, "out of memory");
  a.version = 1; /* the envelope fields are the publisher's: only the body is checked */
  rc = am_ann_check(&a, err);
  am_ann_free(&a);
  if (rc) am_error_prefix(err, "this member's profile cannot be shared with the federation: ");
  return rc;
}

int am_profile_sync(am_txn *t, uint64_t member_id, const am_member *m,
                    int64_t now, am_error *err) {
  return profile_update(t, member_id, m, now, NULL, err);
}

int am_profile_publish(am_txn *t, uint64_t member_id, bool publish, int64_t now,
                       bool *changed, am_error *err) {
  am_member m;
  int rc = am_members_get(t, member_id, &m, err);
  if (rc) return rc;
  if (publish && (!m.consent_federation || !m.consent_listed)) {
    bool fed = m.consent_federation != 0;
    am_member_free(&m);
    return am_fail(err, AM_EINVAL, "member %llu has not consented to %s (set %s)",
                   (unsigned long long)member_id, fed ? "be listed" : "federation sharing",
                   fed ? "--consent-listed" : "--consent-federation");
  }
  if (publish) {
    rc = profile_update(t, member_id, &m, now, changed, err);
  } else {
    /* Withdrawing is withdrawing the consent: otherwise the next edit of
     * the member would publish the profile again. The member's own write
     * retracts the profile (am_profile_sync). */
    bool had = m.consent_federation != 0;
    m.consent_federation = 0;
    rc = had ? am_members_put(t, &m, 0, err) : 0;
    if (changed) *changed = had;
    /* A profile still out there without consent (published by a write
     * that had no key to retract it with): retract it now. */
    am_slot s;
    const am_identity *me = am_store_signer(t->store);
    if (!rc && !had && me && am_ann_slot_get(t, me->pk, AM_K_PROFILE, member_id, &s) == 0 &&
        s.state == AM_SLOT_LIVE) {
      rc = am_ann_retract(t, AM_K_PROFILE, member_id, "withdrawn by the alumni office", now, err);
      if (!rc && changed) *changed = true;
    }
  }
  am_member_free(&m);
  return rc;
}
