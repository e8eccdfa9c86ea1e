/* iCalendar export of events (see ics.h). */
#include "proto/ics.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/announce.h" /* am_time_parse */
#include "proto/contentline.h"

/* RFC 5545 3.3.8: INTEGER is 32-bit signed. Versions are counters and stay
 * far below; one past it would still be written as this (a calendar then
 * stops seeing updates, rather than rejecting the file). */
#define SEQUENCE_MAX INT64_C(2147483647)

/* An event, checked and borrowed from its JSON. */
typedef struct ev {
  const json_t *body;
  const char *origin;
  json_int_t object, version;
  uint64_t created, starts, ends; /* ends 0: none */
  const char *tz;
} ev;

/* A time: ISO 8601 string or Unix seconds (the forms ann_json.c reads). */
static int json_time(const json_t *x, uint64_t *out) {
  if (json_is_integer(x) && json_integer_value(x) >= 0) {
    *out = (uint64_t)json_integer_value(x);
    return 0;
  }
  return json_is_string(x) ? am_time_parse(json_string_value(x), out) : AM_EINVAL;
}

/* body.name when a non-empty string, else NULL. */
static const char *btext(const json_t *body, const char *name) {
  const char *s = json_string_value(json_object_get(body, name));
  return s && *s ? s : NULL;
}

static int read_event(const json_t *j, ev *e, am_error *err) {
  if (!json_is_object(j)) return am_fail(err, AM_EINVAL, "is not a JSON object");
  const char *kind = json_string_value(json_object_get(j, "kind"));
  if (kind && strcmp(kind, "event"))
    return am_fail(err, AM_EINVAL, "is a %.20s, not an event", kind);
  e->origin = json_string_value(json_object_get(j, "origin"));
  /* The key goes into the UID as it is: base64url only. */
  if (!am_cl_is_token(e->origin, 64))
    return am_fail(err, AM_EINVAL, "has no \"origin\" (key text)");
  const json_t *x = json_object_get(j, "object");
  if (!json_is_integer(x) || json_integer_value(x) < 0)
    return am_fail(err, AM_EINVAL, "has no \"object\" (a non-negative integer)");
  e->object = json_integer_value(x);
  x = json_object_get(j, "version");
  if (!json_is_integer(x) || json_integer_value(x) < 0)
    return am_fail(err, AM_EINVAL, "has no \"version\" (a non-negative integer)");
  e->version = json_integer_value(x);
  if (json_time(json_object_get(j, "created"), &e->created))
    return am_fail(err, AM_EINVAL, "has no \"created\" time");
  e->body = json_object_get(j, "body");
  if (!json_is_object(e->body)) return am_fail(err, AM_EINVAL, "has no \"body\" object");
  if (!btext(e->body, "title")) return am_fail(err, AM_EINVAL, "has no \"title\"");
  if (json_time(json_object_get(e->body, "starts_at"), &e->starts))
    return am_fail(err, AM_EINVAL, "has no \"starts_at\" time");
  e->ends = 0;
  x = json_object_get(e->body, "ends_at");
  if (x && !json_is_null(x)) {
    if (json_time(x, &e->ends)) return am_fail(err, AM_EINVAL, "\"ends_at\" is not a time");
    if (e->ends < e->starts) e->ends = 0; /* am_ann_check refuses it; be safe */
  }
  e->tz = btext(e->body, "timezone");
  return 0;
}

static void utc_prop(am_cl *l, const char *name, uint64_t t) {
  char v[17];
  am_cl_utc((int64_t)t, v);
  am_cl_prop_raw(l, name, v);
}

/* "Label: value" as one more line of a DESCRIPTION being written. */
static void desc_line(am_cl *l, bool *first, const char *label, const char *value) {
  if (!value) return;
  if (!*first) am_cl_raw(l, "\\n", 2);
  *first = false;
  am_cl_text(l, label);
  am_cl_text(l, value);
}

static void write_event(am_cl *l, const ev *e, const json_t *j) {
  const json_t *b = e->body;
  char tmp[64];
  am_cl_prop_raw(l, "BEGIN", "VEVENT");
  snprintf(tmp, sizeof tmp, "event-%lld-", (long long)e->object);
  am_cl_str(l, "UID:");
  am_cl_str(l, tmp);
  am_cl_str(l, e->origin);
  am_cl_str(l, "@amicale");
  am_cl_end(l);
  snprintf(tmp, sizeof tmp, "%lld",
           (long long)(e->version > SEQUENCE_MAX ? SEQUENCE_MAX : e->version));
  am_cl_prop_raw(l, "SEQUENCE", tmp);
  utc_prop(l, "DTSTAMP", e->created);
  utc_prop(l, "LAST-MODIFIED", e->created);
  utc_prop(l, "DTSTART", e->starts);
  if (e->ends) utc_prop(l, "DTEND", e->ends);

  const char *lang = btext(b, "language");
  if (lang && am_cl_is_lang_tag(lang)) {
    am_cl_str(l, "SUMMARY;LANGUAGE=");
    am_cl_str(l, lang);
  } else {
    am_cl_str(l, "SUMMARY");
  }
  am_cl_raw(l, ":", 1);
  am_cl_text(l, btext(b, "title"));
  am_cl_end(l);

  const char *inst = json_string_value(json_object_get(json_object_get(j, "institution"), "name"));
  if (inst && !*inst) inst = NULL;
  const char *online = btext(b, "online_url"), *reg = btext(b, "registration");
  const char *organiser = btext(b, "organiser"), *desc = btext(b, "description");
  if (desc || organiser || inst || online || reg) {
    bool first = true;
    am_cl_str(l, "DESCRIPTION:");
    if (desc) {
      am_cl_text(l, desc);
      if (organiser || inst || online || reg) am_cl_raw(l, "\\n", 2);
      first = false;
    }
    desc_line(l, &first, "Organiser: ", organiser);
    desc_line(l, &first, "Institution: ", inst);
    desc_line(l, &first, "Online: ", online);
    desc_line(l, &first, "Registration: ", reg);
    am_cl_end(l);
  }

  static const char *const place[] = {"venue", "city", "country"};
  bool any = false;
  for (size_t i = 0; i < 3; i++) {
    const char *s = btext(b, place[i]);
    if (!s) continue;
    am_cl_str(l, any ? "" : "LOCATION:");
    if (any) am_cl_text(l, ", ");
    am_cl_text(l, s);
    any = true;
  }
  if (any) am_cl_end(l);
  else am_cl_prop(l, "LOCATION", online);

  if (reg && am_cl_is_web_url(reg)) am_cl_prop_raw(l, "URL", reg);
  if (online && am_cl_is_web_url(online)) am_cl_prop_raw(l, "CONFERENCE;VALUE=URI;LABEL=Online", online);

  const json_t *tags = json_object_get(b, "tags");
  size_t i, n = 0;
  const json_t *t;
  json_array_foreach(tags, i, t) {
    const char *s = json_string_value(t);
    if (!s || !*s) continue;
    am_cl_str(l, n++ ? "," : "CATEGORIES:");
    am_cl_text(l, s);
  }
  if (n) am_cl_end(l);

  const char *status = btext(b, "status");
  if (status) {
    if (!strcmp(status, "scheduled")) am_cl_prop_raw(l, "STATUS", "CONFIRMED");
    else if (!strcmp(status, "cancelled")) am_cl_prop_raw(l, "STATUS", "CANCELLED");
    else if (!strcmp(status, "postponed")) am_cl_prop_raw(l, "STATUS", "TENTATIVE");
  }
  am_cl_prop(l, "X-AMICALE-INSTITUTION", inst);
  am_cl_prop(l, "X-AMICALE-ORGANISER", organiser);
  am_cl_prop(l, "X-AMICALE-TIMEZONE", e->tz);
  am_cl_prop_raw(l, "END", "VEVENT");
}

int am_ics_events(const json_t *events, const char *prodid_node, am_buf *out,
                  am_error *err) {
  if (json_is_object(events)) events = json_object_get(events, "results");
  if (!json_is_array(events))
    return am_fail(err, AM_EINVAL, "expected an array of events (or {\"results\": [...]})");
  /* Check them all first, so a bad event leaves nothing half written. */
  size_t i;
  const json_t *j;
  const char *tz = NULL;
  bool one_tz = true;
  json_array_foreach(events, i, j) {
    ev e;
    int rc = read_event(j, &e, err);
    if (rc) {
      am_error_prefix(err, "event %zu ", i + 1);
      return rc;
    }
    if (!e.tz || (tz && strcmp(tz, e.tz))) one_tz = false;
    if (!tz) tz = e.tz;
  }

  size_t start = out->len;
  am_cl l;
  am_cl_init(&l, out);
  am_cl_prop_raw(&l, "BEGIN", "VCALENDAR");
  am_cl_prop_raw(&l, "VERSION", "2.0");
  am_cl_prop_raw(&l, "PRODID", "-//Amicale//amicale " AMICALE_VERSION "//EN");
  am_cl_prop_raw(&l, "CALSCALE", "GREGORIAN");
  am_cl_prop_raw(&l, "METHOD", "PUBLISH");
  /* The calendar's name, under the de facto name (Apple, Google) and the
   * standard one (RFC 7986). */
  static const char *const name_props[] = {"X-WR-CALNAME:", "NAME:"};
  for (size_t k = 0; k < 2; k++) {
    am_cl_str(&l, name_props[k]);
    am_cl_text(&l, "Amicale");
    if (prodid_node && *prodid_node) {
      am_cl_text(&l, " – ");
      am_cl_text(&l, prodid_node);
    }
    am_cl_end(&l);
  }
  if (one_tz && tz) am_cl_prop(&l, "X-WR-TIMEZONE", tz);
  json_array_foreach(events, i, j) {
    ev e;
    read_event(j, &e, NULL); /* checked above */
    write_event(&l, &e, j);
  }
  am_cl_prop_raw(&l, "END", "VCALENDAR");
  if (!l.rc) return 0;
  out->len = start;
  if (out->data) out->data[start] = '\0';
  return am_fail(err, l.rc, "out of memory");
}
