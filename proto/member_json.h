/* Member records as JSON (jansson) and vCard 4.0 (RFC 6350): the read
 * formats of `--json` and of `member export`, and the vCard of the people
 * that federation searches return (person JSON, store/api.h). */
#ifndef AMICALE_PROTO_MEMBER_JSON_H
#define AMICALE_PROTO_MEMBER_JSON_H

#include <jansson.h>

#include "proto/member.h"

/* Every field, with null/[] for empty ones, a "visibility" object and ISO
 * 8601 UTC timestamps. New reference, NULL when out of memory. */
json_t *am_member_to_json(const am_member *m);

/* One vCard 4.0 (CRLF line ends, lines folded at 75 octets). uid_prefix
 * makes the UID stable and unique across nodes ("urn:amicale:KEY:"). */
int am_member_to_vcard(const am_member *m, const char *uid_prefix, am_buf *out);

/* One vCard 4.0 of a person as store/api.h describes it ({"institution":
 * {"key", "name", ...}, "id", "fields": {...}}), appended to out: the same
 * card as am_member_to_vcard's for the same member, UID
 * "urn:amicale:<institution key>:<id>", plus X-AMICALE-INSTITUTION (the
 * institution's name) and REV when the person has an "updated" time.
 * Fields of the wrong JSON type are left out. AM_EINVAL (err says why)
 * when the person has no institution key or id; on any failure out is as
 * it was. */
int am_vcard_person(const json_t *person, am_buf *out, am_error *err);

/* am_vcard_person for each person of an array, or of the "results" of a
 * search answer ({"total", "offset", "results": [...]}). On failure err
 * names the person ("person 3: ..."); out then holds the cards before it. */
int am_vcard_people(const json_t *people, am_buf *out, am_error *err);

void am_time_format(int64_t t, char out[static 21]); /* 2024-05-01T10:00:00Z */

#endif
