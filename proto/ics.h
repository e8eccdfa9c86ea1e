/* iCalendar (RFC 5545) export of events: what `amicale events export
 * --ics` writes, so alumni subscribe to or import the federation's events
 * in their calendar. It reads the event JSON of store/api.h (the
 * announcement JSON of proto/ann_json.h plus "institution"), whether the
 * local store or the member's node answered, and does no I/O.
 *
 * One VCALENDAR (VERSION 2.0, CALSCALE GREGORIAN, METHOD PUBLISH), one
 * VEVENT per event:
 *   UID            "event-<object>-<origin key>@amicale": an event is its
 *                  origin and object id, so every version of it, from any
 *                  node, has the same UID (the announcement id changes
 *                  with each version and is not used).
 *   SEQUENCE       the announcement's version (versions of one origin only
 *                  grow, so a calendar re-importing takes the newer one).
 *   DTSTAMP, LAST-MODIFIED  "created" of that version, UTC (with METHOD
 *                  RFC 5545 means the time the file was made; this keeps
 *                  an export reproducible, byte for byte, and DTSTAMP
 *                  moves exactly when the event changes).
 *   DTSTART, DTEND starts_at / ends_at, in UTC ("Z"). Announcements carry
 *                  UTC instants; the organiser's IANA time zone is given
 *                  as X-AMICALE-TIMEZONE (and as the calendar's
 *                  X-WR-TIMEZONE when every event has the same one), not
 *                  as TZID: that would need a VTIMEZONE built from the tz
 *                  database, which this layer does not read. UTC is always
 *                  right, and calendars show it in the reader's zone.
 *                  Without ends_at, no DTEND (RFC 5545 3.6.1: the event
 *                  then ends when it starts).
 *   SUMMARY        title (LANGUAGE= when the event's language is a tag).
 *   DESCRIPTION    description, then labelled lines: organiser,
 *                  institution, online link, registration.
 *   LOCATION       "venue, city, country" (those given), else the online
 *                  link.
 *   URL            registration, when it is an http(s) URL (it may be an
 *                  e-mail address or a sentence: then DESCRIPTION only).
 *   CONFERENCE     the online link (RFC 7986).
 *   CATEGORIES     tags.
 *   STATUS         scheduled CONFIRMED, cancelled CANCELLED, postponed
 *                  TENTATIVE.
 *   X-AMICALE-INSTITUTION, X-AMICALE-ORGANISER  names, as text.
 *                  ORGANIZER is not written: it needs a cal-address (a
 *                  mailto: URI) and announcements have only a name.
 * Retracted events are simply absent; a calendar that imported them keeps
 * them (a METHOD:CANCEL export would be a different feature). */
#ifndef AMICALE_PROTO_ICS_H
#define AMICALE_PROTO_ICS_H

#include <jansson.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

/* Appends one VCALENDAR with the events of events (an array of event JSON,
 * or an "events" answer {"total", "offset", "results": [...]}) to out.
 * prodid_node, the name of the node that exports (may be NULL), names the
 * calendar (X-WR-CALNAME / NAME "Amicale – <node>"); PRODID names the
 * software. Every event is checked before anything is written: AM_EINVAL,
 * err naming the event ("event 2: no \"starts_at\""), and out unchanged,
 * when one lacks what a VEVENT needs (origin, object, version, created,
 * title, starts_at) or is not an event. AM_ENOMEM likewise. */
int am_ics_events(const json_t *events, const char *prodid_node, am_buf *out,
                  am_error *err);

#endif
