/* The member record: field table, parsing and validation of values, text
 * forms, and the msgpack codec used by the store (see member.h). */
#include "proto/member.h"

#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicase.h>

#include "proto/mpcheck.h"
#include "proto/text.h"

#define F(field) offsetof(am_member, field)

/* Header aliases are compacted (folded, letters and digits only) so that
 * "Année de diplôme", "annee_de_diplome" and "ANNEE DE DIPLOME" all match. */
const am_field am_fields[AM_F__COUNT] = {
  [AM_F_GIVEN_NAME] = {"given_name", "Given name", AM_T_TEXT, AM_FF_WORDS,
    AM_VIS_FEDERATION, 0, 100, F(given_name),
    "prenom prenoms firstname givenname forename first prenomusuel"},
  [AM_F_FAMILY_NAME] = {"family_name", "Family name", AM_T_TEXT, AM_FF_WORDS,
    AM_VIS_FEDERATION, 0, 100, F(family_name),
    "nom nomdefamille nomdenaissance lastname familyname surname last "
    "birthname"},
  [AM_F_USUAL_NAME] = {"usual_name", "Usual name", AM_T_TEXT, AM_FF_WORDS,
    AM_VIS_FEDERATION, 0, 100, F(usual_name),
    "nomdusage nomusuel usualname marriedname nommarital nomdepouse"},
  [AM_F_EMAILS] = {"emails", "Emails", AM_T_LIST, AM_FF_EMAIL,
    AM_VIS_PRIVATE, 8, 254, F(emails),
    "email emails mail courriel courriels adressemail adresseemail "
    "emailaddress adressecourriel adresseelectronique emailpersonnel"},
  [AM_F_PHONE] = {"phone", "Phone", AM_T_TEXT, AM_FF_PHONE,
    AM_VIS_PRIVATE, 0, 40, F(phone),
    "telephone tel phone mobile portable phonenumber numerodetelephone "
    "mobilephone cellphone telephoneportable"},
  [AM_F_PROMO] = {"promo", "Graduation year", AM_T_YEAR, 0,
    AM_VIS_FEDERATION, 0, 0, F(promo),
    "promo promotion anneedediplome anneediplome anneedediplomation "
    "anneedesortie graduationyear classof year annee gradyear graduation"},
  [AM_F_PROGRAMME] = {"programme", "Programme", AM_T_TEXT, AM_FF_EXACT,
    AM_VIS_FEDERATION, 0, 200, F(programme),
    "programme program formation cursus filiere degree degreeprogram "
    "parcours"},
  [AM_F_DIPLOMA] = {"diploma", "Diploma", AM_T_TEXT, 0,
    AM_VIS_FEDERATION, 0, 200, F(diploma),
    "diplome diploma diplomatitle intituledudiplome titredudiplome "
    "degreetitle"},
  [AM_F_DEPARTMENT] = {"department", "Department", AM_T_TEXT, 0,
    AM_VIS_FEDERATION, 0, 200, F(department),
    "departement department dept specialite majeure major option"},
  [AM_F_EMPLOYER] = {"employer", "Employer", AM_T_TEXT,
    AM_FF_WORDS | AM_FF_EXACT, AM_VIS_FEDERATION, 0, 200, F(employer),
    "entreprise societe employeur employer company organisation "
    "organization currentemployer companyname raisonsociale "
    "entrepriseactuelle"},
  [AM_F_JOB_TITLE] = {"job_title", "Job title", AM_T_TEXT, AM_FF_WORDS,
    AM_VIS_FEDERATION, 0, 200, F(job_title),
    "poste fonction jobtitle title position intituledeposte role titre "
    "metier posteactuel"},
  [AM_F_SECTOR] = {"sector", "Sector", AM_T_TEXT, AM_FF_EXACT,
    AM_VIS_FEDERATION, 0, 100, F(sector),
    "secteur secteurdactivite sector industry domaine"},
  [AM_F_CITY] = {"city", "City", AM_T_TEXT, AM_FF_EXACT,
    AM_VIS_FEDERATION, 0, 100, F(city),
    "ville city localite commune town"},
  [AM_F_COUNTRY] = {"country", "Country", AM_T_TEXT, AM_FF_EXACT,
    AM_VIS_FEDERATION, 0, 100, F(country),
    "pays country nation"},
  [AM_F_SKILLS] = {"skills", "Skills", AM_T_LIST, AM_FF_EXACT,
    AM_VIS_FEDERATION, 50, 100, F(skills),
    "competences skills competence skill expertise expertises"},
  [AM_F_LANGUAGES] = {"languages", "Languages", AM_T_LIST, AM_FF_EXACT,
    AM_VIS_FEDERATION, 20, 50, F(languages),
    "langues languages langue language languesparlees"},
  [AM_F_LINKEDIN] = {"linkedin", "LinkedIn", AM_T_TEXT, AM_FF_URL,
    AM_VIS_SCHOOL, 0, 300, F(linkedin),
    "linkedin profillinkedin linkedinurl linkedinprofile"},
  [AM_F_WEBSITE] = {"website", "Website", AM_T_TEXT, AM_FF_URL,
    AM_VIS_SCHOOL, 0, 300, F(website),
    "siteweb website site url web siteinternet homepage"},
  [AM_F_BIO] = {"bio", "Bio", AM_T_TEXT, AM_FF_WORDS | AM_FF_MULTILINE,
    AM_VIS_SCHOOL, 0, 2000, F(bio),
    "bio biographie biography presentation about description"},
  [AM_F_MENTORING] = {"mentoring", "Mentoring", AM_T_BOOL, 0,
    AM_VIS_FEDERATION, 0, 0, F(mentoring),
    "mentorat mentoring mentor parrainage disponiblepourmentorat "
    "mentordisponible"},
  [AM_F_MENTORING_TOPICS] = {"mentoring_topics", "Mentoring topics",
    AM_T_LIST, AM_FF_EXACT, AM_VIS_FEDERATION, 20, 100, F(mentoring_topics),
    "sujetsdementorat themesdementorat mentoringtopics mentortopics "
    "domainesdementorat"},
  [AM_F_DUES_PAID_UNTIL] = {"dues_paid_until", "Dues paid until",
    AM_T_DATE, 0, AM_VIS_PRIVATE, 0, 0, F(dues_paid_until),
    "cotisationjusquau cotisationpayeejusquau duespaiduntil cotisation "
    "membershipuntil adhesionjusquau"},
  [AM_F_DUES_LIFETIME] = {"dues_lifetime", "Lifetime member", AM_T_BOOL, 0,
    AM_VIS_PRIVATE, 0, 0, F(dues_lifetime),
    "membreavie cotisationavie lifetime lifetimemember dueslifetime"},
  [AM_F_CONSENT_LISTED] = {"consent_listed", "Consent: listed in directory",
    AM_T_CONSENT, 0, AM_VIS_PRIVATE, 0, 0, F(consent_listed),
    "consentementannuaire consentlisted listed annuaire consentdirectory "
    "figurerdanslannuaire"},
  [AM_F_CONSENT_FEDERATION] = {"consent_federation",
    "Consent: shared with the federation", AM_T_CONSENT, 0, AM_VIS_PRIVATE,
    0, 0, F(consent_federation),
    "consentementfederation consentfederation federation partagefederation "
    "sharewithfederation"},
};

/* ---- field access ---------------------------------------------------- */

static char **text_at(am_member *m, int f) {
  return (char **)((char *)m + am_fields[f].offset);
}
static char *const *ctext_at(const am_member *m, int f) {
  return (char *const *)((const char *)m + am_fields[f].offset);
}
static am_strlist *list_at(am_member *m, int f) {
  return (am_strlist *)((char *)m + am_fields[f].offset);
}
static const am_strlist *clist_at(const am_member *m, int f) {
  return (const am_strlist *)((const char *)m + am_fields[f].offset);
}
static uint32_t *u32_at(am_member *m, int f) {
  return (uint32_t *)((char *)m + am_fields[f].offset);
}
static uint32_t cu32(const am_member *m, int f) {
  return *(const uint32_t *)((const char *)m + am_fields[f].offset);
}
static bool *bool_at(am_member *m, int f) {
  return (bool *)((char *)m + am_fields[f].offset);
}
static bool cbool(const am_member *m, int f) {
  return *(const bool *)((const char *)m + am_fields[f].offset);
}

int am_field_by_name(const char *name) {
  char buf[64];
  size_t n = strlen(name);
  if (n >= sizeof buf) return -1;
  for (size_t i = 0; i <= n; i++) buf[i] = name[i] == '-' ? '_' : name[i];
  for (int f = 0; f < AM_F__COUNT; f++)
    if (strcmp(am_fields[f].name, buf) == 0) return f;
  /* A few friendly synonyms on the command line. */
  if (strcmp(buf, "email") == 0) return AM_F_EMAILS;
  if (strcmp(buf, "skill") == 0) return AM_F_SKILLS;
  if (strcmp(buf, "language") == 0) return AM_F_LANGUAGES;
  return -1;
}

int am_field_by_header(const char *compact) {
  size_t n = strlen(compact);
  if (n == 0) return -1;
  for (int f = 0; f < AM_F__COUNT; f++) {
    /* The canonical name, compacted ("job_title" -> "jobtitle"). */
    const char *c = am_fields[f].name;
    size_t i = 0, j = 0;
    while (c[i] && j < n) {
      if (c[i] == '_') { i++; continue; }
      if (c[i] != compact[j]) break;
      i++, j++;
    }
    while (c[i] == '_') i++;
    if (!c[i] && j == n) return f;
    for (const char *a = am_fields[f].aliases; *a;) {
      const char *e = strchr(a, ' ');
      size_t len = e ? (size_t)(e - a) : strlen(a);
      if (len == n && memcmp(a, compact, n) == 0) return f;
      a += len;
      while (*a == ' ') a++;
    }
  }
  /* Second chance for lists, which spreadsheets often spread over several
   * qualified columns: "Email perso", "Email pro", "Compétences
   * techniques". Only aliases of 5 letters or more, so "mail" does not
   * claim "Mailing address". */
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (am_fields[f].type != AM_T_LIST) continue;
    for (const char *a = am_fields[f].aliases; *a;) {
      const char *e = strchr(a, ' ');
      size_t len = e ? (size_t)(e - a) : strlen(a);
      if (len >= 5 && len < n && memcmp(a, compact, len) == 0) return f;
      a += len;
      while (*a == ' ') a++;
    }
  }
  return -1;
}

/* ---- life cycle ------------------------------------------------------ */

void am_member_init(am_member *m) {
  memset(m, 0, sizeof *m);
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) m->vis[f] = am_fields[f].default_vis;
}

static void list_free(am_strlist *l) {
  for (uint32_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static void field_clear(am_member *m, int f) {
  switch (am_fields[f].type) {
  case AM_T_TEXT: free(*text_at(m, f)); *text_at(m, f) = NULL; break;
  case AM_T_LIST: list_free(list_at(m, f)); break;
  case AM_T_BOOL: *bool_at(m, f) = false; break;
  default: *u32_at(m, f) = 0; break;
  }
}

void am_member_free(am_member *m) {
  for (int f = 0; f < AM_F__COUNT; f++) field_clear(m, f);
}

int am_member_copy(am_member *dst, const am_member *src) {
  *dst = *src;
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (am_fields[f].type == AM_T_TEXT) *text_at(dst, f) = NULL;
    if (am_fields[f].type == AM_T_LIST) *list_at(dst, f) = (am_strlist){0};
  }
  for (int f = 0; f < AM_F__COUNT; f++) {
    if (am_fields[f].type == AM_T_TEXT && *ctext_at(src, f)) {
      if (!(*text_at(dst, f) = strdup(*ctext_at(src, f)))) goto nomem;
    } else if (am_fields[f].type == AM_T_LIST) {
      const am_strlist *s = clist_at(src, f);
      am_strlist *d = list_at(dst, f);
      if (!s->n) continue;
      if (!(d->v = calloc(s->n, sizeof *d->v))) goto nomem;
      for (; d->n < s->n; d->n++)
        if (!(d->v[d->n] = strdup(s->v[d->n]))) goto nomem;
    }
  }
  return 0;
nomem:
  am_member_free(dst);
  return AM_ENOMEM;
}

int am_member_id_parse(const char *s, uint64_t *id) {
  uint64_t v = 0;
  if (!*s) return AM_EINVAL;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return AM_EINVAL;
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > AM_MEMBER_ID_MAX) return AM_EINVAL;
  }
  if (v == 0) return AM_EINVAL;
  *id = v;
  return 0;
}

uint32_t am_member_items(const am_member *m, int f, const char *const **items,
                         const char **one) {
  if (am_fields[f].type == AM_T_LIST) {
    const am_strlist *l = clist_at(m, f);
    *items = (const char *const *)l->v;
    return l->n;
  }
  *one = am_fields[f].type == AM_T_TEXT ? *ctext_at(m, f) : NULL;
  *items = one;
  return *one ? 1 : 0;
}

bool am_member_is_empty(const am_member *m, int f) {
  switch (am_fields[f].type) {
  case AM_T_TEXT: return *ctext_at(m, f) == NULL;
  case AM_T_LIST: return clist_at(m, f)->n == 0;
  case AM_T_BOOL: return !cbool(m, f);
  default: return cu32(m, f) == 0;
  }
}

/* ---- the clock ------------------------------------------------------- */

/* 9999-12-31T23:59:59Z: dates have four-digit years. */
#define AM_TIME_MAX INT64_C(253402300799)

int64_t am_now(void) {
  const char *s = getenv("AMICALE_NOW");
  if (s && *s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && v >= 0 && v <= AM_TIME_MAX) return v;
  }
  return (int64_t)time(NULL);
}

int64_t am_duration_parse(const char *s) {
  char *end;
  if (!s || *s < '0' || *s > '9') return -1;
  long long v = strtoll(s, &end, 10);
  if (v <= 0 || v > 100000 || end[0] == '\0' || end[1] != '\0') return -1;
  switch (*end) {
  case 'm': return v * 60;
  case 'h': return v * 3600;
  case 'd': return v * 86400;
  case 'w': return v * 7 * 86400;
  default: return -1;
  }
}

uint32_t am_today(void) {
  time_t t = (time_t)am_now();
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return 0;
  return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* ---- value parsing --------------------------------------------------- */

static bool valid_date(int y, int mo, int d) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < AM_YEAR_MIN || y > AM_YEAR_MAX || mo < 1 || mo > 12 || d < 1) return false;
  int dim = days[mo - 1];
  if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) dim = 29;
  return d <= dim;
}

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

bool am_date_valid(uint32_t ymd) {
  return valid_date((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
}

int am_date_parse(const char *s, size_t len, uint32_t *out) {
  int y, mo, d;
  if (len == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4) &&
      digits(s + 5, 2) && digits(s + 8, 2)) {
    y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
  } else if (len == 10 && s[2] == '/' && s[5] == '/' && digits(s, 2) &&
             digits(s + 3, 2) && digits(s + 6, 4)) {
    d = num(s, 2), mo = num(s + 3, 2), y = num(s + 6, 4);
  } else {
    return AM_EINVAL;
  }
  if (!valid_date(y, mo, d)) return AM_EINVAL;
  *out = (uint32_t)(y * 10000 + mo * 100 + d);
  return 0;
}

void am_date_format(uint32_t ymd, char out[static 11]) {
  if (!ymd) { out[0] = '\0'; return; }
  snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(ymd / 10000 % 10000),
           (unsigned)(ymd / 100 % 100), (unsigned)(ymd % 100));
}

/* yes/no in French and English, as spreadsheets write them ("x" = ticked). */
int am_bool_parse(const char *s, size_t len, bool *out) {
  static const char *yes[] = {"yes", "y", "oui", "o", "true", "vrai", "1", "x"};
  static const char *no[] = {"no", "n", "non", "false", "faux", "0"};
  char b[8];
  if (len >= sizeof b) return AM_EINVAL;
  for (size_t i = 0; i < len; i++) b[i] = (char)tolower((unsigned char)s[i]);
  b[len] = '\0';
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    if (strcmp(b, yes[i]) == 0) return *out = true, 0;
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    if (strcmp(b, no[i]) == 0) return *out = false, 0;
  return AM_EINVAL;
}

/* Addresses are stored in lower case: mailbox matching in practice is
 * case-insensitive, and duplicates are found by address. */
static int check_email(char **sp, am_error *err) {
  char *s = *sp;
  bool ascii_only = true;
  for (char *p = s; *p; p++) {
    if ((unsigned char)*p < 0x80) *p = (char)tolower((unsigned char)*p);
    else ascii_only = false;
  }
  if (!ascii_only) {
    /* "Élise@x.org" and "élise@x.org" are one address to their owner. */
    size_t n = 0;
    uint8_t *low = u8_tolower((const uint8_t *)s, strlen(s), NULL, UNINORM_NFC, NULL, &n);
    char *z = low ? realloc(low, n + 1) : NULL;
    if (!z) {
      free(low);
      return AM_ENOMEM;
    }
    z[n] = '\0';
    free(s);
    *sp = s = z;
    if (n > 254) return am_fail(err, AM_EINVAL, "is longer than 254 bytes");
  }
  char *at = strchr(s, '@');
  if (!at || strchr(at + 1, '@'))
    return am_fail(err, AM_EINVAL, "'%s' is not an email address (it needs exactly one @)", s);
  size_t local = (size_t)(at - s);
  const char *dom = at + 1;
  if (local == 0 || local > 64)
    return am_fail(err, AM_EINVAL, "'%s' is not an email address (nothing before the @)", s);
  for (const char *p = s; p < at; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x80 && !isalnum(c) && !strchr(".!#$%&'*+/=?^_`{|}~-", c))
      return am_fail(err, AM_EINVAL, "'%s' is not an email address (character '%c' before the @)", s, c);
  }
  if (s[0] == '.' || at[-1] == '.' || strstr(s, ".."))
    return am_fail(err, AM_EINVAL, "'%s' is not an email address (misplaced dot)", s);
  if (!strchr(dom, '.'))
    return am_fail(err, AM_EINVAL, "'%s' is not an email address (the domain after @ has no dot)", s);
  /* Domain: labels of letters, digits and hyphens (or UTF-8 for IDN). */
  const char *label = dom;
  for (const char *p = dom;; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '.' || c == '\0') {
      size_t ll = (size_t)(p - label);
      if (ll == 0 || ll > 63 || label[0] == '-' || p[-1] == '-')
        return am_fail(err, AM_EINVAL, "'%s' is not an email address (bad domain)", s);
      if (c == '\0') break;
      label = p + 1;
    } else if (c < 0x80 && !isalnum(c) && c != '-') {
      return am_fail(err, AM_EINVAL, "'%s' is not an email address (character '%c' in the domain)", s, c);
    }
  }
  return 0;
}

static int check_phone(const char *s, am_error *err) {
  int ndig = 0;
  for (const char *p = s; *p; p++) {
    if (isdigit((unsigned char)*p)) ndig++;
    else if (!strchr(" +.-()/", *p))
      return am_fail(err, AM_EINVAL, "'%s' is not a phone number (only digits, spaces and + . - ( ) / are allowed)", s);
  }
  if (ndig < 4) return am_fail(err, AM_EINVAL, "'%s' is not a phone number (too few digits)", s);
  return 0;
}

/* Accepts "www.example.org" and "linkedin.com/in/x" by adding https://,
 * since that is how people paste them; *s may be replaced. */
int am_url_normalise(char **s, size_t max, am_error *err) {
  char *u = *s;
  for (char *p = u; *p; p++)
    if ((unsigned char)*p <= ' ')
      return am_fail(err, AM_EINVAL, "'%s' is not a web address (it contains a space)", u);
  if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0) {
    if (strstr(u, "://") || !strchr(u, '.'))
      return am_fail(err, AM_EINVAL, "'%s' is not a web address (expected https://...)", u);
    size_t n = strlen(u);
    char *w = malloc(n + 9);
    if (!w) return AM_ENOMEM;
    memcpy(w, "https://", 8);
    memcpy(w + 8, u, n + 1);
    free(u);
    *s = u = w;
  }
  /* Schemes are case-insensitive (RFC 3986): written lower-case, the one
   * form announcements accept. */
  for (char *p = u; *p != ':'; p++) *p = (char)tolower((unsigned char)*p);
  const char *host = strstr(u, "://") + 3;
  if (!*host || *host == '/')
    return am_fail(err, AM_EINVAL, "'%s' is not a web address (no host)", u);
  if (strlen(u) > max)
    return am_fail(err, AM_EINVAL, "is longer than %zu bytes", max);
  return 0;
}

static int clean_item(const am_field *fd, const char *v, size_t len, char **out,
                      am_error *err) {
  int flags = (fd->flags & AM_FF_MULTILINE) ? AM_TEXT_MULTILINE : 0;
  int rc = am_text_clean(v, len, fd->max_len, flags, out, err);
  if (rc) return rc;
  if (!**out) return 0;
  if (fd->flags & AM_FF_EMAIL) rc = check_email(out, err);
  else if (fd->flags & AM_FF_PHONE) rc = check_phone(*out, err);
  else if (fd->flags & AM_FF_URL) rc = am_url_normalise(out, fd->max_len, err);
  if (rc) { free(*out); *out = NULL; }
  return rc;
}

static bool ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return false;
  return true;
}

static int parse_list(const am_field *fd, const char *v, size_t len,
                      am_strlist *out, am_error *err) {
  am_strlist l = {0};
  int rc = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && !strchr(";,|\n", v[i])) continue;
    char *item = NULL;
    rc = clean_item(fd, v + start, i - start, &item, err);
    start = i + 1;
    if (rc) goto fail;
    if (!*item) { free(item); continue; }
    /* "Python, python" is one skill, and so are "Éthique, éthique": full
     * Unicode case folding, not just ASCII. */
    bool dup = false;
    for (uint32_t k = 0; k < l.n && !dup; k++) {
      int cmp;
      /* Most items are ASCII: strcasecmp says the same, a hundred times
       * faster (this runs for every list cell of an import). */
      if (ascii(l.v[k]) && ascii(item)) {
        dup = strcasecmp(l.v[k], item) == 0;
        continue;
      }
      /* Items are NFC already (cleaned): no normalisation pass needed. */
      if (u8_casecmp((const uint8_t *)l.v[k], strlen(l.v[k]), (const uint8_t *)item,
                     strlen(item), NULL, NULL, &cmp) != 0) {
        free(item);
        rc = AM_ENOMEM;
        goto fail;
      }
      dup = cmp == 0;
    }
    if (dup) { free(item); continue; }
    if (l.n >= fd->max_items) {
      free(item);
      rc = am_fail(err, AM_EINVAL, "has more than %u items", fd->max_items);
      goto fail;
    }
    char **nv = realloc(l.v, (l.n + 1) * sizeof *nv);
    if (!nv) { free(item); rc = AM_ENOMEM; goto fail; }
    l.v = nv;
    l.v[l.n++] = item;
  }
  *out = l;
  return 0;
fail:
  list_free(&l);
  return rc;
}

static void trim(const char **s, size_t *len) {
  while (*len && isspace((unsigned char)**s)) (*s)++, (*len)--;
  while (*len && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

int am_member_set(am_member *m, int f, const char *value, size_t len,
                  am_error *err) {
  const am_field *fd = &am_fields[f];
  int rc = 0;
  const char *v = value;
  size_t n = len;
  trim(&v, &n);
  switch (fd->type) {
  case AM_T_TEXT: {
    char *s = NULL;
    if ((rc = clean_item(fd, v, n, &s, err))) return rc;
    field_clear(m, f);
    if (*s) *text_at(m, f) = s;
    else free(s);
    return 0;
  }
  case AM_T_LIST: {
    am_strlist l;
    if ((rc = parse_list(fd, v, n, &l, err))) return rc;
    field_clear(m, f);
    *list_at(m, f) = l;
    return 0;
  }
  case AM_T_YEAR: {
    if (n == 0) return *u32_at(m, f) = 0, 0;
    if (n > 4 || !digits(v, n))
      return am_fail(err, AM_EINVAL, "'%.*s' is not a year", (int)(n > 40 ? 40 : n), v);
    int y = num(v, n);
    if (y < AM_YEAR_MIN || y > AM_YEAR_MAX)
      return am_fail(err, AM_EINVAL, "year %d is out of range (%d to %d)", y, AM_YEAR_MIN, AM_YEAR_MAX);
    *u32_at(m, f) = (uint32_t)y;
    return 0;
  }
  case AM_T_BOOL: {
    bool b = false;
    if (n && am_bool_parse(v, n, &b))
      return am_fail(err, AM_EINVAL, "'%.*s' is not yes or no", (int)(n > 40 ? 40 : n), v);
    *bool_at(m, f) = b;
    return 0;
  }
  case AM_T_DATE:
  case AM_T_CONSENT: {
    uint32_t d = 0;
    bool b;
    if (n == 0) {
      *u32_at(m, f) = 0;
    } else if (fd->type == AM_T_CONSENT && am_bool_parse(v, n, &b) == 0) {
      /* "yes" keeps an earlier consent date rather than moving it. */
      if (!b) *u32_at(m, f) = 0;
      else if (!*u32_at(m, f)) *u32_at(m, f) = am_today();
    } else if (am_date_parse(v, n, &d)) {
      return am_fail(err, AM_EINVAL, "'%.*s' is not a date (expected YYYY-MM-DD or DD/MM/YYYY%s)",
                     (int)(n > 40 ? 40 : n), v, fd->type == AM_T_CONSENT ? ", yes or no" : "");
    } else {
      *u32_at(m, f) = d;
    }
    /* Sharing with the federation includes being listed: consenting to the
     * one gives the other, withdrawing the listing withdraws both. */
    if (f == AM_F_CONSENT_FEDERATION && m->consent_federation && !m->consent_listed)
      m->consent_listed = m->consent_federation;
    if (f == AM_F_CONSENT_LISTED && !m->consent_listed) m->consent_federation = 0;
    return 0;
  }
  }
  return AM_EINTERNAL;
}

int am_member_format(const am_member *m, int f, am_buf *out) {
  const am_field *fd = &am_fields[f];
  switch (fd->type) {
  case AM_T_TEXT: {
    const char *s = *ctext_at(m, f);
    return s ? am_buf_append(out, s, strlen(s)) : 0;
  }
  case AM_T_LIST: {
    const am_strlist *l = clist_at(m, f);
    for (uint32_t i = 0; i < l->n; i++) {
      int rc = (i ? am_buf_append(out, "; ", 2) : 0);
      if (!rc) rc = am_buf_append(out, l->v[i], strlen(l->v[i]));
      if (rc) return rc;
    }
    return 0;
  }
  case AM_T_YEAR:
    return cu32(m, f) ? am_buf_printf(out, "%u", (unsigned)cu32(m, f)) : 0;
  case AM_T_BOOL:
    return am_buf_append(out, cbool(m, f) ? "yes" : "no", cbool(m, f) ? 3 : 2);
  default: {
    char d[11];
    am_date_format(cu32(m, f), d);
    return am_buf_append(out, d, strlen(d));
  }
  }
}

/* ---- visibility ------------------------------------------------------ */

const char *am_vis_name(int vis) {
  switch (vis) {
  case AM_VIS_PRIVATE: return "private";
  case AM_VIS_SCHOOL: return "school";
  case AM_VIS_FEDERATION: return "federation";
  default: return "?";
  }
}

int am_vis_parse(const char *s, size_t len) {
  static const struct { const char *word; int vis; } words[] = {
    {"private", AM_VIS_PRIVATE}, {"prive", AM_VIS_PRIVATE},
    {"school", AM_VIS_SCHOOL}, {"ecole", AM_VIS_SCHOOL},
    {"node", AM_VIS_SCHOOL},
    {"federation", AM_VIS_FEDERATION},
  };
  char *c = NULL;
  int vis = -1;
  if (am_text_compact(s, len, &c)) return -1;
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strcmp(c, words[i].word) == 0) vis = words[i].vis;
  free(c);
  return vis;
}

int am_member_set_visibility(am_member *m, const char *spec, size_t len,
                             am_error *err) {
  uint8_t vis[AM_F__PROFILE_COUNT];
  memcpy(vis, m->vis, sizeof vis);
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && spec[i] != ',' && spec[i] != ';') continue;
    const char *item = spec + start;
    size_t n = i - start;
    start = i + 1;
    trim(&item, &n);
    if (!n) continue;
    const char *eq = memchr(item, '=', n);
    if (!eq)
      return am_fail(err, AM_EUSAGE, "'%.*s' should be FIELD=LEVEL (e.g. emails=federation)", (int)n, item);
    char name[64];
    const char *nm = item;
    size_t nl = (size_t)(eq - item);
    trim(&nm, &nl);
    if (nl >= sizeof name) nl = sizeof name - 1;
    memcpy(name, nm, nl);
    name[nl] = '\0';
    int f = am_field_by_name(name);
    if (f < 0 || f >= AM_F__PROFILE_COUNT)
      return am_fail(err, AM_EUSAGE, "'%s' is not a profile field with a visibility", name);
    /* The level is what follows '=' up to the end of the item (spaces
     * around the name and the '=' are allowed). */
    int v = am_vis_parse(eq + 1, n - (size_t)(eq - item) - 1);
    if (v < 0)
      return am_fail(err, AM_EUSAGE, "unknown visibility level for %s (use private, school or federation)", name);
    vis[f] = (uint8_t)v;
  }
  memcpy(m->vis, vis, sizeof vis);
  return 0;
}

int am_member_format_visibility(const am_member *m, am_buf *out) {
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    int rc = am_buf_printf(out, "%s%s=%s", f ? ";" : "", am_fields[f].name, am_vis_name(m->vis[f]));
    if (rc) return rc;
  }
  return 0;
}

int am_member_check(const am_member *m, am_error *err) {
  if (!m->given_name && !m->family_name && !m->usual_name)
    return am_fail(err, AM_EINVAL, "a member needs a name (given name or family name)");
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++)
    if (m->vis[f] > AM_VIS_FEDERATION) return am_fail(err, AM_EINVAL, "bad visibility level");
  return 0;
}

int am_member_display_name(const am_member *m, am_buf *out) {
  int rc = 0;
  if (m->given_name) rc = am_buf_printf(out, "%s", m->given_name);
  if (!rc && m->family_name)
    rc = am_buf_printf(out, "%s%s", m->given_name ? " " : "", m->family_name);
  if (!rc && m->usual_name)
    rc = am_buf_printf(out, (m->given_name || m->family_name) ? " (%s)" : "%s", m->usual_name);
  return rc;
}

/* ---- store codec ----------------------------------------------------- */
/* [record_version=1, id, created, updated, visibility(bin), field...] with
 * one element per field in table order: text as str or nil, list as array
 * of str, year/date/consent as uint, bool as bool. Fields are only ever
 * appended to the table, so an older record decodes with the new fields
 * empty. */

#define RECORD_VERSION 1
#define RECORD_HEAD 5

static int buf_write(void *data, const char *p, size_t n) {
  return am_buf_append(data, p, n) ? -1 : 0;
}

int am_member_encode(const am_member *m, am_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = msgpack_pack_array(&pk, RECORD_HEAD + AM_F__COUNT);
  rc |= msgpack_pack_uint8(&pk, RECORD_VERSION);
  rc |= msgpack_pack_uint64(&pk, m->id);
  rc |= msgpack_pack_int64(&pk, m->created);
  rc |= msgpack_pack_int64(&pk, m->updated);
  rc |= msgpack_pack_bin(&pk, sizeof m->vis);
  rc |= msgpack_pack_bin_body(&pk, m->vis, sizeof m->vis);
  for (int f = 0; f < AM_F__COUNT && !rc; f++) {
    switch (am_fields[f].type) {
    case AM_T_TEXT: {
      const char *s = *ctext_at(m, f);
      if (!s) { rc |= msgpack_pack_nil(&pk); break; }
      size_t n = strlen(s);
      rc |= msgpack_pack_str(&pk, n);
      rc |= msgpack_pack_str_body(&pk, s, n);
      break;
    }
    case AM_T_LIST: {
      const am_strlist *l = clist_at(m, f);
      rc |= msgpack_pack_array(&pk, l->n);
      for (uint32_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->v[i]);
        rc |= msgpack_pack_str(&pk, n);
        rc |= msgpack_pack_str_body(&pk, l->v[i], n);
      }
      break;
    }
    case AM_T_BOOL:
      rc |= cbool(m, f) ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
      break;
    default:
      rc |= msgpack_pack_uint32(&pk, cu32(m, f));
      break;
    }
  }
  return rc ? AM_ENOMEM : 0;
}

/* Strings are never empty: the encoder writes nil for an empty text and
 * leaves empty items out of lists. */
static int dup_str(const msgpack_object *o, size_t max, char **out) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > max ||
      memchr(o->via.str.ptr, '\0', o->via.str.size) ||
      !am_utf8_valid(o->via.str.ptr, o->via.str.size))
    return AM_ECORRUPT;
  if (!(*out = strndup(o->via.str.ptr, o->via.str.size))) return AM_ENOMEM;
  return 0;
}

static int decode_field(am_member *m, int f, const msgpack_object *o) {
  const am_field *fd = &am_fields[f];
  switch (fd->type) {
  case AM_T_TEXT:
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    return dup_str(o, fd->max_len, text_at(m, f));
  case AM_T_LIST: {
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > fd->max_items)
      return AM_ECORRUPT;
    am_strlist *l = list_at(m, f);
    if (!o->via.array.size) return 0;
    if (!(l->v = calloc(o->via.array.size, sizeof *l->v))) return AM_ENOMEM;
    for (; l->n < o->via.array.size; l->n++) {
      int rc = dup_str(&o->via.array.ptr[l->n], fd->max_len, &l->v[l->n]);
      if (rc) return rc;
    }
    return 0;
  }
  case AM_T_BOOL:
    if (o->type != MSGPACK_OBJECT_BOOLEAN) return AM_ECORRUPT;
    *bool_at(m, f) = o->via.boolean;
    return 0;
  default: {
    /* Only values am_member_set can produce: 0 (unset), a year in range,
     * a valid date. */
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > 99999999)
      return AM_ECORRUPT;
    uint32_t v = (uint32_t)o->via.u64;
    if (v) {
      if (fd->type == AM_T_YEAR ? (v < AM_YEAR_MIN || v > AM_YEAR_MAX)
                                : !valid_date((int)(v / 10000), (int)(v / 100 % 100), (int)(v % 100)))
        return AM_ECORRUPT;
    }
    *u32_at(m, f) = v;
    return 0;
  }
  }
}

/* A signed 64-bit integer (msgpack writes non-negative ones as unsigned). */
static bool is_int64(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
         (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX);
}

int am_member_decode(const uint8_t *p, size_t len, am_member *m,
                     am_error *err) {
  size_t used;
  int rc = AM_ECORRUPT;
  msgpack_zone zone;
  msgpack_object o;
  am_member_init(m);
  if (am_mp_check(p, len, 3, 0, &used) || used != len)
    return am_fail(err, AM_ECORRUPT, "member record does not decode");
  if (!msgpack_zone_init(&zone, 2048)) return AM_ENOMEM;
  size_t off = 0;
  if (msgpack_unpack((const char *)p, len, &off, &zone, &o) != MSGPACK_UNPACK_SUCCESS ||
      o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size < RECORD_HEAD)
    goto out;
  const msgpack_object *a = o.via.array.ptr;
  if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) goto out;
  if (a[0].via.u64 > RECORD_VERSION) {
    rc = am_fail(err, AM_ENEWER, "member record written by a newer version of Amicale");
    goto out;
  }
  if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || !is_int64(&a[2]) ||
      !is_int64(&a[3]) || a[4].type != MSGPACK_OBJECT_BIN)
    goto out;
  if (a[1].via.u64 > AM_MEMBER_ID_MAX) goto out;
  m->id = a[1].via.u64;
  m->created = a[2].via.i64;
  m->updated = a[3].via.i64;
  /* Older records have fewer profile fields: the rest keep their defaults. */
  uint32_t nvis = a[4].via.bin.size;
  for (uint32_t i = 0; i < nvis && i < AM_F__PROFILE_COUNT; i++) {
    if ((uint8_t)a[4].via.bin.ptr[i] > AM_VIS_FEDERATION) goto out;
    m->vis[i] = (uint8_t)a[4].via.bin.ptr[i];
  }
  uint32_t nf = o.via.array.size - RECORD_HEAD;
  for (uint32_t f = 0; f < nf && f < AM_F__COUNT; f++) {
    int frc = decode_field(m, (int)f, &a[RECORD_HEAD + f]);
    if (frc) { rc = frc; goto out; }
  }
  rc = 0;
out:
  msgpack_zone_destroy(&zone);
  if (rc) {
    am_member_free(m);
    if (rc == AM_ECORRUPT) am_fail(err, rc, "member record does not decode");
  }
  return rc;
}
