/* LMDB environment, transactions, map growth and error translation (see
 * store.h). */
#include "store/store.h"
#include "store/catalog.h"
#include "store/members.h"
#include "store/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const dbi_names[AM_DB__COUNT] = {
    [AM_DB_META] = "meta", [AM_DB_MEMBERS] = "members", [AM_DB_EMAIL] = "email",
    [AM_DB_INDEX] = "index", [AM_DB_ANN] = "ann", [AM_DB_ANN_SLOT] = "ann_slot",
    [AM_DB_ANN_SEQ] = "ann_seq", [AM_DB_ANN_KIND] = "ann_kind",
    [AM_DB_ANN_EXP] = "ann_exp", [AM_DB_TRUST] = "trust",
    [AM_DB_PEER] = "peer", [AM_DB_INVITE] = "invite", [AM_DB_ANN_SUM] = "ann_sum",
    [AM_DB_DIR] = "dir", [AM_DB_DIR_INDEX] = "dir_index", [AM_DB_DIR_REF] = "dir_ref",
    [AM_DB_LST] = "lst", [AM_DB_LST_INDEX] = "lst_index", [AM_DB_LST_REF] = "lst_ref",
    [AM_DB_MKEY] = "member_key", [AM_DB_MCODE] = "member_code",
};
/* LMDB flags of each table beyond MDB_CREATE (0: plain keys and values). */
static const unsigned dbi_flags[AM_DB__COUNT] = {
    /* sorted postings order[8] seq[8] under each term (store/listings.c) */
    [AM_DB_LST_INDEX] = MDB_DUPSORT | MDB_DUPFIXED,
};

struct am_store {
  MDB_env *env;
  MDB_dbi meta, members, email, index;
  MDB_dbi dbi[AM_DB__COUNT];
  bool ann_tables; /* false: a format-1 store opened read-only */
  bool peer_tables; /* false: a format-1 or 2 store opened read-only */
  bool sum_table;   /* false: a format 1-3 store opened read-only */
  bool catalog_tables; /* false: a format 1-4 store opened read-only */
  bool open_map_full; /* the upgrade at open needed a larger map */
  const am_identity *signer;
  char path[4096];
  bool read_only;
};

void am_members_txn_end(am_txn *t);     /* store/members.c */
int am_members_txn_flush(am_txn *t, am_error *err);

static int meta_format(am_store *s, MDB_txn *txn, uint32_t *format) {
  MDB_val k = {6, "format"}, v;
  int rc = mdb_get(txn, s->meta, &k, &v);
  if (rc) return rc;
  if (v.mv_size != 4) return MDB_CORRUPTED;
  const uint8_t *p = v.mv_data;
  *format = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  return 0;
}

int am_store_mdb_error(am_txn *t, int rc, const char *what, am_error *err) {
  switch (rc) {
  case 0: return 0;
  case MDB_MAP_FULL:
    if (t) t->map_full = true;
    return am_fail(err, AM_ETOOBIG, "%s: the database map is full", what);
  case MDB_TXN_FULL:
    return am_fail(err, AM_ETOOBIG, "%s: too many changes in one transaction", what);
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH:
    return am_fail(err, AM_ECORRUPT, "%s: the database file is damaged (%s); restore it from a backup",
                   what, mdb_strerror(rc));
  case MDB_READERS_FULL:
    return am_fail(err, AM_EIO, "%s: too many processes are reading the database", what);
  case ENOMEM:
    return am_fail(err, AM_ENOMEM, "%s: out of memory", what);
  case EACCES:
  case EPERM:
  case EROFS:
    return am_fail(err, AM_EIO, "%s: permission denied (%s)", what, mdb_strerror(rc));
  case ENOSPC:
    return am_fail(err, AM_EIO, "%s: the disk is full", what);
  default:
    return am_fail(err, AM_EIO, "%s: %s", what, mdb_strerror(rc));
  }
}

/* Begins a transaction, adopting a map size another process has grown.
 * Other writers may grow it again between the adoption and the begin (a
 * busy import does, batch after batch): adopt again, a bounded number of
 * times. */
static int begin(am_store *s, bool write, MDB_txn **txn) {
  int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);
  for (int tries = 0; rc == MDB_MAP_RESIZED && tries < 64; tries++) {
    if ((rc = mdb_env_set_mapsize(s->env, 0))) break;
    rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);
  }
  return rc;
}

static int open_dbs(am_store *s, bool create, am_error *err) {
  MDB_txn *txn = NULL;
  unsigned cflag = create ? MDB_CREATE : 0;
  int rc = begin(s, !s->read_only, &txn);
  if (rc) return am_store_mdb_error(NULL, rc, s->path, err);
  if ((rc = mdb_dbi_open(txn, "meta", cflag, &s->meta))) goto fail;
  uint32_t format = 0;
  if (create) {
    MDB_val k = {6, "format"}, v;
    uint8_t f[4] = {0, 0, 0, AM_STORE_FORMAT};
    v.mv_size = 4, v.mv_data = f;
    if ((rc = mdb_put(txn, s->meta, &k, &v, MDB_NOOVERWRITE))) goto fail;
    format = AM_STORE_FORMAT;
  } else if ((rc = meta_format(s, txn, &format))) {
    goto fail;
  }
  if (format > AM_STORE_FORMAT) {
    mdb_txn_abort(txn);
    return am_fail(err, AM_ENEWER,
                   "%s was written by a newer version of Amicale (store format %u; this "
                   "version reads up to %u): upgrade amicale",
                   s->path, (unsigned)format, (unsigned)AM_STORE_FORMAT);
  }
  if ((rc = mdb_dbi_open(txn, "members", cflag, &s->members))) goto fail;
  if ((rc = mdb_dbi_open(txn, "email", cflag, &s->email))) goto fail;
  if ((rc = mdb_dbi_open(txn, "index", cflag, &s->index)))
    goto fail;
  s->dbi[AM_DB_META] = s->meta, s->dbi[AM_DB_MEMBERS] = s->members;
  s->dbi[AM_DB_EMAIL] = s->email, s->dbi[AM_DB_INDEX] = s->index;
  /* Format 2 added the announcement tables, format 3 the peer and invite
   * tables: an older store gets what it lacks the first time it is opened
   * for writing; read-only, the missing tables read as empty. */
  bool upgrade = format < AM_STORE_FORMAT && !s->read_only;
  s->ann_tables = format >= 2 || upgrade;
  s->peer_tables = format >= 3 || upgrade;
  s->sum_table = format >= 4 || upgrade;
  s->catalog_tables = format >= 5 || upgrade;
  for (int i = AM_DB_ANN; i < AM_DB__COUNT; i++) {
    bool have = i < AM_DB_PEER       ? s->ann_tables
                : i < AM_DB_ANN_SUM  ? s->peer_tables
                : i < AM_DB_DIR      ? s->sum_table
                                     : s->catalog_tables;
    unsigned flags = dbi_flags[i] | ((create || upgrade) ? MDB_CREATE : 0);
    if (have && (rc = mdb_dbi_open(txn, dbi_names[i], flags, &s->dbi[i])))
      goto fail;
  }
  /* Format 4: the sums of the announcements already held, in the same
   * transaction as the format change. */
  if (upgrade && format < 4 &&
      (rc = am_sync_rebuild(txn, s->dbi[AM_DB_ANN], s->dbi[AM_DB_ANN_SUM])))
    goto fail;
  /* Format 5: the catalog of what is already held, and members' keys. */
  if (upgrade && format < 5) {
    am_txn t = {.store = s, .txn = txn, .write = true};
    /* The member index gained terms (store/members.h); both indexes are
     * written through the pending writer, flushed here as at a commit. */
    if (!(rc = am_members_reindex(&t, err)) && !(rc = am_catalog_rebuild(&t, err)))
      rc = am_members_txn_flush(&t, err);
    am_members_txn_end(&t);
    if (rc) {
      if (t.map_full) s->open_map_full = true;
      mdb_txn_abort(txn);
      return rc;
    }
  }
  if (upgrade) {
    MDB_val k = {6, "format"}, v;
    uint8_t f[4] = {0, 0, 0, AM_STORE_FORMAT};
    v.mv_size = 4, v.mv_data = f;
    if ((rc = mdb_put(txn, s->meta, &k, &v, 0))) goto fail;
  }
  if ((rc = mdb_txn_commit(txn))) return am_store_mdb_error(NULL, rc, s->path, err);
  return 0;
fail:
  mdb_txn_abort(txn);
  if (rc == MDB_MAP_FULL) s->open_map_full = true;
  if (rc == MDB_NOTFOUND)
    return am_fail(err, AM_ECORRUPT, "%s is not an Amicale store (its database has no Amicale tables)",
                   s->path);
  if (rc == MDB_INCOMPATIBLE)
    return am_fail(err, AM_ECORRUPT, "%s is not an Amicale store (incompatible tables)", s->path);
  return am_store_mdb_error(NULL, rc, s->path, err);
}

int am_store_open(am_store **out, const char *dir, const am_store_opts *opts,
                  am_error *err) {
  am_store_opts o = opts ? *opts : (am_store_opts){0};
  am_store *s = calloc(1, sizeof *s);
  int rc;
  if (!s) return AM_ENOMEM;
  s->read_only = o.read_only;
  if (snprintf(s->path, sizeof s->path, "%s/store", dir) >= (int)sizeof s->path) {
    free(s);
    return am_fail(err, AM_EUSAGE, "path too long: %s", dir);
  }
  struct stat st;
  char data[4200];
  snprintf(data, sizeof data, "%s/data.mdb", s->path);
  if (o.create) {
    if (mkdir(s->path, 0700) && errno != EEXIST) {
      rc = am_fail(err, AM_EIO, "cannot create %s: %s", s->path, strerror(errno));
      goto fail;
    }
  } else if (stat(data, &st) != 0) {
    rc = am_fail(err, errno == ENOENT ? AM_ECORRUPT : AM_EIO,
                 "%s is missing or unreadable (%s): the data directory is damaged; restore it from a backup",
                 data, strerror(errno));
    goto fail;
  }
  if ((rc = mdb_env_create(&s->env))) goto mdb_fail;
  mdb_env_set_maxdbs(s->env, 32);
  mdb_env_set_maxreaders(s->env, 126);
  /* Only raise the size here: the file keeps the largest size ever set. */
  size_t map = o.map_size ? o.map_size : AM_STORE_DEFAULT_MAP;
  if ((rc = mdb_env_set_mapsize(s->env, map))) goto mdb_fail;
  /* MDB_NOTLS: read transactions are not tied to a thread (the daemon may
   * hand work to libuv's thread pool). */
  unsigned flags = MDB_NOTLS | (o.read_only ? MDB_RDONLY : 0);
  if ((rc = mdb_env_open(s->env, s->path, flags, 0600))) {
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
      rc = am_fail(err, AM_ECORRUPT, "%s is not an Amicale store (not an LMDB database)", data);
      goto fail;
    }
    goto mdb_fail;
  }
  /* The file may already be larger than the configured size. */
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  if (info.me_mapsize < map) mdb_env_set_mapsize(s->env, map);
  /* Slots left by processes that died while reading would otherwise leak
   * until MDB_READERS_FULL. */
  int dead = 0;
  mdb_reader_check(s->env, &dead);
  /* An upgrade writes (format 4 sums every announcement held): when the
   * map is too small for it, it grows as for any write, then runs again. */
  for (;;) {
    s->open_map_full = false;
    if (!(rc = open_dbs(s, o.create, err))) break;
    size_t cur = am_store_map_size(s);
    if (!s->open_map_full || cur >= AM_STORE_MAX_MAP) goto fail;
    if ((rc = mdb_env_set_mapsize(s->env, cur * 2))) goto mdb_fail;
  }
  *out = s;
  return 0;
mdb_fail:
  rc = am_store_mdb_error(NULL, rc, s->path, err);
fail:
  if (s->env) mdb_env_close(s->env);
  free(s);
  return rc;
}

void am_store_close(am_store *s) {
  if (!s) return;
  mdb_env_close(s->env);
  free(s);
}

size_t am_store_map_size(am_store *s) {
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  return info.me_mapsize;
}

MDB_env *am_store_env(am_store *s) { return s->env; }

MDB_dbi am_store_dbi(am_store *s, const char *name) {
  for (int i = 0; i < AM_DB__COUNT; i++)
    if (strcmp(name, dbi_names[i]) == 0) return s->dbi[i];
  return s->index;
}

MDB_dbi am_store_db(am_store *s, int which) { return s->dbi[which]; }
bool am_store_has_ann(am_store *s) { return s->ann_tables; }
bool am_store_has_peers(am_store *s) { return s->peer_tables; }
bool am_store_has_sums(am_store *s) { return s->sum_table; }
bool am_store_has_catalog(am_store *s) { return s->catalog_tables; }
void am_store_set_signer(am_store *s, const am_identity *id) { s->signer = id; }
const am_identity *am_store_signer(am_store *s) { return s->signer; }

int am_store_read(am_store *s, am_txn_fn fn, void *arg, am_error *err) {
  am_txn t = {.store = s};
  int rc = begin(s, false, &t.txn);
  if (rc) return am_store_mdb_error(NULL, rc, s->path, err);
  rc = fn(&t, arg);
  mdb_txn_abort(t.txn);
  return rc;
}

static int grow(am_store *s, am_error *err) {
  size_t cur = am_store_map_size(s);
  if (cur >= AM_STORE_MAX_MAP)
    return am_fail(err, AM_ETOOBIG, "%s: the database reached its maximum size", s->path);
  size_t next = cur * 2;
  if (next > AM_STORE_MAX_MAP) next = AM_STORE_MAX_MAP;
  int rc = mdb_env_set_mapsize(s->env, next);
  if (rc) return am_store_mdb_error(NULL, rc, s->path, err);
  return 0;
}

int am_store_write(am_store *s, am_txn_fn fn, void *arg, am_error *err) {
  if (s->read_only) return am_fail(err, AM_EUSAGE, "%s is open read-only", s->path);
  for (;;) {
    am_txn t = {.store = s, .write = true};
    int rc = begin(s, true, &t.txn);
    if (rc) return am_store_mdb_error(NULL, rc, s->path, err);
    rc = fn(&t, arg);
    if (!rc) rc = am_members_txn_flush(&t, err);
    if (!rc) {
      int mrc = mdb_txn_commit(t.txn);
      t.txn = NULL;
      if (mrc) rc = am_store_mdb_error(&t, mrc, "commit", err);
    }
    am_members_txn_end(&t);
    if (t.txn) mdb_txn_abort(t.txn);
    if (rc && t.map_full) {
      /* Full map: abort (done above), grow, run the whole change again. */
      if ((rc = grow(s, err))) return rc;
      if (err) err->msg[0] = '\0';
      continue;
    }
    return rc;
  }
}
