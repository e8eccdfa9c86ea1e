/* Import and search benchmark.
 *
 * Generates N members (default 100,000) as a CSV file, imports it with the
 * real importer, then measures in the same run the baseline: raw LMDB puts
 * of the very records the import stored (same keys, same sizes, same batch
 * size, same environment flags) into a fresh environment. Prints both rates
 * and their ratio (target: import >= 0.5x raw).
 *
 * Then times a filtered search through the indexes against the full scan
 * of the member table that answers the same query (target: >= 20x), after
 * checking both return the same members.
 *
 * usage: bench_import [N] [batch] [import-only]   (uses /tmp) */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng % n);
}
#define PICK(a) (a[rnd(sizeof a / sizeof *a)])

static const char *given[] = {"Marie", "Jean", "Éléonore", "Lucas", "Chloé", "Hugo", "Inès",
  "Léa", "Thomas", "Camille", "Zoé", "Noé", "Anaïs", "Björn", "Åsa", "Jürgen", "María", "João",
  "Siobhán", "Yuki", "Chinedu", "Piotr", "Agnieszka", "Mathilde", "Gaëlle", "François", "Raphaël"};
static const char *family[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard",
  "Petit", "Durand", "Leroy", "Moreau", "Lœvenbruck", "Åström", "García López", "Nguyen",
  "Kowalski", "Müller", "O'Brien", "Fontaine", "Chevalier", "Lefèvre", "Mercier", "Girard",
  "Bonnet", "Dupont", "Lambert", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry"};
static const char *programmes[] = {"Ingénieur généraliste", "Master Data Science",
  "Master Management", "MBA", "Double diplôme", "Mastère spécialisé", "Doctorat"};
static const char *employers[] = {"Société Générale", "BNP Paribas", "Airbus", "Thales",
  "TotalEnergies", "EDF", "Capgemini", "L'Oréal", "LVMH", "Sanofi", "Decathlon", "Michelin",
  "Renault", "Stellantis", "Safran", "Orange", "Dassault Systèmes", "Ubisoft", "Doctolib",
  "Mistral AI", "Google", "Amazon", "Siemens", "Nestlé", "Spotify", "Vinci", "Alstom",
  "Schneider Electric", "Accenture", "Deloitte", "PwC", "EY", "KPMG", "Crédit Agricole",
  "AXA", "Engie", "Veolia", "Saint-Gobain", "Danone", "Hermès"};
static const char *titles[] = {"Ingénieur logiciel", "Data Scientist", "Chef de projet",
  "Directeur financier", "Consultant senior", "Product Manager", "Responsable RH",
  "Analyste risques", "Ingénieure procédés", "Directrice marketing", "CTO", "Auditeur",
  "Responsable logistique", "Chargée d'affaires", "Développeur back-end"};
static const char *sectors[] = {"Banque", "Aéronautique", "Énergie", "Conseil", "Tech",
  "Luxe", "Santé", "Distribution", "Automobile", "Industrie", "Assurance", "BTP"};
static const char *cities[] = {"Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Nantes",
  "Bordeaux", "Strasbourg", "Rennes", "Grenoble", "Montréal", "Londres", "Genève", "Bruxelles",
  "München", "Madrid", "Stockholm", "Łódź", "Tokyo", "New York", "Singapour", "Dakar"};
static const char *countries[] = {"France", "France", "France", "Canada", "Royaume-Uni",
  "Suisse", "Belgique", "Allemagne", "Espagne", "Suède", "Pologne", "Japon", "États-Unis"};
static const char *skills[] = {"Python", "SQL", "Java", "C++", "Gestion de projet", "Agile",
  "Finance", "Marketing", "Management", "Machine Learning", "Lean", "Audit", "Négociation",
  "Cybersécurité", "Cloud", "Supply chain", "Droit", "Design", "Statistiques", "Rust"};
static const char *langs[] = {"Français", "Anglais", "Espagnol", "Allemand", "Italien",
  "Chinois", "Arabe", "Japonais", "Portugais"};
static const char *bios[] = {"", "", "Passionné de finance durable.",
  "Ancien président du BDE, toujours partant pour aider les jeunes diplômés.",
  "Expatriée depuis dix ans, contact pour l'Asie.", "Cofondateur d'une startup.",
  "Mentor pour les élèves en reconversion."};

static void gen_csv(const char *path, size_t n) {
  FILE *f = fopen(path, "w");
  if (!f) { perror(path); exit(1); }
  fprintf(f, "Nom;Prénom;E-mail;Promo;Formation;Entreprise;Poste;Secteur;Ville;Pays;"
             "Compétences;Langues;Bio;Mentorat\n");
  for (size_t i = 0; i < n; i++) {
    const char *c = PICK(cities);
    fprintf(f, "%s;%s;member%zu@example.org;%u;%s;%s;%s;%s;%s;%s;%s, %s;%s, %s;%s;%s\n",
            PICK(family), PICK(given), i, 1970 + rnd(55), PICK(programmes), PICK(employers),
            PICK(titles), PICK(sectors), c, PICK(countries), PICK(skills), PICK(skills),
            PICK(langs), PICK(langs), PICK(bios), rnd(10) < 3 ? "oui" : "non");
  }
  fclose(f);
}

/* ---- raw LMDB baseline ------------------------------------------------- */

typedef struct record {
  void *key, *val;
  size_t klen, vlen;
} record;

/* Every key/value pair of one sub-database of the imported store. */
typedef struct collect {
  const char *db;
  record *v;
  size_t n;
  size_t bytes;
} collect;

static int collect_fn(am_txn *t, void *arg) {
  collect *c = arg;
  MDB_cursor *cur;
  MDB_val k, v;
  size_t cap = 1024;
  c->v = malloc(cap * sizeof *c->v);
  mdb_cursor_open(t->txn, am_store_dbi(t->store, c->db), &cur);
  for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
    if (c->n == cap) c->v = realloc(c->v, (cap *= 2) * sizeof *c->v);
    record *r = &c->v[c->n++];
    r->key = malloc(k.mv_size), r->klen = k.mv_size;
    r->val = malloc(v.mv_size), r->vlen = v.mv_size;
    memcpy(r->key, k.mv_data, k.mv_size);
    memcpy(r->val, v.mv_data, v.mv_size);
    c->bytes += v.mv_size;
  }
  mdb_cursor_close(cur);
  return 0;
}

static void collect_free(collect *c) {
  for (size_t i = 0; i < c->n; i++) free(c->v[i].key), free(c->v[i].val);
  free(c->v);
}

/* Puts the collected pairs into a fresh environment in `batches`
 * transactions, batch k holding the k-th slice of every collection, with
 * the same environment flags and growth policy as the store. */
static double raw_lmdb(const char *dir, collect *const *cs, size_t ncs, size_t batches) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  mkdir(dir, 0700);
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, AM_STORE_DEFAULT_MAP);
  if (mdb_env_open(env, dir, MDB_NOTLS, 0600)) { fprintf(stderr, "raw env failed\n"); exit(1); }
  double t0 = now_s();
  for (size_t b = 0; b < batches;) {
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (size_t ci = 0; !rc && ci < ncs; ci++) {
      const collect *c = cs[ci];
      rc = mdb_dbi_open(txn, c->db, MDB_CREATE, &dbi);
      for (size_t j = c->n * b / batches; !rc && j < c->n * (b + 1) / batches; j++) {
        MDB_val k = {c->v[j].klen, c->v[j].key}, v = {c->v[j].vlen, c->v[j].val};
        rc = mdb_put(txn, dbi, &k, &v, 0);
      }
    }
    if (!rc) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc == MDB_MAP_FULL) {
      MDB_envinfo info;
      mdb_env_info(env, &info);
      mdb_env_set_mapsize(env, info.me_mapsize * 2);
      continue;
    }
    if (rc) { fprintf(stderr, "raw put: %s\n", mdb_strerror(rc)); exit(1); }
    b++;
  }
  double dt = now_s() - t0;
  mdb_env_close(env);
  return dt;
}

/* ---- search ------------------------------------------------------------- */

typedef struct sq {
  const am_query *q;
  bool scan;
  am_results r;
} sq;

static int search_fn(am_txn *t, void *arg) {
  sq *s = arg;
  return s->scan ? am_search_scan(t, s->q, &s->r, NULL) : am_search(t, s->q, &s->r, NULL);
}

static double time_search(am_store *st, const am_query *q, bool scan, int reps, size_t *total) {
  double best = 1e9;
  for (int i = 0; i < reps; i++) {
    sq s = {.q = q, .scan = scan};
    double t0 = now_s();
    if (am_store_read(st, search_fn, &s, NULL)) { fprintf(stderr, "search failed\n"); exit(1); }
    double dt = now_s() - t0;
    if (dt < best) best = dt;
    *total = s.r.total;
    am_results_free(&s.r);
  }
  return best;
}

static void rm_rf(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
  char tmpl[] = "/tmp/amicale-bench-XXXXXX";
  char *dir = mkdtemp(tmpl);
  char csv[256], node[256], raw[256];
  if (!dir) { perror("mkdtemp"); return 1; }
  snprintf(csv, sizeof csv, "%s/members.csv", dir);
  snprintf(node, sizeof node, "%s/node", dir);
  snprintf(raw, sizeof raw, "%s/raw", dir);
  gen_csv(csv, n);

  am_error err = {0};
  am_node nd;
  if (am_node_create(node, "Bench", AM_KIND_SCHOOL, 0, &err) ||
      am_node_open(&nd, node, AM_NODE_STORE, &err)) {
    fprintf(stderr, "bench: %s\n", err.msg);
    return 1;
  }
  am_import_opts o = {.path = csv, .batch = batch, .on_duplicate = AM_DUP_UPDATE};
  am_import_stats stats;
  double t0 = now_s();
  if (am_import(nd.store, &o, &stats, &err)) { fprintf(stderr, "import: %s\n", err.msg); return 1; }
  double t_import = now_s() - t0;
  if (stats.added != n) { fprintf(stderr, "import added %zu of %zu\n", stats.added, n); return 1; }

  collect recs = {.db = "members"}, emails = {.db = "email"}, index = {.db = "index"};
  am_store_read(nd.store, collect_fn, &recs, NULL);
  am_store_read(nd.store, collect_fn, &emails, NULL);
  am_store_read(nd.store, collect_fn, &index, NULL);
  size_t batches = (n + batch - 1) / batch;
  char raw2[300];
  snprintf(raw2, sizeof raw2, "%s2", raw);
  collect *only_recs[] = {&recs}, *all[] = {&recs, &emails, &index};
  double t_raw = raw_lmdb(raw, only_recs, 1, batches);
  double t_raw_all = raw_lmdb(raw2, all, 3, batches);

  double import_rate = (double)n / t_import, raw_rate = (double)n / t_raw;
  printf("members:        %zu (CSV %s), batches of %zu rows\n", n, csv, batch);
  printf("import:         %8.3f s  %10.0f rows/s   (CSV parse, validation, folding, indexes)\n",
         t_import, import_rate);
  printf("raw LMDB puts:  %8.3f s  %10.0f records/s (same %zu records, avg %zu B, same batches)\n",
         t_raw, raw_rate, recs.n, recs.n ? recs.bytes / recs.n : 0);
  printf("ratio import/raw: %.2f  (target >= 0.50)\n", import_rate / raw_rate);
  printf("for context, raw puts of everything the import wrote (%zu records, %zu addresses,\n"
         "  %zu index chunks): %.3f s = %.0f rows/s; import/that: %.2f\n",
         recs.n, emails.n, index.n, t_raw_all, (double)n / t_raw_all, t_raw_all / t_import);

  if (argc > 3 && strcmp(argv[3], "import-only") == 0) { /* for profiling */
    collect_free(&recs);
    collect_free(&emails);
    collect_free(&index);
    am_node_close(&nd);
    rm_rf(dir);
    return 0;
  }
  /* A typical manager's query: a city, a promo range and a skill. */
  am_query q = {0};
  am_query_filter(&q, AM_F_CITY, "lyon", NULL);
  am_query_filter(&q, AM_F_SKILLS, "python", NULL);
  q.promo_min = 2010, q.promo_max = 2015;
  q.limit = 20;
  size_t ti = 0, ts = 0;
  double t_idx = time_search(nd.store, &q, false, 20, &ti);
  double t_scan = time_search(nd.store, &q, true, 3, &ts);
  printf("search city=Lyon skill=Python promo 2010-2015: %zu matches\n", ti);
  printf("  indexed:      %8.3f ms\n", t_idx * 1e3);
  printf("  full scan:    %8.3f ms (%zu matches)\n", t_scan * 1e3, ts);
  printf("  speed-up: %.0fx  (target >= 20x)\n", t_scan / t_idx);

  am_query q2 = {0};
  q2.text = "societe generale";
  q2.limit = 20;
  t_idx = time_search(nd.store, &q2, false, 20, &ti);
  t_scan = time_search(nd.store, &q2, true, 3, &ts);
  printf("search text \"societe generale\": %zu matches\n", ti);
  printf("  indexed:      %8.3f ms\n", t_idx * 1e3);
  printf("  full scan:    %8.3f ms (%zu matches)\n", t_scan * 1e3, ts);
  printf("  speed-up: %.0fx  (target >= 20x)\n", t_scan / t_idx);

  int status = ti == ts ? 0 : 1;
  if (status) fprintf(stderr, "bench: indexed and full-scan results differ\n");
  collect_free(&recs);
  collect_free(&emails);
  collect_free(&index);
  am_node_close(&nd);
  rm_rf(dir);
  return status;
}
