/* vCard 4.0 export of member records (RFC 6350). Text values escape
 * backslash, comma, semicolon and line breaks (section 3.4); content lines
 * are folded after 75 octets without splitting a UTF-8 sequence (3.2). */
#include "proto/member_json.h"

#include <string.h>

typedef struct line {
  am_buf *out;
  size_t col; /* octets on the current physical line */
  int rc;
} line;

/* Octets in the UTF-8 sequence that lead byte c starts (0: not a lead). */
static size_t seq_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) return 2;
  if ((c & 0xf0) == 0xe0) return 3;
  if ((c & 0xf8) == 0xf0) return 4;
  return 0;
}

static void put(line *l, const char *p, size_t n) {
  for (size_t i = 0; i < n && !l->rc; i++) {
    unsigned char c = (unsigned char)p[i];
    /* Fold before a character that would not fit whole on this line, so a
     * line never exceeds 75 octets nor splits a UTF-8 sequence. */
    size_t k = seq_len(c);
    if (k && l->col + k > 75) {
      l->rc = am_buf_append(l->out, "\r\n ", 3);
      l->col = 1;
    }
    if (!l->rc) l->rc = am_buf_append(l->out, p + i, 1);
    l->col++;
  }
}

static void put_escaped(line *l, const char *s) {
  for (; *s && !l->rc; s++) {
    switch (*s) {
    case '\\': put(l, "\\\\", 2); break;
    case ',': put(l, "\\,", 2); break;
    case ';': put(l, "\\;", 2); break;
    case '\n': put(l, "\\n", 2); break;
    default: put(l, s, 1); break;
    }
  }
}

static void end_line(line *l) {
  if (!l->rc) l->rc = am_buf_append(l->out, "\r\n", 2);
  l->col = 0;
}

/* NAME:value (value escaped); nothing when value is NULL. */
static void prop(line *l, const char *name, const char *value) {
  if (!value) return;
  put(l, name, strlen(name));
  put(l, ":", 1);
  put_escaped(l, value);
  end_line(l);
}

int am_member_to_vcard(const am_member *m, const char *uid_prefix, am_buf *out) {
  line l = {out, 0, 0};
  am_buf fn = {0};
  char tmp[64];
  prop(&l, "BEGIN", "VCARD");
  prop(&l, "VERSION", "4.0");
  snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)m->id);
  put(&l, "UID:", 4);
  put(&l, uid_prefix, strlen(uid_prefix));
  put(&l, tmp, strlen(tmp));
  end_line(&l);
  if (am_member_display_name(m, &fn)) l.rc = AM_ENOMEM;
  prop(&l, "FN", fn.data ? fn.data : "");
  /* N: family;given;additional;prefix;suffix */
  put(&l, "N:", 2);
  put_escaped(&l, m->family_name ? m->family_name : (m->usual_name ? m->usual_name : ""));
  put(&l, ";", 1);
  put_escaped(&l, m->given_name ? m->given_name : "");
  put(&l, ";;;", 3);
  end_line(&l);
  if (m->usual_name && m->family_name) prop(&l, "NICKNAME", m->usual_name);
  for (uint32_t i = 0; i < m->emails.n; i++) prop(&l, "EMAIL", m->emails.v[i]);
  prop(&l, "TEL;VALUE=text", m->phone);
  prop(&l, "ORG", m->employer);
  prop(&l, "TITLE", m->job_title);
  if (m->city || m->country) {
    put(&l, "ADR:;;;", 7);
    put_escaped(&l, m->city ? m->city : "");
    put(&l, ";;;", 3);
    put_escaped(&l, m->country ? m->country : "");
    end_line(&l);
  }
  prop(&l, "URL;TYPE=linkedin", m->linkedin);
  prop(&l, "URL", m->website);
  prop(&l, "NOTE", m->bio);
  if (m->skills.n) {
    put(&l, "CATEGORIES:", 11);
    for (uint32_t i = 0; i < m->skills.n; i++) {
      if (i) put(&l, ",", 1);
      put_escaped(&l, m->skills.v[i]);
    }
    end_line(&l);
  }
  if (m->promo) {
    snprintf(tmp, sizeof tmp, "%u", (unsigned)m->promo);
    prop(&l, "X-AMICALE-PROMO", tmp);
  }
  prop(&l, "X-AMICALE-PROGRAMME", m->programme);
  prop(&l, "X-AMICALE-DIPLOMA", m->diploma);
  if (m->updated) {
    char ts[21], rev[17];
    am_time_format(m->updated, ts);
    /* 2024-05-01T10:00:00Z -> 20240501T100000Z */
    size_t k = 0;
    for (const char *p = ts; *p && k < sizeof rev - 1; p++)
      if (*p != '-' && *p != ':') rev[k++] = *p;
    rev[k] = '\0';
    prop(&l, "REV", rev);
  }
  prop(&l, "END", "VCARD");
  am_buf_free(&fn);
  return l.rc;
}
