/* Announcements: what one node says to the federation (a description of
 * itself, a member profile, an event, a job offer, or the retraction of one
 * of those), signed by its origin node's Ed25519 key so any node can relay
 * it and every receiver can check who said it. docs/PROTOCOL.md is the
 * normative description of the bytes; this module is its implementation.
 *
 * An envelope is a msgpack array [bin signed, bin signature]. The signed
 * part is itself a msgpack array of fixed positions (format, kind, origin,
 * object, version, created, expires, body); the body is an array whose
 * positions are given by a field table per kind (am_kind_fields below), so
 * the encoder, the decoder, the JSON form, the CLI and PROTOCOL.md all
 * follow one description.
 *
 * Decoding is bounded before anything allocates (proto/mpcheck.c), copies
 * what it keeps into our own structs, frees msgpack-c's zone at once, and
 * rejects non-canonical input by re-encoding the decoded announcement and
 * comparing bytes. Hashing, signing and verifying (over the bytes as
 * received) are in crypto/sign.h. */
#ifndef AMICALE_PROTO_ANNOUNCE_H
#define AMICALE_PROTO_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"
#include "proto/member.h"

#define AM_ANN_FORMAT 1           /* the only format this code reads/writes */
#define AM_ANN_MAX_BYTES 65536    /* a whole envelope, at most */
#define AM_ANN_ID_BYTES 32        /* BLAKE2b-256 of the signed part */
#define AM_ANN_KEY_BYTES 32       /* Ed25519 public key */
#define AM_ANN_SIG_BYTES 64
#define AM_ANN_MAX_DEPTH 4        /* envelope > signed > body > list */
#define AM_ANN_MAX_SKEW 900       /* created may be 15 min ahead of our clock */
#define AM_ANN_OBJECT_MAX ((UINT64_C(1) << 53) - 1)
#define AM_ANN_VERSION_MAX ((UINT64_C(1) << 53) - 1)
#define AM_ANN_TIME_MAX UINT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define AM_ANN_MAX_FIELDS 24      /* the longest body (profile) fits */

/* The signature is over this context string, a zero byte, then the signed
 * part (domain separation: these bytes mean nothing else anywhere). */
#define AM_ANN_SIG_CONTEXT "amicale/announcement/1"

enum am_ann_kind {
  AM_K_NODE = 0,
  AM_K_PROFILE = 1,
  AM_K_EVENT = 2,
  AM_K_JOB = 3,
  AM_K_RETRACTION = 4,
  AM_K__COUNT
};

/* Value types of body fields, and how each is written in msgpack. */
enum am_atype {
  AM_A_TEXT,  /* str: UTF-8, 1..max_len bytes, no control characters */
  AM_A_LIST,  /* array of 1..max_items str as AM_A_TEXT */
  AM_A_UINT,  /* uint in [min, max] */
  AM_A_BOOL,  /* true / false */
  AM_A_ENUM,  /* uint: index into the field's names */
  AM_A_TIME,  /* uint: Unix seconds (UTC), <= AM_ANN_TIME_MAX */
  AM_A_DATE,  /* uint: YYYYMMDD, a real calendar date */
};

enum am_aflag {
  AM_AF_REQUIRED = 1 << 0,  /* never nil */
  AM_AF_MULTILINE = 1 << 1, /* text may contain LF */
  AM_AF_URL = 1 << 2,       /* text is an http:// or https:// URL */
};

typedef struct am_afield {
  const char *name;   /* JSON key and CLI flag ("starts_at" / --starts-at) */
  const char *label;  /* for people */
  uint8_t type, flags;
  uint8_t max_items;  /* lists */
  uint16_t max_len;   /* bytes of a text or of one list item */
  uint64_t min, max;  /* AM_A_UINT */
  const char *const *names; /* AM_A_ENUM: NULL-terminated */
} am_afield;

typedef struct am_kind_desc {
  const char *name;          /* "event" */
  const am_afield *fields;
  uint32_t nfields;
} am_kind_desc;

extern const am_kind_desc am_ann_kinds[AM_K__COUNT];

/* Field positions of the bodies that code refers to by name. */
enum { AM_NODE_NAME, AM_NODE_KIND, AM_NODE_COUNTRY, AM_NODE_CITY,
       AM_NODE_WEBSITE, AM_NODE_CONTACT, AM_NODE_ADDRESSES, AM_NODE__N };
enum { AM_EV_TITLE, AM_EV_DESCRIPTION, AM_EV_STARTS_AT, AM_EV_ENDS_AT,
       AM_EV_TIMEZONE, AM_EV_VENUE, AM_EV_CITY, AM_EV_COUNTRY, AM_EV_ONLINE,
       AM_EV_ORGANISER, AM_EV_CAPACITY, AM_EV_LANGUAGE, AM_EV_TAGS,
       AM_EV_REGISTRATION, AM_EV_STATUS, AM_EV__N };
enum { AM_EV_SCHEDULED, AM_EV_CANCELLED, AM_EV_POSTPONED };
enum { AM_JOB_TITLE, AM_JOB_EMPLOYER, AM_JOB_CONTRACT, AM_JOB_CITY,
       AM_JOB_COUNTRY, AM_JOB_REMOTE, AM_JOB_DESCRIPTION, AM_JOB_SKILLS,
       AM_JOB_EXPERIENCE, AM_JOB_SALARY_MIN, AM_JOB_SALARY_MAX,
       AM_JOB_CURRENCY, AM_JOB_SALARY_PERIOD, AM_JOB_APPLY, AM_JOB_POSTED,
       AM_JOB_VALID_THROUGH, AM_JOB_ALUMNI_ONLY, AM_JOB__N };
enum { AM_RET_KIND, AM_RET_REASON, AM_RET__N };
/* A profile body has one position per member profile field, in the order
 * of proto/member.h (AM_F_GIVEN_NAME .. AM_F_MENTORING_TOPICS). */

/* One body value. set false = nil on the wire. */
typedef struct am_aval {
  bool set;
  uint64_t u;   /* UINT, BOOL, ENUM, TIME, DATE */
  char *s;      /* TEXT (malloc'd, NUL-terminated) */
  am_strlist l; /* LIST */
} am_aval;

typedef struct am_ann {
  uint8_t kind;
  uint8_t origin[AM_ANN_KEY_BYTES];
  uint64_t object;   /* chosen by the origin, per kind; 0..AM_ANN_OBJECT_MAX */
  uint64_t version;  /* per origin, strictly increasing, 1..AM_ANN_VERSION_MAX */
  uint64_t created;  /* Unix seconds */
  uint64_t expires;  /* Unix seconds, 0 = does not expire */
  am_aval body[AM_ANN_MAX_FIELDS];
  /* id: filled by crypto/sign.c; sig: by am_ann_decode and am_ann_seal */
  uint8_t id[AM_ANN_ID_BYTES];
  uint8_t sig[AM_ANN_SIG_BYTES];
} am_ann;

/* Why an announcement is refused (also the ingest verdicts of store/). */
enum am_reject {
  AM_REJ_NONE = 0,
  AM_REJ_MALFORMED,      /* not an envelope, or a field breaks a rule */
  AM_REJ_TOO_LARGE,      /* over AM_ANN_MAX_BYTES */
  AM_REJ_NONCANONICAL,   /* decodes, but not in the one canonical encoding */
  AM_REJ_UNSUPPORTED,    /* format version this node does not know */
  AM_REJ_BAD_SIGNATURE,
  AM_REJ_UNKNOWN_ORIGIN, /* origin not in this node's trust list */
  AM_REJ_STALE,          /* a newer version (or a retraction) is held */
  AM_REJ_EXPIRED,
  AM_REJ_FUTURE,         /* created more than AM_ANN_MAX_SKEW ahead */
  AM_REJ_CONFLICT,       /* its origin used that version for another object */
  AM_REJ__COUNT
};
/* "bad-signature" and the like (stable: scripts and tests match them). */
const char *am_reject_name(int reason);

void am_ann_init(am_ann *a, int kind);
void am_ann_free(am_ann *a);

/* Checks the announcement against every rule a receiver applies to its
 * content (types, limits, required fields, enum ranges, dates, the kind of
 * a retraction's target, expiry after creation). AM_EINVAL with a message
 * naming the field. Used before signing and after decoding. */
int am_ann_check(const am_ann *a, am_error *err);

/* The signed part, canonical msgpack. */
int am_ann_encode_signed(const am_ann *a, am_buf *out);

/* The envelope around a signed part and its signature, appended to out. */
int am_ann_envelope(const uint8_t *signed_part, size_t signed_len,
                    const uint8_t sig[static AM_ANN_SIG_BYTES], am_buf *out);

/* Decodes one envelope occupying exactly p[0..len): bounded checks, our
 * structs, canonical form. Does not hash or verify: crypto/sign.h does
 * (am_ann_open), as every libsodium call sits in crypto/. On refusal returns AM_EINVAL,
 * *reason says which (MALFORMED, TOO_LARGE, NONCANONICAL, UNSUPPORTED) and
 * err says what and where ("body field 'title': not valid UTF-8"); a is
 * then empty. a->sig is filled; a->id is not. */
int am_ann_decode(const uint8_t *p, size_t len, am_ann *a, int *reason,
                  am_error *err);

/* Where the signed part and the signature sit inside an envelope that
 * am_ann_decode accepted. */
int am_ann_span(const uint8_t *p, size_t len, const uint8_t **signed_part,
                size_t *signed_len, const uint8_t **sig);

/* The length of the envelope at the start of p[0..len) (for files and
 * streams of concatenated envelopes), without decoding it: 0 and *used, or
 * AM_EINVAL when the bytes do not start with an envelope header or it is
 * cut short (reason MALFORMED) or longer than AM_ANN_MAX_BYTES (TOO_LARGE). */
int am_ann_frame(const uint8_t *p, size_t len, size_t *used, int *reason);

/* Text forms. Ids as 64 lower-case hex digits. */
void am_ann_id_hex(const uint8_t id[static AM_ANN_ID_BYTES], char out[static 65]);
int am_ann_kind_parse(const char *s); /* -1 when unknown */

/* Sets body field f of a from text as typed on a command line (times
 * "YYYY-MM-DDTHH:MM[:SS]Z" or Unix seconds are for am_time_parse; enum
 * names; lists separated by ';' or ','; yes/no). An empty value clears the
 * field. err says what is wrong without naming the field. */
int am_ann_set(am_ann *a, uint32_t f, const char *value, am_error *err);
/* Appends the text form of body field f (times as ISO 8601 UTC). */
int am_ann_format(const am_ann *a, uint32_t f, am_buf *out);

/* Times: "2026-12-10T18:30[:00]" followed by Z or +HH:MM / -HH:MM (a
 * space may replace the T), or Unix seconds; AM_EINVAL otherwise. */
int am_time_parse(const char *s, uint64_t *out);

/* Profiles: the federated view of a member, built from the record. Only
 * fields whose visibility is federation are copied (a private or school
 * field never leaves the node); returns AM_ENOTFOUND (a is then untouched)
 * unless the member has consented both to be listed and to federation
 * sharing. */
int am_profile_from_member(am_ann *a, const am_member *m);

/* True when two announcements have the same kind, object and body (the
 * envelope fields aside): publishing b after a would change nothing. */
bool am_ann_same_content(const am_ann *a, const am_ann *b);

#endif
