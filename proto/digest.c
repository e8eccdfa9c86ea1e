/* The newsletter digest in text, Markdown and HTML (see digest.h). One
 * walk over the JSON writes all three: the content (what is said about an
 * event, a job, a member) is written once, through a small emitter whose
 * few calls (heading, item, detail, link, text) each format renders its
 * own way, so the three outputs cannot drift apart. */
#include "proto/digest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proto/announce.h" /* am_time_parse */
#include "proto/contentline.h" /* am_cl_is_web_url */
#include "proto/member_json.h" /* am_time_format */

typedef struct doc {
  am_buf *out;
  int fmt;
  int rc;
} doc;

/* ---- the emitter --------------------------------------------------------- */

static void raw(doc *d, const char *s) {
  if (!d->rc) d->rc = am_buf_append(d->out, s, strlen(s));
}

/* Text from the data, escaped for the format. Line breaks become spaces
 * (every text here sits on one line); control characters become '?'. */
static void text(doc *d, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p && !d->rc; p++) {
    unsigned char c = *p;
    char tmp[8] = {(char)c, 0};
    const char *w = tmp;
    if (c == '\n' || c == '\r' || c == '\t') {
      w = " ";
    } else if (c < 0x20 || c == 0x7f) {
      w = "?";
    } else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* C1 control */
      w = "?";
      p++;
    } else if (d->fmt == AM_DIGEST_HTML) {
      switch (c) {
      case '&': w = "&amp;"; break;
      case '<': w = "&lt;"; break;
      case '>': w = "&gt;"; break;
      case '"': w = "&quot;"; break;
      case '\'': w = "&#39;"; break;
      default: break;
      }
    } else if (d->fmt == AM_DIGEST_MARKDOWN && strchr("\\`*_{}[]()<>#+-.!|~&", c)) {
      /* CommonMark lets any ASCII punctuation be escaped; these are the
       * ones that mean something somewhere (& starts an entity). */
      tmp[0] = '\\';
      tmp[1] = (char)c;
    }
    raw(d, w);
  }
}

/* A URL as a link when it is an http(s) one, else as text. */
static void link(doc *d, const char *url) {
  if (!am_cl_is_web_url(url) || d->fmt == AM_DIGEST_TEXT) {
    text(d, url);
  } else if (d->fmt == AM_DIGEST_MARKDOWN) {
    /* An autolink: the checked URL has no space, < or >. */
    raw(d, "<");
    raw(d, url);
    raw(d, ">");
  } else {
    raw(d, "<a href=\"");
    text(d, url); /* attribute value: & and " escaped */
    raw(d, "\">");
    text(d, url);
    raw(d, "</a>");
  }
}

static void title(doc *d, const char *t) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: {
    raw(d, t);
    raw(d, "\n");
    for (size_t i = strlen(t); i; i--) raw(d, "=");
    raw(d, "\n");
    break;
  }
  case AM_DIGEST_MARKDOWN: /* our own words and dates: nothing to escape */
    raw(d, "# ");
    raw(d, t);
    raw(d, "\n");
    break;
  default:
    raw(d, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>");
    text(d, t);
    raw(d, "</title>\n<style>\n"
           "body{font-family:sans-serif;max-width:42em;margin:0 auto;padding:1em;"
           "line-height:1.4;color:#222}\n"
           "h2{border-bottom:1px solid #ccc;padding-bottom:.2em}\n"
           "li{margin:.3em 0}\nul ul{color:#444;margin:.2em 0 .8em}\n"
           "</style>\n</head>\n<body>\n<h1>");
    text(d, t);
    raw(d, "</h1>\n");
    break;
  }
}

/* "Events (2)" and the like; level 2 a section, 3 a part of one. */
static void heading(doc *d, int level, const char *t, long long count) {
  char n[32] = "";
  if (count >= 0) snprintf(n, sizeof n, " (%lld)", count);
  switch (d->fmt) {
  case AM_DIGEST_TEXT:
    raw(d, "\n");
    raw(d, t);
    raw(d, n);
    raw(d, "\n");
    for (size_t i = strlen(t) + strlen(n); level == 2 && i; i--) raw(d, "-");
    if (level == 2) raw(d, "\n");
    break;
  case AM_DIGEST_MARKDOWN:
    raw(d, level == 2 ? "\n## " : "\n### ");
    text(d, t);
    raw(d, n);
    raw(d, "\n\n");
    break;
  default:
    raw(d, level == 2 ? "<h2>" : "<h3>");
    text(d, t);
    raw(d, n);
    raw(d, level == 2 ? "</h2>\n" : "</h3>\n");
    break;
  }
}

/* A sentence of ours ("No new events."): nothing in it to escape. */
static void para(doc *d, const char *t) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: raw(d, "\n"); raw(d, t); raw(d, "\n"); break;
  case AM_DIGEST_MARKDOWN: raw(d, "\n"); raw(d, t); raw(d, "\n"); break; /* not in a list */
  default: raw(d, "<p>"); raw(d, t); raw(d, "</p>\n"); break;
  }
}

static void list_begin(doc *d) {
  if (d->fmt == AM_DIGEST_HTML) raw(d, "<ul>\n");
  else if (d->fmt == AM_DIGEST_TEXT) raw(d, "\n");
}

static void list_end(doc *d) {
  if (d->fmt == AM_DIGEST_HTML) raw(d, "</ul>\n");
}

/* An item: its name in bold, then its details (detail_begin..end). */
static void item_begin(doc *d) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: raw(d, "* "); break;
  case AM_DIGEST_MARKDOWN: raw(d, "- **"); break;
  default: raw(d, "<li><strong>"); break;
  }
}

/* After the item's name: its details follow (a sub-list), or the rest of
 * its one line does. */
static void item_name_end(doc *d, bool details) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: raw(d, details ? "\n" : ""); break;
  case AM_DIGEST_MARKDOWN: raw(d, details ? "**\n" : "**"); break;
  default: raw(d, details ? "</strong>\n<ul>\n" : "</strong>"); break;
  }
}

static void item_end(doc *d, bool details) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: raw(d, "\n"); break; /* a blank line, or the end of the one line */
  case AM_DIGEST_MARKDOWN: raw(d, details ? "" : "\n"); break;
  default: raw(d, details ? "</ul></li>\n" : "</li>\n"); break;
  }
}

/* "Label: " of one detail line of the current item; the caller writes the
 * value and detail_end. */
static void detail_begin(doc *d, const char *label) {
  switch (d->fmt) {
  case AM_DIGEST_TEXT: raw(d, "    "); break;
  case AM_DIGEST_MARKDOWN: raw(d, "  - "); break;
  default: raw(d, "<li>"); break;
  }
  if (label) {
    raw(d, label);
    raw(d, ": ");
  }
}

static void detail_end(doc *d) { raw(d, d->fmt == AM_DIGEST_HTML ? "</li>\n" : "\n"); }

static void detail(doc *d, const char *label, const char *value) {
  if (!value) return;
  detail_begin(d, label);
  text(d, value);
  detail_end(d);
}

static void detail_link(doc *d, const char *label, const char *value) {
  if (!value) return;
  detail_begin(d, label);
  link(d, value);
  detail_end(d);
}

/* ---- reading the JSON ------------------------------------------------------ */

static const char *stext(const json_t *o, const char *name) {
  const char *s = json_string_value(json_object_get(o, name));
  return s && *s ? s : NULL;
}

/* A time (ISO 8601 or Unix seconds) as "2026-12-10T18:30:00Z"; false when
 * there is none. */
static bool iso_time(const json_t *x, char out[static 21]) {
  uint64_t t;
  if (json_is_integer(x) && json_integer_value(x) >= 0) t = (uint64_t)json_integer_value(x);
  else if (!json_is_string(x) || am_time_parse(json_string_value(x), &t)) return false;
  am_time_format((int64_t)t, out);
  return true;
}

static const char *const contracts[][2] = {
    {"cdi", "Permanent (CDI)"}, {"cdd", "Fixed-term (CDD)"},
    {"internship", "Internship"}, {"work_study", "Work-study"},
    {"freelance", "Freelance"}, {"vie", "International volunteer (VIE)"},
    {"volunteer", "Volunteer"}, {"other", "Other contract"},
};
static const char *const remote[][2] = {
    {"on_site", "on site"}, {"hybrid", "hybrid"}, {"remote", "remote"},
};

/* Our label for an enum value, written as it is; a value we do not know
 * (a newer peer's) is data, escaped. */
static void enum_label(doc *d, const char *const (*table)[2], size_t n, const char *v) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(table[i][0], v)) {
      raw(d, table[i][1]);
      return;
    }
  text(d, v);
}

/* A date: YYYY-MM-DD as it is (nothing to escape), anything else as text. */
static void date_detail(doc *d, const char *label, const char *v) {
  if (!v) return;
  bool iso = strlen(v) == 10 && v[4] == '-' && v[7] == '-';
  for (size_t i = 0; iso && i < 10; i++) iso = i == 4 || i == 7 || (v[i] >= '0' && v[i] <= '9');
  detail_begin(d, label);
  if (iso) raw(d, v);
  else text(d, v);
  detail_end(d);
}

/* Writes "a, b, c" of the named texts of o that are set; true if any. */
static bool joined(doc *d, const json_t *o, const char *const *names, size_t n) {
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const char *s = stext(o, names[i]);
    if (!s) continue;
    if (any) raw(d, ", ");
    text(d, s);
    any = true;
  }
  return any;
}

static bool has_any(const json_t *o, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (stext(o, names[i])) return true;
  return false;
}

static const char *inst_name(const json_t *item) {
  return stext(json_object_get(item, "institution"), "name");
}

/* ---- sections ---------------------------------------------------------------- */

static void event_when(doc *d, const json_t *b) {
  char s[21], e[21];
  if (!iso_time(json_object_get(b, "starts_at"), s)) return;
  detail_begin(d, "When");
  /* 2026-12-10T18:30:00Z: date [0,10), time [11,16) */
  char buf[64];
  snprintf(buf, sizeof buf, "%.10s %.5s", s, s + 11);
  raw(d, buf);
  if (iso_time(json_object_get(b, "ends_at"), e)) {
    if (!memcmp(s, e, 10)) snprintf(buf, sizeof buf, "–%.5s", e + 11);
    else snprintf(buf, sizeof buf, " UTC to %.10s %.5s", e, e + 11);
    raw(d, buf);
  }
  raw(d, " UTC");
  detail_end(d);
}

static void events(doc *d, const json_t *list) {
  static const char *const place[] = {"venue", "city", "country"};
  heading(d, 2, "Events", (long long)json_array_size(list));
  if (!json_array_size(list)) {
    para(d, "No new events.");
    return;
  }
  list_begin(d);
  size_t i;
  const json_t *ev;
  json_array_foreach(list, i, ev) {
    const json_t *b = json_object_get(ev, "body");
    const char *t = stext(b, "title"), *online = stext(b, "online_url");
    const char *status = stext(b, "status");
    item_begin(d);
    text(d, t ? t : "(untitled)");
    item_name_end(d, true);
    event_when(d, b);
    if (has_any(b, place, 3) || online) {
      detail_begin(d, "Where");
      if (joined(d, b, place, 3)) {
        if (online) raw(d, " and online");
      } else {
        raw(d, "online");
      }
      detail_end(d);
    }
    detail(d, "Institution", inst_name(ev));
    if (status && strcmp(status, "scheduled"))
      detail(d, "Status", !strcmp(status, "cancelled") ? "CANCELLED" : status);
    detail_link(d, "Registration", stext(b, "registration"));
    detail_link(d, "Online", online);
    item_end(d, true);
  }
  list_end(d);
}

static void jobs(doc *d, const json_t *list) {
  static const char *const place[] = {"city", "country"};
  heading(d, 2, "Job offers", (long long)json_array_size(list));
  if (!json_array_size(list)) {
    para(d, "No new job offers.");
    return;
  }
  list_begin(d);
  size_t i;
  const json_t *job;
  json_array_foreach(list, i, job) {
    const json_t *b = json_object_get(job, "body");
    const char *t = stext(b, "title"), *employer = stext(b, "employer");
    const char *contract = stext(b, "contract"), *rem = stext(b, "remote");
    item_begin(d);
    text(d, t ? t : "(untitled)");
    if (employer) {
      raw(d, " — ");
      text(d, employer);
    }
    item_name_end(d, true);
    bool alumni = json_is_true(json_object_get(b, "alumni_only"));
    if (contract || rem || alumni) {
      detail_begin(d, "Contract");
      bool any = false;
      if (contract) {
        enum_label(d, contracts, sizeof contracts / sizeof *contracts, contract);
        any = true;
      }
      if (rem) {
        if (any) raw(d, ", ");
        enum_label(d, remote, sizeof remote / sizeof *remote, rem);
        any = true;
      }
      if (alumni) raw(d, any ? ", alumni only" : "alumni only");
      detail_end(d);
    }
    if (has_any(b, place, 2)) {
      detail_begin(d, "Where");
      joined(d, b, place, 2);
      detail_end(d);
    }
    detail(d, "Institution", inst_name(job));
    detail_link(d, "Apply", stext(b, "apply"));
    date_detail(d, "Valid through", stext(b, "valid_through"));
    item_end(d, true);
  }
  list_end(d);
}

/* The display name of proto/member.c: "Given Family (Usual)". */
static void person_name(doc *d, const json_t *f) {
  const char *g = stext(f, "given_name"), *fam = stext(f, "family_name");
  const char *u = stext(f, "usual_name");
  if (!g && !fam && !u) {
    text(d, "(no name)");
    return;
  }
  if (g) text(d, g);
  if (fam) {
    if (g) raw(d, " ");
    text(d, fam);
  }
  if (u) {
    if (g || fam) raw(d, " (");
    text(d, u);
    if (g || fam) raw(d, ")");
  }
}

static void person(doc *d, const json_t *p) {
  const json_t *f = json_object_get(p, "fields");
  const json_t *promo = json_object_get(f, "promo");
  const char *job = stext(f, "job_title"), *employer = stext(f, "employer");
  item_begin(d);
  person_name(d, f);
  item_name_end(d, false);
  /* One line: "Name — class of 2012, Analyst at Example SA". */
  bool any = false;
  if (json_is_integer(promo)) {
    char s[48];
    snprintf(s, sizeof s, " — class of %lld", (long long)json_integer_value(promo));
    raw(d, s);
    any = true;
  }
  if (job || employer) {
    raw(d, any ? ", " : " — ");
    if (job) text(d, job);
    if (job && employer) raw(d, " at ");
    if (employer) text(d, employer);
  }
  item_end(d, false);
}

/* An institution's count of new members: at least the people listed, at
 * most a billion (a peer's absurd number must not overflow the total). */
static long long new_count(const json_t *in) {
  const json_t *n = json_object_get(in, "new_members");
  long long c = json_is_integer(n) ? json_integer_value(n) : 0;
  long long listed = (long long)json_array_size(json_object_get(in, "people"));
  if (c < listed) c = listed;
  return c > 1000000000 ? 1000000000 : c;
}

static void members(doc *d, const json_t *list) {
  long long total = 0;
  size_t i;
  const json_t *in;
  json_array_foreach(list, i, in) total += new_count(in);
  heading(d, 2, "New members", total);
  bool shown = false;
  json_array_foreach(list, i, in) {
    const json_t *people = json_object_get(in, "people");
    long long count = new_count(in);
    long long listed = (long long)json_array_size(people);
    if (!count) continue;
    shown = true;
    const char *name = inst_name(in);
    heading(d, 3, name ? name : "(unnamed institution)", count);
    if (!listed) continue;
    list_begin(d);
    size_t k;
    const json_t *p;
    json_array_foreach(people, k, p) person(d, p);
    list_end(d);
    if (count > listed) {
      char s[64];
      snprintf(s, sizeof s, "And %lld more.", count - listed);
      para(d, s);
    }
  }
  if (!shown) para(d, "No new members.");
}

/* ---- the document -------------------------------------------------------------- */

int am_digest_format_parse(const char *name) {
  if (!name) return -1;
  if (!strcmp(name, "text")) return AM_DIGEST_TEXT;
  if (!strcmp(name, "markdown") || !strcmp(name, "md")) return AM_DIGEST_MARKDOWN;
  if (!strcmp(name, "html")) return AM_DIGEST_HTML;
  return -1;
}

int am_digest_render(const json_t *digest, int format, am_buf *out, am_error *err) {
  if (format != AM_DIGEST_TEXT && format != AM_DIGEST_MARKDOWN && format != AM_DIGEST_HTML)
    return am_fail(err, AM_EUSAGE, "unknown digest format %d", format);
  if (!json_is_object(digest)) return am_fail(err, AM_EINVAL, "a digest must be a JSON object");
  static const char *const lists[] = {"events", "jobs", "institutions"};
  for (size_t i = 0; i < 3; i++) {
    const json_t *x = json_object_get(digest, lists[i]);
    if (x && !json_is_array(x) && !json_is_null(x))
      return am_fail(err, AM_EINVAL, "the digest's \"%s\" must be an array", lists[i]);
  }

  char since[21], until[21], t[96];
  bool has_since = iso_time(json_object_get(digest, "since"), since);
  bool has_until = iso_time(json_object_get(digest, "until"), until);
  if (has_since && has_until) snprintf(t, sizeof t, "Amicale digest: %.10s to %.10s", since, until);
  else if (has_since) snprintf(t, sizeof t, "Amicale digest: since %.10s", since);
  else if (has_until) snprintf(t, sizeof t, "Amicale digest: until %.10s", until);
  else snprintf(t, sizeof t, "Amicale digest");

  size_t start = out->len;
  doc d = {out, format, 0};
  title(&d, t);
  events(&d, json_object_get(digest, "events"));
  jobs(&d, json_object_get(digest, "jobs"));
  members(&d, json_object_get(digest, "institutions"));
  if (format == AM_DIGEST_HTML) raw(&d, "</body>\n</html>\n");
  if (!d.rc) return 0;
  out->len = start;
  if (out->data) out->data[start] = '\0';
  return am_fail(err, d.rc, "out of memory");
}
