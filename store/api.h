/* The operations alumni managers and members run: queries across the
 * federation and a member's self-service, JSON in and JSON out, with the
 * visibility rules applied here and nowhere else. The local CLI calls
 * them as the alumni manager (it opened the store itself); the node calls
 * them for a member's session (docs/PROTOCOL.md section 16), so both see
 * the same answers but for what the viewer may see.
 *
 * Methods (params: a JSON object; unknown members are an error):
 *
 *   search   {text, institution, institution_kind, promo_min, promo_max,
 *             programme, employer, job_title, sector, city, country,
 *             skill, language, mentoring, topic, sort, offset, limit}
 *            -> {"total", "offset", "results": [person]}
 *   mentors  as search, mentoring implied (topic: a mentoring topic)
 *   events   {from, to, upcoming, city, country, online, tag, institution,
 *             text, include_cancelled, offset, limit}
 *            -> {"total", "offset", "results": [event]}
 *   jobs     {type, skill, city, country, remote, institution,
 *             alumni_only, text, offset, limit} -> likewise [job]
 *   digest   {since} -> {"since", "until", "events": [event],
 *             "jobs": [job], "institutions": [{"institution",
 *             "new_members": n, "people": [person]}]}
 *   me.show, me.edit {set: {field: text}}, me.consent {listed, federation},
 *   me.visibility {fields: {field: level}}, me.export, me.erase
 *            (members only: a member's own record)
 *
 * person = {"institution": inst, "local": bool, "id": n,
 *           "fields": {name: value, ...}}  (only non-empty visible fields;
 *           text as strings, lists as arrays, promo a number, mentoring a
 *           boolean)
 * event, job = the announcement JSON of cli/ann_json.h plus
 *           "institution": inst
 * inst = {"key": key text, "name": text, "kind": "school" | "company" |
 *         "association" | "federation" | null}
 * Times in params: "2026-12-10", "2026-12-10T18:30Z" or Unix seconds;
 * since also "7d", "24h", "2w". */
#ifndef AMICALE_STORE_API_H
#define AMICALE_STORE_API_H

#include <jansson.h>

#include "store/directory.h"
#include "store/store.h"

typedef struct am_caller {
  int viewer;         /* AM_VIEWER_MANAGER or AM_VIEWER_MEMBER */
  uint64_t member_id; /* AM_VIEWER_MEMBER: who asks */
  const char *node_name; /* this node's name (results name its institution) */
  int node_kind;         /* this node's kind (AM_NODE_KIND enum index) */
  uint8_t node_key[AM_ANN_KEY_BYTES]; /* this node's identity */
} am_caller;

/* Whether method exists, and whether it needs a write transaction. */
bool am_api_known(const char *method);
bool am_api_writes(const char *method);
/* Whether a member may call it (managers may call all but me.*). */
bool am_api_for_members(const char *method);

/* Runs method in t (a write transaction when am_api_writes). *result is a
 * new reference on success. AM_EUSAGE: bad params (err names the one at
 * fault); AM_ENOTFOUND: the member is gone; others: store failures. */
int am_api_call(am_txn *t, const am_caller *c, const char *method, const json_t *params,
                int64_t now, json_t **result, am_error *err);

#endif
