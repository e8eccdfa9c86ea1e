/* store/: data directory, LMDB environment, member table, email table and
 * index maintenance, failure atomicity and map growth. */
#include <fcntl.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/announcements.h"
#include "store/datadir.h"
#include "store/peers.h"
#include "store/postings.h"
#include "store/search.h"
#include "store/sync.h"
#include "tests/test.h"

static char root[] = "/tmp/amicale-test-store-XXXXXX";
static int seq;

/* A fresh node directory under root. */
static const char *fresh(char *buf, size_t n) {
  snprintf(buf, n, "%s/node%d", root, ++seq);
  return buf;
}

/* The store's LMDB environment opened directly, as older releases or a
 * damaged file would leave it (NULL on failure). */
static MDB_env *raw_env(const char *path, unsigned flags) {
  MDB_env *env;
  if (mdb_env_create(&env)) return NULL;
  mdb_env_set_maxdbs(env, 16);
  if (mdb_env_open(env, path, flags, 0600) == 0) return env;
  mdb_env_close(env);
  return NULL;
}


static void write_file(const char *path, const char *content) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  fputs(content, f);
  fclose(f);
}

static am_member make(const char *given, const char *family, const char *email,
                      const char *employer) {
  am_member m;
  am_member_init(&m);
  if (given) am_member_set(&m, AM_F_GIVEN_NAME, given, strlen(given), NULL);
  if (family) am_member_set(&m, AM_F_FAMILY_NAME, family, strlen(family), NULL);
  if (email) am_member_set(&m, AM_F_EMAILS, email, strlen(email), NULL);
  if (employer) am_member_set(&m, AM_F_EMPLOYER, employer, strlen(employer), NULL);
  return m;
}

typedef struct put_arg {
  am_member *m;
  size_t n;
  int flags;
  am_error err;
  uint64_t *first_ids; /* ids before the first run, plus one */
} put_arg;

/* Runs again from scratch when the store grows its map: new members get
 * their id back to 0 first, as the contract of am_store_write asks. */
static int put_fn(am_txn *t, void *arg) {
  put_arg *p = arg;
  if (!p->first_ids) {
    p->first_ids = calloc(p->n, sizeof *p->first_ids);
    if (!p->first_ids) return AM_ENOMEM;
    for (size_t i = 0; i < p->n; i++) p->first_ids[i] = p->m[i].id + 1;
  }
  for (size_t i = 0; i < p->n; i++) p->m[i].id = p->first_ids[i] - 1;
  for (size_t i = 0; i < p->n; i++) {
    int rc = am_members_put(t, &p->m[i], p->flags, &p->err);
    if (rc) return rc;
  }
  return 0;
}

typedef struct email_arg {
  const char *email;
  uint64_t id;
  int rc;
} email_arg;

static int email_fn(am_txn *t, void *arg) {
  email_arg *e = arg;
  e->rc = am_members_by_email(t, e->email, &e->id);
  return 0;
}

typedef struct rm_arg {
  uint64_t id;
  am_error err;
} rm_arg;

static int rm_fn(am_txn *t, void *arg) {
  rm_arg *r = arg;
  return am_members_remove(t, r->id, &r->err);
}

static int put_all(am_store *s, put_arg *p) {
  int rc = am_store_write(s, put_fn, p, &p->err);
  free(p->first_ids);
  p->first_ids = NULL;
  return rc;
}

static int put(am_store *s, am_member *m) {
  put_arg p = {.m = m, .n = 1};
  return put_all(s, &p);
}

typedef struct q_arg {
  am_query q;
  am_results r;
} q_arg;

static int search_fn(am_txn *t, void *arg) {
  q_arg *a = arg;
  return am_search(t, &a->q, &a->r, NULL);
}

/* Number of members a free-text or employer search finds. */
static size_t count_text(am_store *s, const char *text, const char *employer) {
  q_arg a;
  memset(&a, 0, sizeof a);
  a.q.text = text;
  if (employer) am_query_filter(&a.q, AM_F_EMPLOYER, employer, NULL);
  if (am_store_read(s, search_fn, &a, NULL)) return (size_t)-1;
  size_t n = a.r.total;
  am_results_free(&a.r);
  return n;
}

static int count_fn(am_txn *t, void *arg) { return am_members_count(t, arg); }

static size_t count_members(am_store *s) {
  size_t n = 0;
  am_store_read(s, count_fn, &n, NULL);
  return n;
}

static am_store *open_node(const char *dir, am_node *n) {
  am_error err = {0};
  if (am_node_open(n, dir, AM_NODE_STORE, &err)) {
    fprintf(stderr, "open %s: %s\n", dir, err.msg);
    return NULL;
  }
  return n->store;
}

/* A fresh node in a directory of its own, with its store open. */
static am_store *new_store(am_node *n) {
  char dir[256];
  am_error err = {0};
  fresh(dir, sizeof dir);
  if (am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err)) {
    fprintf(stderr, "create %s: %s\n", dir, err.msg);
    return NULL;
  }
  return open_node(dir, n);
}

static void test_create_and_reopen(void) {
  char dir[256];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "École Exemple", AM_KIND_SCHOOL, 0, &err) == 0);
  struct stat st;
  REQUIRE(stat(dir, &st) == 0);
  CHECK_INT(st.st_mode & 0777, 0700);
  char key[300];
  snprintf(key, sizeof key, "%s/node.key", dir);
  REQUIRE(stat(key, &st) == 0);
  CHECK_INT(st.st_mode & 0777, 0600);
  /* Refuses to overwrite, and the key is untouched. */
  am_node n1, n2;
  REQUIRE(am_node_open(&n1, dir, AM_NODE_KEY, &err) == 0);
  CHECK_STR(n1.conf.name, "École Exemple");
  CHECK_INT(n1.conf.kind, AM_KIND_SCHOOL);
  CHECK_INT(am_node_create(dir, "Autre", AM_KIND_COMPANY, 0, &err), AM_EEXIST);
  CHECK(strstr(err.msg, "refusing to overwrite") != NULL);
  REQUIRE(am_node_open(&n2, dir, AM_NODE_KEY | AM_NODE_STORE, &err) == 0);
  CHECK(memcmp(n1.id.pk, n2.id.pk, sizeof n1.id.pk) == 0);
  CHECK_STR(n2.conf.name, "École Exemple");
  am_node_close(&n1);
  am_node_close(&n2);
}

static void test_not_a_node(void) {
  char dir[256];
  am_error err = {0};
  am_node n;
  fresh(dir, sizeof dir);
  mkdir(dir, 0700);
  CHECK_INT(am_node_open(&n, dir, AM_NODE_STORE, &err), AM_ENOTFOUND);
  CHECK(strstr(err.msg, "amicale init") != NULL);
  /* A config but no store: damaged. */
  char p[300];
  snprintf(p, sizeof p, "%s/amicale.conf", dir);
  write_file(p, "[node]\nname = X\nkind = school\n");
  CHECK_INT(am_node_open(&n, dir, AM_NODE_STORE, &err), AM_ECORRUPT);
  CHECK(strstr(err.msg, "data.mdb") != NULL);
  /* A store file that is not LMDB. */
  snprintf(p, sizeof p, "%s/store", dir);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/store/data.mdb", dir);
  write_file(p, "this is not a database, just text that someone copied here.............");
  CHECK_INT(am_node_open(&n, dir, AM_NODE_STORE, &err), AM_ECORRUPT);
  CHECK(strstr(err.msg, "not an Amicale store") != NULL || strstr(err.msg, "damaged") != NULL);
}

static void test_config_errors(void) {
  char dir[256], p[300];
  am_error err = {0};
  am_config c;
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "Asso", AM_KIND_ASSOCIATION, 0, &err) == 0);
  snprintf(p, sizeof p, "%s/amicale.conf", dir);
  write_file(p, "[node]\nname = Asso\nkind = school\ncolour = blue\n");
  CHECK_INT(am_config_read(dir, &c, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "line 4") != NULL);
  CHECK(strstr(err.msg, "colour") != NULL);
  write_file(p, "[node]\nname = Asso\nkind = club\n");
  CHECK_INT(am_config_read(dir, &c, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "line 3") != NULL);
  write_file(p, "[node]\nname = Asso\nkind = federation\n[store]\nmap_size = 2G\n");
  CHECK_INT(am_config_read(dir, &c, &err), 0);
  CHECK_INT(c.kind, AM_KIND_FEDERATION);
  CHECK(c.map_size == (size_t)2 << 30);
  write_file(p, "[node]\nname = Asso\n");
  CHECK_INT(am_config_read(dir, &c, &err), AM_EINVAL);
}

/* A store written by the first release (format 1: no announcement tables)
 * is upgraded in place the first time it is opened for writing; opened
 * read-only before that, it reads as holding no announcements. */
static int count_ann(am_txn *t, void *arg) {
  return am_ann_count(t, arg);
}

static void test_upgrade_from_format_1(void) {
  char dir[256], p[300];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err) == 0);
  am_node n;
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  am_member m = make("Anne", "Format", "anne@example.org", NULL);
  put_arg pa = {.m = &m, .n = 1};
  REQUIRE(am_store_write(n.store, put_fn, &pa, &err) == 0);
  free(pa.first_ids);
  am_member_free(&m);
  am_node_close(&n);
  /* Turn it into what release 1 wrote. */
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  snprintf(p, sizeof p, "%s/store", dir);
  REQUIRE((env = raw_env(p, 0)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
  static const char *const tables[] = {"ann", "ann_slot", "ann_seq", "ann_kind", "ann_exp", "trust",
                                       "peer", "invite"};
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
    REQUIRE(mdb_dbi_open(txn, tables[i], 0, &dbi) == 0);
    REQUIRE(mdb_drop(txn, dbi, 1) == 0);
  }
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  uint8_t one[4] = {0, 0, 0, 1};
  MDB_val k = {6, "format"}, v = {4, one};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);

  /* Read-only: members there, announcements read as none, nothing written. */
  size_t count = 99;
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE | AM_NODE_READ_ONLY, &err) == 0);
  CHECK_INT(am_store_has_ann(n.store), false);
  CHECK_INT(am_store_has_peers(n.store), false);
  CHECK_INT(am_store_read(n.store, count_ann, &count, &err), 0);
  CHECK(count == 0);
  CHECK_INT(count_members(n.store), 1);
  am_node_close(&n);

  /* Read-write: upgraded to the current format, tables created. */
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  CHECK_INT(am_store_has_ann(n.store), true);
  CHECK_INT(am_store_has_peers(n.store), true);
  count = 99;
  CHECK_INT(am_store_read(n.store, count_ann, &count, &err), 0);
  CHECK(count == 0);
  am_node_close(&n);
  REQUIRE((env = raw_env(p, MDB_RDONLY)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
  REQUIRE(v.mv_size == 4);
  CHECK_INT(((uint8_t *)v.mv_data)[3], AM_STORE_FORMAT);
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    CHECK_INT(mdb_dbi_open(txn, tables[i], 0, &dbi), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

/* A store of format 2 (announcements, no peer or invite tables) gets them
 * the first time it is opened for writing; read-only before that, it has
 * no peers and no invitations, and is not written. */
static int count_peers(const am_peer *p, void *arg) {
  (void)p;
  ++*(size_t *)arg;
  return 0;
}

static int count_peers_fn(am_txn *t, void *arg) {
  am_peer p;
  uint8_t key[32] = {1};
  int rc = am_peer_get(t, key, &p);
  if (rc != AM_ENOTFOUND) return AM_EINTERNAL;
  am_invite inv;
  if (am_invite_get(t, key, &inv) != AM_ENOTFOUND) return AM_EINTERNAL;
  return am_peer_each(t, count_peers, arg, NULL);
}

static int add_peer_fn(am_txn *t, void *arg) {
  am_peer p = {.added = 1};
  memset(p.key, 3, sizeof p.key);
  strcpy(p.address, "school.example:7400");
  (void)arg;
  return am_peer_put(t, &p, NULL, NULL);
}

static int count_summed(am_txn *t, void *arg) {
  am_prefix all = {0};
  am_setsum s;
  int rc = am_sync_range(t, &all, &s, NULL);
  *(size_t *)arg = (size_t)s.count;
  return rc;
}

static void test_upgrade_from_format_2(void) {
  char dir[256], p[300];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err) == 0);
  am_node n;
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  am_node_close(&n);
  /* What release 2 wrote: no peer, no invite table, format 2. */
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  snprintf(p, sizeof p, "%s/store", dir);
  REQUIRE((env = raw_env(p, 0)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
  static const char *const tables[] = {"peer", "invite", "ann_sum"};
  for (size_t i = 0; i < 3; i++) {
    REQUIRE(mdb_dbi_open(txn, tables[i], 0, &dbi) == 0);
    REQUIRE(mdb_drop(txn, dbi, 1) == 0);
  }
  /* Three announcements held before the upgrade (raw rows will do). */
  REQUIRE(mdb_dbi_open(txn, "ann", 0, &dbi) == 0);
  for (uint8_t i = 1; i <= 3; i++) {
    uint8_t id[32];
    memset(id, i * 0x51, sizeof id);
    MDB_val ik = {32, id}, iv = {1, "x"};
    REQUIRE(mdb_put(txn, dbi, &ik, &iv, 0) == 0);
  }
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  uint8_t two[4] = {0, 0, 0, 2};
  MDB_val k = {6, "format"}, v = {4, two};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
  char data[320], before[1000];
  snprintf(data, sizeof data, "%s/data.mdb", p);
  snprintf(before, sizeof before, "cp '%s' '%s/format2.mdb'", data, dir);
  REQUIRE(system(before) == 0);

  /* Read-only: announcements there, peers read as none, nothing written. */
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE | AM_NODE_READ_ONLY, &err) == 0);
  CHECK_INT(am_store_has_ann(n.store), true);
  CHECK_INT(am_store_has_peers(n.store), false);
  size_t count = 0;
  CHECK_INT(am_store_read(n.store, count_peers_fn, &count, &err), 0);
  CHECK(count == 0);
  size_t anns = 0;
  CHECK_INT(am_store_read(n.store, count_ann, &anns, &err), 0);
  am_node_close(&n);
  snprintf(before, sizeof before, "cmp -s '%s' '%s/format2.mdb'", data, dir);
  CHECK_INT(system(before), 0);

  /* Read-write: format 4, tables created, usable; the rest kept. */
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  CHECK_INT(am_store_has_peers(n.store), true);
  count = 0;
  CHECK_INT(am_store_read(n.store, count_peers_fn, &count, &err), 0);
  CHECK(count == 0);
  CHECK_INT(am_store_write(n.store, add_peer_fn, NULL, &err), 0);
  CHECK_INT(am_store_read(n.store, count_peers_fn, &count, &err), 0);
  CHECK(count == 1);
  size_t anns_after = 0;
  CHECK_INT(am_store_read(n.store, count_ann, &anns_after, &err), 0);
  CHECK(anns_after == anns);
  /* Format 4: the sums were built from the announcements already held. */
  CHECK(anns >= 3);
  size_t summed = 0;
  CHECK_INT(am_store_read(n.store, count_summed, &summed, &err), 0);
  CHECK_INT(summed, anns);
  am_node_close(&n);
  REQUIRE((env = raw_env(p, MDB_RDONLY)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
  REQUIRE(v.mv_size == 4);
  CHECK_INT(((uint8_t *)v.mv_data)[3], AM_STORE_FORMAT);
  for (size_t i = 0; i < 3; i++) CHECK_INT(mdb_dbi_open(txn, tables[i], 0, &dbi), 0);
  /* Format 5: the catalog tables exist. */
  CHECK_INT(mdb_dbi_open(txn, "dir", 0, &dbi), 0);
  CHECK_INT(mdb_dbi_open(txn, "lst_index", 0, &dbi), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

/* A format-3 store whose map is nearly full of announcements: the
 * format-4 upgrade (the sums of every id) needs more room, and gets it as
 * any write would, instead of leaving a store no write can open. */
static void test_upgrade_map_full(void) {
  char dir[256], p[300];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err) == 0);
  snprintf(p, sizeof p, "%s/store", dir);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  REQUIRE((env = raw_env(p, 0)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "ann_sum", 0, &dbi) == 0);
  REQUIRE(mdb_drop(txn, dbi, 1) == 0);
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  uint8_t three[4] = {0, 0, 0, 3};
  MDB_val k = {6, "format"}, v = {4, three};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  /* Raw rows until the map is full (no sums: what a format-3 store holds). */
  uint8_t val[600];
  memset(val, 'x', sizeof val);
  size_t rows = 0;
  /* Big transactions, then smaller ones: the last free pages go too. */
  for (int batch = 2000; batch >= 1; batch /= 10)
  for (int done = 0; !done;) {
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "ann", 0, &dbi) == 0);
    size_t added = 0;
    for (int i = 0; i < batch; i++) {
      uint8_t id[32];
      am_random(id, sizeof id);
      MDB_val rk = {32, id}, rv = {sizeof val, val};
      int rc = mdb_put(txn, dbi, &rk, &rv, 0);
      if (rc == MDB_MAP_FULL) {
        done = 1;
        break;
      }
      REQUIRE(rc == 0);
      added++;
    }
    if (done) {
      mdb_txn_abort(txn);
      break;
    }
    int crc = mdb_txn_commit(txn); /* the commit's own pages may not fit */
    if (crc == MDB_MAP_FULL) break;
    REQUIRE(crc == 0);
    rows += added;
  }
  mdb_env_close(env);
  CHECK(rows > 10000);
  am_node n;
  int rc = am_node_open(&n, dir, AM_NODE_STORE, &err);
  if (rc) fprintf(stderr, "  open: %s\n", err.msg);
  REQUIRE(rc == 0);
  size_t summed = 0;
  CHECK_INT(am_store_read(n.store, count_summed, &summed, &err), 0);
  CHECK_INT(summed, rows);
  am_node_close(&n);
}

static void test_config_network(void) {
  char dir[256], p[300];
  am_error err = {0};
  am_config c;
  fresh(dir, sizeof dir);
  /* Defaults: a node made without network options. */
  REQUIRE(am_node_create(dir, "Asso", AM_KIND_ASSOCIATION, 0, &err) == 0);
  CHECK_INT(am_config_read(dir, &c, &err), 0);
  CHECK_STR(c.listen.host, "*");
  CHECK_INT(c.listen.port, AM_DEFAULT_PORT);
  CHECK_INT(c.listen.wildcard, true);
  CHECK_INT(c.has_public_address, false);
  CHECK_INT(c.max_connections, 256);
  snprintf(p, sizeof p, "%s/amicale.conf", dir);
  FILE *f = fopen(p, "r");
  REQUIRE(f);
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  CHECK(strstr(text, "[network]\n") != NULL);
  CHECK(strstr(text, "\n# listen = *:7400\n") != NULL);
  CHECK(strstr(text, "\n# public_address = alumni.example.org:7400\n") != NULL);
  CHECK(strstr(text, "\n# max_connections = 256\n") != NULL);

  /* Given at creation: written as settings, in their normal form. */
  fresh(dir, sizeof dir);
  am_node_opts o = {.name = "École", .kind = AM_KIND_SCHOOL, .listen = "[::]:7401",
                    .public_address = "Alumni.Ecole.Example:7401"};
  REQUIRE(am_node_create_opts(dir, &o, &err) == 0);
  CHECK_INT(am_config_read(dir, &c, &err), 0);
  CHECK_STR(c.listen.host, "::");
  CHECK_INT(c.listen.port, 7401);
  CHECK_INT(c.has_public_address, true);
  CHECK_STR(c.public_address.host, "alumni.ecole.example");
  snprintf(p, sizeof p, "%s/amicale.conf", dir);
  f = fopen(p, "r");
  REQUIRE(f);
  n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  CHECK(strstr(text, "\nlisten = [::]:7401\n") != NULL);
  CHECK(strstr(text, "\npublic_address = alumni.ecole.example:7401\n") != NULL);

  /* Refused at creation, before anything exists. */
  fresh(dir, sizeof dir);
  o.listen = "7400";
  CHECK_INT(am_node_create_opts(dir, &o, &err), AM_EUSAGE);
  CHECK(strstr(err.msg, "listen: ") == err.msg);
  CHECK(access(dir, F_OK) != 0);
  o.listen = NULL;
  o.public_address = "*:7400";
  CHECK_INT(am_node_create_opts(dir, &o, &err), AM_EUSAGE);
  CHECK(strstr(err.msg, "public address: ") == err.msg);
  CHECK(access(dir, F_OK) != 0);

  /* Reading: every value, and every error with its line. */
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "Asso", AM_KIND_ASSOCIATION, 0, &err) == 0);
  snprintf(p, sizeof p, "%s/amicale.conf", dir);
  write_file(p, "[node]\nname = A\nkind = school\n[network]\nlisten = 0.0.0.0:9000\n"
                "public_address = 192.0.2.7:9000\nmax_connections = 10\n");
  CHECK_INT(am_config_read(dir, &c, &err), 0);
  CHECK_STR(c.listen.host, "0.0.0.0");
  CHECK_INT(c.listen.port, 9000);
  CHECK_INT(c.has_public_address, true);
  CHECK_STR(c.public_address.host, "192.0.2.7");
  CHECK_INT(c.max_connections, 10);
  write_file(p, "[node]\nname = A\nkind = school\n[network]\npublic_address =\n");
  CHECK_INT(am_config_read(dir, &c, &err), 0);
  CHECK_INT(c.has_public_address, false);
  static const struct { const char *line, *msg; } bad[] = {
    {"listen = 7400", "listen: \"7400\": missing \":PORT\""},
    {"listen = school.example", "missing \":PORT\""},
    {"listen =", "listen: no address given"},
    {"public_address = *:7400", "public_address: "},
    {"public_address = school.example", "missing \":PORT\""},
    {"max_connections = 0", "max_connections '0' is not a number from 1 to 65535"},
    {"max_connections = 65536", "max_connections"},
    {"max_connections = -5", "max_connections"},
    {"max_connections = ten", "max_connections"},
    {"port = 7400", "unknown setting 'port' in section [network]"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char conf[300];
    snprintf(conf, sizeof conf, "[node]\nname = A\nkind = school\n\n[network]\n%s\n", bad[i].line);
    write_file(p, conf);
    memset(&err, 0, sizeof err);
    CHECK_INT(am_config_read(dir, &c, &err), AM_EINVAL);
    if (!strstr(err.msg, bad[i].msg) || !strstr(err.msg, "line 6: ")) {
      fprintf(stderr, "  %s: %s\n", bad[i].line, err.msg);
      CHECK(0);
    }
  }
}

static void test_newer_format(void) {
  char dir[256], p[300];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err) == 0);
  /* Forge a newer format with plain LMDB calls. */
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  snprintf(p, sizeof p, "%s/store", dir);
  REQUIRE((env = raw_env(p, 0)) != NULL);
  REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  uint8_t two[4] = {0, 0, 0, AM_STORE_FORMAT + 1};
  MDB_val k = {6, "format"}, v = {4, two};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
  am_node n;
  CHECK_INT(am_node_open(&n, dir, AM_NODE_STORE, &err), AM_ENEWER);
  CHECK(strstr(err.msg, "newer version") != NULL);
}

static void test_put_get_remove(void) {
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  am_member a = make("Éléonore", "Dubois", "Eleonore@Example.FR", "Société Générale");
  am_member b = make("Jean", "Martin", "jean@example.org", "Airbus");
  setenv("AMICALE_NOW", "1700000000", 1);
  CHECK_INT(put(s, &a), 0);
  CHECK_INT(put(s, &b), 0);
  CHECK(a.id == 1 && b.id == 2);
  CHECK(a.created == 1700000000 && a.updated == 1700000000);
  CHECK_INT(count_members(s), 2);

  /* Found by normalised address. */
  email_arg ea = {"eleonore@example.fr", 0, -99};
  am_store_read(s, email_fn, &ea, NULL);
  CHECK_INT(ea.rc, 0);
  CHECK(ea.id == a.id);

  /* Update: created kept, updated moves, index follows. */
  setenv("AMICALE_NOW", "1700000100", 1);
  am_member_set(&a, AM_F_EMPLOYER, "Airbus", 6, NULL);
  CHECK_INT(put(s, &a), 0);
  CHECK(a.created == 1700000000 && a.updated == 1700000100);
  CHECK_INT(count_text(s, NULL, "societe generale"), 0);
  CHECK_INT(count_text(s, NULL, "AIRBUS"), 2);
  CHECK_INT(count_text(s, "eleonore", NULL), 1);
  CHECK_INT(count_text(s, "societe", NULL), 0);

  /* A second member with the same address is refused and writes nothing. */
  am_member c = make("Other", "Person", "ELEONORE@example.fr", "Thales");
  CHECK_INT(put(s, &c), AM_EEXIST);
  CHECK_INT(count_members(s), 2);
  CHECK_INT(count_text(s, "person", NULL), 0);
  CHECK_INT(count_text(s, NULL, "thales"), 0);

  /* Removal: gone from table, email table and every index. */
  rm_arg r = {b.id, {0}};
  CHECK_INT(am_store_write(s, rm_fn, &r, &r.err), 0);
  CHECK_INT(count_members(s), 1);
  CHECK_INT(count_text(s, "jean", NULL), 0);
  CHECK_INT(count_text(s, NULL, "airbus"), 1);
  ea = (email_arg){"jean@example.org", 0, -99};
  am_store_read(s, email_fn, &ea, NULL);
  CHECK_INT(ea.rc, AM_ENOTFOUND);
  CHECK_INT(am_store_write(s, rm_fn, &r, &r.err), AM_ENOTFOUND);
  /* Ids are never reused, even the last one removed. */
  am_member d = make("Zoé", "Petit", "jean@example.org", NULL);
  CHECK_INT(put(s, &d), 0);
  CHECK(d.id == 3);
  am_member_free(&d);
  am_member_free(&a);
  am_member_free(&b);
  am_member_free(&c);
  am_node_close(&n);
}


/* The map starts at 1 MiB and must grow by itself, never reporting
 * MDB_MAP_FULL: 2000 members with long bios need far more. */
static void test_map_grows(void) {
  char dir[256];
  am_error err = {0};
  am_node n;
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 1 << 20, &err) == 0);
  am_store *s = open_node(dir, &n);
  REQUIRE(s);
  CHECK(am_store_map_size(s) == 1 << 20);
  enum { N = 2000, PER_TXN = 400 };
  am_member *v = calloc(PER_TXN, sizeof *v);
  char bio[1800], email[64], name[32];
  for (size_t i = 0; i < sizeof bio - 1; i++) bio[i] = "abcdefgh ijklmnop"[i % 17];
  bio[sizeof bio - 1] = '\0';
  int fails = 0;
  for (int batch = 0; batch < N / PER_TXN; batch++) {
    for (int i = 0; i < PER_TXN; i++) {
      int k = batch * PER_TXN + i;
      snprintf(email, sizeof email, "m%d@example.org", k);
      snprintf(name, sizeof name, "Name%d", k);
      v[i] = make("Given", name, email, "Employer");
      am_member_set(&v[i], AM_F_BIO, bio, strlen(bio), NULL);
    }
    put_arg p = {.m = v, .n = PER_TXN};
    if (put_all(s, &p)) {
      fprintf(stderr, "batch %d: %s\n", batch, p.err.msg);
      fails++;
    }
    for (int i = 0; i < PER_TXN; i++) am_member_free(&v[i]);
  }
  free(v);
  CHECK_INT(fails, 0);
  CHECK_INT(count_members(s), N);
  CHECK(am_store_map_size(s) > 4u << 20);
  CHECK_INT(count_text(s, "name1999", NULL), 1);
  am_node_close(&n);
  /* Reopening with the configured (smaller) size keeps the grown map. */
  s = open_node(dir, &n);
  REQUIRE(s);
  CHECK(am_store_map_size(s) > 4u << 20);
  CHECK_INT(count_members(s), N);
  am_node_close(&n);
}

/* A refused change inside a transaction leaves it as it was: the rest of
 * the transaction commits without a trace of the refused member. */
static void test_refused_put_leaves_no_trace(void) {
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  am_member first = make("Anne", "Premier", "anne@example.org", NULL);
  CHECK_INT(put(s, &first), 0);
  am_member_free(&first);
  typedef struct { am_member m[3]; int rc[3]; } three;
  three t3;
  t3.m[0] = make("Bruno", "Second", "bruno@example.org", "Alpha");
  /* Two addresses: the second belongs to Anne, so nothing of Claire may
   * be written, not even her first address. */
  t3.m[1] = make("Claire", "Troisieme", "claire@example.org; anne@example.org", "Beta");
  t3.m[2] = make("Denis", "Quatrieme", "denis@example.org", "Gamma");
  put_arg p = {.m = t3.m, .n = 1};
  CHECK_INT(put_all(s, &p), 0);
  p.m = &t3.m[1];
  CHECK_INT(put_all(s, &p), AM_EEXIST);
  CHECK(strstr(p.err.msg, "anne@example.org") != NULL);
  p.m = &t3.m[2];
  CHECK_INT(put_all(s, &p), 0);
  CHECK_INT(count_members(s), 3);
  email_arg ea = {"claire@example.org", 0, -99};
  am_store_read(s, email_fn, &ea, NULL);
  CHECK_INT(ea.rc, AM_ENOTFOUND);
  CHECK_INT(count_text(s, "claire", NULL), 0);
  CHECK_INT(count_text(s, NULL, "beta"), 0);
  CHECK_INT(count_text(s, "denis", NULL), 1);
  for (int i = 0; i < 3; i++) am_member_free(&t3.m[i]);
  am_node_close(&n);
}

/* Added and changed in the same transaction: index keys of the first
 * version must not survive (they were still pending when changed). */
static int add_then_edit_fn(am_txn *t, void *arg) {
  am_member *m = arg;
  int rc = am_members_put(t, m, 0, NULL);
  if (!rc) rc = am_member_set(m, AM_F_EMPLOYER, "Thales", 6, NULL);
  if (!rc) rc = am_member_set(m, AM_F_FAMILY_NAME, "Nouveau", 7, NULL);
  if (!rc) rc = am_members_put(t, m, 0, NULL);
  return rc;
}

static void test_pending_index_in_one_txn(void) {
  am_error err = {0};
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  am_member m = make("Eve", "Ancien", "eve@example.org", "Airbus");
  CHECK_INT(am_store_write(s, add_then_edit_fn, &m, &err), 0);
  CHECK_INT(count_text(s, NULL, "airbus"), 0);
  CHECK_INT(count_text(s, "ancien", NULL), 0);
  CHECK_INT(count_text(s, NULL, "thales"), 1);
  CHECK_INT(count_text(s, "nouveau", NULL), 1);
  am_member_free(&m);
  am_node_close(&n);
}

/* Restoring a member under its exported id keeps the counter ahead. */
static void test_create_with_id(void) {
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  am_member m = make("Old", "Member", "old@example.org", NULL);
  m.id = 41;
  put_arg p = {.m = &m, .n = 1, .flags = 0};
  CHECK_INT(put_all(s, &p), AM_ENOTFOUND);
  p.flags = AM_PUT_CREATE;
  CHECK_INT(put_all(s, &p), 0);
  CHECK(m.id == 41);
  am_member next = make("New", "Member", "new@example.org", NULL);
  CHECK_INT(put(s, &next), 0);
  CHECK(next.id == 42);
  am_member_free(&m);
  am_member_free(&next);
  am_node_close(&n);
}

/* A damaged record is reported with its id, not crashed on. */
static int damage_fn(am_txn *t, void *arg) {
  (void)arg;
  uint8_t key[8], junk[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
  am_be64(key, 1);
  MDB_val k = {8, key}, v = {sizeof junk, junk};
  return mdb_put(t->txn, am_store_dbi(t->store, "members"), &k, &v, 0);
}

typedef struct get_arg {
  am_member m;
  am_error err;
  int rc;
} get_arg;

static int get_fn(am_txn *t, void *arg) {
  get_arg *g = arg;
  g->rc = am_members_get(t, 1, &g->m, &g->err);
  return 0;
}

static void test_damaged_record(void) {
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  am_member m = make("A", "B", NULL, NULL);
  CHECK_INT(put(s, &m), 0);
  am_member_free(&m);
  CHECK_INT(am_store_write(s, damage_fn, NULL, NULL), 0);
  get_arg g;
  memset(&g, 0, sizeof g);
  am_store_read(s, get_fn, &g, NULL);
  CHECK_INT(g.rc, AM_ECORRUPT);
  CHECK(strstr(g.err.msg, "member 1") != NULL);
  am_node_close(&n);
}

/* Posting lists under random adds and removes keep their invariants: ids
 * ascending and unique, chunks of 1..AM_POSTING_CHUNK ids, every id at or
 * above its chunk's low and below the next chunk's low, and exactly the
 * ids of a reference set. */
typedef struct post_arg {
  uint8_t ref[4000]; /* ref[id] = 1 when id is in the list */
  uint64_t seed;
  int rounds;
  int bad;
} post_arg;

static uint64_t prng(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static int check_postings(am_txn *t, const char *term, post_arg *a) {
  size_t tlen = strlen(term);
  MDB_cursor *c;
  MDB_val k = {tlen, (void *)term}, v;
  uint8_t seen[4000] = {0};
  uint64_t prev_low = 0, prev_id = 0;
  bool first = true;
  mdb_cursor_open(t->txn, am_store_dbi(t->store, "index"), &c);
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (am_postings_term_len(&k) != tlen || memcmp(k.mv_data, term, tlen) != 0) break;
    uint64_t low = am_get_be64((const uint8_t *)k.mv_data + tlen + 1);
    size_t n = am_postings_count(&v);
    if (!n || (!first && low <= prev_low)) a->bad++;
    for (size_t i = 0; i < n; i++) {
      uint64_t id = am_get_be64((const uint8_t *)v.mv_data + 8 * i);
      if (id < low || (!first && id <= prev_id) || id >= 4000) { a->bad++; continue; }
      seen[id] = 1;
      prev_id = id;
      first = false;
    }
    prev_low = low;
  }
  mdb_cursor_close(c);
  return memcmp(seen, a->ref, sizeof seen) != 0;
}

static int postings_fn(am_txn *t, void *arg) {
  post_arg *a = arg;
  uint64_t s = a->seed;
  for (int r = 0; r < a->rounds; r++) {
    if (prng(&s) % 3) {
      /* A sorted run of new ids, sometimes below existing ones. */
      uint64_t ids[300];
      size_t n = 0;
      uint64_t id = 1 + prng(&s) % 3500;
      size_t want = 1 + prng(&s) % 300;
      for (; n < want && id < 4000; id += 1 + prng(&s) % 4) ids[n++] = id;
      int rc = am_postings_add(t, "xterm", 5, ids, n, NULL);
      if (rc) return rc;
      for (size_t i = 0; i < n; i++) a->ref[ids[i]] = 1;
    } else {
      for (int i = 0; i < 100; i++) {
        uint64_t id = 1 + prng(&s) % 3999;
        int rc = am_postings_remove(t, "xterm", 5, id, NULL);
        if (rc) return rc;
        a->ref[id] = 0;
      }
    }
    if (check_postings(t, "xterm", a)) a->bad++;
  }
  return 0;
}

static void test_postings_invariants(void) {
  am_error err = {0};
  am_node n;
  am_store *s = new_store(&n);
  REQUIRE(s);
  post_arg *a = calloc(1, sizeof *a);
  a->seed = 99;
  a->rounds = 300;
  CHECK_INT(am_store_write(s, postings_fn, a, &err), 0);
  CHECK_INT(a->bad, 0);
  /* The run did build a list of several chunks. */
  size_t total = 0;
  for (int i = 0; i < 4000; i++) total += a->ref[i];
  CHECK(total > 100);
  free(a);
  am_node_close(&n);
}

/* A process that died inside a read transaction leaves a reader slot;
 * opening the store clears it (otherwise slots leak until
 * MDB_READERS_FULL). */
static int count_line(const char *msg, void *ctx) {
  (void)msg;
  (*(int *)ctx)++;
  return 0;
}

/* Runs what in a child process; returns its exit status. */
static int in_child(const char *dir, bool die_reading) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    am_node n;
    MDB_txn *txn;
    if (am_node_open(&n, dir, AM_NODE_STORE, NULL)) _exit(2);
    if (die_reading) {
      if (mdb_txn_begin(am_store_env(n.store), NULL, MDB_RDONLY, &txn)) _exit(3);
      _exit(0); /* dies holding the read transaction */
    }
    am_node_close(&n);
    _exit(0);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

static void test_stale_readers_cleared(void) {
  char dir[256], path[300];
  am_error err = {0};
  fresh(dir, sizeof dir);
  REQUIRE(am_node_create(dir, "N", AM_KIND_SCHOOL, 0, &err) == 0);
  /* An observer keeps the environment open, as a running daemon would:
   * LMDB resets the reader table only when nobody has it open. */
  snprintf(path, sizeof path, "%s/store", dir);
  MDB_env *watch;
  int lines = 0;
  REQUIRE(mdb_env_create(&watch) == 0);
  mdb_env_set_maxdbs(watch, 8);
  REQUIRE(mdb_env_open(watch, path, MDB_RDONLY, 0600) == 0);
  CHECK_INT(in_child(dir, true), 0);
  mdb_reader_list(watch, count_line, &lines);
  CHECK_INT(lines, 2); /* the header line and the dead reader */
  /* Any process opening the store clears the dead reader's slot. */
  CHECK_INT(in_child(dir, false), 0);
  lines = 0;
  mdb_reader_list(watch, count_line, &lines);
  CHECK_INT(lines, 1); /* "(no active readers)" */
  mdb_env_close(watch);
}

int main(void) {
  if (!mkdtemp(root)) return 1;
  RUN(test_create_and_reopen);
  RUN(test_not_a_node);
  RUN(test_config_errors);
  RUN(test_newer_format);
  RUN(test_upgrade_from_format_1);
  RUN(test_upgrade_from_format_2);
  RUN(test_upgrade_map_full);
  RUN(test_config_network);
  RUN(test_put_get_remove);
  RUN(test_map_grows);
  RUN(test_refused_put_leaves_no_trace);
  RUN(test_pending_index_in_one_txn);
  RUN(test_create_with_id);
  RUN(test_damaged_record);
  RUN(test_postings_invariants);
  RUN(test_stale_readers_cleared);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd)) return 1;
  return TEST_SUMMARY();
}
