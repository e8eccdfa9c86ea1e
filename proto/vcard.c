/* vCard 4.0 (RFC 6350) of alumni: the member records of `member export`
 * and the people that federation searches return (person JSON, see
 * store/api.h). Both are first turned into one flat view, written by one
 * writer, so the same person gets the same card from either path (the UID
 * included: urn:amicale:<institution key>:<member id>, since a profile's
 * object id is its member id). Lines go through proto/contentline.c: CRLF,
 * folded at 75 octets without splitting UTF-8, TEXT escaped (3.4).
 *
 * Where the fields go, chosen for what address books show: ORG is the
 * employer (the company is what every reader displays under the name),
 * TITLE the job title; the alumni institution, which no standard property
 * describes ("RELATED" names people), is X-AMICALE-INSTITUTION, next to
 * X-AMICALE-PROMO / -PROGRAMME / -DIPLOMA. NOTE is the member's own bio,
 * untouched. Languages are free text ("Français, Anglais"): those that
 * name a language we know become LANG (a language tag, PREF in the order
 * given), and the list as typed is kept in X-AMICALE-LANGUAGES. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/announce.h" /* am_time_parse */
#include "proto/contentline.h"
#include "proto/member_json.h"
#include "proto/text.h"

typedef struct list {
  const char *const *v;
  size_t n;
} list;

/* Everything a card says, borrowed from a record or a JSON value. */
typedef struct card {
  const char *uid_prefix; /* "urn:amicale:KEY:" */
  uint64_t id;
  const char *given, *family, *usual;
  list emails;
  const char *phone, *employer, *job_title, *city, *country;
  const char *linkedin, *website, *bio;
  list skills, languages;
  uint32_t promo;
  const char *programme, *diploma;
  const char *institution; /* NULL for a local export */
  int64_t rev;             /* 0: none */
} card;

/* ---- languages --------------------------------------------------------- */

/* Folded language names (French and English) and their ISO 639-1 tags. */
static const struct {
  const char *name, *tag;
} lang_names[] = {
    {"francais", "fr"},   {"french", "fr"},      {"anglais", "en"},
    {"english", "en"},    {"allemand", "de"},    {"german", "de"},
    {"deutsch", "de"},    {"espagnol", "es"},    {"spanish", "es"},
    {"espanol", "es"},    {"italien", "it"},     {"italian", "it"},
    {"italiano", "it"},   {"portugais", "pt"},   {"portuguese", "pt"},
    {"neerlandais", "nl"}, {"dutch", "nl"},      {"chinois", "zh"},
    {"chinese", "zh"},    {"mandarin", "zh"},    {"japonais", "ja"},
    {"japanese", "ja"},   {"arabe", "ar"},       {"arabic", "ar"},
    {"russe", "ru"},      {"russian", "ru"},     {"polonais", "pl"},
    {"polish", "pl"},     {"coreen", "ko"},      {"korean", "ko"},
    {"hindi", "hi"},      {"turc", "tr"},        {"turkish", "tr"},
    {"suedois", "sv"},    {"swedish", "sv"},     {"grec", "el"},
    {"greek", "el"},      {"hebreu", "he"},      {"hebrew", "he"},
    {"vietnamien", "vi"}, {"vietnamese", "vi"},  {"catalan", "ca"},
    {"breton", "br"},     {"basque", "eu"},      {"occitan", "oc"},
    {"roumain", "ro"},    {"romanian", "ro"},    {"danois", "da"},
    {"danish", "da"},     {"norvegien", "no"},   {"norwegian", "no"},
    {"finnois", "fi"},    {"finnish", "fi"},     {"tcheque", "cs"},
    {"czech", "cs"},      {"ukrainien", "uk"},   {"ukrainian", "uk"},
    {"hongrois", "hu"},   {"hungarian", "hu"},   {"wolof", "wo"},
    {"swahili", "sw"},    {"latin", "la"},
};

/* The tag for a language as typed, or NULL; *rc set when out of memory. */
static const char *lang_tag(const char *item, int *rc) {
  if (am_cl_is_lang_tag(item)) return item;
  char *f = NULL;
  int r = am_text_fold(item, strlen(item), &f, NULL);
  if (r) {
    if (r == AM_ENOMEM) *rc = r;
    return NULL;
  }
  const char *tag = NULL;
  for (size_t i = 0; !tag && i < sizeof lang_names / sizeof *lang_names; i++)
    if (!strcmp(f, lang_names[i].name)) tag = lang_names[i].tag;
  free(f);
  return tag;
}

/* ---- the writer -------------------------------------------------------- */

static void text_list(am_cl *l, const char *name, list v) {
  if (!v.n) return;
  am_cl_str(l, name);
  am_cl_raw(l, ":", 1);
  for (size_t i = 0; i < v.n; i++) {
    if (i) am_cl_raw(l, ",", 1);
    am_cl_text(l, v.v[i]);
  }
  am_cl_end(l);
}

static int write_card(const card *c, am_buf *out) {
  am_cl l;
  am_cl_init(&l, out);
  char tmp[64];
  am_cl_prop_raw(&l, "BEGIN", "VCARD");
  am_cl_prop_raw(&l, "VERSION", "4.0");
  am_cl_str(&l, "UID:");
  am_cl_str(&l, c->uid_prefix);
  snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)c->id);
  am_cl_str(&l, tmp);
  am_cl_end(&l);
  /* FN is required: the display name of proto/member.c
   * (am_member_display_name), "Given Family (Usual)". */
  am_cl_str(&l, "FN:");
  if (c->given) am_cl_text(&l, c->given);
  if (c->family) {
    if (c->given) am_cl_raw(&l, " ", 1);
    am_cl_text(&l, c->family);
  }
  if (c->usual) {
    if (c->given || c->family) am_cl_raw(&l, " (", 2);
    am_cl_text(&l, c->usual);
    if (c->given || c->family) am_cl_raw(&l, ")", 1);
  }
  am_cl_end(&l);
  /* N: family;given;additional;prefix;suffix */
  am_cl_str(&l, "N:");
  am_cl_text(&l, c->family ? c->family : c->usual ? c->usual : "");
  am_cl_raw(&l, ";", 1);
  am_cl_text(&l, c->given ? c->given : "");
  am_cl_raw(&l, ";;;", 3);
  am_cl_end(&l);
  if (c->usual && c->family) am_cl_prop(&l, "NICKNAME", c->usual);
  for (size_t i = 0; i < c->emails.n; i++) am_cl_prop(&l, "EMAIL", c->emails.v[i]);
  am_cl_prop(&l, "TEL;VALUE=text", c->phone);
  am_cl_prop(&l, "ORG", c->employer);
  am_cl_prop(&l, "TITLE", c->job_title);
  if (c->city || c->country) {
    /* ADR: box;extended;street;locality;region;code;country */
    am_cl_str(&l, "ADR:;;;");
    am_cl_text(&l, c->city ? c->city : "");
    am_cl_raw(&l, ";;;", 3);
    am_cl_text(&l, c->country ? c->country : "");
    am_cl_end(&l);
  }
  /* URIs are not TEXT: written as they are (3.3; the store keeps only
   * http(s) addresses without white space, and controls are dropped). */
  am_cl_prop_raw(&l, "URL;TYPE=linkedin", c->linkedin);
  am_cl_prop_raw(&l, "URL", c->website);
  am_cl_prop(&l, "NOTE", c->bio);
  text_list(&l, "CATEGORIES", c->skills);
  unsigned pref = 0;
  for (size_t i = 0; i < c->languages.n && pref < 100; i++) {
    const char *tag = lang_tag(c->languages.v[i], &l.rc);
    if (!tag) continue;
    snprintf(tmp, sizeof tmp, "LANG;PREF=%u:", ++pref);
    am_cl_str(&l, tmp);
    am_cl_str(&l, tag);
    am_cl_end(&l);
  }
  text_list(&l, "X-AMICALE-LANGUAGES", c->languages);
  am_cl_prop(&l, "X-AMICALE-INSTITUTION", c->institution);
  if (c->promo) {
    snprintf(tmp, sizeof tmp, "%u", (unsigned)c->promo);
    am_cl_prop_raw(&l, "X-AMICALE-PROMO", tmp);
  }
  am_cl_prop(&l, "X-AMICALE-PROGRAMME", c->programme);
  am_cl_prop(&l, "X-AMICALE-DIPLOMA", c->diploma);
  if (c->rev) {
    char rev[17];
    am_cl_utc(c->rev, rev);
    am_cl_prop_raw(&l, "REV", rev);
  }
  am_cl_prop_raw(&l, "END", "VCARD");
  return l.rc;
}

/* ---- from a member record ------------------------------------------------ */

static list strlist(const am_strlist *s) {
  return (list){(const char *const *)s->v, s->n};
}

int am_member_to_vcard(const am_member *m, const char *uid_prefix, am_buf *out) {
  card c = {
      .uid_prefix = uid_prefix, .id = m->id,
      .given = m->given_name, .family = m->family_name, .usual = m->usual_name,
      .emails = strlist(&m->emails), .phone = m->phone,
      .employer = m->employer, .job_title = m->job_title,
      .city = m->city, .country = m->country,
      .linkedin = m->linkedin, .website = m->website, .bio = m->bio,
      .skills = strlist(&m->skills), .languages = strlist(&m->languages),
      .promo = m->promo, .programme = m->programme, .diploma = m->diploma,
      .rev = m->updated,
  };
  return write_card(&c, out);
}

/* ---- from person JSON ------------------------------------------------------ */

/* A text field of person.fields, NULL when absent, empty or not a string. */
static const char *jtext(const json_t *fields, int f) {
  const char *s = json_string_value(json_object_get(fields, am_fields[f].name));
  return s && *s ? s : NULL;
}

/* The strings of a list field (non-strings skipped); *arr to free. */
static int jlist(const json_t *fields, int f, list *out, const char ***arr) {
  const json_t *a = json_object_get(fields, am_fields[f].name);
  *out = (list){NULL, 0};
  *arr = NULL;
  if (!json_is_array(a) || !json_array_size(a)) return 0;
  if (!(*arr = calloc(json_array_size(a), sizeof **arr))) return AM_ENOMEM;
  size_t n = 0, i;
  const json_t *x;
  json_array_foreach(a, i, x) {
    const char *s = json_string_value(x);
    if (s && *s) (*arr)[n++] = s;
  }
  *out = (list){*arr, n};
  return 0;
}

int am_vcard_person(const json_t *person, am_buf *out, am_error *err) {
  if (!json_is_object(person)) return am_fail(err, AM_EINVAL, "a person must be a JSON object");
  const json_t *inst = json_object_get(person, "institution");
  const char *key = json_string_value(json_object_get(inst, "key"));
  /* The key goes into the UID as it is: base64url only. */
  if (!am_cl_is_token(key, 64))
    return am_fail(err, AM_EINVAL, "a person needs \"institution\": {\"key\": key text}");
  const json_t *id = json_object_get(person, "id");
  if (!json_is_integer(id) || json_integer_value(id) < 0)
    return am_fail(err, AM_EINVAL, "a person needs an \"id\" (a non-negative integer)");
  const json_t *fields = json_object_get(person, "fields");
  if (fields && !json_is_object(fields))
    return am_fail(err, AM_EINVAL, "a person's \"fields\" must be an object");

  char prefix[96];
  snprintf(prefix, sizeof prefix, "urn:amicale:%s:", key);
  card c = {
      .uid_prefix = prefix, .id = (uint64_t)json_integer_value(id),
      .given = jtext(fields, AM_F_GIVEN_NAME), .family = jtext(fields, AM_F_FAMILY_NAME),
      .usual = jtext(fields, AM_F_USUAL_NAME), .phone = jtext(fields, AM_F_PHONE),
      .employer = jtext(fields, AM_F_EMPLOYER), .job_title = jtext(fields, AM_F_JOB_TITLE),
      .city = jtext(fields, AM_F_CITY), .country = jtext(fields, AM_F_COUNTRY),
      .linkedin = jtext(fields, AM_F_LINKEDIN), .website = jtext(fields, AM_F_WEBSITE),
      .bio = jtext(fields, AM_F_BIO), .programme = jtext(fields, AM_F_PROGRAMME),
      .diploma = jtext(fields, AM_F_DIPLOMA),
      .institution = json_string_value(json_object_get(inst, "name")),
  };
  const json_t *promo = json_object_get(fields, am_fields[AM_F_PROMO].name);
  if (json_is_integer(promo) && json_integer_value(promo) >= AM_YEAR_MIN &&
      json_integer_value(promo) <= AM_YEAR_MAX)
    c.promo = (uint32_t)json_integer_value(promo);
  /* Not in the person schema today; written when a caller adds it. */
  const json_t *upd = json_object_get(person, "updated");
  uint64_t t;
  if (json_is_string(upd) && !am_time_parse(json_string_value(upd), &t)) c.rev = (int64_t)t;
  else if (json_is_integer(upd) && json_integer_value(upd) > 0) c.rev = json_integer_value(upd);

  const char **emails = NULL, **skills = NULL, **langs = NULL;
  size_t start = out->len;
  int rc = jlist(fields, AM_F_EMAILS, &c.emails, &emails);
  if (!rc) rc = jlist(fields, AM_F_SKILLS, &c.skills, &skills);
  if (!rc) rc = jlist(fields, AM_F_LANGUAGES, &c.languages, &langs);
  if (!rc) rc = write_card(&c, out);
  free(emails);
  free(skills);
  free(langs);
  if (!rc) return 0;
  out->len = start; /* no half card */
  if (out->data) out->data[start] = '\0';
  return am_fail(err, rc, "out of memory");
}

int am_vcard_people(const json_t *people, am_buf *out, am_error *err) {
  if (json_is_object(people)) people = json_object_get(people, "results");
  if (!json_is_array(people))
    return am_fail(err, AM_EINVAL, "expected an array of people (or {\"results\": [...]})");
  size_t i;
  const json_t *p;
  json_array_foreach(people, i, p) {
    int rc = am_vcard_person(p, out, err);
    if (rc) {
      am_error_prefix(err, "person %zu: ", i + 1);
      return rc;
    }
  }
  return 0;
}
