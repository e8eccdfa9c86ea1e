/* Unit tests for the member record (proto/member.c): the field table and its
 * header aliases, parsing and formatting of every field type, visibility,
 * the msgpack store codec (and the am_mp_check guard in front of it), and
 * the JSON and vCard forms (proto/member_json.c, proto/vcard.c). Expected
 * values are spelled out exactly. */
#include "proto/member.h"

#include <msgpack.h>
#include <stdbool.h>

#include "proto/member_json.h"
#include "proto/mpcheck.h"
#include "proto/text.h"
#include "tests/test.h"

/* ---- helpers ---------------------------------------------------------- */

static am_error err;

/* Sets field f from a NUL-terminated value; err keeps the message. */
static int set(am_member *m, int f, const char *v) {
  memset(&err, 0, sizeof err);
  return am_member_set(m, f, v, strlen(v), &err);
}

/* The text form of field f, as a static copy (a ring of four, so two
 * results can be compared); NULL when formatting failed. */
static const char *fmt(const am_member *m, int f) {
  static char bufs[4][8192];
  static int next;
  char *out = bufs[next++ % 4];
  am_buf b = {0};
  if (am_member_format(m, f, &b) != 0 || b.len >= sizeof bufs[0]) {
    am_buf_free(&b);
    return NULL;
  }
  if (b.len) memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  am_buf_free(&b);
  return out;
}

/* Field recognised from a header as typed in a spreadsheet. */
static int header(const char *h) {
  char *c = NULL;
  if (am_text_compact(h, strlen(h), &c) != 0) return -2;
  int f = am_field_by_header(c);
  free(c);
  return f;
}

static const char *vis_fmt(const am_member *m) {
  static char out[2048];
  am_buf b = {0};
  out[0] = '\0';
  if (am_member_format_visibility(m, &b) == 0 && b.data && b.len < sizeof out)
    memcpy(out, b.data, b.len + 1);
  am_buf_free(&b);
  return out;
}

static const char *display(const am_member *m) {
  static char out[1024];
  am_buf b = {0};
  out[0] = '\0';
  if (am_member_display_name(m, &b) != 0) strcpy(out, "(failed)");
  else if (b.data && b.len < sizeof out) memcpy(out, b.data, b.len + 1);
  am_buf_free(&b);
  return out;
}

static char *repeat(const char *s, size_t times) {
  size_t n = strlen(s);
  char *r = malloc(n * times + 1);
  if (!r) abort();
  for (size_t i = 0; i < times; i++) memcpy(r + i * n, s, n);
  r[n * times] = '\0';
  return r;
}

/* A record with every field set, UTF-8 throughout and a multi-line bio. */
#define FULL_BIO                                                             \
  "Première ligne, avec; ponctuation \\ et tout.\n"                          \
  "Deuxième ligne — « citée » ✓ 日本語\n\nQuatrième."

static int fill(am_member *m) {
  static const struct { int f; const char *v; } values[] = {
    {AM_F_GIVEN_NAME, "Éléonore"},
    {AM_F_FAMILY_NAME, "Lœvenbruck"},
    {AM_F_USUAL_NAME, "Martin-Åström"},
    {AM_F_EMAILS, "Eleonore@Example.FR; e.lv@work.example.com"},
    {AM_F_PHONE, "+33 6 12 34 56 78"},
    {AM_F_PROMO, "2012"},
    {AM_F_PROGRAMME, "Ingénieur généraliste"},
    {AM_F_DIPLOMA, "Diplôme d'ingénieur"},
    {AM_F_DEPARTMENT, "Informatique"},
    {AM_F_EMPLOYER, "Société Générale"},
    {AM_F_JOB_TITLE, "Cheffe de projet"},
    {AM_F_SECTOR, "Banque"},
    {AM_F_CITY, "Lyon"},
    {AM_F_COUNTRY, "France"},
    {AM_F_SKILLS, "C; Rust; Gestion de projet"},
    {AM_F_LANGUAGES, "Français, English | 日本語"},
    {AM_F_LINKEDIN, "linkedin.com/in/eleonore"},
    {AM_F_WEBSITE, "https://example.org/~el"},
    {AM_F_BIO, FULL_BIO},
    {AM_F_MENTORING, "oui"},
    {AM_F_MENTORING_TOPICS, "Carrière; Entrepreneuriat"},
    {AM_F_DUES_PAID_UNTIL, "31/12/2025"},
    {AM_F_DUES_LIFETIME, "yes"},
    {AM_F_CONSENT_LISTED, "2024-05-01"},
    {AM_F_CONSENT_FEDERATION, "15/06/2024"},
  };
  am_member_init(m);
  m->id = 42;
  m->created = 1714557600; /* 2024-05-01T10:00:00Z */
  m->updated = 1714561200; /* 2024-05-01T11:00:00Z */
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
    int rc = set(m, values[i].f, values[i].v);
    if (rc) {
      fprintf(stderr, "fill: %s: %s\n", am_fields[values[i].f].name, err.msg);
      return rc;
    }
  }
  const char *vis = "emails=federation, bio=private; city=federation";
  return am_member_set_visibility(m, vis, strlen(vis), &err);
}

/* Checks two records hold the same thing, field by field. */
static void check_same(const am_member *a, const am_member *b) {
  CHECK_INT(a->id, b->id);
  CHECK_INT(a->created, b->created);
  CHECK_INT(a->updated, b->updated);
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) CHECK_INT(a->vis[f], b->vis[f]);
  for (int f = 0; f < AM_F__COUNT; f++) {
    const char *x = fmt(a, f), *y = fmt(b, f);
    if (!x || !y || strcmp(x, y) != 0)
      fprintf(stderr, "  field %s differs\n", am_fields[f].name);
    CHECK_STR(x, y);
    CHECK_INT(am_member_is_empty(a, f), am_member_is_empty(b, f));
  }
}

/* ---- the field table -------------------------------------------------- */

static void test_field_by_name(void) {
  CHECK_INT(am_field_by_name("given_name"), AM_F_GIVEN_NAME);
  CHECK_INT(am_field_by_name("given-name"), AM_F_GIVEN_NAME);
  CHECK_INT(am_field_by_name("job_title"), AM_F_JOB_TITLE);
  CHECK_INT(am_field_by_name("job-title"), AM_F_JOB_TITLE);
  CHECK_INT(am_field_by_name("dues-paid-until"), AM_F_DUES_PAID_UNTIL);
  CHECK_INT(am_field_by_name("consent-federation"), AM_F_CONSENT_FEDERATION);
  CHECK_INT(am_field_by_name("mentoring-topics"), AM_F_MENTORING_TOPICS);
  CHECK_INT(am_field_by_name("emails"), AM_F_EMAILS);
  CHECK_INT(am_field_by_name("email"), AM_F_EMAILS);
  CHECK_INT(am_field_by_name("skill"), AM_F_SKILLS);
  CHECK_INT(am_field_by_name("skills"), AM_F_SKILLS);
  CHECK_INT(am_field_by_name("language"), AM_F_LANGUAGES);
  CHECK_INT(am_field_by_name("languages"), AM_F_LANGUAGES);
  CHECK_INT(am_field_by_name(""), -1);
  CHECK_INT(am_field_by_name("nickname"), -1);
  CHECK_INT(am_field_by_name("job title"), -1);
  CHECK_INT(am_field_by_name("jobtitle"), -1);
  CHECK_INT(am_field_by_name("emails_"), -1);
  CHECK_INT(am_field_by_name("prenom"), -1); /* headers are not CLI names */
  char *longname = repeat("a", 200);
  CHECK_INT(am_field_by_name(longname), -1);
  free(longname);
  for (int f = 0; f < AM_F__COUNT; f++) {
    char dashed[64];
    snprintf(dashed, sizeof dashed, "%s", am_fields[f].name);
    for (char *p = dashed; *p; p++)
      if (*p == '_') *p = '-';
    CHECK_INT(am_field_by_name(am_fields[f].name), f);
    CHECK_INT(am_field_by_name(dashed), f);
  }
}

static void test_field_by_header(void) {
  CHECK_INT(header("Prénom"), AM_F_GIVEN_NAME);
  CHECK_INT(header("Nom"), AM_F_FAMILY_NAME);
  CHECK_INT(header("Nom d'usage"), AM_F_USUAL_NAME);
  CHECK_INT(header("E-mail"), AM_F_EMAILS);
  CHECK_INT(header("Courriel"), AM_F_EMAILS);
  CHECK_INT(header("Téléphone"), AM_F_PHONE);
  CHECK_INT(header("Promotion"), AM_F_PROMO);
  CHECK_INT(header("Année de diplôme"), AM_F_PROMO);
  CHECK_INT(header("ANNEE_DE_DIPLOME"), AM_F_PROMO);
  CHECK_INT(header("Entreprise"), AM_F_EMPLOYER);
  CHECK_INT(header("Société"), AM_F_EMPLOYER);
  CHECK_INT(header("Poste"), AM_F_JOB_TITLE);
  CHECK_INT(header("Fonction"), AM_F_JOB_TITLE);
  CHECK_INT(header("Ville"), AM_F_CITY);
  CHECK_INT(header("Pays"), AM_F_COUNTRY);
  CHECK_INT(header("Compétences"), AM_F_SKILLS);
  CHECK_INT(header("Langues"), AM_F_LANGUAGES);
  CHECK_INT(header("First name"), AM_F_GIVEN_NAME);
  CHECK_INT(header("Last Name"), AM_F_FAMILY_NAME);
  CHECK_INT(header("Email address"), AM_F_EMAILS);
  CHECK_INT(header("job_title"), AM_F_JOB_TITLE);
  CHECK_INT(header("dues_paid_until"), AM_F_DUES_PAID_UNTIL);
  CHECK_INT(header("mentoring_topics"), AM_F_MENTORING_TOPICS);
  CHECK_INT(header("Remarques"), -1);
  CHECK_INT(header(""), -1);
  CHECK_INT(header("---"), -1);
  CHECK_INT(header("job"), -1);
  CHECK_INT(header("jobtitles"), -1);
  CHECK_INT(header("Prénom2"), -1);
  CHECK_INT(am_field_by_header(""), -1);
  /* Every canonical name, as a header, is its own field. */
  for (int f = 0; f < AM_F__COUNT; f++) CHECK_INT(header(am_fields[f].name), f);
}

/* No header alias may belong to two fields (the first would silently win),
 * and aliases must already be in compact form. */
static void test_aliases_unique(void) {
  char tokens[512][64];
  int owner[512];
  int nt = 0;
  for (int f = 0; f < AM_F__COUNT; f++) {
    /* The compacted canonical name counts as an alias too. */
    char *c = NULL;
    REQUIRE(am_text_compact(am_fields[f].name, strlen(am_fields[f].name), &c) == 0);
    REQUIRE(nt < 512 && strlen(c) < 64);
    strcpy(tokens[nt], c);
    owner[nt++] = f;
    free(c);
    for (const char *a = am_fields[f].aliases; *a;) {
      size_t len = strcspn(a, " ");
      REQUIRE(len > 0 && len < 64 && nt < 512);
      memcpy(tokens[nt], a, len);
      tokens[nt][len] = '\0';
      owner[nt++] = f;
      for (size_t i = 0; i < len; i++)
        CHECK((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'));
      a += len;
      CHECK(*a == '\0' || (a[0] == ' ' && a[1] != ' ' && a[1] != '\0'));
      while (*a == ' ') a++;
    }
  }
  for (int i = 0; i < nt; i++) {
    for (int j = i + 1; j < nt; j++)
      if (owner[i] != owner[j] && strcmp(tokens[i], tokens[j]) == 0) {
        fprintf(stderr, "  alias '%s' is both %s and %s\n", tokens[i],
                am_fields[owner[i]].name, am_fields[owner[j]].name);
        CHECK(!"alias under two fields");
      }
    CHECK_INT(am_field_by_header(tokens[i]), owner[i]);
  }
}

/* ---- setting values --------------------------------------------------- */

static void test_set_text(void) {
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "  Marie \t "), 0);
  CHECK_STR(m.given_name, "Marie");
  /* NFC: E + combining acute becomes É. */
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "E\xcc\x81le\xcc\x81onore"), 0);
  CHECK_STR(m.given_name, "\xc3\x89l\xc3\xa9onore");
  /* Unicode white space trimmed, tab inside becomes a space. */
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "\xc2\xa0Jean\tPierre\xe2\x80\xaf"), 0);
  CHECK_STR(m.given_name, "Jean Pierre");
  CHECK_INT(set(&m, AM_F_CITY, "Saint-Étienne"), 0);
  CHECK_STR(m.city, "Saint-Étienne");

  /* Too long: 100 bytes is the limit of a name. */
  char *a100 = repeat("a", 100), *a101 = repeat("a", 101);
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, a100), 0);
  CHECK_STR(m.family_name, a100);
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, a101), AM_EINVAL);
  CHECK_INT(err.code, AM_EINVAL);
  CHECK_STR(err.msg, "is longer than 100 bytes");
  CHECK_STR(m.family_name, a100); /* unchanged */
  /* é is two bytes: 50 fit, 51 do not. */
  char *e50 = repeat("é", 50), *e51 = repeat("é", 51);
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, e50), 0);
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, e51), AM_EINVAL);
  CHECK_STR(m.family_name, e50);
  free(a100), free(a101), free(e50), free(e51);

  /* Bad text. */
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Ma\x07rie"), AM_EINVAL);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Ma\xffrie"), AM_EINVAL);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Ma\nrie"), AM_EINVAL);
  CHECK_STR(m.given_name, "Jean Pierre");
  /* An embedded NUL (length given) is a control character. */
  memset(&err, 0, sizeof err);
  CHECK_INT(am_member_set(&m, AM_F_GIVEN_NAME, "ab\0cd", 5, &err), AM_EINVAL);
  /* The length is honoured: only "Paul" of "Paulette". */
  CHECK_INT(am_member_set(&m, AM_F_GIVEN_NAME, "Paulette", 4, &err), 0);
  CHECK_STR(m.given_name, "Paul");

  /* Multi-line text: the bio keeps line breaks, \r\n becomes \n. */
  CHECK_INT(set(&m, AM_F_BIO, "  Ligne 1\r\nLigne 2\rLigne 3\n\n"), 0);
  CHECK_STR(m.bio, "Ligne 1\nLigne 2\nLigne 3");
  char *b2000 = repeat("b", 2000), *b2001 = repeat("b", 2001);
  CHECK_INT(set(&m, AM_F_BIO, b2000), 0);
  CHECK_INT(set(&m, AM_F_BIO, b2001), AM_EINVAL);
  CHECK_INT(strlen(m.bio), 2000);
  free(b2000), free(b2001);
  am_member_free(&m);
}

static void test_set_list(void) {
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_SKILLS, "C; Python, python | Rust"), 0);
  REQUIRE(m.skills.n == 3);
  CHECK_STR(m.skills.v[0], "C");
  CHECK_STR(m.skills.v[1], "Python");
  CHECK_STR(m.skills.v[2], "Rust");
  CHECK_STR(fmt(&m, AM_F_SKILLS), "C; Python; Rust");
  /* Empty items are skipped, items trimmed, line breaks separate. */
  CHECK_INT(set(&m, AM_F_SKILLS, ";; a ;, ;\xc2\xa0 b\xc2\xa0|\nc\n"), 0);
  CHECK_STR(fmt(&m, AM_F_SKILLS), "a; b; c");
  /* Case-insensitive dedupe, also outside ASCII: the first spelling stays. */
  CHECK_INT(set(&m, AM_F_LANGUAGES, "Français; FRANÇAIS; français; English; english"), 0);
  CHECK_STR(fmt(&m, AM_F_LANGUAGES), "Français; English");
  CHECK_INT(set(&m, AM_F_SKILLS, "Éthique; éthique; ETHIQUE"), 0);
  CHECK_STR(fmt(&m, AM_F_SKILLS), "Éthique; ETHIQUE"); /* accents differ */
  /* NFC before comparing: decomposed and composed é are the same item. */
  CHECK_INT(set(&m, AM_F_SKILLS, "Ple\xcc\x81nie\xcc\x80re; pl\xc3\xa9ni\xc3\xa8re"), 0);
  CHECK_STR(fmt(&m, AM_F_SKILLS), "Pl\xc3\xa9ni\xc3\xa8re");

  /* Max items (languages: 20), counted after dedupe. */
  char buf[1024] = "";
  for (int i = 0; i < 20; i++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "L%d;", i);
  CHECK_INT(set(&m, AM_F_LANGUAGES, buf), 0);
  CHECK_INT(m.languages.n, 20);
  char with_dups[1100];
  snprintf(with_dups, sizeof with_dups, "%sl0;L19", buf);
  CHECK_INT(set(&m, AM_F_LANGUAGES, with_dups), 0);
  CHECK_INT(m.languages.n, 20);
  strcat(buf, "L20");
  CHECK_INT(set(&m, AM_F_LANGUAGES, buf), AM_EINVAL);
  CHECK_STR(err.msg, "has more than 20 items");
  CHECK_INT(m.languages.n, 20); /* unchanged */
  CHECK_STR(m.languages.v[0], "L0");

  /* One item too long (languages: 50 bytes each) or invalid fails it all. */
  char *l50 = repeat("x", 50), *l51 = repeat("x", 51);
  char item[128];
  snprintf(item, sizeof item, "Basque; %s", l50);
  CHECK_INT(set(&m, AM_F_LANGUAGES, item), 0);
  CHECK_INT(m.languages.n, 2);
  snprintf(item, sizeof item, "Breton; %s", l51);
  CHECK_INT(set(&m, AM_F_LANGUAGES, item), AM_EINVAL);
  CHECK_STR(err.msg, "is longer than 50 bytes");
  CHECK_STR(m.languages.v[0], "Basque");
  CHECK_INT(set(&m, AM_F_LANGUAGES, "Breton; Gal\x01lo"), AM_EINVAL);
  CHECK_INT(m.languages.n, 2);
  free(l50), free(l51);

  /* Emails: at most 8. */
  CHECK_INT(set(&m, AM_F_EMAILS, "a@x.fr;b@x.fr;c@x.fr;d@x.fr;e@x.fr;f@x.fr;g@x.fr;h@x.fr"), 0);
  CHECK_INT(m.emails.n, 8);
  CHECK_INT(set(&m, AM_F_EMAILS, "a@x.fr;b@x.fr;c@x.fr;d@x.fr;e@x.fr;f@x.fr;g@x.fr;h@x.fr;i@x.fr"), AM_EINVAL);
  CHECK_INT(m.emails.n, 8);
  am_member_free(&m);
  CHECK_INT(m.skills.n, 0);
  CHECK(m.skills.v == NULL);
}

static void test_set_email(void) {
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_EMAILS, " Marie.Dupont@Example.COM "), 0);
  REQUIRE(m.emails.n == 1);
  CHECK_STR(m.emails.v[0], "marie.dupont@example.com");
  CHECK_INT(set(&m, AM_F_EMAILS, "a@b.co; A@B.CO, a@B.co"), 0);
  CHECK_STR(fmt(&m, AM_F_EMAILS), "a@b.co");
  static const char *good[] = {
    "first+tag@sub.example.org", "o'brien@example.ie", "x_y-z@a-b.example.com",
    "élodie@exemple.fr", "x@bücher.de", "a@b.c",
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    if (set(&m, AM_F_EMAILS, good[i]) != 0) fprintf(stderr, "  refused %s: %s\n", good[i], err.msg);
    CHECK(m.emails.n == 1 && strcmp(m.emails.v[0], good[i]) == 0);
  }
  /* Non-ASCII letters are kept as written (not lower-cased). */
  CHECK_INT(set(&m, AM_F_EMAILS, "ÉLODIE@EXEMPLE.FR"), 0);
  CHECK_STR(m.emails.v[0], "\xc3\x89lodie@exemple.fr");
  char *l64 = repeat("a", 64), *l65 = repeat("a", 65);
  char addr[128];
  snprintf(addr, sizeof addr, "%s@example.com", l64);
  CHECK_INT(set(&m, AM_F_EMAILS, addr), 0);
  snprintf(addr, sizeof addr, "%s@example.com", l65);
  CHECK_INT(set(&m, AM_F_EMAILS, addr), AM_EINVAL);
  free(l64), free(l65);

  static const char *bad[] = {
    "marie",                 /* no @ */
    "marie.example.com",     /* no @ */
    "a@b@example.com",       /* two @ */
    "@example.com",          /* nothing before @ */
    "a@",                    /* nothing after */
    "a@example",             /* no dot in the domain */
    "a@.example.com",        /* leading dot in the domain */
    "a@example.com.",        /* trailing dot */
    "a@example..com",        /* double dot */
    ".a@example.com",        /* leading dot */
    "a.@example.com",        /* dot before @ */
    "a..b@example.com",      /* double dot */
    "a b@example.com",       /* space */
    "a@exa mple.com",        /* space in the domain */
    "a@-example.com",        /* label starting with - */
    "a@example-.com",        /* label ending with - */
    "a@exa_mple.com",        /* _ in the domain */
    "a@exa!mple.com",        /* ! in the domain */
    "a(b)@example.com",      /* ( before @ */
    "<a@example.com>",
    "a\"b@example.com",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = set(&m, AM_F_EMAILS, bad[i]);
    if (rc != AM_EINVAL) fprintf(stderr, "  accepted %s\n", bad[i]);
    CHECK_INT(rc, AM_EINVAL);
    CHECK_INT(err.code, AM_EINVAL);
    CHECK(strstr(err.msg, "is not an email address") != NULL);
  }
  /* A 64-byte label is too long. */
  char *d63 = repeat("d", 63), *d64 = repeat("d", 64);
  snprintf(addr, sizeof addr, "a@%s.com", d63);
  CHECK_INT(set(&m, AM_F_EMAILS, addr), 0);
  snprintf(addr, sizeof addr, "a@%s.com", d64);
  CHECK_INT(set(&m, AM_F_EMAILS, addr), AM_EINVAL);
  free(d63), free(d64);
  /* A list with one bad address changes nothing. */
  CHECK_INT(set(&m, AM_F_EMAILS, "ok@example.com"), 0);
  CHECK_INT(set(&m, AM_F_EMAILS, "new@example.com; bad"), AM_EINVAL);
  CHECK_STR(fmt(&m, AM_F_EMAILS), "ok@example.com");
  CHECK_STR(err.msg, "'bad' is not an email address (it needs exactly one @)");
  am_member_free(&m);
}

static void test_set_phone(void) {
  am_member m;
  am_member_init(&m);
  static const char *good[] = {
    "+33 6 12 34 56 78", "06.12.34.56.78", "(555) 123-4567", "1234",
    "+44 (0)20 7946 0958", "06/12/34/56/78",
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    CHECK_INT(set(&m, AM_F_PHONE, good[i]), 0);
    CHECK_STR(m.phone, good[i]);
  }
  CHECK_INT(set(&m, AM_F_PHONE, "  01 23 45 67 89  "), 0);
  CHECK_STR(m.phone, "01 23 45 67 89");
  static const char *bad[] = {
    "123", "+3 3", "06 12 AB 34 56", "tel: 0612345678", "+33#612345678",
    "0612345678 ext", "--", "06,12,34,56,78",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = set(&m, AM_F_PHONE, bad[i]);
    if (rc != AM_EINVAL) fprintf(stderr, "  accepted phone %s\n", bad[i]);
    CHECK_INT(rc, AM_EINVAL);
    CHECK(strstr(err.msg, "is not a phone number") != NULL);
  }
  CHECK_STR(m.phone, "01 23 45 67 89");
  char *p40 = repeat("1", 40), *p41 = repeat("1", 41);
  CHECK_INT(set(&m, AM_F_PHONE, p40), 0);
  CHECK_INT(set(&m, AM_F_PHONE, p41), AM_EINVAL);
  free(p40), free(p41);
  am_member_free(&m);
}

static void test_set_url(void) {
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_WEBSITE, "https://example.org/x?y=1"), 0);
  CHECK_STR(m.website, "https://example.org/x?y=1");
  CHECK_INT(set(&m, AM_F_WEBSITE, "http://example.org"), 0);
  CHECK_STR(m.website, "http://example.org");
  CHECK_INT(set(&m, AM_F_WEBSITE, "HTTPS://Example.org/"), 0);
  CHECK_STR(m.website, "HTTPS://Example.org/");
  CHECK_INT(set(&m, AM_F_LINKEDIN, "linkedin.com/in/x"), 0);
  CHECK_STR(m.linkedin, "https://linkedin.com/in/x");
  CHECK_INT(set(&m, AM_F_LINKEDIN, " www.linkedin.com/in/marie-dupont "), 0);
  CHECK_STR(m.linkedin, "https://www.linkedin.com/in/marie-dupont");
  CHECK_INT(set(&m, AM_F_WEBSITE, "exemple.fr"), 0);
  CHECK_STR(m.website, "https://exemple.fr");
  static const char *bad[] = {
    "ftp://example.org", "example", "https://", "http://", "https:///path",
    "http://exa mple.org", "exa mple.org", "javascript:alert(1)", "file:///etc/passwd",
    "//example.org",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = set(&m, AM_F_WEBSITE, bad[i]);
    if (rc != AM_EINVAL) fprintf(stderr, "  accepted url %s\n", bad[i]);
    CHECK_INT(rc, AM_EINVAL);
    CHECK(strstr(err.msg, "is not a web address") != NULL);
  }
  CHECK_STR(m.website, "https://exemple.fr");
  /* 300 bytes at most, counting the https:// that was added. */
  char *h = repeat("a", 288);
  char url[400];
  snprintf(url, sizeof url, "https://%s.com", h); /* 8 + 288 + 4 = 300 */
  CHECK_INT(set(&m, AM_F_WEBSITE, url), 0);
  CHECK_INT(strlen(m.website), 300);
  snprintf(url, sizeof url, "%s.com", h); /* 292, then 300 */
  CHECK_INT(set(&m, AM_F_WEBSITE, url), 0);
  CHECK_INT(strlen(m.website), 300);
  snprintf(url, sizeof url, "a%s.com", h); /* 293, then 301 */
  CHECK_INT(set(&m, AM_F_WEBSITE, url), AM_EINVAL);
  CHECK_STR(err.msg, "is longer than 300 bytes");
  CHECK_INT(strlen(m.website), 300);
  free(h);
  am_member_free(&m);
}

static void test_set_year(void) {
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_PROMO, "1900"), 0);
  CHECK_INT(m.promo, 1900);
  CHECK_INT(set(&m, AM_F_PROMO, "2100"), 0);
  CHECK_INT(m.promo, 2100);
  CHECK_INT(set(&m, AM_F_PROMO, " 2012 "), 0);
  CHECK_INT(m.promo, 2012);
  CHECK_STR(fmt(&m, AM_F_PROMO), "2012");
  static const char *bad[] = {"1899", "2101", "20a0", "0", "12345", "-1", "+2012",
                              "2012.0", "deux mille", "02012"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = set(&m, AM_F_PROMO, bad[i]);
    if (rc != AM_EINVAL) fprintf(stderr, "  accepted year %s\n", bad[i]);
    CHECK_INT(rc, AM_EINVAL);
    CHECK_INT(m.promo, 2012);
  }
  CHECK_INT(set(&m, AM_F_PROMO, "1899"), AM_EINVAL);
  CHECK_STR(err.msg, "year 1899 is out of range (1900 to 2100)");
  CHECK_INT(set(&m, AM_F_PROMO, "20a0"), AM_EINVAL);
  CHECK_STR(err.msg, "'20a0' is not a year");
  CHECK_INT(set(&m, AM_F_PROMO, ""), 0);
  CHECK_INT(m.promo, 0);
  CHECK_STR(fmt(&m, AM_F_PROMO), "");
  am_member_free(&m);
}

static void test_set_bool(void) {
  static const struct { const char *v; bool b; } ok[] = {
    {"oui", true}, {"non", false}, {"yes", true}, {"no", false},
    {"x", true}, {"X", true}, {"1", true}, {"0", false}, {"vrai", true},
    {"faux", false}, {"OUI", true}, {"Non", false}, {"true", true},
    {"FALSE", false}, {"y", true}, {"n", false}, {"o", true}, {" Yes ", true},
  };
  static const char *bad[] = {"maybe", "2", "ouii", "nope", "si", "oui!", "yes please", "-", "é"};
  const int fields[] = {AM_F_MENTORING, AM_F_DUES_LIFETIME};
  for (size_t k = 0; k < 2; k++) {
    int f = fields[k];
    am_member m;
    am_member_init(&m);
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
      CHECK_INT(set(&m, f, ok[i].v), 0);
      CHECK_INT(*(const bool *)((const char *)&m + am_fields[f].offset), ok[i].b);
      CHECK_STR(fmt(&m, f), ok[i].b ? "yes" : "no");
    }
    CHECK_INT(set(&m, f, "oui"), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
      CHECK_INT(set(&m, f, bad[i]), AM_EINVAL);
      CHECK_INT(am_member_is_empty(&m, f), false); /* still yes */
    }
    CHECK_INT(set(&m, f, "maybe"), AM_EINVAL);
    CHECK_STR(err.msg, "'maybe' is not yes or no");
    CHECK_INT(set(&m, f, ""), 0);
    CHECK_INT(am_member_is_empty(&m, f), true);
    am_member_free(&m);
  }
}

static void test_set_date(void) {
  am_member m;
  am_member_init(&m);
  static const struct { const char *v; uint32_t d; } ok[] = {
    {"2024-02-29", 20240229}, {"29/02/2024", 20240229}, {"2000-02-29", 20000229},
    {"2024-04-30", 20240430}, {"30/04/2024", 20240430}, {"1900-01-01", 19000101},
    {"2100-12-31", 21001231}, {" 01/12/2025 ", 20251201}, {"2023-02-28", 20230228},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    CHECK_INT(set(&m, AM_F_DUES_PAID_UNTIL, ok[i].v), 0);
    CHECK_INT(m.dues_paid_until, ok[i].d);
  }
  CHECK_STR(fmt(&m, AM_F_DUES_PAID_UNTIL), "2023-02-28");
  static const char *bad[] = {
    "2023-02-29", "29/02/2023", "1900-02-29", "2100-02-29", "2024-04-31",
    "31/04/2024", "2024-13-01", "2024-00-10", "2024-01-00", "2024-1-5",
    "1899-12-31", "2101-01-01", "2024/05/01", "01-05-2024", "yes", "oui",
    "2024-05-01T10:00", "20240501", "2024-0a-01", "+024-05-01",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = set(&m, AM_F_DUES_PAID_UNTIL, bad[i]);
    if (rc != AM_EINVAL) fprintf(stderr, "  accepted date %s\n", bad[i]);
    CHECK_INT(rc, AM_EINVAL);
    CHECK_INT(m.dues_paid_until, 20230228);
  }
  CHECK_INT(set(&m, AM_F_DUES_PAID_UNTIL, "31/04/2024"), AM_EINVAL);
  CHECK_STR(err.msg, "'31/04/2024' is not a date (expected YYYY-MM-DD or DD/MM/YYYY)");
  CHECK_INT(set(&m, AM_F_DUES_PAID_UNTIL, ""), 0);
  CHECK_INT(m.dues_paid_until, 0);
  CHECK_STR(fmt(&m, AM_F_DUES_PAID_UNTIL), "");

  /* The parser and formatter directly. */
  uint32_t d = 7;
  CHECK_INT(am_date_parse("2024-02-29", 10, &d), 0);
  CHECK_INT(d, 20240229);
  d = 7;
  CHECK_INT(am_date_parse("2023-02-29", 10, &d), AM_EINVAL);
  CHECK_INT(d, 7);
  CHECK_INT(am_date_parse("2024-02-2", 9, &d), AM_EINVAL);
  CHECK_INT(am_date_parse("", 0, &d), AM_EINVAL);
  char out[11];
  am_date_format(20240229, out);
  CHECK_STR(out, "2024-02-29");
  am_date_format(19000101, out);
  CHECK_STR(out, "1900-01-01");
  am_date_format(0, out);
  CHECK_STR(out, "");
  am_member_free(&m);
}

static void test_set_consent(void) {
  am_member m;
  am_member_init(&m);
  REQUIRE(setenv("AMICALE_NOW", "1714557600", 1) == 0); /* 2024-05-01T10:00:00Z */
  CHECK_INT(am_now(), 1714557600);
  CHECK_INT(am_today(), 20240501);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "yes"), 0);
  CHECK_INT(m.consent_listed, 20240501);
  CHECK_STR(fmt(&m, AM_F_CONSENT_LISTED), "2024-05-01");
  /* Later, "oui" again keeps the date the consent was first given. */
  REQUIRE(setenv("AMICALE_NOW", "1735689599", 1) == 0); /* 2024-12-31T23:59:59Z */
  CHECK_INT(am_today(), 20241231);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "oui"), 0);
  CHECK_INT(m.consent_listed, 20240501);
  CHECK_INT(set(&m, AM_F_CONSENT_FEDERATION, "x"), 0);
  CHECK_INT(m.consent_federation, 20241231);
  /* Withdrawn, then given again: today's date. */
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "no"), 0);
  CHECK_INT(m.consent_listed, 0);
  CHECK_STR(fmt(&m, AM_F_CONSENT_LISTED), "");
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "Oui"), 0);
  CHECK_INT(m.consent_listed, 20241231);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "non"), 0);
  CHECK_INT(m.consent_listed, 0);
  /* An explicit date, either spelling, replaces it. */
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "2023-01-15"), 0);
  CHECK_INT(m.consent_listed, 20230115);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "16/01/2023"), 0);
  CHECK_INT(m.consent_listed, 20230116);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "yes"), 0);
  CHECK_INT(m.consent_listed, 20230116);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "maybe"), AM_EINVAL);
  CHECK_STR(err.msg, "'maybe' is not a date (expected YYYY-MM-DD or DD/MM/YYYY, yes or no)");
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, "30/02/2024"), AM_EINVAL);
  CHECK_INT(m.consent_listed, 20230116);
  CHECK_INT(set(&m, AM_F_CONSENT_LISTED, ""), 0);
  CHECK_INT(m.consent_listed, 0);
  /* An AMICALE_NOW beyond what a date can hold falls back to the real
   * clock rather than producing garbage. */
  REQUIRE(setenv("AMICALE_NOW", "99999999999999999", 1) == 0);
  uint32_t t = am_today();
  CHECK(t >= 20240101 && t <= 99991231 && t % 100 >= 1 && t % 100 <= 31);
  REQUIRE(unsetenv("AMICALE_NOW") == 0);
  am_member_free(&m);
}
