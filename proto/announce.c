/* Announcements: field tables, rules, canonical encoder and bounded decoder
 * (see announce.h and docs/PROTOCOL.md, which this file implements). */
#include "proto/announce.h"

#include <ctype.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/member_json.h" /* am_time_format */
#include "proto/mpcheck.h"
#include "proto/text.h"

/* ---- Field tables (PROTOCOL.md section "Bodies" lists the same) ---- */

static const char *const node_kinds[] = {"school", "company", "association",
                                         "federation", NULL};
static const char *const event_status[] = {"scheduled", "cancelled",
                                           "postponed", NULL};
static const char *const contracts[] = {
    "cdi", "cdd", "internship", "work_study", "freelance", "vie",
    "volunteer", "other", NULL};
static const char *const remote_policy[] = {"on_site", "hybrid", "remote", NULL};
static const char *const experience[] = {"any", "entry", "junior", "mid",
                                         "senior", "executive", NULL};
static const char *const salary_period[] = {"year", "month", "day", "hour", NULL};
static const char *const kind_names[] = {"node", "profile", "event", "job",
                                         "retraction", NULL};

#define REQ AM_AF_REQUIRED
#define TXT(n, l, fl, max) {n, l, AM_A_TEXT, fl, 0, max, 0, 0, NULL}
#define LST(n, l, items, max) {n, l, AM_A_LIST, 0, items, max, 0, 0, NULL}
#define ENM(n, l, fl, names) {n, l, AM_A_ENUM, fl, 0, 0, 0, 0, names}
#define U64(n, l, fl, lo, hi) {n, l, AM_A_UINT, fl, 0, 0, lo, hi, NULL}
#define TIM(n, l, fl) {n, l, AM_A_TIME, fl, 0, 0, 0, 0, NULL}
#define DAT(n, l, fl) {n, l, AM_A_DATE, fl, 0, 0, 0, 0, NULL}
#define BOO(n, l, fl) {n, l, AM_A_BOOL, fl, 0, 0, 0, 0, NULL}

static const am_afield node_fields[AM_NODE__N] = {
    [AM_NODE_NAME] = TXT("name", "Name", REQ, 200),
    [AM_NODE_KIND] = ENM("kind", "Kind of institution", REQ, node_kinds),
    [AM_NODE_COUNTRY] = TXT("country", "Country", 0, 100),
    [AM_NODE_CITY] = TXT("city", "City", 0, 100),
    [AM_NODE_WEBSITE] = TXT("website", "Website", AM_AF_URL, 300),
    [AM_NODE_CONTACT] = TXT("contact", "Contact", 0, 254),
    [AM_NODE_ADDRESSES] = LST("addresses", "Addresses", 8, 261),
};

/* Mirrors the member profile fields (proto/member.c) but is written out:
 * the protocol must not change because a local field was added. A unit
 * test checks the two agree on names, types and limits. */
static const am_afield profile_fields[AM_F__PROFILE_COUNT] = {
    [AM_F_GIVEN_NAME] = TXT("given_name", "Given name", 0, 100),
    [AM_F_FAMILY_NAME] = TXT("family_name", "Family name", 0, 100),
    [AM_F_USUAL_NAME] = TXT("usual_name", "Usual name", 0, 100),
    [AM_F_EMAILS] = LST("emails", "Emails", 8, 254),
    [AM_F_PHONE] = TXT("phone", "Phone", 0, 40),
    [AM_F_PROMO] = U64("promo", "Graduation year", 0, AM_YEAR_MIN, AM_YEAR_MAX),
    [AM_F_PROGRAMME] = TXT("programme", "Programme", 0, 200),
    [AM_F_DIPLOMA] = TXT("diploma", "Diploma", 0, 200),
    [AM_F_DEPARTMENT] = TXT("department", "Department", 0, 200),
    [AM_F_EMPLOYER] = TXT("employer", "Employer", 0, 200),
    [AM_F_JOB_TITLE] = TXT("job_title", "Job title", 0, 200),
    [AM_F_SECTOR] = TXT("sector", "Sector", 0, 100),
    [AM_F_CITY] = TXT("city", "City", 0, 100),
    [AM_F_COUNTRY] = TXT("country", "Country", 0, 100),
    [AM_F_SKILLS] = LST("skills", "Skills", 50, 100),
    [AM_F_LANGUAGES] = LST("languages", "Languages", 20, 50),
    [AM_F_LINKEDIN] = TXT("linkedin", "LinkedIn", AM_AF_URL, 300),
    [AM_F_WEBSITE] = TXT("website", "Website", AM_AF_URL, 300),
    [AM_F_BIO] = TXT("bio", "Bio", AM_AF_MULTILINE, 2000),
    [AM_F_MENTORING] = BOO("mentoring", "Mentoring", 0),
    [AM_F_MENTORING_TOPICS] = LST("mentoring_topics", "Mentoring topics", 20, 100),
};

static const am_afield event_fields[AM_EV__N] = {
    [AM_EV_TITLE] = TXT("title", "Title", REQ, 200),
    [AM_EV_DESCRIPTION] = TXT("description", "Description", AM_AF_MULTILINE, 4000),
    [AM_EV_STARTS_AT] = TIM("starts_at", "Starts", REQ),
    [AM_EV_ENDS_AT] = TIM("ends_at", "Ends", 0),
    [AM_EV_TIMEZONE] = TXT("timezone", "Time zone", REQ, 64),
    [AM_EV_VENUE] = TXT("venue", "Venue", 0, 200),
    [AM_EV_CITY] = TXT("city", "City", 0, 100),
    [AM_EV_COUNTRY] = TXT("country", "Country", 0, 100),
    [AM_EV_ONLINE] = TXT("online_url", "Online link", AM_AF_URL, 500),
    [AM_EV_ORGANISER] = TXT("organiser", "Organiser", 0, 200),
    [AM_EV_CAPACITY] = U64("capacity", "Capacity", 0, 1, 1000000),
    [AM_EV_LANGUAGE] = TXT("language", "Language", 0, 35),
    [AM_EV_TAGS] = LST("tags", "Tags", 20, 50),
    [AM_EV_REGISTRATION] = TXT("registration", "Registration", 0, 500),
    [AM_EV_STATUS] = ENM("status", "Status", REQ, event_status),
};

static const am_afield job_fields[AM_JOB__N] = {
    [AM_JOB_TITLE] = TXT("title", "Title", REQ, 200),
    [AM_JOB_EMPLOYER] = TXT("employer", "Employer", REQ, 200),
    [AM_JOB_CONTRACT] = ENM("contract", "Contract", REQ, contracts),
    [AM_JOB_CITY] = TXT("city", "City", 0, 100),
    [AM_JOB_COUNTRY] = TXT("country", "Country", 0, 100),
    [AM_JOB_REMOTE] = ENM("remote", "Remote work", 0, remote_policy),
    [AM_JOB_DESCRIPTION] = TXT("description", "Description", AM_AF_MULTILINE, 8000),
    [AM_JOB_SKILLS] = LST("skills", "Skills", 30, 100),
    [AM_JOB_EXPERIENCE] = ENM("experience", "Experience", 0, experience),
    [AM_JOB_SALARY_MIN] = U64("salary_min", "Salary from", 0, 0, 1000000000),
    [AM_JOB_SALARY_MAX] = U64("salary_max", "Salary up to", 0, 0, 1000000000),
    [AM_JOB_CURRENCY] = TXT("currency", "Currency", 0, 3),
    [AM_JOB_SALARY_PERIOD] = ENM("salary_period", "Salary per", 0, salary_period),
    [AM_JOB_APPLY] = TXT("apply", "How to apply", REQ, 500),
    [AM_JOB_POSTED] = DAT("posted", "Posted", REQ),
    [AM_JOB_VALID_THROUGH] = DAT("valid_through", "Valid through", REQ),
    [AM_JOB_ALUMNI_ONLY] = BOO("alumni_only", "Reserved to alumni", REQ),
};

static const am_afield retraction_fields[AM_RET__N] = {
    [AM_RET_KIND] = ENM("kind", "Kind withdrawn", REQ, kind_names),
    [AM_RET_REASON] = TXT("reason", "Reason", 0, 200),
};

const am_kind_desc am_ann_kinds[AM_K__COUNT] = {
    [AM_K_NODE] = {"node", node_fields, AM_NODE__N},
    [AM_K_PROFILE] = {"profile", profile_fields, AM_F__PROFILE_COUNT},
    [AM_K_EVENT] = {"event", event_fields, AM_EV__N},
    [AM_K_JOB] = {"job", job_fields, AM_JOB__N},
    [AM_K_RETRACTION] = {"retraction", retraction_fields, AM_RET__N},
};

_Static_assert(AM_F__PROFILE_COUNT <= AM_ANN_MAX_FIELDS, "profile body fits");
_Static_assert(AM_JOB__N <= AM_ANN_MAX_FIELDS, "job body fits");
_Static_assert(AM_EV__N <= AM_ANN_MAX_FIELDS, "event body fits");

static const char *const reject_names[AM_REJ__COUNT] = {
    [AM_REJ_NONE] = "accepted",
    [AM_REJ_MALFORMED] = "malformed",
    [AM_REJ_TOO_LARGE] = "too-large",
    [AM_REJ_NONCANONICAL] = "non-canonical",
    [AM_REJ_UNSUPPORTED] = "unsupported-format",
    [AM_REJ_BAD_SIGNATURE] = "bad-signature",
    [AM_REJ_UNKNOWN_ORIGIN] = "unknown-origin",
    [AM_REJ_STALE] = "stale",
    [AM_REJ_EXPIRED] = "expired",
    [AM_REJ_FUTURE] = "from-the-future",
    [AM_REJ_CONFLICT] = "version-conflict",
};

const char *am_reject_name(int reason) {
  return reason >= 0 && reason < AM_REJ__COUNT ? reject_names[reason] : "unknown";
}

int am_ann_kind_parse(const char *s) {
  for (int k = 0; k < AM_K__COUNT; k++)
    if (strcmp(s, am_ann_kinds[k].name) == 0) return k;
  return -1;
}

static uint32_t enum_count(const am_afield *fd) {
  uint32_t n = 0;
  while (fd->names[n]) n++;
  return n;
}

/* ---- Records ---- */

void am_ann_init(am_ann *a, int kind) {
  memset(a, 0, sizeof *a);
  a->kind = (uint8_t)kind;
}

static void val_free(am_aval *v) {
  free(v->s);
  for (uint32_t i = 0; i < v->l.n; i++) free(v->l.v[i]);
  free(v->l.v);
  memset(v, 0, sizeof *v);
}

void am_ann_free(am_ann *a) {
  for (uint32_t i = 0; i < AM_ANN_MAX_FIELDS; i++) val_free(&a->body[i]);
}

/* ---- Rules ---- */

/* Text as the wire allows it: valid UTF-8, 1..max bytes, no C0/C1 control
 * characters or DEL (LF allowed in multi-line fields). */
static int check_text(const am_afield *fd, const char *s, size_t n,
                      am_error *err) {
  if (n == 0) return am_fail(err, AM_EINVAL, "is empty (absent values are nil)");
  if (n > fd->max_len)
    return am_fail(err, AM_EINVAL, "is longer than %u bytes", (unsigned)fd->max_len);
  /* One pass for the ASCII controls; the UTF-8 walk and the C1 controls
   * (U+0080-U+009F, written c2 80..c2 9f) only for text that has non-ASCII
   * bytes. Most text does not: decoding is on the ingest path. */
  bool ascii = true;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) ascii = false;
    else if ((c < 0x20 && !(c == '\n' && (fd->flags & AM_AF_MULTILINE))) || c == 0x7f)
      return am_fail(err, AM_EINVAL, "contains a control character (byte %zu)", i);
  }
  if (!ascii) {
    if (!am_utf8_valid(s, n)) return am_fail(err, AM_EINVAL, "is not valid UTF-8");
    for (size_t i = 0; i + 1 < n; i++)
      if ((unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] < 0xa0)
        return am_fail(err, AM_EINVAL, "contains a control character (byte %zu)", i);
  }
  if (fd->flags & AM_AF_URL) {
    if (!(n > 7 && strncmp(s, "http://", 7) == 0) &&
        !(n > 8 && strncmp(s, "https://", 8) == 0))
      return am_fail(err, AM_EINVAL, "is not an http:// or https:// address");
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)s[i] == ' ')
        return am_fail(err, AM_EINVAL, "is not a web address (it contains a space)");
  }
  return 0;
}

static int check_value(const am_afield *fd, const am_aval *v, am_error *err) {
  if (!v->set) {
    if (fd->flags & AM_AF_REQUIRED) return am_fail(err, AM_EINVAL, "is required");
    return 0;
  }
  switch (fd->type) {
  case AM_A_TEXT:
    return check_text(fd, v->s ? v->s : "", v->s ? strlen(v->s) : 0, err);
  case AM_A_LIST:
    if (v->l.n == 0) return am_fail(err, AM_EINVAL, "is an empty list (absent values are nil)");
    if (v->l.n > fd->max_items)
      return am_fail(err, AM_EINVAL, "has more than %u items", (unsigned)fd->max_items);
    for (uint32_t i = 0; i < v->l.n; i++) {
      int rc = check_text(fd, v->l.v[i], strlen(v->l.v[i]), err);
      if (rc) { am_error_prefix(err, "item %u: ", (unsigned)i + 1); return rc; }
    }
    return 0;
  case AM_A_UINT:
    if (v->u < fd->min || v->u > fd->max)
      return am_fail(err, AM_EINVAL, "%" PRIu64 " is out of range (%" PRIu64 " to %" PRIu64 ")",
                     v->u, fd->min, fd->max);
    return 0;
  case AM_A_BOOL:
    return v->u > 1 ? am_fail(err, AM_EINVAL, "is not a boolean") : 0;
  case AM_A_ENUM:
    return v->u >= enum_count(fd)
               ? am_fail(err, AM_EINVAL, "%" PRIu64 " is not one of its %u values", v->u,
                         (unsigned)enum_count(fd))
               : 0;
  case AM_A_TIME:
    return v->u > AM_ANN_TIME_MAX ? am_fail(err, AM_EINVAL, "is after the year 9999") : 0;
  case AM_A_DATE:
    return v->u > UINT32_MAX || !am_date_valid((uint32_t)v->u) || v->u < 19000101
               ? am_fail(err, AM_EINVAL, "%" PRIu64 " is not a date (YYYYMMDD)", v->u)
               : 0;
  }
  return am_fail(err, AM_EINTERNAL, "unknown field type");
}

int am_ann_check(const am_ann *a, am_error *err) {
  if (a->kind >= AM_K__COUNT)
    return am_fail(err, AM_EINVAL, "kind %u is not a known kind", (unsigned)a->kind);
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  if (a->object > AM_ANN_OBJECT_MAX)
    return am_fail(err, AM_EINVAL, "object id is above 2^53-1");
  if (a->version < 1 || a->version > AM_ANN_VERSION_MAX)
    return am_fail(err, AM_EINVAL, "version must be 1 to 2^53-1");
  if (a->created > AM_ANN_TIME_MAX)
    return am_fail(err, AM_EINVAL, "created time is after the year 9999");
  bool expiring = a->kind == AM_K_EVENT || a->kind == AM_K_JOB;
  if (expiring && !a->expires)
    return am_fail(err, AM_EINVAL, "an %s must have an expiry time", kd->name);
  if (!expiring && a->expires)
    return am_fail(err, AM_EINVAL, "a %s announcement does not expire (expires must be 0)",
                   kd->name);
  if (a->expires && (a->expires <= a->created || a->expires > AM_ANN_TIME_MAX))
    return am_fail(err, AM_EINVAL, "expiry time must be after the creation time");
  if (a->kind == AM_K_NODE && a->object != 0)
    return am_fail(err, AM_EINVAL, "a node announcement has object id 0");
  for (uint32_t f = 0; f < AM_ANN_MAX_FIELDS; f++) {
    if (f >= kd->nfields) {
      if (a->body[f].set) return am_fail(err, AM_EINVAL, "body has too many fields");
      continue;
    }
    int rc = check_value(&kd->fields[f], &a->body[f], err);
    if (rc) {
      am_error_prefix(err, "%s field '%s': ", kd->name, kd->fields[f].name);
      return rc;
    }
  }
  const am_aval *b = a->body;
  switch (a->kind) {
  case AM_K_EVENT:
    if (b[AM_EV_ENDS_AT].set && b[AM_EV_ENDS_AT].u < b[AM_EV_STARTS_AT].u)
      return am_fail(err, AM_EINVAL, "event ends before it starts");
    break;
  case AM_K_JOB:
    if (b[AM_JOB_SALARY_MIN].set && b[AM_JOB_SALARY_MAX].set &&
        b[AM_JOB_SALARY_MIN].u > b[AM_JOB_SALARY_MAX].u)
      return am_fail(err, AM_EINVAL, "job salary_min is above salary_max");
    if ((b[AM_JOB_SALARY_MIN].set || b[AM_JOB_SALARY_MAX].set) &&
        !b[AM_JOB_CURRENCY].set)
      return am_fail(err, AM_EINVAL, "job salary given without a currency");
    if (b[AM_JOB_CURRENCY].set) {
      const char *c = b[AM_JOB_CURRENCY].s;
      /* A-Z by value: isupper() would follow the locale. */
      bool code = strlen(c) == 3;
      for (int i = 0; code && i < 3; i++) code = c[i] >= 'A' && c[i] <= 'Z';
      if (!code)
        return am_fail(err, AM_EINVAL, "job currency '%s' is not an ISO 4217 code (EUR)", c);
    }
    if (b[AM_JOB_VALID_THROUGH].u < b[AM_JOB_POSTED].u)
      return am_fail(err, AM_EINVAL, "job valid_through is before posted");
    break;
  case AM_K_RETRACTION:
    if (b[AM_RET_KIND].u == AM_K_RETRACTION)
      return am_fail(err, AM_EINVAL, "a retraction cannot withdraw a retraction");
    if (b[AM_RET_KIND].u == AM_K_NODE && a->object != 0)
      return am_fail(err, AM_EINVAL, "a node retraction has object id 0");
    break;
  default:
    break;
  }
  return 0;
}

/* ---- Encoder ---- */

static int buf_write(void *data, const char *p, size_t n) {
  return am_buf_append(data, p, n) ? -1 : 0;
}

static int pack_text(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int pack_body(msgpack_packer *pk, const am_ann *a) {
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  int rc = msgpack_pack_array(pk, kd->nfields);
  for (uint32_t f = 0; f < kd->nfields; f++) {
    const am_aval *v = &a->body[f];
    if (!v->set) { rc |= msgpack_pack_nil(pk); continue; }
    switch (kd->fields[f].type) {
    case AM_A_TEXT: rc |= pack_text(pk, v->s); break;
    case AM_A_LIST:
      rc |= msgpack_pack_array(pk, v->l.n);
      for (uint32_t i = 0; i < v->l.n; i++) rc |= pack_text(pk, v->l.v[i]);
      break;
    case AM_A_BOOL: rc |= v->u ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    default: rc |= msgpack_pack_uint64(pk, v->u); break;
    }
  }
  return rc;
}

int am_ann_encode_signed(const am_ann *a, am_buf *out) {
  if (a->kind >= AM_K__COUNT) return AM_EUSAGE;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = msgpack_pack_array(&pk, 8);
  rc |= msgpack_pack_uint64(&pk, AM_ANN_FORMAT);
  rc |= msgpack_pack_uint64(&pk, a->kind);
  rc |= msgpack_pack_bin(&pk, AM_ANN_KEY_BYTES);
  rc |= msgpack_pack_bin_body(&pk, a->origin, AM_ANN_KEY_BYTES);
  rc |= msgpack_pack_uint64(&pk, a->object);
  rc |= msgpack_pack_uint64(&pk, a->version);
  rc |= msgpack_pack_uint64(&pk, a->created);
  rc |= msgpack_pack_uint64(&pk, a->expires);
  rc |= pack_body(&pk, a);
  return rc ? AM_ENOMEM : 0;
}

int am_ann_envelope(const uint8_t *signed_part, size_t signed_len,
                    const uint8_t sig[static AM_ANN_SIG_BYTES], am_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = msgpack_pack_array(&pk, 2);
  rc |= msgpack_pack_bin(&pk, signed_len);
  rc |= msgpack_pack_bin_body(&pk, signed_part, signed_len);
  rc |= msgpack_pack_bin(&pk, AM_ANN_SIG_BYTES);
  rc |= msgpack_pack_bin_body(&pk, sig, AM_ANN_SIG_BYTES);
  return rc ? AM_ENOMEM : 0;
}

/* ---- Framing ---- */

/* Reads the envelope header: 0x92, then a bin header. *hdr gets the bytes
 * before the signed part, *n its declared length. */
static int envelope_head(const uint8_t *p, size_t len, size_t *hdr, uint64_t *n) {
  if (len < 2 || p[0] != 0x92) return AM_REJ_MALFORMED;
  switch (p[1]) {
  case 0xc4:
    if (len < 3) return AM_REJ_MALFORMED;
    *n = p[2], *hdr = 3;
    return 0;
  case 0xc5:
    if (len < 4) return AM_REJ_MALFORMED;
    *n = (uint64_t)p[2] << 8 | p[3], *hdr = 4;
    return 0;
  case 0xc6:
    if (len < 6) return AM_REJ_MALFORMED;
    *n = (uint64_t)p[2] << 24 | (uint64_t)p[3] << 16 | (uint64_t)p[4] << 8 | p[5];
    *hdr = 6;
    return 0;
  default:
    return AM_REJ_MALFORMED;
  }
}

int am_ann_frame(const uint8_t *p, size_t len, size_t *used, int *reason) {
  size_t hdr;
  uint64_t n;
  int r = envelope_head(p, len, &hdr, &n);
  if (r) { *reason = r; return AM_EINVAL; }
  uint64_t total = hdr + n + 2 + AM_ANN_SIG_BYTES;
  if (total > AM_ANN_MAX_BYTES) { *reason = AM_REJ_TOO_LARGE; return AM_EINVAL; }
  if (total > len) { *reason = AM_REJ_MALFORMED; return AM_EINVAL; }
  *used = (size_t)total;
  *reason = AM_REJ_NONE;
  return 0;
}

int am_ann_span(const uint8_t *p, size_t len, const uint8_t **signed_part,
                size_t *signed_len, const uint8_t **sig) {
  size_t hdr, used;
  uint64_t n;
  int reason;
  if (am_ann_frame(p, len, &used, &reason) || used != len ||
      envelope_head(p, len, &hdr, &n))
    return AM_EINVAL;
  *signed_part = p + hdr;
  *signed_len = (size_t)n;
  *sig = p + hdr + n + 2;
  return 0;
}

/* ---- Decoder ---- */

typedef struct dec {
  int *reason;
  am_error *err;
} dec;

static int malformed(dec *d, const char *what) {
  *d->reason = AM_REJ_MALFORMED;
  return am_fail(d->err, AM_EINVAL, "%s", what);
}

static bool is_uint(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static int copy_str(const msgpack_object *o, char **out) {
  uint32_t n = o->via.str.size;
  char *s = malloc((size_t)n + 1);
  if (!s) return AM_ENOMEM;
  if (n) memcpy(s, o->via.str.ptr, n);
  s[n] = '\0';
  *out = s;
  return 0;
}

static int decode_value(dec *d, const am_afield *fd, const msgpack_object *o,
                        am_aval *v) {
  if (o->type == MSGPACK_OBJECT_NIL) return 0; /* check_value decides */
  switch (fd->type) {
  case AM_A_TEXT:
    if (o->type != MSGPACK_OBJECT_STR) return malformed(d, "is not a string");
    if (memchr(o->via.str.ptr, 0, o->via.str.size))
      return malformed(d, "contains a NUL byte");
    if (copy_str(o, &v->s)) return AM_ENOMEM;
    break;
  case AM_A_LIST:
    if (o->type != MSGPACK_OBJECT_ARRAY) return malformed(d, "is not an array");
    if (o->via.array.size > fd->max_items)
      return malformed(d, "has too many items");
    if (o->via.array.size) {
      v->l.v = calloc(o->via.array.size, sizeof *v->l.v);
      if (!v->l.v) return AM_ENOMEM;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
      const msgpack_object *it = &o->via.array.ptr[i];
      if (it->type != MSGPACK_OBJECT_STR) return malformed(d, "has an item that is not a string");
      if (memchr(it->via.str.ptr, 0, it->via.str.size))
        return malformed(d, "contains a NUL byte");
      if (copy_str(it, &v->l.v[i])) return AM_ENOMEM;
      v->l.n++;
    }
    break;
  case AM_A_BOOL:
    if (o->type != MSGPACK_OBJECT_BOOLEAN) return malformed(d, "is not a boolean");
    v->u = o->via.boolean;
    break;
  default:
    if (!is_uint(o)) return malformed(d, "is not a non-negative integer");
    v->u = o->via.u64;
    break;
  }
  v->set = true;
  return 0;
}

static int decode_signed(dec *d, const msgpack_object *o, am_ann *a) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1)
    return malformed(d, "signed part is not an array");
  const msgpack_object *e = o->via.array.ptr;
  if (!is_uint(&e[0])) return malformed(d, "format version is not an integer");
  if (e[0].via.u64 != AM_ANN_FORMAT) {
    *d->reason = AM_REJ_UNSUPPORTED;
    return am_fail(d->err, AM_EINVAL, "format version %" PRIu64 " is not supported (this node reads %d)",
                   e[0].via.u64, AM_ANN_FORMAT);
  }
  if (o->via.array.size != 8)
    return malformed(d, o->via.array.size < 8 ? "signed part has too few elements (expected 8)"
                                              : "signed part has too many elements (expected 8)");
  if (!is_uint(&e[1]) || e[1].via.u64 >= AM_K__COUNT)
    return malformed(d, "kind is unknown");
  a->kind = (uint8_t)e[1].via.u64;
  if (e[2].type != MSGPACK_OBJECT_BIN || e[2].via.bin.size != AM_ANN_KEY_BYTES)
    return malformed(d, "origin is not a 32-byte key");
  memcpy(a->origin, e[2].via.bin.ptr, AM_ANN_KEY_BYTES);
  static const char *const names[] = {"object id", "version", "created time", "expiry time"};
  uint64_t *dst[] = {&a->object, &a->version, &a->created, &a->expires};
  for (int i = 0; i < 4; i++) {
    if (!is_uint(&e[3 + i])) {
      *d->reason = AM_REJ_MALFORMED;
      return am_fail(d->err, AM_EINVAL, "%s is not a non-negative integer", names[i]);
    }
    *dst[i] = e[3 + i].via.u64;
  }
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  const msgpack_object *b = &e[7];
  if (b->type != MSGPACK_OBJECT_ARRAY)
    return malformed(d, "body is not an array");
  if (b->via.array.size != kd->nfields) {
    *d->reason = AM_REJ_MALFORMED;
    return am_fail(d->err, AM_EINVAL, "%s body has %u fields (expected %u)", kd->name,
                   (unsigned)b->via.array.size, (unsigned)kd->nfields);
  }
  for (uint32_t f = 0; f < kd->nfields; f++) {
    int rc = decode_value(d, &kd->fields[f], &b->via.array.ptr[f], &a->body[f]);
    if (rc) {
      am_error_prefix(d->err, "%s field '%s': ", kd->name, kd->fields[f].name);
      return rc;
    }
  }
  return 0;
}

int am_ann_decode(const uint8_t *p, size_t len, am_ann *a, int *reason,
                  am_error *err) {
  dec d = {reason, err};
  am_ann_init(a, 0);
  *reason = AM_REJ_MALFORMED;
  if (len > AM_ANN_MAX_BYTES) {
    *reason = AM_REJ_TOO_LARGE;
    return am_fail(err, AM_EINVAL, "announcement is %zu bytes (at most %d)", len,
                   AM_ANN_MAX_BYTES);
  }
  size_t used, hdr = 0;
  uint64_t n = 0;
  if (am_ann_frame(p, len, &used, reason)) {
    if (*reason == AM_REJ_TOO_LARGE)
      return am_fail(err, AM_EINVAL, "announcement declares more than %d bytes",
                     AM_ANN_MAX_BYTES);
    return am_fail(err, AM_EINVAL, "not an announcement envelope, or cut short");
  }
  if (used != len) {
    *reason = AM_REJ_MALFORMED;
    return am_fail(err, AM_EINVAL, "%zu bytes follow the announcement", len - used);
  }
  envelope_head(p, len, &hdr, &n);
  const uint8_t *sp = p + hdr, *sig = p + hdr + n;
  if (sig[0] != 0xc4 || sig[1] != AM_ANN_SIG_BYTES)
    return malformed(&d, "signature is not a 64-byte bin");
  memcpy(a->sig, sig + 2, AM_ANN_SIG_BYTES);

  /* The format version first (array header, then a positive fixint in
   * every format so far): a node meeting a newer format says so, whatever
   * that format contains. */
  if (n >= 2 && (sp[0] & 0xf0) == 0x90 && sp[1] <= 0x7f && sp[1] != AM_ANN_FORMAT) {
    *reason = AM_REJ_UNSUPPORTED;
    return am_fail(err, AM_EINVAL, "format version %u is not supported (this node reads %d)",
                   (unsigned)sp[1], AM_ANN_FORMAT);
  }
  /* Bounded walk first: msgpack-c allocates what headers declare. */
  size_t sused;
  if (am_mp_check(sp, (size_t)n, AM_ANN_MAX_DEPTH - 1, 0, &sused) || sused != n)
    return malformed(&d, "signed part is not one msgpack value within the limits (floats, "
                         "ext types, nesting deeper than 3 and lengths past the end are "
                         "refused)");
  msgpack_zone zone;
  if (!msgpack_zone_init(&zone, 1024)) return AM_ENOMEM;
  msgpack_object o;
  size_t off = 0;
  int rc;
  if (msgpack_unpack((const char *)sp, (size_t)n, &off, &zone, &o) != MSGPACK_UNPACK_SUCCESS)
    rc = malformed(&d, "signed part does not decode");
  else
    rc = decode_signed(&d, &o, a);
  msgpack_zone_destroy(&zone);
  if (rc) goto fail;

  if ((rc = am_ann_check(a, err))) {
    *reason = AM_REJ_MALFORMED;
    goto fail;
  }
  /* Canonical form: the one encoding of what we decoded, byte for byte,
   * and the shortest bin header around it. */
  size_t want_hdr = n < 256 ? 3 : n < 65536 ? 4 : 6;
  am_buf re = {0};
  if ((rc = am_ann_encode_signed(a, &re))) goto fail;
  bool same = re.len == n && memcmp(re.data, sp, (size_t)n) == 0;
  am_buf_free(&re);
  if (!same || hdr != want_hdr) {
    *reason = AM_REJ_NONCANONICAL;
    rc = am_fail(err, AM_EINVAL,
                 "not in canonical form (integers and lengths must use their shortest "
                 "encoding)");
    goto fail;
  }
  *reason = AM_REJ_NONE;
  return 0;
fail:
  if (rc == AM_ENOMEM) am_fail(err, rc, "out of memory decoding an announcement");
  am_ann_free(a);
  return rc;
}

/* ---- Text forms ---- */

void am_ann_id_hex(const uint8_t id[static AM_ANN_ID_BYTES], char out[static 65]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < AM_ANN_ID_BYTES; i++) {
    out[2 * i] = hex[id[i] >> 4];
    out[2 * i + 1] = hex[id[i] & 15];
  }
  out[64] = '\0';
}

/* A day of the Gregorian calendar. Not am_date_valid: that one is for
 * member dates (years 1900-2100), while times run to AM_ANN_TIME_MAX and
 * the JSON form must read back every time it writes (2106-02-07T06:28:16Z). */
static bool real_day(int y, int mo, int d) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[mo - 1] + (mo == 2 && leap);
}

/* "2026-12-10T18:30:00Z", "2026-12-10T18:30Z", "...+01:00", or Unix seconds. */
static int parse_time(const char *s, uint64_t *out) {
  size_t n = strlen(s);
  bool digits = n > 0 && n <= 12;
  for (size_t i = 0; i < n && digits; i++) digits = isdigit((unsigned char)s[i]);
  if (digits) {
    *out = strtoull(s, NULL, 10);
    return *out > AM_ANN_TIME_MAX ? AM_EINVAL : 0;
  }
  /* sscanf's %d also takes blanks and signs ("2026- 1-10", "18:+3"):
   * the shape is checked digit by digit first. */
  static const char shape[] = "dddd-dd-ddTdd:dd";
  for (size_t i = 0; i < sizeof shape - 1; i++) {
    char c = s[i], want = shape[i]; /* s[i] is NUL at the latest at n */
    bool ok = want == 'd' ? isdigit((unsigned char)c) != 0
              : want == 'T' ? c == 'T' || c == ' '
                            : c == want;
    if (!ok) return AM_EINVAL;
  }
  int y, mo, d, h, mi, sec = 0, consumed = 0;
  if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &consumed) != 5 ||
      consumed != 16)
    return AM_EINVAL;
  const char *r = s + consumed;
  if (*r == ':') {
    if (!isdigit((unsigned char)r[1]) || !isdigit((unsigned char)r[2])) return AM_EINVAL;
    sec = (r[1] - '0') * 10 + (r[2] - '0');
    r += 3;
  }
  long off = 0;
  if (*r == 'Z' && !r[1]) {
    off = 0;
  } else if ((*r == '+' || *r == '-') && strlen(r) == 6 && r[3] == ':' &&
             isdigit((unsigned char)r[1]) && isdigit((unsigned char)r[2]) &&
             isdigit((unsigned char)r[4]) && isdigit((unsigned char)r[5])) {
    long oh = (r[1] - '0') * 10 + (r[2] - '0'), om = (r[4] - '0') * 10 + (r[5] - '0');
    if (oh > 23 || om > 59) return AM_EINVAL; /* "+99:99" is no offset */
    off = oh * 3600L + om * 60L;
    if (*r == '-') off = -off;
  } else {
    return AM_EINVAL;
  }
  if (!real_day(y, mo, d) || h > 23 || mi > 59 || sec > 59 || y < 1970)
    return AM_EINVAL;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                  .tm_hour = h, .tm_min = mi, .tm_sec = sec};
  time_t t = timegm(&tm);
  if (t == (time_t)-1 || (int64_t)t - off < 0) return AM_EINVAL;
  *out = (uint64_t)((int64_t)t - off);
  return *out > AM_ANN_TIME_MAX ? AM_EINVAL : 0;
}

int am_time_parse(const char *s, uint64_t *out) { return parse_time(s, out); }

static int set_text(const am_afield *fd, const char *value, char **out,
                    am_error *err) {
  int rc = am_text_clean(value, strlen(value), fd->max_len,
                         (fd->flags & AM_AF_MULTILINE) ? AM_TEXT_MULTILINE : 0, out, err);
  if (rc) return rc;
  if ((fd->flags & AM_AF_URL) && **out) rc = am_url_normalise(out, fd->max_len, err);
  if (rc) { free(*out); *out = NULL; }
  return rc;
}

int am_ann_set(am_ann *a, uint32_t f, const char *value, am_error *err) {
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  if (f >= kd->nfields) return am_fail(err, AM_EUSAGE, "no such field");
  const am_afield *fd = &kd->fields[f];
  am_aval v = {0};
  int rc = 0;
  size_t n = strlen(value);
  while (n && isspace((unsigned char)value[n - 1])) n--;
  while (n && isspace((unsigned char)*value)) value++, n--;
  if (n == 0) { val_free(&a->body[f]); return 0; }
  switch (fd->type) {
  case AM_A_TEXT:
    if ((rc = set_text(fd, value, &v.s, err))) return rc;
    if (!*v.s) { free(v.s); val_free(&a->body[f]); return 0; }
    /* Currency codes are upper-case ISO 4217 ("eur" is meant as EUR). */
    if (a->kind == AM_K_JOB && f == AM_JOB_CURRENCY)
      for (char *p = v.s; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    break;
  case AM_A_LIST: {
    const char *p = value;
    while (*p) {
      size_t k = strcspn(p, ";,");
      char *item = strndup(p, k), *clean = NULL;
      if (!item) { rc = AM_ENOMEM; break; }
      rc = set_text(fd, item, &clean, err);
      free(item);
      if (rc) break;
      if (*clean) {
        if (v.l.n >= fd->max_items) {
          free(clean);
          rc = am_fail(err, AM_EINVAL, "has more than %u items", (unsigned)fd->max_items);
          break;
        }
        char **nv = realloc(v.l.v, (v.l.n + 1) * sizeof *nv);
        if (!nv) { free(clean); rc = AM_ENOMEM; break; }
        v.l.v = nv;
        v.l.v[v.l.n++] = clean;
      } else {
        free(clean);
      }
      p += k;
      if (*p) p++;
    }
    if (rc) { val_free(&v); return rc; }
    if (!v.l.n) { val_free(&v); val_free(&a->body[f]); return 0; }
    break;
  }
  case AM_A_UINT: {
    char *end;
    bool ok = isdigit((unsigned char)*value);
    unsigned long long u = ok ? strtoull(value, &end, 10) : 0;
    if (!ok || (size_t)(end - value) != n || u < fd->min || u > fd->max)
      return am_fail(err, AM_EINVAL, "'%s' is not a number from %" PRIu64 " to %" PRIu64, value,
                     fd->min, fd->max);
    v.u = u;
    break;
  }
  case AM_A_BOOL: {
    bool b;
    if (am_bool_parse(value, n, &b))
      return am_fail(err, AM_EINVAL, "'%s' is not yes or no", value);
    v.u = b;
    break;
  }
  case AM_A_ENUM: {
    uint32_t k = 0;
    for (; fd->names[k]; k++) {
      if (strlen(fd->names[k]) != n) continue;
      bool eq = true;
      for (size_t i = 0; i < n && eq; i++) {
        char c = (char)tolower((unsigned char)value[i]);
        eq = (c == '-' ? '_' : c) == fd->names[k][i];
      }
      if (eq) break;
    }
    /* The French words alumni managers use for contracts. */
    static const struct { const char *word, *name; } alias[] = {
      {"stage", "internship"}, {"alternance", "work_study"}, {"apprentissage", "work_study"},
      {"mission", "freelance"}, {"independant", "freelance"}, {"benevolat", "volunteer"},
      {"teletravail", "remote"}, {"presentiel", "on_site"}, {"hybride", "hybrid"},
    };
    for (size_t i = 0; !fd->names[k] && i < sizeof alias / sizeof *alias; i++) {
      if (strlen(alias[i].word) != n || strncasecmp(alias[i].word, value, n)) continue;
      for (uint32_t j = 0; fd->names[j]; j++)
        if (!strcmp(fd->names[j], alias[i].name)) { k = j; break; }
    }
    if (!fd->names[k]) {
      am_buf all = {0};
      for (uint32_t i = 0; fd->names[i]; i++)
        am_buf_printf(&all, "%s%s", i ? ", " : "", fd->names[i]);
      rc = am_fail(err, AM_EINVAL, "'%s' is not one of: %s", value, all.data ? all.data : "");
      am_buf_free(&all);
      return rc;
    }
    v.u = k;
    break;
  }
  case AM_A_TIME: {
    /* parse_time reads up to the NUL: give it the value without the
     * trailing blanks trimmed above ("1796927400 " is a time). */
    char t[40]; /* longer than any time it accepts */
    bool ok = n < sizeof t;
    if (ok) {
      memcpy(t, value, n);
      t[n] = '\0';
      ok = parse_time(t, &v.u) == 0;
    }
    if (!ok)
      return am_fail(err, AM_EINVAL,
                     "'%.*s' is not a time (YYYY-MM-DDTHH:MM with Z or +HH:MM, or Unix seconds)",
                     (int)(n > 100 ? 100 : n), value);
    break;
  }
  case AM_A_DATE: {
    uint32_t ymd;
    if (am_date_parse(value, n, &ymd))
      return am_fail(err, AM_EINVAL, "'%s' is not a date (YYYY-MM-DD or DD/MM/YYYY)", value);
    v.u = ymd;
    break;
  }
  }
  v.set = true;
  val_free(&a->body[f]);
  a->body[f] = v;
  return 0;
}

int am_ann_format(const am_ann *a, uint32_t f, am_buf *out) {
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  if (f >= kd->nfields) return AM_EUSAGE;
  const am_afield *fd = &kd->fields[f];
  const am_aval *v = &a->body[f];
  if (!v->set) return am_buf_append(out, "", 0);
  switch (fd->type) {
  case AM_A_TEXT: return am_buf_append(out, v->s, strlen(v->s));
  case AM_A_LIST:
    for (uint32_t i = 0; i < v->l.n; i++)
      if (am_buf_printf(out, "%s%s", i ? "; " : "", v->l.v[i])) return AM_ENOMEM;
    return 0;
  case AM_A_UINT: return am_buf_printf(out, "%" PRIu64, v->u);
  case AM_A_BOOL: return am_buf_printf(out, "%s", v->u ? "yes" : "no");
  case AM_A_ENUM: return am_buf_printf(out, "%s", fd->names[v->u]);
  case AM_A_TIME: {
    char t[21];
    am_time_format((int64_t)v->u, t);
    return am_buf_printf(out, "%s", t);
  }
  case AM_A_DATE: {
    char d[11];
    am_date_format((uint32_t)v->u, d);
    return am_buf_printf(out, "%s", d);
  }
  }
  return AM_EINTERNAL;
}

/* ---- Profiles ---- */

static int dup_text(am_aval *v, const char *s) {
  if (!s || !*s) return 0;
  if (!(v->s = strdup(s))) return AM_ENOMEM;
  v->set = true;
  return 0;
}

int am_profile_from_member(am_ann *a, const am_member *m) {
  /* Shared with the federation means listed there too: a member who does
   * not want to be found is found nowhere. */
  if (!m->consent_federation || !m->consent_listed) return AM_ENOTFOUND;
  am_ann_init(a, AM_K_PROFILE);
  a->object = m->id;
  int rc = 0;
  for (int f = 0; f < AM_F__PROFILE_COUNT && !rc; f++) {
    if (m->vis[f] != AM_VIS_FEDERATION) continue;
    am_aval *v = &a->body[f];
    const am_field *fd = &am_fields[f];
    switch (fd->type) {
    case AM_T_TEXT:
      rc = dup_text(v, *(char *const *)((const char *)m + fd->offset));
      /* Records written before schemes were normalised may say HTTPS://. */
      if (!rc && v->set && (fd->flags & AM_FF_URL))
        for (char *p = v->s; *p && *p != ':'; p++) *p = (char)tolower((unsigned char)*p);
      break;
    case AM_T_LIST: {
      const am_strlist *l = (const am_strlist *)((const char *)m + fd->offset);
      if (!l->n) break;
      if (!(v->l.v = calloc(l->n, sizeof *v->l.v))) { rc = AM_ENOMEM; break; }
      for (uint32_t i = 0; i < l->n; i++) {
        if (!(v->l.v[i] = strdup(l->v[i]))) { rc = AM_ENOMEM; break; }
        v->l.n++;
      }
      v->set = true;
      break;
    }
    case AM_T_YEAR: {
      uint32_t y = *(const uint32_t *)((const char *)m + fd->offset);
      if (y) v->u = y, v->set = true;
      break;
    }
    case AM_T_BOOL:
      v->u = *(const bool *)((const char *)m + fd->offset);
      v->set = true;
      break;
    default:
      break;
    }
  }
  if (rc) am_ann_free(a);
  return rc;
}

bool am_ann_same_content(const am_ann *a, const am_ann *b) {
  if (a->kind != b->kind || a->object != b->object || a->kind >= AM_K__COUNT) return false;
  am_buf x = {0}, y = {0};
  msgpack_packer pa, pb;
  msgpack_packer_init(&pa, &x, buf_write);
  msgpack_packer_init(&pb, &y, buf_write);
  bool same = !pack_body(&pa, a) && !pack_body(&pb, b) && x.len == y.len &&
              memcmp(x.data, y.data, x.len) == 0;
  am_buf_free(&x);
  am_buf_free(&y);
  return same;
}
