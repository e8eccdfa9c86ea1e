/* `amicale member export`: the directory as CSV (re-importable without
 * loss: every field, visibility and dates, with the id column), JSON Lines
 * or vCard 4.0. Takes the same filters as `member search`. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/member_json.h"

enum { FMT_CSV, FMT_JSON, FMT_VCARD };

typedef struct exporter {
  FILE *out;
  int format;
  char sep;
  const char *eol;
  char uid_prefix[128];
  bool excel;
  am_buf line;
  int rc;
  int write_errno; /* errno of a failed write, 0 when none */
} exporter;

static void csv_header(exporter *x) {
  am_buf *b = &x->line;
  b->len = 0;
  am_buf_printf(b, "id");
  for (int f = 0; f < AM_F__COUNT; f++) am_buf_printf(b, "%c%s", x->sep, am_fields[f].name);
  am_buf_printf(b, "%cvisibility%ccreated%cupdated%s", x->sep, x->sep, x->sep, x->eol);
  fwrite(b->data, 1, b->len, x->out);
}

/* A spreadsheet runs a cell starting with = + - or @ as a formula, which a
 * hostile value could abuse (CSV injection). For --excel such cells get a
 * leading apostrophe, which spreadsheets show as text and `member import`
 * removes again. */
static bool is_formula_like(const am_member *m, int f) {
  am_buf v = {0};
  bool risky = false;
  if (am_member_format(m, f, &v) == 0 && v.len) risky = strchr("=+-@", v.data[0]) != NULL;
  am_buf_free(&v);
  return risky;
}

static int write_member(am_member *m, void *arg) {
  exporter *x = arg;
  am_buf *b = &x->line;
  am_buf cell = {0};
  int rc = 0;
  b->len = 0;
  switch (x->format) {
  case FMT_CSV: {
    char ts[21];
    rc = am_buf_printf(b, "%llu", (unsigned long long)m->id);
    for (int f = 0; f < AM_F__COUNT && !rc; f++) {
      cell.len = 0;
      /* Unset booleans export as "no", which re-imports the same. */
      if (x->excel && is_formula_like(m, f)) rc = am_buf_append(&cell, "'", 1);
      if (!rc) rc = am_member_format(m, f, &cell);
      if (!rc) rc = am_buf_append(b, &x->sep, 1);
      if (!rc) rc = am_csv_write_field(b, cell.data ? cell.data : "", cell.len, x->sep);
    }
    cell.len = 0;
    if (!rc) rc = am_member_format_visibility(m, &cell);
    if (!rc) rc = am_buf_append(b, &x->sep, 1);
    if (!rc) rc = am_csv_write_field(b, cell.data, cell.len, x->sep);
    am_time_format(m->created, ts);
    if (!rc) rc = am_buf_printf(b, "%c%s", x->sep, ts);
    am_time_format(m->updated, ts);
    if (!rc) rc = am_buf_printf(b, "%c%s%s", x->sep, ts, x->eol);
    break;
  }
  case FMT_JSON: {
    json_t *j = am_member_to_json(m);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    rc = s ? am_buf_printf(b, "%s\n", s) : AM_ENOMEM;
    free(s);
    json_decref(j);
    break;
  }
  case FMT_VCARD:
    rc = am_member_to_vcard(m, x->uid_prefix, b);
    break;
  }
  am_buf_free(&cell);
  if (rc) return x->rc = rc;
  if (fwrite(b->data, 1, b->len, x->out) != b->len) {
    x->write_errno = errno ? errno : EIO;
    return x->rc = AM_EIO;
  }
  return 0;
}

typedef struct export_ctx {
  exporter *x;
  const am_query *q; /* NULL: everyone, streamed in id order */
  am_error *err;
} export_ctx;

static int export_fn(am_txn *t, void *arg) {
  export_ctx *c = arg;
  if (!c->q) return am_members_each(t, write_member, c->x, c->err);
  am_results r;
  int rc = am_search(t, c->q, &r, c->err);
  for (size_t i = 0; !rc && i < r.n; i++) rc = write_member(&r.v[i], c->x);
  am_results_free(&r);
  return rc;
}

int cmd_member_export(int argc, char **argv) {
  am_args a;
  am_node n;
  am_query q;
  char text[4096];
  int rc = am_args_parse(argc, argv, am_search_opts, &a);
  if (rc) return rc;
  exporter x = {.out = stdout, .sep = ',', .eol = "\n"};
  const char *fmt = am_args_get(&a, "format");
  if (!fmt || !strcmp(fmt, "csv")) x.format = FMT_CSV;
  else if (!strcmp(fmt, "json") || !strcmp(fmt, "jsonl")) x.format = FMT_JSON;
  else if (!strcmp(fmt, "vcard") || !strcmp(fmt, "vcf")) x.format = FMT_VCARD;
  else return am_cli_usage("--format '%s' should be csv, json or vcard", fmt);
  if (a.json) x.format = FMT_JSON;
  bool excel = am_args_has(&a, "excel");
  if (excel) x.sep = ';', x.eol = "\r\n", x.excel = true;
  const char *sep = am_args_get(&a, "separator");
  if (sep) {
    if (!strcmp(sep, "tab") || !strcmp(sep, "\\t")) x.sep = '\t';
    else if (strlen(sep) == 1 && strchr(",;|", sep[0])) x.sep = sep[0];
    else return am_cli_usage("--separator '%s' should be ',', ';', '|' or tab", sep);
  }
  if ((rc = am_query_from_args(&a, 0, &q, text, sizeof text))) return rc;
  /* An export is everything that matches, unless a limit is given. */
  if (!am_args_has(&a, "limit")) q.limit = 0;
  bool filtered = q.text || q.nfilters || q.promo_min || q.promo_max || q.mentoring ||
                  am_args_has(&a, "sort") || q.limit || q.offset;

  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(n.id.pk, key);
  snprintf(x.uid_prefix, sizeof x.uid_prefix, "urn:amicale:%s:", key);
  am_identity_wipe(&n.id);

  const char *path = am_args_get(&a, "output");
  char tmp[4200];
  if (path) {
    /* Written aside and renamed, so a failed export leaves no half file;
     * the temporary name is fresh (mkstemp: never an existing file or a
     * planted link) and mode 0600, since an export holds private fields. */
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0 && fchmod(fd, 0600)) {
      close(fd);
      unlink(tmp);
      fd = -1;
    }
    if (fd < 0 || !(x.out = fdopen(fd, "w"))) {
      if (fd >= 0) close(fd);
      rc = am_cli_usage("cannot write %s: %s", tmp, strerror(errno));
      am_node_close(&n);
      return rc == EXIT_USAGE ? EXIT_INTERNAL : rc;
    }
  }
  if (x.format == FMT_CSV) {
    if (excel) fputs("\xEF\xBB\xBF", x.out);
    csv_header(&x);
  }
  am_error err = {0};
  export_ctx c = {&x, filtered ? &q : NULL, &err};
  rc = am_store_read(n.store, export_fn, &c, &err);
  if (rc == AM_EIO && x.write_errno)
    am_fail(&err, AM_EIO, "cannot write %s: %s", path ? tmp : "the output", strerror(x.write_errno));
  am_node_close(&n);
  am_buf_free(&x.line);
  if (path) {
    if (fclose(x.out) && !rc) rc = am_fail(&err, AM_EIO, "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path)) rc = am_fail(&err, AM_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc) remove(tmp);
  } else if ((fflush(stdout) || ferror(stdout)) && !rc) {
    rc = am_fail(&err, AM_EIO, "cannot write the output: %s", strerror(errno));
  }
  if (rc) return am_cli_fail(rc, &err);
  return EXIT_OK;
}
