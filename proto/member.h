/* The member record: what an alumni directory keeps on one graduate,
 * modelled on schema.org Person/alumniOf and eduPerson (given and family
 * name, graduation year, programme, current employer, ...), with a
 * visibility level per profile field and the member's consents.
 *
 * Every field is described once, in the table am_fields[]: its name (the
 * JSON key, the CSV header and, with '-' for '_', the CLI flag), its type,
 * limits, default visibility and the spreadsheet headers it is recognised
 * by. Parsing, formatting, the codec, the CSV importer and the CLI are all
 * driven by that table, so adding a field is one line there. */
#ifndef AMICALE_PROTO_MEMBER_H
#define AMICALE_PROTO_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

enum am_vis {
  AM_VIS_PRIVATE = 0,    /* alumni managers only */
  AM_VIS_SCHOOL = 1,     /* members of this node */
  AM_VIS_FEDERATION = 2, /* may be announced to peers (with consent) */
};

enum am_field_id {
  AM_F_GIVEN_NAME,
  AM_F_FAMILY_NAME,
  AM_F_USUAL_NAME,
  AM_F_EMAILS,
  AM_F_PHONE,
  AM_F_PROMO,
  AM_F_PROGRAMME,
  AM_F_DIPLOMA,
  AM_F_DEPARTMENT,
  AM_F_EMPLOYER,
  AM_F_JOB_TITLE,
  AM_F_SECTOR,
  AM_F_CITY,
  AM_F_COUNTRY,
  AM_F_SKILLS,
  AM_F_LANGUAGES,
  AM_F_LINKEDIN,
  AM_F_WEBSITE,
  AM_F_BIO,
  AM_F_MENTORING,
  AM_F_MENTORING_TOPICS,
  /* Fields above are profile fields, each with a visibility level. Those
   * below are administrative: only alumni managers ever see them. */
  AM_F_DUES_PAID_UNTIL,
  AM_F_DUES_LIFETIME,
  AM_F_CONSENT_LISTED,
  AM_F_CONSENT_FEDERATION,
  AM_F__COUNT
};
#define AM_F__PROFILE_COUNT AM_F_DUES_PAID_UNTIL

enum am_ftype {
  AM_T_TEXT,    /* char *, NULL when empty */
  AM_T_LIST,    /* am_strlist */
  AM_T_YEAR,    /* uint32_t, 0 when unknown */
  AM_T_BOOL,    /* bool */
  AM_T_DATE,    /* uint32_t YYYYMMDD, 0 when unset */
  AM_T_CONSENT, /* uint32_t YYYYMMDD the consent was given, 0 when not */
};

enum am_fflag {
  AM_FF_EMAIL = 1 << 0,     /* items are email addresses, normalised */
  AM_FF_URL = 1 << 1,       /* an http(s) URL */
  AM_FF_PHONE = 1 << 2,     /* a telephone number */
  AM_FF_MULTILINE = 1 << 3, /* line breaks allowed */
  AM_FF_WORDS = 1 << 4,     /* its words are in the free-text index */
  AM_FF_EXACT = 1 << 5,     /* its folded value (each item) is indexed */
};

typedef struct am_strlist {
  char **v;
  uint32_t n;
} am_strlist;

typedef struct am_field {
  const char *name;  /* "job_title" */
  const char *label; /* "Job title" */
  uint8_t type;
  uint8_t flags;
  uint8_t default_vis;
  uint8_t max_items; /* lists */
  uint16_t max_len;  /* bytes of a text or of one list item */
  size_t offset;     /* in am_member */
  const char *aliases; /* compact folded header names, space separated */
} am_field;

/* Member ids stay below 2^53 so that every JSON reader reads them exactly. */
#define AM_MEMBER_ID_MAX ((UINT64_C(1) << 53) - 1)

/* Parses a member id: decimal digits only, 1 to AM_MEMBER_ID_MAX. */
int am_member_id_parse(const char *s, uint64_t *id);

#define AM_YEAR_MIN 1900
#define AM_YEAR_MAX 2100

typedef struct am_member {
  uint64_t id;            /* stable, assigned by the store, never reused */
  int64_t created, updated; /* Unix seconds */
  char *given_name, *family_name, *usual_name;
  am_strlist emails;
  char *phone;
  uint32_t promo;
  char *programme, *diploma, *department;
  char *employer, *job_title, *sector;
  char *city, *country;
  am_strlist skills, languages;
  char *linkedin, *website, *bio;
  bool mentoring;
  am_strlist mentoring_topics;
  uint32_t dues_paid_until;
  bool dues_lifetime;
  uint32_t consent_listed, consent_federation;
  uint8_t vis[AM_F__PROFILE_COUNT];
} am_member;

extern const am_field am_fields[AM_F__COUNT];

/* Field by canonical name or CLI spelling ("job_title", "job-title");
 * -1 when unknown. */
int am_field_by_name(const char *name);
/* Field recognised from a spreadsheet header already compacted with
 * am_text_compact ("prenom", "anneedediplome"); -1 when unknown. */
int am_field_by_header(const char *compact);

void am_member_init(am_member *m); /* empty record, default visibility */
void am_member_free(am_member *m);
int am_member_copy(am_member *dst, const am_member *src);

/* Parses value (UTF-8, as typed or read from a cell) into field f and
 * validates it; an empty value clears the field. Lists accept items
 * separated by ';', ',' or '|'. On error err says what is wrong with the
 * value, without naming the field (the caller knows how to name it). */
int am_member_set(am_member *m, int f, const char *value, size_t len,
                  am_error *err);
/* Appends the text form of field f (lists joined with "; ", dates as
 * YYYY-MM-DD, booleans as yes/no, consents as their date or empty). */
int am_member_format(const am_member *m, int f, am_buf *out);
bool am_member_is_empty(const am_member *m, int f);

/* The values of a text or list field as an array: returns how many (0 when
 * empty) and points *items at them; a text field's single value goes
 * through *one, the caller's scratch slot. */
uint32_t am_member_items(const am_member *m, int f, const char *const **items,
                         const char **one);

/* "emails=federation,phone=school": sets the named fields' visibility. */
int am_member_set_visibility(am_member *m, const char *spec, size_t len,
                             am_error *err);
/* All profile fields as "field=level;..." (re-parsable). */
int am_member_format_visibility(const am_member *m, am_buf *out);
const char *am_vis_name(int vis);
int am_vis_parse(const char *s, size_t len); /* -1 when unknown */

/* Record-level rules (a name is required). */
int am_member_check(const am_member *m, am_error *err);

/* "Marie Dupont" (with the usual name in brackets when present). */
int am_member_display_name(const am_member *m, am_buf *out);

/* Store codec: a msgpack array in field-table order (see docs/STORE.md). */
int am_member_encode(const am_member *m, am_buf *out);
int am_member_decode(const uint8_t *p, size_t len, am_member *m,
                     am_error *err);

/* Dates: "YYYY-MM-DD" or "DD/MM/YYYY" (as French spreadsheets write them). */
int am_date_parse(const char *s, size_t len, uint32_t *out);
void am_date_format(uint32_t ymd, char out[static 11]);
bool am_date_valid(uint32_t ymd); /* YYYYMMDD names a real day */

/* yes/no, oui/non, true/false, 1/0, x (ticked), any case. */
int am_bool_parse(const char *s, size_t len, bool *out);
/* Checks a web address, adding https:// to "www.example.org" as people
 * paste them (*s may be replaced); AM_EINVAL says why. */
int am_url_normalise(char **s, size_t max, am_error *err);

/* The clock: time(NULL), or AMICALE_NOW (Unix seconds) when set, so tests
 * control timestamps. am_today() is the UTC date as YYYYMMDD. */
int64_t am_now(void);
uint32_t am_today(void);
/* "30m", "12h", "7d", "2w" -> seconds (1 to 100000 units); -1 when malformed. */
int64_t am_duration_parse(const char *s);

#endif
