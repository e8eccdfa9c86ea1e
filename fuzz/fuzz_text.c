/* libFuzzer target for proto/text.c: validates arbitrary bytes and, when they
 * are UTF-8, runs every text function and aborts when an invariant breaks
 * (output not UTF-8, folding or cleaning not idempotent, fold not blind to
 * canonical equivalence, words or fit cutting a character). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uninorm.h>
#include <unistr.h>

#include "proto/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)         \
  do {                    \
    if (!(c)) abort();    \
  } while (0)

static bool is_char_start(const char *s, size_t i) {
  return ((unsigned char)s[i] & 0xC0) != 0x80;
}

static void check_clean(const char *s, size_t n, int flags) {
  char *out = NULL;
  am_error err = {0};
  size_t max = n / 2 + 1;
  int rc = am_text_clean(s, n, max, flags, &out, &err);
  if (rc != 0) {
    ASSERT(rc == AM_EINVAL && err.code == AM_EINVAL && err.msg[0]);
    ASSERT(out == NULL);
    return;
  }
  size_t len = strlen(out);
  ASSERT(len <= max);
  ASSERT(am_utf8_valid(out, len));
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)out[i];
    ASSERT(c >= 0x20 || (c == '\n' && (flags & AM_TEXT_MULTILINE)));
    ASSERT(c != 0x7F);
    ASSERT(!(c == 0xC2 && (unsigned char)out[i + 1] < 0xA0));
  }
  if (len) {
    ASSERT(out[0] != ' ' && out[0] != '\n');
    ASSERT(out[len - 1] != ' ' && out[len - 1] != '\n');
  }
  /* Cleaning clean text changes nothing. */
  char *again = NULL;
  ASSERT(am_text_clean(out, len, len, flags, &again, NULL) == 0);
  ASSERT(strcmp(again, out) == 0);
  free(again);
  free(out);
}

static int check_word(const char *word, size_t len, void *arg) {
  const char *const *bounds = arg;
  ASSERT(len > 0 && len <= AM_WORD_MAX);
  ASSERT(word >= bounds[0] && word + len <= bounds[1]);
  ASSERT(am_utf8_valid(word, len));
  return 0;
}

static void check_words(const char *s, size_t n) {
  const char *bounds[2] = {s, s + n};
  ASSERT(am_text_words(s, n, check_word, bounds) == 0);
}

static char *fold_or_die(const char *s, size_t n, size_t *outlen) {
  char *out = NULL;
  ASSERT(am_text_fold(s, n, &out, outlen) == 0);
  ASSERT(out[*outlen] == '\0');
  ASSERT(am_utf8_valid(out, *outlen));
  return out;
}

/* fold(x) must equal fold of x in another normal form. */
static void check_fold_equivalent(uninorm_t nf, const char *s, size_t n,
                                  const char *f, size_t fn) {
  size_t rn = 0;
  uint8_t *r = u8_normalize(nf, (const uint8_t *)s, n, NULL, &rn);
  if (!r) return; /* out of memory: nothing to compare */
  size_t gn;
  char *g = fold_or_die((const char *)r, rn, &gn);
  ASSERT(gn == fn && memcmp(g, f, fn) == 0);
  free(g);
  free(r);
}

static void check_fold(const char *s, size_t n) {
  size_t fn, ffn;
  char *f = fold_or_die(s, n, &fn);
  char *ff = fold_or_die(f, fn, &ffn);
  ASSERT(ffn == fn && memcmp(f, ff, fn) == 0);
  free(ff);
  check_fold_equivalent(UNINORM_NFC, s, n, f, fn);
  check_fold_equivalent(UNINORM_NFD, s, n, f, fn);
  check_words(f, fn);

  char *c = NULL, *cc = NULL;
  ASSERT(am_text_compact(s, n, &c) == 0);
  size_t cn = strlen(c);
  ASSERT(am_utf8_valid(c, cn) && cn <= fn);
  ASSERT(am_text_compact(c, cn, &cc) == 0);
  ASSERT(strcmp(c, cc) == 0);
  free(cc);
  free(c);
  free(f);
}

static void check_fit(const char *z, size_t cols) {
  size_t zn = strlen(z);
  size_t r = am_text_fit(z, cols);
  ASSERT(r <= zn);
  ASSERT(is_char_start(z, r));
  char *prefix = malloc(r + 1);
  if (!prefix) return;
  memcpy(prefix, z, r);
  prefix[r] = '\0';
  ASSERT(am_text_width(prefix) <= cols);
  free(prefix);
  if (r < zn) {
    /* The next character did not fit: it has a width and exceeds cols. */
    size_t k = (size_t)u8_mblen((const uint8_t *)z + r, zn - r);
    char *longer = malloc(r + k + 1);
    if (!longer) return;
    memcpy(longer, z, r + k);
    longer[r + k] = '\0';
    ASSERT(am_text_width(longer) > cols);
    free(longer);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  bool valid = am_utf8_valid(s, size);
  ASSERT(valid == (u8_check(data, size) == NULL));

  /* Invalid input is refused, never crashes; words() tolerates it. */
  check_words(s, size);
  if (!valid) {
    char *out = NULL;
    ASSERT(am_text_fold(s, size, &out, NULL) == AM_EINVAL && out == NULL);
    am_error err = {0};
    ASSERT(am_text_clean(s, size, size, 0, &out, &err) == AM_EINVAL);
    ASSERT(strncmp(err.msg, "is not valid UTF-8 (byte ", 25) == 0);
    return 0;
  }

  check_clean(s, size, 0);
  check_clean(s, size, AM_TEXT_MULTILINE);
  check_fold(s, size);

  /* Width and fit take NUL-terminated text: cut at the first NUL, which is
   * a character boundary, so the copy stays valid UTF-8. */
  char *z = malloc(size + 1);
  if (!z) return 0;
  memcpy(z, data, size);
  z[size] = '\0';
  size_t w = am_text_width(z);
  ASSERT(am_text_fit(z, w) == strlen(z));
  static const size_t cols[] = {0, 1, 2, 3, 5, 8, 13, 40};
  for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) check_fit(z, cols[i]);
  if (w) check_fit(z, w - 1);
  free(z);
  return 0;
}
