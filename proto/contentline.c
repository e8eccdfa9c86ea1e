/* Content-line writer shared by vCard and iCalendar (see contentline.h). */
#include "proto/contentline.h"

#include <string.h>
#include <strings.h>

#include "proto/member_json.h" /* am_time_format */

/* RFC 5545 3.1 and RFC 6350 3.2: lines SHOULD NOT be longer than 75
 * octets, excluding the line break. */
#define FOLD_AT 75

void am_cl_init(am_cl *l, am_buf *out) {
  l->out = out;
  l->col = 0;
  l->pending = 0;
  l->rc = 0;
}

/* Octets in the UTF-8 sequence that lead byte c starts (0: not a lead). */
static size_t seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) return 2;
  if ((c & 0xf0) == 0xe0) return 3;
  if ((c & 0xf8) == 0xf0) return 4;
  return 0;
}

static void put_byte(am_cl *l, unsigned char c) {
  size_t k = seq_len(c);
  /* A stray byte (a continuation with no lead before it) counts as a
   * character of its own, so even malformed input cannot grow a line past
   * the limit; jansson and our text checks never let one through. */
  if (!k && !l->pending) k = 1;
  if (k) {
    /* Fold before a character that would not fit whole on this line. */
    if (l->col + k > FOLD_AT) {
      l->rc = am_buf_append(l->out, "\r\n ", 3);
      l->col = 1;
      if (l->rc) return;
    }
    l->pending = k - 1;
  } else {
    l->pending--;
  }
  l->rc = am_buf_append(l->out, &c, 1);
  l->col++;
}

static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

void am_cl_raw(am_cl *l, const char *p, size_t n) {
  for (size_t i = 0; i < n && !l->rc; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!is_ctl(c)) put_byte(l, c);
  }
}

void am_cl_str(am_cl *l, const char *s) { am_cl_raw(l, s, strlen(s)); }

void am_cl_text(am_cl *l, const char *s) {
  for (; *s && !l->rc; s++) {
    switch (*s) {
    case '\\': am_cl_raw(l, "\\\\", 2); break;
    case ',': am_cl_raw(l, "\\,", 2); break;
    case ';': am_cl_raw(l, "\\;", 2); break;
    case '\r': /* CR, CRLF and LF are one line break */
      if (s[1] == '\n') s++;
      am_cl_raw(l, "\\n", 2);
      break;
    case '\n': am_cl_raw(l, "\\n", 2); break;
    default: am_cl_raw(l, s, 1); break;
    }
  }
}

void am_cl_end(am_cl *l) {
  if (!l->rc) l->rc = am_buf_append(l->out, "\r\n", 2);
  l->col = 0;
  l->pending = 0;
}

void am_cl_prop(am_cl *l, const char *name, const char *text) {
  if (!text) return;
  am_cl_str(l, name);
  am_cl_raw(l, ":", 1);
  am_cl_text(l, text);
  am_cl_end(l);
}

void am_cl_prop_raw(am_cl *l, const char *name, const char *value) {
  if (!value) return;
  am_cl_str(l, name);
  am_cl_raw(l, ":", 1);
  am_cl_str(l, value);
  am_cl_end(l);
}

bool am_cl_is_web_url(const char *s) {
  size_t skip;
  if (!strncasecmp(s, "https://", 8)) skip = 8;
  else if (!strncasecmp(s, "http://", 7)) skip = 7;
  else return false;
  if (!s[skip] || s[skip] == '/') return false; /* no host */
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= ' ' || c >= 0x7f || strchr("\"'\\<>`", c)) return false;
  }
  return true;
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

bool am_cl_is_token(const char *s, size_t max) {
  if (!s || !*s || strlen(s) > max) return false;
  for (; *s; s++)
    if (!is_alnum(*s) && *s != '-' && *s != '_') return false;
  return true;
}

bool am_cl_is_lang_tag(const char *s) {
  size_t n = 0;
  while (is_alpha(s[n])) n++;
  if (n < 2 || n > 3) return false;
  for (s += n; *s == '-'; s += n) {
    s++;
    for (n = 0; is_alnum(s[n]); n++) {}
    if (n < 1 || n > 8) return false;
  }
  return *s == '\0';
}

void am_cl_utc(int64_t t, char out[static 17]) {
  char iso[21]; /* 2026-12-10T18:30:00Z */
  am_time_format(t, iso);
  size_t k = 0;
  for (const char *p = iso; *p; p++)
    if (*p != '-' && *p != ':') out[k++] = *p;
  out[k] = '\0';
}
