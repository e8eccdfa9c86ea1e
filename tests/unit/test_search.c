/* store/search.c: the indexed search must answer exactly what the full
 * scan answers (same members, same order, same total), for random
 * directories and random queries, after adds, edits and removals; and the
 * accent- and case-insensitive matching users expect. */
#include <stdarg.h>

#include "store/datadir.h"
#include "store/search.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"


static uint64_t rng = 12345;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng % n);
}
#define PICK(a) (a[rnd(sizeof a / sizeof *a)])

static const char *given[] = {"Éléonore", "Eleonore", "Jean-Pierre", "Åsa", "Zoé", "Marc", "Inès",
                              "Łukasz", "Noël", "Chloé"};
static const char *family[] = {"Lœvenbruck", "Loevenbruck", "Åström", "Dubois", "D'Arcy",
                               "Martin", "García López", "Müller", "Muller", "Nguyễn"};
static const char *employers[] = {"Société Générale", "SOCIETE GENERALE", "Airbus", "L'Oréal",
                                  "Thales", "Crédit Agricole", ""};
static const char *cities[] = {"Paris", "paris", "Łódź", "Lodz", "Montréal", "Lyon", ""};
static const char *skills[] = {"Python", "python", "SQL", "Gestion de projet", "C++", "Lean"};
static const char *bios[] = {"", "Passionnée de finance.", "Ancien du BDE; mentor.",
                             "Expatrié à Montréal depuis 2015."};
static const char *texts[] = {"eleonore", "ELEO", "loevenbruck", "lœvenbruck", "astrom",
                              "societe generale", "soc gen", "jean pierre", "muller", "d arcy",
                              "nguyen", "mentor", "montreal", "zz", "é", "finance paris"};

static void set(am_member *m, int f, const char *v) {
  am_member_set(m, f, v, strlen(v), NULL);
}

static void random_member(am_member *m) {
  char buf[128];
  am_member_init(m);
  set(m, AM_F_GIVEN_NAME, PICK(given));
  set(m, AM_F_FAMILY_NAME, PICK(family));
  if (rnd(4) == 0) set(m, AM_F_USUAL_NAME, PICK(family));
  snprintf(buf, sizeof buf, "%u", 1995 + rnd(30));
  if (rnd(8)) set(m, AM_F_PROMO, buf);
  set(m, AM_F_EMPLOYER, PICK(employers));
  set(m, AM_F_CITY, PICK(cities));
  snprintf(buf, sizeof buf, "%s, %s", PICK(skills), PICK(skills));
  set(m, AM_F_SKILLS, buf);
  set(m, AM_F_BIO, PICK(bios));
  m->mentoring = rnd(3) == 0;
}

typedef struct world {
  am_node n;
  uint64_t ids[6000];
  size_t nids;
} world;

typedef struct fill_arg {
  world *w;
  size_t count;
  uint64_t seed;
} fill_arg;

static int fill_fn(am_txn *t, void *arg) {
  fill_arg *f = arg;
  rng = f->seed; /* a retried run makes the same members */
  size_t base = f->w->nids;
  for (size_t i = 0; i < f->count; i++) {
    am_member m;
    random_member(&m);
    int rc = am_members_put(t, &m, 0, NULL);
    if (!rc) f->w->ids[base + i] = m.id;
    am_member_free(&m);
    if (rc) return rc;
  }
  return 0;
}

/* Edits a third of the members and removes a tenth. */
static int churn_fn(am_txn *t, void *arg) {
  world *w = arg;
  for (size_t i = 0; i < w->nids; i++) {
    if (!w->ids[i]) continue;
    uint32_t r = rnd(30);
    if (r < 3) {
      int rc = am_members_remove(t, w->ids[i], NULL);
      if (rc) return rc;
      w->ids[i] = 0;
    } else if (r < 10) {
      am_member m;
      int rc = am_members_get(t, w->ids[i], &m, NULL);
      if (rc) return rc;
      set(&m, AM_F_EMPLOYER, PICK(employers));
      set(&m, AM_F_FAMILY_NAME, PICK(family));
      char y[8];
      snprintf(y, sizeof y, "%u", 1995 + rnd(30));
      set(&m, AM_F_PROMO, r < 5 ? "" : y);
      m.mentoring = !m.mentoring;
      rc = am_members_put(t, &m, 0, NULL);
      am_member_free(&m);
      if (rc) return rc;
    }
  }
  return 0;
}

typedef struct both {
  const am_query *q;
  am_results a, b;
  int rca, rcb;
} both;

static int both_fn(am_txn *t, void *arg) {
  both *x = arg;
  x->rca = am_search(t, x->q, &x->a, NULL);
  x->rcb = am_search_scan(t, x->q, &x->b, NULL);
  return 0;
}

/* Returns 1 when indexed and scanned answers agree. */
static int same_answer(am_store *s, const am_query *q, const char *what) {
  both x = {.q = q};
  am_store_read(s, both_fn, &x, NULL);
  int ok = x.rca == 0 && x.rcb == 0 && x.a.total == x.b.total && x.a.n == x.b.n;
  for (size_t i = 0; ok && i < x.a.n; i++) ok = x.a.v[i].id == x.b.v[i].id;
  if (!ok)
    fprintf(stderr, "query %s: indexed %zu/%zu (rc %d), scan %zu/%zu (rc %d)\n", what, x.a.n,
            x.a.total, x.rca, x.b.n, x.b.total, x.rcb);
  am_results_free(&x.a);
  am_results_free(&x.b);
  return ok;
}

static void random_query(am_query *q, char *desc, size_t dn) {
  memset(q, 0, sizeof *q);
  int used = 0;
  desc[0] = '\0';
  if (rnd(2)) {
    q->text = PICK(texts);
    used += snprintf(desc + used, dn - used, "text=%s ", q->text);
  }
  if (rnd(3) == 0) {
    const char *e = PICK(employers);
    if (*e) am_query_filter(q, AM_F_EMPLOYER, e, NULL), used += snprintf(desc + used, dn - used, "employer=%s ", e);
  }
  if (rnd(3) == 0) {
    const char *c = PICK(cities);
    if (*c) am_query_filter(q, AM_F_CITY, c, NULL), used += snprintf(desc + used, dn - used, "city=%s ", c);
  }
  if (rnd(3) == 0) {
    const char *k = PICK(skills);
    am_query_filter(q, AM_F_SKILLS, k, NULL);
    used += snprintf(desc + used, dn - used, "skill=%s ", k);
  }
  if (rnd(3) == 0) {
    q->promo_min = rnd(2) ? 2000 + rnd(10) : 0;
    q->promo_max = rnd(2) ? 2010 + rnd(15) : 0;
    used += snprintf(desc + used, dn - used, "promo=%u-%u ", q->promo_min, q->promo_max);
  }
  if (rnd(4) == 0) q->mentoring = true, used += snprintf(desc + used, dn - used, "mentoring ");
  q->sort = rnd(2) ? AM_SORT_PROMO : AM_SORT_NAME;
  q->limit = rnd(2) ? 0 : 1 + rnd(40);
  q->offset = rnd(3) == 0 ? rnd(60) : 0;
  snprintf(desc + used, dn - used, "sort=%d limit=%zu offset=%zu", q->sort, q->limit, q->offset);
}

static world *make_world(const char *name, size_t count) {
  char dir[256];
  am_error err = {0};
  world *w = calloc(1, sizeof *w);
  snprintf(dir, sizeof dir, "%s/%s", fx_scratch_dir(), name);
  if (am_node_create(dir, "Search", AM_KIND_SCHOOL, 0, &err) ||
      am_node_open(&w->n, dir, AM_NODE_STORE, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    free(w);
    return NULL;
  }
  for (size_t done = 0; done < count; done += 1000) {
    fill_arg f = {w, count - done < 1000 ? count - done : 1000, rng};
    if (am_store_write(w->n.store, fill_fn, &f, &err)) {
      fprintf(stderr, "%s\n", err.msg);
      return w;
    }
    w->nids += f.count;
  }
  return w;
}

static void free_world(world *w) {
  if (!w) return;
  am_node_close(&w->n);
  free(w);
}

static void test_index_equals_scan_small(void) {
  world *w = make_world("small", 600);
  REQUIRE(w);
  char desc[256];
  int bad = 0;
  for (int i = 0; i < 300; i++) {
    am_query q;
    random_query(&q, desc, sizeof desc);
    bad += !same_answer(w->n.store, &q, desc);
  }
  CHECK_INT(bad, 0);
  /* After edits and removals the indexes still agree with the records. */
  am_error err = {0};
  CHECK_INT(am_store_write(w->n.store, churn_fn, w, &err), 0);
  for (int i = 0; i < 300; i++) {
    am_query q;
    random_query(&q, desc, sizeof desc);
    bad += !same_answer(w->n.store, &q, desc);
  }
  CHECK_INT(bad, 0);
  free_world(w);
}

/* Over 4096 matches the order comes from walking the name index. */
static void test_index_equals_scan_large(void) {
  world *w = make_world("large", 5000);
  REQUIRE(w);
  am_query q;
  memset(&q, 0, sizeof q);
  int bad = 0;
  size_t offsets[] = {0, 17, 4090, 4999, 5000, 7000};
  for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
    q.offset = offsets[i];
    q.limit = 25;
    q.sort = AM_SORT_NAME;
    bad += !same_answer(w->n.store, &q, "all by name");
    q.sort = AM_SORT_PROMO;
    bad += !same_answer(w->n.store, &q, "all by promo");
    q.sort = AM_SORT_NAME;
    q.promo_min = 1990; /* a filter matching almost everyone */
    bad += !same_answer(w->n.store, &q, "promo>=1990 by name");
    q.promo_min = 0;
  }
  CHECK_INT(bad, 0);
  free_world(w);
}

typedef struct names {
  const am_query *q;
  char got[512];
} names;

static int names_fn(am_txn *t, void *arg) {
  names *x = arg;
  am_results r;
  int rc = am_search(t, x->q, &r, NULL);
  size_t used = 0;
  x->got[0] = '\0';
  for (size_t i = 0; !rc && i < r.n; i++)
    used += (size_t)snprintf(x->got + used, sizeof x->got - used, "%s%s", i ? "," : "",
                             r.v[i].family_name ? r.v[i].family_name : "");
  if (!rc) am_results_free(&r);
  return rc;
}

static const char *who(am_store *s, const char *text, int field, const char *value) {
  static names x;
  am_query q;
  memset(&q, 0, sizeof q);
  q.text = text;
  if (value) am_query_filter(&q, field, value, NULL);
  x.q = &q;
  if (am_store_read(s, names_fn, &x, NULL)) return "(error)";
  return x.got;
}

typedef struct named {
  const char *given, *family, *employer, *city;
} named;

static int add_named_fn(am_txn *t, void *arg) {
  const named *v = arg;
  for (; v->family; v++) {
    am_member m;
    am_member_init(&m);
    set(&m, AM_F_GIVEN_NAME, v->given);
    set(&m, AM_F_FAMILY_NAME, v->family);
    set(&m, AM_F_EMPLOYER, v->employer);
    set(&m, AM_F_CITY, v->city);
    int rc = am_members_put(t, &m, 0, NULL);
    am_member_free(&m);
    if (rc) return rc;
  }
  return 0;
}

static void test_what_users_type(void) {
  char dir[256];
  am_error err = {0};
  am_node n;
  snprintf(dir, sizeof dir, "%s/users", fx_scratch_dir());
  REQUIRE(am_node_create(dir, "U", AM_KIND_SCHOOL, 0, &err) == 0);
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  static const named people[] = {
    {"Éléonore", "Dubois", "Société Générale", "Paris"},
    {"Mathilde", "Lœvenbruck", "Airbus", "Toulouse"},
    {"Lars", "Åström", "Spotify", "Stockholm"},
    {"Piotr", "Kowalski", "Allegro", "Łódź"},
    {"Jean-Pierre", "Straße", "Siemens", "München"},
    {NULL, NULL, NULL, NULL},
  };
  REQUIRE(am_store_write(n.store, add_named_fn, (void *)people, &err) == 0);
  am_store *s = n.store;
  CHECK_STR(who(s, "eleonore", 0, NULL), "Dubois");
  CHECK_STR(who(s, "ÉLÉONORE", 0, NULL), "Dubois");
  CHECK_STR(who(s, "LOEVENBRUCK", 0, NULL), "Lœvenbruck");
  CHECK_STR(who(s, "lœvenbruck", 0, NULL), "Lœvenbruck");
  CHECK_STR(who(s, "astrom", 0, NULL), "Åström");
  CHECK_STR(who(s, "Åström", 0, NULL), "Åström");
  CHECK_STR(who(s, "strasse", 0, NULL), "Straße");
  CHECK_STR(who(s, "jean pierre", 0, NULL), "Straße");
  CHECK_STR(who(s, "societe generale", 0, NULL), "Dubois");
  CHECK_STR(who(s, "soc gen", 0, NULL), "Dubois");
  CHECK_STR(who(s, NULL, AM_F_EMPLOYER, "societe generale"), "Dubois");
  CHECK_STR(who(s, NULL, AM_F_EMPLOYER, "SOCIÉTÉ GÉNÉRALE"), "Dubois");
  CHECK_STR(who(s, NULL, AM_F_EMPLOYER, "societe"), ""); /* exact value only */
  CHECK_STR(who(s, NULL, AM_F_CITY, "lodz"), "Kowalski");
  CHECK_STR(who(s, NULL, AM_F_CITY, "munchen"), "Straße");
  CHECK_STR(who(s, "nobody", 0, NULL), "");
  am_node_close(&n);
}

/* A value whose folded form is longer than an index key: cut once, the
 * same way when stored and when searched (U+FDFA folds to 18 letters). */
static int add_long_fn(am_txn *t, void *arg) {
  am_member m;
  am_member_init(&m);
  set(&m, AM_F_FAMILY_NAME, "Longue");
  set(&m, AM_F_PROGRAMME, arg);
  int rc = am_members_put(t, &m, 0, NULL);
  am_member_free(&m);
  return rc;
}

static void test_long_exact_value(void) {
  char dir[256], value[200] = "";
  am_error err = {0};
  am_node n;
  for (int i = 0; i < 60; i++) strcat(value, "\xef\xb7\xba"); /* U+FDFA */
  snprintf(dir, sizeof dir, "%s/long", fx_scratch_dir());
  REQUIRE(am_node_create(dir, "L", AM_KIND_SCHOOL, 0, &err) == 0);
  REQUIRE(am_node_open(&n, dir, AM_NODE_STORE, &err) == 0);
  REQUIRE(am_store_write(n.store, add_long_fn, value, &err) == 0);
  CHECK_STR(who(n.store, NULL, AM_F_PROGRAMME, value), "Longue");
  am_query q;
  memset(&q, 0, sizeof q);
  am_query_filter(&q, AM_F_PROGRAMME, value, NULL);
  CHECK(same_answer(n.store, &q, "long programme"));
  am_node_close(&n);
}

int main(void) {
  if (!fx_scratch("search")) return 1;
  RUN(test_what_users_type);
  RUN(test_long_exact_value);
  RUN(test_index_equals_scan_small);
  RUN(test_index_equals_scan_large);
  if (fx_scratch_remove()) return 1;
  return TEST_SUMMARY();
}
