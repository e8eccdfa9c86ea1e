/* Unit tests for the CSV reader and writer (proto/csv.h). */
#include "proto/csv.h"

#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "tests/test.h"

/* Opens a reader over a string literal's bytes (sizeof - 1 keeps NULs). */
#define OPEN(csv, lit, sep, enc)                                             \
  open_bytes(&(csv), lit, sizeof(lit) - 1, sep, enc)

static int open_bytes(am_csv **csv, const char *data, size_t len, char sep,
                      const char *enc) {
  am_csv_opts o = {sep, enc};
  am_error err = {0, ""};
  int rc = am_csv_open_buffer(csv, data, len, &o, &err);
  if (rc) fprintf(stderr, "open failed: %d %s\n", rc, err.msg);
  return rc;
}

/* Reads the next record and checks it has exactly the fields given (a
 * NULL-terminated list) and starts at line. */
static bool expect_record(am_csv *csv, unsigned long line,
                          const char *const *want) {
  am_csv_record rec;
  am_error err = {0, ""};
  int rc = am_csv_next(csv, &rec, &err);
  if (rc != 1) {
    fprintf(stderr, "  expected a record at line %lu, got %d (%s)\n", line,
            rc, err.msg);
    return false;
  }
  size_t n = 0;
  while (want[n]) n++;
  bool ok = rec.n == n && rec.line == line;
  for (size_t i = 0; ok && i < n; i++)
    ok = rec.lens[i] == strlen(want[i]) &&
         memcmp(rec.fields[i], want[i], rec.lens[i]) == 0 &&
         rec.fields[i][rec.lens[i]] == '\0';
  if (!ok) {
    fprintf(stderr, "  record at line %lu (want %lu), %zu fields (want %zu):",
            rec.line, line, rec.n, n);
    for (size_t i = 0; i < rec.n; i++) fprintf(stderr, " [%s]", rec.fields[i]);
    fprintf(stderr, "\n");
  }
  return ok;
}

#define REC(csv, line, ...)                                                  \
  CHECK(expect_record(csv, line, (const char *const[]){__VA_ARGS__, NULL}))

static bool expect_end(am_csv *csv) {
  am_csv_record rec;
  am_error err = {0, ""};
  int rc = am_csv_next(csv, &rec, &err);
  if (rc != 0) fprintf(stderr, "  expected end, got %d (%s)\n", rc, err.msg);
  /* End is sticky. */
  return rc == 0 && am_csv_next(csv, &rec, &err) == 0;
}

/* Expects an error with exactly this code and message. */
static bool expect_error(am_csv *csv, int code, const char *msg) {
  am_csv_record rec;
  am_error err = {0, ""};
  int rc = am_csv_next(csv, &rec, &err);
  bool ok = rc == code && err.code == code && strcmp(err.msg, msg) == 0;
  if (!ok)
    fprintf(stderr, "  expected %d \"%s\", got %d \"%s\"\n", code, msg, rc,
            err.msg);
  return ok;
}

/* ---- separator detection ---------------------------------------------- */

static void test_detect_comma(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "nom,prenom,ville\nDupont,Jean,Lyon\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  REC(c, 1, "nom", "prenom", "ville");
  REC(c, 2, "Dupont", "Jean", "Lyon");
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_detect_semicolon(void) {
  am_csv *c;
  /* Commas in the data rows must not matter: only the first record counts,
   * and there ';' (2) beats ',' (1). */
  REQUIRE(OPEN(c, "nom;ville, pays;promo\nMartin;Paris, France;1998\n", 0,
               NULL) == 0);
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 1, "nom", "ville, pays", "promo");
  REC(c, 2, "Martin", "Paris, France", "1998");
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_detect_tab(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "a\tb;c\td\n1\t2;3\t4\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), '\t');
  REC(c, 1, "a", "b;c", "d");
  REC(c, 2, "1", "2;3", "4");
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_detect_rules(void) {
  am_csv *c;
  /* Separators inside quotes do not count: one ',' outside, three ';'
   * inside. */
  REQUIRE(OPEN(c, "\"a;b;c;d\",e\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  REC(c, 1, "a;b;c;d", "e");
  am_csv_close(c);
  /* Ties give ',', even when ',' is not among the most frequent. */
  REQUIRE(OPEN(c, "a;b,c\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  am_csv_close(c);
  REQUIRE(OPEN(c, "a;b\tc;d\te,f\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  am_csv_close(c);
  /* No candidate at all: ',' */
  REQUIRE(OPEN(c, "email\nx@example.org\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  am_csv_close(c);
  /* Blank lines before the first record are skipped for detection too. */
  REQUIRE(OPEN(c, "\n\r\na;b\n", 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 3, "a", "b");
  am_csv_close(c);
  /* An explicit separator overrides detection. */
  REQUIRE(OPEN(c, "a,b;c\n", ';', NULL) == 0);
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 1, "a,b", "c");
  am_csv_close(c);
  /* Empty input. */
  REQUIRE(open_bytes(&c, "", 0, 0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ',');
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_bad_separator(void) {
  am_csv *c = NULL;
  am_csv_opts o = {'"', NULL};
  am_error err = {0, ""};
  CHECK_INT(am_csv_open_buffer(&c, "a", 1, &o, &err), AM_EUSAGE);
  CHECK(c == NULL);
  o.separator = '\n';
  CHECK_INT(am_csv_open_buffer(&c, "a", 1, &o, &err), AM_EUSAGE);
  o.separator = (char)0xC3;
  CHECK_INT(am_csv_open_buffer(&c, "a", 1, &o, &err), AM_EUSAGE);
}

/* ---- encodings ---------------------------------------------------------- */

static void test_utf8(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "pr\xc3\xa9nom;ville\nL\xc5\x93venbruck;\xc3\x85" "re\n",
               0, NULL) == 0);
  CHECK_STR(am_csv_encoding(c), "UTF-8");
  REC(c, 1, "pr\xc3\xa9nom", "ville");
  REC(c, 2, "L\xc5\x93venbruck", "\xc3\x85re");
  am_csv_close(c);
}

static void test_bom(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "\xef\xbb\xbfnom;pr\xc3\xa9nom\nA;B\n", 0, NULL) == 0);
  CHECK_STR(am_csv_encoding(c), "UTF-8 (BOM)");
  CHECK_INT(am_csv_separator(c), ';');
  CHECK_INT(am_csv_size(c), sizeof "nom;pr\xc3\xa9nom\nA;B\n" - 1);
  REC(c, 1, "nom", "pr\xc3\xa9nom");
  REC(c, 2, "A", "B");
  CHECK(expect_end(c));
  am_csv_close(c);
  /* Named UTF-8 strips it too. */
  REQUIRE(OPEN(c, "\xef\xbb\xbfx,y\n", 0, "utf-8") == 0);
  CHECK_STR(am_csv_encoding(c), "utf-8");
  REC(c, 1, "x", "y");
  am_csv_close(c);
  /* A BOM followed by invalid UTF-8 is an error, not a guess. */
  am_csv_opts o = {0, NULL};
  am_error err = {0, ""};
  c = NULL;
  CHECK_INT(am_csv_open_buffer(&c, "\xef\xbb\xbf" "a\n\xe9", 6, &o, &err),
            AM_EINVAL);
  CHECK(c == NULL);
  CHECK(strstr(err.msg, "byte offset 5 (line 2)") != NULL);
}

static void test_windows1252_auto(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "Fran\xe7ois;\x9cuvre;\x80\n", 0, NULL) == 0);
  CHECK_STR(am_csv_encoding(c), "WINDOWS-1252");
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 1, "Fran\xc3\xa7ois", "\xc5\x93uvre", "\xe2\x82\xac");
  CHECK(expect_end(c));
  am_csv_close(c);
  /* Detection looks at the whole input: valid UTF-8 on line 1 does not make
   * the file UTF-8 when line 2 is not. */
  REQUIRE(OPEN(c, "a;b\nZo\xe9;\x93x\x94\n", 0, "auto") == 0);
  CHECK_STR(am_csv_encoding(c), "WINDOWS-1252");
  REC(c, 1, "a", "b");
  REC(c, 2, "Zo\xc3\xa9", "\xe2\x80\x9cx\xe2\x80\x9d");
  am_csv_close(c);
}

static void test_windows1252_named(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "Fran\xe7ois;\x9cuvre;\x80\n", 0, "WINDOWS-1252") == 0);
  CHECK_STR(am_csv_encoding(c), "WINDOWS-1252");
  REC(c, 1, "Fran\xc3\xa7ois", "\xc5\x93uvre", "\xe2\x82\xac");
  CHECK(expect_end(c));
  am_csv_close(c);
  /* Named: no fallback; the undefined byte is an error with its place. */
  am_csv_opts o = {0, "WINDOWS-1252"};
  am_error err = {0, ""};
  c = NULL;
  CHECK_INT(am_csv_open_buffer(&c, "a;b\r\nc;d\r\ne\x81", 12, &o, &err),
            AM_EINVAL);
  CHECK(c == NULL);
  CHECK_STR(err.msg, "invalid byte sequence for encoding 'WINDOWS-1252' at "
                     "byte offset 11 (line 3)");
}

static void test_latin1_fallback(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "caf\xe9;x\x81y\n\x80\n", 0, NULL) == 0);
  CHECK_STR(am_csv_encoding(c), "ISO-8859-1");
  REC(c, 1, "caf\xc3\xa9", "x\xc2\x81y");
  REC(c, 2, "\xc2\x80"); /* the whole file is Latin-1: 0x80 is U+0080 */
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_utf16le_named(void) {
  /* "\uFEFFnom;ville\r\nZoé;Lyon\r\n" in UTF-16LE */
  static const char u16[] =
      "\xff\xfe"
      "n\0o\0m\0;\0v\0i\0l\0l\0e\0\r\0\n\0"
      "Z\0o\0\xe9\0;\0L\0y\0o\0n\0\r\0\n\0";
  am_csv *c;
  REQUIRE(open_bytes(&c, u16, sizeof u16 - 1, 0, "UTF-16LE") == 0);
  CHECK_STR(am_csv_encoding(c), "UTF-16LE");
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 1, "nom", "ville"); /* U+FEFF is not part of "nom" */
  REC(c, 2, "Zo\xc3\xa9", "Lyon");
  CHECK(expect_end(c));
  am_csv_close(c);
  /* An odd number of bytes: the last character is incomplete. */
  am_csv_opts o = {0, "UTF-16LE"};
  am_error err = {0, ""};
  CHECK_INT(am_csv_open_buffer(&c, "a\0\n\0b", 5, &o, &err), AM_EINVAL);
  CHECK_STR(err.msg, "incomplete character for encoding 'UTF-16LE' at byte "
                     "offset 4 (line 2)");
  /* The same bytes read in auto mode hit NUL characters, with a hint. */
  REQUIRE(open_bytes(&c, u16 + 2, 8, 0, NULL) == 0);
  CHECK(expect_error(c, AM_EINVAL,
                     "line 1, column 2: NUL character (is the file UTF-16? "
                     "choose its encoding)"));
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_unknown_encoding(void) {
  am_csv *c = NULL;
  am_csv_opts o = {0, "NO-SUCH-ENCODING-42"};
  am_error err = {0, ""};
  CHECK_INT(am_csv_open_buffer(&c, "a", 1, &o, &err), AM_EUSAGE);
  CHECK(c == NULL);
  CHECK_STR(err.msg, "unknown encoding 'NO-SUCH-ENCODING-42'");
}

static void test_named_utf8_invalid(void) {
  am_csv *c = NULL;
  am_csv_opts o = {0, "UTF-8"};
  am_error err = {0, ""};
  /* Surrogates are not UTF-8 either. */
  CHECK_INT(am_csv_open_buffer(&c, "a;b\nc\xed\xa0\x80\n", 9, &o, &err),
            AM_EINVAL);
  CHECK_STR(err.msg, "invalid byte sequence for encoding 'UTF-8' at byte "
                     "offset 5 (line 2)");
  /* Overlong '/' */
  CHECK_INT(am_csv_open_buffer(&c, "\xc0\xaf", 2, &o, &err), AM_EINVAL);
  CHECK(c == NULL);
}

/* ---- structure ---------------------------------------------------------- */

static void test_line_ends(void) {
  am_csv *c;
  /* CRLF, LF, lone CR, and a last record without a line end. */
  REQUIRE(OPEN(c, "a;b\r\nc;d\ne;f\rg;h", 0, NULL) == 0);
  REC(c, 1, "a", "b");
  REC(c, 2, "c", "d");
  REC(c, 3, "e", "f");
  REC(c, 4, "g", "h");
  CHECK(expect_end(c));
  CHECK_INT(am_csv_position(c), am_csv_size(c));
  am_csv_close(c);
}

static void test_quoted(void) {
  am_csv *c;
  REQUIRE(OPEN(c,
               "\"a;b\";\"say \"\"hi\"\"\";\"x\r\ny\";\"\"\n"
               "next;1\n",
               0, NULL) == 0);
  CHECK_INT(am_csv_separator(c), ';');
  REC(c, 1, "a;b", "say \"hi\"", "x\r\ny", "");
  REC(c, 3, "next", "1"); /* the CRLF inside quotes was line 1's end */
  CHECK(expect_end(c));
  am_csv_close(c);

  /* A 3-line quoted field (LF, CR, CRLF inside) and the next record's
   * line. */
  REQUIRE(OPEN(c, "id,bio\n7,\"l1\nl2\rl3\r\nl4\"\n8,after\n", 0, NULL) == 0);
  REC(c, 1, "id", "bio");
  REC(c, 2, "7", "l1\nl2\rl3\r\nl4");
  REC(c, 6, "8", "after");
  CHECK(expect_end(c));
  am_csv_close(c);

  /* A quote inside an unquoted field is literal; so is one after leading
   * spaces. */
  REQUIRE(OPEN(c, "ab\"c;12\" screen; \"x\"\n", 0, NULL) == 0);
  REC(c, 1, "ab\"c", "12\" screen", " \"x\"");
  am_csv_close(c);

  /* A quoted last field at end of input, and a quoted empty field. */
  REQUIRE(OPEN(c, "a,\"\",\"z\"", 0, NULL) == 0);
  REC(c, 1, "a", "", "z");
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_error_after_closing_quote(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "h1;h2\n\"abc\"def;x\nok;1\n", 0, NULL) == 0);
  REC(c, 1, "h1", "h2");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 2, column 6: unexpected character 'd' after "
                     "closing quote"));
  REC(c, 3, "ok", "1");
  CHECK(expect_end(c));
  am_csv_close(c);

  /* Columns count characters, not bytes: "é" is one column. The closing
   * quote here is on line 3, after a quoted line break. */
  REQUIRE(OPEN(c, "h;h\n\xc3\xa9;\"x\ny\xc3\xa9\"\xc3\xa9" "f;z\nok;2", 0,
               NULL) == 0);
  REC(c, 1, "h", "h");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 3, column 4: unexpected character '\xc3\xa9' "
                     "after closing quote"));
  REC(c, 4, "ok", "2");
  am_csv_close(c);

  REQUIRE(OPEN(c, "\xc3\xa9;\"abc\"\xc3\xa9" "f\nok;3\n", 0, NULL) == 0);
  CHECK(expect_error(c, AM_EINVAL,
                     "line 1, column 8: unexpected character '\xc3\xa9' "
                     "after closing quote"));
  REC(c, 2, "ok", "3");
  am_csv_close(c);

  /* A space after the closing quote is not silently accepted. */
  REQUIRE(OPEN(c, "\"a\" ,b\n", ',', NULL) == 0);
  CHECK(expect_error(c, AM_EINVAL,
                     "line 1, column 4: unexpected character ' ' after "
                     "closing quote"));
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_unclosed_quote(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "a;b\n\xc3\xa9;\"open\nmore;x\nlast\n", 0, NULL) == 0);
  REC(c, 1, "a", "b");
  am_csv_record rec;
  am_error err = {0, ""};
  CHECK_INT(am_csv_next(c, &rec, &err), AM_EINVAL);
  CHECK_STR(err.msg, "quoted field opened at line 2, column 3 is never closed");
  CHECK_INT(rec.line, 2);
  CHECK_INT(rec.n, 0);
  CHECK(expect_end(c)); /* the rest of the input was consumed */
  CHECK_INT(am_csv_position(c), am_csv_size(c));
  am_csv_close(c);
}

static void test_blank_lines(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "\n\na\n\r\n\rb\n\n", 0, NULL) == 0);
  REC(c, 3, "a");
  REC(c, 6, "b");
  CHECK(expect_end(c));
  am_csv_close(c);
  /* Whitespace is kept: a line of spaces is a record, not a blank line. */
  REQUIRE(OPEN(c, " a ; b \n  \n", 0, NULL) == 0);
  REC(c, 1, " a ", " b ");
  REC(c, 2, "  ");
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_empty_fields(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "a;b;\n;;;\na;;c\n\"\";x\na;b;", 0, NULL) == 0);
  REC(c, 1, "a", "b", "");
  REC(c, 2, "", "", "", "");
  REC(c, 3, "a", "", "c");
  REC(c, 4, "", "x");
  REC(c, 5, "a", "b", ""); /* trailing separator without a line end */
  CHECK(expect_end(c));
  am_csv_close(c);
}

static void test_nul_character(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "a,b\nc\0d,e\n\"x\0\",y\nf,g\n", 0, NULL) == 0);
  REC(c, 1, "a", "b");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 2, column 2: NUL character (is the file UTF-16? "
                     "choose its encoding)"));
  CHECK(expect_error(c, AM_EINVAL,
                     "line 3, column 3: NUL character (is the file UTF-16? "
                     "choose its encoding)"));
  REC(c, 4, "f", "g");
  am_csv_close(c);
}

/* ---- limits ------------------------------------------------------------- */

static char *repeat(char ch, size_t n, const char *prefix, const char *suffix) {
  size_t p = strlen(prefix), s = strlen(suffix);
  char *b = malloc(p + n + s + 1);
  if (!b) return NULL;
  memcpy(b, prefix, p);
  memset(b + p, ch, n);
  memcpy(b + p + n, suffix, s + 1);
  return b;
}

static void test_field_limit(void) {
  am_csv *c;
  /* Exactly the limit is fine, one more byte is not (unquoted and quoted);
   * each error resumes at the next line. */
  char *ok = repeat('x', AM_CSV_MAX_FIELD, "h;h\na;", "\n");
  char *bad = repeat('x', AM_CSV_MAX_FIELD + 1, "h;h\na;", "\nb;c\n");
  char *badq = repeat('x', AM_CSV_MAX_FIELD + 1, "h;h\n\xc3\xa9;\"", "\"\nd;e");
  REQUIRE(ok && bad && badq);

  REQUIRE(open_bytes(&c, ok, strlen(ok), 0, NULL) == 0);
  am_csv_record rec;
  am_error err = {0, ""};
  REQUIRE(am_csv_next(c, &rec, &err) == 1);
  REQUIRE(am_csv_next(c, &rec, &err) == 1);
  CHECK_INT(rec.n, 2);
  CHECK_INT(rec.lens[1], AM_CSV_MAX_FIELD);
  CHECK_INT(strlen(rec.fields[1]), AM_CSV_MAX_FIELD);
  CHECK(expect_end(c));
  am_csv_close(c);

  REQUIRE(open_bytes(&c, bad, strlen(bad), 0, NULL) == 0);
  REC(c, 1, "h", "h");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 2, column 3: field longer than 65536 bytes"));
  REC(c, 3, "b", "c");
  CHECK(expect_end(c));
  am_csv_close(c);

  REQUIRE(open_bytes(&c, badq, strlen(badq), 0, NULL) == 0);
  REC(c, 1, "h", "h");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 2, column 3: field longer than 65536 bytes"));
  REC(c, 3, "d", "e");
  CHECK(expect_end(c));
  am_csv_close(c);

  /* An over-long quoted field that spans lines: its later lines belong to
   * it and must not come back as records. */
  char *badml = repeat('x', AM_CSV_MAX_FIELD + 1, "h;h\na;\"",
                       "\nsee also; a colleague\n\"\"the end\"\"\"\nd;e\n");
  REQUIRE(badml);
  REQUIRE(open_bytes(&c, badml, strlen(badml), 0, NULL) == 0);
  REC(c, 1, "h", "h");
  CHECK(expect_error(c, AM_EINVAL,
                     "line 2, column 3: field longer than 65536 bytes"));
  REC(c, 5, "d", "e");
  CHECK(expect_end(c));
  am_csv_close(c);
  free(badml);
  free(ok);
  free(bad);
  free(badq);
}

static void test_field_count_limit(void) {
  am_csv *c;
  /* 1024 fields "a;a;...;a" is fine; 1025 is not. */
  am_buf b = {0};
  for (int i = 0; i < AM_CSV_MAX_FIELDS; i++)
    CHECK_INT(am_buf_append(&b, i ? ";a" : "a", i ? 2 : 1), 0);
  CHECK_INT(am_buf_printf(&b, "\n"), 0);
  for (int i = 0; i < AM_CSV_MAX_FIELDS + 1; i++)
    CHECK_INT(am_buf_append(&b, i ? ";a" : "a", i ? 2 : 1), 0);
  CHECK_INT(am_buf_printf(&b, "\nz;y\n"), 0);

  REQUIRE(open_bytes(&c, b.data, b.len, 0, NULL) == 0);
  am_csv_record rec;
  am_error err = {0, ""};
  REQUIRE(am_csv_next(c, &rec, &err) == 1);
  REQUIRE(rec.n == AM_CSV_MAX_FIELDS);
  CHECK_STR(rec.fields[AM_CSV_MAX_FIELDS - 1], "a");
  /* Field 1025 starts at column 2 * 1024 + 1. */
  CHECK(expect_error(c, AM_EINVAL, "line 2, column 2049: more than 1024 fields"));
  REC(c, 3, "z", "y");
  CHECK(expect_end(c));
  am_csv_close(c);
  am_buf_free(&b);
}

static void test_input_too_big(void) {
  am_csv *c = NULL;
  am_error err = {0, ""};
  /* The size is checked before the data is read, so a short buffer with a
   * huge length is safe here. */
  CHECK_INT(am_csv_open_buffer(&c, "x", AM_CSV_MAX_FILE + 1, NULL, &err),
            AM_ETOOBIG);
  CHECK(c == NULL);
}

/* ---- files -------------------------------------------------------------- */

static void test_open_file_missing(void) {
  am_csv *c = NULL;
  am_error err = {0, ""};
  const char *path = "/nonexistent-amicale-dir/alumni.csv";
  CHECK_INT(am_csv_open_file(&c, path, NULL, &err), AM_ENOTFOUND);
  CHECK(c == NULL);
  CHECK_INT(err.code, AM_ENOTFOUND);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK(strstr(err.msg, "No such file or directory") != NULL);
  /* A directory: the system's reason, AM_EIO. */
  CHECK_INT(am_csv_open_file(&c, "/", NULL, &err), AM_EIO);
  CHECK(strstr(err.msg, "/") != NULL);
}

static void test_open_file(void) {
  char path[] = "/tmp/amicale-test-csv-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  static const char data[] = "nom;ville\r\nL\x9cvenbruck;Gen\xe8ve\r\n";
  CHECK_INT(write(fd, data, sizeof data - 1), sizeof data - 1);
  close(fd);

  am_csv *c = NULL;
  am_error err = {0, ""};
  REQUIRE(am_csv_open_file(&c, path, NULL, &err) == 0);
  CHECK_STR(am_csv_encoding(c), "WINDOWS-1252");
  REC(c, 1, "nom", "ville");
  REC(c, 2, "L\xc5\x93venbruck", "Gen\xc3\xa8ve");
  CHECK(expect_end(c));
  am_csv_close(c);

  /* Errors from opening the content name the file. */
  am_csv_opts o = {0, "UTF-8"};
  CHECK_INT(am_csv_open_file(&c, path, &o, &err), AM_EINVAL);
  CHECK(strncmp(err.msg, path, strlen(path)) == 0);

  /* A sparse file one byte over the limit is refused without reading it. */
  fd = open(path, O_WRONLY | O_TRUNC);
  REQUIRE(fd >= 0);
  CHECK_INT(ftruncate(fd, (off_t)AM_CSV_MAX_FILE + 1), 0);
  close(fd);
  CHECK_INT(am_csv_open_file(&c, path, NULL, &err), AM_ETOOBIG);
  CHECK(strstr(err.msg, path) != NULL);
  unlink(path);
}

/* ---- progress ----------------------------------------------------------- */

static void test_position(void) {
  am_csv *c;
  REQUIRE(OPEN(c, "ab;c\r\nd;e\n", 0, NULL) == 0);
  CHECK_INT(am_csv_size(c), 10);
  CHECK_INT(am_csv_position(c), 0);
  am_csv_record rec;
  CHECK_INT(am_csv_next(c, &rec, NULL), 1);
  CHECK_INT(am_csv_position(c), 6);
  CHECK_INT(am_csv_next(c, &rec, NULL), 1);
  CHECK_INT(am_csv_position(c), 10);
  CHECK_INT(am_csv_next(c, &rec, NULL), 0);
  am_csv_close(c);
}

/* ---- writing ------------------------------------------------------------ */

static void test_write_field(void) {
  am_buf b = {0};
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"plain", "plain"},
      {"", ""},
      {"a;b", "\"a;b\""},
      {"a,b", "a,b"}, /* not the separator */
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"l1\nl2", "\"l1\nl2\""},
      {"cr\r", "\"cr\r\""},
      {" lead", "\" lead\""},
      {"trail\t", "\"trail\t\""},
      {"in side", "in side"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    b.len = 0;
    CHECK_INT(am_csv_write_field(&b, cases[i].in, strlen(cases[i].in), ';'), 0);
    CHECK_STR(b.len ? b.data : "", cases[i].out);
  }
  CHECK_INT(am_csv_write_field(&b, "x", 1, '"'), AM_EUSAGE);
  am_buf_free(&b);
  CHECK(b.data == NULL && b.len == 0 && b.cap == 0);

  CHECK_INT(am_buf_printf(&b, "%s-%d", "row", 42), 0);
  CHECK_INT(am_buf_printf(&b, "%c", '!'), 0);
  CHECK_STR(b.data, "row-42!");
  CHECK_INT(b.len, 7);
  am_buf_free(&b);
}

static void test_write_round_trip(void) {
  static const char *const rows[][5] = {
      {"name", "bio", "city", "note", NULL},
      {"O\"Brien", "line 1\nline 2\r\nline 3", " Lyon ", "a;b,c\td", NULL},
      {"", "\"", "\"\"", "\t", NULL},
      {"x\r", "\xc3\x89l\xc3\xa9onore", "", "", NULL},
      {"", "", "", ";", NULL},
  };
  static const char seps[] = {';', ',', '\t'};
  for (size_t s = 0; s < sizeof seps; s++) {
    am_buf b = {0};
    size_t nrows = sizeof rows / sizeof rows[0];
    for (size_t r = 0; r < nrows; r++) {
      for (size_t f = 0; rows[r][f]; f++) {
        if (f) CHECK_INT(am_buf_append(&b, &seps[s], 1), 0);
        CHECK_INT(am_csv_write_field(&b, rows[r][f], strlen(rows[r][f]),
                                     seps[s]),
                  0);
      }
      CHECK_INT(am_buf_append(&b, "\r\n", 2), 0);
    }
    am_csv *c;
    REQUIRE(open_bytes(&c, b.data, b.len, seps[s], NULL) == 0);
    unsigned long line = 1;
    for (size_t r = 0; r < nrows; r++) {
      am_csv_record rec;
      am_error err = {0, ""};
      CHECK_INT(am_csv_next(c, &rec, &err), 1);
      CHECK_INT(rec.line, line);
      size_t n = 0;
      while (rows[r][n]) n++;
      CHECK_INT(rec.n, n);
      for (size_t f = 0; f < n && f < rec.n; f++) {
        CHECK_INT(rec.lens[f], strlen(rows[r][f]));
        CHECK_STR(rec.fields[f], rows[r][f]);
        for (const char *p = rows[r][f]; *p; p++)
          if (*p == '\n' || (*p == '\r' && p[1] != '\n')) line++;
      }
      line++;
    }
    CHECK(expect_end(c));
    am_csv_close(c);
    am_buf_free(&b);
  }
}

int main(void) {
  RUN(test_detect_comma);
  RUN(test_detect_semicolon);
  RUN(test_detect_tab);
  RUN(test_detect_rules);
  RUN(test_bad_separator);
  RUN(test_utf8);
  RUN(test_bom);
  RUN(test_windows1252_auto);
  RUN(test_windows1252_named);
  RUN(test_latin1_fallback);
  RUN(test_utf16le_named);
  RUN(test_unknown_encoding);
  RUN(test_named_utf8_invalid);
  RUN(test_line_ends);
  RUN(test_quoted);
  RUN(test_error_after_closing_quote);
  RUN(test_unclosed_quote);
  RUN(test_blank_lines);
  RUN(test_empty_fields);
  RUN(test_nul_character);
  RUN(test_field_limit);
  RUN(test_field_count_limit);
  RUN(test_input_too_big);
  RUN(test_open_file_missing);
  RUN(test_open_file);
  RUN(test_position);
  RUN(test_write_field);
  RUN(test_write_round_trip);
  return TEST_SUMMARY();
}
