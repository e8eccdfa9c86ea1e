/* Human and JSON output of members (see cli.h). Column widths are counted
 * in terminal cells, so "Éléonore" and "日本" line up with "Marie". */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/member_json.h"
#include "proto/text.h"

enum { COL_ID, COL_NAME, COL_PROMO, COL_PROGRAMME, COL_EMPLOYER, COL_CITY, NCOLS };
static const char *const col_title[NCOLS] = {"ID", "NAME", "PROMO", "PROGRAMME", "EMPLOYER", "CITY"};
static const size_t col_max[NCOLS] = {10, 32, 5, 24, 26, 18};

static void cell_text(const am_member *m, int col, am_buf *b) {
  b->len = 0;
  switch (col) {
  case COL_ID: am_buf_printf(b, "%llu", (unsigned long long)m->id); break;
  case COL_NAME: am_member_display_name(m, b); break;
  case COL_PROMO: am_member_format(m, AM_F_PROMO, b); break;
  case COL_PROGRAMME: am_member_format(m, AM_F_PROGRAMME, b); break;
  case COL_EMPLOYER: am_member_format(m, AM_F_EMPLOYER, b); break;
  case COL_CITY: am_member_format(m, AM_F_CITY, b); break;
  }
  am_buf_append(b, "", 1); /* NUL */
  b->len--;
}

void am_print_cell(FILE *out, const char *s, size_t width, bool last) {
  size_t w = am_text_width(s);
  if (w > width) {
    size_t keep = am_text_fit(s, width - 1);
    fwrite(s, 1, keep, out);
    fputs("…", out);
    w = am_text_width(s) - am_text_width(s + keep) + 1;
  } else {
    fputs(s, out);
  }
  if (!last)
    for (; w < width + 2; w++) fputc(' ', out);
}

void am_human_bytes(uint64_t v, char out[static 16]) {
  static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  double x = (double)v;
  while (x >= 999.95 && u < 6) x /= 1000, u++;
  if (u == 0) snprintf(out, 16, "%llu B", (unsigned long long)v);
  else if (x < 9.95) snprintf(out, 16, "%.1f %s", x, unit[u]);
  else snprintf(out, 16, "%.0f %s", x, unit[u]);
}

void am_print_table(FILE *out, const am_member *v, size_t n) {
  size_t width[NCOLS];
  am_buf b = {0};
  for (int c = 0; c < NCOLS; c++) width[c] = strlen(col_title[c]);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < NCOLS; c++) {
      cell_text(&v[i], c, &b);
      size_t w = am_text_width(b.data);
      if (w > col_max[c]) w = col_max[c];
      if (w > width[c]) width[c] = w;
    }
  for (int c = 0; c < NCOLS; c++) am_print_cell(out, col_title[c], width[c], c == NCOLS - 1);
  fputc('\n', out);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < NCOLS; c++) {
      cell_text(&v[i], c, &b);
      am_print_cell(out, b.data, width[c], c == NCOLS - 1);
    }
    fputc('\n', out);
  }
  am_buf_free(&b);
}

void am_print_member(FILE *out, const am_member *m) {
  am_buf b = {0};
  size_t lw = 0;
  for (int f = 0; f < AM_F__COUNT; f++)
    if (strlen(am_fields[f].label) > lw) lw = strlen(am_fields[f].label);
  am_member_display_name(m, &b);
  am_buf_append(&b, "", 1);
  fprintf(out, "Member %llu: %s\n", (unsigned long long)m->id, b.data);
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (am_member_is_empty(m, f) && am_fields[f].type != AM_T_BOOL) continue;
    if (am_fields[f].type == AM_T_BOOL && am_member_is_empty(m, f) && f != AM_F_MENTORING) continue;
    b.len = 0;
    am_member_format(m, f, &b);
    am_buf_append(&b, "", 1);
    fprintf(out, "  %-*s  ", (int)lw, am_fields[f].label);
    /* Multi-line bios keep their shape under the label. */
    for (const char *p = b.data; *p; p++) {
      fputc(*p, out);
      if (*p == '\n') fprintf(out, "  %-*s  ", (int)lw, "");
    }
    if (f < AM_F__PROFILE_COUNT) fprintf(out, "   [%s]", am_vis_name(m->vis[f]));
    fputc('\n', out);
  }
  char ts[21];
  am_time_format(m->created, ts);
  fprintf(out, "  %-*s  %s\n", (int)lw, "Created", ts);
  am_time_format(m->updated, ts);
  fprintf(out, "  %-*s  %s\n", (int)lw, "Updated", ts);
  am_buf_free(&b);
}

FILE *am_cli_private_file(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f) {
    fprintf(stderr, "amicale: cannot write %s: %s\n", path,
                    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    if (fd >= 0) close(fd);
  }
  return f;
}

int am_print_json(FILE *out, void *json) {
  json_t *j = json;
  if (!j) return am_cli_fail(AM_ENOMEM, NULL);
  int rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  fputc('\n', out);
  json_decref(j);
  return rc ? am_cli_fail(AM_EIO, NULL) : EXIT_OK;
}
