/* UTF-8 validation, cleaning and search folding of member text (see text.h). */
#include "proto/text.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>
#include <uniwidth.h>

/* Intermediate results of libunistring calls up to this size stay on the
 * stack: names, towns and employers are far shorter, so folding a field
 * allocates nothing but the string it returns. */
#define STACK_BUF 256

/* OR-ing every byte (no early exit) lets the compiler vectorise the loop; the
 * check runs for every field of large imports, most of them pure ASCII. */
static bool all_ascii(const uint8_t *s, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= s[i];
  return (acc & 0x80) == 0;
}

/* Every character below U+0300 is unchanged by NFC and never composes with
 * its neighbour (the first composing marks start at U+0300), so text whose
 * lead bytes are all below 0xCC (U+0300 is CC 80) is already NFC. This skips
 * the normaliser for Latin-1 and Latin Extended text, the bulk of our data;
 * tests/unit/test_text.c checks the claim against libunistring. */
static bool nfc_quick_yes(const uint8_t *s, size_t n) {
  uint8_t max = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] > max) max = s[i];
  return max < 0xCC;
}

/* libunistring reports failure through errno; only ENOMEM is expected for
 * valid input. */
static int lib_error(int e) { return e == ENOMEM ? AM_ENOMEM : AM_EINTERNAL; }

static int dup_bytes(const uint8_t *s, size_t n, char **out, size_t *outlen) {
  char *r = malloc(n + 1);
  if (!r) return AM_ENOMEM;
  if (n) memcpy(r, s, n);
  r[n] = '\0';
  *out = r;
  if (outlen) *outlen = n;
  return 0;
}

/* Normalises s into a malloc'd NUL-terminated string. The result usually fits
 * a buffer of the input's size (plus the NUL), which libunistring fills in
 * place; when it does not, libunistring allocates and we add the NUL. */
static int normalize_alloc(uninorm_t nf, const uint8_t *s, size_t n,
                           char **out, size_t *outlen) {
  uint8_t *buf = malloc(n + 1);
  if (!buf) return AM_ENOMEM;
  size_t rn = n;
  uint8_t *r = u8_normalize(nf, s, n, buf, &rn);
  if (!r) {
    int e = errno;
    free(buf);
    return lib_error(e);
  }
  if (r != buf) {
    free(buf);
    uint8_t *g = realloc(r, rn + 1);
    if (!g) {
      free(r);
      return AM_ENOMEM;
    }
    r = g;
  }
  r[rn] = '\0';
  *out = (char *)r;
  if (outlen) *outlen = rn;
  return 0;
}

bool am_utf8_valid(const char *s, size_t len) {
  if (len == 0) return true;
  if (!s) return false;
  return u8_check((const uint8_t *)s, len) == NULL;
}

/* ---- cleaning ---------------------------------------------------------- */

static bool is_space_at(const uint8_t *s, size_t n, size_t *k) {
  if (s[0] < 0x80) {
    *k = 1;
    /* \t is already a space, \v \f \r rejected; \n survives only in
     * multiline text. */
    return s[0] == ' ' || s[0] == '\n';
  }
  ucs4_t uc;
  *k = (size_t)u8_mbtouc(&uc, s, n);
  return uc_is_property_white_space(uc);
}

/* Trims Unicode white space (White_Space property: includes U+00A0, U+202F,
 * U+3000, which spreadsheets and copy-paste from web pages leave around
 * names) from both ends of s[0..n), moving the rest to the front. */
static size_t trim_space(uint8_t *s, size_t n) {
  size_t start = 0, k;
  while (start < n && is_space_at(s + start, n - start, &k)) start += k;
  size_t end = n;
  while (end > start) {
    if (s[end - 1] < 0x80) {
      if (s[end - 1] != ' ' && s[end - 1] != '\n') break;
      end--;
      continue;
    }
    ucs4_t uc;
    const uint8_t *p = u8_prev(&uc, s + end, s + start);
    if (!p || !uc_is_property_white_space(uc)) break;
    end = (size_t)(p - s);
  }
  if (start && end > start) memmove(s, s + start, end - start);
  return end - start;
}

int am_text_clean(const char *in, size_t len, size_t max_bytes, int flags,
                  char **out, am_error *err) {
  *out = NULL;
  if (!in && len) return am_fail(err, AM_EUSAGE, "no text given");
  const uint8_t *s = (const uint8_t *)(in ? in : "");
  const uint8_t *bad = len ? u8_check(s, len) : NULL;
  if (bad)
    return am_fail(err, AM_EINVAL, "is not valid UTF-8 (byte %zu)",
                   (size_t)(bad - s));

  /* Rewriting only keeps or shrinks the text, so one buffer of the input's
   * size holds every later step up to NFC. */
  uint8_t *buf = malloc(len + 1);
  if (!buf) return am_fail(err, AM_ENOMEM, "out of memory");
  bool multiline = (flags & AM_TEXT_MULTILINE) != 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = s[i];
    if (c >= 0x20 && c != 0x7F) {
      /* C1 controls U+0080..U+009F are C2 80..C2 9F; the input is valid
       * UTF-8, so a continuation byte follows every C2. */
      if (c == 0xC2 && s[i + 1] < 0xA0) {
        free(buf);
        return am_fail(err, AM_EINVAL, "contains a control character (U+%04X)",
                       (unsigned)s[i + 1]);
      }
      buf[o++] = c;
    } else if (c == '\t') {
      buf[o++] = ' ';
    } else if (multiline && c == '\n') {
      buf[o++] = '\n';
    } else if (multiline && c == '\r') {
      /* Windows (\r\n) and old Mac (\r) line ends both become \n. */
      buf[o++] = '\n';
      if (i + 1 < len && s[i + 1] == '\n') i++;
    } else {
      free(buf);
      return am_fail(err, AM_EINVAL, "contains a control character (U+%04X)",
                     (unsigned)c);
    }
  }
  o = trim_space(buf, o);

  char *res = (char *)buf;
  size_t n = o;
  if (!nfc_quick_yes(buf, o)) {
    int rc = normalize_alloc(UNINORM_NFC, buf, o, &res, &n);
    free(buf);
    if (rc) return am_fail(err, rc, "%s", am_strerror(rc));
  } else {
    buf[o] = '\0';
  }
  /* Checked after NFC, which may shorten the text (e + U+0301 -> é). */
  if (n > max_bytes) {
    free(res);
    return am_fail(err, AM_EINVAL, "is longer than %zu bytes", max_bytes);
  }
  *out = res;
  return 0;
}

/* ---- folding ----------------------------------------------------------- */

/* Letters that Unicode gives no decomposition, so NFKD plus mark removal
 * leaves them alone, yet French, Nordic, Polish, Croatian, Icelandic or
 * Azerbaijani users type them as plain Latin letters and expect "loevenbruck"
 * to find "Lœvenbruck", "orsted" to find "Ørsted", "lodz" to find "Łódź".
 * The mappings follow ICU's Latin-ASCII transliterator. The table is applied
 * after case folding, so it lists lower-case letters only. ß is folded to
 * "ss" by full case folding already; it is listed so the result does not
 * depend on that. ŀ (Catalan) needs no entry: NFKD turns it into "l·", the
 * same form as the more common "l·l" spelling. Every entry maps a two-byte
 * letter to at most two ASCII letters, so the mapping can work in place. */
static const char *base_letters(ucs4_t uc) {
  switch (uc) {
  case 0x00DF: return "ss"; /* ß */
  case 0x00E6: return "ae"; /* æ */
  case 0x00F0: return "d";  /* ð */
  case 0x00F8: return "o";  /* ø */
  case 0x00FE: return "th"; /* þ */
  case 0x0111: return "d";  /* đ */
  case 0x0127: return "h";  /* ħ */
  case 0x0131: return "i";  /* ı */
  case 0x0138: return "k";  /* ĸ */
  case 0x0142: return "l";  /* ł */
  case 0x014B: return "n";  /* ŋ */
  case 0x0153: return "oe"; /* œ */
  case 0x0167: return "t";  /* ŧ */
  case 0x0259: return "e";  /* ə */
  default: return NULL;
  }
}

/* Removes combining marks and maps base_letters() in place; returns the new
 * length. */
static size_t strip_marks(uint8_t *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      s[o++] = s[i++];
      continue;
    }
    ucs4_t uc;
    size_t k = (size_t)u8_mbtouc(&uc, s + i, n - i);
    const char *rep = base_letters(uc);
    if (rep) {
      size_t rl = strlen(rep);
      memcpy(s + o, rep, rl);
      o += rl;
    } else if (!uc_is_general_category(uc, UC_CATEGORY_M)) {
      memmove(s + o, s + i, k);
      o += k;
    }
    i += k;
  }
  return o;
}

/* The full path below costs about a microsecond a string; an import folds
 * a dozen strings a row. Names and places in Latin scripts use only code
 * points below U+0250, whose folded forms are computed once, by that same
 * full path, into this memo. Folding such a string character by character
 * gives the same result as folding it whole: case folding without a
 * language is context-free, and the folded forms carry no combining marks
 * that NFC could recompose (combining marks themselves, U+0300 and up, take
 * the full path). tests/unit/test_text.c compares both paths. */
#define MEMO_END 0x250
#define MEMO_MAX 7
static struct memo { uint8_t len; char s[MEMO_MAX]; } memo[MEMO_END - 0x80];
static bool memo_ok;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static int fold_full(const uint8_t *s, size_t len, char **out, size_t *outlen);

static void memo_init(void) {
  for (ucs4_t uc = 0x80; uc < MEMO_END; uc++) {
    uint8_t b[4];
    int k = u8_uctomb(b, uc, sizeof b);
    char *f = NULL;
    size_t n = 0;
    if (k <= 0 || fold_full(b, (size_t)k, &f, &n) || n > MEMO_MAX) {
      free(f);
      return; /* memo_ok stays false: every string takes the full path */
    }
    memo[uc - 0x80].len = (uint8_t)n;
    memcpy(memo[uc - 0x80].s, f, n);
    free(f);
  }
  memo_ok = true;
}

/* Folds with the memo; returns 1 (nothing done) if a character is outside
 * it or the input is not valid UTF-8. */
static int fold_memo(const uint8_t *s, size_t len, char **out, size_t *outlen) {
  pthread_once(&memo_once, memo_init);
  if (!memo_ok) return 1;
  char *r = malloc(len * MEMO_MAX / 2 + 1); /* each 2-byte char -> <= 7 bytes */
  if (!r) return AM_ENOMEM;
  size_t o = 0;
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      r[o++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      i++;
      continue;
    }
    /* Two-byte sequences C2..C9 xx cover U+0080..U+027F. */
    if (c < 0xC2 || c > 0xC9 || i + 1 >= len || (s[i + 1] & 0xC0) != 0x80) break;
    ucs4_t uc = ((ucs4_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    if (uc >= MEMO_END) break;
    memcpy(r + o, memo[uc - 0x80].s, memo[uc - 0x80].len);
    o += memo[uc - 0x80].len;
    i += 2;
  }
  if (i < len) {
    free(r);
    return 1;
  }
  r[o] = '\0';
  *out = r;
  if (outlen) *outlen = o;
  return 0;
}

int am_text_fold(const char *in, size_t len, char **out, size_t *outlen) {
  *out = NULL;
  if (!in && len) return AM_EUSAGE;
  const uint8_t *s = (const uint8_t *)(in ? in : "");
  if (all_ascii(s, len)) {
    char *r = malloc(len + 1);
    if (!r) return AM_ENOMEM;
    for (size_t i = 0; i < len; i++)
      r[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]);
    r[len] = '\0';
    *out = r;
    if (outlen) *outlen = len;
    return 0;
  }
  int rc = fold_memo(s, len, out, outlen);
  if (rc <= 0) return rc;
  return fold_full(s, len, out, outlen);
}

static int fold_full(const uint8_t *s, size_t len, char **out, size_t *outlen) {
  *out = NULL;
  if (u8_check(s, len)) return AM_EINVAL;

  /* Compatibility decomposition comes before case folding because some
   * compatibility characters decompose to capitals (℡ -> "TEL", ㍱ -> "hPa").
   * Marks go before folding too: the Greek iota subscript (U+0345) is a
   * diacritic to a reader, but case folding would turn it into a letter ι.
   * Folding mark-free NFKD text yields NFKD text (checked for every code
   * point by tests/unit/test_text.c), so u8_casefold is asked for no
   * normalisation, which would triple its cost; the second strip_marks()
   * applies the table to letters that were capitals. */
  uint8_t b1[STACK_BUF], b2[STACK_BUF];
  size_t n1 = sizeof b1;
  uint8_t *t1 = u8_normalize(UNINORM_NFKD, s, len, b1, &n1);
  if (!t1) return lib_error(errno);
  n1 = strip_marks(t1, n1);
  size_t n2 = sizeof b2;
  uint8_t *t2 = u8_casefold(t1, n1, NULL, NULL, b2, &n2);
  int e = errno;
  if (t1 != b1) free(t1);
  if (!t2) return lib_error(e);

  n2 = strip_marks(t2, n2);
  /* With marks gone, NFC only recomposes scripts such as Hangul, whose
   * syllables NFKD split into jamo; Latin results skip it. */
  int rc = nfc_quick_yes(t2, n2) ? dup_bytes(t2, n2, out, outlen)
                                 : normalize_alloc(UNINORM_NFC, t2, n2, out,
                                                   outlen);
  if (t2 != b2) free(t2);
  return rc;
}

/* ---- words ------------------------------------------------------------- */

/* Whether the character at s is part of a word (Unicode L, N or M); *k is
 * its length. Invalid bytes decode as U+FFFD, a separator. */
static bool word_char(const uint8_t *s, size_t n, size_t *k) {
  if (s[0] < 0x80) {
    *k = 1;
    uint8_t c = s[0];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  }
  ucs4_t uc;
  *k = (size_t)u8_mbtouc(&uc, s, n);
  return uc_is_general_category(uc, UC_CATEGORY_L) ||
         uc_is_general_category(uc, UC_CATEGORY_N) ||
         uc_is_general_category(uc, UC_CATEGORY_M);
}

int am_text_words(const char *text, size_t len, am_word_cb cb, void *arg) {
  const uint8_t *s = (const uint8_t *)text;
  size_t i = 0, k;
  while (i < len) {
    if (!word_char(s + i, len - i, &k)) {
      i += k;
      continue;
    }
    size_t start = i, end = i + k;
    i += k;
    while (i < len && word_char(s + i, len - i, &k)) {
      if (i + k - start <= AM_WORD_MAX) end = i + k;
      i += k;
    }
    int rc = cb(text + start, end - start, arg);
    if (rc) return rc;
  }
  return 0;
}

/* ---- compact form ------------------------------------------------------ */

int am_text_compact(const char *in, size_t len, char **out) {
  char *f;
  size_t n;
  int rc = am_text_fold(in, len, &f, &n);
  if (rc) {
    *out = NULL;
    return rc;
  }
  uint8_t *s = (uint8_t *)f;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      uint8_t c = s[i++];
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) s[o++] = c;
      continue;
    }
    ucs4_t uc;
    size_t k = (size_t)u8_mbtouc(&uc, s + i, n - i);
    if (uc_is_general_category(uc, UC_CATEGORY_L) ||
        uc_is_general_category(uc, UC_CATEGORY_N)) {
      memmove(s + o, s + i, k);
      o += k;
    }
    i += k;
  }
  s[o] = '\0';
  *out = f;
  return 0;
}

/* ---- display width ----------------------------------------------------- */

/* "UTF-8" tells libunistring that East Asian ambiguous characters are one
 * column wide, as in non-CJK terminals. */
static const char width_encoding[] = "UTF-8";

size_t am_text_width(const char *s) {
  int w = u8_strwidth((const uint8_t *)s, width_encoding);
  return w < 0 ? 0 : (size_t)w;
}

size_t am_text_fit(const char *s, size_t cols) {
  const uint8_t *p = (const uint8_t *)s;
  size_t n = strlen(s), i = 0, used = 0;
  while (i < n) {
    ucs4_t uc;
    int k = u8_mbtouc(&uc, p + i, n - i);
    /* Control characters (-1) take no column, as in u8_strwidth. */
    int w = uc_width(uc, width_encoding);
    size_t cw = w < 0 ? 0 : (size_t)w;
    if (cw > cols - used) break;
    used += cw;
    i += (size_t)k;
  }
  return i;
}

char *am_text_printable(const char *s, char *out, size_t outsz) {
  size_t o = 0, n = strlen(s);
  if (outsz == 0) return out;
  for (size_t i = 0; i < n;) {
    ucs4_t c;
    int len = u8_mbtouc(&c, (const uint8_t *)s + i, n - i);
    bool bad = c == 0xfffd && !(len == 3 && memcmp(s + i, "\xef\xbf\xbd", 3) == 0);
    bool ctl = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
    size_t w = bad || ctl ? 1 : (size_t)len;
    if (o + w >= outsz) break;
    if (bad || ctl) out[o++] = '?';
    else memcpy(out + o, s + i, w), o += w;
    i += bad ? 1 : (size_t)len;
  }
  out[o] = 0;
  return out;
}
