/* Announcements as JSON (jansson): the --json form of the announcement,
 * event and job commands, and the input form of the published test
 * vectors (tests/vectors/announcements/). Shape:
 *   {"id": hex, "kind": "event", "origin": key text, "object": n,
 *    "version": n, "created": "2026-11-23T10:00:00Z",
 *    "expires": "..." or null, "body": {field: value, ...},
 *    "signature": hex}
 * Body values: text as strings, lists as arrays, numbers, booleans, enum
 * values by name, times as ISO 8601 UTC, dates as YYYY-MM-DD; absent
 * fields are left out. */
#ifndef AMICALE_PROTO_ANN_JSON_H
#define AMICALE_PROTO_ANN_JSON_H

#include <jansson.h>

#include "proto/announce.h"

/* New reference, NULL when out of memory. */
json_t *am_ann_to_json(const am_ann *a);
json_t *am_ann_body_to_json(const am_ann *a);

/* Reads kind, object, version, created, expires and body (id, origin and
 * signature are ignored: sealing sets them). Text is taken as given (no
 * clean-up), so a vector states exact bytes; am_ann_check still applies
 * when sealing. AM_EINVAL with a message naming the member at fault. */
int am_ann_from_json(const json_t *j, am_ann *a, am_error *err);

#endif
