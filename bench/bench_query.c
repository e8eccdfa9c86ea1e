/* People search benchmark: the directory of federated profiles.
 *
 * Builds a store holding N federated profiles (default 1,000,000) from 50
 * origins plus 1,000 members of this node, then times three selective
 * queries through the indexes (am_people_search: median and p99 over 200
 * queries each) beside the full scan that answers the same query
 * (am_people_scan, the baseline of the same run, a few runs), after
 * checking both give the same page and total:
 *   city + sector, a surname as free text, a graduation-year range +
 *   employer.
 * Target: the indexed search >= 50x faster than the scan. Times are
 * printed, never asserted.
 *
 * How the store is filled: every profile goes through am_ann_apply, the
 * path of real ingest after verification (announcement tables, slots,
 * sums, then the catalog: directory row, dir_index, dir_ref), so the
 * index is the one ingest maintains. Signing and verifying 1M envelopes
 * would take minutes and measure libsodium; the profiles carry a dummy
 * signature (their id is the real hash of their signed part), and one
 * node announcement per origin is sealed and ingested for real.
 *
 * usage: bench_query [--profiles N] [--queries Q] [--scans S] [--quick]
 *        (BENCH_QUICK=1 or --quick: 20,000 profiles, for a smoke run; uses /tmp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "bench/common.h"
#include "crypto/sign.h"
#include "store/announcements.h"
#include "store/directory.h"
#include "store/listings.h"

#define NORIGINS 50
#define BATCH 20000

static const char *given[] = {"Marie", "Jean", "Éléonore", "Lucas", "Chloé", "Hugo", "Inès",
  "Léa", "Thomas", "Camille", "Zoé", "Noé", "Anaïs", "Björn", "Åsa", "Jürgen", "María", "João",
  "Siobhán", "Yuki", "Chinedu", "Piotr", "Agnieszka", "Mathilde", "Gaëlle", "François", "Raphaël",
  "Paul", "Louise", "Arthur", "Jade", "Gabriel", "Emma", "Louis", "Alice", "Jules", "Lina",
  "Adam", "Rose", "Nathan", "Anna", "Sacha", "Mila", "Mohamed", "Fatou", "Aïcha", "Wei", "Mei"};
/* Family names: syllables, so that a surname is shared by a few hundred
 * people of a million, as in a real population. */
static const char *syl1[] = {"Mar", "Ber", "Du", "Le", "Mo", "Fon", "Gi", "Rou", "Bon", "Lam",
  "Fau", "Chev", "Mer", "Gué", "Hen", "Pe", "Ri", "Ga", "Bla", "Dela", "Ro", "Cha", "Vi", "Ma",
  "Co", "Lo", "Sa", "Bé", "Pa", "Tho"};
static const char *syl2[] = {"tin", "nard", "bois", "roy", "reau", "taine", "rard", "sseau",
  "net", "bert", "vre", "alier", "cier", "rin", "ry", "tit", "chard", "llet", "nc", "porte",
  "ger", "zé", "dal", "quet", "lin", "rel", "ssier", "nier", "mas", "ud", "vin", "tel", "nod"};
static const char *sectors[] = {"Banque", "Aéronautique", "Énergie", "Conseil", "Logiciel",
  "Luxe", "Santé", "Distribution", "Automobile", "Industrie", "Assurance", "BTP", "Télécoms",
  "Médias", "Éducation", "Recherche", "Agroalimentaire", "Chimie", "Pharmacie", "Transport",
  "Logistique", "Immobilier", "Tourisme", "Hôtellerie", "Défense", "Spatial", "Ferroviaire",
  "Maritime", "Textile", "Cosmétique", "Jeu vidéo", "Cinéma", "Édition", "Sport", "Environnement",
  "Eau", "Nucléaire", "Semi-conducteurs", "Administration", "Associatif"};
static const char *city_base[] = {"Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Nantes",
  "Bordeaux", "Strasbourg", "Rennes", "Grenoble", "Montréal", "Londres", "Genève", "Bruxelles",
  "München", "Madrid", "Stockholm", "Łódź", "Tokyo", "New York", "Singapour", "Dakar", "Nice",
  "Montpellier", "Dijon", "Angers", "Brest", "Tours", "Limoges", "Amiens", "Metz", "Besançon",
  "Orléans", "Rouen", "Caen", "Nancy", "Reims", "Le Havre", "Toulon", "Clermont-Ferrand"};
static const char *city_suffix[] = {"", "-Nord", "-Sud", "-Est", "-Ouest"};
static const char *emp_root[] = {"Airbus", "Thales", "Safran", "Orange", "Renault", "Michelin",
  "Capgemini", "Sopra", "Atos", "Dassault", "Vinci", "Bouygues", "Engie", "Veolia", "Suez",
  "Danone", "Sanofi", "Servier", "Ipsen", "Valeo", "Faurecia", "Alstom", "Schneider", "Legrand",
  "Nexans", "Arkema", "Solvay", "Total", "EDF", "SNCF", "RATP", "Areva", "Naval", "Ubisoft",
  "Doctolib", "Mistral", "Criteo", "Deezer", "Qonto", "Alan", "Lydia", "BlaBlaCar", "Back Market",
  "Ledger", "Algolia", "Contentsquare", "Dataiku", "Mirakl", "Sorare", "Vestiaire"};
static const char *emp_suffix[] = {"", " SA", " France", " Group", " Conseil", " Services",
  " Industries", " Digital", " Europe", " International", " Solutions", " Technologies",
  " Systems", " Energy", " Finance", " Santé", " Lab", " Canada", " Suisse", " Belgique",
  " Deutschland", " UK", " Iberia", " Italia", " Nordics", " Polska", " Japan", " USA",
  " Africa", " Asia", " Research", " Ventures", " Capital", " Mobility", " Retail",
  " Aerospace", " Defence", " Data", " Cloud", " Health"};
static const char *titles[] = {"Ingénieur logiciel", "Data Scientist", "Chef de projet",
  "Directeur financier", "Consultant senior", "Product Manager", "Responsable RH",
  "Analyste risques", "Ingénieure procédés", "Directrice marketing", "CTO", "Auditeur",
  "Responsable logistique", "Chargée d'affaires", "Développeur back-end", "Architecte cloud",
  "Juriste", "Acheteuse", "Contrôleur de gestion", "Chercheuse"};
static const char *countries[] = {"France", "France", "France", "Canada", "Royaume-Uni",
  "Suisse", "Belgique", "Allemagne", "Espagne", "Suède", "Pologne", "Japon", "États-Unis"};
static const char *programmes[] = {"Ingénieur généraliste", "Master Data Science",
  "Master Management", "MBA", "Double diplôme", "Mastère spécialisé", "Doctorat"};
static const char *skills[] = {"Python", "SQL", "Java", "C++", "Gestion de projet", "Agile",
  "Finance", "Marketing", "Management", "Machine Learning", "Lean", "Audit", "Négociation",
  "Cybersécurité", "Cloud", "Supply chain", "Droit", "Design", "Statistiques", "Rust", "Go",
  "Kubernetes", "Excel", "SAP", "Comptabilité", "Fiscalité", "Communication", "UX", "Vente",
  "Achats", "Qualité", "Sûreté", "Énergie", "Robotique", "Électronique", "Mécanique"};
static const char *langs[] = {"Français", "Anglais", "Espagnol", "Allemand", "Italien",
  "Chinois", "Arabe", "Japonais", "Portugais"};
static const char *topics[] = {"Carrière", "Entrepreneuriat", "Reconversion", "International",
  "Finance", "Recherche"};

#define N(a) (sizeof a / sizeof *a)
#define PICK(g, a) (a[gen_rnd(g, (uint32_t)N(a))])

static void family(gen *g, char *out, size_t n) {
  snprintf(out, n, "%s%s", PICK(g, syl1), PICK(g, syl2));
}
static void city(gen *g, char *out, size_t n) {
  snprintf(out, n, "%s%s", PICK(g, city_base), PICK(g, city_suffix));
}
static void employer(gen *g, char *out, size_t n) {
  snprintf(out, n, "%s%s", PICK(g, emp_root), PICK(g, emp_suffix));
}

static void text(am_ann *a, int f, const char *s) {
  a->body[f] = (am_aval){.set = true, .s = strdup(s)};
}

static void list(gen *g, am_ann *a, int f, const char *const *pool, size_t npool, uint32_t n) {
  am_aval *v = &a->body[f];
  v->set = true;
  v->l.v = calloc(n, sizeof *v->l.v);
  for (uint32_t i = 0; i < n; i++) {
    const char *item = pool[gen_rnd(g, (uint32_t)npool)];
    bool dup = false;
    for (uint32_t j = 0; j < v->l.n; j++) dup |= strcmp(v->l.v[j], item) == 0;
    if (!dup) v->l.v[v->l.n++] = strdup(item);
  }
}

static void profile(gen *g, am_ann *a, uint64_t object, uint64_t version, uint64_t created) {
  char b[128];
  am_ann_init(a, AM_K_PROFILE);
  a->object = object, a->version = version, a->created = created;
  text(a, AM_F_GIVEN_NAME, PICK(g, given));
  family(g, b, sizeof b);
  text(a, AM_F_FAMILY_NAME, b);
  if (gen_rnd(g, 10) == 0) {
    family(g, b, sizeof b);
    text(a, AM_F_USUAL_NAME, b);
  }
  a->body[AM_F_PROMO] = (am_aval){.set = true, .u = 1960 + gen_rnd(g, 66)};
  text(a, AM_F_PROGRAMME, PICK(g, programmes));
  if (gen_rnd(g, 10)) {
    employer(g, b, sizeof b);
    text(a, AM_F_EMPLOYER, b);
    text(a, AM_F_JOB_TITLE, PICK(g, titles));
    text(a, AM_F_SECTOR, PICK(g, sectors));
  }
  city(g, b, sizeof b);
  text(a, AM_F_CITY, b);
  text(a, AM_F_COUNTRY, PICK(g, countries));
  list(g, a, AM_F_SKILLS, skills, N(skills), 1 + gen_rnd(g, 5));
  list(g, a, AM_F_LANGUAGES, langs, N(langs), 1 + gen_rnd(g, 3));
  bool mentor = gen_rnd(g, 5) == 0;
  a->body[AM_F_MENTORING] = (am_aval){.set = true, .u = mentor};
  if (mentor) list(g, a, AM_F_MENTORING_TOPICS, topics, N(topics), 1 + gen_rnd(g, 2));
}

/* ---- filling the store --------------------------------------------------- */

typedef struct fill {
  gen g, after; /* the generator before the batch, and after it */
  am_identity *origins;
  uint64_t next, end; /* profiles [next, end) */
  int64_t now;
} fill;

/* Encodes a with a dummy signature and applies it as ingest does once an
 * envelope is verified. */
static int apply_unsigned(am_txn *t, am_ann *a, int64_t now, am_error *err) {
  am_buf sp = {0}, env = {0};
  uint8_t sig[AM_ANN_SIG_BYTES] = {0};
  int rc = am_ann_encode_signed(a, &sp);
  if (!rc) {
    am_ann_hash((const uint8_t *)sp.data, sp.len, a->id);
    rc = am_ann_envelope((const uint8_t *)sp.data, sp.len, sig, &env);
  }
  am_ingest r;
  if (!rc) rc = am_ann_apply(t, a, (const uint8_t *)env.data, env.len, now, &r, err);
  if (!rc && !r.applied) rc = am_fail(err, AM_EINTERNAL, "not applied: %s", err->msg);
  am_buf_free(&sp);
  am_buf_free(&env);
  return rc;
}

static int fill_fn(am_txn *t, void *arg) {
  fill *f = arg;
  gen g = f->g; /* the transaction may run again */
  am_error err = {0};
  for (uint64_t i = f->next; i < f->end; i++) {
    int o = (int)(i % NORIGINS);
    am_ann a;
    profile(&g, &a, i / NORIGINS + 1, i / NORIGINS + 2, (uint64_t)f->now - 86400);
    memcpy(a.origin, f->origins[o].pk, AM_ANN_KEY_BYTES);
    int rc = apply_unsigned(t, &a, f->now, &err);
    am_ann_free(&a);
    if (rc) {
      if (!t->map_full) fprintf(stderr, "bench_query: %s\n", err.msg); /* else grown, run again */
      return rc;
    }
  }
  f->after = g;
  return 0;
}

typedef struct seed {
  am_identity *origins;
  int64_t now;
} seed;

/* Trust the origins; each announces itself (sealed and ingested for real). */
static int seed_fn(am_txn *t, void *arg) {
  seed *s = arg;
  am_error err = {0};
  for (int o = 0; o < NORIGINS; o++) {
    am_trust tr = {.added = s->now};
    memcpy(tr.key, s->origins[o].pk, AM_ANN_KEY_BYTES);
    snprintf(tr.name, sizeof tr.name, "Institution %d", o);
    int rc = am_trust_add(t, &tr, NULL, &err);
    if (rc) return rc;
    am_ann a;
    am_buf env = {0};
    am_ann_init(&a, AM_K_NODE);
    a.version = 1, a.created = (uint64_t)s->now - 86400;
    char name[64];
    snprintf(name, sizeof name, "École numéro %d", o);
    text(&a, AM_NODE_NAME, name);
    a.body[AM_NODE_KIND] = (am_aval){.set = true, .u = (uint64_t)(o % 4)};
    rc = am_ann_seal(&a, &s->origins[o], &env, &err);
    am_ingest r;
    if (!rc) rc = am_ann_ingest(t, (const uint8_t *)env.data, env.len, s->now, &r, &err);
    am_ann_free(&a);
    am_buf_free(&env);
    if (rc || !r.applied) {
      fprintf(stderr, "bench_query: node announcement: %s\n", err.msg);
      return rc ? rc : AM_EINTERNAL;
    }
  }
  return 0;
}

typedef struct members_arg {
  gen g;
  int n;
} members_arg;

static int members_fn(am_txn *t, void *arg) {
  members_arg *m = arg;
  gen g = m->g;
  char b[128];
  for (int i = 0; i < m->n; i++) {
    am_member r;
    am_member_init(&r);
    r.given_name = strdup(PICK(&g, given));
    family(&g, b, sizeof b);
    r.family_name = strdup(b);
    r.promo = 1960 + gen_rnd(&g, 66);
    employer(&g, b, sizeof b);
    r.employer = strdup(b);
    r.sector = strdup(PICK(&g, sectors));
    city(&g, b, sizeof b);
    r.city = strdup(b);
    r.consent_listed = 20250101;
    int rc = am_members_put(t, &r, 0, NULL);
    am_member_free(&r);
    if (rc) return rc;
  }
  return 0;
}

/* ---- queries ------------------------------------------------------------------ */

typedef struct qrun {
  am_people_query q;
  am_people r;
  bool scan;
  am_error err;
} qrun;

static int query_fn(am_txn *t, void *arg) {
  qrun *r = arg;
  return r->scan ? am_people_scan(t, &r->q, &r->r, &r->err)
                 : am_people_search(t, &r->q, &r->r, &r->err);
}

/* Fills q with the i-th query of a kind; b: the strings it points at. */
static void make_query(int kind, gen *g, am_people_query *q, char b[2][128]) {
  memset(q, 0, sizeof *q);
  q->viewer = AM_VIEWER_MANAGER;
  q->q.limit = 20;
  switch (kind) {
  case 0:
    city(g, b[0], sizeof b[0]);
    snprintf(b[1], sizeof b[1], "%s", PICK(g, sectors));
    am_query_filter(&q->q, AM_F_CITY, b[0], NULL);
    am_query_filter(&q->q, AM_F_SECTOR, b[1], NULL);
    break;
  case 1:
    family(g, b[0], sizeof b[0]);
    q->q.text = b[0];
    break;
  case 3: /* `amicale search` alone, as a member: a page of everyone by name */
    q->viewer = AM_VIEWER_MEMBER;
    q->q.offset = gen_rnd(g, 1000);
    break;
  default: {
    uint32_t y = 1960 + gen_rnd(g, 61);
    q->q.promo_min = y, q->q.promo_max = y + 5;
    employer(g, b[0], sizeof b[0]);
    am_query_filter(&q->q, AM_F_EMPLOYER, b[0], NULL);
    break;
  }
  }
}

static int dbl_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double run_one(am_store *s, qrun *r, size_t *total) {
  am_error err = {0};
  double t0 = bench_now();
  if (am_store_read(s, query_fn, r, &err)) {
    fprintf(stderr, "bench_query: %s\n", r->err.msg);
    exit(1);
  }
  double dt = bench_now() - t0;
  if (total) *total = r->r.total;
  return dt;
}

static bool same(const am_people *a, const am_people *b) {
  if (a->total != b->total || a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i].m.id != b->v[i].m.id || a->v[i].local != b->v[i].local ||
        memcmp(a->v[i].origin, b->v[i].origin, 32))
      return false;
  return true;
}

/* ---- --upgrade: the store format 4 -> 5 upgrade of the same data ---------- */

/* Makes the store a format-4 one (the catalog and member-key tables
 * dropped, format 4 written), then opens it as amicale does, which
 * rebuilds the catalog in one transaction: its time next to the fill's,
 * and the peak of anonymous memory (heap: the mapped file is not counted)
 * of the process doing it, sampled by its parent. */
static am_store *measure_upgrade(am_store *s, const char *dir, double fill_s) {
  static const char *const tables[] = {"dir", "dir_index", "dir_ref", "lst",
                                       "lst_index", "lst_ref", "member_key", "member_code"};
  size_t map = am_store_map_size(s);
  am_store_close(s);
  char path[4096];
  snprintf(path, sizeof path, "%s/store", dir);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) || mdb_env_set_mapsize(env, map) ||
      mdb_env_open(env, path, 0, 0600) || mdb_txn_begin(env, NULL, 0, &txn)) {
    fprintf(stderr, "bench_query: cannot open %s raw\n", path);
    return NULL;
  }
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    if (!mdb_dbi_open(txn, tables[i], 0, &dbi)) mdb_drop(txn, dbi, 1);
  uint8_t four[4] = {0, 0, 0, 4};
  MDB_val k = {6, "format"}, v = {4, four};
  if (mdb_dbi_open(txn, "meta", 0, &dbi) || mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn)) {
    fprintf(stderr, "bench_query: cannot make the store format 4\n");
    return NULL;
  }
  mdb_env_close(env);
  double t0 = bench_now();
  pid_t pid = fork();
  if (pid == 0) {
    am_store *u = NULL;
    am_store_opts o = {0};
    am_error err = {0};
    int rc = am_store_open(&u, dir, &o, &err);
    if (rc) fprintf(stderr, "bench_query: the upgrade failed: %s\n", err.msg);
    if (!rc) am_store_close(u);
    _exit(rc ? 1 : 0);
  }
  long peak = 0;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    long anon = bench_proc_kb(pid, "RssAnon:");
    if (anon > peak) peak = anon;
    usleep(20000);
  }
  double up_s = bench_now() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status)) return NULL;
  printf("upgrade from format 4: %.1f s to rebuild the catalog (%.2fx the fill), peak anonymous "
         "memory %.0f MB\n", up_s, up_s / fill_s, (double)peak / 1024);
  am_store *out = NULL;
  am_store_opts o = {0};
  am_error err = {0};
  if (am_store_open(&out, dir, &o, &err)) {
    fprintf(stderr, "bench_query: %s\n", err.msg);
    return NULL;
  }
  return out;
}

/* ---- --listings N: events and job offers in the same store ---------------- */

#define CITY_SAMPLES 64

typedef struct lfill {
  gen g, after;
  am_identity *origins;
  int64_t now;
  uint64_t vbase, next, end;
  char cities[CITY_SAMPLES][101]; /* of events generated, to query */
  int ncities;
} lfill;

/* Events and jobs alike from every origin (versions above the profiles'). */
static int lfill_fn(am_txn *t, void *arg) {
  lfill *f = arg;
  gen g = f->g;
  am_error err = {0};
  for (uint64_t j = f->next; j < f->end; j++) {
    int o = (int)(j % NORIGINS);
    uint64_t k = j / NORIGINS;
    am_ann a;
    am_ann_init(&a, j % 2 ? AM_K_JOB : AM_K_EVENT);
    gen_body(&g, &a, (uint64_t)f->now);
    memcpy(a.origin, f->origins[o].pk, AM_ANN_KEY_BYTES);
    a.object = k + 1, a.version = f->vbase + k + 1, a.created = (uint64_t)f->now - 3600;
    if (a.kind == AM_K_EVENT && a.body[AM_EV_CITY].set && f->ncities < CITY_SAMPLES && !(j % 97))
      snprintf(f->cities[f->ncities++], sizeof f->cities[0], "%s", a.body[AM_EV_CITY].s);
    int rc = apply_unsigned(t, &a, f->now, &err);
    am_ann_free(&a);
    if (rc) {
      if (!t->map_full) fprintf(stderr, "bench_query: %s\n", err.msg);
      return rc;
    }
  }
  f->after = g;
  return 0;
}

typedef struct lrun {
  am_listing_query q;
  bool scan;
  am_listings r;
} lrun;

static int lrun_fn(am_txn *t, void *arg) {
  lrun *r = arg;
  return (r->scan ? am_listings_scan : am_listings_search)(t, &r->q, &r->r, NULL);
}

static double lrun_one(am_store *s, lrun *r) {
  am_error err = {0};
  double t0 = bench_now();
  if (am_store_read(s, lrun_fn, r, &err)) fprintf(stderr, "bench_query: %s\n", err.msg);
  return bench_now() - t0;
}

/* Upcoming events in a city, indexed beside the scan of the same store. */
static int bench_listings_in(am_store *s, am_identity *origins, int64_t now, uint64_t profiles,
                             uint64_t n, int nq, int nscan) {
  lfill *f = calloc(1, sizeof *f);
  if (!f) return 1;
  *f = (lfill){.g = {0xBADC0FFEE0DDF00DULL}, .origins = origins, .now = now,
               .vbase = profiles / NORIGINS + 10};
  double t0 = bench_now();
  am_error err = {0};
  for (uint64_t i = 0; i < n; i += BATCH) {
    f->next = i, f->end = i + BATCH < n ? i + BATCH : n;
    if (am_store_write(s, lfill_fn, f, &err)) { free(f); return 1; }
    f->g = f->after;
  }
  printf("%llu events and job offers added in %.1f s\n", (unsigned long long)n, bench_now() - t0);
  if (!f->ncities) { free(f); return 1; }
  double *lat = calloc((size_t)nq, sizeof *lat);
  size_t matched = 0;
  for (int i = 0; i < nq; i++) {
    lrun r = {0};
    am_listing_query_init(&r.q, AM_K_EVENT);
    r.q.from = (uint64_t)now, r.q.city = f->cities[i % f->ncities], r.q.limit = 20;
    lat[i] = lrun_one(s, &r);
    matched += r.r.total;
    am_listings_free(&r.r);
  }
  qsort(lat, (size_t)nq, sizeof *lat, dbl_cmp);
  double med = lat[nq / 2], p99 = lat[(size_t)((nq - 1) * 0.99)], scan = 0;
  for (int i = 0; i < nscan; i++) {
    lrun r = {0}, rs = {0};
    am_listing_query_init(&r.q, AM_K_EVENT);
    r.q.from = (uint64_t)now, r.q.city = f->cities[i % f->ncities], r.q.limit = 20;
    rs.q = r.q, rs.scan = true;
    lrun_one(s, &r);
    scan += lrun_one(s, &rs);
    bool same_ids = r.r.total == rs.r.total && r.r.n == rs.r.n;
    for (size_t k = 0; same_ids && k < r.r.n; k++)
      same_ids = !memcmp(r.r.v[k].id, rs.r.v[k].id, AM_ANN_ID_BYTES);
    am_listings_free(&r.r), am_listings_free(&rs.r);
    if (!same_ids) {
      fprintf(stderr, "bench_query: the scan and the index disagree on upcoming events\n");
      free(lat), free(f);
      return 1;
    }
  }
  scan /= nscan;
  printf("%-24s indexed: median %8.3f ms  p99 %8.3f ms  (%.0f matches on average)\n"
         "%-24s scan:    mean   %8.1f ms over %d runs  ->  median %.0fx faster\n",
         "upcoming events in city", med * 1e3, p99 * 1e3, (double)matched / nq, "", scan * 1e3,
         nscan, scan / med);
  free(lat), free(f);
  return 0;
}

int main(int argc, char **argv) {
  uint64_t n = 1000000;
  int nq = 200, nscan = 3;
  bool upgrade = false;
  uint64_t nlist = 100000;
  const char *quick = getenv("BENCH_QUICK");
  if (quick && *quick && strcmp(quick, "0")) n = 20000, nlist = 4000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) n = 20000, nlist = 4000;
    else if (!strcmp(argv[i], "--profiles") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--queries") && i + 1 < argc) nq = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--scans") && i + 1 < argc) nscan = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--upgrade")) upgrade = true;
    else if (!strcmp(argv[i], "--listings") && i + 1 < argc) nlist = strtoull(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: bench_query [--profiles N] [--listings N] [--queries Q] [--scans S] [--quick] [--upgrade]\n");
      return 2;
    }
  }
  if (n < 1000 || nq < 1 || nscan < 1) {
    fprintf(stderr, "bench_query: at least 1000 profiles, 1 query, 1 scan\n");
    return 2;
  }
  char dir[] = "/tmp/bench-query-XXXXXX";
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  am_error err = {0};
  am_store *s = NULL;
  am_store_opts o = {.create = true, .map_size = (size_t)1 << 30};
  if (am_store_open(&s, dir, &o, &err)) {
    fprintf(stderr, "bench_query: %s\n", err.msg);
    return 1;
  }
  am_identity me, *origins = calloc(NORIGINS, sizeof *origins);
  if (!origins || am_identity_generate(&me, &err)) return 1;
  for (int i = 0; i < NORIGINS; i++)
    if (am_identity_generate(&origins[i], &err)) return 1;
  int64_t now = am_now();

  printf("bench_query: %llu federated profiles from %d origins, 1000 local members\n",
         (unsigned long long)n, NORIGINS);
  bench_loadavg("before");
  members_arg ma = {GEN_INIT, 1000};
  if (am_store_write(s, members_fn, &ma, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  am_store_set_signer(s, &me);
  seed sd = {origins, now};
  if (am_store_write(s, seed_fn, &sd, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  fill f = {.g = {0x1234567887654321ULL}, .origins = origins, .now = now};
  double t0 = bench_now();
  for (uint64_t i = 0; i < n; i += BATCH) {
    f.next = i, f.end = i + BATCH < n ? i + BATCH : n;
    if (am_store_write(s, fill_fn, &f, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    f.g = f.after; /* committed: the next batch goes on from there */
    if ((i / BATCH) % 10 == 9) {
      printf("  %llu profiles, %.0f/s\n", (unsigned long long)f.end, (double)f.end / (bench_now() - t0));
      fflush(stdout);
    }
  }
  double fill_s = bench_now() - t0;
  printf("filled in %.1f s (%.0f profiles/s through am_ann_apply and the directory), map %.2f GB\n",
         fill_s, (double)n / fill_s, (double)am_store_map_size(s) / 1e9);
  if (upgrade && (s = measure_upgrade(s, dir, fill_s)) == NULL) return 1;

  static const char *const names[] = {"city + sector", "surname (free text)",
                                      "promo range + employer", "everyone, a page by name"};
  gen g = {0xC0FFEE1234567ULL};
  for (int kind = 0; kind < 4; kind++) {
    double *lat = calloc((size_t)nq, sizeof *lat);
    size_t matched = 0, total;
    for (int i = 0; i < nq; i++) {
      char b[2][128];
      qrun r = {0};
      make_query(kind, &g, &r.q, b);
      lat[i] = run_one(s, &r, &total);
      matched += total;
      am_people_free(&r.r);
    }
    qsort(lat, (size_t)nq, sizeof *lat, dbl_cmp);
    double med = lat[nq / 2], p99 = lat[(size_t)((nq - 1) * 0.99)];
    /* The baseline: the scan of a few of the same queries, checked equal. */
    double scan_sum = 0, idx_sum = 0;
    for (int i = 0; i < nscan; i++) {
      char b[2][128];
      qrun r = {0}, rs = {0};
      make_query(kind, &g, &r.q, b);
      rs.q = r.q;
      rs.scan = true;
      idx_sum += run_one(s, &r, NULL);
      scan_sum += run_one(s, &rs, NULL);
      if (!same(&r.r, &rs.r)) {
        fprintf(stderr, "bench_query: the scan and the index disagree on %s\n", names[kind]);
        return 1;
      }
      am_people_free(&r.r);
      am_people_free(&rs.r);
    }
    double scan = scan_sum / nscan;
    printf("%-24s indexed: median %8.3f ms  p99 %8.3f ms  (%.0f matches on average)\n"
           "%-24s scan:    mean   %8.1f ms over %d runs  ->  median %.0fx faster (same-run "
           "indexed mean of those: %.3f ms, %.0fx)\n",
           names[kind], med * 1e3, p99 * 1e3, (double)matched / nq, "", scan * 1e3, nscan,
           scan / med, idx_sum / nscan * 1e3, scan / (idx_sum / nscan));
    free(lat);
  }
  if (nlist && bench_listings_in(s, origins, now, n, nlist, nq, nscan)) return 1;
  printf("memory: RSS %ld kB, peak %ld kB\n", bench_proc_kb(getpid(), "VmRSS:"),
         bench_proc_kb(getpid(), "VmHWM:"));
  bench_loadavg("after");
  am_store_close(s);
  bench_rm_rf(dir);
  am_identity_wipe(&me);
  for (int i = 0; i < NORIGINS; i++) am_identity_wipe(&origins[i]);
  free(origins);
  return 0;
}
