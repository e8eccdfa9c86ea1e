/* Member records as JSON (jansson) and vCard 4.0 (RFC 6350): the read
 * formats of `--json` and of `member export`. */
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

void am_time_format(int64_t t, char out[static 21]); /* 2024-05-01T10:00:00Z */

#endif
