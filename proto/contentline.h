/* Content lines, the line syntax iCalendar (RFC 5545 section 3.1) and
 * vCard (RFC 6350 section 3.2) share: NAME;PARAM=x:value, CRLF at the end,
 * long lines folded by CRLF + one space. A writer folds before the
 * character that would take a physical line past 75 octets, so no line is
 * longer and no UTF-8 sequence is ever split across a fold; TEXT values
 * are escaped the way both RFCs write them (backslash, semicolon, comma,
 * line break). Both proto/vcard.c and proto/ics.c write through it.
 *
 * The writer keeps the first error (AM_ENOMEM) in rc and ignores every
 * call after it, so a caller writes a whole object and checks rc once. */
#ifndef AMICALE_PROTO_CONTENTLINE_H
#define AMICALE_PROTO_CONTENTLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/csv.h" /* am_buf */

typedef struct am_cl {
  am_buf *out;
  size_t col;     /* octets on the current physical line */
  size_t pending; /* continuation bytes still due in a UTF-8 sequence */
  int rc;         /* first error, 0 while all went well */
} am_cl;

void am_cl_init(am_cl *l, am_buf *out);

/* Appends n bytes as they are (names, parameters, URIs, our own numbers),
 * folding where needed. Control characters other than tab are dropped:
 * no content line may hold one, whatever the caller was given. */
void am_cl_raw(am_cl *l, const char *p, size_t n);
void am_cl_str(am_cl *l, const char *s); /* am_cl_raw of a C string */

/* Appends s as a TEXT value: \ ; , escaped, a line break (LF, CRLF or CR)
 * written \n, other control characters but tab dropped. */
void am_cl_text(am_cl *l, const char *s);

/* Ends the logical line (CRLF). */
void am_cl_end(am_cl *l);

/* NAME:text (escaped) and CRLF; nothing when text is NULL. */
void am_cl_prop(am_cl *l, const char *name, const char *text);

/* NAME:value (not escaped: a URI or a value we produced) and CRLF;
 * nothing when value is NULL. */
void am_cl_prop_raw(am_cl *l, const char *name, const char *value);

/* True when s is an absolute http:// or https:// URL (scheme in any case)
 * with a host, made of printable ASCII only and without space, quotes,
 * backslash or angle brackets: safe as a URI value, an HTML attribute and
 * a Markdown link. Anything else is shown as text, never linked. */
bool am_cl_is_web_url(const char *s);

/* True when s is 1..max characters of base64url ([A-Za-z0-9_-]), the
 * form of node keys: safe in a UID as it is. */
bool am_cl_is_token(const char *s, size_t max);

/* True when s has the shape of a language tag (RFC 5646): 2-3 letters,
 * then -subtags of 1-8 letters or digits ("fr", "en-GB", "zh-Hant"). */
bool am_cl_is_lang_tag(const char *s);

/* Unix seconds as a UTC DATE-TIME, 20261210T183000Z (16 chars + NUL). */
void am_cl_utc(int64_t t, char out[static 17]);

#endif
