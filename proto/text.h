/* Text handling for member data: UTF-8 validation and cleaning of stored
 * text, and the folded form used for indexes and comparisons, so that
 * "eleonore" finds "Éléonore", "LOEVENBRUCK" finds "Lœvenbruck" and "astrom"
 * finds "Åström". Normalisation, case folding and character properties come
 * from libunistring; only letters that Unicode does not decompose (œ, æ, ø,
 * ł, đ, ...) are mapped by a small table here, as ICU's Latin-ASCII
 * transliteration does. */
#ifndef AMICALE_PROTO_TEXT_H
#define AMICALE_PROTO_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/error.h"

/* Longest word kept in an index; longer words are cut at a character boundary. */
#define AM_WORD_MAX 64

enum {
  AM_TEXT_MULTILINE = 1, /* allow \n (a bio); \r\n and \r become \n */
};

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool am_utf8_valid(const char *s, size_t len);

/* Cleans text to be stored: checks UTF-8, rejects control characters (C0,
 * DEL and C1, other than \t, and \n with AM_TEXT_MULTILINE; \t becomes a
 * space), trims Unicode white space (U+00A0, U+202F, ...) at both ends,
 * normalises to NFC, and checks the result is at most max_bytes long. On
 * success *out is a NUL-terminated malloc'd string (may be empty). On failure
 * *out is NULL, AM_EINVAL is returned and err says why ("is not valid UTF-8
 * (byte 12)", counting bytes from 0; "is longer than 200 bytes"; "contains a
 * control character (U+0007)"); the caller adds which field. */
int am_text_clean(const char *in, size_t len, size_t max_bytes, int flags,
                  char **out, am_error *err);

/* The folded search form of valid UTF-8 text: compatibility decomposition
 * (NFKD), combining marks removed, full case folding, letters without a
 * decomposition mapped to their base Latin letters (œ->oe, æ->ae, ø->o,
 * ß->ss, ł->l, đ->d, ...), recomposed (NFC). Pure-ASCII input takes a fast
 * path (lower-casing). *out is malloc'd and NUL-terminated, *outlen its
 * length (outlen may be NULL). Returns AM_EINVAL for invalid UTF-8, AM_ENOMEM;
 * *out is NULL on failure. */
int am_text_fold(const char *in, size_t len, char **out, size_t *outlen);

/* Calls cb(word, len, arg) for each word of text (folded or not): maximal
 * runs of letters, digits and combining marks (Unicode categories L, N, M),
 * each cut to AM_WORD_MAX bytes at a character boundary. Stops early and
 * returns cb's value when it is non-zero; else returns 0. */
typedef int (*am_word_cb)(const char *word, size_t len, void *arg);
int am_text_words(const char *text, size_t len, am_word_cb cb, void *arg);

/* Folds text and keeps only its letters and digits, concatenated: "Année de
 * diplôme" -> "anneedediplome", "E-mail" -> "email". Used to recognise
 * spreadsheet column headers. *out malloc'd. */
int am_text_compact(const char *in, size_t len, char **out);

/* Copies s into out (outsz bytes, NUL-terminated) for display: control
 * characters (C0, DEL, C1) become '?', so does each byte that is not part
 * of well-formed UTF-8, and the copy is cut at a character boundary. For
 * text from the network (a peer's name, its goodbye), which may carry
 * anything, before a terminal or a log sees it. Returns out. */
char *am_text_printable(const char *s, char *out, size_t outsz);

/* Width of s in terminal columns (wide East Asian characters count 2,
 * combining marks 0). s must be valid UTF-8. */
size_t am_text_width(const char *s);

/* Length in bytes of the longest prefix of s that fits in cols columns,
 * never splitting a character. */
size_t am_text_fit(const char *s, size_t cols);

#endif
