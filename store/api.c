/* Queries and members' self-service as JSON (see api.h). */
#include "store/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/identity.h"
#include "proto/ann_json.h"
#include "proto/member_json.h"
#include "proto/text.h"
#include "store/accounts.h"
#include "store/announcements.h"
#include "store/listings.h"
#include "store/members.h"

static const struct method {
  const char *name;
  bool writes, members, self;
} methods[] = {
    {"search", false, true, false},      {"mentors", false, true, false},
    {"events", false, true, false},      {"jobs", false, true, false},
    {"digest", false, true, false},      {"me.show", false, true, true},
    {"me.edit", true, true, true},       {"me.consent", true, true, true},
    {"me.visibility", true, true, true}, {"me.export", false, true, true},
    {"me.erase", true, true, true},
};

static const struct method *find(const char *name) {
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
    if (!strcmp(methods[i].name, name)) return &methods[i];
  return NULL;
}

bool am_api_known(const char *method) { return find(method) != NULL; }
bool am_api_writes(const char *method) {
  const struct method *m = find(method);
  return m && m->writes;
}
bool am_api_for_members(const char *method) {
  const struct method *m = find(method);
  return m && m->members;
}

/* Results are pages: a member cannot ask for the whole federation at once
 * (answers travel in one message of at most 1 MiB). */
#define PAGE_DEFAULT 50
#define PAGE_MAX_MEMBER 200

/* ---- parameters --------------------------------------------------------- */

typedef struct params {
  const json_t *j;
  const char *method;
  am_error *err;
} params;

/* Refuses members of the params object that the method does not know (a
 * misspelt filter must not silently match everyone). */
static int check_keys(const params *p, const char *const *allowed) {
  if (!p->j) return 0;
  if (!json_is_object(p->j)) return am_fail(p->err, AM_EUSAGE, "%s: the parameters must be a JSON object", p->method);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)p->j, key, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i] && !ok; i++) ok = !strcmp(allowed[i], key);
    if (!ok) return am_fail(p->err, AM_EUSAGE, "%s: unknown parameter '%.40s'", p->method, key);
  }
  return 0;
}

static const json_t *get(const params *p, const char *k) {
  json_t *v = p->j ? json_object_get(p->j, k) : NULL;
  return json_is_null(v) ? NULL : v;
}

/* A text parameter (NULL when absent). */
static int p_text(const params *p, const char *k, const char **out) {
  const json_t *v = get(p, k);
  *out = NULL;
  if (!v) return 0;
  if (!json_is_string(v)) return am_fail(p->err, AM_EUSAGE, "%s: '%s' must be a text", p->method, k);
  const char *s = json_string_value(v);
  if (!am_utf8_valid(s, json_string_length(v)) || strlen(s) != json_string_length(v))
    return am_fail(p->err, AM_EUSAGE, "%s: '%s' is not valid UTF-8 text", p->method, k);
  if (json_string_length(v) > 1000) return am_fail(p->err, AM_EUSAGE, "%s: '%s' is too long", p->method, k);
  *out = *s ? s : NULL;
  return 0;
}

/* A boolean parameter: -1 when absent. */
static int p_bool(const params *p, const char *k, int *out) {
  const json_t *v = get(p, k);
  *out = -1;
  if (!v) return 0;
  if (!json_is_boolean(v)) return am_fail(p->err, AM_EUSAGE, "%s: '%s' must be true or false", p->method, k);
  *out = json_is_true(v);
  return 0;
}

static int p_uint(const params *p, const char *k, uint64_t max, uint64_t def, uint64_t *out) {
  const json_t *v = get(p, k);
  *out = def;
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
    return am_fail(p->err, AM_EUSAGE, "%s: '%s' must be a whole number from 0 to %llu", p->method, k,
                   (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* A time: Unix seconds, "2026-12-10" (the start of that day, UTC; the end
 * of it when end_of_day) or "2026-12-10T18:30Z". */
static int p_time(const params *p, const char *k, bool end_of_day, uint64_t *out) {
  const json_t *v = get(p, k);
  *out = 0;
  if (!v) return 0;
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return 0;
  }
  const char *s = json_string_value(v);
  if (s) {
    char buf[40];
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
      snprintf(buf, sizeof buf, "%sT%sZ", s, end_of_day ? "23:59:59" : "00:00:00");
      s = buf;
    }
    if (am_time_parse(s, out) == 0) return 0;
  }
  return am_fail(p->err, AM_EUSAGE, "%s: '%s' should be a date (2026-12-10) or a time (2026-12-10T18:30Z)",
                 p->method, k);
}

/* "7d", "24h", "2w", "30m", or a time as p_time. */
static int p_since(const params *p, const char *k, int64_t now, uint64_t *out) {
  int64_t back = am_duration_parse(json_string_value(get(p, k)));
  if (back > 0) {
    *out = now > back ? (uint64_t)(now - back) : 0;
    return 0;
  }
  return p_time(p, k, false, out);
}

static int p_page(const params *p, const am_caller *c, size_t *offset, size_t *limit) {
  uint64_t o, l;
  int rc = p_uint(p, "offset", 1000000000, 0, &o);
  if (!rc) rc = p_uint(p, "limit", 1000000000, PAGE_DEFAULT, &l);
  if (rc) return rc;
  /* limit 0 is "all" for the alumni manager on the node; a member gets
   * pages. */
  if (c->viewer == AM_VIEWER_MEMBER && (l == 0 || l > PAGE_MAX_MEMBER))
    return am_fail(p->err, AM_EUSAGE, "%s: 'limit' must be from 1 to %d (use offset for the next page)",
                   p->method, PAGE_MAX_MEMBER);
  *offset = (size_t)o, *limit = (size_t)l;
  return 0;
}

/* ---- institutions ------------------------------------------------------- */

/* An institution is an origin: this node, or a node whose announcements
 * are trusted here (store/directory.h finds their names and kinds). */

static const char *kind_name(int kind) {
  const am_afield *f = &am_ann_kinds[AM_K_NODE].fields[AM_NODE_KIND];
  for (int i = 0; f->names[i]; i++)
    if (i == kind) return f->names[i];
  return NULL;
}

static json_t *inst_json(const am_institution *in) {
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(in->key, key);
  const char *kind = kind_name(in->kind);
  return json_pack("{s:s, s:s, s:o}", "key", key, "name", in->name,
                   "kind", kind ? json_string(kind) : json_null());
}

/* Institutions of one answer, looked up once each. */
typedef struct insts {
  am_institution *v;
  size_t n;
} insts;

static json_t *inst_of(am_txn *t, const am_caller *c, insts *cache, const uint8_t *key) {
  for (size_t i = 0; i < cache->n; i++)
    if (!memcmp(cache->v[i].key, key, AM_ANN_KEY_BYTES)) return inst_json(&cache->v[i]);
  am_institution *v = realloc(cache->v, (cache->n + 1) * sizeof *v);
  if (!v) return NULL;
  cache->v = v;
  am_self self = {.name = c->node_name, .kind = c->node_kind};
  /* An origin no longer known (trust removed meanwhile) keeps its key. */
  if (am_institution_get(t, key, &self, &v[cache->n], NULL)) {
    memset(&v[cache->n], 0, sizeof v[cache->n]);
    memcpy(v[cache->n].key, key, AM_ANN_KEY_BYTES);
    v[cache->n].kind = -1;
  }
  return inst_json(&v[cache->n++]);
}

/* Every institution of one kind. */
typedef struct kind_pick {
  int kind;
  uint8_t (*out)[AM_ANN_KEY_BYTES];
  size_t max, n;
} kind_pick;

static int pick_kind(const am_institution *in, void *arg) {
  kind_pick *k = arg;
  if (in->kind != k->kind) return 0;
  if (k->n < k->max) memcpy(k->out[k->n], in->key, AM_ANN_KEY_BYTES);
  k->n++;
  return 0;
}

/* The origins an "institution" and "institution_kind" filter select; *n 0
 * and no error when neither is given. */
static int institutions(am_txn *t, const am_caller *c, const params *p,
                        uint8_t (*out)[AM_ANN_KEY_BYTES], size_t max, size_t *n) {
  const char *name, *kindtext;
  int rc = p_text(p, "institution", &name);
  if (!rc) rc = p_text(p, "institution_kind", &kindtext);
  if (rc) return rc;
  *n = 0;
  if (!name && !kindtext) return 0;
  int kind = -1;
  if (kindtext) {
    const am_afield *f = &am_ann_kinds[AM_K_NODE].fields[AM_NODE_KIND];
    for (int i = 0; f->names[i] && kind < 0; i++)
      if (!strcasecmp(f->names[i], kindtext)) kind = i;
    if (kind < 0)
      return am_fail(p->err, AM_EUSAGE,
                     "%s: institution kind '%.40s' should be school, company, association or federation",
                     p->method, kindtext);
  }
  am_self self = {.name = c->node_name, .kind = c->node_kind};
  if (name) {
    if ((rc = am_institution_resolve(t, name, kind, &self, out, max, n, p->err))) return rc;
  } else {
    kind_pick k = {.kind = kind, .out = out, .max = max};
    if ((rc = am_institution_each(t, &self, pick_kind, &k, p->err))) return rc;
    *n = k.n;
  }
  if (*n > max)
    return am_fail(p->err, AM_EUSAGE, "%s: '%.60s' matches %zu institutions (at most %zu): be more precise",
                   p->method, name ? name : kindtext, *n, max);
  if (!*n)
    return am_fail(p->err, AM_ENOTFOUND, "no institution of the federation matches '%.60s'%s%s",
                   name ? name : kindtext, name && kindtext ? " of kind " : "", name && kindtext ? kindtext : "");
  return 0;
}

/* ---- people --------------------------------------------------------------- */

static json_t *field_value(const am_member *m, int f) {
  const am_field *fd = &am_fields[f];
  const void *at = (const char *)m + fd->offset;
  switch (fd->type) {
  case AM_T_TEXT: {
    const char *s = *(char *const *)at;
    return s && *s ? json_string(s) : NULL;
  }
  case AM_T_LIST: {
    const am_strlist *l = at;
    if (!l->n) return NULL;
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < l->n; i++) json_array_append_new(a, json_string(l->v[i]));
    return a;
  }
  case AM_T_YEAR: {
    uint32_t y = *(const uint32_t *)at;
    return y ? json_integer(y) : NULL;
  }
  case AM_T_BOOL: return *(const bool *)at ? json_true() : NULL;
  default: return NULL;
  }
}

static json_t *person_json(am_txn *t, const am_caller *c, insts *cache, const am_person *p) {
  json_t *fields = json_object();
  for (int f = 0; fields && f < AM_F__PROFILE_COUNT; f++) {
    json_t *v = field_value(&p->m, f);
    if (v) json_object_set_new(fields, am_fields[f].name, v);
  }
  /* Members of this node are this node's, whatever the record says. */
  json_t *in = inst_of(t, c, cache, p->local ? c->node_key : p->origin);
  if (!fields || !in) {
    json_decref(fields), json_decref(in);
    return NULL;
  }
  return json_pack("{s:o, s:b, s:I, s:o}", "institution", in, "local", p->local, "id",
                   (json_int_t)p->m.id, "fields", fields);
}

static json_t *people_json(am_txn *t, const am_caller *c, const am_people *r, size_t offset) {
  insts cache = {0};
  json_t *list = json_array();
  for (size_t i = 0; list && i < r->n; i++) {
    json_t *p = person_json(t, c, &cache, &r->v[i]);
    if (!p || json_array_append_new(list, p)) json_decref(list), list = NULL;
  }
  free(cache.v);
  if (!list) return NULL;
  return json_pack("{s:I, s:I, s:o}", "total", (json_int_t)r->total, "offset", (json_int_t)offset,
                   "results", list);
}

static int add_filter(const params *p, am_query *q, const char *key, int field) {
  const json_t *v = get(p, key);
  if (!v) return 0;
  size_t n = json_is_array(v) ? json_array_size(v) : 1;
  /* An empty list would silently drop the filter: refused. */
  if (!n) return am_fail(p->err, AM_EUSAGE, "%s: '%s' is an empty list", p->method, key);
  for (size_t i = 0; i < n; i++) {
    const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
    const char *s = json_string_value(item);
    if (!s || !am_utf8_valid(s, json_string_length(item)) || strlen(s) != json_string_length(item))
      return am_fail(p->err, AM_EUSAGE, "%s: '%s' must be a text (or a list of texts)", p->method, key);
    if (!*s) continue;
    int rc = am_query_filter(q, field, s, p->err);
    if (rc) return rc;
  }
  return 0;
}

static int people_query(am_txn *t, const am_caller *c, const params *p, bool mentors,
                        am_people_query *pq) {
  static const char *const allowed[] = {
      "text", "institution", "institution_kind", "promo_min", "promo_max", "programme",
      "employer", "job_title", "sector", "city", "country", "skill", "language",
      "mentoring", "topic", "sort", "offset", "limit", NULL};
  static const struct { const char *key; int field; } exact[] = {
      {"programme", AM_F_PROGRAMME}, {"employer", AM_F_EMPLOYER}, {"job_title", AM_F_JOB_TITLE},
      {"sector", AM_F_SECTOR},       {"city", AM_F_CITY},         {"country", AM_F_COUNTRY},
      {"skill", AM_F_SKILLS},        {"language", AM_F_LANGUAGES}, {"topic", AM_F_MENTORING_TOPICS},
  };
  memset(pq, 0, sizeof *pq);
  pq->viewer = c->viewer;
  int rc = check_keys(p, allowed);
  if (!rc) rc = p_text(p, "text", &pq->q.text);
  for (size_t i = 0; !rc && i < sizeof exact / sizeof *exact; i++) rc = add_filter(p, &pq->q, exact[i].key, exact[i].field);
  uint64_t lo = 0, hi = 0;
  if (!rc) rc = p_uint(p, "promo_min", AM_YEAR_MAX, 0, &lo);
  if (!rc) rc = p_uint(p, "promo_max", AM_YEAR_MAX, 0, &hi);
  if (rc) return rc;
  if ((lo && lo < AM_YEAR_MIN) || (hi && hi < AM_YEAR_MIN) || (lo && hi && lo > hi))
    return am_fail(p->err, AM_EUSAGE, "%s: the graduation years should be from %d to %d, the first not after the last",
                   p->method, AM_YEAR_MIN, AM_YEAR_MAX);
  pq->q.promo_min = (uint32_t)lo, pq->q.promo_max = (uint32_t)hi;
  int mentoring;
  if ((rc = p_bool(p, "mentoring", &mentoring))) return rc;
  pq->q.mentoring = mentors || mentoring == 1;
  const char *sort;
  if ((rc = p_text(p, "sort", &sort))) return rc;
  if (!sort || !strcmp(sort, "name")) pq->q.sort = AM_SORT_NAME;
  else if (!strcmp(sort, "promo")) pq->q.sort = AM_SORT_PROMO;
  else return am_fail(p->err, AM_EUSAGE, "%s: sort '%.20s' should be name or promo", p->method, sort);
  if ((rc = p_page(p, c, &pq->q.offset, &pq->q.limit))) return rc;
  return institutions(t, c, p, pq->origins, AM_PEOPLE_MAX_ORIGINS, &pq->norigins);
}

static int api_people(am_txn *t, const am_caller *c, const params *p, bool mentors, json_t **out) {
  am_people_query pq;
  int rc = people_query(t, c, p, mentors, &pq);
  if (rc) return rc;
  am_people r;
  if ((rc = am_people_search(t, &pq, &r, p->err))) return rc;
  *out = people_json(t, c, &r, pq.q.offset);
  am_people_free(&r);
  return *out ? 0 : AM_ENOMEM;
}

/* ---- events and jobs ------------------------------------------------------ */

static json_t *listing_json(am_txn *t, const am_caller *c, insts *cache, const am_ann *a) {
  json_t *j = am_ann_to_json(a);
  json_t *in = inst_of(t, c, cache, a->origin);
  if (!j || !in || json_object_set_new(j, "institution", in)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static json_t *listings_json(am_txn *t, const am_caller *c, const am_listings *r, size_t offset) {
  insts cache = {0};
  json_t *list = json_array();
  for (size_t i = 0; list && i < r->n; i++) {
    json_t *e = listing_json(t, c, &cache, &r->v[i]);
    if (!e || json_array_append_new(list, e)) json_decref(list), list = NULL;
  }
  free(cache.v);
  if (!list) return NULL;
  return json_pack("{s:I, s:I, s:o}", "total", (json_int_t)r->total, "offset", (json_int_t)offset,
                   "results", list);
}

/* An enum value of a job field by name (French words too: "stage"). */
static int job_enum(const params *p, const char *key, uint32_t field, int *out) {
  const char *s;
  int rc = p_text(p, key, &s);
  *out = -1;
  if (rc || !s) return rc;
  am_ann a;
  am_ann_init(&a, AM_K_JOB);
  am_error e = {0};
  rc = am_ann_set(&a, field, s, &e);
  if (!rc) *out = (int)a.body[field].u;
  am_ann_free(&a);
  if (rc) return am_fail(p->err, AM_EUSAGE, "%s: %s: %s", p->method, key, e.msg);
  return 0;
}

static int listing_query(am_txn *t, const am_caller *c, const params *p, int kind, int64_t now,
                         am_listing_query *lq) {
  static const char *const ev_allowed[] = {"from", "to", "upcoming", "city", "country", "online",
                                           "tag", "institution", "institution_kind", "text",
                                           "include_cancelled", "offset", "limit", NULL};
  static const char *const job_allowed[] = {"type", "skill", "city", "country", "remote",
                                            "institution", "institution_kind", "alumni_only",
                                            "text", "offset", "limit", NULL};
  am_listing_query_init(lq, kind);
  int rc = check_keys(p, kind == AM_K_EVENT ? ev_allowed : job_allowed);
  if (!rc) rc = p_text(p, "text", &lq->text);
  if (!rc) rc = p_text(p, "city", &lq->city);
  if (!rc) rc = p_text(p, "country", &lq->country);
  if (rc) return rc;
  if (kind == AM_K_EVENT) {
    int upcoming, cancelled;
    if ((rc = p_time(p, "from", false, &lq->from)) || (rc = p_time(p, "to", true, &lq->to)) ||
        (rc = p_bool(p, "upcoming", &upcoming)) || (rc = p_bool(p, "online", &lq->online)) ||
        (rc = p_bool(p, "include_cancelled", &cancelled)) || (rc = p_text(p, "tag", &lq->tag)))
      return rc;
    if (upcoming == 1 && (!lq->from || lq->from < (uint64_t)now)) lq->from = (uint64_t)now;
    if (lq->from && lq->to && lq->from > lq->to)
      return am_fail(p->err, AM_EUSAGE, "%s: 'from' is after 'to'", p->method);
    lq->include_cancelled = cancelled == 1;
  } else {
    if ((rc = job_enum(p, "type", AM_JOB_CONTRACT, &lq->contract)) ||
        (rc = job_enum(p, "remote", AM_JOB_REMOTE, &lq->remote)) ||
        (rc = p_bool(p, "alumni_only", &lq->alumni_only)) || (rc = p_text(p, "skill", &lq->skill)))
      return rc;
  }
  if ((rc = p_page(p, c, &lq->offset, &lq->limit))) return rc;
  return institutions(t, c, p, lq->origins, AM_LISTING_MAX_ORIGINS, &lq->norigins);
}

static int api_listings(am_txn *t, const am_caller *c, const params *p, int kind, int64_t now,
                        json_t **out) {
  am_listing_query lq;
  int rc = listing_query(t, c, p, kind, now, &lq);
  if (rc) return rc;
  am_listings r;
  if ((rc = am_listings_search(t, &lq, &r, p->err))) return rc;
  *out = listings_json(t, c, &r, lq.offset);
  am_listings_free(&r);
  return *out ? 0 : AM_ENOMEM;
}

/* ---- digest ---------------------------------------------------------------- */

/* What is new since a time: events announced since then that have not
 * ended, job offers posted since then, and new people per institution. */
#define DIGEST_MAX 200 /* per list: the answer stays far below 1 MiB */

/* A digest lists what is new, not everything about it: an event or a job
 * without its description and signature, a person with the fields a
 * newsletter names. Together with DIGEST_MAX this bounds the answer. */
static void digest_trim(json_t *list, bool people) {
  static const char *const person_keep[] = {"given_name", "family_name", "usual_name", "promo",
                                            "programme", "employer", "job_title", "city", "country",
                                            NULL};
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    if (!people) {
      json_object_del(item, "signature");
      json_object_del(json_object_get(item, "body"), "description");
      continue;
    }
    json_t *f = json_object_get(item, "fields");
    const char *key;
    json_t *v, *tmp;
    json_object_foreach_safe(f, tmp, key, v) {
      bool keep = false;
      for (size_t k = 0; person_keep[k] && !keep; k++) keep = !strcmp(key, person_keep[k]);
      if (!keep) json_object_del(f, key);
    }
  }
}

static int api_digest(am_txn *t, const am_caller *c, const params *p, int64_t now, json_t **out) {
  static const char *const allowed[] = {"since", NULL};
  uint64_t since;
  int rc = check_keys(p, allowed);
  if (!rc) rc = p_since(p, "since", now, &since);
  if (rc) return rc;
  if (!get(p, "since")) since = (uint64_t)(now > 7 * 86400 ? now - 7 * 86400 : 0);
  am_listing_query lq;
  am_listing_query_init(&lq, AM_K_EVENT);
  lq.posted_since = since;
  lq.limit = DIGEST_MAX;
  am_listings ev = {0}, jobs = {0};
  am_people people = {0};
  json_t *evj = NULL, *jobj = NULL, *groups = NULL;
  lq.kind = AM_K_EVENT;
  lq.from = (uint64_t)now;
  if ((rc = am_listings_search(t, &lq, &ev, p->err))) goto out;
  lq.kind = AM_K_JOB;
  lq.from = 0;
  if ((rc = am_listings_search(t, &lq, &jobs, p->err))) goto out;
  am_people_query pq;
  memset(&pq, 0, sizeof pq);
  pq.viewer = c->viewer;
  pq.since = (int64_t)since;
  pq.q.limit = DIGEST_MAX;
  if ((rc = am_people_search(t, &pq, &people, p->err))) goto out;
  rc = AM_ENOMEM;
  if (!(evj = listings_json(t, c, &ev, 0)) || !(jobj = listings_json(t, c, &jobs, 0))) goto out;
  digest_trim(json_object_get(evj, "results"), false);
  digest_trim(json_object_get(jobj, "results"), false);
  /* People grouped by institution, in the order institutions first appear. */
  if (!(groups = json_array())) goto out;
  insts cache = {0};
  bool *done = calloc(people.n ? people.n : 1, sizeof *done);
  if (!done) goto out;
  for (size_t i = 0; i < people.n; i++) {
    if (done[i]) continue;
    json_t *list = json_array();
    size_t count = 0;
    for (size_t k = i; list && k < people.n; k++) {
      if (done[k] || people.v[k].local != people.v[i].local ||
          (!people.v[k].local && memcmp(people.v[k].origin, people.v[i].origin, AM_ANN_KEY_BYTES)))
        continue;
      done[k] = true;
      count++;
      json_t *pj = person_json(t, c, &cache, &people.v[k]);
      if (!pj || json_array_append_new(list, pj)) json_decref(list), list = NULL;
    }
    digest_trim(list, true);
    json_t *in = inst_of(t, c, &cache, people.v[i].local ? c->node_key : people.v[i].origin);
    json_t *g = list && in ? json_pack("{s:o, s:I, s:o}", "institution", in, "new_members",
                                       (json_int_t)count, "people", list)
                           : NULL;
    if (!g) {
      json_decref(list), json_decref(in);
      break;
    }
    json_array_append_new(groups, g);
  }
  free(done);
  free(cache.v);
  *out = json_pack("{s:I, s:I, s:O, s:O, s:O, s:I, s:I, s:I}", "since", (json_int_t)since,
                   "until", (json_int_t)now, "events", json_object_get(evj, "results"), "jobs",
                   json_object_get(jobj, "results"), "institutions", groups, "new_members_total",
                   (json_int_t)people.total, "events_total", (json_int_t)ev.total, "jobs_total",
                   (json_int_t)jobs.total);
  rc = *out ? 0 : AM_ENOMEM;
out:
  json_decref(evj), json_decref(jobj), json_decref(groups);
  am_listings_free(&ev), am_listings_free(&jobs);
  am_people_free(&people);
  return rc;
}

/* ---- a member's own record -------------------------------------------------- */

static json_t *me_json(am_txn *t, const am_caller *c, const am_member *m) {
  insts cache = {0};
  json_t *in = inst_of(t, c, &cache, c->node_key);
  free(cache.v);
  json_t *mj = am_member_to_json(m);
  if (!in || !mj) {
    json_decref(in), json_decref(mj);
    return NULL;
  }
  return json_pack("{s:o, s:o}", "institution", in, "member", mj);
}

static int load_me(am_txn *t, const am_caller *c, am_member *m, am_error *err) {
  int rc = am_members_get(t, c->member_id, m, err);
  if (rc == AM_ENOTFOUND) return am_fail(err, rc, "your member record no longer exists on this node");
  return rc;
}

static int save_me(am_txn *t, const am_caller *c, am_member *m, json_t **out, am_error *err) {
  int rc = am_members_put(t, m, 0, err);
  if (!rc && !(*out = me_json(t, c, m))) rc = AM_ENOMEM;
  return rc;
}

static int api_me_edit(am_txn *t, const am_caller *c, const params *p, json_t **out) {
  static const char *const allowed[] = {"set", NULL};
  int rc = check_keys(p, allowed);
  if (rc) return rc;
  const json_t *set = get(p, "set");
  if (!json_is_object(set) || !json_object_size(set))
    return am_fail(p->err, AM_EUSAGE, "me.edit: 'set' must be an object of fields and their new values");
  am_member m;
  if ((rc = load_me(t, c, &m, p->err))) return rc;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)set, key, v) {
    int f = am_field_by_name(key);
    /* Consents and dues are not profile fields: consent has its own
     * request, dues are the association's. */
    if (f < 0 || f >= AM_F__PROFILE_COUNT) {
      rc = am_fail(p->err, AM_EUSAGE, "me.edit: '%.40s' is not a profile field", key);
      break;
    }
    const char *s = json_is_null(v) ? "" : json_string_value(v);
    if (!s) {
      rc = am_fail(p->err, AM_EUSAGE, "me.edit: the value of '%s' must be a text", key);
      break;
    }
    am_error e = {0};
    if ((rc = am_member_set(&m, f, s, json_string_length(v), &e))) {
      rc = am_fail(p->err, AM_EUSAGE, "me.edit: %s: %s", am_fields[f].name, e.msg);
      break;
    }
  }
  if (!rc) rc = save_me(t, c, &m, out, p->err);
  am_member_free(&m);
  return rc;
}

static uint32_t today(int64_t now) {
  time_t tt = (time_t)now;
  struct tm tm;
  gmtime_r(&tt, &tm);
  return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static int api_me_consent(am_txn *t, const am_caller *c, const params *p, int64_t now, json_t **out) {
  static const char *const allowed[] = {"listed", "federation", NULL};
  int listed, federation;
  int rc = check_keys(p, allowed);
  if (!rc) rc = p_bool(p, "listed", &listed);
  if (!rc) rc = p_bool(p, "federation", &federation);
  if (rc) return rc;
  if (listed < 0 && federation < 0)
    return am_fail(p->err, AM_EUSAGE, "me.consent: give 'listed' or 'federation' (true or false)");
  if (listed == 0 && federation == 1)
    return am_fail(p->err, AM_EUSAGE,
                   "me.consent: sharing with the federation includes being listed: 'listed' false "
                   "and 'federation' true contradict each other");
  am_member m;
  if ((rc = load_me(t, c, &m, p->err))) return rc;
  /* A consent keeps the date it was first given. Sharing with the
   * federation includes being listed (proto/member.c does the same for the
   * alumni office's edits). */
  if (listed == 0) m.consent_listed = m.consent_federation = 0;
  if (listed == 1 && !m.consent_listed) m.consent_listed = today(now);
  if (federation == 0) m.consent_federation = 0;
  if (federation == 1 && !m.consent_federation) m.consent_federation = today(now);
  if (m.consent_federation && !m.consent_listed) m.consent_listed = m.consent_federation;
  rc = save_me(t, c, &m, out, p->err);
  am_member_free(&m);
  return rc;
}

static int api_me_visibility(am_txn *t, const am_caller *c, const params *p, json_t **out) {
  static const char *const allowed[] = {"fields", NULL};
  int rc = check_keys(p, allowed);
  if (rc) return rc;
  const json_t *fields = get(p, "fields");
  if (!json_is_object(fields) || !json_object_size(fields))
    return am_fail(p->err, AM_EUSAGE, "me.visibility: 'fields' must be an object of fields and levels");
  am_member m;
  if ((rc = load_me(t, c, &m, p->err))) return rc;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)fields, key, v) {
    int f = am_field_by_name(key);
    int level = json_is_string(v) ? am_vis_parse(json_string_value(v), json_string_length(v)) : -1;
    if (f < 0 || f >= AM_F__PROFILE_COUNT) {
      rc = am_fail(p->err, AM_EUSAGE, "me.visibility: '%.40s' is not a profile field", key);
      break;
    }
    if (level < 0) {
      rc = am_fail(p->err, AM_EUSAGE, "me.visibility: %s: the level should be private, school or federation", key);
      break;
    }
    m.vis[f] = (uint8_t)level;
  }
  if (!rc) rc = save_me(t, c, &m, out, p->err);
  am_member_free(&m);
  return rc;
}

static int key_json(const am_mkey *k, void *arg) {
  char key[AM_PUBKEY_TEXT_LEN + 1], added[21], used[21], revoked[21];
  am_pubkey_to_text(k->key, key);
  am_time_format(k->added, added);
  am_time_format(k->last_used, used);
  am_time_format(k->revoked, revoked);
  json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "key", key, "added", added, "last_used",
                        k->last_used ? json_string(used) : json_null(), "revoked",
                        k->revoked ? json_string(revoked) : json_null());
  return o && !json_array_append_new(arg, o) ? 0 : AM_ENOMEM;
}

static int api_me_export(am_txn *t, const am_caller *c, const params *p, int64_t now, json_t **out) {
  static const char *const allowed[] = {NULL};
  int rc = check_keys(p, allowed);
  if (rc) return rc;
  am_member m;
  if ((rc = load_me(t, c, &m, p->err))) return rc;
  json_t *me = me_json(t, c, &m);
  am_member_free(&m);
  if (!me) return AM_ENOMEM;
  /* What the federation holds: the profile this node announces. */
  json_t *profile = json_null();
  am_slot s;
  am_ann a;
  if (am_ann_slot_get(t, c->node_key, AM_K_PROFILE, c->member_id, &s) == 0 &&
      s.state == AM_SLOT_LIVE && am_ann_load(t, s.id, &a, NULL) == 0) {
    profile = am_ann_to_json(&a);
    am_ann_free(&a);
  }
  json_t *keys = json_array();
  if (!keys || (rc = am_accounts_keys_each(t, c->member_id, key_json, keys, p->err))) {
    json_decref(me), json_decref(profile), json_decref(keys);
    return rc ? rc : AM_ENOMEM;
  }
  char when[21];
  am_time_format(now, when);
  json_object_set_new(me, "federated_profile", profile ? profile : json_null());
  json_object_set_new(me, "keys", keys);
  json_object_set_new(me, "exported_at", json_string(when));
  *out = me;
  return 0;
}

static int api_me_erase(am_txn *t, const am_caller *c, const params *p, json_t **out) {
  static const char *const allowed[] = {NULL};
  int rc = check_keys(p, allowed);
  if (rc) return rc;
  am_slot s;
  bool federated = am_ann_slot_get(t, c->node_key, AM_K_PROFILE, c->member_id, &s) == 0 &&
                   s.state == AM_SLOT_LIVE;
  /* Removing the record retracts the federated profile (the retraction
   * travels to every node, which deletes it) and forgets the member's
   * keys, in this one transaction. */
  if ((rc = am_members_remove(t, c->member_id, p->err))) {
    if (rc == AM_ENOTFOUND) return am_fail(p->err, rc, "your member record no longer exists on this node");
    return rc;
  }
  if ((rc = am_accounts_forget_member(t, c->member_id, p->err))) return rc;
  *out = json_pack("{s:b, s:b}", "erased", 1, "profile_retracted", federated);
  return *out ? 0 : AM_ENOMEM;
}

/* ---- dispatch ---------------------------------------------------------------- */

int am_api_call(am_txn *t, const am_caller *c, const char *method, const json_t *params_json,
                int64_t now, json_t **result, am_error *err) {
  *result = NULL;
  const struct method *m = find(method);
  if (!m) return am_fail(err, AM_EUSAGE, "unknown request '%.40s'", method);
  if (m->self && c->viewer != AM_VIEWER_MEMBER)
    return am_fail(err, AM_EUSAGE, "%s is for members, on their own record (amicale login)", method);
  if (m->writes && !t->write) return am_fail(err, AM_EINTERNAL, "%s needs a write transaction", method);
  params p = {.j = params_json, .method = method, .err = err};
  if (params_json && !json_is_object(params_json))
    return am_fail(err, AM_EUSAGE, "%s: the parameters must be a JSON object", method);
  if (!strcmp(method, "search")) return api_people(t, c, &p, false, result);
  if (!strcmp(method, "mentors")) return api_people(t, c, &p, true, result);
  if (!strcmp(method, "events")) return api_listings(t, c, &p, AM_K_EVENT, now, result);
  if (!strcmp(method, "jobs")) return api_listings(t, c, &p, AM_K_JOB, now, result);
  if (!strcmp(method, "digest")) return api_digest(t, c, &p, now, result);
  if (!strcmp(method, "me.show")) {
    static const char *const none[] = {NULL};
    am_member me;
    int rc = check_keys(&p, none);
    if (!rc) rc = load_me(t, c, &me, err);
    if (rc) return rc;
    *result = me_json(t, c, &me);
    am_member_free(&me);
    return *result ? 0 : AM_ENOMEM;
  }
  if (!strcmp(method, "me.edit")) return api_me_edit(t, c, &p, result);
  if (!strcmp(method, "me.consent")) return api_me_consent(t, c, &p, now, result);
  if (!strcmp(method, "me.visibility")) return api_me_visibility(t, c, &p, result);
  if (!strcmp(method, "me.export")) return api_me_export(t, c, &p, now, result);
  return api_me_erase(t, c, &p, result);
}
