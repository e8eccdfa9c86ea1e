/* Listings benchmark: events and job offers queried through the index
 * (store/listings.c) beside the full scan of the same query
 * (am_listings_scan, which decodes every held event or job).
 *
 * Builds a store of N listings (default 100,000: half events, half job
 * offers) from 50 origins, signed and applied through the real path
 * (am_ann_seal, am_ann_apply: every index, the listings' included), with
 * the bodies of bench/common.c and 200 cities. Then, for each kind of
 * query, Q random queries (default 200, first page of 20) timed on the
 * index - median and 99th percentile - and S of them (default 10) also by
 * the scan, whose results must be the same (ids, order, total). The ratio
 * is scan median / indexed median of the same queries (target >= 50x for
 * the selective ones). No figure is asserted: the machine is shared.
 *
 * usage: bench_listings [N] [Q] [S]     (BENCH_QUICK=1: 4,000 20 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common.h"
#include "crypto/sign.h"
#include "store/announcements.h"
#include "store/listings.h"

#define ORIGINS 50
#define NOW UINT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY 86400
#define BATCH 1000

/* 200 cities: 40 places, some under 5 names ("Saint-Denis", "Villeneuve-
 * Saint-Denis"...), with the accents of real ones. */
static const char *roots[] = {"Denis", "Étienne", "Malo", "Nazaire", "Brieuc", "Quentin",
  "Omer", "Raphaël", "Tropez", "Gaudens", "Lyon", "Paris", "Marseille", "Toulouse", "Nantes",
  "Bordeaux", "Lille", "Rennes", "Reims", "Montréal", "Québec", "Genève", "Lausanne", "Zürich",
  "Bruxelles", "Liège", "Namur", "München", "Köln", "København", "Malmö", "Göteborg", "Tromsø",
  "Kraków", "Łódź", "São Paulo", "Bogotá", "Málaga", "Córdoba", "Besançon"};
static const char *forms[][2] = {{"", ""}, {"Saint-", ""}, {"Villeneuve-", ""},
                                 {"", "-sur-Mer"}, {"Le Petit ", ""}};
static char cities[200][64];
static const char *skills[] = {"Python", "SQL", "Java", "C++", "Gestion de projet", "Agile",
  "Finance", "Marketing", "Management", "Machine Learning", "Lean", "Audit", "Négociation",
  "Cybersécurité", "Cloud", "Supply chain", "Droit", "Design", "Statistiques", "Rust"};
/* Free text: words of titles, venues, employers and skills (bench/common.c),
 * some as prefixes, some with words of the descriptions. */
static const char *event_texts[] = {"gala", "forum", "dîner", "atelier", "visite", "afterwork",
  "conférence annuelle", "table ronde énergie", "promo", "site industriel", "entretiens",
  "péniche", "amphithéâtre", "auditorium", "gala réseau"};
static const char *job_texts[] = {"auditeur", "analyste", "consultant senior", "directrice",
  "ingénieure procédés", "airbus", "thales", "doctolib", "mistral", "ubisoft", "michelin",
  "oréal", "sanofi", "renault", "dassault", "product manager", "data scien", "chef de proj",
  "rust", "python machine"};

typedef struct world {
  am_store *s;
  am_identity ids[ORIGINS];
  gen g;
  uint64_t version[ORIGINS], object[ORIGINS][2];
  size_t made, n;
  am_error err;
} world;

/* One batch, restartable: am_store_write runs it again after growing the
 * map, so it starts from the state saved before it. */
typedef struct batch {
  world *w;
  world saved;
} batch;

static int batch_fn(am_txn *t, void *arg) {
  batch *b = arg;
  world *w = b->w;
  am_store *s = w->s;
  *w = b->saved;
  w->s = s;
  for (size_t i = 0; i < BATCH && w->made < w->n; i++, w->made++) {
    int o = (int)gen_rnd(&w->g, ORIGINS);
    int kind = w->made % 2 ? AM_K_JOB : AM_K_EVENT;
    am_ann a;
    am_ann_init(&a, kind);
    a.object = ++w->object[o][kind == AM_K_JOB];
    a.version = ++w->version[o];
    a.created = NOW - gen_rnd(&w->g, 60 * DAY);
    gen_body(&w->g, &a, NOW);
    am_aval *city = &a.body[kind == AM_K_EVENT ? AM_EV_CITY : AM_JOB_CITY];
    free(city->s);
    city->s = strdup(cities[gen_rnd(&w->g, 200)]);
    am_buf env = {0};
    am_ingest r;
    int rc = am_ann_seal(&a, &w->ids[o], &env, &w->err);
    if (!rc)
      rc = am_ann_apply(t, &a, (const uint8_t *)env.data, env.len, (int64_t)NOW, &r, &w->err);
    if (!rc && !r.applied)
      rc = am_fail(&w->err, AM_EINTERNAL, "not applied: %s", am_reject_name(r.reason));
    am_buf_free(&env);
    am_ann_free(&a);
    if (rc) return rc;
  }
  return 0;
}

static int trust_fn(am_txn *t, void *arg) {
  world *w = arg;
  for (int i = 1; i < ORIGINS; i++) {
    am_trust tr = {.added = (int64_t)NOW};
    memcpy(tr.key, w->ids[i].pk, 32);
    int rc = am_trust_add(t, &tr, NULL, &w->err);
    if (rc) return rc;
  }
  return 0;
}

/* MB of the pages of the announcements, of lst and lst_ref, the postings
 * of lst_index (16 bytes each: its pages hold more), the whole store, and
 * the mean bytes of a key list in lst_ref. */
static int sizes_fn(am_txn *t, void *arg) {
  double *mb = arg;
  int which[4] = {AM_DB_ANN, AM_DB_LST, AM_DB_LST_REF, AM_DB_LST_INDEX};
  for (int i = 0; i < 4; i++) {
    MDB_stat st;
    if (mdb_stat(t->txn, am_store_db(t->store, which[i]), &st)) return AM_EIO;
    mb[i] = which[i] == AM_DB_LST_INDEX
                ? (double)st.ms_entries * 16 / 1e6
                : (double)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
                      st.ms_psize / 1e6;
  }
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(am_store_env(t->store), &info);
  mdb_env_stat(am_store_env(t->store), &st);
  /* The mean size of a listing's key list. */
  MDB_cursor *c;
  MDB_val k, v;
  double sum = 0, cnt = 0;
  if (mdb_cursor_open(t->txn, am_store_db(t->store, AM_DB_LST_REF), &c) == 0) {
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      sum += (double)v.mv_size, cnt++;
    mdb_cursor_close(c);
  }
  mb[5] = cnt ? sum / cnt : 0;
  /* Less the free pages (as mdb_stat -f counts them: LMDB's table 0). */
  size_t pages = info.me_last_pgno + 1, free_pages = 0;
  if (mdb_cursor_open(t->txn, 0, &c) == 0) {
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      free_pages += *(const size_t *)v.mv_data;
    mdb_cursor_close(c);
  }
  mb[4] = (double)(pages - free_pages) * st.ms_psize / 1e6;
  return 0;
}

/* ---- queries ---- */

enum { Q_CITY_EVENTS, Q_JOBS_CONTRACT_CITY, Q_JOBS_SKILL, Q_TEXT_EVENTS, Q_TEXT_JOBS, Q__N };
static const char *qnames[Q__N] = {"upcoming events in a city", "jobs: contract + city",
                                   "jobs: skill", "events: free text", "jobs: free text"};

static void make_query(gen *g, int type, am_listing_query *q) {
  am_listing_query_init(q, type == Q_CITY_EVENTS || type == Q_TEXT_EVENTS ? AM_K_EVENT : AM_K_JOB);
  q->limit = 20;
  switch (type) {
  case Q_CITY_EVENTS:
    q->from = NOW + gen_rnd(g, 30) * DAY;
    q->city = cities[gen_rnd(g, 200)];
    break;
  case Q_JOBS_CONTRACT_CITY:
    q->contract = (int)gen_rnd(g, 8);
    q->city = cities[gen_rnd(g, 200)];
    break;
  case Q_JOBS_SKILL:
    q->skill = skills[gen_rnd(g, sizeof skills / sizeof *skills)];
    break;
  case Q_TEXT_EVENTS:
    q->text = event_texts[gen_rnd(g, sizeof event_texts / sizeof *event_texts)];
    q->from = NOW;
    break;
  default:
    q->text = job_texts[gen_rnd(g, sizeof job_texts / sizeof *job_texts)];
  }
}

typedef struct run {
  const am_listing_query *q;
  bool scan;
  am_listings l;
  am_error err;
} run;

static int run_fn(am_txn *t, void *arg) {
  run *r = arg;
  return r->scan ? am_listings_scan(t, r->q, &r->l, &r->err)
                 : am_listings_search(t, r->q, &r->l, &r->err);
}

/* Seconds for one query; *out keeps the results. */
static double timed(am_store *s, const am_listing_query *q, bool scan, am_listings *out) {
  run r = {.q = q, .scan = scan};
  double t0 = bench_now();
  int rc = am_store_read(s, run_fn, &r, &r.err);
  double dt = bench_now() - t0;
  if (rc) {
    fprintf(stderr, "bench: %s: %s\n", scan ? "scan" : "search", r.err.msg);
    exit(1);
  }
  *out = r.l;
  return dt;
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, dbl_cmp);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

static bool same(const am_listings *a, const am_listings *b) {
  if (a->total != b->total || a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (memcmp(a->v[i].id, b->v[i].id, AM_ANN_ID_BYTES)) return false;
  return true;
}

int main(int argc, char **argv) {
  bool quick = getenv("BENCH_QUICK") && *getenv("BENCH_QUICK") == '1';
  size_t n = quick ? 4000 : 100000, nq = quick ? 20 : 200, ns = quick ? 3 : 10;
  if (argc > 1) n = strtoul(argv[1], NULL, 10);
  if (argc > 2) nq = strtoul(argv[2], NULL, 10);
  if (argc > 3) ns = strtoul(argv[3], NULL, 10);
  if (!n || !nq || ns > nq) {
    fprintf(stderr, "usage: bench_listings [N] [queries] [scanned <= queries]\n");
    return 2;
  }
  for (size_t i = 0; i < 200; i++)
    snprintf(cities[i], sizeof cities[i], "%s%s%s", forms[i / 40][0], roots[i % 40],
             forms[i / 40][1]);

  static world w;
  w.g = (gen)GEN_INIT;
  w.n = n;
  for (int i = 0; i < ORIGINS; i++)
    if (am_identity_generate(&w.ids[i], NULL)) return 1;
  char dir[] = "/tmp/amicale-bench-listings-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  am_store_opts o = {.create = true, .map_size = (size_t)4 << 30};
  if (am_store_open(&w.s, dir, &o, &w.err)) {
    fprintf(stderr, "bench: %s\n", w.err.msg);
    return 1;
  }
  am_store_set_signer(w.s, &w.ids[0]);
  if (am_store_write(w.s, trust_fn, &w, &w.err)) {
    fprintf(stderr, "bench: %s\n", w.err.msg);
    return 1;
  }
  double t0 = bench_now();
  while (w.made < w.n) {
    batch b = {.w = &w, .saved = w};
    if (am_store_write(w.s, batch_fn, &b, &w.err)) {
      fprintf(stderr, "bench: building the store: %s\n", w.err.msg);
      return 1;
    }
  }
  double build = bench_now() - t0;
  printf("listings: %zu (%zu events, %zu jobs) from %d origins, 200 cities; built in %.1f s "
         "(sign + apply + every index)\n", n, (n + 1) / 2, n / 2, ORIGINS, build);
  double mb[6];
  if (!am_store_read(w.s, sizes_fn, mb, NULL))
    printf("sizes: store %.0f MB in use, announcements %.0f MB; listings: lst %.1f MB,\n"
           "       lst_ref %.1f MB (key lists of %.0f bytes on average), lst_index postings\n"
           "       %.1f MB (16 bytes each)\n", mb[4], mb[0], mb[1], mb[2], mb[5], mb[3]);
  printf("queries: %zu of each kind, first page of 20; the scan on %zu of them\n\n", nq, ns);
  bench_loadavg("before the queries");
  printf("%-28s %9s %9s %9s %9s %8s\n", "query", "matches", "idx med", "idx p99", "scan med",
         "ratio");

  int status = 0;
  gen qg = {0x5DEECE66DULL};
  double *ti = malloc(nq * sizeof *ti), *ts = malloc(ns * sizeof *ts);
  double *tis = malloc(ns * sizeof *tis);
  for (int type = 0; type < Q__N; type++) {
    size_t matches = 0, k = 0;
    for (size_t i = 0; i < nq; i++) {
      am_listing_query q;
      make_query(&qg, type, &q);
      am_listings a, b;
      ti[i] = timed(w.s, &q, false, &a);
      matches += a.total;
      if (i < ns) {
        /* The same query, scanned: the same answer, and the ratio over the
         * same queries. */
        tis[k] = ti[i];
        ts[k++] = timed(w.s, &q, true, &b);
        if (!same(&a, &b)) {
          fprintf(stderr, "bench: %s: indexed and scanned results differ\n", qnames[type]);
          status = 1;
        }
        am_listings_free(&b);
      }
      am_listings_free(&a);
    }
    double scan_med = pct(ts, k, 0.5), idx_same = pct(tis, k, 0.5);
    printf("%-28s %9.0f %7.3fms %7.3fms %7.1fms %7.0fx\n", qnames[type],
           (double)matches / (double)nq, pct(ti, nq, 0.5) * 1e3, pct(ti, nq, 0.99) * 1e3,
           scan_med * 1e3, scan_med / idx_same);
  }
  printf("\n(matches: mean total per query; ratio: scan median / indexed median over the\n"
         " scanned queries; target >= 50x for the selective ones)\n");
  bench_loadavg("after");
  free(ti), free(ts), free(tis);
  am_store_close(w.s);
  for (int i = 0; i < ORIGINS; i++) am_identity_wipe(&w.ids[i]);
  bench_rm_rf(dir);
  return status;
}
