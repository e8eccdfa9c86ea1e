/* Members' keys and login codes (see accounts.h). Records are fixed-size
 * big-endian structs: a value of any other length is damage (AM_ECORRUPT),
 * never read past. Records holding a MAC key are wiped from the stack when
 * done. Both tables are small (a row per member who logged in, a row per
 * pending code), so lookups by member walk the table. */
#include "store/accounts.h"

#include <string.h>

#include "store/members.h"
#include "store/peers.h" /* am_time_short */

#define CODE_LEN 64
#define KEY_LEN 32

typedef struct code_rec {
  am_mcode c;
  uint8_t mac_key[AM_INVITE_MAC_KEY_BYTES];
} code_rec;

static MDB_dbi db(am_txn *t, int which) { return am_store_db(t->store, which); }

static void put64(uint8_t *p, int64_t v) { am_be64(p, (uint64_t)v); }
static int64_t get64(const uint8_t *p) { return (int64_t)am_get_be64(p); }

static int code_decode(const MDB_val *k, const MDB_val *v, code_rec *r) {
  memset(r, 0, sizeof *r);
  if (k->mv_size != AM_INVITE_ID_BYTES || v->mv_size != CODE_LEN) return AM_ECORRUPT;
  const uint8_t *p = v->mv_data;
  memcpy(r->c.id, k->mv_data, AM_INVITE_ID_BYTES);
  memcpy(r->mac_key, p, AM_INVITE_MAC_KEY_BYTES);
  r->c.member_id = am_get_be64(p + 32);
  r->c.created = get64(p + 40);
  r->c.expires = get64(p + 48);
  r->c.used = get64(p + 56);
  return 0;
}

static int code_put(am_txn *t, const code_rec *r, am_error *err) {
  uint8_t b[CODE_LEN];
  memcpy(b, r->mac_key, AM_INVITE_MAC_KEY_BYTES);
  am_be64(b + 32, r->c.member_id);
  put64(b + 40, r->c.created);
  put64(b + 48, r->c.expires);
  put64(b + 56, r->c.used);
  MDB_val k = {AM_INVITE_ID_BYTES, (void *)r->c.id}, v = {sizeof b, b};
  int rc = mdb_put(t->txn, db(t, AM_DB_MCODE), &k, &v, 0);
  am_wipe(b, sizeof b);
  return rc ? am_store_mdb_error(t, rc, "writing the login codes", err) : 0;
}

static int key_decode(const MDB_val *k, const MDB_val *v, am_mkey *out) {
  memset(out, 0, sizeof *out);
  if (k->mv_size != AM_PUBKEY_BYTES || v->mv_size != KEY_LEN) return AM_ECORRUPT;
  const uint8_t *p = v->mv_data;
  memcpy(out->key, k->mv_data, AM_PUBKEY_BYTES);
  out->member_id = am_get_be64(p);
  out->added = get64(p + 8);
  out->last_used = get64(p + 16);
  out->revoked = get64(p + 24);
  return 0;
}

static int key_put(am_txn *t, const am_mkey *r, am_error *err) {
  uint8_t b[KEY_LEN];
  am_be64(b, r->member_id);
  put64(b + 8, r->added);
  put64(b + 16, r->last_used);
  put64(b + 24, r->revoked);
  MDB_val k = {AM_PUBKEY_BYTES, (void *)r->key}, v = {sizeof b, b};
  int rc = mdb_put(t->txn, db(t, AM_DB_MKEY), &k, &v, 0);
  return rc ? am_store_mdb_error(t, rc, "writing the member keys", err) : 0;
}

static int damaged(am_error *err, const char *table) {
  return am_fail(err, AM_ECORRUPT,
                 "the %s table holds a damaged record; restore the store from a backup", table);
}

/* Deletes the codes for which drop() says so (with the cursor: deleting
 * while walking is what MDB_cursor_del is for). */
static int codes_drop(am_txn *t, bool (*drop)(const code_rec *r, const void *arg),
                      const void *arg, am_error *err) {
  if (!am_store_has_catalog(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_MCODE), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the login codes", err);
  MDB_val k, v;
  code_rec r;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (code_decode(&k, &v, &r)) {
      rc = -1;
      break;
    }
    if (drop(&r, arg) && (rc = mdb_cursor_del(c, 0))) break;
  }
  am_wipe(&r, sizeof r);
  mdb_cursor_close(c);
  if (rc == -1) return damaged(err, "member_code");
  if (rc == MDB_NOTFOUND) return 0;
  return am_store_mdb_error(t, rc, "deleting login codes", err);
}

typedef struct drop_arg {
  uint64_t member_id;
  int64_t now;
} drop_arg;

/* The member's codes, and codes that can no longer be used by anyone. */
static bool drop_member_or_dead(const code_rec *r, const void *arg) {
  const drop_arg *a = arg;
  return r->c.member_id == a->member_id || r->c.used || a->now >= r->c.expires;
}

static bool drop_member(const code_rec *r, const void *arg) {
  return r->c.member_id == ((const drop_arg *)arg)->member_id;
}

static int member_exists(am_txn *t, uint64_t id, am_error *err) {
  am_member m;
  int rc = am_members_get(t, id, &m, err);
  if (!rc) am_member_free(&m);
  return rc;
}

int am_accounts_code_create(am_txn *t, uint64_t member_id, int64_t now, int64_t expires,
                            uint8_t secret_out[static AM_INVITE_SECRET_BYTES], am_mcode *out,
                            am_error *err) {
  code_rec r;
  memset(&r, 0, sizeof r);
  int rc = member_exists(t, member_id, err);
  if (rc) return rc;
  if (!am_store_has_catalog(t->store))
    return am_fail(err, AM_EUSAGE, "this store is opened read-only");
  drop_arg a = {member_id, now};
  if ((rc = codes_drop(t, drop_member_or_dead, &a, err))) return rc;
  /* A fresh id that is not in use (16 random bytes: a clash is a bug in
   * the random source, but costs nothing to rule out). */
  for (int tries = 0;; tries++) {
    if ((rc = am_invite_secret_new(secret_out)))
      return am_fail(err, rc, "no random source for the login code");
    am_login_derive(secret_out, r.c.id, r.mac_key);
    MDB_val k = {AM_INVITE_ID_BYTES, r.c.id}, v;
    rc = mdb_get(t->txn, db(t, AM_DB_MCODE), &k, &v);
    if (rc == MDB_NOTFOUND) break;
    if (rc) {
      am_wipe(&r, sizeof r);
      return am_store_mdb_error(t, rc, "reading the login codes", err);
    }
    if (tries > 3) {
      am_wipe(&r, sizeof r);
      return am_fail(err, AM_EINTERNAL, "the random source repeats itself");
    }
  }
  r.c.member_id = member_id;
  r.c.created = now;
  r.c.expires = expires;
  rc = code_put(t, &r, err);
  if (!rc && out) *out = r.c;
  am_wipe(&r, sizeof r);
  return rc;
}

static int code_load(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES], code_rec *r) {
  if (!am_store_has_catalog(t->store)) return AM_ENOTFOUND;
  MDB_val k = {AM_INVITE_ID_BYTES, (void *)id}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_MCODE), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the login codes", NULL);
  return code_decode(&k, &v, r);
}

bool am_accounts_is_login(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES]) {
  code_rec r;
  int rc = code_load(t, proof, &r);
  am_wipe(&r, sizeof r);
  return rc != AM_ENOTFOUND;
}

typedef struct count_arg {
  size_t active;
} count_arg;

static int count_active(const am_mkey *k, void *arg) {
  if (!k->revoked) ((count_arg *)arg)->active++;
  return 0;
}

int am_accounts_redeem(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES],
                       const uint8_t h[static AM_INVITE_HASH_BYTES],
                       const uint8_t key[static AM_PUBKEY_BYTES], int64_t now,
                       uint64_t *member_id, int *refusal, am_error *err) {
  code_rec r;
  int why = AM_LOGIN_OK;
  int rc = code_load(t, proof, &r);
  if (rc == AM_ECORRUPT) {
    rc = damaged(err, "member_code");
    goto out;
  }
  if (rc == AM_ENOTFOUND) {
    why = AM_LOGIN_UNKNOWN;
    rc = am_fail(err, AM_EINVAL, "login code not recognised");
    goto out;
  }
  if (rc) {
    rc = am_fail(err, rc, "cannot read the login codes");
    goto out;
  }
  /* The MAC first (constant time): without the secret, nothing is learnt
   * of the code's state. */
  if (am_invite_proof_check(proof, r.mac_key, h, proof)) {
    why = AM_LOGIN_WRONG;
    rc = am_fail(err, AM_EINVAL, "login code not recognised");
    goto out;
  }
  if (r.c.used) {
    why = AM_LOGIN_USED;
    rc = am_fail(err, AM_EINVAL, "this login code was used already: ask your alumni manager for "
                                 "a new one");
    goto out;
  }
  if (now >= r.c.expires) {
    char when[24];
    am_time_short(r.c.expires, when);
    why = AM_LOGIN_EXPIRED;
    rc = am_fail(err, AM_EINVAL, "this login code expired on %s: ask your alumni manager for a "
                                 "new one", when);
    goto out;
  }
  am_error merr = {0};
  if ((rc = member_exists(t, r.c.member_id, &merr))) {
    if (rc == AM_ENOTFOUND) {
      why = AM_LOGIN_GONE;
      rc = am_fail(err, AM_EINVAL, "the member this login code was made for is no longer in "
                                   "the directory");
    } else {
      *err = merr;
    }
    goto out;
  }
  am_mkey k;
  rc = am_accounts_key_get(t, key, &k);
  if (rc == 0) { /* never re-bound: a key belongs to one member, for good */
    why = AM_LOGIN_WRONG;
    rc = am_fail(err, AM_EINVAL, "this key is already registered here");
    goto out;
  }
  if (rc != AM_ENOTFOUND) {
    rc = rc == AM_ECORRUPT ? damaged(err, "member_key") : am_fail(err, rc, "cannot read keys");
    goto out;
  }
  count_arg ca = {0};
  if ((rc = am_accounts_keys_each(t, r.c.member_id, count_active, &ca, err))) goto out;
  if (ca.active >= AM_MKEYS_MAX) {
    why = AM_LOGIN_TOO_MANY;
    rc = am_fail(err, AM_EINVAL, "you have %d computers logged in already: log out of one, or "
                                 "ask your alumni manager to revoke an old key", AM_MKEYS_MAX);
    goto out;
  }
  r.c.used = now > 0 ? now : 1;
  if ((rc = code_put(t, &r, err))) goto out;
  k = (am_mkey){.member_id = r.c.member_id, .added = now, .last_used = now};
  memcpy(k.key, key, AM_PUBKEY_BYTES);
  if ((rc = key_put(t, &k, err))) goto out;
  *member_id = r.c.member_id;
out:
  if (refusal) *refusal = why;
  am_wipe(&r, sizeof r);
  return rc;
}

int am_accounts_key_get(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_mkey *out) {
  if (!am_store_has_catalog(t->store)) return AM_ENOTFOUND;
  MDB_val k = {AM_PUBKEY_BYTES, (void *)key}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_MKEY), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the member keys", NULL);
  return key_decode(&k, &v, out);
}

int am_accounts_key_touch(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], int64_t now,
                          am_error *err) {
  am_mkey k;
  int rc = am_accounts_key_get(t, key, &k);
  if (rc == AM_ECORRUPT) return damaged(err, "member_key");
  if (rc) return am_fail(err, rc, "this key is not registered");
  k.last_used = now;
  return key_put(t, &k, err);
}

int am_accounts_keys_each(am_txn *t, uint64_t member_id, int (*cb)(const am_mkey *k, void *arg),
                          void *arg, am_error *err) {
  if (!am_store_has_catalog(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_MKEY), &c), stop = 0;
  if (rc) return am_store_mdb_error(t, rc, "reading the member keys", err);
  MDB_val k, v;
  am_mkey r;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (key_decode(&k, &v, &r)) {
      mdb_cursor_close(c);
      return damaged(err, "member_key");
    }
    if (member_id && r.member_id != member_id) continue;
    if ((stop = cb(&r, arg))) break;
  }
  mdb_cursor_close(c);
  if (stop) return stop;
  if (rc == MDB_NOTFOUND) return 0;
  return am_store_mdb_error(t, rc, "reading the member keys", err);
}

int am_accounts_code_of(am_txn *t, uint64_t member_id, int64_t now, am_mcode *out) {
  if (!am_store_has_catalog(t->store)) return AM_ENOTFOUND;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_MCODE), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the login codes", NULL);
  MDB_val k, v;
  code_rec r;
  bool found = false;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (code_decode(&k, &v, &r)) break;
    if (r.c.member_id == member_id && !r.c.used && now < r.c.expires) {
      *out = r.c;
      found = true;
      break;
    }
  }
  am_wipe(&r, sizeof r);
  mdb_cursor_close(c);
  return found ? 0 : AM_ENOTFOUND;
}

/* Calls fn on each key of member_id, the cursor on it (the table is keyed
 * by public key: every key is read). fn returns an LMDB code. */
typedef int (*key_fn)(MDB_cursor *c, MDB_val *k, MDB_val *v, void *arg);

static int each_key_of(am_txn *t, uint64_t member_id, key_fn fn, void *arg, const char *what,
                       am_error *err) {
  if (!am_store_has_catalog(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_MKEY), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the member keys", err);
  MDB_val k, v;
  am_mkey r;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (key_decode(&k, &v, &r)) {
      mdb_cursor_close(c);
      return damaged(err, "member_key");
    }
    if (r.member_id == member_id && (rc = fn(c, &k, &v, arg))) break;
  }
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) return 0;
  return am_store_mdb_error(t, rc, what, err);
}

typedef struct revoke_arg {
  int64_t when;
  size_t *count;
} revoke_arg;

/* Marks the key under the cursor revoked (kept, so its holder is told why). */
static int revoke_one(MDB_cursor *c, MDB_val *k, MDB_val *v, void *arg) {
  revoke_arg *r = arg;
  am_mkey cur;
  if (key_decode(k, v, &cur) || cur.revoked) return 0;
  uint8_t b[KEY_LEN];
  memcpy(b, v->mv_data, KEY_LEN);
  put64(b + 24, r->when);
  MDB_val nv = {sizeof b, b};
  int rc = mdb_cursor_put(c, k, &nv, MDB_CURRENT);
  if (!rc) (*r->count)++;
  return rc;
}

static int delete_one(MDB_cursor *c, MDB_val *k, MDB_val *v, void *arg) {
  (void)k, (void)v, (void)arg;
  return mdb_cursor_del(c, 0);
}

int am_accounts_revoke(am_txn *t, uint64_t member_id, const uint8_t *key, int64_t now,
                       size_t *count, am_error *err) {
  *count = 0;
  drop_arg a = {member_id, now};
  int rc = codes_drop(t, drop_member, &a, err);
  if (rc) return rc;
  if (key) {
    am_mkey k;
    rc = am_accounts_key_get(t, key, &k);
    if (rc == AM_ECORRUPT) return damaged(err, "member_key");
    if (rc == AM_ENOTFOUND || (!rc && k.member_id != member_id))
      return am_fail(err, AM_ENOTFOUND, "member %llu has no such key (see amicale member keys "
                                        "%llu)", (unsigned long long)member_id,
                     (unsigned long long)member_id);
    if (rc) return am_fail(err, rc, "cannot read the member keys");
    if (k.revoked) return 0;
    k.revoked = now > 0 ? now : 1;
    *count = 1;
    return key_put(t, &k, err);
  }
  revoke_arg r = {now > 0 ? now : 1, count};
  return each_key_of(t, member_id, revoke_one, &r, "revoking member keys", err);
}

int am_accounts_forget_member(am_txn *t, uint64_t member_id, am_error *err) {
  drop_arg a = {member_id, 0};
  int rc = codes_drop(t, drop_member, &a, err);
  if (rc) return rc;
  return each_key_of(t, member_id, delete_one, NULL, "deleting the member's keys", err);
}
