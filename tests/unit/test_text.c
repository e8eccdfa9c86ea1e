/* Unit tests for proto/text.c: validation, cleaning, folding, words, compact
 * forms and display widths. Expected outputs are spelled out byte for byte. */
#include "proto/text.h"

#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "tests/test.h"

/* Folds a NUL-terminated string; returns a static copy so checks read simply
 * (NULL when folding failed). Copies rotate so two results can be compared. */
static const char *fold(const char *s) {
  static char bufs[4][4096];
  static int next;
  char *last = bufs[next++ % 4];
  char *out = NULL;
  size_t n = 0;
  if (am_text_fold(s, strlen(s), &out, &n) != 0) return NULL;
  if (n != strlen(out) || n >= sizeof bufs[0]) {
    free(out);
    return NULL;
  }
  memcpy(last, out, n + 1);
  free(out);
  return last;
}

static const char *compact(const char *s) {
  static char last[4096];
  char *out = NULL;
  if (am_text_compact(s, strlen(s), &out) != 0) return NULL;
  if (strlen(out) >= sizeof last) {
    free(out);
    return NULL;
  }
  strcpy(last, out);
  free(out);
  return last;
}

/* Cleans s (length given, so it may hold NUL); the result or NULL, with the
 * code and message left in the statics below. */
static int clean_rc;
static am_error clean_err;
static const char *clean_n(const char *s, size_t len, size_t max, int flags) {
  static char last[4096];
  char *out = (char *)"sentinel";
  memset(&clean_err, 0, sizeof clean_err);
  clean_rc = am_text_clean(s, len, max, flags, &out, &clean_err);
  if (clean_rc != 0) return out == NULL ? NULL : "out not reset";
  if (strlen(out) >= sizeof last) {
    free(out);
    return NULL;
  }
  strcpy(last, out);
  free(out);
  return last;
}

static const char *clean(const char *s, size_t max, int flags) {
  return clean_n(s, strlen(s), max, flags);
}

/* ---- validation -------------------------------------------------------- */

static void test_utf8_valid(void) {
  CHECK(am_utf8_valid("", 0));
  CHECK(am_utf8_valid(NULL, 0));
  CHECK(am_utf8_valid("plain ascii", 11));
  CHECK(am_utf8_valid("\xC3\xA9", 2));             /* é */
  CHECK(am_utf8_valid("\xE6\x97\xA5", 3));         /* 日 */
  CHECK(am_utf8_valid("\xF0\x9F\x98\x80", 4));     /* U+1F600 */
  CHECK(am_utf8_valid("\xF4\x8F\xBF\xBF", 4));     /* U+10FFFF */
  CHECK(am_utf8_valid("a\0b", 3));                 /* NUL is a character */
  CHECK(!am_utf8_valid("\xC0\x80", 2));            /* overlong NUL */
  CHECK(!am_utf8_valid("\xC1\xBF", 2));            /* overlong '?' */
  CHECK(!am_utf8_valid("\xE0\x80\xAF", 3));        /* overlong '/' */
  CHECK(!am_utf8_valid("\xF0\x80\x80\xAF", 4));    /* overlong '/' */
  CHECK(!am_utf8_valid("\xED\xA0\x80", 3));        /* surrogate U+D800 */
  CHECK(!am_utf8_valid("\xED\xBF\xBF", 3));        /* surrogate U+DFFF */
  CHECK(!am_utf8_valid("\xF4\x90\x80\x80", 4));    /* U+110000 */
  CHECK(!am_utf8_valid("\xF5\x80\x80\x80", 4));
  CHECK(!am_utf8_valid("\xFF", 1));
  CHECK(!am_utf8_valid("\x80", 1));                /* lone continuation */
  CHECK(!am_utf8_valid("ab\xC3", 3));              /* truncated */
  CHECK(!am_utf8_valid("\xE6\x97", 2));            /* truncated */
  CHECK(!am_utf8_valid("\xC3\xA9", 1));            /* cut by len */
  CHECK(!am_utf8_valid("\xC3(", 2));               /* bad continuation */
}

/* ---- cleaning ---------------------------------------------------------- */

static void test_clean_trim(void) {
  CHECK_STR(clean(" \xC2\xA0 Marie \t", 100, 0), "Marie");
  CHECK_INT(clean_rc, 0);
  /* narrow no-break space, ideographic space, em space */
  CHECK_STR(clean("\xE2\x80\xAFMarie\xE3\x80\x80\xE2\x80\x83", 100, 0),
            "Marie");
  CHECK_STR(clean("Jean  Marie", 100, 0), "Jean  Marie"); /* inside kept */
  CHECK_STR(clean("a\tb", 100, 0), "a b");
  CHECK_STR(clean("", 100, 0), "");
  CHECK_STR(clean(" \t \xC2\xA0 ", 100, 0), "");
  CHECK_STR(clean("\xC3\xA9 ", 100, 0), "\xC3\xA9");
  /* a trailing combining mark is not white space */
  CHECK_STR(clean("a \xCC\x81", 100, 0), "a \xCC\x81");
  CHECK_STR(clean_n(NULL, 0, 10, 0), "");
}

static void test_clean_invalid_utf8(void) {
  CHECK(clean("\xC0\x80", 100, 0) == NULL);
  CHECK_INT(clean_rc, AM_EINVAL);
  CHECK_INT(clean_err.code, AM_EINVAL);
  CHECK_STR(clean_err.msg, "is not valid UTF-8 (byte 0)");
  CHECK(clean("abc\xED\xA0\x80", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "is not valid UTF-8 (byte 3)");
  CHECK(clean("ab\xC3", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "is not valid UTF-8 (byte 2)");
  CHECK(clean("Ren\xE9", 100, 0) == NULL); /* Latin-1 é */
  CHECK_STR(clean_err.msg, "is not valid UTF-8 (byte 3)");
  CHECK(clean("\xC3\xA9t\xC3\xA9\xFF", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "is not valid UTF-8 (byte 5)");
  /* no am_error: the code alone */
  char *out = NULL;
  CHECK_INT(am_text_clean("\xC0\x80", 2, 100, 0, &out, NULL), AM_EINVAL);
  CHECK(out == NULL);
}

static void test_clean_control(void) {
  CHECK(clean("a\x07" "b", 100, 0) == NULL);
  CHECK_INT(clean_rc, AM_EINVAL);
  CHECK_STR(clean_err.msg, "contains a control character (U+0007)");
  CHECK(clean("a\x7F", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+007F)");
  CHECK(clean("a\xC2\x85z", 100, 0) == NULL); /* NEL */
  CHECK_STR(clean_err.msg, "contains a control character (U+0085)");
  CHECK(clean("\xC2\x80", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+0080)");
  CHECK(clean("\xC2\x9F", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+009F)");
  CHECK(clean("a\nb", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+000A)");
  CHECK(clean("a\rb", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+000D)");
  CHECK(clean("a\r\n", 100, 0) == NULL); /* even where trimming would drop it */
  CHECK(clean("a\x1B[31m", 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+001B)");
  CHECK(clean_n("a\0b", 3, 100, 0) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+0000)");
  CHECK(clean("x\v", 100, AM_TEXT_MULTILINE) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+000B)");
  /* neighbours of the C1 range are fine */
  CHECK_STR(clean("\xC2\xA9 \xC2\xBF", 100, 0), "\xC2\xA9 \xC2\xBF");
  CHECK_STR(clean("~", 100, 0), "~");
}

static void test_clean_multiline(void) {
  CHECK_STR(clean("a\r\nb\rc\nd", 100, AM_TEXT_MULTILINE), "a\nb\nc\nd");
  CHECK_STR(clean("one\r\n\r\ntwo", 100, AM_TEXT_MULTILINE), "one\n\ntwo");
  CHECK_STR(clean("one\r\r\ntwo", 100, AM_TEXT_MULTILINE), "one\n\ntwo");
  CHECK_STR(clean("\r\n  Bio\tline \r\n", 100, AM_TEXT_MULTILINE),
            "Bio line");
  CHECK_STR(clean("a\n\xC2\xA0\n", 100, AM_TEXT_MULTILINE), "a");
  CHECK(clean("a\x07\nb", 100, AM_TEXT_MULTILINE) == NULL);
  CHECK_STR(clean_err.msg, "contains a control character (U+0007)");
}

static void test_clean_length(void) {
  CHECK_STR(clean("abcde", 5, 0), "abcde");
  CHECK(clean("abcdef", 5, 0) == NULL);
  CHECK_INT(clean_rc, AM_EINVAL);
  CHECK_STR(clean_err.msg, "is longer than 5 bytes");
  CHECK_STR(clean("   abcde   ", 5, 0), "abcde"); /* measured after trim */
  CHECK(clean("\xC3\xA9\xC3\xA9", 3, 0) == NULL); /* bytes, not characters */
  CHECK_STR(clean_err.msg, "is longer than 3 bytes");
  /* measured after NFC: e + U+0301 is 3 bytes, é is 2 */
  CHECK_STR(clean("e\xCC\x81", 2, 0), "\xC3\xA9");
  CHECK_STR(clean("", 0, 0), "");
  CHECK(clean("a", 0, 0) == NULL);
  CHECK_STR(clean_err.msg, "is longer than 0 bytes");
}

static void test_clean_nfc(void) {
  const char *r = clean("e\xCC\x81", 100, 0);
  CHECK_STR(r, "\xC3\xA9");
  CHECK_INT(r ? strlen(r) : 0, 2);
  CHECK_STR(clean("A\xCC\x8Astro\xCC\x88m", 100, 0), "\xC3\x85str\xC3\xB6m");
  CHECK_STR(clean("\xE2\x84\xAB", 100, 0), "\xC3\x85"); /* Å sign -> Å */
  /* Hangul jamo recompose into a syllable */
  CHECK_STR(clean("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", 100, 0),
            "\xED\x95\x9C");
  /* NFC, not NFKC: compatibility characters stay */
  CHECK_STR(clean("\xEF\xAC\x81", 100, 0), "\xEF\xAC\x81"); /* ﬁ */
  CHECK_STR(clean("\xC5\x92uvre", 100, 0), "\xC5\x92uvre"); /* Œuvre */
  /* a long decomposed string takes the heap path of the normaliser */
  char in[3 * 300 + 1], want[2 * 300 + 1];
  for (int i = 0; i < 300; i++) {
    memcpy(in + 3 * i, "e\xCC\x81", 3);
    memcpy(want + 2 * i, "\xC3\xA9", 2);
  }
  in[900] = want[600] = '\0';
  CHECK_STR(clean(in, 1000, 0), want);
}

/* The fast path skips the normaliser for text below U+0300 (lead bytes below
 * 0xCC); this holds only if no such character or pair changes under NFC. */
static void test_nfc_quick_check_assumption(void) {
  int bad = 0;
  for (ucs4_t a = 0x20; a < 0x300 && bad < 5; a++) {
    for (ucs4_t b = 0x20; b < 0x300; b++) {
      uint8_t s[8], buf[16];
      int la = u8_uctomb(s, a, 4);
      int lb = u8_uctomb(s + la, b, 4);
      size_t n = (size_t)(la + lb), rn = sizeof buf;
      uint8_t *r = u8_normalize(UNINORM_NFC, s, n, buf, &rn);
      if (!r || rn != n || memcmp(r, s, n) != 0) {
        fprintf(stderr, "NFC changes U+%04X U+%04X\n", (unsigned)a,
                (unsigned)b);
        bad++;
      }
      if (r && r != buf) free(r);
    }
  }
  CHECK_INT(bad, 0);
}

/* ---- folding ----------------------------------------------------------- */

static void test_fold_ascii(void) {
  CHECK_STR(fold("Hello World 123"), "hello world 123");
  CHECK_STR(fold("DUPONT-Lajoie, J.@[]^_`{}"), "dupont-lajoie, j.@[]^_`{}");
  CHECK_STR(fold(""), "");
  char *out = (char *)"x";
  size_t n = 99;
  CHECK_INT(am_text_fold(NULL, 0, &out, &n), 0);
  CHECK_STR(out, "");
  CHECK_INT(n, 0);
  free(out);
  /* NUL passes through; outlen counts it */
  CHECK_INT(am_text_fold("A\0B", 3, &out, &n), 0);
  CHECK_INT(n, 3);
  CHECK(out && memcmp(out, "a\0b", 4) == 0);
  free(out);
}

static void test_fold_accents(void) {
  CHECK_STR(fold("\xC3\x89l\xC3\xA9onore"), "eleonore");          /* Éléonore */
  CHECK_STR(fold("\xC3\x89L\xC3\x89ONORE"), "eleonore");
  CHECK_STR(fold("Soci\xC3\xA9t\xC3\xA9 G\xC3\xA9n\xC3\xA9rale"),
            "societe generale");
  CHECK_STR(fold("\xC3\x85str\xC3\xB6m"), "astrom");               /* Åström */
  CHECK_STR(fold("Fran\xC3\xA7ois No\xC3\xABl"), "francois noel");
  CHECK_STR(fold("Dvo\xC5\x99\xC3\xA1k"), "dvorak");               /* Dvořák */
  CHECK_STR(fold("\xC8\x98tefan"), "stefan");                      /* Ștefan */
  CHECK_STR(fold("\xC4\xB0stanbul"), "istanbul");                  /* İstanbul */
  CHECK_STR(fold("M\xC3\xBCller"), "muller");
}

static void test_fold_table(void) {
  CHECK_STR(fold("L\xC5\x92VENBRUCK"), "loevenbruck");   /* LŒVENBRUCK */
  CHECK_STR(fold("l\xC5\x93venbruck"), "loevenbruck");   /* lœvenbruck */
  CHECK_STR(fold("\xC3\x98rsted"), "orsted");            /* Ørsted */
  CHECK_STR(fold("\xC3\xB8rsted"), "orsted");
  CHECK_STR(fold("\xC5\x81\xC3\xB3" "d\xC5\xBA"), "lodz"); /* Łódź */
  CHECK_STR(fold("Stra\xC3\x9F" "e"), "strasse");        /* Straße */
  CHECK_STR(fold("STRA\xE1\xBA\x9E" "E"), "strasse");    /* capital ẞ */
  CHECK_STR(fold("\xC3\x86sir \xC3\xA6"), "aesir ae");   /* Æsir æ */
  CHECK_STR(fold("\xC4\x90or\xC4\x91" "evi\xC4\x87"), "dordevic"); /* Đorđević */
  CHECK_STR(fold("\xC3\x90\xC3\xB0"), "dd");             /* Ðð */
  CHECK_STR(fold("\xC3\x9E\xC3\xB3rr \xC3\xBE"), "thorr th"); /* Þórr þ */
  CHECK_STR(fold("\xC4\xA6\xC4\xA7"), "hh");             /* Ħħ */
  CHECK_STR(fold("Kad\xC4\xB1k\xC3\xB6y"), "kadikoy");   /* Kadıköy */
  CHECK_STR(fold("\xC5\x8A\xC5\x8B"), "nn");             /* Ŋŋ */
  CHECK_STR(fold("\xC5\xA6\xC5\xA7"), "tt");             /* Ŧŧ */
  CHECK_STR(fold("\xC4\xB8"), "k");                      /* ĸ */
  CHECK_STR(fold("\xC6\x8Fliyev \xC9\x99"), "eliyev e"); /* Əliyev ə */
  /* ŀ decomposes (NFKD) to l + middle dot, the usual Catalan spelling */
  CHECK_STR(fold("Ga\xC4\xBFla"), fold("Gal\xC2\xB7la"));
  CHECK_STR(fold("Ga\xC4\xBFla"), "gal\xC2\xB7la");
}

static void test_fold_compat(void) {
  CHECK_STR(fold("\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3"), "abc"); /* ＡＢＣ */
  CHECK_STR(fold("\xEF\xAC\x81" "nance"), "finance");             /* ﬁ */
  CHECK_STR(fold("\xC4\xB2sselmeer"), "ijsselmeer");              /* Ĳ */
  CHECK_STR(fold("x\xC2\xB2"), "x2");                              /* x² */
  /* compatibility forms that decompose to capitals fold to lower case */
  CHECK_STR(fold("\xE2\x84\xA1"), "tel");                          /* ℡ */
  CHECK_STR(fold("\xE2\x85\xAB"), "xii");                          /* Ⅻ */
  CHECK_STR(fold("\xF0\x9F\x84\xB0"), "a");                        /* 🄰 */
  CHECK_STR(fold("\xEF\xBD\xB6\xEF\xBE\x9E"),                      /* ｶﾞ */
            fold("\xE3\x82\xAC"));                                 /* ガ */
}

static void test_fold_decomposed(void) {
  CHECK_STR(fold("e\xCC\x81"), "e");
  const char *a = fold("e\xCC\x81l\xC3\xA9onore");
  char first[64];
  snprintf(first, sizeof first, "%s", a ? a : "(null)");
  CHECK_STR(first, fold("\xC3\xA9l\xC3\xA9onore"));
  CHECK_STR(first, "eleonore");
  CHECK_STR(fold("A\xCC\x8Astro\xCC\x88m"), "astrom");
  CHECK_STR(fold("\xE2\x84\xAB"), "a"); /* Å sign */
}

static void test_fold_other_scripts(void) {
  /* Greek: final and medial sigma fold alike, tonos removed */
  CHECK_STR(fold("\xCE\xA3\xCE\x8A\xCE\xA3\xCE\xA5\xCE\xA6\xCE\x9F\xCE\xA3"),
            "\xCF\x83\xCE\xB9\xCF\x83\xCF\x85\xCF\x86\xCE\xBF\xCF\x83");
  CHECK_STR(fold("\xCF\x83\xCE\xBF\xCF\x82"), "\xCF\x83\xCE\xBF\xCF\x83");
  /* the iota subscript is a diacritic, removed like an accent: ᾼ ᾳ -> α α */
  CHECK_STR(fold("\xE1\xBE\xBC \xE1\xBE\xB3"), "\xCE\xB1 \xCE\xB1");
  /* Cyrillic: Ёлкин -> елкин */
  CHECK_STR(fold("\xD0\x81\xD0\xBB\xD0\xBA\xD0\xB8\xD0\xBD"),
            "\xD0\xB5\xD0\xBB\xD0\xBA\xD0\xB8\xD0\xBD");
  /* Hangul: NFKD splits syllables, NFC puts them back */
  CHECK_STR(fold("\xED\x95\x9C\xEA\xB5\xAD"), "\xED\x95\x9C\xEA\xB5\xAD");
  CHECK_STR(fold("\xE6\x97\xA5\xE6\x9C\xAC"), "\xE6\x97\xA5\xE6\x9C\xAC");
}

static void test_fold_invalid(void) {
  char *out = (char *)"x";
  CHECK_INT(am_text_fold("ab\xC3", 3, &out, NULL), AM_EINVAL);
  CHECK(out == NULL);
  CHECK_INT(am_text_fold("\xED\xA0\x80", 3, &out, NULL), AM_EINVAL);
  CHECK_INT(am_text_fold("\xC0\x80", 2, &out, NULL), AM_EINVAL);
  CHECK(fold("\xC3\xA9\xFF") == NULL);
}

static void test_fold_idempotent(void) {
  static const char *const samples[] = {
      "\xC3\x89l\xC3\xA9onore", "L\xC5\x92VENBRUCK", "Stra\xC3\x9F\x65" /* Straße */,
      "\xE2\x84\xA1", "\xC4\xB0", "\xCE\x90", "\xED\x95\x9C\xEA\xB5\xAD",
      "\xEF\xBD\xB6\xEF\xBE\x9E", "\xCD\x85", "\xCD\xBA", "Ga\xC4\xBFla",
  };
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    char once[256];
    const char *f = fold(samples[i]);
    REQUIRE(f != NULL);
    snprintf(once, sizeof once, "%s", f);
    CHECK_STR(fold(once), once);
  }
}

/* Folding is done character by character (marks, whose order NFKD may
 * change, are removed), so checking every code point covers all text: the
 * result has no combining mark, folds to itself, and does not depend on the
 * normal form of the input. This also guards the shortcut in am_text_fold
 * (case folding without re-normalising) against a libunistring upgrade. */
static void test_fold_every_code_point(void) {
  int bad = 0;
  for (ucs4_t c = 0; c < 0x110000 && bad < 10; c++) {
    if (c >= 0xD800 && c < 0xE000) continue;
    uint8_t s[4];
    int l = u8_uctomb(s, c, 4);
    char *f = NULL, *g = NULL;
    size_t fn = 0, gn = 0;
    if (am_text_fold((const char *)s, (size_t)l, &f, &fn) != 0) {
      bad++;
      continue;
    }
    bool ok = am_utf8_valid(f, fn);
    for (size_t i = 0; ok && i < fn;) {
      ucs4_t uc;
      i += (size_t)u8_mbtouc(&uc, (const uint8_t *)f + i, fn - i);
      if (uc_is_general_category(uc, UC_CATEGORY_M)) ok = false;
    }
    if (ok && am_text_fold(f, fn, &g, &gn) == 0)
      ok = gn == fn && memcmp(f, g, fn) == 0;
    else
      ok = false;
    free(g);
    g = NULL;
    uint8_t nfd[64];
    size_t dn = sizeof nfd;
    uint8_t *d = u8_normalize(UNINORM_NFD, s, (size_t)l, nfd, &dn);
    if (ok && d && am_text_fold((const char *)d, dn, &g, &gn) == 0)
      ok = gn == fn && memcmp(f, g, fn) == 0;
    else
      ok = false;
    if (d && d != nfd) free(d);
    if (!ok) {
      fprintf(stderr, "fold of U+%04X is not stable\n", (unsigned)c);
      bad++;
    }
    free(f);
    free(g);
  }
  CHECK_INT(bad, 0);
}

static void test_fold_long(void) {
  /* longer than the stack buffers: every intermediate goes to the heap */
  char in[2 * 1000 + 1], want[1000 + 1];
  for (int i = 0; i < 1000; i++) {
    memcpy(in + 2 * i, i % 2 ? "\xC3\x89" : "\xC5\x93", 2); /* É œ */
    want[i] = i % 2 ? 'e' : 'o';
  }
  in[2000] = '\0';
  char *out;
  size_t n;
  REQUIRE(am_text_fold(in, 2000, &out, &n) == 0);
  CHECK_INT(n, 1500);
  /* œ -> oe, É -> e */
  size_t j = 0;
  int mismatch = 0;
  for (int i = 0; i < 1000; i++) {
    const char *w = want[i] == 'o' ? "oe" : "e";
    if (strncmp(out + j, w, strlen(w)) != 0) mismatch++;
    j += strlen(w);
  }
  CHECK_INT(mismatch, 0);
  CHECK_INT(out[n], '\0');
  free(out);

  /* Hangul needs NFC after folding, also on the heap */
  char h[3 * 200 + 1];
  for (int i = 0; i < 200; i++) memcpy(h + 3 * i, "\xED\x95\x9C", 3);
  h[600] = '\0';
  REQUIRE(am_text_fold(h, 600, &out, &n) == 0);
  CHECK_INT(n, 600);
  CHECK_STR(out, h);
  free(out);
}

/* ---- words ------------------------------------------------------------- */

typedef struct words {
  int n;
  char w[16][AM_WORD_MAX + 1];
  size_t len[16];
  int stop_after;
} words;

static int collect(const char *word, size_t len, void *arg) {
  words *ws = arg;
  if (ws->n < 16 && len <= AM_WORD_MAX) {
    memcpy(ws->w[ws->n], word, len);
    ws->w[ws->n][len] = '\0';
    ws->len[ws->n] = len;
  }
  ws->n++;
  return ws->stop_after && ws->n == ws->stop_after ? 7 : 0;
}

static words split(const char *s) {
  words ws;
  memset(&ws, 0, sizeof ws);
  int rc = am_text_words(s, strlen(s), collect, &ws);
  if (rc != 0) ws.n = -1;
  return ws;
}

static void test_words_basic(void) {
  words ws = split("Jean-Pierre D'Arcy, 2e promo");
  REQUIRE(ws.n == 6);
  CHECK_STR(ws.w[0], "Jean");
  CHECK_STR(ws.w[1], "Pierre");
  CHECK_STR(ws.w[2], "D");
  CHECK_STR(ws.w[3], "Arcy");
  CHECK_STR(ws.w[4], "2e");
  CHECK_STR(ws.w[5], "promo");

  CHECK_INT(split("").n, 0);
  CHECK_INT(split("  ,;- _ ").n, 0);
  ws = split("a_b");                 /* '_' is punctuation, not a letter */
  CHECK_INT(ws.n, 2);
  ws = split("x");
  REQUIRE(ws.n == 1);
  CHECK_STR(ws.w[0], "x");
  CHECK_INT(ws.len[0], 1);
}

static void test_words_unicode(void) {
  /* typographic apostrophe, no-break space, guillemets separate words */
  words ws = split("\xC5\x81\xC3\xB3" "d\xC5\xBA\xC2\xA0\xC2\xAB" "Krak\xC3\xB3w\xC2\xBB"
                   " l\xE2\x80\x99\xC3\xA9t\xC3\xA9");
  REQUIRE(ws.n == 4);
  CHECK_STR(ws.w[0], "\xC5\x81\xC3\xB3" "d\xC5\xBA");
  CHECK_STR(ws.w[1], "Krak\xC3\xB3w");
  CHECK_STR(ws.w[2], "l");
  CHECK_STR(ws.w[3], "\xC3\xA9t\xC3\xA9");
  /* combining marks stay inside their word */
  ws = split("e\xCC\x81t\xCC\x81 x");
  REQUIRE(ws.n == 2);
  CHECK_STR(ws.w[0], "e\xCC\x81t\xCC\x81");
  /* CJK letters and other digits count; an emoji separates */
  ws = split("\xE6\x97\xA5\xE6\x9C\xAC\xF0\x9F\x98\x80\xD9\xA3\xD9\xA4");
  REQUIRE(ws.n == 2);
  CHECK_STR(ws.w[0], "\xE6\x97\xA5\xE6\x9C\xAC");
  CHECK_STR(ws.w[1], "\xD9\xA3\xD9\xA4"); /* Arabic-Indic digits */
  /* invalid bytes separate words rather than crash */
  ws = split("ab\xFF" "cd");
  CHECK_INT(ws.n, 2);
}

static void test_words_cut(void) {
  char s[256];
  memset(s, 'a', 100);
  strcpy(s + 100, " next");
  words ws = split(s);
  REQUIRE(ws.n == 2);
  CHECK_INT(ws.len[0], AM_WORD_MAX);
  CHECK_STR(ws.w[1], "next");

  /* "a" + 40 × é = 81 bytes: a cut at 64 would split an é, so 63 bytes */
  s[0] = 'a';
  for (int i = 0; i < 40; i++) memcpy(s + 1 + 2 * i, "\xC3\xA9", 2);
  strcpy(s + 81, " b");
  ws = split(s);
  REQUIRE(ws.n == 2);
  CHECK_INT(ws.len[0], 63);
  CHECK(am_utf8_valid(ws.w[0], ws.len[0]));
  CHECK_STR(ws.w[1], "b");

  /* exactly 64 bytes of é is kept whole */
  for (int i = 0; i < 32; i++) memcpy(s + 2 * i, "\xC3\xA9", 2);
  s[64] = '\0';
  ws = split(s);
  REQUIRE(ws.n == 1);
  CHECK_INT(ws.len[0], 64);
}

static void test_words_stop(void) {
  words ws;
  memset(&ws, 0, sizeof ws);
  ws.stop_after = 2;
  CHECK_INT(am_text_words("one two three", 13, collect, &ws), 7);
  CHECK_INT(ws.n, 2);
  memset(&ws, 0, sizeof ws);
  CHECK_INT(am_text_words("one two three", 7, collect, &ws), 0); /* len */
  CHECK_INT(ws.n, 2);
  CHECK_STR(ws.w[1], "two");
}

/* ---- compact ----------------------------------------------------------- */

static void test_compact(void) {
  CHECK_STR(compact("Ann\xC3\xA9" "e de dipl\xC3\xB4me"), "anneedediplome");
  CHECK_STR(compact("E-mail"), "email");
  CHECK_STR(compact("Pr\xC3\xA9nom "), "prenom");
  CHECK_STR(compact("T\xC3\xA9l\xC3\xA9phone #2"), "telephone2");
  CHECK_STR(compact("Code postal (CP)"), "codepostalcp");
  CHECK_STR(compact("N\xC2\xB0 d'\xC3\xA9tudiant"), "ndetudiant");
  CHECK_STR(compact("\xC5\x92uvre_Soci\xC3\xA9t\xC3\xA9"), "oeuvresociete");
  CHECK_STR(compact("\xE6\x97\xA5\xE6\x9C\xAC \xE8\xAA\x9E"),
            "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  CHECK_STR(compact(" - "), "");
  CHECK_STR(compact(""), "");
  char *out = (char *)"x";
  CHECK_INT(am_text_compact("\xC3", 1, &out), AM_EINVAL);
  CHECK(out == NULL);
}

/* ---- width ------------------------------------------------------------- */

static void test_width(void) {
  CHECK_INT(am_text_width(""), 0);
  CHECK_INT(am_text_width("abc"), 3);
  CHECK_INT(am_text_width("\xE6\x97\xA5\xE6\x9C\xAC"), 4);          /* 日本 */
  CHECK_INT(am_text_width("\xC3\xA9"), 1);                          /* é */
  CHECK_INT(am_text_width("e\xCC\x81"), 1);                         /* e + ´ */
  CHECK_INT(am_text_width("\xC3\x85str\xC3\xB6m"), 6);
  CHECK_INT(am_text_width("\xEF\xBC\xA1\xEF\xBC\xA2"), 4);          /* ＡＢ */
  CHECK_INT(am_text_width("\xED\x95\x9C"), 2);                      /* 한 */
}

static void test_fit(void) {
  const char *jp = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"; /* 日本語 */
  CHECK_INT(am_text_fit(jp, 5), 6);
  CHECK_INT(am_text_fit(jp, 6), 9);
  CHECK_INT(am_text_fit(jp, 100), 9);
  CHECK_INT(am_text_fit(jp, 1), 0);
  CHECK_INT(am_text_fit(jp, 0), 0);
  CHECK_INT(am_text_fit("abc", 2), 2);
  CHECK_INT(am_text_fit("abc", 3), 3);
  CHECK_INT(am_text_fit("", 3), 0);
  /* a combining mark goes with the letter before it */
  CHECK_INT(am_text_fit("e\xCC\x81x", 1), 3);
  CHECK_INT(am_text_fit("\xC3\xA9t\xC3\xA9", 2), 3);
  CHECK_INT(am_text_fit("a\xE6\x97\xA5" "b", 2), 1);
}

int main(void) {
  RUN(test_utf8_valid);
  RUN(test_clean_trim);
  RUN(test_clean_invalid_utf8);
  RUN(test_clean_control);
  RUN(test_clean_multiline);
  RUN(test_clean_length);
  RUN(test_clean_nfc);
  RUN(test_nfc_quick_check_assumption);
  RUN(test_fold_ascii);
  RUN(test_fold_accents);
  RUN(test_fold_table);
  RUN(test_fold_compat);
  RUN(test_fold_decomposed);
  RUN(test_fold_other_scripts);
  RUN(test_fold_invalid);
  RUN(test_fold_idempotent);
  RUN(test_fold_every_code_point);
  RUN(test_fold_long);
  RUN(test_words_basic);
  RUN(test_words_unicode);
  RUN(test_words_cut);
  RUN(test_words_stop);
  RUN(test_compact);
  RUN(test_width);
  RUN(test_fit);
  return TEST_SUMMARY();
}
