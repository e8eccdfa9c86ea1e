/* `amicale member import`: spreadsheets in, members out.
 *
 * The file is read through proto/csv (encodings, separators, quoting), its
 * header mapped to fields (French and English names, --map for the rest),
 * and rows written in batches: each batch is one transaction, so a crash
 * leaves whole batches. With --strict or --dry-run the whole file is one
 * transaction, aborted if a row fails (strict) or always (dry run). Row
 * problems are reported as FILE:LINE: column: reason, after the batch that
 * holds them has committed (a batch can run twice when the database map is
 * grown, and must not report twice). */
#define _XOPEN_SOURCE 700 /* strptime */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/csv.h"
#include "proto/text.h"

#define DEFAULT_BATCH 10000
#define MAX_REPORTED 1000 /* row messages printed; the rest are counted */

enum { COL_IGNORE = -1, COL_ID = -2, COL_VISIBILITY = -3, COL_CREATED = -4,
       COL_UPDATED = -5, COL_UNKNOWN = -6 };

typedef struct column {
  int field;
  const char *header;
} column;

/* Member id -> line that wrote it in this import: finds rows that name
 * the same member twice. Open addressing, grown at half load. */
typedef struct seen {
  struct slot { uint64_t id; unsigned long line; } *v;
  size_t cap, n;
} seen;

static unsigned long seen_get(const seen *s, uint64_t id) {
  if (!s->cap) return 0;
  for (size_t i = (id * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (s->v[i].id == id) return s->v[i].line;
    if (!s->v[i].id) return 0;
  }
}

static int seen_put(seen *s, uint64_t id, unsigned long line) {
  if (2 * (s->n + 1) > s->cap) {
    seen g = {calloc(s->cap ? 2 * s->cap : 1024, sizeof *g.v), s->cap ? 2 * s->cap : 1024, 0};
    if (!g.v) return AM_ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
      if (s->v[i].id) seen_put(&g, s->v[i].id, s->v[i].line);
    free(s->v);
    *s = g;
  }
  size_t i = (id * 0x9E3779B97F4A7C15ULL) & (s->cap - 1);
  while (s->v[i].id && s->v[i].id != id) i = (i + 1) & (s->cap - 1);
  if (!s->v[i].id) s->n++;
  s->v[i] = (struct slot){id, line};
  return 0;
}

/* Forgets what lines from `line` on wrote (their batch is being re-run). */
static int seen_forget_from(seen *s, unsigned long line) {
  seen g = {0};
  for (size_t i = 0; i < s->cap; i++)
    if (s->v[i].id && s->v[i].line < line && seen_put(&g, s->v[i].id, s->v[i].line)) {
      free(g.v);
      return AM_ENOMEM;
    }
  free(s->v);
  *s = g;
  return 0;
}

typedef struct importer {
  const am_import_opts *o;
  am_csv *csv;
  column *cols;
  size_t ncols;
  seen seen;
  am_buf msgs;      /* this batch's row messages */
  size_t reported;  /* messages printed so far */
  am_import_stats total, batch;
  bool whole_file;  /* one transaction for the file (strict, dry run) */
  bool done;        /* end of input reached */
  bool row_bad;     /* the current row was refused */
  size_t nmsgs;     /* messages in this batch */
  am_error *err;
  struct timespec last_draw;
} importer;

static void row_msg(importer *im, unsigned long line, const char *col, const char *reason) {
  im->row_bad = true;
  if (im->reported + ++im->nmsgs > MAX_REPORTED) return;
  if (col) am_buf_printf(&im->msgs, "%s:%lu: column '%s': %s\n", im->o->path, line, col, reason);
  else am_buf_printf(&im->msgs, "%s:%lu: %s\n", im->o->path, line, reason);
}

static void progress(importer *im, bool final) {
  if (!im->o->progress) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (now.tv_sec - im->last_draw.tv_sec) * 1000 + (now.tv_nsec - im->last_draw.tv_nsec) / 1000000;
  if (!final && ms < 100) return;
  im->last_draw = now;
  size_t size = am_csv_size(im->csv), pos = am_csv_position(im->csv);
  int pct = size ? (int)(100.0 * (double)pos / (double)size) : 100;
  int bar = pct * 30 / 100;
  fprintf(stderr, "\r[%.*s%*s] %3d%%  %zu rows", bar, "##############################", 30 - bar, "",
          pct, im->total.rows + im->batch.rows);
  if (final) fputs("\r\033[K", stderr);
  fflush(stderr);
}

/* ---- header ---------------------------------------------------------------- */

static int special_column(const char *compact) {
  static const struct { const char *w; int col; } words[] = {
    {"id", COL_ID}, {"identifiant", COL_ID}, {"memberid", COL_ID}, {"amicaleid", COL_ID},
    {"visibility", COL_VISIBILITY}, {"visibilite", COL_VISIBILITY},
    {"created", COL_CREATED}, {"createdat", COL_CREATED}, {"updated", COL_UPDATED},
    {"updatedat", COL_UPDATED}, {"ignore", COL_IGNORE},
  };
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strcmp(compact, words[i].w) == 0) return words[i].col;
  return COL_UNKNOWN;
}

/* The column a header names (*out: a field, or COL_*): --map first, then
 * known names. Returns 0, or an AM_E* code (bad --map, no memory); the
 * column is never the return value, since COL_* values overlap AM_E*. */
static int column_for(const char *header, size_t len, const char *map, int *out, am_error *err) {
  char *ch = NULL;
  int col = COL_UNKNOWN;
  *out = COL_UNKNOWN;
  if (am_text_compact(header, len, &ch)) return AM_ENOMEM;
  for (const char *p = map; p && *p && col == COL_UNKNOWN;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    if (!eq) {
      free(ch);
      return am_fail(err, AM_EUSAGE, "--map: '%.*s' should be Column=field", (int)n, p);
    }
    char *mk = NULL, *mv = NULL;
    if (am_text_compact(p, (size_t)(eq - p), &mk) ||
        am_text_compact(eq + 1, n - (size_t)(eq - p) - 1, &mv)) {
      free(mk), free(ch);
      return AM_ENOMEM;
    }
    if (strcmp(mk, ch) == 0) {
      col = am_field_by_header(mv);
      if (col < 0) col = special_column(mv);
      if (col == COL_UNKNOWN) {
        am_fail(err, AM_EUSAGE, "--map: '%.*s' is not a field (see amicale member --help)",
                (int)(n - (size_t)(eq - p) - 1), eq + 1);
        free(mk), free(mv), free(ch);
        return AM_EUSAGE;
      }
    }
    free(mk), free(mv);
    p += n + (end ? 1 : 0);
  }
  if (col == COL_UNKNOWN) {
    col = am_field_by_header(ch);
    if (col < 0) col = special_column(ch);
  }
  free(ch);
  *out = col;
  return 0;
}

/* Every --map entry must name a column of the file and a field: a typo
 * ("Nmo=family_name") would otherwise be silently ignored. */
static int check_map(const importer *im, am_error *err) {
  for (const char *p = im->o->map; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    char *mk = NULL, *mh = NULL;
    bool found = false;
    if (!eq) return am_fail(err, AM_EUSAGE, "--map: '%.*s' should be Column=field", (int)n, p);
    if (am_text_compact(p, (size_t)(eq - p), &mk)) return AM_ENOMEM;
    for (size_t i = 0; i < im->ncols && !found; i++) {
      if (am_text_compact(im->cols[i].header, strlen(im->cols[i].header), &mh)) {
        free(mk);
        return AM_ENOMEM;
      }
      found = strcmp(mk, mh) == 0;
      free(mh);
    }
    free(mk);
    if (!found) {
      am_buf cols = {0};
      for (size_t i = 0; i < im->ncols; i++)
        am_buf_printf(&cols, "%s'%s'", i ? ", " : "", im->cols[i].header);
      am_fail(err, AM_EUSAGE, "--map: %s has no column '%.*s' (its columns: %.300s)", im->o->path,
              (int)(eq - p), p, cols.data ? cols.data : "");
      am_buf_free(&cols);
      return AM_EUSAGE;
    }
    p += n + (end ? 1 : 0);
  }
  return 0;
}

static int read_header(importer *im, am_error *err) {
  am_csv_record rec;
  int rc;
  while ((rc = am_csv_next(im->csv, &rec, err)) < 0) {
    am_error_prefix(err, "%s: header: ", im->o->path);
    return AM_EINVAL;
  }
  if (rc == 0) return am_fail(err, AM_EINVAL, "%s is empty (no header line)", im->o->path);
  if (!(im->cols = calloc(rec.n, sizeof *im->cols))) return AM_ENOMEM;
  im->ncols = rec.n;
  bool named = false, any = false;
  for (size_t i = 0; i < rec.n; i++) {
    if (!(im->cols[i].header = strdup(rec.fields[i]))) return AM_ENOMEM;
    int col;
    if ((rc = column_for(rec.fields[i], rec.lens[i], im->o->map, &col, err))) return rc;
    if (col == COL_UNKNOWN && rec.lens[i] == 0) col = COL_IGNORE;
    im->cols[i].field = col;
    if (col == COL_UNKNOWN && im->o->report)
      fprintf(im->o->report,
              "%s: column %zu '%s' is not recognised and will not be imported "
              "(use --map '%s=FIELD' to import it, or '%s=ignore')\n",
              im->o->path, i + 1, rec.fields[i], rec.fields[i], rec.fields[i]);
    if (col >= 0 || col == COL_ID) any = true;
    if (col == AM_F_GIVEN_NAME || col == AM_F_FAMILY_NAME || col == AM_F_USUAL_NAME || col == COL_ID)
      named = true;
    /* Two columns for one text field would silently overwrite each other;
     * list fields (two email columns) add up instead. */
    for (size_t k = 0; k < i; k++)
      if (col != COL_UNKNOWN && col != COL_IGNORE && im->cols[k].field == col &&
          (col < 0 || am_fields[col].type != AM_T_LIST))
        return am_fail(err, AM_EUSAGE, "%s: columns %zu '%s' and %zu '%s' both give %s; "
                       "use --map '%s=ignore' to drop one",
                       im->o->path, k + 1, im->cols[k].header, i + 1, rec.fields[i],
                       col >= 0 ? am_fields[col].name : "the same column", rec.fields[i]);
  }
  if ((rc = check_map(im, err))) return rc;
  if (!any)
    return am_fail(err, AM_EINVAL,
                   "%s: no column of the first line is recognised; is it a header? "
                   "(expected names such as Nom, Prénom, Email, Promo; use --map)", im->o->path);
  if (!named)
    return am_fail(err, AM_EINVAL,
                   "%s: no name column (Nom, Prénom, Family name, Given name) was found; use --map",
                   im->o->path);
  return 0;
}

/* ---- rows -------------------------------------------------------------------- */

/* Sets m's fields from the row's cells. Every mapped column is applied,
 * empty cells included: the spreadsheet is the truth for its columns. */
static int apply_row(importer *im, const am_csv_record *rec, am_member *m, bool is_new) {
  am_error e = {0};
  bool listed[AM_F__COUNT] = {false};
  int bad = 0;
  for (size_t i = 0; i < rec->n && i < im->ncols; i++) {
    int f = im->cols[i].field;
    if (f == COL_VISIBILITY && rec->lens[i]) {
      if (am_member_set_visibility(m, rec->fields[i], rec->lens[i], &e)) {
        row_msg(im, rec->line, im->cols[i].header, e.msg);
        bad = 1;
      }
      continue;
    }
    if (f == COL_CREATED && rec->lens[i]) {
      struct tm tm = {0};
      const char *end = strptime(rec->fields[i], "%Y-%m-%dT%H:%M:%SZ", &tm);
      if (!end || *end) {
        row_msg(im, rec->line, im->cols[i].header,
                "is not a time such as 2024-05-01T10:00:00Z (as `member export` writes it)");
        bad = 1;
      } else if (is_new) {
        m->created = (int64_t)timegm(&tm);
      }
      continue;
    }
    if (f < 0) continue;
    if (am_fields[f].type == AM_T_LIST && listed[f]) {
      /* A second column for the same list: append its items. */
      am_buf v = {0};
      am_member_format(m, f, &v);
      if (v.len) am_buf_append(&v, ";", 1);
      am_buf_append(&v, rec->fields[i], rec->lens[i]);
      int rc = am_member_set(m, f, v.data ? v.data : "", v.len, &e);
      am_buf_free(&v);
      if (rc) row_msg(im, rec->line, im->cols[i].header, e.msg), bad = 1;
      continue;
    }
    listed[f] = true;
    const char *cell = rec->fields[i];
    size_t len = rec->lens[i];
    /* `export --excel` protects formula-like cells with an apostrophe. */
    if (len >= 2 && cell[0] == '\'' && strchr("=+-@", cell[1])) cell++, len--;
    if (am_member_set(m, f, cell, len, &e)) {
      row_msg(im, rec->line, im->cols[i].header, e.msg);
      bad = 1;
    }
  }
  if (!bad && am_member_check(m, &e)) {
    row_msg(im, rec->line, NULL, e.msg);
    bad = 1;
  }
  return bad;
}

/* Which existing member the row names (0: none), by id column or address. */
static int row_target(importer *im, am_txn *t, const am_csv_record *rec, const am_member *row,
                      uint64_t *target, bool *id_given) {
  char msg[700];
  *target = 0;
  *id_given = false;
  for (size_t i = 0; i < rec->n && i < im->ncols; i++) {
    if (im->cols[i].field != COL_ID || !rec->lens[i]) continue;
    uint64_t v;
    if (am_member_id_parse(rec->fields[i], &v)) {
      snprintf(msg, sizeof msg, "'%.40s' is not a member id (a whole number from 1 to %llu)",
               rec->fields[i], (unsigned long long)AM_MEMBER_ID_MAX);
      row_msg(im, rec->line, im->cols[i].header, msg);
      return 1;
    }
    *target = v;
    *id_given = true;
  }
  for (uint32_t i = 0; i < row->emails.n; i++) {
    uint64_t owner;
    int rc = am_members_by_email(t, row->emails.v[i], &owner);
    if (rc == AM_ENOTFOUND) continue;
    if (rc) return rc;
    if (*target && owner != *target) {
      snprintf(msg, sizeof msg, "the address %.254s belongs to member %llu, not to member %llu",
               row->emails.v[i], (unsigned long long)owner, (unsigned long long)*target);
      row_msg(im, rec->line, NULL, msg);
      return 1;
    }
    *target = owner;
  }
  return 0;
}

static int import_row(importer *im, am_txn *t, const am_csv_record *rec) {
  am_member row, cur;
  am_error e = {0};
  char msg[700];
  int rc = 0;
  am_member_init(&row);
  am_member_init(&cur);
  if (rec->n > im->ncols) {
    bool extra = false;
    for (size_t i = im->ncols; i < rec->n; i++) extra |= rec->lens[i] > 0;
    if (extra) {
      snprintf(msg, sizeof msg, "%zu cells, but the header has %zu columns", rec->n, im->ncols);
      row_msg(im, rec->line, NULL, msg);
      goto out;
    }
  }
  if (apply_row(im, rec, &row, true)) goto out;
  uint64_t target;
  bool id_given;
  if ((rc = row_target(im, t, rec, &row, &target, &id_given))) {
    if (rc == 1) rc = 0;
    goto out;
  }
  unsigned long first = target ? seen_get(&im->seen, target) : 0;
  if (first) {
    snprintf(msg, sizeof msg, "same member as line %lu (same address or id); row not imported", first);
    row_msg(im, rec->line, NULL, msg);
    goto out;
  }
  bool exists = false;
  if (target) {
    rc = am_members_get(t, target, &cur, &e);
    if (rc && rc != AM_ENOTFOUND) goto out;
    exists = rc == 0;
    rc = 0;
  }
  if (exists) {
    if (im->o->on_duplicate == AM_DUP_SKIP) {
      im->batch.skipped++;
      goto out;
    }
    if (im->o->on_duplicate == AM_DUP_ERROR) {
      snprintf(msg, sizeof msg, "already in the directory as member %llu (see --on-duplicate)",
               (unsigned long long)target);
      row_msg(im, rec->line, NULL, msg);
      goto out;
    }
    /* Update: the existing record with this row's columns laid over it. */
    apply_row(im, rec, &cur, false);
    if (im->row_bad) goto out;
  } else {
    am_member_free(&cur);
    cur = row;
    am_member_init(&row);
    cur.id = id_given ? target : 0;
  }
  rc = am_members_put(t, &cur, exists ? 0 : AM_PUT_CREATE, &e);
  if (rc == AM_EEXIST || rc == AM_EINVAL) {
    row_msg(im, rec->line, NULL, e.msg);
    rc = 0;
    goto out;
  }
  if (rc) {
    am_fail(im->err, rc, "%s:%lu: %s", im->o->path, rec->line, am_error_text(&e, rc));
    goto out;
  }
  if (exists) im->batch.updated++;
  else im->batch.added++;
  rc = seen_put(&im->seen, cur.id, rec->line);
out:
  am_member_free(&row);
  am_member_free(&cur);
  return rc;
}

static bool row_is_blank(const am_csv_record *rec) {
  for (size_t i = 0; i < rec->n; i++)
    for (size_t k = 0; k < rec->lens[i]; k++)
      if (!strchr(" \t\r\n", rec->fields[i][k])) return false;
  return true;
}

typedef struct batch_arg {
  importer *im;
  am_csv_mark start;
} batch_arg;

#define AM_IMPORT_ABORT 1 /* strict/dry-run: abort the transaction, not an error */

static int batch_fn(am_txn *t, void *arg) {
  batch_arg *b = arg;
  importer *im = b->im;
  am_csv_record rec;
  am_error e;
  int rc;
  /* This may be a second run of the same batch: start it afresh. */
  am_csv_seek(im->csv, &b->start);
  if ((rc = seen_forget_from(&im->seen, b->start.line))) return rc;
  memset(&im->batch, 0, sizeof im->batch);
  im->msgs.len = 0;
  im->nmsgs = 0;
  im->done = false;
  size_t limit = im->whole_file ? SIZE_MAX : (im->o->batch ? im->o->batch : DEFAULT_BATCH);
  while (im->batch.rows < limit) {
    e.msg[0] = '\0';
    rc = am_csv_next(im->csv, &rec, &e);
    if (rc == 0) {
      im->done = true;
      break;
    }
    /* A row of empty cells (";;;", as spreadsheets export trailing empty
     * rows) is a blank line, not a member without a name. */
    if (rc > 0 && row_is_blank(&rec)) continue;
    im->batch.rows++;
    if (rc < 0) {
      if (rc != AM_EINVAL) return am_fail(im->err, rc, "%s: %s", im->o->path, am_error_text(&e, rc));
      /* Same FILE:LINE: form as row errors ("line 3, column 9: x" from the
       * reader becomes "FILE:3: column 9: x"), so editors can jump to it. */
      im->batch.errors++;
      unsigned long ln = rec.line;
      int skip = 0;
      if (sscanf(e.msg, "line %lu, %n", &ln, &skip) != 1) skip = 0, ln = rec.line;
      if (im->reported + ++im->nmsgs <= MAX_REPORTED)
        am_buf_printf(&im->msgs, "%s:%lu: %s\n", im->o->path, ln, e.msg + skip);
      continue;
    }
    im->row_bad = false;
    if ((rc = import_row(im, t, &rec))) return rc;
    if (im->row_bad) im->batch.errors++;
    progress(im, false);
  }
  if (im->o->dry_run || (im->o->strict && im->batch.errors)) return AM_IMPORT_ABORT;
  return 0;
}

int am_import(am_store *s, const am_import_opts *o, am_import_stats *st, am_error *err) {
  importer im = {.o = o, .err = err};
  am_csv_opts co = {.separator = o->separator, .encoding = o->encoding};
  int rc;
  memset(st, 0, sizeof *st);
  if ((rc = am_csv_open_file(&im.csv, o->path, &co, err))) return rc;
  st->encoding = am_csv_encoding(im.csv);
  st->separator = am_csv_separator(im.csv);
  if ((rc = read_header(&im, err))) goto out;
  im.whole_file = o->strict || o->dry_run;
  clock_gettime(CLOCK_MONOTONIC, &im.last_draw);
  while (!im.done) {
    batch_arg b = {.im = &im};
    am_csv_tell(im.csv, &b.start);
    rc = am_store_write(s, batch_fn, &b, err);
    if (rc && rc != AM_IMPORT_ABORT) goto out;
    /* Committed (or, for strict/dry run, judged): report and count. */
    if (o->report && im.msgs.len) {
      progress(&im, true);
      fwrite(im.msgs.data, 1, im.msgs.len, o->report);
    }
    im.reported += im.nmsgs;
    im.total.rows += im.batch.rows;
    im.total.added += im.batch.added;
    im.total.updated += im.batch.updated;
    im.total.skipped += im.batch.skipped;
    im.total.errors += im.batch.errors;
    memset(&im.batch, 0, sizeof im.batch); /* counted: not twice on the bar */
    if (rc == AM_IMPORT_ABORT) {
      rc = 0;
      break;
    }
  }
  progress(&im, true);
  if (o->report && im.reported > MAX_REPORTED)
    fprintf(o->report, "%s: ... and %zu more problems not shown\n", o->path, im.reported - MAX_REPORTED);
  st->rows = im.total.rows;
  st->added = im.total.added;
  st->updated = im.total.updated;
  st->skipped = im.total.skipped;
  st->errors = im.total.errors;
out:
  for (size_t i = 0; i < im.ncols; i++) free((char *)im.cols[i].header);
  free(im.cols);
  free(im.seen.v);
  am_buf_free(&im.msgs);
  /* The encoding name lives in the reader: keep a static copy. */
  static char enc[64];
  snprintf(enc, sizeof enc, "%s", st->encoding ? st->encoding : "");
  st->encoding = enc;
  am_csv_close(im.csv);
  return rc;
}

/* ---- the command ------------------------------------------------------------- */

int cmd_member_import(int argc, char **argv) {
  static const am_opt spec[] = {
    {"encoding", true}, {"separator", true}, {"map", true}, {"on-duplicate", true},
    {"strict", false}, {"dry-run", false}, {"batch", true}, {"quiet", false}, {NULL, false},
  };
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale member import FILE.csv [options] (see amicale member --help)");
  am_import_opts o = {.path = a.pos[0], .encoding = am_args_get(&a, "encoding"),
                      .map = am_args_get(&a, "map"), .strict = am_args_has(&a, "strict"),
                      .dry_run = am_args_has(&a, "dry-run"), .report = stderr};
  const char *sep = am_args_get(&a, "separator");
  if (sep) {
    if (!strcmp(sep, "\\t") || !strcmp(sep, "tab") || !strcmp(sep, "\t")) o.separator = '\t';
    else if (strlen(sep) == 1 && strchr(",;|", sep[0])) o.separator = sep[0];
    else return am_cli_usage("--separator '%s' should be ',', ';', '|' or tab", sep);
  }
  const char *dup = am_args_get(&a, "on-duplicate");
  if (!dup || !strcmp(dup, "update")) o.on_duplicate = AM_DUP_UPDATE;
  else if (!strcmp(dup, "skip")) o.on_duplicate = AM_DUP_SKIP;
  else if (!strcmp(dup, "error")) o.on_duplicate = AM_DUP_ERROR;
  else return am_cli_usage("--on-duplicate '%s' should be update, skip or error", dup);
  if ((rc = am_args_size(&a, "batch", DEFAULT_BATCH, &o.batch))) return rc;
  if (o.batch == 0) return am_cli_usage("--batch must be at least 1");
  o.progress = isatty(STDERR_FILENO) && !getenv("CI") && !am_args_has(&a, "quiet");

  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  am_error err = {0};
  am_import_stats st;
  rc = am_import(n.store, &o, &st, &err);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  const char *sepname = st.separator == '\t' ? "tab" : st.separator == ';' ? "';'" : st.separator == ',' ? "','" : "'|'";
  bool nothing = o.dry_run || (o.strict && st.errors);
  printf("%s (%s, separator %s): %zu rows: %zu %s, %zu %s, %zu skipped, %zu with errors\n",
         o.path, st.encoding, sepname, st.rows, st.added, nothing ? "to add" : "added", st.updated,
         nothing ? "to update" : "updated", st.skipped, st.errors);
  if (o.dry_run) printf("Dry run: nothing was written.\n");
  else if (o.strict && st.errors) printf("Nothing was written (--strict and %zu rows with errors).\n", st.errors);
  else if (st.errors) printf("The rows with errors were not imported; fix them and import the file again.\n");
  return st.errors ? EXIT_INVALID : EXIT_OK;
}
