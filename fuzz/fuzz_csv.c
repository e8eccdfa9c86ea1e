/* libFuzzer target for the CSV reader (proto/csv.h).
 *
 * Each input is read twice: with encoding and separator detection, and with
 * a fixed separator and an encoding picked by the first byte (so the iconv
 * paths, UTF-16 included, are exercised too). Every record is checked:
 * fields are valid UTF-8 with no NUL inside, line numbers strictly increase,
 * the position only moves forward, and the reader ends within a bounded
 * number of calls. Each record is also written back with am_csv_write_field
 * and parsed again, which must give the same fields. abort() on any
 * violation. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed UTF-8 (no overlongs, surrogates, or code points above
 * U+10FFFF): a local copy so that the check does not share the reader's. */
static bool utf8_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) k = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else return false;
    if (n - i <= k) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t j = 2; j <= k; j++)
      if ((s[i + j] & 0xC0) != 0x80) return false;
    i += k + 1;
  }
  return true;
}

/* Writes rec with sep and reads it back: same fields, same count. */
static void check_round_trip(const am_csv_record *rec, char sep) {
  /* A record of one empty field is written as an empty line, which readers
   * skip; and a first field starting with U+FEFF would be taken for a byte
   * order mark. Both are documented limits of the writer. */
  if (rec->n == 1 && rec->lens[0] == 0) return;
  if (rec->lens[0] >= 3 && memcmp(rec->fields[0], "\xEF\xBB\xBF", 3) == 0)
    return;
  am_buf b = {0};
  for (size_t i = 0; i < rec->n; i++) {
    if (i && am_buf_append(&b, &sep, 1) != 0) abort();
    if (am_csv_write_field(&b, rec->fields[i], rec->lens[i], sep) != 0)
      abort();
  }
  am_csv_opts o = {sep, "UTF-8"};
  am_csv *c = NULL;
  am_error err = {0, ""};
  if (am_csv_open_buffer(&c, b.data ? b.data : "", b.len, &o, &err) != 0)
    abort();
  am_csv_record back;
  if (am_csv_next(c, &back, &err) != 1) abort();
  if (back.n != rec->n || back.line != 1) abort();
  for (size_t i = 0; i < rec->n; i++)
    if (back.lens[i] != rec->lens[i] ||
        memcmp(back.fields[i], rec->fields[i], rec->lens[i]) != 0)
      abort();
  if (am_csv_next(c, &back, &err) != 0) abort();
  am_csv_close(c);
  am_buf_free(&b);
}

static void read_all(const uint8_t *data, size_t size, char sep,
                     const char *enc) {
  am_csv_opts o = {sep, enc};
  am_csv *c = NULL;
  am_error err = {0, ""};
  if (am_csv_open_buffer(&c, (const char *)data, size, &o, &err) != 0) {
    if (c != NULL || err.msg[0] == '\0') abort();
    return;
  }
  const char s = am_csv_separator(c);
  if (s == '"' || s == '\r' || s == '\n' || s == '\0' || (sep && s != sep))
    abort();
  const size_t total = am_csv_size(c);
  size_t pos = am_csv_position(c);
  unsigned long last_line = 0;
  int errors = 0;
  /* Every call that does not end the input consumes at least one byte, so
   * total + 2 calls always suffice. */
  for (size_t calls = 0;; calls++) {
    if (calls > total + 2) abort();
    am_csv_record rec;
    err.msg[0] = '\0';
    int rc = am_csv_next(c, &rec, &err);
    size_t npos = am_csv_position(c);
    if (npos > total) abort();
    if (rc == 0) {
      if (npos != total) abort();
      break;
    }
    if (npos <= pos) abort();
    pos = npos;
    if (rec.line <= last_line) abort();
    last_line = rec.line;
    if (rc < 0) {
      if (rc != AM_EINVAL || err.msg[0] == '\0') abort();
      if (++errors > 1000) break;
      continue;
    }
    if (rc != 1 || rec.n == 0 || rec.n > AM_CSV_MAX_FIELDS) abort();
    for (size_t i = 0; i < rec.n; i++) {
      const char *f = rec.fields[i];
      if (rec.lens[i] > AM_CSV_MAX_FIELD || strlen(f) != rec.lens[i]) abort();
      if (!utf8_ok((const unsigned char *)f, rec.lens[i])) abort();
    }
    check_round_trip(&rec, s);
  }
  am_csv_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char seps[] = {',', ';', '\t', '|'};
  static const char *const encs[] = {NULL,         "UTF-8",      "WINDOWS-1252",
                                     "ISO-8859-1", "UTF-16LE",   "UTF-16",
                                     "UTF-32BE",   "ISO-2022-JP"};
  read_all(data, size, 0, NULL);
  if (size > 0) {
    read_all(data + 1, size - 1, seps[data[0] & 3],
             encs[(data[0] >> 2) % (sizeof encs / sizeof encs[0])]);
  }
  return 0;
}
