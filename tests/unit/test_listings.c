/* Unit tests for store/listings.c: events and job offers from several
 * origins go through the real paths (this node's publish, others' signed
 * envelopes ingested), then random queries must give the same ids, order
 * and total from the index (am_listings_search) as from decoding every
 * listing (am_listings_scan) - after edits, cancellations, retractions,
 * expiry and trust removal too. Also: folded cities, events in progress,
 * deletion leaving no index entry, the format 4 -> 5 upgrade building the
 * listings, bad queries, and a damaged index. Stores live under a fresh
 * directory in /tmp, removed at the end. */
#include "store/listings.h"

#include <sys/stat.h>
#include <unistd.h>

#include "crypto/sign.h"
#include "store/announcements.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400
#define NORIGINS 5 /* [0] is this node */

static am_identity ids[NORIGINS];
static am_error err;

/* ---- stores ------------------------------------------------------------------ */

/* A fresh store trusting every origin; dir_out (optional) gets its path. */
static am_store *fresh(char *dir_out) {
  am_store *s = fx_store_fresh(&ids[0], dir_out);
  for (int i = 1; s && i < NORIGINS; i++)
    if (fx_trust(s, ids[i].pk, "", NOW, NULL, &err)) {
      am_store_close(s);
      return NULL;
    }
  return s;
}

static int count_fn(am_txn *t, void *arg) {
  size_t *n = arg;
  int which[3] = {AM_DB_LST, AM_DB_LST_REF, AM_DB_LST_INDEX};
  for (int i = 0; i < 3; i++) {
    MDB_stat st;
    if (mdb_stat(t->txn, am_store_db(t->store, which[i]), &st)) return AM_EIO;
    n[i] = st.ms_entries;
  }
  return 0;
}

/* Raw entries of lst, lst_ref, lst_index. */
static void raw_counts(am_store *s, size_t n[3]) {
  CHECK_INT(am_store_read(s, count_fn, n, NULL), 0);
}

/* ---- listings to feed in ------------------------------------------------------ */

static const char *cities[] = {"Paris", "Lyon", "Montréal", "Montreal", "MONTRÉAL", "Zürich",
                               "São Paulo", "Saint-Étienne", "Lille", "Œuilly"};
static const char *countries[] = {"France", "Canada", "Suisse", "Brésil"};
static const char *tags[] = {"Réseau", "afterwork", "Conférence", "mentorat", "sport",
                             "RESEAU"};
static const char *skills[] = {"Python", "C++", "Gestion de projet", "Finance", "Rust",
                               "Économie", "python"};
static const char *titles[] = {"Afterwork des anciens", "Conférence énergie", "Gala annuel",
                               "Ingénieur logiciel", "Chef de projet", "Data scientist",
                               "Dîner de promo"};
static const char *words[] = {"réseau", "énergie", "ingénierie", "données", "stratégie",
                              "été", "carrière", "mentorat", "numérique", "santé", "œuvre",
                              "Straße", "cocktail", "débat"};
static const char *employers[] = {"Société Générale", "Airbus", "L'Oréal", "Doctolib"};

/* A seeded xorshift64: every run makes the same listings and queries. */
typedef struct gen {
  uint64_t s;
} gen;
#define GEN_INIT {0x9E3779B97F4A7C15ULL}

static uint32_t gen_rnd(gen *g, uint32_t n) {
  g->s ^= g->s << 13, g->s ^= g->s >> 7, g->s ^= g->s << 17;
  return (uint32_t)(g->s % n);
}

#define PICK(g, a) (a[gen_rnd(g, sizeof a / sizeof *a)])

/* n distinct items from a (consecutive from a random start). */
static void items(gen *g, am_aval *v, const char **a, size_t na, uint32_t n) {
  v->l.v = calloc(n, sizeof *v->l.v);
  uint32_t at = gen_rnd(g, (uint32_t)na);
  for (uint32_t i = 0; i < n; i++) v->l.v[i] = strdup(a[(at + i) % na]);
  v->l.n = n;
  v->set = true;
}

static char *sentence(gen *g, uint32_t n) {
  am_buf b = {0};
  for (uint32_t i = 0; i < n; i++)
    am_buf_printf(&b, "%s%s", i ? " " : "", PICK(g, words));
  return b.data;
}

/* A random event (body and expiry; created when not ours). */
static void gen_event_body(gen *g, am_ann *a, int64_t created) {
  am_aval *b = a->body;
  fx_ann_text(a, AM_EV_TITLE, PICK(g, titles));
  if (gen_rnd(g, 3)) {
    char *d = sentence(g, 3 + gen_rnd(g, 8));
    fx_ann_text(a, AM_EV_DESCRIPTION, d);
    free(d);
  }
  uint64_t start = (uint64_t)(NOW - 20 * DAY) + gen_rnd(g, 80 * DAY);
  fx_ann_uint(a, AM_EV_STARTS_AT, start);
  /* Durations of every class: none, hours, days, weeks, months, a year+. */
  static const uint64_t durations[] = {0, 2 * 3600, 3 * DAY, 20 * DAY, 200 * DAY, 400 * DAY};
  uint64_t d = durations[gen_rnd(g, 6)];
  if (d) fx_ann_uint(a, AM_EV_ENDS_AT, start + d);
  fx_ann_text(a, AM_EV_TIMEZONE, "Europe/Paris");
  if (gen_rnd(g, 2)) fx_ann_text(a, AM_EV_VENUE, "Maison des Anciens");
  if (gen_rnd(g, 6)) fx_ann_text(a, AM_EV_CITY, PICK(g, cities));
  if (gen_rnd(g, 2)) fx_ann_text(a, AM_EV_COUNTRY, PICK(g, countries));
  if (gen_rnd(g, 3) == 0) fx_ann_text(a, AM_EV_ONLINE, "https://visio.example.org/r/1");
  if (gen_rnd(g, 2)) fx_ann_text(a, AM_EV_ORGANISER, "Association des anciens élèves");
  if (gen_rnd(g, 4)) items(g, &b[AM_EV_TAGS], tags, sizeof tags / sizeof *tags, 1 + gen_rnd(g, 3));
  uint32_t st = gen_rnd(g, 10);
  fx_ann_uint(a, AM_EV_STATUS, st < 7 ? AM_EV_SCHEDULED : st < 9 ? AM_EV_CANCELLED : AM_EV_POSTPONED);
  uint64_t until = d ? start + d : start;
  uint64_t floor = until > (uint64_t)NOW ? until : (uint64_t)NOW;
  if (floor < (uint64_t)created) floor = (uint64_t)created;
  a->expires = floor + DAY * (1 + gen_rnd(g, 60));
}

static void gen_job_body(gen *g, am_ann *a) {
  am_aval *b = a->body;
  fx_ann_text(a, AM_JOB_TITLE, PICK(g, titles));
  fx_ann_text(a, AM_JOB_EMPLOYER, PICK(g, employers));
  fx_ann_uint(a, AM_JOB_CONTRACT, gen_rnd(g, 8));
  if (gen_rnd(g, 6)) fx_ann_text(a, AM_JOB_CITY, PICK(g, cities));
  if (gen_rnd(g, 2)) fx_ann_text(a, AM_JOB_COUNTRY, PICK(g, countries));
  if (gen_rnd(g, 4)) fx_ann_uint(a, AM_JOB_REMOTE, gen_rnd(g, 3));
  if (gen_rnd(g, 3)) {
    char *d = sentence(g, 3 + gen_rnd(g, 12));
    fx_ann_text(a, AM_JOB_DESCRIPTION, d);
    free(d);
  }
  if (gen_rnd(g, 4))
    items(g, &b[AM_JOB_SKILLS], skills, sizeof skills / sizeof *skills, 1 + gen_rnd(g, 4));
  fx_ann_text(a, AM_JOB_APPLY, "https://example.com/apply");
  fx_ann_uint(a, AM_JOB_POSTED, 20251201);
  fx_ann_uint(a, AM_JOB_VALID_THROUGH, 20260601);
  fx_ann_uint(a, AM_JOB_ALUMNI_ONLY, gen_rnd(g, 2));
  a->expires = (uint64_t)NOW + DAY * (1 + gen_rnd(g, 120));
}

/* What the test knows of each object it made. */
typedef struct obj {
  int origin, kind;
  uint64_t object;
  bool live;
} obj;

typedef struct world {
  am_store *s;
  gen g;
  uint64_t version[NORIGINS]; /* last used by origins 1.. */
  obj v[1000];
  size_t n;
} world;

typedef struct pub {
  world *w;
  am_ann *a;
  int origin;
  int64_t now;
  am_ingest r;
} pub;

static int pub_fn(am_txn *t, void *arg) {
  pub *p = arg;
  if (p->origin == 0) return am_ann_publish(t, p->a, p->now, NULL, &err);
  am_buf b = {0};
  int rc = am_ann_seal(p->a, &ids[p->origin], &b, &err);
  if (!rc) rc = am_ann_ingest(t, (const uint8_t *)b.data, b.len, p->now, &p->r, &err);
  am_buf_free(&b);
  if (!rc && !p->r.applied) {
    fprintf(stderr, "  not applied (%s): %s\n", am_reject_name(p->r.reason), err.msg);
    rc = AM_EINVAL;
  }
  return rc;
}

/* Publishes a (freed) as origin o: ours through am_ann_publish, others'
 * sealed and ingested. */
static int send(world *w, am_ann *a, int o, int64_t now) {
  if (o) {
    a->version = ++w->version[o];
    a->created = (uint64_t)now;
  }
  pub p = {.w = w, .a = a, .origin = o, .now = now};
  int rc = am_store_write(w->s, pub_fn, &p, &err);
  if (rc) fprintf(stderr, "  publish: %s\n", err.msg);
  am_ann_free(a);
  return rc;
}

/* A new version of object x (fresh random content), or a new object. */
static int publish(world *w, obj *x, int64_t now) {
  am_ann a;
  am_ann_init(&a, x->kind);
  a.object = x->object;
  if (x->kind == AM_K_EVENT) gen_event_body(&w->g, &a, now);
  else gen_job_body(&w->g, &a);
  int rc = send(w, &a, x->origin, now);
  if (!rc) x->live = true;
  return rc;
}

static int retract(world *w, obj *x, int64_t now) {
  am_ann a;
  am_ann_init(&a, AM_K_RETRACTION);
  a.object = x->object;
  a.body[AM_RET_KIND] = (am_aval){.set = true, .u = (uint64_t)x->kind};
  int rc = send(w, &a, x->origin, now);
  if (!rc) x->live = false;
  return rc;
}

static void add_objects(world *w, size_t n) {
  for (size_t i = 0; i < n && w->n < sizeof w->v / sizeof *w->v; i++) {
    obj *x = &w->v[w->n];
    x->origin = (int)gen_rnd(&w->g, NORIGINS);
    x->kind = gen_rnd(&w->g, 2) ? AM_K_EVENT : AM_K_JOB;
    x->object = w->n + 1;
    int64_t now = NOW - (int64_t)gen_rnd(&w->g, 30 * DAY);
    if (publish(w, x, now)) break;
    w->n++;
  }
}

/* ---- comparing search and scan ------------------------------------------------ */

typedef struct qrun {
  const am_listing_query *q;
  am_listings a, b;
  int ra, rb;
  am_error ea, eb;
} qrun;

static int query_fn(am_txn *t, void *arg) {
  qrun *r = arg;
  r->ra = am_listings_search(t, r->q, &r->a, &r->ea);
  r->rb = am_listings_scan(t, r->q, &r->b, &r->eb);
  return 0;
}

static const char *describe(const am_listing_query *q) {
  static char d[600];
  snprintf(d, sizeof d,
           "kind %d from %llu to %llu since %llu text '%s' city '%s' country '%s' tag '%s' "
           "skill '%s' contract %d online %d remote %d alumni %d cancelled %d origins %zu "
           "offset %zu limit %zu",
           q->kind, (unsigned long long)q->from, (unsigned long long)q->to,
           (unsigned long long)q->posted_since, q->text ? q->text : "", q->city ? q->city : "",
           q->country ? q->country : "", q->tag ? q->tag : "", q->skill ? q->skill : "",
           q->contract, q->online, q->remote, q->alumni_only, q->include_cancelled,
           q->norigins, q->offset, q->limit);
  return d;
}

/* Search and scan agree; returns the total (or -1). */
static long same(am_store *s, const am_listing_query *q) {
  qrun r = {.q = q};
  CHECK_INT(am_store_read(s, query_fn, &r, NULL), 0);
  bool ok = r.ra == 0 && r.rb == 0 && r.a.total == r.b.total && r.a.n == r.b.n;
  for (size_t i = 0; ok && i < r.a.n; i++) ok = memcmp(r.a.v[i].id, r.b.v[i].id, 32) == 0;
  if (!ok) {
    fprintf(stderr, "  search %d (%s) total %zu n %zu / scan %d (%s) total %zu n %zu\n  for %s\n",
            r.ra, r.ea.msg, r.a.total, r.a.n, r.rb, r.eb.msg, r.b.total, r.b.n, describe(q));
  }
  CHECK(ok);
  /* The promised order, checked on its own. */
  for (size_t i = 1; ok && i < r.a.n; i++) {
    const am_ann *x = &r.a.v[i - 1], *y = &r.a.v[i];
    uint64_t kx = x->kind == AM_K_EVENT ? x->body[AM_EV_STARTS_AT].u : ~x->created;
    uint64_t ky = y->kind == AM_K_EVENT ? y->body[AM_EV_STARTS_AT].u : ~y->created;
    CHECK(kx < ky || (kx == ky && memcmp(x->id, y->id, 32) < 0));
    CHECK_INT(y->kind, q->kind);
  }
  long total = ok ? (long)r.a.total : -1;
  am_listings_free(&r.a);
  am_listings_free(&r.b);
  return total;
}

/* A random query over the vocabulary above. */
static void random_query(gen *g, am_listing_query *q) {
  static char text[100];
  am_listing_query_init(q, gen_rnd(g, 2) ? AM_K_EVENT : AM_K_JOB);
  switch (gen_rnd(g, 4)) {
  case 0: break;
  case 1: q->from = (uint64_t)NOW; break;
  case 2: q->from = (uint64_t)NOW + gen_rnd(g, 40 * DAY) - 20 * DAY; break;
  default:
    q->from = gen_rnd(g, 2) ? 0 : (uint64_t)NOW - 10 * DAY + gen_rnd(g, 20 * DAY);
    q->to = (q->from ? q->from : (uint64_t)NOW) + gen_rnd(g, 30 * DAY);
  }
  if (gen_rnd(g, 5) == 0) q->posted_since = (uint64_t)NOW - gen_rnd(g, 30 * DAY);
  if (gen_rnd(g, 4) == 0) {
    /* A word or two, whole or a prefix, in any case. */
    const char *w1 = gen_rnd(g, 2) ? PICK(g, words) : PICK(g, titles);
    size_t n = strlen(w1);
    if (gen_rnd(g, 2) && n > 3) n = 2 + gen_rnd(g, 3);
    while (n < strlen(w1) && ((unsigned char)w1[n] & 0xc0) == 0x80) n++;
    snprintf(text, sizeof text, "%.*s%s%s", (int)n, w1, gen_rnd(g, 3) ? "" : " ",
             gen_rnd(g, 3) ? "" : PICK(g, words));
    q->text = text;
  }
  if (gen_rnd(g, 3) == 0) q->city = PICK(g, cities);
  if (gen_rnd(g, 5) == 0) q->country = PICK(g, countries);
  if (gen_rnd(g, 5) == 0) q->tag = PICK(g, tags);
  if (gen_rnd(g, 4) == 0) q->skill = PICK(g, skills);
  if (gen_rnd(g, 4) == 0) q->contract = (int)gen_rnd(g, 8);
  if (gen_rnd(g, 5) == 0) q->online = (int)gen_rnd(g, 2);
  if (gen_rnd(g, 5) == 0) q->remote = (int)gen_rnd(g, 3);
  if (gen_rnd(g, 5) == 0) q->alumni_only = (int)gen_rnd(g, 2);
  q->include_cancelled = gen_rnd(g, 3) == 0;
  if (gen_rnd(g, 5) == 0) {
    q->norigins = 1 + gen_rnd(g, 3);
    for (size_t i = 0; i < q->norigins; i++)
      memcpy(q->origins[i], ids[gen_rnd(g, NORIGINS)].pk, 32);
  }
  if (gen_rnd(g, 3) == 0) {
    q->offset = gen_rnd(g, 20);
    q->limit = 1 + gen_rnd(g, 15);
  }
}

/* n random queries; how many found something. */
static int random_queries(am_store *s, gen *g, int n) {
  int hits = 0;
  for (int i = 0; i < n; i++) {
    am_listing_query q;
    random_query(g, &q);
    if (same(s, &q) > 0) hits++;
  }
  return hits;
}

/* Every listing of both kinds, all times, cancelled too. */
static long everything(am_store *s) {
  am_listing_query q;
  am_listing_query_init(&q, AM_K_EVENT);
  q.include_cancelled = true;
  long n = same(s, &q);
  am_listing_query_init(&q, AM_K_JOB);
  return n + same(s, &q);
}

static size_t live(const world *w) {
  size_t n = 0;
  for (size_t i = 0; i < w->n; i++) n += w->v[i].live;
  return n;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_random_against_scan(void) {
  world *w = calloc(1, sizeof *w);
  REQUIRE(w);
  w->g = (gen)GEN_INIT;
  REQUIRE((w->s = fresh(NULL)) != NULL);
  /* Enough for posting lists of several LMDB pages (255 postings each). */
  add_objects(w, 900);
  CHECK_INT(w->n, 900);
  CHECK_INT(everything(w->s), (long)live(w));
  int hits = random_queries(w->s, &w->g, 600);
  CHECK(hits > 200); /* the queries do find things */

  /* Edits: new versions with new content (a status may become cancelled). */
  for (size_t i = 0; i < 120; i++)
    CHECK_INT(publish(w, &w->v[gen_rnd(&w->g, (uint32_t)w->n)], NOW), 0);
  CHECK_INT(everything(w->s), (long)live(w));
  random_queries(w->s, &w->g, 300);

  /* Retractions. */
  for (size_t i = 0; i < 60; i++) {
    obj *x = &w->v[gen_rnd(&w->g, (uint32_t)w->n)];
    if (x->live) CHECK_INT(retract(w, x, NOW), 0);
  }
  CHECK_INT(everything(w->s), (long)live(w));
  random_queries(w->s, &w->g, 300);

  /* Expiry: a month later, part of them go. */
  uint64_t pruned = 0;
  CHECK_INT(fx_prune(w->s, NOW + 30 * DAY, &pruned, &err), 0);
  CHECK(pruned > 20);
  CHECK(everything(w->s) < (long)live(w));
  random_queries(w->s, &w->g, 300);

  /* Trust removal: an origin's listings all go. */
  CHECK_INT(fx_untrust(w->s, ids[2].pk, NULL, &err), 0);
  am_listing_query q;
  for (int k = AM_K_EVENT; k <= AM_K_JOB; k++) {
    am_listing_query_init(&q, k);
    q.include_cancelled = true;
    q.norigins = 1;
    memcpy(q.origins[0], ids[2].pk, 32);
    CHECK_INT(same(w->s, &q), 0);
  }
  random_queries(w->s, &w->g, 300);

  /* Everything withdrawn or expired: not one entry left. */
  for (size_t i = 0; i < w->n; i++)
    if (w->v[i].live && w->v[i].origin != 2) retract(w, &w->v[i], NOW + 30 * DAY);
  CHECK_INT(fx_prune(w->s, NOW + 3000 * DAY, &pruned, &err), 0);
  size_t n[3];
  raw_counts(w->s, n);
  CHECK_INT(n[0], 0);
  CHECK_INT(n[1], 0);
  CHECK_INT(n[2], 0);
  CHECK_INT(everything(w->s), 0);
  am_store_close(w->s);
  free(w);
}

/* An event (body, expiry) to send. */
static am_ann one_event(uint64_t object, const char *city, uint64_t starts, uint64_t ends,
                        int status) {
  am_ann a;
  am_ann_init(&a, AM_K_EVENT);
  a.object = object;
  fx_ann_text(&a, AM_EV_TITLE, "Rencontre des anciens");
  fx_ann_uint(&a, AM_EV_STARTS_AT, starts);
  if (ends) fx_ann_uint(&a, AM_EV_ENDS_AT, ends);
  fx_ann_text(&a, AM_EV_TIMEZONE, "America/Toronto");
  if (city) fx_ann_text(&a, AM_EV_CITY, city);
  fx_ann_uint(&a, AM_EV_STATUS, (uint64_t)status);
  a.expires = (ends ? ends : starts) + DAY;
  return a;
}

static world *small_world(void) {
  world *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->g = (gen)GEN_INIT;
  if (!(w->s = fresh(NULL))) {
    free(w);
    return NULL;
  }
  return w;
}

static void close_world(world *w) {
  am_store_close(w->s);
  free(w);
}

static long count_city(am_store *s, const char *city, uint64_t from) {
  am_listing_query q;
  am_listing_query_init(&q, AM_K_EVENT);
  q.city = city;
  q.from = from;
  return same(s, &q);
}

static void test_folded_city_and_time(void) {
  world *w = small_world();
  REQUIRE(w);
  uint64_t now = (uint64_t)NOW;
  am_ann a = one_event(1, "Montréal", now + DAY, 0, AM_EV_SCHEDULED);
  CHECK_INT(send(w, &a, 1, NOW), 0);
  a = one_event(2, "MONTREAL", now - 3600, now + 3600, AM_EV_SCHEDULED); /* in progress */
  CHECK_INT(send(w, &a, 2, NOW), 0);
  a = one_event(3, "Montreal-Nord", now + DAY, 0, AM_EV_SCHEDULED);
  CHECK_INT(send(w, &a, 3, NOW), 0);
  a = one_event(4, "montréal", now - 10 * DAY, now + 10 * DAY, AM_EV_SCHEDULED); /* long */
  CHECK_INT(send(w, &a, 0, NOW), 0);
  a = one_event(5, "Montréal", now - 2 * DAY, now - DAY, AM_EV_SCHEDULED); /* over */
  CHECK_INT(send(w, &a, 1, NOW - 3 * DAY), 0);
  a = one_event(6, "Montréal", now + 2 * DAY, 0, AM_EV_CANCELLED);
  CHECK_INT(send(w, &a, 1, NOW), 0);

  CHECK_INT(count_city(w->s, "montreal", 0), 4);
  CHECK_INT(count_city(w->s, "Montréal", 0), 4);
  CHECK_INT(count_city(w->s, "MONTRÉAL", 0), 4);
  CHECK_INT(count_city(w->s, "Montreal-Nord", 0), 1);
  CHECK_INT(count_city(w->s, "Montr", 0), 0); /* whole names, not prefixes */
  /* Upcoming: those in progress count until they end. */
  CHECK_INT(count_city(w->s, "montreal", now), 3);
  CHECK_INT(count_city(w->s, "montreal", now + 2 * 3600), 2);
  CHECK_INT(count_city(w->s, "montreal", now + 5 * DAY), 1);
  CHECK_INT(count_city(w->s, "montreal", now + 11 * DAY), 0);
  /* In order: the long one first (it started first), then the one in
   * progress, then tomorrow's. */
  am_listing_query q;
  am_listing_query_init(&q, AM_K_EVENT);
  q.city = "montreal";
  q.from = now;
  qrun r = {.q = &q};
  CHECK_INT(am_store_read(w->s, query_fn, &r, NULL), 0);
  REQUIRE(r.a.n == 3);
  CHECK_INT(r.a.v[0].object, 4);
  CHECK_INT(r.a.v[1].object, 2);
  CHECK_INT(r.a.v[2].object, 1);
  am_listings_free(&r.a);
  am_listings_free(&r.b);
  /* Cancelled ones on request; a window with an end. */
  q.include_cancelled = true;
  CHECK_INT(same(w->s, &q), 4);
  q.to = now + DAY;
  CHECK_INT(same(w->s, &q), 3);
  q.from = now + DAY + 1, q.to = now + 2 * DAY - 1;
  CHECK_INT(same(w->s, &q), 1); /* the long one */
  /* Pages. */
  q.from = 0, q.to = 0, q.limit = 2;
  for (q.offset = 0; q.offset < 7; q.offset++) same(w->s, &q);
  close_world(w);
}

static void test_delete_leaves_nothing(void) {
  world *w = small_world();
  REQUIRE(w);
  size_t n[3];
  obj x = {.origin = 1, .kind = AM_K_EVENT, .object = 7};
  CHECK_INT(publish(w, &x, NOW), 0);
  raw_counts(w->s, n);
  CHECK_INT(n[0], 1);
  CHECK_INT(n[1], 1);
  CHECK(n[2] > 5);
  /* A new version replaces every entry. */
  CHECK_INT(publish(w, &x, NOW), 0);
  raw_counts(w->s, n);
  CHECK_INT(n[0], 1);
  CHECK_INT(n[1], 1);
  CHECK(n[2] > 5);
  CHECK_INT(retract(w, &x, NOW), 0);
  raw_counts(w->s, n);
  CHECK_INT(n[0] + n[1] + n[2], 0);
  /* A job of ours, then expired. */
  obj j = {.origin = 0, .kind = AM_K_JOB, .object = 1};
  CHECK_INT(publish(w, &j, NOW), 0);
  raw_counts(w->s, n);
  CHECK_INT(n[0], 1);
  uint64_t pruned = 0;
  CHECK_INT(fx_prune(w->s, NOW + 400 * DAY, &pruned, &err), 0);
  CHECK_INT(pruned, 1);
  raw_counts(w->s, n);
  CHECK_INT(n[0] + n[1] + n[2], 0);
  close_world(w);
}

typedef struct bad {
  am_listing_query q;
  int rc;
  am_error e;
} bad;

static int bad_fn(am_txn *t, void *arg) {
  bad *b = arg;
  am_listings l;
  memset(&b->e, 0, sizeof b->e);
  b->rc = am_listings_search(t, &b->q, &l, &b->e);
  am_listings_free(&l);
  am_listings r;
  am_error e2 = {0};
  int rc2 = am_listings_scan(t, &b->q, &r, &e2);
  am_listings_free(&r);
  return rc2 == b->rc ? 0 : AM_EINTERNAL; /* the two refuse alike */
}

static int refused(am_store *s, bad *b) {
  CHECK_INT(am_store_read(s, bad_fn, b, NULL), 0);
  if (b->rc) CHECK(b->e.msg[0] != '\0');
  return b->rc;
}

static void test_bad_queries(void) {
  world *w = small_world();
  REQUIRE(w);
  bad b;
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.text = "caf\xc3";
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  CHECK(strstr(b.e.msg, "UTF-8") != NULL);
  am_listing_query_init(&b.q, AM_K_JOB);
  b.q.city = "\xff" "Lyon";
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  CHECK(strstr(b.e.msg, "city") != NULL);
  am_listing_query_init(&b.q, AM_K_JOB);
  b.q.skill = "\xe2\x82";
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  am_listing_query_init(&b.q, AM_K_JOB);
  b.q.contract = 8;
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  b.q.contract = -1, b.q.remote = 3;
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.online = 2;
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.text = "!!! ???";
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  b.q.text = "un deux trois quatre cinq six sept huit neuf";
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  b.q.text = "un deux trois quatre cinq six sept huit";
  CHECK_INT(refused(w->s, &b), 0);
  am_listing_query_init(&b.q, AM_K_PROFILE);
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.norigins = AM_LISTING_MAX_ORIGINS + 1;
  CHECK_INT(refused(w->s, &b), AM_EUSAGE);
  /* A window that holds nothing is no error. */
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.from = 10, b.q.to = 5;
  CHECK_INT(refused(w->s, &b), 0);
  close_world(w);
}

/* Damage written straight into the tables. */
typedef struct damage {
  int which;
  bool index_posting; /* a posting naming no listing */
  bool short_record;  /* every record cut short */
  bool bad_ref;       /* every key list garbled */
} damage;

static int damage_fn(am_txn *t, void *arg) {
  damage *d = arg;
  MDB_dbi dbi = am_store_db(t->store, d->which);
  MDB_cursor *c;
  MDB_val k, v;
  if (mdb_cursor_open(t->txn, dbi, &c)) return AM_EIO;
  if (d->index_posting) {
    uint8_t key[2] = {AM_K_EVENT, 'A'}, p[16] = {0};
    memset(p + 8, 0xee, 8);
    k = (MDB_val){2, key}, v = (MDB_val){16, p};
    mdb_cursor_close(c);
    return mdb_put(t->txn, dbi, &k, &v, 0) ? AM_EIO : 0;
  }
  int rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    /* A valid number, then a key said to share more than there is. */
    uint8_t junk[12] = {0, 0, 0, 0, 0, 0, 0, 0, 200, 1, 2, 3};
    if (v.mv_size >= 8) memcpy(junk, v.mv_data, 8);
    MDB_val nv = {d->short_record ? 3 : sizeof junk, junk};
    if (mdb_cursor_put(c, &k, &nv, MDB_CURRENT)) break;
  }
  mdb_cursor_close(c);
  return 0;
}

typedef struct del_arg {
  const uint8_t *origin;
  int rc;
} del_arg;

static void test_damaged_index(void) {
  world *w = small_world();
  REQUIRE(w);
  obj x = {.origin = 1, .kind = AM_K_EVENT, .object = 1};
  obj y = {.origin = 2, .kind = AM_K_EVENT, .object = 1};
  CHECK_INT(publish(w, &x, NOW), 0);
  CHECK_INT(publish(w, &y, NOW), 0);
  bad b;
  am_listing_query_init(&b.q, AM_K_EVENT);
  b.q.include_cancelled = true;

  /* A posting that names no listing. */
  damage d = {.which = AM_DB_LST_INDEX, .index_posting = true};
  CHECK_INT(am_store_write(w->s, damage_fn, &d, &err), 0);
  CHECK_INT(am_store_read(w->s, bad_fn, &b, NULL), AM_EINTERNAL); /* scan does not see it */
  CHECK_INT(b.rc, AM_ECORRUPT);
  CHECK(strstr(b.e.msg, "listings index is damaged") != NULL);

  /* Records cut short: search refuses, so does a retraction reaching it. */
  d = (damage){.which = AM_DB_LST, .short_record = true};
  CHECK_INT(am_store_write(w->s, damage_fn, &d, &err), 0);
  CHECK_INT(am_store_read(w->s, bad_fn, &b, NULL), AM_EINTERNAL);
  CHECK_INT(b.rc, AM_ECORRUPT);
  am_ann r;
  am_ann_init(&r, AM_K_RETRACTION);
  r.object = 1;
  r.body[AM_RET_KIND] = (am_aval){.set = true, .u = AM_K_EVENT};
  CHECK(send(w, &r, 1, NOW) == AM_ECORRUPT);

  close_world(w);

  /* Key lists garbled: the delete refuses with a clear error. */
  REQUIRE((w = small_world()) != NULL);
  CHECK_INT(publish(w, &y, NOW), 0);
  d = (damage){.which = AM_DB_LST_REF, .bad_ref = true};
  CHECK_INT(am_store_write(w->s, damage_fn, &d, &err), 0);
  am_ann_init(&r, AM_K_RETRACTION);
  r.object = 1;
  r.body[AM_RET_KIND] = (am_aval){.set = true, .u = AM_K_EVENT};
  memset(&err, 0, sizeof err);
  CHECK(send(w, &r, 2, NOW) == AM_ECORRUPT);
  CHECK(strstr(err.msg, "key list") != NULL);
  close_world(w);
}

/* A store of format 4 (no catalog) holding listings gets them indexed when
 * first opened for writing. */
static void test_upgrade_builds_listings(void) {
  char dir[256];
  world *w = calloc(1, sizeof *w);
  REQUIRE(w);
  w->g = (gen)GEN_INIT;
  w->g.s ^= 0x1234;
  REQUIRE((w->s = fresh(dir)) != NULL);
  add_objects(w, 150);
  long before = everything(w->s);
  CHECK(before > 100);
  am_store_close(w->s);

  /* What format 4 had: none of the format-5 tables. */
  REQUIRE(fx_store_to_format4(dir, NULL, NULL) == 0);

  /* Read-only, not upgraded: the listings are answered by the scan. */
  am_store *s = NULL;
  am_store_opts ro = {.read_only = true};
  REQUIRE(am_store_open(&s, dir, &ro, &err) == 0);
  CHECK(!am_store_has_catalog(s));
  CHECK_INT(everything(s), before);
  am_store_close(s);

  REQUIRE((w->s = fx_store_open(dir, false, &ids[0])) != NULL);
  CHECK(am_store_has_catalog(w->s));
  size_t n[3];
  raw_counts(w->s, n);
  CHECK_INT(n[0], before);
  CHECK_INT(everything(w->s), before);
  random_queries(w->s, &w->g, 300);
  /* And it goes on being kept. */
  add_objects(w, 30);
  CHECK_INT(everything(w->s), (long)live(w));
  random_queries(w->s, &w->g, 100);
  close_world(w);
}

int main(void) {
  if (!fx_scratch("listings")) return 1;
  for (int i = 0; i < NORIGINS; i++)
    if (am_identity_generate(&ids[i], NULL)) return 1;
  RUN(test_random_against_scan);
  RUN(test_folded_city_and_time);
  RUN(test_delete_leaves_nothing);
  RUN(test_bad_queries);
  RUN(test_damaged_index);
  RUN(test_upgrade_builds_listings);
  for (int i = 0; i < NORIGINS; i++) am_identity_wipe(&ids[i]);
  if (fx_scratch_remove()) return 1;
  return TEST_SUMMARY();
}
