/* cli/import.c through its library entry (am_import): batches re-run when
 * the map grows must neither report twice nor lose or double rows;
 * strict and dry-run modes write nothing; duplicates across batches are
 * found; counts are exact. */
#include <sys/stat.h>

#include "cli/cli.h"
#include "tests/test.h"

static char root[] = "/tmp/amicale-test-import-XXXXXX";
static int seq;

static am_node *node(size_t map) {
  static am_node n;
  char dir[256];
  am_error err = {0};
  snprintf(dir, sizeof dir, "%s/node%d", root, ++seq);
  if (am_node_create(dir, "Import", AM_KIND_SCHOOL, map, &err) ||
      am_node_open(&n, dir, AM_NODE_STORE, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return NULL;
  }
  return &n;
}

/* Writes a CSV of n members; row k (1-based data row) gets a bad year when
 * bad(k) is true and repeats row 1's address when dup(k). */
static const char *make_csv(size_t n, int bad_every, size_t dup_row) {
  static char path[256];
  snprintf(path, sizeof path, "%s/f%d.csv", root, ++seq);
  FILE *f = fopen(path, "w");
  if (!f) return NULL;
  fprintf(f, "Nom;Prénom;E-mail;Promo;Bio\n");
  for (size_t k = 1; k <= n; k++) {
    unsigned year = bad_every && k % (size_t)bad_every == 0 ? 3015 : 1990 + (unsigned)(k % 30);
    fprintf(f, "Nom%zu;Prénom;m%zu@example.org;%u;\"%s\"\n", k, k == dup_row ? (size_t)1 : k, year,
            "Une biographie assez longue pour remplir des pages de la base de données, "
            "répétée pour que la carte se remplisse vite. Une biographie assez longue pour "
            "remplir des pages de la base de données, répétée pour que la carte se remplisse.");
  }
  fclose(f);
  return path;
}

static int count_fn(am_txn *t, void *arg) { return am_members_count(t, arg); }

static size_t members(am_node *n) {
  size_t c = 0;
  am_store_read(n->store, count_fn, &c, NULL);
  return c;
}

/* Counts lines of the report that contain needle. */
static int report_lines(FILE *f, const char *needle) {
  char line[1024];
  int c = 0;
  rewind(f);
  while (fgets(line, sizeof line, f))
    if (strstr(line, needle)) c++;
  return c;
}

static void test_retry_on_map_growth(void) {
  am_node *n = node(1 << 20); /* 1 MiB: every batch below outgrows it */
  REQUIRE(n);
  const char *csv = make_csv(3000, 500, 0); /* rows 500, 1000, ... are bad */
  REQUIRE(csv);
  FILE *rep = tmpfile();
  am_import_opts o = {.path = csv, .batch = 700, .report = rep};
  am_import_stats st;
  am_error err = {0};
  size_t before = am_store_map_size(n->store);
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK(am_store_map_size(n->store) > before);
  CHECK_INT(st.rows, 3000);
  CHECK_INT(st.errors, 6);
  CHECK_INT(st.added, 2994);
  CHECK_INT(members(n), 2994);
  /* Each bad row reported once, with its line (row k is on line k+1). */
  CHECK_INT(report_lines(rep, "year 3015"), 6);
  CHECK_INT(report_lines(rep, ":501: column 'Promo'"), 1);
  CHECK_INT(report_lines(rep, ":3001: column 'Promo'"), 1);
  fclose(rep);
  am_node_close(n);
}

static void test_strict_and_dry_run_write_nothing(void) {
  am_node *n = node(0);
  REQUIRE(n);
  const char *csv = make_csv(50, 40, 0);
  am_import_stats st;
  am_error err = {0};
  am_import_opts o = {.path = csv, .strict = true};
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.errors, 1);
  CHECK_INT(members(n), 0);
  o = (am_import_opts){.path = make_csv(50, 0, 0), .dry_run = true};
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.added, 50);
  CHECK_INT(members(n), 0);
  /* The same file for real, then again: every row is an update. */
  o.dry_run = false;
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.added, 50);
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.added, 0);
  CHECK_INT(st.updated, 50);
  CHECK_INT(members(n), 50);
  o.on_duplicate = AM_DUP_SKIP;
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.skipped, 50);
  o.on_duplicate = AM_DUP_ERROR;
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.errors, 50);
  CHECK_INT(members(n), 50);
  am_node_close(n);
}

/* Row 90 repeats row 1's address: found although row 1 committed in an
 * earlier batch. */
static void test_duplicate_across_batches(void) {
  am_node *n = node(0);
  REQUIRE(n);
  FILE *rep = tmpfile();
  am_import_opts o = {.path = make_csv(100, 0, 90), .batch = 10, .report = rep};
  am_import_stats st;
  am_error err = {0};
  CHECK_INT(am_import(n->store, &o, &st, &err), 0);
  CHECK_INT(st.added, 99);
  CHECK_INT(st.errors, 1);
  CHECK_INT(report_lines(rep, ":91: same member as line 2"), 1);
  fclose(rep);
  am_node_close(n);
}

static void test_missing_file(void) {
  am_node *n = node(0);
  REQUIRE(n);
  am_import_opts o = {.path = "/nonexistent/file.csv"};
  am_import_stats st;
  am_error err = {0};
  CHECK_INT(am_import(n->store, &o, &st, &err), AM_ENOTFOUND);
  CHECK(strstr(err.msg, "/nonexistent/file.csv") != NULL);
  am_node_close(n);
}

int main(void) {
  if (!mkdtemp(root)) return 1;
  RUN(test_retry_on_map_growth);
  RUN(test_strict_and_dry_run_write_nothing);
  RUN(test_duplicate_across_batches);
  RUN(test_missing_file);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd)) return 1;
  return TEST_SUMMARY();
}
