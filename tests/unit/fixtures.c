/* What the unit tests share (fixtures.h). */
#include "tests/unit/fixtures.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/announcements.h"

/* ---- the scratch directory ---- */

static char scratch[200];
static int nstores;

const char *fx_scratch(const char *name) {
  snprintf(scratch, sizeof scratch, "/tmp/amicale-test-%s-XXXXXX", name);
  if (!mkdtemp(scratch)) {
    fprintf(stderr, "  mkdtemp %s failed\n", scratch);
    scratch[0] = '\0';
    return NULL;
  }
  return scratch;
}

const char *fx_scratch_dir(void) { return scratch; }

int fx_scratch_remove(void) {
  char cmd[300];
  if (!scratch[0]) return 0;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
  if (system(cmd)) {
    fprintf(stderr, "could not remove %s\n", scratch);
    return -1;
  }
  return 0;
}

/* ---- stores ---- */

am_store *fx_store_open(const char *dir, bool create, const am_identity *signer) {
  am_store *s = NULL;
  am_store_opts o = {.create = create};
  am_error e = {0};
  if (am_store_open(&s, dir, &o, &e)) {
    fprintf(stderr, "  open %s: %s\n", dir, e.msg);
    return NULL;
  }
  if (signer) am_store_set_signer(s, signer);
  return s;
}

am_store *fx_store_fresh(const am_identity *signer, char *dir_out) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/node%d", scratch, ++nstores);
  if (mkdir(dir, 0700)) return NULL;
  if (dir_out) strcpy(dir_out, dir);
  return fx_store_open(dir, true, signer);
}

typedef struct trust_arg {
  am_trust tr;
  bool remove, existed;
  uint64_t deleted;
  am_error *err;
} trust_arg;

static int trust_fn(am_txn *t, void *arg) {
  trust_arg *a = arg;
  if (a->remove) return am_trust_remove(t, a->tr.key, &a->deleted, a->err);
  return am_trust_add(t, &a->tr, &a->existed, a->err);
}

int fx_trust(am_store *s, const uint8_t key[32], const char *name, int64_t added, bool *existed,
             am_error *err) {
  trust_arg a = {.tr = {.added = added}, .err = err};
  memcpy(a.tr.key, key, 32);
  snprintf(a.tr.name, sizeof a.tr.name, "%s", name);
  if (err) memset(err, 0, sizeof *err);
  int rc = am_store_write(s, trust_fn, &a, err);
  if (existed) *existed = a.existed;
  return rc;
}

int fx_untrust(am_store *s, const uint8_t key[32], uint64_t *deleted, am_error *err) {
  trust_arg a = {.remove = true, .err = err};
  memcpy(a.tr.key, key, 32);
  if (err) memset(err, 0, sizeof *err);
  int rc = am_store_write(s, trust_fn, &a, err);
  if (deleted) *deleted = a.deleted;
  return rc;
}

typedef struct prune_arg {
  int64_t now;
  uint64_t *pruned;
  am_error *err;
} prune_arg;

static int prune_fn(am_txn *t, void *arg) {
  prune_arg *p = arg;
  return am_ann_prune(t, p->now, p->pruned, p->err);
}

int fx_prune(am_store *s, int64_t now, uint64_t *pruned, am_error *err) {
  prune_arg p = {now, pruned, err};
  return am_store_write(s, prune_fn, &p, err);
}

typedef struct raw_arg {
  int db;
  MDB_val k, v;
} raw_arg;

static int raw_fn(am_txn *t, void *arg) {
  raw_arg *r = arg;
  return mdb_put(t->txn, am_store_db(t->store, r->db), &r->k, &r->v, 0) ? AM_EIO : 0;
}

int fx_put_raw(am_store *s, int db, const void *k, size_t klen, const void *v, size_t vlen) {
  raw_arg r = {db, {klen, (void *)k}, {vlen, (void *)v}};
  return am_store_write(s, raw_fn, &r, NULL);
}

int fx_store_to_format4(const char *dir, int (*more)(MDB_txn *txn, void *arg), void *arg) {
  static const char *const tables[] = {"dir", "dir_index", "dir_ref", "lst", "lst_index",
                                       "lst_ref", "member_key", "member_code"};
  char path[300];
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  int rc;
  snprintf(path, sizeof path, "%s/store", dir);
  if ((rc = mdb_env_create(&env))) goto fail;
  mdb_env_set_maxdbs(env, 64);
  if ((rc = mdb_env_open(env, path, 0, 0600)) || (rc = mdb_txn_begin(env, NULL, 0, &txn))) {
    mdb_env_close(env);
    goto fail;
  }
  for (size_t i = 0; i < sizeof tables / sizeof *tables && !rc; i++) {
    rc = mdb_dbi_open(txn, tables[i], 0, &dbi);
    if (rc == MDB_NOTFOUND) rc = 0;
    else if (!rc) rc = mdb_drop(txn, dbi, 1);
  }
  if (!rc && more) rc = more(txn, arg);
  if (!rc) rc = mdb_dbi_open(txn, "meta", 0, &dbi);
  if (!rc) {
    uint8_t four[4] = {0, 0, 0, 4};
    MDB_val k = {6, "format"}, v = {4, four};
    rc = mdb_put(txn, dbi, &k, &v, 0);
  }
  if (rc) mdb_txn_abort(txn);
  else rc = mdb_txn_commit(txn);
  mdb_env_close(env);
  if (!rc) return 0;
fail:
  fprintf(stderr, "  back to format 4 %s: %s\n", path, rc > 0 ? mdb_strerror(rc) : "failed");
  return -1;
}

/* ---- announcements field by field ---- */

void fx_ann_text(am_ann *a, uint32_t f, const char *s) {
  free(a->body[f].s);
  a->body[f].s = strdup(s);
  a->body[f].set = true;
}

void fx_ann_uint(am_ann *a, uint32_t f, uint64_t u) {
  a->body[f].u = u;
  a->body[f].set = true;
}

void fx_ann_list(am_ann *a, uint32_t f, ...) {
  am_aval *v = &a->body[f];
  for (uint32_t i = 0; i < v->l.n; i++) free(v->l.v[i]);
  free(v->l.v);
  v->l.v = NULL;
  v->l.n = 0;
  va_list ap;
  va_start(ap, f);
  for (const char *s; (s = va_arg(ap, const char *));) {
    v->l.v = realloc(v->l.v, (v->l.n + 1) * sizeof *v->l.v);
    v->l.v[v->l.n++] = strdup(s);
  }
  va_end(ap);
  v->set = true;
}

void fx_ann_unset(am_ann *a, uint32_t f) {
  am_aval *v = &a->body[f];
  free(v->s);
  for (uint32_t i = 0; i < v->l.n; i++) free(v->l.v[i]);
  free(v->l.v);
  memset(v, 0, sizeof *v);
}

void fx_sample_event(am_ann *a) {
  am_ann_init(a, AM_K_EVENT);
  a->object = 7, a->version = 11, a->created = FX_T0;
  a->expires = FX_T0 + 40 * 86400;
  fx_ann_text(a, AM_EV_TITLE, "Gala des anciens");
  fx_ann_text(a, AM_EV_DESCRIPTION, "Dîner et soirée.\nTenue de ville.");
  fx_ann_uint(a, AM_EV_STARTS_AT, FX_T0 + 30 * 86400);
  fx_ann_uint(a, AM_EV_ENDS_AT, FX_T0 + 30 * 86400 + 4 * 3600);
  fx_ann_text(a, AM_EV_TIMEZONE, "Europe/Paris");
  fx_ann_text(a, AM_EV_VENUE, "Pavillon Dauphine");
  fx_ann_text(a, AM_EV_CITY, "Paris");
  fx_ann_text(a, AM_EV_COUNTRY, "France");
  fx_ann_text(a, AM_EV_ONLINE, "https://meet.example.org/gala");
  fx_ann_text(a, AM_EV_ORGANISER, "Association des anciens");
  fx_ann_uint(a, AM_EV_CAPACITY, 250);
  fx_ann_text(a, AM_EV_LANGUAGE, "fr");
  fx_ann_list(a, AM_EV_TAGS, "gala", "réseau", NULL);
  fx_ann_text(a, AM_EV_REGISTRATION, "https://exemple.fr/gala");
  fx_ann_uint(a, AM_EV_STATUS, AM_EV_POSTPONED);
}

void fx_sample_job(am_ann *a) {
  am_ann_init(a, AM_K_JOB);
  a->object = 9, a->version = 12, a->created = FX_T0;
  a->expires = FX_T0 + 90 * 86400;
  fx_ann_text(a, AM_JOB_TITLE, "Ingénieur logiciel");
  fx_ann_text(a, AM_JOB_EMPLOYER, "Exemple SA");
  fx_ann_uint(a, AM_JOB_CONTRACT, 3); /* work_study */
  fx_ann_text(a, AM_JOB_CITY, "Nantes");
  fx_ann_text(a, AM_JOB_COUNTRY, "France");
  fx_ann_uint(a, AM_JOB_REMOTE, 1);
  fx_ann_text(a, AM_JOB_DESCRIPTION, "Une équipe de huit.\nDu C et du Rust.");
  fx_ann_list(a, AM_JOB_SKILLS, "C", "Rust", "LMDB", NULL);
  fx_ann_uint(a, AM_JOB_EXPERIENCE, 2);
  fx_ann_uint(a, AM_JOB_SALARY_MIN, 40000);
  fx_ann_uint(a, AM_JOB_SALARY_MAX, 55000);
  fx_ann_text(a, AM_JOB_CURRENCY, "EUR");
  fx_ann_uint(a, AM_JOB_SALARY_PERIOD, 0);
  fx_ann_text(a, AM_JOB_APPLY, "recrutement@exemple.fr");
  fx_ann_uint(a, AM_JOB_POSTED, 20260101);
  fx_ann_uint(a, AM_JOB_VALID_THROUGH, 20260331);
  fx_ann_uint(a, AM_JOB_ALUMNI_ONLY, 0);
}
