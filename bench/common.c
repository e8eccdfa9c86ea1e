/* What the benchmarks share (common.h). */
#include "bench/common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/control.h"
#include "store/datadir.h"

/* ---- realistic announcements ---- */

uint64_t gen_next64(gen *g) {
  g->s ^= g->s << 13, g->s ^= g->s >> 7, g->s ^= g->s << 17;
  return g->s;
}

uint32_t gen_rnd(gen *g, uint32_t n) { return (uint32_t)(gen_next64(g) % n); }

#define PICK(g, a) (a[gen_rnd(g, sizeof a / sizeof *a)])

static const char *words[] = {"le", "la", "les", "des", "une", "pour", "avec", "dans", "sur",
  "anciens", "élèves", "promotion", "réseau", "rencontre", "soirée", "conférence", "projet",
  "équipe", "entreprise", "développement", "stratégie", "données", "ingénierie", "finance",
  "marché", "client", "innovation", "responsable", "expérience", "compétences", "métier",
  "échanges", "partage", "carrière", "mentorat", "international", "industrie", "énergie",
  "transition", "numérique", "santé", "recherche", "formation", "accueil", "programme",
  "intervenants", "débat", "table ronde", "cocktail", "networking", "opportunités", "été",
  "présentation", "témoignages", "après-midi", "inscription", "gratuite", "places", "limitées"};
static const char *given[] = {"Marie", "Jean", "Éléonore", "Lucas", "Chloé", "Hugo", "Inès",
  "Léa", "Thomas", "Camille", "Zoé", "Noé", "Anaïs", "Björn", "Åsa", "Jürgen", "María", "João"};
static const char *family[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard",
  "Petit", "Durand", "Leroy", "Moreau", "Lœvenbruck", "Åström", "García López", "Nguyen"};
static const char *employers[] = {"Société Générale", "BNP Paribas", "Airbus", "Thales",
  "TotalEnergies", "EDF", "Capgemini", "L'Oréal", "LVMH", "Sanofi", "Decathlon", "Michelin",
  "Renault", "Safran", "Orange", "Dassault Systèmes", "Ubisoft", "Doctolib", "Mistral AI"};
static const char *titles[] = {"Ingénieur logiciel", "Data Scientist", "Chef de projet",
  "Directeur financier", "Consultant senior", "Product Manager", "Responsable RH",
  "Analyste risques", "Ingénieure procédés", "Directrice marketing", "Auditeur"};
static const char *event_titles[] = {"Afterwork des anciens", "Conférence annuelle",
  "Gala de la promotion", "Table ronde : carrières dans l'énergie", "Forum entreprises",
  "Dîner des 10 ans de promo", "Atelier CV et entretiens", "Visite de site industriel"};
static const char *cities[] = {"Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Nantes",
  "Bordeaux", "Strasbourg", "Montréal", "Londres", "Genève", "Bruxelles", "München", "Tokyo"};
static const char *countries[] = {"France", "Canada", "Royaume-Uni", "Suisse", "Belgique",
  "Allemagne", "Japon"};
static const char *skills[] = {"Python", "SQL", "Java", "C++", "Gestion de projet", "Agile",
  "Finance", "Marketing", "Management", "Machine Learning", "Lean", "Audit", "Négociation",
  "Cybersécurité", "Cloud", "Supply chain", "Droit", "Design", "Statistiques", "Rust"};
static const char *langs[] = {"Français", "Anglais", "Espagnol", "Allemand", "Italien"};
static const char *programmes[] = {"Ingénieur généraliste", "Master Data Science",
  "Master Management", "MBA", "Double diplôme", "Mastère spécialisé", "Doctorat"};
static const char *venues[] = {"Maison des Anciens, 12 rue de la Paix", "Campus, amphithéâtre B",
  "Hôtel de ville, salle des fêtes", "Siège social, auditorium", "Péniche Le Marcounet"};

/* About target bytes of sentences of 12 words; lines: some sentences start
 * a new line. */
static char *text_of(gen *g, size_t target, bool lines) {
  char *s = malloc(target + 64);
  size_t n = 0;
  int sentence = 0;
  while (n < target) {
    const char *w = PICK(g, words);
    size_t k = strlen(w);
    if (n) s[n++] = sentence == 12 ? (lines && gen_rnd(g, 3) == 0 ? '\n' : ' ') : ' ';
    if (sentence == 12) sentence = 0;
    memcpy(s + n, w, k);
    n += k;
    if (++sentence == 12) s[n++] = '.';
  }
  s[n] = '\0';
  return s;
}

/* Setting one field: a copy of a string, a string taken over, a number, n
 * distinct items of a list. */
static void text(am_aval *v, const char *s) {
  v->s = strdup(s);
  v->set = true;
}
static void own(am_aval *v, char *s) {
  v->s = s;
  v->set = true;
}
static void num(am_aval *v, uint64_t u) {
  v->u = u;
  v->set = true;
}
static void list(gen *g, am_aval *v, const char **from, size_t nfrom, uint32_t n) {
  v->l.v = calloc(n, sizeof *v->l.v);
  for (uint32_t i = 0; i < n; i++) {
    /* Distinct items: consecutive picks from a random start. */
    v->l.v[i] = strdup(from[(gen_rnd(g, (uint32_t)nfrom) + i) % nfrom]);
  }
  v->l.n = n;
  v->set = true;
}

static void gen_event(gen *g, am_ann *a, uint64_t now) {
  am_aval *b = a->body;
  char t[200], url[200];
  const char *city = PICK(g, cities);
  snprintf(t, sizeof t, "%s - %s %u", PICK(g, event_titles), city, 2026 + gen_rnd(g, 2));
  text(&b[AM_EV_TITLE], t);
  own(&b[AM_EV_DESCRIPTION], text_of(g, 300 + gen_rnd(g, 1200), true));
  uint64_t start = now + 86400 * (1 + gen_rnd(g, 150));
  num(&b[AM_EV_STARTS_AT], start);
  num(&b[AM_EV_ENDS_AT], start + 3600 * (2 + gen_rnd(g, 6)));
  text(&b[AM_EV_TIMEZONE], "Europe/Paris");
  text(&b[AM_EV_VENUE], PICK(g, venues));
  text(&b[AM_EV_CITY], city);
  text(&b[AM_EV_COUNTRY], PICK(g, countries));
  if (gen_rnd(g, 4) == 0) {
    snprintf(url, sizeof url, "https://visio.example.org/r/%08x", gen_rnd(g, 1u << 31));
    text(&b[AM_EV_ONLINE], url);
  }
  text(&b[AM_EV_ORGANISER], "Association des anciens élèves");
  num(&b[AM_EV_CAPACITY], 20 + gen_rnd(g, 400));
  text(&b[AM_EV_LANGUAGE], "fr");
  /* Tags: words past the 9 short ones. */
  list(g, &b[AM_EV_TAGS], words + 9, sizeof words / sizeof *words - 9, 2 + gen_rnd(g, 3));
  snprintf(url, sizeof url, "https://anciens.example.org/evenements/%u/inscription",
           gen_rnd(g, 1u << 20));
  text(&b[AM_EV_REGISTRATION], url);
  num(&b[AM_EV_STATUS], AM_EV_SCHEDULED);
  a->expires = b[AM_EV_ENDS_AT].u + 86400;
}

static void gen_job(gen *g, am_ann *a, uint64_t now) {
  am_aval *b = a->body;
  char url[200];
  text(&b[AM_JOB_TITLE], PICK(g, titles));
  text(&b[AM_JOB_EMPLOYER], PICK(g, employers));
  num(&b[AM_JOB_CONTRACT], gen_rnd(g, 8));
  text(&b[AM_JOB_CITY], PICK(g, cities));
  text(&b[AM_JOB_COUNTRY], PICK(g, countries));
  num(&b[AM_JOB_REMOTE], gen_rnd(g, 3));
  own(&b[AM_JOB_DESCRIPTION], text_of(g, 800 + gen_rnd(g, 2200), true));
  list(g, &b[AM_JOB_SKILLS], skills, sizeof skills / sizeof *skills, 4 + gen_rnd(g, 5));
  num(&b[AM_JOB_EXPERIENCE], gen_rnd(g, 6));
  uint64_t lo = 30000 + 1000 * gen_rnd(g, 40);
  num(&b[AM_JOB_SALARY_MIN], lo);
  num(&b[AM_JOB_SALARY_MAX], lo + 1000 * gen_rnd(g, 30));
  text(&b[AM_JOB_CURRENCY], "EUR");
  num(&b[AM_JOB_SALARY_PERIOD], 0);
  snprintf(url, sizeof url, "https://carrieres.example.com/offres/%u", gen_rnd(g, 1u << 24));
  text(&b[AM_JOB_APPLY], url);
  num(&b[AM_JOB_POSTED], 20251201 + gen_rnd(g, 28));
  num(&b[AM_JOB_VALID_THROUGH], 20260601 + gen_rnd(g, 28));
  num(&b[AM_JOB_ALUMNI_ONLY], gen_rnd(g, 2));
  a->expires = now + 86400 * (60 + gen_rnd(g, 120));
}

static void gen_profile(gen *g, am_ann *a) {
  am_aval *b = a->body;
  char url[200];
  text(&b[AM_F_GIVEN_NAME], PICK(g, given));
  text(&b[AM_F_FAMILY_NAME], PICK(g, family));
  num(&b[AM_F_PROMO], 1975 + gen_rnd(g, 50));
  text(&b[AM_F_PROGRAMME], PICK(g, programmes));
  text(&b[AM_F_EMPLOYER], PICK(g, employers));
  text(&b[AM_F_JOB_TITLE], PICK(g, titles));
  text(&b[AM_F_CITY], PICK(g, cities));
  text(&b[AM_F_COUNTRY], PICK(g, countries));
  list(g, &b[AM_F_SKILLS], skills, sizeof skills / sizeof *skills, 2 + gen_rnd(g, 4));
  list(g, &b[AM_F_LANGUAGES], langs, sizeof langs / sizeof *langs, 1 + gen_rnd(g, 3));
  if (gen_rnd(g, 2)) {
    snprintf(url, sizeof url, "https://www.linkedin.com/in/membre-%u", gen_rnd(g, 1u << 30));
    text(&b[AM_F_LINKEDIN], url);
  }
  if (gen_rnd(g, 2)) own(&b[AM_F_BIO], text_of(g, 50 + gen_rnd(g, 350), false));
  num(&b[AM_F_MENTORING], gen_rnd(g, 2));
}

int gen_kind(gen *g) {
  int r = (int)gen_rnd(g, 10);
  return r < 4 ? AM_K_EVENT : r < 7 ? AM_K_JOB : AM_K_PROFILE;
}

void gen_body(gen *g, am_ann *a, uint64_t now) {
  if (a->kind == AM_K_EVENT) gen_event(g, a, now);
  else if (a->kind == AM_K_JOB) gen_job(g, a, now);
  else gen_profile(g, a);
}

/* ---- helpers ---- */

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu_self(double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  if (sys) *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_cpu_of(pid_t pid, double *sys) {
  if (sys) *sys = 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')'); /* the command may hold spaces */
  unsigned long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return 0;
  if (sys) *sys = (double)st / (double)sysconf(_SC_CLK_TCK);
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long bench_proc_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  size_t fl = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, fl)) kb = atol(line + fl);
  if (f) fclose(f);
  return kb;
}

void bench_loadavg(const char *when) {
  char b[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(b, sizeof b, f)) b[0] = '\0';
    fclose(f);
  }
  b[strcspn(b, "\n")] = '\0';
  printf("load average %s: %s\n", when, b);
}

void bench_rm_rf(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* ---- a node run by amicaled ---- */

int bench_daemon_start(bench_daemon *d, const char *amicaled, const char *tag, const char *name,
                       am_txn_fn fill, void *arg, am_error *err) {
  memset(d, 0, sizeof *d);
  snprintf(d->dir, sizeof d->dir, "/tmp/amicale-bench-%s-XXXXXX", tag);
  if (!mkdtemp(d->dir)) return am_fail(err, AM_EIO, "mkdtemp %s failed", d->dir);
  strcat(d->dir, "/node");
  if (am_node_create(d->dir, name, AM_KIND_SCHOOL, 0, err)) return -1;
  am_node n;
  if (am_node_open(&n, d->dir, AM_NODE_STORE | AM_NODE_KEY, err)) return -1;
  memcpy(d->key, n.id.pk, 32);
  int rc = fill ? am_store_write(n.store, fill, arg, err) : 0;
  am_node_close(&n);
  if (rc) return -1;
  d->pid = fork();
  if (d->pid < 0) return am_fail(err, AM_EIO, "fork failed");
  if (d->pid == 0) {
    execl(amicaled, amicaled, "--dir", d->dir, "--listen", "127.0.0.1:0", "--log-level", "error",
          (char *)NULL);
    _exit(127);
  }
  /* Wait for the control socket to answer (a deadline, polled). */
  json_t *req = json_pack("{s:s}", "cmd", "status"), *r = NULL;
  double deadline = bench_now() + 20;
  while (am_ctl_call(d->dir, req, &r, 2000, err)) {
    if (bench_now() > deadline) {
      json_decref(req);
      kill(d->pid, SIGKILL);
      waitpid(d->pid, NULL, 0);
      d->pid = 0;
      return am_fail(err, AM_EIO, "amicaled did not start");
    }
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
  snprintf(d->addr, sizeof d->addr, "%s", json_string_value(json_object_get(r, "listen")));
  json_decref(r);
  json_decref(req);
  return 0;
}

void bench_daemon_stop(bench_daemon *d) {
  if (d->pid > 0) {
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
  }
  d->dir[strlen(d->dir) - 5] = '\0'; /* less "/node" */
  bench_rm_rf(d->dir);
}
