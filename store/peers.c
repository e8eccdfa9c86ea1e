/* The peer and invite tables (see peers.h). Records are small msgpack
 * arrays, bounds-checked (proto/mpcheck.h) before msgpack-c reads them and
 * copied into our structs at once. */
#include "store/peers.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/csv.h" /* am_buf */
#include "proto/mpcheck.h"
#include "proto/text.h"

#define PEER_VERSION 1
#define PEER_FIELDS 15
#define INVITE_FIELDS 6

static MDB_dbi db(am_txn *t, int which) { return am_store_db(t->store, which); }

static int buf_write(void *data, const char *p, size_t n) {
  return am_buf_append(data, p, n) ? -1 : 0;
}

void am_time_short(int64_t t, char out[static 24]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t < 0 || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
      !strftime(out, 24, "%Y-%m-%d %H:%M UTC", &tm))
    strcpy(out, "(unknown date)");
}

/* ---- msgpack reading ----------------------------------------------------- */

/* Unpacks one checked array of at least min elements from v; the zone
 * holds what o points into. */
static int unpack_array(const MDB_val *v, size_t min, msgpack_zone *zone, msgpack_object *o) {
  size_t used, off = 0;
  if (am_mp_check(v->mv_data, v->mv_size, 2, 0, &used) || used != v->mv_size) return AM_ECORRUPT;
  if (!msgpack_zone_init(zone, 512)) return AM_ENOMEM;
  if (msgpack_unpack(v->mv_data, v->mv_size, &off, zone, o) != MSGPACK_UNPACK_SUCCESS ||
      o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < min) {
    msgpack_zone_destroy(zone);
    return AM_ECORRUPT;
  }
  return 0;
}

static bool get_u64(const msgpack_object *o, uint64_t max, uint64_t *out) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) return false;
  *out = o->via.u64;
  return true;
}

static bool get_time(const msgpack_object *o, int64_t *out) {
  uint64_t v;
  if (!get_u64(o, INT64_MAX, &v)) return false;
  *out = (int64_t)v;
  return true;
}

/* Copies a str of at most max bytes, valid UTF-8 without NUL, into out. */
static bool get_str(const msgpack_object *o, size_t max, char *out) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > max) return false;
  size_t n = o->via.str.size;
  /* An empty str may come without a pointer. */
  if (n && (memchr(o->via.str.ptr, '\0', n) || !am_utf8_valid(o->via.str.ptr, n))) return false;
  if (n) memcpy(out, o->via.str.ptr, n);
  out[n] = '\0';
  return true;
}

static int pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

/* ---- peers --------------------------------------------------------------- */

static int peer_decode(const MDB_val *k, const MDB_val *v, am_peer *p) {
  if (k->mv_size != AM_PUBKEY_BYTES) return AM_ECORRUPT;
  memset(p, 0, sizeof *p);
  memcpy(p->key, k->mv_data, AM_PUBKEY_BYTES);
  msgpack_zone zone;
  msgpack_object o;
  int rc = unpack_array(v, PEER_FIELDS, &zone, &o);
  if (rc) return rc;
  const msgpack_object *e = o.via.array.ptr;
  uint64_t version, via;
  am_peer_stats *s = &p->stats;
  bool ok = get_u64(&e[0], UINT64_MAX, &version) && version == PEER_VERSION &&
            get_str(&e[1], AM_ADDR_TEXT_MAX, p->address) &&
            get_str(&e[2], AM_PEER_NAME_MAX, p->name) && get_time(&e[3], &p->added) &&
            e[4].type == MSGPACK_OBJECT_BOOLEAN &&
            get_u64(&e[5], AM_PEER_VIA__COUNT - 1, &via) && get_time(&e[6], &s->last_seen) &&
            get_time(&e[7], &s->last_connected) &&
            get_str(&e[8], AM_PEER_ERROR_MAX, p->last_error) &&
            get_time(&e[9], &p->last_error_at) && get_u64(&e[10], UINT64_MAX, &s->bytes_in) &&
            get_u64(&e[11], UINT64_MAX, &s->bytes_out) && get_u64(&e[12], UINT64_MAX, &s->ann_in) &&
            get_u64(&e[13], UINT64_MAX, &s->ann_out) && get_u64(&e[14], UINT64_MAX, &s->connects);
  if (ok) {
    p->blocked = e[4].via.boolean;
    p->via = (uint8_t)via;
  }
  msgpack_zone_destroy(&zone);
  /* The daemon connects to what it reads here: the address must parse. */
  am_addr a;
  if (ok && p->address[0] && am_addr_parse(p->address, &a, NULL)) ok = false;
  return ok ? 0 : AM_ECORRUPT;
}

static int peer_damaged(am_error *err, const uint8_t key[static AM_PUBKEY_BYTES]) {
  char k[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(key, k);
  return am_fail(err, AM_ECORRUPT,
                 "the record of peer %s is damaged; remove it (amicale peer remove %s) and add the "
                 "peer again, or restore the store from a backup", k, k);
}

int am_peer_get(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_peer *out) {
  if (!am_store_has_peers(t->store)) return AM_ENOTFOUND;
  uint8_t kc[AM_PUBKEY_BYTES]; /* key may point into out */
  memcpy(kc, key, sizeof kc);
  MDB_val k = {AM_PUBKEY_BYTES, kc}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_PEER), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the peer list", NULL);
  return peer_decode(&k, &v, out);
}

bool am_peer_is_blocked(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES]) {
  am_peer p;
  return am_peer_get(t, key, &p) == 0 && p.blocked;
}

int am_peer_each(am_txn *t, int (*cb)(const am_peer *p, void *arg), void *arg,
                 am_error *err) {
  if (!am_store_has_peers(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_PEER), &c), stop = 0;
  if (rc) return am_store_mdb_error(t, rc, "reading the peer list", err);
  MDB_val k, v;
  am_peer p;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    int drc = peer_decode(&k, &v, &p);
    if (drc) {
      mdb_cursor_close(c);
      if (drc == AM_ENOMEM) return am_fail(err, drc, "out of memory");
      if (k.mv_size != AM_PUBKEY_BYTES)
        return am_fail(err, AM_ECORRUPT, "the peer list is damaged (a key of %zu bytes); restore "
                       "the store from a backup", k.mv_size);
      return peer_damaged(err, k.mv_data);
    }
    if ((stop = cb(&p, arg))) break;
  }
  mdb_cursor_close(c);
  if (stop) return stop; /* the callback's value, not an LMDB code */
  return rc == MDB_NOTFOUND ? 0 : am_store_mdb_error(t, rc, "reading the peer list", err);
}

typedef struct list_ctx {
  am_peer *v;
  size_t n, cap;
} list_ctx;

static int list_one(const am_peer *p, void *arg) {
  list_ctx *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    am_peer *nv = realloc(l->v, cap * sizeof *nv);
    if (!nv) return AM_ENOMEM;
    l->v = nv, l->cap = cap;
  }
  l->v[l->n++] = *p;
  return 0;
}

int am_peer_list(am_txn *t, am_peer **v, size_t *n, am_error *err) {
  list_ctx l = {0};
  int rc = am_peer_each(t, list_one, &l, err);
  if (rc) {
    free(l.v);
    *v = NULL, *n = 0;
    return rc == AM_ENOMEM ? am_fail(err, rc, "out of memory") : rc;
  }
  *v = l.v, *n = l.n;
  return 0;
}

typedef struct find_ctx {
  const char *name;
  char *folded;
  am_peer *out;
  size_t exact, loose;
  am_peer first_loose;
  am_buf keys; /* of the matches, for the message */
} find_ctx;

static int find_one(const am_peer *p, void *arg) {
  find_ctx *f = arg;
  if (!p->name[0]) return 0;
  bool exact = strcmp(p->name, f->name) == 0;
  bool loose = exact;
  if (!exact && f->folded) {
    char *pf = NULL;
    if (am_text_fold(p->name, strlen(p->name), &pf, NULL) == 0) loose = strcmp(pf, f->folded) == 0;
    free(pf);
  }
  if (!loose) return 0;
  char k[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(p->key, k);
  am_buf_printf(&f->keys, "%s%s", f->keys.len ? ", " : "", k);
  if (exact && f->exact++ == 0) *f->out = *p;
  if (f->loose++ == 0) f->first_loose = *p;
  return 0;
}

int am_peer_find(am_txn *t, const char *key_or_name, am_peer *out, am_error *err) {
  uint8_t key[AM_PUBKEY_BYTES];
  size_t len = strlen(key_or_name);
  if (len == AM_PUBKEY_TEXT_LEN && am_pubkey_from_text(key_or_name, key, NULL) == 0) {
    int rc = am_peer_get(t, key, out);
    if (rc == AM_ENOTFOUND)
      return am_fail(err, rc, "no peer has the key %s (amicale peer list shows them)", key_or_name);
    if (rc == AM_ECORRUPT) return peer_damaged(err, key);
    return rc ? am_fail(err, rc, "cannot read the peer list") : 0;
  }
  find_ctx f = {.name = key_or_name, .out = out};
  if (!*key_or_name)
    return am_fail(err, AM_ENOTFOUND, "no peer given (its key or its name)");
  if (am_utf8_valid(key_or_name, len)) am_text_fold(key_or_name, len, &f.folded, NULL);
  int rc = am_peer_each(t, find_one, &f, err);
  free(f.folded);
  if (rc == AM_ENOMEM) rc = am_fail(err, rc, "out of memory");
  if (!rc && f.exact != 1 && f.loose > 1) {
    rc = am_fail(err, AM_EINVAL, "several peers are named \"%s\": give the key of the one you mean "
                 "(%s)", key_or_name, f.keys.data ? f.keys.data : "");
  } else if (!rc && f.exact != 1 && f.loose == 1) {
    *out = f.first_loose;
  } else if (!rc && f.loose == 0) {
    char q[64];
    snprintf(q, sizeof q, "%s", key_or_name);
    rc = am_fail(err, AM_ENOTFOUND, "no peer has the key or name \"%s\"%s (amicale peer list shows "
                 "them; a key is 43 characters)", q, len >= sizeof q ? "..." : "");
  }
  am_buf_free(&f.keys);
  return rc;
}

static bool text_ok(const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n > max || !am_utf8_valid(s, n)) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  return true;
}

int am_peer_put(am_txn *t, const am_peer *p, bool *existed, am_error *err) {
  am_peer rec = *p;
  if (p->address[0]) {
    am_addr a;
    int rc = am_addr_parse(p->address, &a, err);
    if (rc) return rc;
    am_addr_format(&a, rec.address);
  }
  if (!text_ok(p->name, AM_PEER_NAME_MAX))
    return am_fail(err, AM_EINVAL, "a peer name is at most %d bytes of text on one line", AM_PEER_NAME_MAX);
  if (!text_ok(p->last_error, AM_PEER_ERROR_MAX))
    return am_fail(err, AM_EINVAL, "a peer's last error is at most %d bytes of text on one line",
                   AM_PEER_ERROR_MAX);
  const am_peer_stats *s = &p->stats;
  if (p->added < 0 || s->last_seen < 0 || s->last_connected < 0 || p->last_error_at < 0 ||
      p->via >= AM_PEER_VIA__COUNT)
    return am_fail(err, AM_EINVAL, "a peer record has a negative time or an unknown origin");
  if (existed) {
    MDB_val k = {AM_PUBKEY_BYTES, (void *)p->key}, v;
    int rc = mdb_get(t->txn, db(t, AM_DB_PEER), &k, &v);
    if (rc && rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "reading the peer list", err);
    *existed = rc == 0;
  }
  am_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, buf_write);
  int prc = msgpack_pack_array(&pk, PEER_FIELDS) | msgpack_pack_uint64(&pk, PEER_VERSION) |
            pack_str(&pk, rec.address) | pack_str(&pk, rec.name) |
            msgpack_pack_uint64(&pk, (uint64_t)rec.added) |
            (rec.blocked ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk)) |
            msgpack_pack_uint64(&pk, rec.via) | msgpack_pack_uint64(&pk, (uint64_t)s->last_seen) |
            msgpack_pack_uint64(&pk, (uint64_t)s->last_connected) | pack_str(&pk, rec.last_error) |
            msgpack_pack_uint64(&pk, (uint64_t)rec.last_error_at) |
            msgpack_pack_uint64(&pk, s->bytes_in) | msgpack_pack_uint64(&pk, s->bytes_out) |
            msgpack_pack_uint64(&pk, s->ann_in) | msgpack_pack_uint64(&pk, s->ann_out) |
            msgpack_pack_uint64(&pk, s->connects);
  if (prc) {
    am_buf_free(&b);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  MDB_val k = {AM_PUBKEY_BYTES, (void *)p->key}, v = {b.len, b.data};
  int rc = mdb_put(t->txn, db(t, AM_DB_PEER), &k, &v, 0);
  am_buf_free(&b);
  return rc ? am_store_mdb_error(t, rc, "writing the peer list", err) : 0;
}

int am_peer_remove(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_error *err) {
  MDB_val k = {AM_PUBKEY_BYTES, (void *)key};
  int rc = mdb_del(t->txn, db(t, AM_DB_PEER), &k, NULL);
  if (rc == MDB_NOTFOUND) {
    char kt[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(key, kt);
    return am_fail(err, AM_ENOTFOUND, "no peer has the key %s", kt);
  }
  return rc ? am_store_mdb_error(t, rc, "writing the peer list", err) : 0;
}

/* Reads the record to change: AM_ENOTFOUND as is, damage as a sentence. */
static int peer_load(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_peer *p,
                     am_error *err) {
  int rc = am_peer_get(t, key, p);
  if (rc == AM_ECORRUPT) return peer_damaged(err, key);
  if (rc && rc != AM_ENOTFOUND) return am_fail(err, rc, "cannot read the peer list");
  return rc;
}

int am_peer_set_blocked(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], bool blocked,
                        int64_t now, bool *changed, am_error *err) {
  am_peer p;
  int rc = peer_load(t, key, &p, err);
  if (changed) *changed = false;
  if (rc == AM_ENOTFOUND) {
    if (!blocked) {
      char kt[AM_PUBKEY_TEXT_LEN + 1];
      am_pubkey_to_text(key, kt);
      return am_fail(err, rc, "no peer has the key %s", kt);
    }
    memset(&p, 0, sizeof p);
    memcpy(p.key, key, AM_PUBKEY_BYTES);
    p.added = now < 0 ? 0 : now;
    p.via = AM_PEER_VIA_HAND;
  } else if (rc) {
    return rc;
  } else if (p.blocked == blocked) {
    return 0;
  }
  p.blocked = blocked;
  if ((rc = am_peer_put(t, &p, NULL, err))) return rc;
  if (changed) *changed = true;
  return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

int am_peer_stats_add(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES],
                      const am_peer_stats *d, const char *last_error, int64_t now,
                      am_error *err) {
  am_peer p;
  int rc = peer_load(t, key, &p, err);
  if (rc == AM_ENOTFOUND) {
    char kt[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(key, kt);
    return am_fail(err, rc, "no peer has the key %s", kt);
  }
  if (rc) return rc;
  if (d) {
    am_peer_stats *s = &p.stats;
    s->bytes_in = sat_add(s->bytes_in, d->bytes_in);
    s->bytes_out = sat_add(s->bytes_out, d->bytes_out);
    s->ann_in = sat_add(s->ann_in, d->ann_in);
    s->ann_out = sat_add(s->ann_out, d->ann_out);
    s->connects = sat_add(s->connects, d->connects);
    if (d->last_seen > s->last_seen) s->last_seen = d->last_seen;
    if (d->last_connected > s->last_connected) s->last_connected = d->last_connected;
  }
  if (last_error) {
    /* Whatever the daemon says (an OS message, a peer's text): one line,
     * cut at a character boundary, valid UTF-8. */
    size_t n = strlen(last_error);
    if (n > AM_PEER_ERROR_MAX) {
      n = AM_PEER_ERROR_MAX;
      while (n > 0 && ((unsigned char)last_error[n] & 0xC0) == 0x80) n--;
    }
    memcpy(p.last_error, last_error, n);
    p.last_error[n] = '\0';
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)p.last_error[i] < 0x20 || p.last_error[i] == 0x7f) p.last_error[i] = ' ';
    if (!am_utf8_valid(p.last_error, n))
      for (size_t i = 0; i < n; i++)
        if ((unsigned char)p.last_error[i] >= 0x80) p.last_error[i] = '?';
    p.last_error_at = n ? (now < 0 ? 0 : now) : 0;
  }
  return am_peer_put(t, &p, NULL, err);
}

/* ---- invitations --------------------------------------------------------- */

typedef struct invite_rec {
  am_invite inv;
  uint8_t mac_key[AM_INVITE_MAC_KEY_BYTES];
} invite_rec;

static void hex_id(const uint8_t id[static AM_INVITE_ID_BYTES], char out[static 2 * AM_INVITE_ID_BYTES + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < AM_INVITE_ID_BYTES; i++) {
    out[2 * i] = digits[id[i] >> 4];
    out[2 * i + 1] = digits[id[i] & 15];
  }
  out[2 * AM_INVITE_ID_BYTES] = '\0';
}

static int invite_decode(const MDB_val *k, const MDB_val *v, invite_rec *r) {
  if (k->mv_size != AM_INVITE_ID_BYTES) return AM_ECORRUPT;
  memset(r, 0, sizeof *r);
  memcpy(r->inv.id, k->mv_data, AM_INVITE_ID_BYTES);
  msgpack_zone zone;
  msgpack_object o;
  int rc = unpack_array(v, INVITE_FIELDS, &zone, &o);
  if (rc) return rc;
  const msgpack_object *e = o.via.array.ptr;
  uint64_t left, total;
  bool ok = e[0].type == MSGPACK_OBJECT_BIN && e[0].via.bin.size == AM_INVITE_MAC_KEY_BYTES &&
            get_time(&e[1], &r->inv.created) && get_time(&e[2], &r->inv.expires) &&
            get_u64(&e[3], AM_INVITE_USES_MAX, &left) && get_u64(&e[4], AM_INVITE_USES_MAX, &total) &&
            left <= total && get_time(&e[5], &r->inv.last_used);
  if (ok) {
    memcpy(r->mac_key, e[0].via.bin.ptr, AM_INVITE_MAC_KEY_BYTES);
    r->inv.uses_left = (uint32_t)left, r->inv.uses_total = (uint32_t)total;
  }
  msgpack_zone_destroy(&zone);
  return ok ? 0 : AM_ECORRUPT;
}

static int invite_damaged(am_error *err, const uint8_t *id, size_t len) {
  char hex[2 * AM_INVITE_ID_BYTES + 1] = "?";
  if (len == AM_INVITE_ID_BYTES) hex_id(id, hex);
  return am_fail(err, AM_ECORRUPT, "the record of invitation %s is damaged; revoke it (amicale "
                 "invite revoke %s) or restore the store from a backup", hex, hex);
}

static int invite_put(am_txn *t, const invite_rec *r, unsigned flags, am_error *err) {
  am_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, buf_write);
  int prc = msgpack_pack_array(&pk, INVITE_FIELDS) | msgpack_pack_bin(&pk, AM_INVITE_MAC_KEY_BYTES) |
            msgpack_pack_bin_body(&pk, r->mac_key, AM_INVITE_MAC_KEY_BYTES) |
            msgpack_pack_uint64(&pk, (uint64_t)r->inv.created) |
            msgpack_pack_uint64(&pk, (uint64_t)r->inv.expires) |
            msgpack_pack_uint64(&pk, r->inv.uses_left) | msgpack_pack_uint64(&pk, r->inv.uses_total) |
            msgpack_pack_uint64(&pk, (uint64_t)r->inv.last_used);
  if (prc) {
    if (b.data) am_wipe(b.data, b.len);
    am_buf_free(&b);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  MDB_val k = {AM_INVITE_ID_BYTES, (void *)r->inv.id}, v = {b.len, b.data};
  int rc = mdb_put(t->txn, db(t, AM_DB_INVITE), &k, &v, flags);
  am_wipe(b.data, b.len);
  am_buf_free(&b);
  if (rc == MDB_KEYEXIST) return AM_EEXIST;
  return rc ? am_store_mdb_error(t, rc, "writing the invitation list", err) : 0;
}

static int invite_load(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES], invite_rec *r) {
  if (!am_store_has_peers(t->store)) return AM_ENOTFOUND;
  MDB_val k = {AM_INVITE_ID_BYTES, (void *)id}, v;
  int rc = mdb_get(t->txn, db(t, AM_DB_INVITE), &k, &v);
  if (rc == MDB_NOTFOUND) return AM_ENOTFOUND;
  if (rc) return am_store_mdb_error(t, rc, "reading the invitation list", NULL);
  return invite_decode(&k, &v, r);
}

int am_invite_state(const am_invite *inv, int64_t now) {
  if (inv->uses_left == 0) return AM_INVITE_USED;
  if (now >= inv->expires) return AM_INVITE_EXPIRED;
  return AM_INVITE_ACTIVE;
}

int am_invite_get(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES], am_invite *out) {
  invite_rec r;
  int rc = invite_load(t, id, &r);
  if (!rc) *out = r.inv;
  am_wipe(&r, sizeof r);
  return rc;
}

/* Walks the table; cb gets the record with its MAC key. */
static int invite_walk(am_txn *t, int (*cb)(am_txn *t, const invite_rec *r, void *arg), void *arg,
                       am_error *err) {
  if (!am_store_has_peers(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_INVITE), &c), stop = 0;
  if (rc) return am_store_mdb_error(t, rc, "reading the invitation list", err);
  MDB_val k, v;
  invite_rec r;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    int drc = invite_decode(&k, &v, &r);
    if (drc) {
      mdb_cursor_close(c);
      am_wipe(&r, sizeof r);
      if (drc == AM_ENOMEM) return am_fail(err, drc, "out of memory");
      return invite_damaged(err, k.mv_data, k.mv_size);
    }
    stop = cb(t, &r, arg);
    if (stop) break;
  }
  am_wipe(&r, sizeof r);
  mdb_cursor_close(c);
  if (stop) return stop;
  return rc == MDB_NOTFOUND ? 0 : am_store_mdb_error(t, rc, "reading the invitation list", err);
}

typedef struct each_ctx {
  int (*cb)(const am_invite *inv, void *arg);
  void *arg;
} each_ctx;

static int each_one(am_txn *t, const invite_rec *r, void *arg) {
  (void)t;
  each_ctx *e = arg;
  return e->cb(&r->inv, e->arg);
}

int am_invite_each(am_txn *t, int (*cb)(const am_invite *inv, void *arg), void *arg,
                   am_error *err) {
  each_ctx e = {cb, arg};
  return invite_walk(t, each_one, &e, err);
}

int am_invite_find(am_txn *t, const char *hex, uint8_t id[static AM_INVITE_ID_BYTES],
                   am_error *err) {
  char low[2 * AM_INVITE_ID_BYTES + 1];
  size_t len = strlen(hex), matches = 0;
  bool ok = len >= 4 && len <= 2 * AM_INVITE_ID_BYTES;
  for (size_t i = 0; ok && i < len; i++) {
    char c = hex[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) ok = false;
    low[i] = c;
  }
  if (!ok)
    return am_fail(err, AM_EINVAL, "an invitation id is 4 to 16 hexadecimal digits, as `amicale "
                   "invite list` shows it");
  low[len] = '\0';
  if (am_store_has_peers(t->store)) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, db(t, AM_DB_INVITE), &c);
    if (rc) return am_store_mdb_error(t, rc, "reading the invitation list", err);
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      char kh[2 * AM_INVITE_ID_BYTES + 1];
      if (k.mv_size != AM_INVITE_ID_BYTES) continue;
      hex_id(k.mv_data, kh);
      if (strncmp(kh, low, len) == 0 && matches++ == 0) memcpy(id, k.mv_data, AM_INVITE_ID_BYTES);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "reading the invitation list", err);
  }
  if (matches == 0)
    return am_fail(err, AM_ENOTFOUND, "no invitation %s (amicale invite list shows them)", low);
  if (matches > 1)
    return am_fail(err, AM_EINVAL, "%s is the start of several invitation ids: give more digits", low);
  return 0;
}

int am_invite_revoke(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES], am_error *err) {
  MDB_val k = {AM_INVITE_ID_BYTES, (void *)id};
  int rc = mdb_del(t->txn, db(t, AM_DB_INVITE), &k, NULL);
  if (rc == MDB_NOTFOUND) {
    char hex[2 * AM_INVITE_ID_BYTES + 1];
    hex_id(id, hex);
    return am_fail(err, AM_ENOTFOUND, "no invitation %s", hex);
  }
  return rc ? am_store_mdb_error(t, rc, "writing the invitation list", err) : 0;
}

/* Spent: used up, or expired, AM_INVITE_KEEP before now. */
static bool stale(const am_invite *inv, int64_t now) {
  int64_t since = inv->uses_left == 0 ? inv->last_used : inv->expires;
  if (inv->uses_left == 0 && inv->expires < since) since = inv->expires;
  return now - AM_INVITE_KEEP >= since;
}

int am_invite_prune(am_txn *t, int64_t now, uint64_t *pruned, am_error *err) {
  uint64_t n = 0;
  if (pruned) *pruned = 0;
  if (!am_store_has_peers(t->store)) return 0;
  MDB_cursor *c;
  int rc = mdb_cursor_open(t->txn, db(t, AM_DB_INVITE), &c);
  if (rc) return am_store_mdb_error(t, rc, "reading the invitation list", err);
  MDB_val k, v;
  invite_rec r;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    /* A damaged record is left for the administrator to see (and revoke). */
    if (invite_decode(&k, &v, &r) || !stale(&r.inv, now)) continue;
    if ((rc = mdb_cursor_del(c, 0))) break;
    n++;
  }
  am_wipe(&r, sizeof r);
  mdb_cursor_close(c);
  if (rc != MDB_NOTFOUND) return am_store_mdb_error(t, rc, "pruning the invitation list", err);
  if (pruned) *pruned = n;
  return 0;
}

int am_invite_create(am_txn *t, int64_t now, int64_t expires_at, uint32_t uses,
                     uint8_t secret_out[static AM_INVITE_SECRET_BYTES], am_invite *out,
                     am_error *err) {
  if (uses < 1 || uses > AM_INVITE_USES_MAX)
    return am_fail(err, AM_EUSAGE, "an invitation can be used 1 to %d times", AM_INVITE_USES_MAX);
  if (now < 0 || expires_at <= now || expires_at - now > AM_INVITE_TTL_MAX)
    return am_fail(err, AM_EUSAGE, "an invitation is valid for at most 365 days, and must expire "
                   "after it is made");
  int rc = am_invite_prune(t, now, NULL, err);
  if (rc) return rc;
  invite_rec r = {.inv = {.created = now, .expires = expires_at, .uses_left = uses, .uses_total = uses}};
  /* 64-bit ids collide only by accident (or a broken random source):
   * a few tries, then give up rather than loop. */
  for (int tries = 0; tries < 8; tries++) {
    if ((rc = am_invite_secret_new(secret_out))) {
      rc = am_fail(err, rc, "cannot initialise libsodium for a random secret");
      break;
    }
    am_invite_derive(secret_out, r.inv.id, r.mac_key);
    rc = invite_put(t, &r, MDB_NOOVERWRITE, err);
    if (rc != AM_EEXIST) break;
  }
  if (rc == AM_EEXIST) rc = am_fail(err, AM_EINTERNAL, "cannot find an unused invitation id");
  if (rc) am_wipe(secret_out, AM_INVITE_SECRET_BYTES);
  else *out = r.inv;
  am_wipe(&r, sizeof r);
  return rc;
}

int am_invite_redeem(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES],
                     const uint8_t h[static AM_INVITE_HASH_BYTES], int64_t now,
                     am_invite *out, int *refusal, am_error *err) {
  invite_rec r;
  int why = AM_INVITE_OK;
  int rc = invite_load(t, proof, &r);
  if (rc == AM_ECORRUPT) {
    rc = invite_damaged(err, proof, AM_INVITE_ID_BYTES);
    goto out;
  }
  if (rc && rc != AM_ENOTFOUND) {
    rc = am_fail(err, rc, "cannot read the invitation list");
    goto out;
  }
  /* The MAC first: without the secret, nothing is learnt of the state. */
  if (rc == AM_ENOTFOUND || am_invite_proof_check(proof, r.mac_key, h, proof)) {
    why = AM_INVITE_REFUSED_UNKNOWN;
    rc = am_fail(err, AM_EINVAL, "invitation not recognised");
    goto out;
  }
  if (r.inv.uses_left == 0) {
    why = AM_INVITE_REFUSED_USED_UP;
    rc = am_fail(err, AM_EINVAL, "invitation already used");
    goto out;
  }
  if (now >= r.inv.expires) {
    char when[24];
    am_time_short(r.inv.expires, when);
    why = AM_INVITE_REFUSED_EXPIRED;
    rc = am_fail(err, AM_EINVAL, "invitation expired on %s", when);
    goto out;
  }
  r.inv.uses_left--;
  r.inv.last_used = now < 0 ? 0 : now;
  if ((rc = invite_put(t, &r, 0, err))) goto out;
  if (out) *out = r.inv;
out:
  if (refusal) *refusal = why;
  am_wipe(&r, sizeof r);
  return rc;
}
