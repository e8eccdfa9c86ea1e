/* CSV reader and writer (see csv.h).
 *
 * Hand-written RFC 4180 parser: no Debian C CSV library is both maintained
 * and able to give line/column positions.
 *
 * The whole input is converted to UTF-8 once at open, so the parser only
 * ever sees valid UTF-8 and columns can be counted in characters. Fields are
 * copied into one per-record buffer so that the text stays pristine: column
 * numbers are computed from it only when an error is reported. */
#include "proto/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define UTF8_BOM "\xEF\xBB\xBF"

/* A record can never hold more than this, so the field buffer is capped here
 * (each field is followed by its NUL). */
#define RECORD_BUF_MAX \
  ((size_t)AM_CSV_MAX_FIELDS * ((size_t)AM_CSV_MAX_FIELD + 1))

struct am_csv {
  char *text;            /* UTF-8, NUL-terminated at text[len] */
  size_t len;
  size_t pos;            /* next byte to parse */
  unsigned long line;    /* physical line of text[pos] */
  size_t line_start;     /* offset of that line's first byte (for columns) */
  char sep;
  const char *enc;       /* a literal, or enc_owned */
  char *enc_owned;
  char *buf;             /* the current record's fields, each NUL-terminated */
  size_t buf_len, buf_cap;
  size_t *offs;          /* field i starts at buf + offs[i] */
  char **fields;
  size_t *lens;
};

/* ---- UTF-8 and line helpers ------------------------------------------- */

/* Offset of the first byte of the first ill-formed sequence (overlongs,
 * surrogates and code points above U+10FFFF are ill-formed), or len. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    /* Spreadsheet exports are mostly ASCII: skip it eight bytes at a time. */
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & UINT64_C(0x8080808080808080)) break;
      i += 8;
    }
    if (i >= len) break;
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c >= 0xE0 && c <= 0xEF) n = 2;
    else if (c >= 0xF0 && c <= 0xF4) n = 3;
    else return i;
    if (len - i <= n) return i;
    unsigned c1 = s[i + 1];
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) ||
        (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
      return i;
    for (size_t k = 1; k <= n; k++)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    i += n + 1;
  }
  return len;
}

/* Counts physical lines across chunks: CRLF is one line end even when the
 * chunk boundary falls between CR and LF. */
typedef struct line_counter {
  unsigned long line;
  bool after_cr;
} line_counter;

static void count_lines(line_counter *lc, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n') {
      if (!lc->after_cr) lc->line++;
      lc->after_cr = false;
    } else if (s[i] == '\r') {
      lc->line++;
      lc->after_cr = true;
    } else {
      lc->after_cr = false;
    }
  }
}

static unsigned long line_at(const char *s, size_t off) {
  line_counter lc = {1, false};
  count_lines(&lc, s, off);
  return lc.line;
}

static bool is_utf8_name(const char *name) {
  return strcasecmp(name, "UTF-8") == 0 || strcasecmp(name, "UTF8") == 0;
}

/* ---- Conversion to UTF-8 ---------------------------------------------- */

typedef struct conv_error {
  size_t offset;        /* input byte offset of the bad sequence */
  unsigned long line;   /* physical line it is on */
  bool incomplete;      /* input ends in the middle of a character */
} conv_error;

/* One run of iconv over the whole input. With out == NULL the output is
 * only measured (through a fixed scratch buffer), so that the real buffer can
 * then be allocated once at its exact size: no over-allocation for 1-byte
 * encodings, no repeated growth for multi-byte ones. Returns 0, AM_EINVAL
 * (with *ce filled; only meaningful when measuring), AM_ETOOBIG when the
 * output would exceed max_out, or AM_EINTERNAL. */
static int iconv_run(iconv_t cd, const char *in, size_t len, char *out,
                     size_t max_out, size_t *outlen, conv_error *ce) {
  char scratch[16384];
  char *ip = (char *)in;
  size_t il = len, total = 0;
  line_counter lc = {1, false};
  bool flushing = false;

  iconv(cd, NULL, NULL, NULL, NULL); /* the previous run may have left state */
  for (;;) {
    char *op = out ? out + total : scratch;
    size_t room = out ? max_out - total : sizeof scratch;
    size_t ol = room;
    /* Flushing emits a stateful encoding's pending output at the end. */
    size_t r = flushing ? iconv(cd, NULL, NULL, &op, &ol)
                        : iconv(cd, &ip, &il, &op, &ol);
    int e = errno;
    size_t produced = room - ol;
    if (!out) count_lines(&lc, scratch, produced);
    total += produced;
    if (!out && total > max_out) return AM_ETOOBIG;
    if (r != (size_t)-1) {
      if (flushing) break;
      flushing = true;
      continue;
    }
    if (e == E2BIG && !out && produced > 0) continue;
    if (e == EILSEQ || e == EINVAL) {
      ce->offset = (size_t)(ip - in);
      ce->line = lc.line;
      ce->incomplete = e == EINVAL;
      return AM_EINVAL;
    }
    return out && e == E2BIG ? AM_ETOOBIG : AM_EINTERNAL;
  }
  *outlen = total;
  return 0;
}

/* Converts in[0..len) from encoding `from` into a new NUL-terminated UTF-8
 * buffer. Returns 0, AM_EUSAGE (unknown encoding, err filled), AM_EINVAL
 * (invalid input, *ce filled, err not), AM_ENOMEM, AM_ETOOBIG or
 * AM_EINTERNAL (err filled). */
static int convert(const char *from, const char *in, size_t len, char **text,
                   size_t *textlen, conv_error *ce, am_error *err) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == (iconv_t)-1)
    return am_fail(err, AM_EUSAGE, "unknown encoding '%s'", from);
  /* No UTF-8 character is longer than 4 bytes, and no input character is
   * shorter than 1: 4 bytes per input byte bounds every sane encoding. */
  size_t max_out = 4 * len + 4;
  size_t n = 0;
  char *out = NULL;
  int rc = iconv_run(cd, in, len, NULL, max_out, &n, ce);
  if (rc == 0) {
    out = malloc(n + 1);
    if (!out) rc = AM_ENOMEM;
    else rc = iconv_run(cd, in, len, out, n, &n, ce);
    /* The first run succeeded, so a second failure is iconv's, not the
     * input's. */
    if (rc == AM_EINVAL) rc = AM_EINTERNAL;
  }
  iconv_close(cd);
  if (rc == 0 && utf8_invalid_at((const unsigned char *)out, n) != n)
    rc = AM_EINTERNAL;
  if (rc != 0) {
    free(out);
    switch (rc) {
    case AM_EINVAL: return rc;
    case AM_ENOMEM: return am_fail(err, rc, "out of memory converting %zu bytes from %s", len, from);
    case AM_ETOOBIG: return am_fail(err, rc, "text converted from %s would exceed %zu bytes", from, max_out);
    default: return am_fail(err, AM_EINTERNAL, "iconv failed converting from %s", from);
    }
  }
  out[n] = '\0';
  *text = out;
  *textlen = n;
  return 0;
}

/* ---- Opening ---------------------------------------------------------- */

/* Counts ',', ';' and TAB outside quotes in the first non-blank record. A
 * quote opens a quoted field only at a field start, and any candidate
 * separator counts as a field boundary since the real one is not known. A
 * unique most frequent candidate wins; a tie or no candidate at all gives ','
 * (RFC 4180). */
static char detect_separator(const char *t, size_t len) {
  static const char cand[3] = {',', ';', '\t'};
  size_t count[3] = {0, 0, 0};
  size_t i = 0;
  while (i < len && (t[i] == '\r' || t[i] == '\n')) i++;
  bool quoted = false, field_start = true;
  for (; i < len; i++) {
    char c = t[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < len && t[i + 1] == '"') i++;
        else quoted = false;
      }
      continue;
    }
    if (c == '\r' || c == '\n') break;
    if (c == '"' && field_start) {
      quoted = true;
      field_start = false;
      continue;
    }
    field_start = false;
    for (int k = 0; k < 3; k++)
      if (c == cand[k]) {
        count[k]++;
        field_start = true;
      }
  }
  int best = 0;
  bool tie = false;
  for (int k = 1; k < 3; k++) {
    if (count[k] > count[best]) {
      best = k;
      tie = false;
    } else if (count[k] == count[best]) {
      tie = true;
    }
  }
  return tie ? ',' : cand[best];
}

/* Takes src[0..n) as the text: reuses `owned` (which holds at least n + 1
 * bytes and contains src) when given, else copies. */
static int take_text(am_csv *csv, const char *src, size_t n, char *owned) {
  if (owned) {
    memmove(owned, src, n);
    csv->text = owned;
  } else {
    csv->text = malloc(n + 1);
    if (!csv->text) return AM_ENOMEM;
    if (n) memcpy(csv->text, src, n);
  }
  csv->text[n] = '\0';
  csv->len = n;
  return 0;
}

/* Fills csv->text from data in the requested encoding. Takes ownership of
 * `owned` (NULL, or data itself malloc'd with len + 1 bytes): it is adopted
 * as the text or freed, and only on the way out since messages may still
 * need to read data. */
static int load_text(am_csv *csv, const char *data, size_t len, char *owned,
                     const char *enc, am_error *err) {
  int rc = 0;
  conv_error ce = {0, 0, false};
  const bool bom = len >= 3 && memcmp(data, UTF8_BOM, 3) == 0;
  const unsigned char *u = (const unsigned char *)data;

  if (!enc || strcasecmp(enc, "auto") == 0) {
    if (bom) {
      size_t bad = utf8_invalid_at(u + 3, len - 3) + 3;
      if (bad != len) {
        rc = am_fail(err, AM_EINVAL,
                     "starts with a UTF-8 byte order mark but is not valid "
                     "UTF-8 at byte offset %zu (line %lu); choose its "
                     "encoding",
                     bad, line_at(data, bad));
        goto out;
      }
      csv->enc = "UTF-8 (BOM)";
      rc = take_text(csv, data + 3, len - 3, owned);
      owned = NULL;
    } else if (utf8_invalid_at(u, len) == len) {
      csv->enc = "UTF-8";
      rc = take_text(csv, data, len, owned);
      owned = NULL;
    } else {
      csv->enc = "WINDOWS-1252";
      rc = convert("WINDOWS-1252", data, len, &csv->text, &csv->len, &ce, err);
      if (rc == AM_EINVAL) {
        /* Bytes 0x81 0x8D 0x8F 0x90 0x9D are undefined in Windows-1252; a
         * file holding them was most likely written as ISO-8859-1, where
         * every byte is a character. */
        csv->enc = "ISO-8859-1";
        rc = convert("ISO-8859-1", data, len, &csv->text, &csv->len, &ce, err);
        if (rc == AM_EINVAL)
          rc = am_fail(err, AM_EINTERNAL, "ISO-8859-1 conversion failed");
      }
    }
    goto out;
  }

  if (!*enc) {
    rc = am_fail(err, AM_EUSAGE, "unknown encoding ''");
    goto out;
  }
  csv->enc_owned = strdup(enc);
  if (!csv->enc_owned) {
    rc = AM_ENOMEM;
    goto out;
  }
  csv->enc = csv->enc_owned;

  if (is_utf8_name(enc)) {
    /* Validated here rather than by iconv, for an exact offset. */
    size_t skip = bom ? 3 : 0;
    size_t bad = utf8_invalid_at(u + skip, len - skip) + skip;
    if (bad != len) {
      rc = am_fail(err, AM_EINVAL,
                   "invalid byte sequence for encoding '%s' at byte offset "
                   "%zu (line %lu)",
                   enc, bad, line_at(data, bad));
      goto out;
    }
    rc = take_text(csv, data + skip, len - skip, owned);
    owned = NULL;
    goto out;
  }

  rc = convert(enc, data, len, &csv->text, &csv->len, &ce, err);
  if (rc == AM_EINVAL) {
    rc = am_fail(err, AM_EINVAL,
                 ce.incomplete
                     ? "incomplete character for encoding '%s' at byte "
                       "offset %zu (line %lu)"
                     : "invalid byte sequence for encoding '%s' at byte "
                       "offset %zu (line %lu)",
                 enc, ce.offset, ce.line);
  } else if (rc == 0 && csv->len >= 3 &&
             memcmp(csv->text, UTF8_BOM, 3) == 0) {
    /* A byte order mark in UTF-16LE/BE or UTF-32LE/BE input becomes U+FEFF;
     * it marks the encoding and is never part of the first field. */
    memmove(csv->text, csv->text + 3, csv->len - 3 + 1);
    csv->len -= 3;
  }

out:
  free(owned);
  if (rc == AM_ENOMEM) am_fail(err, rc, "out of memory");
  return rc;
}

static bool valid_separator(char c) {
  return c != '"' && c != '\r' && c != '\n' && c != '\0' &&
         (unsigned char)c < 0x80;
}

/* Shared by both openers; see load_text for `owned`. */
static int csv_open(am_csv **out, const char *data, size_t len, char *owned,
                    const am_csv_opts *opts, am_error *err) {
  char sep = opts ? opts->separator : 0;
  const char *enc = opts ? opts->encoding : NULL;
  if (!out || (!data && len)) {
    free(owned);
    return am_fail(err, AM_EUSAGE, "am_csv_open: missing argument");
  }
  *out = NULL;
  if (sep && !valid_separator(sep)) {
    free(owned);
    return am_fail(err, AM_EUSAGE,
                   "separator must be an ASCII character other than a "
                   "quote or a line break");
  }
  if (len > AM_CSV_MAX_FILE) {
    free(owned);
    return am_fail(err, AM_ETOOBIG, "input is larger than %lu bytes (1 GiB)",
                   AM_CSV_MAX_FILE);
  }
  am_csv *csv = calloc(1, sizeof *csv);
  if (!csv) {
    free(owned);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  int rc = load_text(csv, data ? data : "", len, owned, enc, err);
  if (rc == 0) {
    csv->offs = malloc(AM_CSV_MAX_FIELDS * sizeof *csv->offs);
    csv->fields = malloc(AM_CSV_MAX_FIELDS * sizeof *csv->fields);
    csv->lens = malloc(AM_CSV_MAX_FIELDS * sizeof *csv->lens);
    if (!csv->offs || !csv->fields || !csv->lens)
      rc = am_fail(err, AM_ENOMEM, "out of memory");
  }
  if (rc) {
    am_csv_close(csv);
    return rc;
  }
  csv->line = 1;
  csv->sep = sep ? sep : detect_separator(csv->text, csv->len);
  *out = csv;
  return 0;
}

int am_csv_open_buffer(am_csv **out, const char *data, size_t len,
                       const am_csv_opts *opts, am_error *err) {
  return csv_open(out, data, len, NULL, opts, err);
}

int am_csv_open_file(am_csv **out, const char *path, const am_csv_opts *opts,
                     am_error *err) {
  if (!out || !path)
    return am_fail(err, AM_EUSAGE, "am_csv_open_file: missing argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return am_fail(err, e == ENOENT ? AM_ENOTFOUND : AM_EIO,
                   "cannot open %s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return am_fail(err, AM_EIO, "cannot read %s: %s", path, strerror(e));
  }
  bool regular = S_ISREG(st.st_mode);
  if (regular && (uintmax_t)st.st_size > AM_CSV_MAX_FILE) {
    close(fd);
    return am_fail(err, AM_ETOOBIG, "%s is larger than %lu bytes (1 GiB)",
                   path, AM_CSV_MAX_FILE);
  }
  /* A regular file is read in one allocation (+1 so that EOF is seen without
   * growing); a pipe grows geometrically. Reading one byte past the limit is
   * how a growing file or a pipe is found to be too big. */
  size_t cap = regular ? (size_t)st.st_size + 1 : 65536;
  if (cap > AM_CSV_MAX_FILE + 1) cap = AM_CSV_MAX_FILE + 1;
  size_t len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return am_fail(err, AM_ENOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (len == cap) {
      if (cap > AM_CSV_MAX_FILE) {
        free(buf);
        close(fd);
        return am_fail(err, AM_ETOOBIG, "%s is larger than %lu bytes (1 GiB)",
                       path, AM_CSV_MAX_FILE);
      }
      size_t ncap = cap * 2;
      if (ncap > AM_CSV_MAX_FILE + 1) ncap = AM_CSV_MAX_FILE + 1;
      char *nb = realloc(buf, ncap);
      if (!nb) {
        free(buf);
        close(fd);
        return am_fail(err, AM_ENOMEM, "%s: out of memory", path);
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      close(fd);
      return am_fail(err, AM_EIO, "cannot read %s: %s", path, strerror(e));
    }
    if (r == 0) break;
    len += (size_t)r;
  }
  close(fd);
  if (len == cap) { /* room for the terminating NUL */
    char *nb = realloc(buf, len + 1);
    if (!nb) {
      free(buf);
      return am_fail(err, AM_ENOMEM, "%s: out of memory", path);
    }
    buf = nb;
  }
  int rc = csv_open(out, buf, len, buf, opts, err);
  if (rc) am_error_prefix(err, "%s: ", path);
  return rc;
}

void am_csv_close(am_csv *csv) {
  if (!csv) return;
  free(csv->text);
  free(csv->enc_owned);
  free(csv->buf);
  free(csv->offs);
  free(csv->fields);
  free(csv->lens);
  free(csv);
}

char am_csv_separator(const am_csv *csv) { return csv ? csv->sep : 0; }
const char *am_csv_encoding(const am_csv *csv) { return csv ? csv->enc : NULL; }
size_t am_csv_position(const am_csv *csv) { return csv ? csv->pos : 0; }
size_t am_csv_size(const am_csv *csv) { return csv ? csv->len : 0; }

void am_csv_tell(const am_csv *csv, am_csv_mark *mark) {
  mark->pos = csv->pos;
  mark->line = csv->line;
  mark->line_start = csv->line_start;
}

void am_csv_seek(am_csv *csv, const am_csv_mark *mark) {
  csv->pos = mark->pos <= csv->len ? mark->pos : csv->len;
  csv->line = mark->line;
  csv->line_start = mark->line_start;
}

/* ---- Reading records -------------------------------------------------- */

/* 1-based column of text[pos] in characters, for the line starting at ls.
 * Only called when reporting an error, so an O(line) scan is fine. */
static size_t column_of(const am_csv *csv, size_t ls, size_t pos) {
  size_t col = 1;
  for (size_t i = ls; i < pos; i++)
    if (((unsigned char)csv->text[i] & 0xC0) != 0x80) col++;
  return col;
}

static bool is_eol(char c) { return c == '\r' || c == '\n'; }

/* Consumes the line end at pos (CRLF, LF or CR). */
static void eat_eol(am_csv *csv) {
  if (csv->text[csv->pos] == '\r' && csv->pos + 1 < csv->len &&
      csv->text[csv->pos + 1] == '\n')
    csv->pos++;
  csv->pos++;
  csv->line++;
  csv->line_start = csv->pos;
}

/* Resumes after an error at the line following the one being read. */
static void skip_line(am_csv *csv) {
  while (csv->pos < csv->len && !is_eol(csv->text[csv->pos])) csv->pos++;
  if (csv->pos < csv->len) eat_eol(csv);
}

/* Skips to just after the quote that closes the current quoted field (or
 * to the end of input), counting the line breaks on the way. */
static void skip_quoted(am_csv *csv) {
  while (csv->pos < csv->len) {
    char c = csv->text[csv->pos];
    if (c == '"') {
      if (csv->pos + 1 < csv->len && csv->text[csv->pos + 1] == '"') {
        csv->pos += 2;
        continue;
      }
      csv->pos++;
      return;
    }
    if (is_eol(c)) eat_eol(csv);
    else csv->pos++;
  }
}

/* Appends to the record buffer; 1 when the current field (starting at
 * field_off) would exceed AM_CSV_MAX_FIELD, AM_ENOMEM, or 0. */
static int field_add(am_csv *csv, size_t field_off, const char *p, size_t n) {
  if (csv->buf_len - field_off + n > AM_CSV_MAX_FIELD) return 1;
  /* +1 for the NUL that ends the field */
  size_t need = csv->buf_len + n + 1;
  if (need > csv->buf_cap) {
    size_t ncap = csv->buf_cap ? csv->buf_cap * 2 : 4096;
    if (ncap < need) ncap = need;
    if (ncap > RECORD_BUF_MAX) ncap = RECORD_BUF_MAX;
    if (ncap < need) return AM_ENOMEM; /* cannot happen: limits checked */
    char *nb = realloc(csv->buf, ncap);
    if (!nb) return AM_ENOMEM;
    csv->buf = nb;
    csv->buf_cap = ncap;
  }
  if (n) memcpy(csv->buf + csv->buf_len, p, n);
  csv->buf_len += n;
  return 0;
}

/* The character at pos, for a message: quoted when printable, else U+XXXX. */
static void describe_char(const am_csv *csv, size_t pos, char *out,
                          size_t outsz) {
  unsigned char c = (unsigned char)csv->text[pos];
  if (c < 0x20 || c == 0x7F) {
    snprintf(out, outsz, "U+%04X", (unsigned)c);
    return;
  }
  int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  snprintf(out, outsz, "'%.*s'", n, csv->text + pos);
}

int am_csv_next(am_csv *csv, am_csv_record *rec, am_error *err) {
  if (!csv || !rec) return am_fail(err, AM_EUSAGE, "am_csv_next: missing argument");
  const char *t = csv->text;
  const size_t len = csv->len;
  const char sep = csv->sep;
  rec->n = 0;
  rec->fields = NULL;
  rec->lens = NULL;

  while (csv->pos < len && is_eol(t[csv->pos])) eat_eol(csv);
  rec->line = csv->line;
  if (csv->pos >= len) return 0;

  csv->buf_len = 0;
  size_t n = 0;
  int rc;
  /* Where the current field starts, for messages about the whole field. */
  size_t fpos, fls, foff;
  unsigned long fline;
  bool inq = false; /* inside a quoted field */
  for (;;) {
    fpos = csv->pos;
    fls = csv->line_start;
    fline = csv->line;
    foff = csv->buf_len;

    if (n == AM_CSV_MAX_FIELDS) {
      rc = am_fail(err, AM_EINVAL, "line %lu, column %zu: more than %d fields",
                   fline, column_of(csv, fls, fpos), AM_CSV_MAX_FIELDS);
      goto resync;
    }
    if (csv->pos < len && t[csv->pos] == '"') {
      csv->pos++;
      inq = true;
      for (;;) {
        size_t s = csv->pos;
        while (csv->pos < len && t[csv->pos] != '"' && !is_eol(t[csv->pos]) &&
               t[csv->pos] != '\0')
          csv->pos++;
        rc = field_add(csv, foff, t + s, csv->pos - s);
        if (rc) goto add_failed;
        if (csv->pos >= len) {
          /* Everything after the quote was swallowed: nothing is left to
           * resume at, so the next call returns 0. */
          return am_fail(err, AM_EINVAL,
                         "quoted field opened at line %lu, column %zu is "
                         "never closed",
                         fline, column_of(csv, fls, fpos));
        }
        char c = t[csv->pos];
        if (c == '"') {
          if (csv->pos + 1 < len && t[csv->pos + 1] == '"') {
            rc = field_add(csv, foff, "\"", 1);
            if (rc) goto add_failed;
            csv->pos += 2;
            continue;
          }
          csv->pos++;
          inq = false;
          break;
        }
        if (c == '\0') goto nul_char;
        /* A line break inside quotes is data, kept as written (CRLF stays
         * CRLF); it still counts as a physical line. */
        s = csv->pos;
        if (c == '\r' && csv->pos + 1 < len && t[csv->pos + 1] == '\n')
          csv->pos++;
        csv->pos++;
        rc = field_add(csv, foff, t + s, csv->pos - s);
        if (rc) goto add_failed;
        csv->line++;
        csv->line_start = csv->pos;
      }
      if (csv->pos < len && t[csv->pos] != sep && !is_eol(t[csv->pos])) {
        if (t[csv->pos] == '\0') goto nul_char;
        char what[16];
        describe_char(csv, csv->pos, what, sizeof what);
        rc = am_fail(err, AM_EINVAL,
                     "line %lu, column %zu: unexpected character %s after "
                     "closing quote",
                     csv->line, column_of(csv, csv->line_start, csv->pos),
                     what);
        goto resync;
      }
    } else {
      /* A quote inside an unquoted field is kept: spreadsheets write
       * 12" screen unquoted. */
      size_t s = csv->pos;
      while (csv->pos < len && t[csv->pos] != sep && !is_eol(t[csv->pos]) &&
             t[csv->pos] != '\0')
        csv->pos++;
      if (csv->pos < len && t[csv->pos] == '\0') goto nul_char;
      rc = field_add(csv, foff, t + s, csv->pos - s);
      if (rc) goto add_failed;
    }
    csv->buf[csv->buf_len++] = '\0'; /* field_add left room for it */
    csv->offs[n] = foff;
    csv->lens[n] = csv->buf_len - 1 - foff;
    n++;
    if (csv->pos >= len) break;
    if (t[csv->pos] != sep) {
      eat_eol(csv);
      break;
    }
    csv->pos++;
  }

  for (size_t i = 0; i < n; i++) csv->fields[i] = csv->buf + csv->offs[i];
  rec->n = n;
  rec->fields = csv->fields;
  rec->lens = csv->lens;
  return 1;

add_failed:
  if (rc == AM_ENOMEM)
    rc = am_fail(err, AM_ENOMEM, "line %lu: out of memory", fline);
  else
    rc = am_fail(err, AM_EINVAL,
                 "line %lu, column %zu: field longer than %d bytes", fline,
                 column_of(csv, fls, fpos), AM_CSV_MAX_FIELD);
  goto resync;

nul_char:
  /* Typically a UTF-16 file read without naming its encoding. */
  rc = am_fail(err, AM_EINVAL,
               "line %lu, column %zu: NUL character (is the file UTF-16? "
               "choose its encoding)",
               csv->line, column_of(csv, csv->line_start, csv->pos));
resync:
  /* An error inside a quoted field: the lines up to its closing quote are
   * still that field, not records. */
  if (inq) skip_quoted(csv);
  skip_line(csv);
  return rc;
}

/* ---- Writing ---------------------------------------------------------- */

/* Makes room for n more bytes plus a NUL, so data is always a C string. */
int am_buf_reserve(am_buf *b, size_t n) {
  if (n > SIZE_MAX - b->len - 1) return AM_ENOMEM;
  size_t need = b->len + n + 1;
  if (need <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  char *nd = realloc(b->data, ncap);
  if (!nd) return AM_ENOMEM;
  b->data = nd;
  b->cap = ncap;
  return 0;
}

int am_buf_append(am_buf *b, const void *p, size_t n) {
  if (!b || (!p && n)) return AM_EUSAGE;
  int rc = am_buf_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int am_buf_printf(am_buf *b, const char *fmt, ...) {
  if (!b || !fmt) return AM_EUSAGE;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return AM_EINTERNAL;
  int rc = am_buf_reserve(b, (size_t)n);
  if (rc) return rc;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

void am_buf_free(am_buf *b) {
  if (!b) return;
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int am_csv_write_field(am_buf *b, const char *s, size_t len, char sep) {
  if (!b || (!s && len) || !valid_separator(sep)) return AM_EUSAGE;
  /* Leading/trailing blanks are quoted because many readers (and our
   * importer) trim unquoted fields. */
  bool quote = len > 0 && (s[0] == ' ' || s[0] == '\t' ||
                           s[len - 1] == ' ' || s[len - 1] == '\t');
  size_t quotes = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '"') quotes++;
    if (c == sep || c == '"' || c == '\r' || c == '\n') quote = true;
  }
  if (!quote) return am_buf_append(b, s, len);
  /* Reserve once so that a failure leaves the buffer unchanged. */
  if (quotes > SIZE_MAX - 2 - len) return AM_ENOMEM;
  int rc = am_buf_reserve(b, len + quotes + 2);
  if (rc) return rc;
  char *o = b->data + b->len;
  *o++ = '"';
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') *o++ = '"';
    *o++ = s[i];
  }
  *o++ = '"';
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}
