/* Queries across the federation: `amicale search`, `mentors`, `events`,
 * `jobs`, `events export --ics` and `digest`. Each command turns its
 * options into the parameters of an operation of store/api.h, runs it on
 * the local store (alumni manager) or on the member's node (member mode),
 * and prints the JSON answer as a table, JSON, vCard, iCalendar or a
 * newsletter. Texts may come from other institutions: every one is made
 * printable before it reaches the terminal. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/call.h"
#include "cli/cli.h"
#include "proto/digest.h"
#include "proto/ics.h"
#include "proto/member_json.h"
#include "proto/text.h"

/* ---- options to parameters ------------------------------------------------ */

/* A text option copied to a parameter of the same meaning. */
static int set_text(json_t *p, const am_args *a, const char *opt, const char *key) {
  const char *v = am_args_get(a, opt);
  if (v && json_object_set_new(p, key, json_string(v))) return am_cli_usage("--%s: not valid UTF-8 text", opt);
  return 0;
}

/* Repeatable options (--skill A --skill B) become a list. */
static int set_list(json_t *p, const am_args *a, const char *opt, const char *key) {
  json_t *l = NULL;
  for (int i = 0; i < a->nopts; i++) {
    if (strcmp(a->opts[i].name, opt)) continue;
    if (!l && !(l = json_array())) return EXIT_INTERNAL;
    if (json_array_append_new(l, json_string(a->opts[i].value)))
      return json_decref(l), am_cli_usage("--%s: not valid UTF-8 text", opt);
  }
  if (l) json_object_set_new(p, key, l);
  return 0;
}

static int set_flag(json_t *p, const am_args *a, const char *opt, const char *key) {
  if (am_args_has(a, opt)) json_object_set_new(p, key, json_true());
  return 0;
}

static int set_page(json_t *p, const am_args *a) {
  size_t limit, offset;
  int rc = am_args_size(a, "limit", 50, &limit);
  if (!rc) rc = am_args_size(a, "offset", 0, &offset);
  if (rc) return rc;
  json_object_set_new(p, "limit", json_integer((json_int_t)limit));
  json_object_set_new(p, "offset", json_integer((json_int_t)offset));
  return 0;
}

/* Free text: the positional words and --text. */
static int set_words(json_t *p, const am_args *a) {
  am_buf b = {0};
  const char *t = am_args_get(a, "text");
  if (t) am_buf_printf(&b, "%s", t);
  for (int i = 0; i < a->npos; i++) am_buf_printf(&b, "%s%s", b.len ? " " : "", a->pos[i]);
  int rc = 0;
  if (b.len && json_object_set_new(p, "text", json_stringn(b.data, b.len)))
    rc = am_cli_usage("the search text is not valid UTF-8");
  am_buf_free(&b);
  return rc;
}

/* ---- printing ------------------------------------------------------------------ */

static const char *str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* A column's text, printable and without line breaks. */
typedef struct cell {
  char text[256];
} cell;

static void cell_set(cell *c, const char *s) {
  am_text_printable(s ? s : "", c->text, sizeof c->text);
  for (char *p = c->text; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

typedef struct table {
  size_t ncols, nrows;
  const char *const *titles;
  const size_t *max;
  cell *cells; /* nrows * ncols */
} table;

static void table_print(FILE *out, const table *t) {
  size_t width[16] = {0};
  for (size_t c = 0; c < t->ncols; c++) width[c] = am_text_width(t->titles[c]);
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t c = 0; c < t->ncols; c++) {
      size_t w = am_text_width(t->cells[r * t->ncols + c].text);
      if (w > t->max[c]) w = t->max[c];
      if (w > width[c]) width[c] = w;
    }
  for (size_t c = 0; c < t->ncols; c++) am_print_cell(out, t->titles[c], width[c], c + 1 == t->ncols);
  fputc('\n', out);
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++)
      am_print_cell(out, t->cells[r * t->ncols + c].text, width[c], c + 1 == t->ncols);
    fputc('\n', out);
  }
}

/* "12–20 of 134 ..." under a table, and a hint when there are more. */
static void print_footer(FILE *out, const json_t *r, size_t shown, const char *one, const char *many) {
  json_int_t total = json_integer_value(json_object_get(r, "total"));
  json_int_t offset = json_integer_value(json_object_get(r, "offset"));
  const char *what = total == 1 ? one : many;
  if (!total) {
    fprintf(out, "No %s found.\n", many);
    return;
  }
  if ((json_int_t)shown == total) {
    fprintf(out, "%lld %s\n", (long long)total, what);
    return;
  }
  fprintf(out, "%lld–%lld of %lld %s", (long long)offset + (shown ? 1 : 0), (long long)offset + (long long)shown,
          (long long)total, what);
  if (offset + (json_int_t)shown < total)
    fprintf(out, " (use --offset %lld for the next page)", (long long)(offset + (json_int_t)shown));
  fputc('\n', out);
}

static void person_name(const json_t *f, am_buf *b) {
  const char *given = str(f, "given_name"), *family = str(f, "family_name"), *usual = str(f, "usual_name");
  am_buf_printf(b, "%s%s%s", given, *given && (*family || *usual) ? " " : "", *usual ? usual : family);
  if (*usual && *family && strcmp(usual, family)) am_buf_printf(b, " (%s)", family);
  if (!b->len) am_buf_printf(b, "(name not shared)");
}

/* One kind of result as a table: its columns, and how a result fills a
 * row (b is scratch space). */
typedef struct listing_kind {
  size_t ncols;
  const char *const *titles;
  const size_t *max;
  void (*fill)(const json_t *item, cell *row, am_buf *b);
  const char *one, *many;
} listing_kind;

/* b's text, NUL-terminated, into c. */
static void cell_buf(cell *c, am_buf *b) {
  am_buf_append(b, "", 1);
  cell_set(c, b->data);
  b->len = 0;
}

static void print_results(FILE *out, const json_t *r, const listing_kind *k) {
  const json_t *list = json_object_get(r, "results");
  size_t n = json_array_size(list);
  table t = {.ncols = k->ncols, .nrows = n, .titles = k->titles, .max = k->max,
             .cells = calloc(n * k->ncols + 1, sizeof(cell))};
  if (!t.cells) return;
  am_buf b = {0};
  for (size_t i = 0; i < n; i++) k->fill(json_array_get(list, i), &t.cells[i * k->ncols], &b);
  am_buf_free(&b);
  if (n) table_print(out, &t);
  free(t.cells);
  print_footer(out, r, n, k->one, k->many);
}

static void fill_person(const json_t *p, cell *row, am_buf *b) {
  const json_t *f = json_object_get(p, "fields");
  person_name(f, b);
  cell_buf(&row[0], b);
  json_int_t promo = json_integer_value(json_object_get(f, "promo"));
  if (promo) am_buf_printf(b, "%lld", (long long)promo);
  cell_buf(&row[1], b);
  const char *title = str(f, "job_title"), *employer = str(f, "employer");
  am_buf_printf(b, "%s%s%s", title, *title && *employer ? ", " : "", employer);
  cell_buf(&row[2], b);
  cell_set(&row[3], str(f, "city"));
  cell_set(&row[4], str(json_object_get(p, "institution"), "name"));
}

static const listing_kind PEOPLE = {
    5, (const char *const[]){"NAME", "PROMO", "JOB", "CITY", "INSTITUTION"},
    (const size_t[]){32, 5, 40, 18, 30}, fill_person, "person", "people"};

/* The first 12 hex digits of an id, enough to name it to show or edit. */
static void short_id(cell *c, const json_t *item) {
  char id[13];
  snprintf(id, sizeof id, "%.12s", str(item, "id"));
  cell_set(c, id);
}

static void fill_event(const json_t *e, cell *row, am_buf *b) {
  const json_t *body = json_object_get(e, "body");
  /* "2026-12-10 18:30" from "2026-12-10T18:30:00Z" (times are UTC). */
  const char *start = str(body, "starts_at");
  am_buf_printf(b, "%.10s %.5s", start, strlen(start) >= 16 ? start + 11 : "");
  cell_buf(&row[0], b);
  const char *status = str(body, "status");
  am_buf_printf(b, "%s%s%s", strcmp(status, "cancelled") ? "" : "[CANCELLED] ", str(body, "title"),
                strcmp(status, "postponed") ? "" : " [postponed]");
  cell_buf(&row[1], b);
  const char *city = str(body, "city"), *online = str(body, "online_url");
  am_buf_printf(b, "%s%s%s", city, *city && *online ? " + " : "", *online ? "online" : "");
  cell_buf(&row[2], b);
  cell_set(&row[3], str(json_object_get(e, "institution"), "name"));
  short_id(&row[4], e);
}

static const listing_kind EVENTS = {
    5, (const char *const[]){"WHEN (UTC)", "EVENT", "WHERE", "INSTITUTION", "ID"},
    (const size_t[]){16, 40, 24, 28, 12}, fill_event, "event", "events"};

static void fill_job(const json_t *j, cell *row, am_buf *b) {
  const json_t *body = json_object_get(j, "body");
  am_buf_printf(b, "%.10s", str(j, "created"));
  cell_buf(&row[0], b);
  cell_set(&row[1], str(body, "title"));
  cell_set(&row[2], str(body, "employer"));
  cell_set(&row[3], str(body, "contract"));
  const char *city = str(body, "city"), *remote = str(body, "remote");
  bool away = *remote && strcmp(remote, "on_site");
  am_buf_printf(b, "%s%s%s", city, *city && away ? ", " : "", away ? remote : "");
  cell_buf(&row[4], b);
  cell_set(&row[5], str(json_object_get(j, "institution"), "name"));
  short_id(&row[6], j);
}

static const listing_kind JOBS = {
    7, (const char *const[]){"POSTED", "JOB", "EMPLOYER", "CONTRACT", "WHERE", "INSTITUTION", "ID"},
    (const size_t[]){10, 36, 24, 11, 20, 26, 12}, fill_job, "job offer", "job offers"};

/* ---- commands ------------------------------------------------------------------ */

#define COMMON_OPTS {"limit", true}, {"offset", true}, {"json", false}, {"institution", true}, \
                    {"institution-kind", true}, AM_CALL_OPTS

static const am_opt people_opts[] = {
    COMMON_OPTS,       {"text", true},     {"promo", true},    {"programme", true},
    {"employer", true}, {"job-title", true}, {"sector", true}, {"city", true},
    {"country", true}, {"skill", true},    {"language", true}, {"mentoring", false},
    {"topic", true},   {"sort", true},     {"vcard", false},   {"output", true},
    {NULL, false},
};

static int people_params(const am_args *a, json_t *p) {
  static const struct { const char *opt, *key; } texts[] = {
      {"institution", "institution"}, {"institution-kind", "institution_kind"},
      {"sort", "sort"},
  };
  static const struct { const char *opt, *key; } lists[] = {
      {"programme", "programme"}, {"employer", "employer"}, {"job-title", "job_title"},
      {"sector", "sector"},       {"city", "city"},         {"country", "country"},
      {"skill", "skill"},         {"language", "language"}, {"topic", "topic"},
  };
  int rc = set_words(p, a);
  for (size_t i = 0; !rc && i < sizeof texts / sizeof *texts; i++) rc = set_text(p, a, texts[i].opt, texts[i].key);
  for (size_t i = 0; !rc && i < sizeof lists / sizeof *lists; i++) rc = set_list(p, a, lists[i].opt, lists[i].key);
  if (!rc) rc = set_flag(p, a, "mentoring", "mentoring");
  if (!rc) rc = set_page(p, a);
  const char *promo = am_args_get(a, "promo");
  if (!rc && promo) {
    uint32_t lo, hi;
    if (am_promo_parse(promo, &lo, &hi))
      return am_cli_usage("--promo '%s' should be a year (2015) or a range (2010-2015, 2010-, -2015)", promo);
    if (lo) json_object_set_new(p, "promo_min", json_integer(lo));
    if (hi) json_object_set_new(p, "promo_max", json_integer(hi));
  }
  return rc;
}

/* Where --output sends the result (stdout by default). */
static FILE *open_output(const am_args *a) {
  const char *path = am_args_get(a, "output");
  if (!path || !strcmp(path, "-")) return stdout;
  return am_cli_private_file(path);
}

static int close_output(const am_args *a, FILE *f) {
  if (f == stdout) return EXIT_OK;
  if (fclose(f)) {
    fprintf(stderr, "amicale: cannot write %s: %s\n", am_args_get(a, "output"), strerror(errno));
    return EXIT_INTERNAL;
  }
  return EXIT_OK;
}

static int people_command(int argc, char **argv, const char *method) {
  am_args a;
  int rc = am_args_parse(argc, argv, people_opts, &a);
  if (rc) return rc;
  json_t *p = json_object(), *r;
  if (p && (rc = people_params(&a, p))) {
    json_decref(p);
    return rc;
  }
  if ((rc = am_cli_call(&a, method, p, &r))) return rc;
  if (a.json) return am_print_json(stdout, r);
  FILE *out = open_output(&a);
  if (!out) {
    json_decref(r);
    return EXIT_INTERNAL;
  }
  if (am_args_has(&a, "vcard")) {
    am_buf b = {0};
    am_error err = {0};
    const json_t *list = json_object_get(r, "results");
    for (size_t i = 0; !rc && i < json_array_size(list); i++)
      if (am_vcard_person(json_array_get(list, i), &b, &err)) rc = am_cli_fail(AM_EINVAL, &err);
    if (!rc && b.len) fwrite(b.data, 1, b.len, out);
    am_buf_free(&b);
  } else {
    print_results(out, r, &PEOPLE);
  }
  json_decref(r);
  int crc = close_output(&a, out);
  return rc ? rc : crc;
}

int cmd_search(int argc, char **argv) { return people_command(argc, argv, "search"); }
int cmd_mentors(int argc, char **argv) { return people_command(argc, argv, "mentors"); }

static const am_opt event_opts[] = {
    COMMON_OPTS,        {"upcoming", false}, {"from", true},  {"to", true},
    {"city", true},     {"country", true},   {"online", false}, {"tag", true},
    {"text", true},     {"cancelled", false}, {"ics", false}, {"output", true},
    {NULL, false},
};

static int event_params(const am_args *a, json_t *p, bool export) {
  static const struct { const char *opt, *key; } texts[] = {
      {"institution", "institution"}, {"institution-kind", "institution_kind"},
      {"from", "from"}, {"to", "to"}, {"city", "city"}, {"country", "country"}, {"tag", "tag"},
  };
  int rc = set_words(p, a);
  for (size_t i = 0; !rc && i < sizeof texts / sizeof *texts; i++) rc = set_text(p, a, texts[i].opt, texts[i].key);
  if (!rc) rc = set_flag(p, a, "online", "online");
  if (!rc) rc = set_flag(p, a, "cancelled", "include_cancelled");
  if (!rc) rc = set_page(p, a);
  if (rc) return rc;
  /* Without dates, what is still to come. */
  if (am_args_has(a, "upcoming") || (!am_args_has(a, "from") && !am_args_has(a, "to")))
    json_object_set_new(p, "upcoming", json_true());
  /* A calendar file has the cancellations too, so calendars drop them. */
  if (export) json_object_set_new(p, "include_cancelled", json_true());
  return 0;
}

static int events_command(int argc, char **argv, bool export) {
  am_args a;
  int rc = am_args_parse(argc, argv, event_opts, &a);
  if (rc) return rc;
  if (export && !am_args_has(&a, "ics"))
    return am_cli_usage("events export writes iCalendar: add --ics (amicale events export --ics --output events.ics)");
  json_t *p = json_object(), *r;
  if (p && (rc = event_params(&a, p, export))) {
    json_decref(p);
    return rc;
  }
  if ((rc = am_cli_call(&a, "events", p, &r))) return rc;
  if (a.json && !export) return am_print_json(stdout, r);
  FILE *out = open_output(&a);
  if (!out) {
    json_decref(r);
    return EXIT_INTERNAL;
  }
  if (export) {
    am_buf b = {0};
    am_error err = {0};
    if (am_ics_events(json_object_get(r, "results"), "federation events", &b, &err)) rc = am_cli_fail(AM_EINVAL, &err);
    else fwrite(b.data, 1, b.len, out);
    am_buf_free(&b);
    if (!rc && out != stdout)
      fprintf(stderr, "%zu events written to %s\n", json_array_size(json_object_get(r, "results")),
              am_args_get(&a, "output"));
  } else {
    print_results(out, r, &EVENTS);
  }
  json_decref(r);
  int crc = close_output(&a, out);
  return rc ? rc : crc;
}

int cmd_events_query(int argc, char **argv) { return events_command(argc, argv, false); }
int cmd_events_export(int argc, char **argv) { return events_command(argc, argv, true); }

static const am_opt job_opts[] = {
    COMMON_OPTS,     {"type", true},   {"skill", true}, {"city", true},
    {"country", true}, {"remote", false}, {"alumni-only", false}, {"text", true},
    {NULL, false},
};

int cmd_jobs_query(int argc, char **argv) {
  static const struct { const char *opt, *key; } texts[] = {
      {"institution", "institution"}, {"institution-kind", "institution_kind"}, {"type", "type"},
      {"skill", "skill"}, {"city", "city"}, {"country", "country"},
  };
  am_args a;
  int rc = am_args_parse(argc, argv, job_opts, &a);
  if (rc) return rc;
  json_t *p = json_object(), *r;
  if (!p) return am_cli_fail(AM_ENOMEM, NULL);
  rc = set_words(p, &a);
  for (size_t i = 0; !rc && i < sizeof texts / sizeof *texts; i++) rc = set_text(p, &a, texts[i].opt, texts[i].key);
  if (!rc) rc = set_flag(p, &a, "alumni-only", "alumni_only");
  if (!rc && am_args_has(&a, "remote")) json_object_set_new(p, "remote", json_string("remote"));
  if (!rc) rc = set_page(p, &a);
  if (rc) {
    json_decref(p);
    return rc;
  }
  if ((rc = am_cli_call(&a, "jobs", p, &r))) return rc;
  if (a.json) return am_print_json(stdout, r);
  print_results(stdout, r, &JOBS);
  json_decref(r);
  return EXIT_OK;
}

static const am_opt digest_opts[] = {
    {"since", true}, {"format", true}, {"output", true}, {"json", false}, AM_CALL_OPTS, {NULL, false},
};

int cmd_digest(int argc, char **argv) {
  am_args a;
  int rc = am_args_parse(argc, argv, digest_opts, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("digest takes no argument (amicale digest --since 7d --format markdown)");
  const char *fmt = am_args_get(&a, "format");
  int format = fmt ? am_digest_format_parse(fmt) : AM_DIGEST_TEXT;
  if (format < 0) return am_cli_usage("--format '%s' should be text, markdown or html", fmt);
  json_t *p = json_object(), *r;
  if (!p) return am_cli_fail(AM_ENOMEM, NULL);
  const char *since = am_args_get(&a, "since");
  json_object_set_new(p, "since", json_string(since ? since : "7d"));
  if ((rc = am_cli_call(&a, "digest", p, &r))) return rc;
  if (a.json) return am_print_json(stdout, r);
  FILE *out = open_output(&a);
  if (!out) {
    json_decref(r);
    return EXIT_INTERNAL;
  }
  am_buf b = {0};
  am_error err = {0};
  if (am_digest_render(r, format, &b, &err)) rc = am_cli_fail(AM_EINVAL, &err);
  else fwrite(b.data, 1, b.len, out);
  am_buf_free(&b);
  json_decref(r);
  int crc = close_output(&a, out);
  return rc ? rc : crc;
}
