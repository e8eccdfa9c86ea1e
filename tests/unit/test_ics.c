/* Unit tests for the iCalendar export (proto/ics.c) and the content-line
 * writer it shares with vCard (proto/contentline.c): events made as real
 * sealed announcements and turned into JSON by proto/ann_json.c, then
 * checked property by property (UID stable across versions, SEQUENCE,
 * UTC times, STATUS, LOCATION, URL, CATEGORIES), TEXT escaping, CRLF,
 * folding at 75 octets that never splits UTF-8 and unfolds to the exact
 * text, and the refusals.
 *
 * `test_ics --write DIR` writes the sample files that
 * tests/tools/selftest_checkers.py feeds to the Python checkers (which
 * parse them with python3-icalendar and python3-vobject): v1.ics, v2.ics
 * (a later export: one event edited, one added and cancelled) and
 * people.vcf. */
#include "proto/ics.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <sodium.h>

#include "crypto/sign.h"
#include "proto/ann_json.h"
#include "proto/contentline.h"
#include "proto/member_json.h"
#include "proto/text.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

/* 2026-01-01T00:00:00Z: creation time of the sample announcements. */
#define T0 FX_T0

static am_identity gid;
static char gkey[AM_PUBKEY_TEXT_LEN + 1];
static am_error err;

/* ---- helpers -------------------------------------------------------------- */

/* Seals a (so the JSON is what a node really serves), then its JSON with
 * "institution" added, as store/api.h describes an event. */
static json_t *event_json(am_ann *a, const char *inst) {
  am_buf env = {0};
  memset(&err, 0, sizeof err);
  if (am_ann_seal(a, &gid, &env, &err)) {
    fprintf(stderr, "  seal: %s\n", err.msg);
    am_buf_free(&env);
    return NULL;
  }
  am_buf_free(&env);
  json_t *j = am_ann_to_json(a);
  json_object_set_new(j, "institution",
                      json_pack("{s:s, s:s, s:s}", "key", gkey, "name", inst, "kind", "school"));
  return j;
}

/* One array of the JSON of the given announcements (NULL-terminated). */
static json_t *events_of(am_ann *a, ...) {
  json_t *arr = json_array();
  va_list ap;
  va_start(ap, a);
  for (am_ann *x = a; x; x = va_arg(ap, am_ann *)) json_array_append_new(arr, event_json(x, "École Exemple"));
  va_end(ap);
  return arr;
}

/* The logical lines of a content-line document (unfolded), "" ended. */
typedef struct lines {
  char **v;
  size_t n;
} lines;

static lines unfold(const char *doc) {
  lines l = {0};
  am_buf cur = {0};
  for (const char *p = doc; *p;) {
    const char *e = strstr(p, "\r\n");
    if (!e) e = p + strlen(p);
    if (*p == ' ' && l.n) { /* continuation */
      am_buf_append(&cur, p + 1, (size_t)(e - p - 1));
    } else {
      if (cur.data) {
        l.v = realloc(l.v, (l.n + 1) * sizeof *l.v);
        l.v[l.n++] = cur.data;
        cur = (am_buf){0};
      }
      am_buf_append(&cur, p, (size_t)(e - p));
      if (!cur.data) am_buf_append(&cur, "", 0);
    }
    p = *e ? e + 2 : e;
  }
  if (cur.data) {
    l.v = realloc(l.v, (l.n + 1) * sizeof *l.v);
    l.v[l.n++] = cur.data;
  }
  return l;
}

static void lines_free(lines *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  *l = (lines){0};
}

/* The value of the k-th (0-based) logical line starting with name
 * followed by ':' or ';' (name compared exactly); NULL when absent. With
 * full, the whole line. */
static const char *prop_k(const lines *l, const char *name, size_t k, bool full) {
  size_t n = strlen(name);
  for (size_t i = 0; i < l->n; i++) {
    const char *s = l->v[i];
    if (strncmp(s, name, n) || (s[n] != ':' && s[n] != ';')) continue;
    if (k--) continue;
    if (full) return s;
    const char *c = strchr(s, ':');
    return c ? c + 1 : NULL;
  }
  return NULL;
}
static const char *prop(const lines *l, const char *name) { return prop_k(l, name, 0, false); }

static size_t count_prop(const lines *l, const char *name) {
  size_t k = 0;
  while (prop_k(l, name, k, false)) k++;
  return k;
}

/* Every physical line: CRLF ended, no bare CR or LF, at most 75 octets,
 * valid UTF-8 on its own (no sequence split by a fold). */
static int check_physical(const char *doc, size_t len) {
  int bad = 0;
  size_t start = 0;
  if (len < 2 || memcmp(doc + len - 2, "\r\n", 2)) bad++;
  for (size_t i = 0; i < len; i++) {
    if (doc[i] == '\r' && (i + 1 >= len || doc[i + 1] != '\n')) bad++;
    if (doc[i] == '\n' && (i == 0 || doc[i - 1] != '\r')) bad++;
    if (doc[i] == '\n') {
      size_t n = i - 1 - start;
      if (n > 75) {
        fprintf(stderr, "  line of %zu octets: %.20s\n", n, doc + start);
        bad++;
      }
      if (!am_utf8_valid(doc + start, n)) {
        fprintf(stderr, "  line not valid UTF-8 on its own: %.20s\n", doc + start);
        bad++;
      }
      start = i + 1;
    }
  }
  return bad;
}

static char *render(const json_t *events, const char *node, int *rc) {
  am_buf out = {0};
  memset(&err, 0, sizeof err);
  *rc = am_ics_events(events, node, &out, &err);
  if (*rc) fprintf(stderr, "  am_ics_events: %s\n", err.msg);
  if (!out.data) am_buf_append(&out, "", 0);
  return out.data;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_full_event(void) {
  am_ann a;
  fx_sample_event(&a);
  json_t *evs = events_of(&a, NULL);
  REQUIRE(evs && json_array_size(evs) == 1);
  int rc;
  char *doc = render(evs, "École Exemple", &rc);
  CHECK_INT(rc, 0);
  CHECK_INT(check_physical(doc, strlen(doc)), 0);
  lines l = unfold(doc);
  REQUIRE(l.n > 10);
  CHECK_STR(l.v[0], "BEGIN:VCALENDAR");
  CHECK_STR(l.v[1], "VERSION:2.0");
  CHECK_STR(prop(&l, "PRODID"), "-//Amicale//amicale " AMICALE_VERSION "//EN");
  CHECK_STR(prop(&l, "CALSCALE"), "GREGORIAN");
  CHECK_STR(prop(&l, "METHOD"), "PUBLISH");
  CHECK_STR(prop(&l, "X-WR-CALNAME"), "Amicale – École Exemple");
  CHECK_STR(prop(&l, "NAME"), "Amicale – École Exemple");
  CHECK_STR(prop(&l, "X-WR-TIMEZONE"), "Europe/Paris");
  CHECK_STR(l.v[l.n - 1], "END:VCALENDAR");
  CHECK_INT(count_prop(&l, "BEGIN"), 2);
  CHECK_INT(count_prop(&l, "END"), 2);

  char uid[128];
  snprintf(uid, sizeof uid, "event-7-%s@amicale", gkey);
  CHECK_STR(prop(&l, "UID"), uid);
  CHECK_STR(prop(&l, "SEQUENCE"), "11");
  CHECK_STR(prop(&l, "DTSTAMP"), "20260101T000000Z");
  CHECK_STR(prop(&l, "LAST-MODIFIED"), "20260101T000000Z");
  CHECK_STR(prop(&l, "DTSTART"), "20260131T000000Z");
  CHECK_STR(prop(&l, "DTEND"), "20260131T040000Z");
  CHECK_STR(prop_k(&l, "SUMMARY", 0, true), "SUMMARY;LANGUAGE=fr:Gala des anciens");
  CHECK_STR(prop(&l, "DESCRIPTION"),
            "Dîner et soirée.\\nTenue de ville.\\n\\nOrganiser: Association des anciens\\n"
            "Institution: École Exemple\\nOnline: https://meet.example.org/gala\\n"
            "Registration: https://exemple.fr/gala");
  CHECK_STR(prop(&l, "LOCATION"), "Pavillon Dauphine\\, Paris\\, France");
  CHECK_STR(prop(&l, "URL"), "https://exemple.fr/gala");
  CHECK_STR(prop_k(&l, "CONFERENCE", 0, true),
            "CONFERENCE;VALUE=URI;LABEL=Online:https://meet.example.org/gala");
  CHECK_STR(prop(&l, "CATEGORIES"), "gala,réseau");
  CHECK_STR(prop(&l, "STATUS"), "TENTATIVE");
  CHECK_STR(prop(&l, "X-AMICALE-INSTITUTION"), "École Exemple");
  CHECK_STR(prop(&l, "X-AMICALE-ORGANISER"), "Association des anciens");
  CHECK_STR(prop(&l, "X-AMICALE-TIMEZONE"), "Europe/Paris");
  CHECK(!prop(&l, "ORGANIZER")); /* no cal-address to give */
  lines_free(&l);
  free(doc);
  json_decref(evs);
  am_ann_free(&a);
}

/* A later version of the same event (same origin and object) keeps its
 * UID and raises SEQUENCE; another object gets another UID. */
static void test_uid_stable_across_versions(void) {
  am_ann a, b, c;
  fx_sample_event(&a);
  fx_sample_event(&b);
  b.version = 15, b.created = T0 + 3600;
  fx_ann_text(&b, AM_EV_TITLE, "Gala des anciens (nouvelle salle)");
  fx_sample_event(&c);
  c.object = 8, c.version = 16;
  json_t *e1 = events_of(&a, NULL), *e2 = events_of(&b, &c, NULL);
  REQUIRE(e1 && e2);
  /* The announcement ids differ: the UID must not depend on them. */
  CHECK(strcmp(json_string_value(json_object_get(json_array_get(e1, 0), "id")),
               json_string_value(json_object_get(json_array_get(e2, 0), "id"))) != 0);
  int rc1, rc2;
  char *d1 = render(e1, NULL, &rc1), *d2 = render(e2, NULL, &rc2);
  CHECK_INT(rc1, 0);
  CHECK_INT(rc2, 0);
  lines l1 = unfold(d1), l2 = unfold(d2);
  REQUIRE(prop(&l1, "UID") && prop(&l2, "UID"));
  CHECK_STR(prop(&l1, "UID"), prop(&l2, "UID"));
  CHECK_STR(prop(&l2, "SEQUENCE"), "15");
  CHECK_STR(prop(&l2, "DTSTAMP"), "20260101T010000Z");
  CHECK_STR(prop_k(&l2, "SUMMARY", 0, true), "SUMMARY;LANGUAGE=fr:Gala des anciens (nouvelle salle)");
  CHECK(strcmp(prop_k(&l2, "UID", 0, false), prop_k(&l2, "UID", 1, false)) != 0);
  char uid8[128];
  snprintf(uid8, sizeof uid8, "event-8-%s@amicale", gkey);
  CHECK_STR(prop_k(&l2, "UID", 1, false), uid8);
  CHECK_STR(prop(&l1, "X-WR-CALNAME"), "Amicale");
  lines_free(&l1);
  lines_free(&l2);
  free(d1);
  free(d2);
  json_decref(e1);
  json_decref(e2);
  am_ann_free(&a);
  am_ann_free(&b);
  am_ann_free(&c);
}

static void test_status(void) {
  static const struct {
    uint64_t status;
    const char *want;
  } cases[] = {{AM_EV_SCHEDULED, "CONFIRMED"}, {AM_EV_CANCELLED, "CANCELLED"},
               {AM_EV_POSTPONED, "TENTATIVE"}};
  for (size_t i = 0; i < 3; i++) {
    am_ann a;
    fx_sample_event(&a);
    fx_ann_uint(&a, AM_EV_STATUS, cases[i].status);
    json_t *e = events_of(&a, NULL);
    int rc;
    char *d = render(e, NULL, &rc);
    CHECK_INT(rc, 0);
    lines l = unfold(d);
    CHECK_STR(prop(&l, "STATUS"), cases[i].want);
    CHECK_INT(count_prop(&l, "STATUS"), 1);
    lines_free(&l);
    free(d);
    json_decref(e);
    am_ann_free(&a);
  }
}

/* TEXT values escape backslash, semicolon, comma and line breaks (RFC
 * 5545 3.3.11); colons are not escaped. */
static void test_escaping(void) {
  am_ann a;
  fx_sample_event(&a);
  fx_ann_text(&a, AM_EV_TITLE, "Atelier C; Rust, \\o/ : 2e édition");
  fx_ann_text(&a, AM_EV_DESCRIPTION, "Ligne 1\nLigne 2; a,b\n\\fin");
  fx_ann_list(&a, AM_EV_TAGS, "a,b", "c;d", NULL);
  fx_ann_unset(&a, AM_EV_LANGUAGE);
  json_t *e = events_of(&a, NULL);
  int rc;
  char *d = render(e, NULL, &rc);
  CHECK_INT(rc, 0);
  lines l = unfold(d);
  CHECK_STR(prop_k(&l, "SUMMARY", 0, true), "SUMMARY:Atelier C\\; Rust\\, \\\\o/ : 2e édition");
  const char *desc = prop(&l, "DESCRIPTION");
  REQUIRE(desc);
  const char *want = "Ligne 1\\nLigne 2\\; a\\,b\\n\\\\fin\\n\\nOrganiser: ";
  CHECK(!strncmp(desc, want, strlen(want)));
  CHECK_STR(prop(&l, "CATEGORIES"), "a\\,b,c\\;d");
  CHECK_INT(check_physical(d, strlen(d)), 0);
  lines_free(&l);
  free(d);
  json_decref(e);
  am_ann_free(&a);

  /* The writer itself: CR, CRLF and LF are one \n; other controls go. */
  am_buf out = {0};
  am_cl cl;
  am_cl_init(&cl, &out);
  am_cl_prop(&cl, "X", "a\r\nb\rc\nd\x01" "e\tf\x7f");
  CHECK_INT(cl.rc, 0);
  CHECK_STR(out.data, "X:a\\nb\\nc\\nde\tf\r\n");
  am_buf_free(&out);
}

/* Long texts of 1-, 2-, 3- and 4-octet characters, at every offset: no
 * physical line over 75 octets, none split inside a character, and
 * unfolding gives back the text exactly. */
static void test_folding(void) {
  static const char *const chars[] = {"a", "é", "€", "😀"};
  for (size_t c = 0; c < 4; c++) {
    for (size_t shift = 0; shift < 5; shift++) {
      am_buf t = {0};
      for (size_t i = 0; i < shift; i++) am_buf_append(&t, "x", 1);
      for (size_t i = 0; i < 150; i++) am_buf_append(&t, chars[c], strlen(chars[c]));
      am_ann a;
      fx_sample_event(&a);
      fx_ann_text(&a, AM_EV_DESCRIPTION, t.data);
      fx_ann_unset(&a, AM_EV_ORGANISER);
      fx_ann_unset(&a, AM_EV_ONLINE);
      fx_ann_unset(&a, AM_EV_REGISTRATION);
      json_t *e = events_of(&a, NULL);
      int rc;
      char *d = render(e, NULL, &rc);
      CHECK_INT(rc, 0);
      CHECK_INT(check_physical(d, strlen(d)), 0);
      lines l = unfold(d);
      am_buf want = {0};
      am_buf_append(&want, t.data, t.len);
      am_buf_append(&want, "\\n\\nInstitution: École Exemple", strlen("\\n\\nInstitution: École Exemple"));
      CHECK_STR(prop(&l, "DESCRIPTION"), want.data);
      /* Folded lines are used to the full: 75 octets, or the character
       * that follows would not have fit. */
      const char *p = strstr(d, "DESCRIPTION:");
      REQUIRE(p);
      const char *eol = strstr(p, "\r\n");
      size_t first = (size_t)(eol - p), k = strlen(chars[c]);
      CHECK(first <= 75 && first + k > 75);
      lines_free(&l);
      free(d);
      json_decref(e);
      am_ann_free(&a);
      am_buf_free(&t);
      am_buf_free(&want);
    }
  }
}

static void test_optional_parts(void) {
  /* No end: no DTEND (the event ends when it starts, RFC 5545 3.6.1).
   * Online only: LOCATION is the link. Registration by e-mail: no URL,
   * only the description says it. No tags, no organiser. */
  am_ann a;
  fx_sample_event(&a);
  fx_ann_unset(&a, AM_EV_ENDS_AT);
  fx_ann_unset(&a, AM_EV_VENUE);
  fx_ann_unset(&a, AM_EV_CITY);
  fx_ann_unset(&a, AM_EV_COUNTRY);
  fx_ann_unset(&a, AM_EV_TAGS);
  fx_ann_unset(&a, AM_EV_ORGANISER);
  fx_ann_unset(&a, AM_EV_DESCRIPTION);
  fx_ann_text(&a, AM_EV_REGISTRATION, "inscriptions@exemple.fr");
  json_t *e = events_of(&a, NULL);
  int rc;
  char *d = render(e, NULL, &rc);
  CHECK_INT(rc, 0);
  lines l = unfold(d);
  CHECK(!prop(&l, "DTEND"));
  CHECK(!prop(&l, "DURATION"));
  CHECK_STR(prop(&l, "LOCATION"), "https://meet.example.org/gala");
  CHECK(!prop(&l, "URL"));
  CHECK(!prop(&l, "CATEGORIES"));
  CHECK(!prop(&l, "X-AMICALE-ORGANISER"));
  CHECK_STR(prop(&l, "DESCRIPTION"),
            "Institution: École Exemple\\nOnline: https://meet.example.org/gala\\n"
            "Registration: inscriptions@exemple.fr");
  lines_free(&l);
  free(d);
  json_decref(e);
  am_ann_free(&a);

  /* A registration that is not a web URL is never a URL property. */
  const char *not_urls[] = {"javascript:alert(1)", "https://", "https:///x",
                            "https://a b", "ftp://x.example", "https://x.example/\"q"};
  for (size_t i = 0; i < sizeof not_urls / sizeof *not_urls; i++)
    CHECK(!am_cl_is_web_url(not_urls[i]));
  CHECK(am_cl_is_web_url("HTTPS://x.example/a?b=1&c=2#d"));
}

/* JSON written by hand: times with an offset or as Unix seconds, the
 * {"results": [...]} answer, an empty list, calendars in several zones. */
static void test_hand_json(void) {
  json_t *j = json_pack(
      "{s:i, s:i, s:[{s:s, s:s, s:i, s:i, s:s, s:{s:s, s:s, s:s, s:s}},"
      "{s:s, s:i, s:i, s:i, s:{s:s, s:i, s:s}}]}",
      "total", 2, "offset", 0, "results",
      "kind", "event", "origin", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "object", 1,
      "version", 2, "created", "2026-02-01T10:00:00+01:00", "body", "title", "Rencontre",
      "starts_at", "2026-03-01T19:30:00+01:00", "timezone", "Europe/Paris", "status", "scheduled",
      "origin", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "object", 5, "version", 9,
      "created", 1767225600, "body", "title", "Meetup", "starts_at", 1767229200, "timezone",
      "America/New_York");
  REQUIRE(j);
  int rc;
  char *d = render(j, NULL, &rc);
  CHECK_INT(rc, 0);
  lines l = unfold(d);
  CHECK_STR(prop_k(&l, "DTSTART", 0, false), "20260301T183000Z");
  CHECK_STR(prop_k(&l, "DTSTAMP", 0, false), "20260201T090000Z");
  CHECK_STR(prop_k(&l, "DTSTART", 1, false), "20260101T010000Z");
  CHECK_STR(prop_k(&l, "UID", 1, false), "event-5-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB@amicale");
  CHECK(!prop(&l, "X-WR-TIMEZONE")); /* two zones: none for the calendar */
  CHECK_STR(prop(&l, "STATUS"), "CONFIRMED");
  CHECK_INT(count_prop(&l, "STATUS"), 1); /* the second has none */
  CHECK(!prop(&l, "DESCRIPTION"));      /* nothing to say */
  lines_free(&l);
  free(d);
  json_decref(j);

  json_t *empty = json_array();
  d = render(empty, "N", &rc);
  CHECK_INT(rc, 0);
  l = unfold(d);
  CHECK_INT(count_prop(&l, "BEGIN"), 1);
  CHECK_STR(l.v[l.n - 1], "END:VCALENDAR");
  lines_free(&l);
  free(d);
  json_decref(empty);
}

static void test_refusals(void) {
  am_ann a;
  fx_sample_event(&a);
  json_t *good = event_json(&a, "École");
  am_ann_free(&a);
  REQUIRE(good);
  static const struct {
    const char *path, *member; /* delete member (of body when path) */
    const char *msg;
  } cases[] = {
      {NULL, "origin", "event 2 has no \"origin\""},
      {NULL, "object", "event 2 has no \"object\""},
      {NULL, "version", "event 2 has no \"version\""},
      {NULL, "created", "event 2 has no \"created\""},
      {"body", "title", "event 2 has no \"title\""},
      {"body", "starts_at", "event 2 has no \"starts_at\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_t *bad = json_deep_copy(good);
    json_object_del(cases[i].path ? json_object_get(bad, cases[i].path) : bad, cases[i].member);
    json_t *arr = json_pack("[O, o]", good, bad);
    am_buf out = {0};
    am_buf_append(&out, "kept", 4);
    memset(&err, 0, sizeof err);
    CHECK_INT(am_ics_events(arr, NULL, &out, &err), AM_EINVAL);
    CHECK(!strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)));
    if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)))
      fprintf(stderr, "  message: %s\n", err.msg);
    CHECK_INT(out.len, 4); /* nothing written */
    am_buf_free(&out);
    json_decref(arr);
  }
  /* Not an event; a key that could not go into a UID; not a list. */
  json_t *job = json_deep_copy(good);
  json_object_set_new(job, "kind", json_string("job"));
  json_t *key = json_deep_copy(good);
  json_object_set_new(key, "origin", json_string("a b@c"));
  json_t *arr = json_pack("[o]", job);
  am_buf out = {0};
  CHECK_INT(am_ics_events(arr, NULL, &out, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "not an event") != NULL);
  json_decref(arr);
  arr = json_pack("[o]", key);
  CHECK_INT(am_ics_events(arr, NULL, &out, &err), AM_EINVAL);
  json_decref(arr);
  CHECK_INT(am_ics_events(good, NULL, &out, &err), AM_EINVAL); /* an object without results */
  CHECK_INT(out.len, 0);
  am_buf_free(&out);
  json_decref(good);
}

/* ---- sample files for the Python checkers ------------------------------------- */

static int write_file(const char *dir, const char *name, const char *data) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t n = strlen(data);
  int rc = fwrite(data, 1, n, f) == n ? 0 : -1;
  if (fclose(f)) rc = -1;
  return rc;
}

static int write_samples(const char *dir) {
  if (mkdir(dir, 0700) && errno != EEXIST) return 1;
  am_ann a, a2, b, c;
  fx_sample_event(&a); /* object 7, version 11, postponed */
  fx_sample_event(&b);
  b.object = 9, b.version = 12;
  fx_ann_text(&b, AM_EV_TITLE, "Afterwork; \"réseau\", Lyon");
  fx_ann_uint(&b, AM_EV_STATUS, AM_EV_SCHEDULED);
  fx_ann_unset(&b, AM_EV_ENDS_AT);
  fx_ann_text(&b, AM_EV_CITY, "Lyon");
  fx_ann_unset(&b, AM_EV_VENUE);
  fx_ann_list(&b, AM_EV_TAGS, "networking", NULL);
  fx_sample_event(&a2); /* a later version of a */
  a2.version = 20, a2.created = T0 + 86400;
  fx_ann_text(&a2, AM_EV_TITLE, "Gala des anciens — nouvelle date");
  fx_ann_uint(&a2, AM_EV_STATUS, AM_EV_SCHEDULED);
  fx_sample_event(&c);
  c.object = 10, c.version = 21;
  fx_ann_text(&c, AM_EV_TITLE, "Conférence annulée");
  fx_ann_uint(&c, AM_EV_STATUS, AM_EV_CANCELLED);
  json_t *v1 = events_of(&a, &b, NULL), *v2 = events_of(&a2, &b, &c, NULL);
  int rc = 1;
  am_buf o1 = {0}, o2 = {0}, vc = {0};
  if (!v1 || !v2 || am_ics_events(v1, "École Exemple", &o1, &err) ||
      am_ics_events(v2, "École Exemple", &o2, &err))
    goto done;
  json_t *people = json_pack(
      "[{s:{s:s, s:s, s:s}, s:b, s:i, s:{s:s, s:s, s:[s, s], s:i, s:s, s:s, s:s, s:s, s:[s, s], "
      "s:[s, s], s:s, s:s}}, {s:{s:s, s:s}, s:b, s:i, s:{s:s}}]",
      "institution", "key", gkey, "name", "École Exemple", "kind", "school", "local", 1, "id",
      42, "fields", "given_name", "Éléonore", "family_name", "Dubois", "emails",
      "eleonore@example.fr", "e.dubois@example.org", "promo", 2012, "employer",
      "Société Générale", "job_title", "Analyste, risques; crédit", "city", "Paris", "country",
      "France", "skills", "Python", "Gestion des risques", "languages", "Français", "Anglais",
      "linkedin", "https://linkedin.com/in/eleonore-dubois", "bio",
      "Passionnée de finance durable.\nBénévole.",
      "institution", "key", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "name", "Lycée C",
      "local", 0, "id", 7, "fields", "family_name", "Martin");
  if (!people || am_vcard_people(people, &vc, &err)) {
    json_decref(people);
    goto done;
  }
  json_decref(people);
  char keyfile[64];
  snprintf(keyfile, sizeof keyfile, "%s\n", gkey);
  rc = write_file(dir, "v1.ics", o1.data) || write_file(dir, "v2.ics", o2.data) ||
       write_file(dir, "people.vcf", vc.data) || write_file(dir, "key.txt", keyfile);
done:
  if (rc) fprintf(stderr, "test_ics --write: %s\n", err.msg[0] ? err.msg : "cannot write");
  am_buf_free(&o1);
  am_buf_free(&o2);
  am_buf_free(&vc);
  json_decref(v1);
  json_decref(v2);
  am_ann_free(&a);
  am_ann_free(&a2);
  am_ann_free(&b);
  am_ann_free(&c);
  return rc;
}

int main(int argc, char **argv) {
  if (am_identity_generate(&gid, NULL) != 0) return 1;
  am_pubkey_to_text(gid.pk, gkey);
  if (argc == 3 && !strcmp(argv[1], "--write")) {
    int rc = write_samples(argv[2]);
    am_identity_wipe(&gid);
    return rc;
  }
  RUN(test_full_event);
  RUN(test_uid_stable_across_versions);
  RUN(test_status);
  RUN(test_escaping);
  RUN(test_folding);
  RUN(test_optional_parts);
  RUN(test_hand_json);
  RUN(test_refusals);
  am_identity_wipe(&gid);
  return TEST_SUMMARY();
}
