/* Unit tests for store/directory.c: federated profiles from several
 * origins come in through the real announcement path (signed, trusted,
 * ingested), and random people queries must give through the indexes
 * exactly what the full scan gives (same people, order and total), for
 * both viewers, after replacements, retractions, expiry and trust removal.
 * A withdrawn profile leaves nothing in dir, dir_index and dir_ref; a
 * format-4 store gets its directory at the upgrade; a member viewer sees
 * only listed members and the fields meant for it; institutions are found
 * by name whatever the accents. Clocks are parameters (AMICALE_NOW for
 * member writes): nothing sleeps. */
#include "store/directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sign.h"
#include "proto/text.h"
#include "store/announcements.h"
#include "store/datadir.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define NORIGINS 4

static am_identity me, origin[NORIGINS];
static uint64_t versions[NORIGINS]; /* the last version each origin signed */
static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng % n);
}
#define PICK(a) (a[rnd(sizeof a / sizeof *a)])

static const char *givens[] = {"Marie", "Jean", "Éléonore", "Lucas", "Chloé", "Hugo", "Inès", "Zoé"};
static const char *families[] = {"Martin", "Dubois", "Lefèvre", "Åström", "Nguyen", "Müller",
                                 "Durand", "Duval", "García López"};
static const char *employers[] = {"Airbus", "Thales", "Société Générale", "Doctolib", "Mistral AI"};
static const char *titles[] = {"Ingénieur logiciel", "Data Scientist", "Chef de projet",
                               "Ingénieure procédés", "Directrice marketing"};
static const char *sectors[] = {"Banque", "Aéronautique", "Énergie", "Santé"};
static const char *cities[] = {"Paris", "Lyon", "Montréal", "Łódź", "Genève"};
static const char *countries[] = {"France", "Canada", "Pologne", "Suisse"};
static const char *programmes[] = {"Ingénieur généraliste", "MBA", "Doctorat"};
static const char *skills[] = {"Python", "SQL", "Rust", "Finance", "Audit", "Lean"};
static const char *langs[] = {"Français", "Anglais", "Espagnol"};
static const char *topics[] = {"Carrière", "Entrepreneuriat", "Reconversion", "International"};
static const char *words[] = {"mar", "dub", "lef", "astr", "ngu", "mul", "airbus", "ing", "data",
                              "chef", "eleo", "zoe", "gar", "du"};

/* ---- stores ---------------------------------------------------------------- */

static const char *trust_names[NORIGINS] = {"École Polytechnique", "Université de Montréal",
                                            "Groupe Thalès", "Association des Anciens"};

static void trust_all(am_store *s) {
  for (int i = 0; i < NORIGINS; i++) {
    CHECK_INT(fx_trust(s, origin[i].pk, trust_names[i], NOW, NULL, NULL), 0);
  }
}

/* ---- announcements ------------------------------------------------------- */

typedef struct batch {
  am_buf env[512];
  size_t n;
  int64_t now;
  int applied, refused;
} batch;

static void set_list(am_ann *a, int f, const char *const *pool, size_t npool, uint32_t n) {
  am_aval *v = &a->body[f];
  v->set = true;
  v->l.v = calloc(n, sizeof *v->l.v);
  for (uint32_t i = 0; i < n; i++) {
    const char *item = pool[rnd((uint32_t)npool)];
    bool dup = false;
    for (uint32_t j = 0; j < v->l.n; j++) dup |= strcmp(v->l.v[j], item) == 0;
    if (!dup) v->l.v[v->l.n++] = strdup(item);
  }
}

/* A random profile of object, signed by origin o (next version). */
static void random_profile(am_ann *a, int o, uint64_t object, int64_t created, uint64_t expires,
                           const char *family) {
  am_ann_init(a, AM_K_PROFILE);
  a->object = object, a->version = ++versions[o];
  a->created = (uint64_t)created, a->expires = expires;
  if (rnd(10)) fx_ann_text(a, AM_F_GIVEN_NAME, PICK(givens));
  fx_ann_text(a, AM_F_FAMILY_NAME, family ? family : PICK(families));
  if (!rnd(8)) fx_ann_text(a, AM_F_USUAL_NAME, PICK(families));
  if (rnd(6)) a->body[AM_F_PROMO] = (am_aval){.set = true, .u = 1990 + rnd(30)};
  if (rnd(3)) fx_ann_text(a, AM_F_PROGRAMME, PICK(programmes));
  if (rnd(4)) fx_ann_text(a, AM_F_EMPLOYER, PICK(employers));
  if (rnd(3)) fx_ann_text(a, AM_F_JOB_TITLE, PICK(titles));
  if (rnd(3)) fx_ann_text(a, AM_F_SECTOR, PICK(sectors));
  if (rnd(4)) fx_ann_text(a, AM_F_CITY, PICK(cities));
  if (rnd(3)) fx_ann_text(a, AM_F_COUNTRY, PICK(countries));
  if (rnd(2)) set_list(a, AM_F_SKILLS, skills, sizeof skills / sizeof *skills, 1 + rnd(3));
  if (rnd(2)) set_list(a, AM_F_LANGUAGES, langs, sizeof langs / sizeof *langs, 1 + rnd(2));
  if (!rnd(4)) fx_ann_text(a, AM_F_BIO, "Toujours partant pour aider les jeunes diplômés.");
  a->body[AM_F_MENTORING] = (am_aval){.set = true, .u = rnd(3) == 0};
  if (rnd(2)) set_list(a, AM_F_MENTORING_TOPICS, topics, sizeof topics / sizeof *topics, 1 + rnd(2));
}

static void add(batch *b, am_ann *a, int o) {
  REQUIRE(b->n < sizeof b->env / sizeof *b->env);
  am_error e = {0};
  memset(&b->env[b->n], 0, sizeof b->env[b->n]);
  int rc = am_ann_seal(a, &origin[o], &b->env[b->n], &e);
  if (rc) fprintf(stderr, "  seal: %s\n", e.msg);
  CHECK_INT(rc, 0);
  am_ann_free(a);
  b->n++;
}

static void retraction(batch *b, int o, uint64_t object) {
  am_ann a;
  am_ann_init(&a, AM_K_RETRACTION);
  a.object = object, a.version = ++versions[o], a.created = (uint64_t)NOW;
  a.body[AM_RET_KIND] = (am_aval){.set = true, .u = AM_K_PROFILE};
  add(b, &a, o);
}

static void node_ann(batch *b, int o, const char *name, int kind) {
  am_ann a;
  am_ann_init(&a, AM_K_NODE);
  a.version = ++versions[o], a.created = (uint64_t)NOW;
  fx_ann_text(&a, AM_NODE_NAME, name);
  a.body[AM_NODE_KIND] = (am_aval){.set = true, .u = (uint64_t)kind};
  add(b, &a, o);
}

static int ingest_fn(am_txn *t, void *arg) {
  batch *b = arg;
  b->applied = b->refused = 0;
  for (size_t i = 0; i < b->n; i++) {
    am_ingest r;
    am_error e = {0};
    int rc = am_ann_ingest(t, (const uint8_t *)b->env[i].data, b->env[i].len, b->now, &r, &e);
    if (rc) {
      fprintf(stderr, "  ingest: %s\n", e.msg);
      return rc;
    }
    if (r.applied) b->applied++;
    else {
      fprintf(stderr, "  refused: %s\n", e.msg);
      b->refused++;
    }
  }
  return 0;
}

/* Ingests the batch in one transaction, then empties it. */
static void ingest(am_store *s, batch *b, int64_t now) {
  b->now = now;
  am_error e = {0};
  int rc = am_store_write(s, ingest_fn, b, &e);
  if (rc) fprintf(stderr, "  write: %s\n", e.msg);
  CHECK_INT(rc, 0);
  CHECK_INT(b->refused, 0);
  for (size_t i = 0; i < b->n; i++) am_buf_free(&b->env[i]);
  b->n = 0;
}

/* ---- local members ------------------------------------------------------- */

static int put_fn(am_txn *t, void *arg) { return am_members_put(t, arg, 0, NULL); }

static void random_member(am_store *s, uint64_t *id_out) {
  am_member m;
  am_member_init(&m);
  m.given_name = strdup(PICK(givens));
  m.family_name = strdup(PICK(families));
  if (rnd(6)) m.promo = 1990 + rnd(30);
  if (rnd(4)) m.employer = strdup(PICK(employers));
  if (rnd(3)) m.job_title = strdup(PICK(titles));
  if (rnd(3)) m.sector = strdup(PICK(sectors));
  if (rnd(4)) m.city = strdup(PICK(cities));
  if (rnd(3)) m.country = strdup(PICK(countries));
  if (rnd(3)) m.programme = strdup(PICK(programmes));
  if (rnd(2)) {
    m.skills.v = calloc(1, sizeof *m.skills.v);
    m.skills.v[m.skills.n++] = strdup(PICK(skills));
  }
  m.mentoring = rnd(3) == 0;
  if (rnd(2)) {
    m.mentoring_topics.v = calloc(1, sizeof(char *));
    m.mentoring_topics.v[m.mentoring_topics.n++] = strdup(PICK(topics));
  }
  if (!rnd(3)) m.bio = strdup("Ancien président du BDE, mentor.");
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++)
    if (rnd(3) == 0) m.vis[f] = (uint8_t)rnd(3);
  if (rnd(4)) m.consent_listed = 20250101;
  if (rnd(2)) m.consent_federation = 20250101;
  m.dues_paid_until = 20261231;
  am_error e = {0};
  int rc = am_store_write(s, put_fn, &m, &e);
  if (rc) fprintf(stderr, "  member: %s\n", e.msg);
  CHECK_INT(rc, 0);
  if (id_out) *id_out = m.id;
  am_member_free(&m);
}

/* ---- queries ---------------------------------------------------------------- */

typedef struct run {
  const am_people_query *q;
  am_people idx, scan;
  int rc_idx, rc_scan;
  am_error e;
} run;

static int run_fn(am_txn *t, void *arg) {
  run *r = arg;
  r->rc_idx = am_people_search(t, r->q, &r->idx, &r->e);
  r->rc_scan = am_people_scan(t, r->q, &r->scan, &r->e);
  return 0;
}

static bool same_person(const am_person *a, const am_person *b) {
  am_buf x = {0}, y = {0};
  bool same = a->local == b->local && memcmp(a->origin, b->origin, 32) == 0 &&
              memcmp(a->ann_id, b->ann_id, 32) == 0 && a->first_seen == b->first_seen &&
              a->m.id == b->m.id && !am_member_encode(&a->m, &x) && !am_member_encode(&b->m, &y) &&
              x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
  am_buf_free(&x);
  am_buf_free(&y);
  return same;
}

static void describe(const am_people_query *q) {
  fprintf(stderr, "  query: viewer %d text '%s' title '%s' promo %u-%u mentoring %d filters %zu "
                  "origins %zu local %d fed %d since %lld sort %d offset %zu limit %zu\n",
          q->viewer, q->q.text ? q->q.text : "", q->q.job_title ? q->q.job_title : "",
          q->q.promo_min, q->q.promo_max, q->q.mentoring, q->q.nfilters, q->norigins, q->local_only,
          q->federated_only, (long long)q->since, q->q.sort, q->q.offset, q->q.limit);
}

/* Runs q both ways: the same answer. Returns the total. */
static size_t compare(am_store *s, const am_people_query *q) {
  run r = {.q = q};
  CHECK_INT(am_store_read(s, run_fn, &r, NULL), 0);
  if (r.rc_idx || r.rc_scan) fprintf(stderr, "  search: %s\n", r.e.msg);
  CHECK_INT(r.rc_idx, 0);
  CHECK_INT(r.rc_scan, 0);
  bool same = r.idx.total == r.scan.total && r.idx.n == r.scan.n;
  for (size_t i = 0; same && i < r.idx.n; i++) same = same_person(&r.idx.v[i], &r.scan.v[i]);
  if (!same) {
    describe(q);
    fprintf(stderr, "  indexed: %zu of %zu; scan: %zu of %zu\n", r.idx.n, r.idx.total, r.scan.n,
            r.scan.total);
  }
  CHECK(same);
  size_t total = r.scan.total;
  am_people_free(&r.idx);
  am_people_free(&r.scan);
  return total;
}

static void random_query(am_people_query *q) {
  memset(q, 0, sizeof *q);
  q->viewer = rnd(2) ? AM_VIEWER_MEMBER : AM_VIEWER_MANAGER;
  if (!rnd(3)) q->q.text = PICK(words);
  if (!rnd(8)) q->q.job_title = rnd(2) ? "ing" : "data sci";
  if (!rnd(4)) q->q.promo_min = 1990 + rnd(30);
  if (!rnd(4)) q->q.promo_max = 1995 + rnd(30);
  q->q.mentoring = !rnd(5);
  int nf = (int)rnd(3);
  for (int i = 0; i < nf; i++) {
    switch (rnd(8)) {
    case 0: am_query_filter(&q->q, AM_F_CITY, PICK(cities), NULL); break;
    case 1: am_query_filter(&q->q, AM_F_SECTOR, rnd(2) ? "energie" : PICK(sectors), NULL); break;
    case 2: am_query_filter(&q->q, AM_F_EMPLOYER, PICK(employers), NULL); break;
    case 3: am_query_filter(&q->q, AM_F_SKILLS, PICK(skills), NULL); break;
    case 4: am_query_filter(&q->q, AM_F_LANGUAGES, PICK(langs), NULL); break;
    case 5: am_query_filter(&q->q, AM_F_MENTORING_TOPICS, PICK(topics), NULL); break;
    case 6: am_query_filter(&q->q, AM_F_COUNTRY, PICK(countries), NULL); break;
    default: am_query_filter(&q->q, AM_F_PROGRAMME, PICK(programmes), NULL); break;
    }
  }
  if (!rnd(4)) {
    size_t n = 1 + rnd(2);
    for (size_t i = 0; i < n; i++) {
      int o = (int)rnd(NORIGINS + 1);
      memcpy(q->origins[q->norigins++], o == NORIGINS ? me.pk : origin[o].pk, 32);
    }
  }
  if (!rnd(8)) q->local_only = true;
  else if (!rnd(8)) q->federated_only = true;
  if (!rnd(6)) q->since = NOW + (int64_t)rnd(3) * 1000;
  q->q.sort = rnd(3) ? AM_SORT_NAME : AM_SORT_PROMO;
  if (rnd(2)) {
    q->q.offset = rnd(20);
    q->q.limit = 1 + rnd(25);
  }
}

static size_t random_queries(am_store *s, int n) {
  size_t hits = 0;
  for (int i = 0; i < n; i++) {
    am_people_query q;
    random_query(&q);
    hits += compare(s, &q) > 0;
  }
  return hits;
}

/* ---- raw tables -------------------------------------------------------- */

typedef struct counts {
  size_t dir, index, ref;
  const char *needle; /* folded bytes that must appear nowhere */
  size_t found;
} counts;

static bool contains(const MDB_val *v, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= v->mv_size; i++)
    if (memcmp((const char *)v->mv_data + i, needle, n) == 0) return true;
  return false;
}

static int counts_fn(am_txn *t, void *arg) {
  counts *c = arg;
  int dbs[3] = {AM_DB_DIR, AM_DB_DIR_INDEX, AM_DB_DIR_REF};
  size_t *out[3] = {&c->dir, &c->index, &c->ref};
  for (int i = 0; i < 3; i++) {
    MDB_cursor *cur;
    MDB_val k, v;
    *out[i] = 0;
    if (mdb_cursor_open(t->txn, am_store_db(t->store, dbs[i]), &cur)) return AM_EIO;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      (*out[i])++;
      if (c->needle && (contains(&k, c->needle) || contains(&v, c->needle))) c->found++;
    }
    mdb_cursor_close(cur);
  }
  return 0;
}

static counts count(am_store *s, const char *needle) {
  counts c = {.needle = needle};
  CHECK_INT(am_store_read(s, counts_fn, &c, NULL), 0);
  return c;
}

/* Live profiles of other origins held: what the directory must mirror. */
typedef struct held {
  size_t n;
} held;

static int held_cb(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  (void)t, (void)id;
  held *h = arg;
  am_ann a;
  int reason;
  if (am_ann_decode(env, len, &a, &reason, NULL)) return 1;
  if (memcmp(a.origin, me.pk, 32) != 0) h->n++;
  am_ann_free(&a);
  return 0;
}

static int held_fn(am_txn *t, void *arg) { return am_ann_each_kind(t, AM_K_PROFILE, held_cb, arg); }

static size_t held_profiles(am_store *s) {
  held h = {0};
  CHECK_INT(am_store_read(s, held_fn, &h, NULL), 0);
  return h.n;
}

static void check_mirror(am_store *s) {
  counts c = count(s, NULL);
  size_t h = held_profiles(s);
  CHECK_INT(c.dir, h);
  CHECK_INT(c.ref, h);
  if (h == 0) CHECK_INT(c.index, 0);
}

/* ---- tests ---------------------------------------------------------------- */

typedef struct obj {
  int o;
  uint64_t object;
  bool live;
} obj;

static void test_random_equivalence(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  trust_all(s);
  static batch b;
  static obj objs[400];
  size_t nobj = 0;
  for (int i = 0; i < 30; i++) random_member(s, NULL);
  /* Profiles from every origin, some with an expiry. */
  for (int round = 0; round < 3; round++) {
    for (int k = 0; k < 100; k++) {
      int o = (int)rnd(NORIGINS);
      am_ann a;
      uint64_t object = 1000 + nobj;
      random_profile(&a, o, object, NOW - 100, 0, NULL);
      add(&b, &a, o);
      objs[nobj++] = (obj){o, object, true};
      /* Events that expire (profiles do not): pruning them leaves the
       * directory as it is. */
      if (!rnd(5)) {
        am_ann e;
        am_ann_init(&e, AM_K_EVENT);
        e.object = object, e.version = ++versions[o], e.created = (uint64_t)NOW - 100;
        e.expires = (uint64_t)NOW + 5000 + rnd(3) * 1000;
        fx_ann_text(&e, AM_EV_TITLE, "Afterwork");
        e.body[AM_EV_STARTS_AT] = (am_aval){.set = true, .u = (uint64_t)NOW + 3600};
        fx_ann_text(&e, AM_EV_TIMEZONE, "Europe/Paris");
        e.body[AM_EV_STATUS] = (am_aval){.set = true, .u = AM_EV_SCHEDULED};
        add(&b, &e, o);
      }
    }
    ingest(s, &b, NOW + round * 1000);
  }
  check_mirror(s);
  CHECK(random_queries(s, 400) > 100);

  /* Replacements: a new version keeps first_seen. */
  for (int k = 0; k < 60; k++) {
    obj *ob = &objs[rnd((uint32_t)nobj)];
    am_ann a;
    random_profile(&a, ob->o, ob->object, NOW, 0, NULL);
    add(&b, &a, ob->o);
  }
  ingest(s, &b, NOW + 10000);
  check_mirror(s);
  am_people_query q;
  memset(&q, 0, sizeof q);
  q.since = NOW + 10000;
  q.federated_only = true;
  CHECK_INT(compare(s, &q), 0); /* replaced, not new */
  random_queries(s, 300);

  /* Retractions. */
  for (int k = 0; k < 60; k++) {
    obj *ob = &objs[rnd((uint32_t)nobj)];
    if (!ob->live) continue;
    retraction(&b, ob->o, ob->object);
    ob->live = false;
  }
  ingest(s, &b, NOW + 11000);
  check_mirror(s);
  random_queries(s, 300);

  /* Expiry: prune at a time past some expiries. */
  uint64_t pruned = 0;
  CHECK_INT(fx_prune(s, NOW + 6500, &pruned, NULL), 0);
  CHECK(pruned > 0);
  check_mirror(s);
  random_queries(s, 300);

  /* Trust removal: everything of that origin goes. */
  CHECK_INT(fx_untrust(s, origin[1].pk, NULL, NULL), 0);
  check_mirror(s);
  memset(&q, 0, sizeof q);
  memcpy(q.origins[0], origin[1].pk, 32);
  q.norigins = 1;
  CHECK_INT(compare(s, &q), 0);
  random_queries(s, 300);
  am_store_close(s);
}

/* A retracted person leaves nothing behind: not a row, not a term, not a
 * reference; a replaced one keeps when it was first seen. */
static void test_retraction_leaves_nothing(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  trust_all(s);
  static batch b;
  am_ann a;
  random_profile(&a, 0, 7, NOW - 10, 0, "Quintessenza");
  add(&b, &a, 0);
  random_profile(&a, 2, 8, NOW - 10, 0, "Zyxwvutsrq");
  add(&b, &a, 2);
  ingest(s, &b, NOW);
  counts c = count(s, "quintessenza");
  CHECK_INT(c.dir, 2);
  CHECK_INT(c.ref, 2);
  CHECK(c.found > 0);
  /* A newer version: still first seen at NOW. */
  random_profile(&a, 0, 7, NOW + 50, 0, "Quintessenza");
  add(&b, &a, 0);
  ingest(s, &b, NOW + 100);
  am_people_query q;
  memset(&q, 0, sizeof q);
  q.q.text = "quintess";
  run r = {.q = &q};
  CHECK_INT(am_store_read(s, run_fn, &r, NULL), 0);
  REQUIRE(r.rc_idx == 0 && r.idx.n == 1);
  CHECK_INT(r.idx.v[0].first_seen, NOW);
  CHECK(!r.idx.v[0].local);
  CHECK(memcmp(r.idx.v[0].origin, origin[0].pk, 32) == 0);
  CHECK_INT(r.idx.v[0].m.id, 7);
  am_people_free(&r.idx);
  am_people_free(&r.scan);
  retraction(&b, 0, 7);
  ingest(s, &b, NOW + 200);
  c = count(s, "quintessenza");
  CHECK_INT(c.found, 0);
  CHECK_INT(c.dir, 1);
  CHECK_INT(c.ref, 1);
  CHECK_INT(compare(s, &q), 0);
  /* The other one by trust removal: all three tables empty. */
  CHECK_INT(fx_untrust(s, origin[2].pk, NULL, NULL), 0);
  c = count(s, "zyxwvutsrq");
  CHECK_INT(c.found, 0);
  CHECK_INT(c.dir, 0);
  CHECK_INT(c.index, 0);
  CHECK_INT(c.ref, 0);
  am_store_close(s);
}

/* This node's own profiles are not directory rows: its members are
 * searched in the member table. */
static void test_own_profiles_skipped(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  for (int i = 0; i < 10; i++) random_member(s, NULL);
  counts c = count(s, NULL);
  CHECK_INT(c.dir, 0);
  CHECK_INT(c.index, 0);
  CHECK_INT(c.ref, 0);
  am_store_close(s);
}

typedef struct vis_arg {
  uint64_t listed, unlisted;
} vis_arg;

static int vis_fn(am_txn *t, void *arg) {
  vis_arg *v = arg;
  am_member m;
  am_member_init(&m);
  m.given_name = strdup("Solène");
  m.family_name = strdup("Ravel");
  m.city = strdup("Lyon");
  m.phone = strdup("+33 6 12 34 56 78");
  m.bio = strdup("Violoncelliste");
  m.vis[AM_F_CITY] = AM_VIS_PRIVATE;
  m.vis[AM_F_PHONE] = AM_VIS_PRIVATE;
  m.vis[AM_F_BIO] = AM_VIS_SCHOOL;
  m.consent_listed = 20250101;
  m.dues_paid_until = 20261231;
  int rc = am_members_put(t, &m, 0, NULL);
  v->listed = m.id;
  am_member_free(&m);
  if (rc) return rc;
  am_member_init(&m);
  m.given_name = strdup("Anselme");
  m.family_name = strdup("Ravel");
  m.city = strdup("Lyon");
  rc = am_members_put(t, &m, 0, NULL);
  v->unlisted = m.id;
  am_member_free(&m);
  return rc;
}

typedef struct one {
  am_people_query q;
  am_people r;
  int rc;
} one;

static int one_fn(am_txn *t, void *arg) {
  one *o = arg;
  o->rc = am_people_search(t, &o->q, &o->r, NULL);
  return 0;
}

static size_t people(am_store *s, one *o) {
  CHECK_INT(am_store_read(s, one_fn, o, NULL), 0);
  CHECK_INT(o->rc, 0);
  CHECK_INT(compare(s, &o->q), o->r.total);
  return o->r.total;
}

static void test_visibility(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  vis_arg v;
  CHECK_INT(am_store_write(s, vis_fn, &v, NULL), 0);
  one o;
  memset(&o, 0, sizeof o);
  o.q.q.text = "ravel";
  o.q.viewer = AM_VIEWER_MANAGER;
  CHECK_INT(people(s, &o), 2);
  am_people_free(&o.r);
  o.q.viewer = AM_VIEWER_MEMBER;
  REQUIRE(people(s, &o) == 1);
  const am_person *p = &o.r.v[0];
  CHECK(p->local);
  CHECK_INT(p->m.id, v.listed);
  CHECK(p->m.city == NULL);  /* private */
  CHECK(p->m.phone == NULL);
  CHECK_STR(p->m.bio, "Violoncelliste"); /* school */
  CHECK_STR(p->m.given_name, "Solène");
  CHECK_INT(p->m.dues_paid_until, 0);
  CHECK_INT(p->m.consent_listed, 0);
  am_people_free(&o.r);
  /* Filters on a field the viewer cannot see find nobody. */
  am_query_filter(&o.q.q, AM_F_CITY, "lyon", NULL);
  CHECK_INT(people(s, &o), 0);
  am_people_free(&o.r);
  o.q.viewer = AM_VIEWER_MANAGER;
  CHECK_INT(people(s, &o), 2);
  am_people_free(&o.r);
  memset(&o.q, 0, sizeof o.q);
  o.q.viewer = AM_VIEWER_MEMBER;
  o.q.q.text = "violoncel";
  CHECK_INT(people(s, &o), 1);
  am_people_free(&o.r);
  /* The node's own key selects its members; another origin excludes them. */
  memset(&o.q, 0, sizeof o.q);
  memcpy(o.q.origins[0], me.pk, 32);
  o.q.norigins = 1;
  CHECK_INT(people(s, &o), 2);
  am_people_free(&o.r);
  memcpy(o.q.origins[0], origin[0].pk, 32);
  CHECK_INT(people(s, &o), 0);
  am_people_free(&o.r);
  memset(&o.q, 0, sizeof o.q);
  o.q.federated_only = true;
  CHECK_INT(people(s, &o), 0);
  am_people_free(&o.r);
  am_store_close(s);
}

typedef struct inst_arg {
  const char *text;
  int kind;
  uint8_t keys[8][32];
  size_t n;
  am_institution in;
  int rc;
} inst_arg;

static int resolve_fn(am_txn *t, void *arg) {
  inst_arg *a = arg;
  am_self self = {"Lycée Français", AM_KIND_SCHOOL};
  a->rc = am_institution_resolve(t, a->text, a->kind, &self, a->keys, 8, &a->n, NULL);
  return 0;
}

static int inst_get_fn(am_txn *t, void *arg) {
  inst_arg *a = arg;
  am_self self = {"Lycée Français", AM_KIND_SCHOOL};
  a->rc = am_institution_get(t, a->keys[0], &self, &a->in, NULL);
  return 0;
}

static size_t resolve(am_store *s, const char *text, int kind, inst_arg *a) {
  memset(a, 0, sizeof *a);
  a->text = text, a->kind = kind;
  CHECK_INT(am_store_read(s, resolve_fn, a, NULL), 0);
  CHECK_INT(a->rc, 0);
  return a->n;
}

static void test_institutions(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  trust_all(s);
  static batch b;
  /* Origin 2 announces itself under another name than its trust entry. */
  node_ann(&b, 2, "Thalès Alenia Space", AM_KIND_COMPANY);
  node_ann(&b, 0, "École polytechnique", AM_KIND_SCHOOL);
  ingest(s, &b, NOW);
  inst_arg a;
  CHECK_INT(resolve(s, "ecole POLY", -1, &a), 1);
  CHECK(memcmp(a.keys[0], origin[0].pk, 32) == 0);
  CHECK_INT(resolve(s, "thales", -1, &a), 1);
  CHECK(memcmp(a.keys[0], origin[2].pk, 32) == 0);
  CHECK_INT(resolve(s, "montreal univ", -1, &a), 1);
  CHECK(memcmp(a.keys[0], origin[1].pk, 32) == 0);
  CHECK_INT(resolve(s, "lycee", -1, &a), 1);
  CHECK(memcmp(a.keys[0], me.pk, 32) == 0);
  CHECK_INT(resolve(s, "a", -1, &a), 2); /* Alenia, Association */
  CHECK_INT(resolve(s, "a", AM_KIND_COMPANY, &a), 1);
  CHECK_INT(resolve(s, "e", AM_KIND_SCHOOL, &a), 1);
  CHECK_INT(resolve(s, "nowhere", -1, &a), 0);
  char text[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(origin[3].pk, text);
  CHECK_INT(resolve(s, text, -1, &a), 1);
  CHECK(memcmp(a.keys[0], origin[3].pk, 32) == 0);
  memcpy(a.keys[0], origin[2].pk, 32);
  CHECK_INT(am_store_read(s, inst_get_fn, &a, NULL), 0);
  CHECK_INT(a.rc, 0);
  CHECK_STR(a.in.name, "Thalès Alenia Space");
  CHECK_INT(a.in.kind, AM_KIND_COMPANY);
  memcpy(a.keys[0], origin[3].pk, 32);
  CHECK_INT(am_store_read(s, inst_get_fn, &a, NULL), 0);
  CHECK_STR(a.in.name, "Association des Anciens");
  CHECK_INT(a.in.kind, -1);
  memcpy(a.keys[0], me.pk, 32);
  CHECK_INT(am_store_read(s, inst_get_fn, &a, NULL), 0);
  CHECK(a.in.self);
  CHECK_STR(a.in.name, "Lycée Français");
  am_store_close(s);
}

/* The member index terms format 4 did not have. */
static int drop_format5_terms(MDB_txn *txn, void *arg) {
  (void)arg;
  MDB_dbi dbi;
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_dbi_open(txn, "index", 0, &dbi);
  if (!rc) rc = mdb_cursor_open(txn, dbi, &c);
  if (rc) return rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    char tag = *(const char *)k.mv_data;
    bool topic = tag == AM_IDX_EXACT && k.mv_size > 1 && ((const uint8_t *)k.mv_data)[1] == AM_F_MENTORING_TOPICS;
    if ((tag == AM_IDX_CREATED || tag == AM_IDX_LISTED || tag == AM_IDX_TITLE || topic) &&
        (rc = mdb_cursor_del(c, 0)))
      break;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A format-4 store (no catalog tables) holding profiles: the upgrade
 * builds the directory, and the member index gets its new terms. */
static void test_upgrade_from_format_4(void) {
  char dir[256];
  am_store *s = fx_store_fresh(&me, dir);
  REQUIRE(s != NULL);
  trust_all(s);
  static batch b;
  for (int k = 0; k < 40; k++) {
    am_ann a;
    int o = (int)rnd(NORIGINS);
    random_profile(&a, o, 5000 + (uint64_t)k, NOW - 1000 + k, 0, NULL);
    add(&b, &a, o);
  }
  ingest(s, &b, NOW);
  for (int i = 0; i < 10; i++) random_member(s, NULL);
  am_store_close(s);
  /* What release 4 wrote: none of the format-5 tables, format 4, and
   * members indexed without the terms it did not have. */
  REQUIRE(fx_store_to_format4(dir, drop_format5_terms, NULL) == 0);

  REQUIRE((s = fx_store_open(dir, false, &me)) != NULL);
  /* The signer is set after the upgrade: this node's own profiles (of
   * consenting members) became rows too, which searches pass over. */
  CHECK(count(s, NULL).dir >= 40);
  am_people_query q;
  memset(&q, 0, sizeof q);
  q.federated_only = true;
  q.q.limit = 100;
  run r = {.q = &q};
  CHECK_INT(am_store_read(s, run_fn, &r, NULL), 0);
  CHECK_INT(r.idx.total, 40);
  /* Nobody noted when they arrived: their creation stands in. */
  for (size_t i = 0; i < r.idx.n; i++)
    CHECK_INT(r.idx.v[i].first_seen, r.idx.v[i].m.created);
  am_people_free(&r.idx);
  am_people_free(&r.scan);
  CHECK(random_queries(s, 200) > 30);
  am_store_close(s);
}

/* A damaged row is an error that says so, not a crash or a wrong list. */
static int damage_fn(am_txn *t, void *arg) {
  (void)arg;
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t->txn, am_store_db(t->store, AM_DB_DIR), &c);
  if (!rc) rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  if (!rc) {
    uint8_t bad[10] = {1};
    MDB_val bv = {sizeof bad, bad};
    rc = mdb_cursor_put(c, &k, &bv, MDB_CURRENT);
  }
  mdb_cursor_close(c);
  return rc ? AM_EIO : 0;
}

static void test_damaged(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s != NULL);
  trust_all(s);
  static batch b;
  am_ann a;
  random_profile(&a, 1, 1, NOW, 0, "Martin");
  add(&b, &a, 1);
  ingest(s, &b, NOW);
  CHECK_INT(am_store_write(s, damage_fn, NULL, NULL), 0);
  one o;
  memset(&o, 0, sizeof o);
  am_error e = {0};
  (void)e;
  CHECK_INT(am_store_read(s, one_fn, &o, NULL), 0);
  CHECK_INT(o.rc, AM_ECORRUPT);
  am_store_close(s);
}

int main(void) {
  setenv("AMICALE_NOW", "1767225600", 1);
  if (!fx_scratch("directory")) return 1;
  am_error e = {0};
  if (am_identity_generate(&me, &e)) return 1;
  for (int i = 0; i < NORIGINS; i++)
    if (am_identity_generate(&origin[i], &e)) return 1;
  RUN(test_random_equivalence);
  RUN(test_retraction_leaves_nothing);
  RUN(test_own_profiles_skipped);
  RUN(test_visibility);
  RUN(test_institutions);
  RUN(test_upgrade_from_format_4);
  RUN(test_damaged);
  fx_scratch_remove();
  am_identity_wipe(&me);
  for (int i = 0; i < NORIGINS; i++) am_identity_wipe(&origin[i]);
  return TEST_SUMMARY();
}
