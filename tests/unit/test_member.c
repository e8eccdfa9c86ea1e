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
  /* Non-ASCII letters are lower-cased too (one address, one owner). */
  CHECK_INT(set(&m, AM_F_EMAILS, "ÉLODIE@EXEMPLE.FR"), 0);
  CHECK_STR(m.emails.v[0], "\xc3\xa9lodie@exemple.fr");
  CHECK_INT(set(&m, AM_F_EMAILS, "élodie@Bücher.DE"), 0);
  CHECK_STR(m.emails.v[0], "élodie@bücher.de");
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
  /* The scheme is written lower-case (announcements accept only that). */
  CHECK_INT(set(&m, AM_F_WEBSITE, "HTTPS://Example.org/"), 0);
  CHECK_STR(m.website, "https://Example.org/");
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

/* An empty (or blank) value clears a field of every type. */
static void test_set_empty_clears(void) {
  static const char *blanks[] = {"", "   ", " \t "};
  for (size_t b = 0; b < sizeof blanks / sizeof *blanks; b++)
    for (int f = 0; f < AM_F__COUNT; f++) {
      am_member m;
      REQUIRE(fill(&m) == 0);
      CHECK(!am_member_is_empty(&m, f));
      CHECK_INT(set(&m, f, blanks[b]), 0);
      if (!am_member_is_empty(&m, f)) fprintf(stderr, "  %s not cleared\n", am_fields[f].name);
      CHECK(am_member_is_empty(&m, f));
      CHECK_STR(fmt(&m, f), am_fields[f].type == AM_T_BOOL ? "no" : "");
      /* Other fields are untouched. */
      if (f == AM_F_GIVEN_NAME) CHECK(m.given_name == NULL);
      else CHECK_STR(m.given_name, "Éléonore");
      am_member_free(&m);
    }
  am_member m;
  am_member_init(&m);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, ""), 0);
  CHECK(m.given_name == NULL);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "\xc2\xa0"), 0); /* only NBSP: empty */
  CHECK(m.given_name == NULL);
  CHECK_INT(set(&m, AM_F_SKILLS, " ; , | "), 0);
  CHECK_INT(m.skills.n, 0);
  CHECK(m.skills.v == NULL);
  am_member_free(&m);
}

/* The text form of each field, set again into a fresh record, gives the
 * same value: what makes a CSV export re-importable. */
static void test_format_round_trip(void) {
  am_member m;
  REQUIRE(fill(&m) == 0);
  static const struct { int f; const char *want; } exact[] = {
    {AM_F_GIVEN_NAME, "Éléonore"},
    {AM_F_EMAILS, "eleonore@example.fr; e.lv@work.example.com"},
    {AM_F_PROMO, "2012"},
    {AM_F_LANGUAGES, "Français; English; 日本語"},
    {AM_F_LINKEDIN, "https://linkedin.com/in/eleonore"},
    {AM_F_BIO, FULL_BIO},
    {AM_F_MENTORING, "yes"},
    {AM_F_DUES_PAID_UNTIL, "2025-12-31"},
    {AM_F_DUES_LIFETIME, "yes"},
    {AM_F_CONSENT_LISTED, "2024-05-01"},
    {AM_F_CONSENT_FEDERATION, "2024-06-15"},
  };
  for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
    CHECK_STR(fmt(&m, exact[i].f), exact[i].want);

  am_member empty;
  am_member_init(&empty);
  for (int pass = 0; pass < 2; pass++) {
    const am_member *src = pass ? &empty : &m;
    for (int f = 0; f < AM_F__COUNT; f++) {
      am_member n;
      am_member_init(&n);
      const char *text = fmt(src, f);
      REQUIRE(text != NULL);
      int rc = set(&n, f, text);
      if (rc) fprintf(stderr, "  %s: '%s' does not set back: %s\n", am_fields[f].name, text, err.msg);
      CHECK_INT(rc, 0);
      CHECK_STR(fmt(&n, f), text);
      CHECK_INT(am_member_is_empty(&n, f), am_member_is_empty(src, f));
      am_member_free(&n);
    }
  }
  am_member_free(&m);
}

static void test_copy(void) {
  am_member m, c;
  REQUIRE(fill(&m) == 0);
  REQUIRE(am_member_copy(&c, &m) == 0);
  check_same(&m, &c);
  CHECK(c.given_name != m.given_name);
  CHECK(c.emails.v != m.emails.v && c.emails.v[0] != m.emails.v[0]);
  CHECK_INT(set(&c, AM_F_GIVEN_NAME, "Autre"), 0);
  CHECK_STR(m.given_name, "Éléonore");
  am_member_free(&c);
  am_member_free(&m);
}

/* ---- visibility ------------------------------------------------------- */

static void test_visibility_defaults(void) {
  am_member m;
  am_member_init(&m);
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    int want = (f == AM_F_EMAILS || f == AM_F_PHONE) ? AM_VIS_PRIVATE
               : (f == AM_F_LINKEDIN || f == AM_F_WEBSITE || f == AM_F_BIO) ? AM_VIS_SCHOOL
               : AM_VIS_FEDERATION;
    CHECK_INT(m.vis[f], want);
    CHECK_INT(am_fields[f].default_vis, want);
  }
  CHECK_INT(AM_F__PROFILE_COUNT, 21);
  CHECK_STR(am_vis_name(AM_VIS_PRIVATE), "private");
  CHECK_STR(am_vis_name(AM_VIS_SCHOOL), "school");
  CHECK_STR(am_vis_name(AM_VIS_FEDERATION), "federation");
  CHECK_STR(am_vis_name(3), "?");
  CHECK_INT(am_vis_parse("private", 7), AM_VIS_PRIVATE);
  CHECK_INT(am_vis_parse("privé", strlen("privé")), AM_VIS_PRIVATE);
  CHECK_INT(am_vis_parse("École", strlen("École")), AM_VIS_SCHOOL);
  CHECK_INT(am_vis_parse("node", 4), AM_VIS_SCHOOL);
  CHECK_INT(am_vis_parse(" Federation ", 12), AM_VIS_FEDERATION);
  CHECK_INT(am_vis_parse("fédération", strlen("fédération")), AM_VIS_FEDERATION);
  CHECK_INT(am_vis_parse("schoolx", 6), AM_VIS_SCHOOL); /* length honoured */
  CHECK_INT(am_vis_parse("public", 6), -1);
  CHECK_INT(am_vis_parse("", 0), -1);
  CHECK_INT(am_vis_parse("\xff", 1), -1);
  am_member_free(&m);
}

static void test_set_visibility(void) {
  am_member m;
  am_member_init(&m);
#define SETVIS(s) (memset(&err, 0, sizeof err), am_member_set_visibility(&m, s, strlen(s), &err))
  CHECK_INT(SETVIS("emails=federation,phone=school"), 0);
  CHECK_INT(m.vis[AM_F_EMAILS], AM_VIS_FEDERATION);
  CHECK_INT(m.vis[AM_F_PHONE], AM_VIS_SCHOOL);
  CHECK_INT(SETVIS("city=privé; country=école ; email = federation"), 0);
  CHECK_INT(m.vis[AM_F_CITY], AM_VIS_PRIVATE);
  CHECK_INT(m.vis[AM_F_COUNTRY], AM_VIS_SCHOOL);
  CHECK_INT(m.vis[AM_F_EMAILS], AM_VIS_FEDERATION);
  CHECK_INT(SETVIS("job-title=private"), 0);
  CHECK_INT(m.vis[AM_F_JOB_TITLE], AM_VIS_PRIVATE);
  CHECK_INT(SETVIS(""), 0);
  CHECK_INT(SETVIS(" ; , "), 0);
  /* Spaces around the name and the '=' are allowed. */
  CHECK_INT(SETVIS("bio     =private,promo=federation"), 0);
  CHECK_INT(m.vis[AM_F_BIO], AM_VIS_PRIVATE);
  CHECK_INT(m.vis[AM_F_PROMO], AM_VIS_FEDERATION);
  CHECK_INT(SETVIS("  skills   =   federation  ;  languages\t=\tprivate  "), 0);
  CHECK_INT(m.vis[AM_F_SKILLS], AM_VIS_FEDERATION);
  CHECK_INT(m.vis[AM_F_LANGUAGES], AM_VIS_PRIVATE);

  uint8_t before[AM_F__PROFILE_COUNT];
  memcpy(before, m.vis, sizeof before);
  CHECK_INT(SETVIS("nickname=school"), AM_EUSAGE);
  CHECK_INT(err.code, AM_EUSAGE);
  CHECK_STR(err.msg, "'nickname' is not a profile field with a visibility");
  CHECK_INT(SETVIS("dues_paid_until=school"), AM_EUSAGE);
  CHECK_INT(SETVIS("consent-listed=private"), AM_EUSAGE);
  CHECK_INT(SETVIS("emails=public"), AM_EUSAGE);
  CHECK_STR(err.msg, "unknown visibility level for emails (use private, school or federation)");
  CHECK_INT(SETVIS("emails="), AM_EUSAGE);
  CHECK_INT(SETVIS("=school"), AM_EUSAGE);
  CHECK_INT(SETVIS("emails"), AM_EUSAGE);
  CHECK_STR(err.msg, "'emails' should be FIELD=LEVEL (e.g. emails=federation)");
  /* Atomic: good items before and after a bad one are not applied. */
  CHECK_INT(SETVIS("phone=federation,city=federation,foo=school,country=private"), AM_EUSAGE);
  CHECK_INT(SETVIS("phone=federation;city=bof"), AM_EUSAGE);
  CHECK_INT(SETVIS("phone=federation;dues_lifetime=school"), AM_EUSAGE);
  CHECK(memcmp(before, m.vis, sizeof before) == 0);
#undef SETVIS

  /* The value is read within len only, even when the buffer is not a string
   * (ASan catches a read past it). */
  static const char *specs[] = {"emails =school", "phone  =  private", "bio=federation"};
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    size_t n = strlen(specs[i]);
    char *exact = malloc(n);
    REQUIRE(exact);
    memcpy(exact, specs[i], n);
    CHECK_INT(am_member_set_visibility(&m, exact, n, &err), 0);
    free(exact);
  }
  CHECK_INT(m.vis[AM_F_EMAILS], AM_VIS_SCHOOL);
  CHECK_INT(m.vis[AM_F_PHONE], AM_VIS_PRIVATE);
  CHECK_INT(m.vis[AM_F_BIO], AM_VIS_FEDERATION);
  /* A prefix of the spec: "emails=federation" cut to "emails=fed" fails. */
  CHECK_INT(am_member_set_visibility(&m, "emails=federation", 10, &err), AM_EUSAGE);
  CHECK_INT(am_member_set_visibility(&m, "emails=private,phone=x", 14, &err), 0);
  CHECK_INT(m.vis[AM_F_EMAILS], AM_VIS_PRIVATE);
  am_member_free(&m);
}

static void test_format_visibility(void) {
  am_member m;
  am_member_init(&m);
  const char *v = vis_fmt(&m);
  const char *head = "given_name=federation;family_name=federation;usual_name=federation;"
                     "emails=private;phone=private;promo=federation;programme=federation;";
  CHECK(strncmp(v, head, strlen(head)) == 0);
  CHECK(strstr(v, ";bio=school;mentoring=federation;mentoring_topics=federation") != NULL);
  CHECK(v[strlen(v) - 1] != ';');
  CHECK(strstr(v, "dues") == NULL && strstr(v, "consent") == NULL);
  int items = 1;
  for (const char *p = v; *p; p++) items += *p == ';';
  CHECK_INT(items, AM_F__PROFILE_COUNT);

  const char *spec = "emails=federation;bio=private;city=federation;linkedin=private";
  CHECK_INT(am_member_set_visibility(&m, spec, strlen(spec), &err), 0);
  char copy[2048];
  snprintf(copy, sizeof copy, "%s", vis_fmt(&m));
  CHECK(strstr(copy, ";emails=federation;") != NULL);
  CHECK(strstr(copy, ";bio=private;") != NULL);
  /* Re-parsed into a record with other levels everywhere, it gives the same. */
  am_member n;
  am_member_init(&n);
  memset(n.vis, AM_VIS_FEDERATION, sizeof n.vis);
  CHECK_INT(am_member_set_visibility(&n, copy, strlen(copy), &err), 0);
  CHECK(memcmp(n.vis, m.vis, sizeof m.vis) == 0);
  CHECK_STR(vis_fmt(&n), copy);
  am_member_free(&n);
  am_member_free(&m);
}

/* ---- record-level ----------------------------------------------------- */

static void test_check_and_display(void) {
  am_member m;
  am_member_init(&m);
  memset(&err, 0, sizeof err);
  CHECK_INT(am_member_check(&m, &err), AM_EINVAL);
  CHECK_STR(err.msg, "a member needs a name (given name or family name)");
  CHECK_STR(display(&m), "");
  CHECK_INT(set(&m, AM_F_EMAILS, "a@b.fr"), 0);
  CHECK_INT(am_member_check(&m, NULL), AM_EINVAL);

  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Marie"), 0);
  CHECK_INT(am_member_check(&m, &err), 0);
  CHECK_STR(display(&m), "Marie");
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, "Dupont"), 0);
  CHECK_STR(display(&m), "Marie Dupont");
  CHECK_INT(set(&m, AM_F_USUAL_NAME, "Martin"), 0);
  CHECK_STR(display(&m), "Marie Dupont (Martin)");
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, ""), 0);
  CHECK_INT(am_member_check(&m, &err), 0);
  CHECK_STR(display(&m), "Dupont (Martin)");
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, ""), 0);
  CHECK_INT(am_member_check(&m, &err), 0);
  CHECK_STR(display(&m), "Martin");
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Marie"), 0);
  CHECK_STR(display(&m), "Marie (Martin)");
  CHECK_INT(set(&m, AM_F_USUAL_NAME, ""), 0);
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, "Dupont"), 0);
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, ""), 0);
  CHECK_STR(display(&m), "Dupont");
  CHECK_INT(am_member_check(&m, &err), 0);
  /* A percent sign in a name is text, not a format. */
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "%s%n"), 0);
  CHECK_STR(display(&m), "%s%n Dupont");

  m.vis[AM_F_CITY] = 3;
  CHECK_INT(am_member_check(&m, &err), AM_EINVAL);
  CHECK_STR(err.msg, "bad visibility level");
  am_member_free(&m);
}

/* ---- store codec ------------------------------------------------------ */

#define RECORD_HEAD 5 /* version, id, created, updated, visibility */

static int encode(const am_member *m, uint8_t **p, size_t *n) {
  am_buf b = {0};
  int rc = am_member_encode(m, &b);
  *p = (uint8_t *)b.data;
  *n = b.len;
  return rc;
}

static int decode(const void *p, size_t n, am_member *m) {
  memset(&err, 0, sizeof err);
  return am_member_decode(p, n, m, &err);
}

static bool all_empty(const am_member *m) {
  for (int f = 0; f < AM_F__COUNT; f++)
    if (!am_member_is_empty(m, f)) return false;
  return true;
}

static void pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

enum { K_NIL, K_TRUE, K_STR, K_NEG, K_UINT, K_ARRAY, K_MAP, K_BIN, K_FLOAT, K__COUNT };

static void pack_kind(msgpack_packer *pk, int kind) {
  switch (kind) {
  case K_NIL: msgpack_pack_nil(pk); break;
  case K_TRUE: msgpack_pack_true(pk); break;
  case K_STR: pack_str(pk, "x"); break;
  case K_NEG: msgpack_pack_int64(pk, -1); break;
  case K_UINT: msgpack_pack_uint32(pk, 1); break;
  case K_ARRAY: msgpack_pack_array(pk, 0); break;
  case K_MAP: msgpack_pack_map(pk, 0); break;
  case K_BIN: msgpack_pack_bin(pk, 1); msgpack_pack_bin_body(pk, "", 1); break;
  default: msgpack_pack_double(pk, 1.5); break;
  }
}

/* Packs m as the codec does, by hand: version, nfields fields, and the
 * element at pos (0 = version, RECORD_HEAD = first field; -1: none)
 * replaced by a value of the given kind. The array header declares
 * RECORD_HEAD + nfields elements, or declared (as an array 16) when it is
 * not negative, so that a caller can append more elements. */
static void pack_record_n(msgpack_sbuffer *sb, const am_member *m, uint64_t version,
                          int nfields, int pos, int kind, int declared) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  if (declared < 0) {
    msgpack_pack_array(&pk, (size_t)(RECORD_HEAD + nfields));
  } else {
    const char h[3] = {(char)0xdc, (char)(declared >> 8), (char)(declared & 0xff)};
    msgpack_sbuffer_write(sb, h, 3);
  }
  for (int i = 0; i < RECORD_HEAD + nfields; i++) {
    if (i == pos) { pack_kind(&pk, kind); continue; }
    switch (i) {
    case 0: msgpack_pack_uint64(&pk, version); continue;
    case 1: msgpack_pack_uint64(&pk, m->id); continue;
    case 2: msgpack_pack_int64(&pk, m->created); continue;
    case 3: msgpack_pack_int64(&pk, m->updated); continue;
    case 4:
      msgpack_pack_bin(&pk, sizeof m->vis);
      msgpack_pack_bin_body(&pk, m->vis, sizeof m->vis);
      continue;
    }
    int f = i - RECORD_HEAD;
    const char *base = (const char *)m + am_fields[f].offset;
    switch (am_fields[f].type) {
    case AM_T_TEXT: {
      const char *s = *(char *const *)base;
      if (s) pack_str(&pk, s);
      else msgpack_pack_nil(&pk);
      break;
    }
    case AM_T_LIST: {
      const am_strlist *l = (const am_strlist *)base;
      msgpack_pack_array(&pk, l->n);
      for (uint32_t k = 0; k < l->n; k++) pack_str(&pk, l->v[k]);
      break;
    }
    case AM_T_BOOL:
      if (*(const bool *)base) msgpack_pack_true(&pk);
      else msgpack_pack_false(&pk);
      break;
    default: msgpack_pack_uint32(&pk, *(const uint32_t *)base); break;
    }
  }
}

static void pack_record(msgpack_sbuffer *sb, const am_member *m, uint64_t version,
                        int nfields, int pos, int kind) {
  pack_record_n(sb, m, version, nfields, pos, kind, -1);
}

static void test_codec_round_trip(void) {
  am_member m, d;
  REQUIRE(fill(&m) == 0);
  uint8_t *p = NULL;
  size_t n = 0;
  REQUIRE(encode(&m, &p, &n) == 0);
  CHECK_INT(p[0], 0xdc); /* array 16 */
  CHECK_INT(p[1], 0);
  CHECK_INT(p[2], RECORD_HEAD + AM_F__COUNT);
  CHECK_INT(p[3], 1); /* record version */
  CHECK_INT(decode(p, n, &d), 0);
  check_same(&m, &d);
  CHECK_STR(d.bio, FULL_BIO);
  CHECK_STR(d.given_name, "Éléonore");
  CHECK_STR(d.languages.v[2], "日本語");
  /* Re-encoding gives the same bytes. */
  uint8_t *p2 = NULL;
  size_t n2 = 0;
  REQUIRE(encode(&d, &p2, &n2) == 0);
  CHECK(n2 == n && memcmp(p, p2, n) == 0);
  /* The hand-made packer below agrees with the codec. */
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  pack_record(&sb, &m, 1, AM_F__COUNT, -1, 0);
  CHECK(sb.size == n && memcmp(sb.data, p, n) == 0);
  msgpack_sbuffer_destroy(&sb);
  am_member_free(&d);
  free(p2);
  free(p);

  /* An empty record, and extreme header values. */
  am_member e;
  am_member_init(&e);
  e.id = AM_MEMBER_ID_MAX;
  e.created = -86400;
  e.updated = INT64_MAX;
  memset(e.vis, AM_VIS_FEDERATION, sizeof e.vis);
  REQUIRE(encode(&e, &p, &n) == 0);
  CHECK_INT(decode(p, n, &d), 0);
  check_same(&e, &d);
  CHECK(d.id == AM_MEMBER_ID_MAX);
  CHECK(all_empty(&d));
  am_member_free(&d);
  free(p);
  /* Ids beyond 2^53 - 1 are never written: such a record is damaged. */
  e.id = AM_MEMBER_ID_MAX + 1;
  REQUIRE(encode(&e, &p, &n) == 0);
  CHECK_INT(decode(p, n, &d), AM_ECORRUPT);
  free(p);
  uint64_t id = 0;
  CHECK_INT(am_member_id_parse("9007199254740991", &id), 0);
  CHECK(id == AM_MEMBER_ID_MAX);
  CHECK_INT(am_member_id_parse("9007199254740992", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse("18446744073709551616", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse(" -1", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse("+5", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse("0", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse("", &id), AM_EINVAL);
  CHECK_INT(am_member_id_parse("42", &id), 0);
  CHECK(id == 42);
  am_member_free(&e);
  am_member_free(&m);
}

static void test_decode_truncated(void) {
  am_member m, d;
  REQUIRE(fill(&m) == 0);
  uint8_t *p = NULL;
  size_t n = 0;
  REQUIRE(encode(&m, &p, &n) == 0);
  for (size_t k = 0; k < n; k++) {
    /* An exact-size copy so that ASan sees any read past the prefix. */
    uint8_t *q = malloc(k ? k : 1);
    REQUIRE(q);
    memcpy(q, p, k);
    int rc = decode(q, k, &d);
    if (rc != AM_ECORRUPT) fprintf(stderr, "  prefix %zu: %d\n", k, rc);
    CHECK_INT(rc, AM_ECORRUPT);
    CHECK_INT(err.code, AM_ECORRUPT);
    CHECK(all_empty(&d));
    am_member_free(&d);
    free(q);
  }
  CHECK_STR(err.msg, "member record does not decode");
  /* Trailing bytes after the record. */
  uint8_t *q = malloc(n + 1);
  REQUIRE(q);
  memcpy(q, p, n);
  q[n] = 0xc0;
  CHECK_INT(decode(q, n + 1, &d), AM_ECORRUPT);
  q[n] = 0x00;
  CHECK_INT(decode(q, n + 1, &d), AM_ECORRUPT);
  CHECK(all_empty(&d));
  CHECK_INT(decode(q, n, &d), 0);
  am_member_free(&d);
  free(q);
  free(p);
  am_member_free(&m);
}

/* Headers that declare more than the bytes can hold are refused before
 * msgpack-c allocates for them (under ASan a ~96 GB request would abort). */
static void test_decode_huge_counts(void) {
  am_member d;
  static const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t huge_array_more[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01};
  static const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01};
  static const uint8_t huge_str[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
  static const uint8_t huge_bin[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 'a'};
  static const uint8_t array16[] = {0xdc, 0xff, 0xff, 0x01};
  CHECK_INT(decode(huge_array, sizeof huge_array, &d), AM_ECORRUPT);
  CHECK_INT(decode(huge_array_more, sizeof huge_array_more, &d), AM_ECORRUPT);
  CHECK_INT(decode(huge_map, sizeof huge_map, &d), AM_ECORRUPT);
  CHECK_INT(decode(huge_str, sizeof huge_str, &d), AM_ECORRUPT);
  CHECK_INT(decode(huge_bin, sizeof huge_bin, &d), AM_ECORRUPT);
  CHECK_INT(decode(array16, sizeof array16, &d), AM_ECORRUPT);
  CHECK(all_empty(&d));

  /* A well-formed head followed by a list declaring 2^32-1 items. */
  am_member m;
  am_member_init(&m);
  m.id = 1;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  pack_record_n(&sb, &m, 1, AM_F_EMAILS, -1, 0, RECORD_HEAD + AM_F_EMAILS + 1);
  static const uint8_t tail[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'};
  msgpack_sbuffer_write(&sb, (const char *)tail, sizeof tail);
  CHECK_INT((uint8_t)sb.data[0], 0xdc);
  CHECK_INT(decode(sb.data, sb.size, &d), AM_ECORRUPT);
  msgpack_sbuffer_destroy(&sb);
  am_member_free(&m);
}

static void test_decode_wrong_types(void) {
  am_member m, d;
  REQUIRE(fill(&m) == 0);
  for (int pos = 0; pos < RECORD_HEAD + AM_F__COUNT; pos++) {
    for (int kind = 0; kind < K__COUNT; kind++) {
      bool valid;
      if (pos == 0 || pos == 1) valid = kind == K_UINT;
      else if (pos == 2 || pos == 3) valid = kind == K_UINT || kind == K_NEG;
      else if (pos == 4) valid = kind == K_BIN;
      else {
        switch (am_fields[pos - RECORD_HEAD].type) {
        case AM_T_TEXT: valid = kind == K_NIL || kind == K_STR; break;
        case AM_T_LIST: valid = kind == K_ARRAY; break;
        case AM_T_BOOL: valid = kind == K_TRUE; break;
        default: valid = kind == K_UINT; break;
        }
      }
      if (valid) continue;
      msgpack_sbuffer sb;
      msgpack_sbuffer_init(&sb);
      pack_record(&sb, &m, 1, AM_F__COUNT, pos, kind);
      int rc = decode(sb.data, sb.size, &d);
      if (rc != AM_ECORRUPT) fprintf(stderr, "  position %d kind %d: %d\n", pos, kind, rc);
      CHECK_INT(rc, AM_ECORRUPT);
      CHECK(all_empty(&d));
      msgpack_sbuffer_destroy(&sb);
    }
  }
  /* The top level must be an array of at least the head. */
  static const uint8_t not_array[] = {0x81, 0xa1, 'a', 0x01};
  static const uint8_t short_array[] = {0x94, 0x01, 0x01, 0x00, 0x00};
  static const uint8_t scalar[] = {0x01};
  CHECK_INT(decode(not_array, sizeof not_array, &d), AM_ECORRUPT);
  CHECK_INT(decode(short_array, sizeof short_array, &d), AM_ECORRUPT);
  CHECK_INT(decode(scalar, sizeof scalar, &d), AM_ECORRUPT);
  CHECK_INT(decode("", 0, &d), AM_ECORRUPT);
  am_member_free(&m);
}

/* Builds a record with one list or text field replaced by custom items. */
static int decode_with_field(int f, const char *const *items, size_t nitems,
                             am_member *d) {
  am_member m;
  am_member_init(&m);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  /* Head and the (empty) fields before f, then f, then empty fields. */
  pack_record_n(&sb, &m, 1, f, -1, 0, RECORD_HEAD + AM_F__COUNT);
  if (am_fields[f].type == AM_T_LIST) msgpack_pack_array(&pk, nitems);
  for (size_t i = 0; i < nitems; i++) {
    size_t n = strlen(items[i]);
    msgpack_pack_str(&pk, n);
    msgpack_pack_str_body(&pk, items[i], n);
  }
  for (int g = f + 1; g < AM_F__COUNT; g++) {
    switch (am_fields[g].type) {
    case AM_T_TEXT: msgpack_pack_nil(&pk); break;
    case AM_T_LIST: msgpack_pack_array(&pk, 0); break;
    case AM_T_BOOL: msgpack_pack_false(&pk); break;
    default: msgpack_pack_uint32(&pk, 0); break;
    }
  }
  int rc = decode(sb.data, sb.size, d);
  msgpack_sbuffer_destroy(&sb);
  am_member_free(&m);
  return rc;
}

static void test_decode_newer(void) {
  am_member m, d;
  REQUIRE(fill(&m) == 0);
  static const uint64_t versions[] = {2, 3, 255, 65536, UINT64_MAX};
  for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_record(&sb, &m, versions[i], AM_F__COUNT, -1, 0);
    CHECK_INT(decode(sb.data, sb.size, &d), AM_ENEWER);
    CHECK_INT(err.code, AM_ENEWER);
    CHECK_STR(err.msg, "member record written by a newer version of Amicale");
    CHECK(all_empty(&d));
    msgpack_sbuffer_destroy(&sb);
  }
  am_member_free(&m);
}

static void test_decode_bad_strings(void) {
  am_member d;
  const char *one[1];
  /* Sanity: a good value decodes. */
  one[0] = "Anne";
  CHECK_INT(decode_with_field(AM_F_GIVEN_NAME, one, 1, &d), 0);
  CHECK_STR(d.given_name, "Anne");
  am_member_free(&d);
  one[0] = "Rust";
  CHECK_INT(decode_with_field(AM_F_SKILLS, one, 1, &d), 0);
  REQUIRE(d.skills.n == 1);
  CHECK_STR(d.skills.v[0], "Rust");
  am_member_free(&d);

  static const char *bad_utf8[] = {"\xff", "Ma\xc3", "\xc3\x28", "\xc0\xaf",
                                   "\xed\xa0\x80", "\xf4\x90\x80\x80"};
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
    one[0] = bad_utf8[i];
    CHECK_INT(decode_with_field(AM_F_GIVEN_NAME, one, 1, &d), AM_ECORRUPT);
    CHECK_INT(decode_with_field(AM_F_BIO, one, 1, &d), AM_ECORRUPT);
    CHECK_INT(decode_with_field(AM_F_SKILLS, one, 1, &d), AM_ECORRUPT);
    CHECK(all_empty(&d));
  }
  /* Empty strings: the codec writes nil or leaves the item out. */
  one[0] = "";
  CHECK_INT(decode_with_field(AM_F_GIVEN_NAME, one, 1, &d), AM_ECORRUPT);
  CHECK_INT(decode_with_field(AM_F_SKILLS, one, 1, &d), AM_ECORRUPT);

  /* Lengths: exactly the field's maximum passes, one more byte fails. */
  char *n100 = repeat("n", 100), *n101 = repeat("n", 101);
  char *b2000 = repeat("b", 2000), *b2001 = repeat("b", 2001);
  char *s100 = repeat("s", 100), *s101 = repeat("s", 101);
  one[0] = n100;
  CHECK_INT(decode_with_field(AM_F_FAMILY_NAME, one, 1, &d), 0);
  CHECK_STR(d.family_name, n100);
  am_member_free(&d);
  one[0] = n101;
  CHECK_INT(decode_with_field(AM_F_FAMILY_NAME, one, 1, &d), AM_ECORRUPT);
  one[0] = b2000;
  CHECK_INT(decode_with_field(AM_F_BIO, one, 1, &d), 0);
  am_member_free(&d);
  one[0] = b2001;
  CHECK_INT(decode_with_field(AM_F_BIO, one, 1, &d), AM_ECORRUPT);
  one[0] = s100;
  CHECK_INT(decode_with_field(AM_F_SKILLS, one, 1, &d), 0);
  am_member_free(&d);
  one[0] = s101;
  CHECK_INT(decode_with_field(AM_F_SKILLS, one, 1, &d), AM_ECORRUPT);
  free(n100), free(n101), free(b2000), free(b2001), free(s100), free(s101);

  /* Item counts: 8 emails pass, 9 fail; a bad item after good ones too. */
  const char *emails[9] = {"a@x.fr", "b@x.fr", "c@x.fr", "d@x.fr", "e@x.fr",
                           "f@x.fr", "g@x.fr", "h@x.fr", "i@x.fr"};
  CHECK_INT(decode_with_field(AM_F_EMAILS, emails, 8, &d), 0);
  CHECK_INT(d.emails.n, 8);
  am_member_free(&d);
  CHECK_INT(decode_with_field(AM_F_EMAILS, emails, 9, &d), AM_ECORRUPT);
  CHECK(all_empty(&d));
  emails[5] = "\xff";
  CHECK_INT(decode_with_field(AM_F_EMAILS, emails, 8, &d), AM_ECORRUPT);
  CHECK(all_empty(&d));

  /* A NUL inside a string. */
  am_member m;
  am_member_init(&m);
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  pack_record_n(&sb, &m, 1, 0, -1, 0, RECORD_HEAD + 1);
  msgpack_pack_str(&pk, 3);
  msgpack_pack_str_body(&pk, "a\0b", 3);
  CHECK_INT(decode(sb.data, sb.size, &d), AM_ECORRUPT);
  msgpack_sbuffer_destroy(&sb);
  am_member_free(&m);
}

/* Values of the right type but outside what am_member_set can produce. */
static void test_decode_bad_values(void) {
  am_member m, d;
  am_member_init(&m);
  static const struct { int f; uint32_t v; int rc; } cases[] = {
    {AM_F_PROMO, 2012, 0}, {AM_F_PROMO, 1900, 0}, {AM_F_PROMO, 2100, 0},
    {AM_F_PROMO, 1899, AM_ECORRUPT}, {AM_F_PROMO, 2101, AM_ECORRUPT},
    {AM_F_PROMO, 99999999, AM_ECORRUPT}, {AM_F_PROMO, 1, AM_ECORRUPT},
    {AM_F_DUES_PAID_UNTIL, 20240229, 0}, {AM_F_DUES_PAID_UNTIL, 20230229, AM_ECORRUPT},
    {AM_F_DUES_PAID_UNTIL, 20241301, AM_ECORRUPT}, {AM_F_DUES_PAID_UNTIL, 2024, AM_ECORRUPT},
    {AM_F_CONSENT_LISTED, 20240501, 0}, {AM_F_CONSENT_LISTED, 20240431, AM_ECORRUPT},
    {AM_F_CONSENT_FEDERATION, 100000000, AM_ECORRUPT}, {AM_F_CONSENT_FEDERATION, 1, AM_ECORRUPT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    *(uint32_t *)((char *)&m + am_fields[cases[i].f].offset) = cases[i].v;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_record(&sb, &m, 1, AM_F__COUNT, -1, 0);
    int rc = decode(sb.data, sb.size, &d);
    if (rc != cases[i].rc) fprintf(stderr, "  %s=%u: %d\n", am_fields[cases[i].f].name, (unsigned)cases[i].v, rc);
    CHECK_INT(rc, cases[i].rc);
    if (rc == 0) check_same(&m, &d);
    am_member_free(&d);
    msgpack_sbuffer_destroy(&sb);
    *(uint32_t *)((char *)&m + am_fields[cases[i].f].offset) = 0;
  }
  /* A visibility byte above federation. */
  m.vis[AM_F_BIO] = 3;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  pack_record(&sb, &m, 1, AM_F__COUNT, -1, 0);
  CHECK_INT(decode(sb.data, sb.size, &d), AM_ECORRUPT);
  msgpack_sbuffer_destroy(&sb);
  m.vis[AM_F_BIO] = AM_VIS_SCHOOL;
  /* A timestamp or id that is not a 64-bit signed integer. */
  static const uint8_t big = 0xcf; /* uint64 */
  for (int pos = 2; pos <= 3; pos++) {
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, RECORD_HEAD);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 1);
    for (int i = 2; i <= 3; i++) {
      if (i == pos) msgpack_pack_uint64(&pk, UINT64_MAX);
      else msgpack_pack_int64(&pk, 0);
    }
    msgpack_pack_bin(&pk, 0);
    CHECK_INT((uint8_t)sb.data[pos + 1], big);
    CHECK_INT(decode(sb.data, sb.size, &d), AM_ECORRUPT);
    msgpack_sbuffer_destroy(&sb);
  }
  am_member_free(&m);
}

/* A record written when the table had fewer fields (and a shorter
 * visibility array): the missing fields keep their defaults. */
static void test_decode_older(void) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, RECORD_HEAD + 5);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint64(&pk, 7);
  msgpack_pack_int64(&pk, 100);
  msgpack_pack_int64(&pk, 200);
  static const uint8_t vis[3] = {AM_VIS_FEDERATION, AM_VIS_PRIVATE, AM_VIS_FEDERATION};
  msgpack_pack_bin(&pk, sizeof vis);
  msgpack_pack_bin_body(&pk, vis, sizeof vis);
  pack_str(&pk, "Anne");
  pack_str(&pk, "Martin");
  msgpack_pack_nil(&pk);
  msgpack_pack_array(&pk, 1);
  pack_str(&pk, "anne@example.org");
  pack_str(&pk, "06 12 34 56 78");
  am_member d;
  CHECK_INT(decode(sb.data, sb.size, &d), 0);
  CHECK_INT(d.id, 7);
  CHECK_INT(d.created, 100);
  CHECK_INT(d.updated, 200);
  CHECK_STR(d.given_name, "Anne");
  CHECK_STR(d.family_name, "Martin");
  CHECK(d.usual_name == NULL);
  REQUIRE(d.emails.n == 1);
  CHECK_STR(d.emails.v[0], "anne@example.org");
  CHECK_STR(d.phone, "06 12 34 56 78");
  for (int f = AM_F_PROMO; f < AM_F__COUNT; f++) CHECK(am_member_is_empty(&d, f));
  CHECK_INT(d.vis[AM_F_GIVEN_NAME], AM_VIS_FEDERATION);
  CHECK_INT(d.vis[AM_F_FAMILY_NAME], AM_VIS_PRIVATE);
  CHECK_INT(d.vis[AM_F_USUAL_NAME], AM_VIS_FEDERATION);
  CHECK_INT(d.vis[AM_F_EMAILS], AM_VIS_PRIVATE); /* defaults from here */
  CHECK_INT(d.vis[AM_F_PHONE], AM_VIS_PRIVATE);
  CHECK_INT(d.vis[AM_F_PROMO], AM_VIS_FEDERATION);
  CHECK_INT(d.vis[AM_F_BIO], AM_VIS_SCHOOL);
  CHECK_INT(d.vis[AM_F_MENTORING_TOPICS], AM_VIS_FEDERATION);
  CHECK_INT(am_member_check(&d, NULL), 0);
  am_member_free(&d);
  msgpack_sbuffer_destroy(&sb);

  /* Only the head, with no visibility bytes: a record of defaults. */
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, RECORD_HEAD);
  msgpack_pack_uint8(&pk, 1);
  msgpack_pack_uint8(&pk, 3);
  msgpack_pack_int64(&pk, -5);
  msgpack_pack_int64(&pk, 0);
  msgpack_pack_bin(&pk, 0);
  CHECK_INT(decode(sb.data, sb.size, &d), 0);
  CHECK_INT(d.id, 3);
  CHECK_INT(d.created, -5);
  CHECK(all_empty(&d));
  am_member init;
  am_member_init(&init);
  CHECK(memcmp(d.vis, init.vis, sizeof init.vis) == 0);
  am_member_free(&d);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- am_mp_check ------------------------------------------------------ */

static int mpc(const uint8_t *p, size_t n, unsigned depth, int flags, size_t *used) {
  /* An exact-size copy, so ASan sees a read past the end. */
  uint8_t *q = malloc(n ? n : 1);
  if (!q) abort();
  if (n) memcpy(q, p, n);
  *used = 12345;
  int rc = am_mp_check(q, n, depth, flags, used);
  free(q);
  return rc;
}
#define MPC(arr, depth, flags, used) mpc(arr, sizeof arr, depth, flags, used)

static void test_mp_check(void) {
  size_t used;
  /* Scalars. */
  static const uint8_t scalars[][10] = {
    {0x00}, {0x7f}, {0xe0}, {0xff}, {0xc0}, {0xc2}, {0xc3}, {0xcc, 1}, {0xcd, 1, 2},
    {0xce, 1, 2, 3, 4}, {0xcf, 1, 2, 3, 4, 5, 6, 7, 8}, {0xd0, 1}, {0xd3, 1, 2, 3, 4, 5, 6, 7, 8},
    {0xa3, 'a', 'b', 'c'}, {0xd9, 2, 'a', 'b'}, {0xc4, 1, 0}, {0xda, 0, 1, 'z'},
  };
  static const size_t scalar_len[] = {1, 1, 1, 1, 1, 1, 1, 2, 3, 5, 9, 2, 9, 4, 4, 3, 4};
  for (size_t i = 0; i < sizeof scalar_len / sizeof *scalar_len; i++) {
    CHECK_INT(mpc(scalars[i], scalar_len[i], 0, 0, &used), 0);
    CHECK_INT(used, scalar_len[i]);
    /* Every shorter prefix is refused. */
    for (size_t k = 0; k < scalar_len[i]; k++)
      CHECK_INT(mpc(scalars[i], k, 0, 0, &used), AM_ECORRUPT);
  }
  /* Nested structures: {"a": [1, {"b": nil}, []], "c": "d"} then junk. */
  static const uint8_t nested[] = {0x82, 0xa1, 'a', 0x93, 0x01, 0x81, 0xa1, 'b', 0xc0, 0x90,
                                   0xa1, 'c', 0xa1, 'd', 0xc1, 0xc1};
  CHECK_INT(MPC(nested, 3, 0, &used), 0);
  CHECK_INT(used, sizeof nested - 2); /* stops after one object */
  CHECK_INT(am_mp_check(nested, sizeof nested - 2, 3, 0, NULL), 0);
  for (size_t k = 0; k < sizeof nested - 2; k++)
    CHECK_INT(mpc(nested, k, 3, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(nested, 2, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(nested, 64, 0, &used), 0);
  static const uint8_t array16[] = {0xdc, 0x00, 0x03, 0x01, 0x02, 0x03};
  CHECK_INT(MPC(array16, 1, 0, &used), 0);
  CHECK_INT(used, 6);
  static const uint8_t map32[] = {0xdf, 0, 0, 0, 1, 0x01, 0x02};
  CHECK_INT(MPC(map32, 1, 0, &used), 0);
  CHECK_INT(used, 7);

  /* Depth: [[[1]]] is three deep; empty containers count too. */
  static const uint8_t deep3[] = {0x91, 0x91, 0x91, 0x01};
  static const uint8_t deep3_empty[] = {0x91, 0x91, 0x90};
  CHECK_INT(MPC(deep3, 3, 0, &used), 0);
  CHECK_INT(MPC(deep3, 2, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(deep3, 0, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(deep3_empty, 3, 0, &used), 0);
  CHECK_INT(MPC(deep3_empty, 2, 0, &used), AM_ECORRUPT);
  static const uint8_t empty_map[] = {0x80};
  CHECK_INT(MPC(empty_map, 0, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(empty_map, 1, 0, &used), 0);
  /* max_depth is capped at 64 whatever the caller asks. */
  uint8_t chain[80];
  for (int n = 63; n <= 66; n++) {
    memset(chain, 0x91, (size_t)n);
    chain[n] = 0x01;
    CHECK_INT(mpc(chain, (size_t)n + 1, 1000, 0, &used), n <= 64 ? 0 : AM_ECORRUPT);
    CHECK_INT(mpc(chain, (size_t)n + 1, (unsigned)n, 0, &used), n <= 64 ? 0 : AM_ECORRUPT);
    CHECK_INT(mpc(chain, (size_t)n + 1, (unsigned)n - 1, 0, &used), AM_ECORRUPT);
  }

  /* Floats and ext refused unless allowed. */
  static const uint8_t f32[] = {0xca, 0, 0, 0, 0};
  static const uint8_t f64[] = {0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t fixext1[] = {0xd4, 0x01, 0xaa};
  static const uint8_t fixext16[] = {0xd8, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  static const uint8_t ext8[] = {0xc7, 0x02, 0x05, 0xaa, 0xbb};
  static const uint8_t ext32[] = {0xc9, 0, 0, 0, 1, 0x05, 0xaa};
  static const uint8_t in_array[] = {0x92, 0x01, 0xca, 0, 0, 0, 0};
  CHECK_INT(MPC(f32, 1, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(f64, 1, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(in_array, 1, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(f32, 1, AM_MP_ALLOW_FLOAT, &used), 0);
  CHECK_INT(used, 5);
  CHECK_INT(MPC(f64, 1, AM_MP_ALLOW_FLOAT, &used), 0);
  CHECK_INT(used, 9);
  CHECK_INT(MPC(in_array, 1, AM_MP_ALLOW_FLOAT, &used), 0);
  CHECK_INT(MPC(f32, 1, AM_MP_ALLOW_EXT, &used), AM_ECORRUPT);
  CHECK_INT(MPC(fixext1, 1, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(ext8, 1, AM_MP_ALLOW_FLOAT, &used), AM_ECORRUPT);
  CHECK_INT(MPC(fixext1, 1, AM_MP_ALLOW_EXT, &used), 0);
  CHECK_INT(used, 3);
  CHECK_INT(MPC(fixext16, 1, AM_MP_ALLOW_EXT, &used), 0);
  CHECK_INT(used, 18);
  CHECK_INT(MPC(ext8, 1, AM_MP_ALLOW_EXT, &used), 0);
  CHECK_INT(used, 5);
  CHECK_INT(MPC(ext32, 1, AM_MP_ALLOW_EXT, &used), 0);
  CHECK_INT(used, 7);
  CHECK_INT(mpc(ext8, sizeof ext8 - 1, 1, AM_MP_ALLOW_EXT, &used), AM_ECORRUPT);
  CHECK_INT(mpc(ext8, 1, 1, AM_MP_ALLOW_EXT, &used), AM_ECORRUPT);
  CHECK_INT(mpc(fixext16, sizeof fixext16 - 1, 1, AM_MP_ALLOW_EXT, &used), AM_ECORRUPT);
  CHECK_INT(mpc(f64, sizeof f64 - 1, 1, AM_MP_ALLOW_FLOAT, &used), AM_ECORRUPT);

  /* Counts and lengths larger than what remains. */
  static const uint8_t arr_short[] = {0x93, 0x01, 0x02};
  static const uint8_t map_short[] = {0x81, 0x01};
  static const uint8_t str_short[] = {0xd9, 0x05, 'a', 'b', 'c'};
  static const uint8_t bin_short[] = {0xc5, 0x01, 0x00, 'a'};
  static const uint8_t arr32_huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01};
  static const uint8_t map32_huge[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0x01, 0x01};
  static const uint8_t str32_huge[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
  static const uint8_t hdr_cut[] = {0xdd, 0x00, 0x00};
  static const uint8_t reserved[] = {0xc1};
  static const uint8_t nested_short[] = {0x92, 0x92, 0x01, 0x02};
  CHECK_INT(MPC(arr_short, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(map_short, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(str_short, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(bin_short, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(arr32_huge, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(map32_huge, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(str32_huge, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(hdr_cut, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(reserved, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(MPC(nested_short, 4, 0, &used), AM_ECORRUPT);
  CHECK_INT(mpc(NULL, 0, 4, 0, &used), AM_ECORRUPT);
}

/* ---- JSON ------------------------------------------------------------- */

static void test_time_format(void) {
  char ts[21];
  am_time_format(0, ts);
  CHECK_STR(ts, "1970-01-01T00:00:00Z");
  am_time_format(1714557600, ts);
  CHECK_STR(ts, "2024-05-01T10:00:00Z");
  am_time_format(-1, ts);
  CHECK_STR(ts, "1969-12-31T23:59:59Z");
  am_time_format(253402300799, ts);
  CHECK_STR(ts, "9999-12-31T23:59:59Z");
  /* Out of range (a damaged record): clamped, never garbage. */
  am_time_format(253402300800, ts);
  CHECK_STR(ts, "9999-12-31T23:59:59Z");
  am_time_format(INT64_MAX, ts);
  CHECK_STR(ts, "9999-12-31T23:59:59Z");
  am_time_format(INT64_MIN, ts);
  CHECK_STR(ts, "0000-01-01T00:00:00Z");
}

static void test_to_json(void) {
  am_member m;
  am_member_init(&m);
  json_t *j = am_member_to_json(&m);
  REQUIRE(j && json_is_object(j));
  CHECK_INT(json_object_size(j), 1 + AM_F__COUNT + 3);
  CHECK(json_is_integer(json_object_get(j, "id")));
  CHECK_INT(json_integer_value(json_object_get(j, "id")), 0);
  for (int f = 0; f < AM_F__COUNT; f++) {
    json_t *v = json_object_get(j, am_fields[f].name);
    REQUIRE(v != NULL);
    switch (am_fields[f].type) {
    case AM_T_LIST: CHECK(json_is_array(v) && json_array_size(v) == 0); break;
    case AM_T_BOOL: CHECK(json_is_false(v)); break;
    default: CHECK(json_is_null(v)); break;
    }
  }
  json_t *vis = json_object_get(j, "visibility");
  REQUIRE(json_is_object(vis));
  CHECK_INT(json_object_size(vis), AM_F__PROFILE_COUNT);
  CHECK_STR(json_string_value(json_object_get(vis, "emails")), "private");
  CHECK_STR(json_string_value(json_object_get(vis, "phone")), "private");
  CHECK_STR(json_string_value(json_object_get(vis, "given_name")), "federation");
  CHECK_STR(json_string_value(json_object_get(vis, "website")), "school");
  CHECK(json_object_get(vis, "dues_paid_until") == NULL);
  CHECK_STR(json_string_value(json_object_get(j, "created")), "1970-01-01T00:00:00Z");
  json_decref(j);

  REQUIRE(fill(&m) == 0);
  j = am_member_to_json(&m);
  REQUIRE(j);
  CHECK_INT(json_object_size(j), 1 + AM_F__COUNT + 3);
  CHECK_INT(json_integer_value(json_object_get(j, "id")), 42);
  CHECK_STR(json_string_value(json_object_get(j, "given_name")), "Éléonore");
  CHECK_STR(json_string_value(json_object_get(j, "bio")), FULL_BIO);
  CHECK_STR(json_string_value(json_object_get(j, "linkedin")), "https://linkedin.com/in/eleonore");
  json_t *emails = json_object_get(j, "emails");
  REQUIRE(json_is_array(emails) && json_array_size(emails) == 2);
  CHECK_STR(json_string_value(json_array_get(emails, 0)), "eleonore@example.fr");
  CHECK_STR(json_string_value(json_array_get(emails, 1)), "e.lv@work.example.com");
  json_t *langs = json_object_get(j, "languages");
  REQUIRE(json_is_array(langs) && json_array_size(langs) == 3);
  CHECK_STR(json_string_value(json_array_get(langs, 2)), "日本語");
  CHECK(json_is_integer(json_object_get(j, "promo")));
  CHECK_INT(json_integer_value(json_object_get(j, "promo")), 2012);
  CHECK(json_is_true(json_object_get(j, "mentoring")));
  CHECK(json_is_true(json_object_get(j, "dues_lifetime")));
  CHECK_STR(json_string_value(json_object_get(j, "dues_paid_until")), "2025-12-31");
  CHECK_STR(json_string_value(json_object_get(j, "consent_listed")), "2024-05-01");
  CHECK_STR(json_string_value(json_object_get(j, "consent_federation")), "2024-06-15");
  CHECK_STR(json_string_value(json_object_get(j, "created")), "2024-05-01T10:00:00Z");
  CHECK_STR(json_string_value(json_object_get(j, "updated")), "2024-05-01T11:00:00Z");
  vis = json_object_get(j, "visibility");
  CHECK_STR(json_string_value(json_object_get(vis, "emails")), "federation");
  CHECK_STR(json_string_value(json_object_get(vis, "bio")), "private");
  CHECK_STR(json_string_value(json_object_get(vis, "city")), "federation");
  CHECK_STR(json_string_value(json_object_get(vis, "phone")), "private");
  CHECK_STR(json_string_value(json_object_get(vis, "mentoring_topics")), "federation");
  char *text = json_dumps(j, JSON_SORT_KEYS);
  REQUIRE(text);
  json_error_t jerr;
  json_t *back = json_loads(text, 0, &jerr);
  CHECK(back && json_equal(back, j));
  json_decref(back);
  free(text);
  json_decref(j);
  am_member_free(&m);
}

/* ---- vCard ------------------------------------------------------------ */

/* Checks the physical form of a vCard (CRLF only, lines of at most 75
 * octets, continuation lines starting with a space and never with the
 * middle of a UTF-8 sequence) and returns it unfolded (malloc'd). */
static char *check_vcard(const char *v, size_t len) {
  CHECK(len >= 2 && v[len - 2] == '\r' && v[len - 1] == '\n');
  size_t start = 0, bad_lines = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '\r' && (i + 1 == len || v[i + 1] != '\n')) bad_lines++;
    if (v[i] != '\n') continue;
    if (i == 0 || v[i - 1] != '\r') {
      bad_lines++;
      continue;
    }
    size_t n = i - 1 - start; /* octets before the CRLF */
    bool cont = n > 0 && v[start] == ' ';
    if (n > 75 || n == 0 || !am_utf8_valid(v + start + cont, n - cont) ||
        (cont && n > 1 && ((unsigned char)v[start + 1] & 0xc0) == 0x80)) {
      fprintf(stderr, "  bad physical line (%zu octets): %.*s\n", n, (int)n, v + start);
      bad_lines++;
    }
    start = i + 1;
  }
  CHECK_INT(bad_lines, 0);
  /* Unfold: a CRLF followed by a space disappears with the space. */
  char *u = malloc(len + 1);
  if (!u) abort();
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '\r' && i + 2 < len && v[i + 1] == '\n' && v[i + 2] == ' ') {
      i += 2;
      continue;
    }
    u[k++] = v[i];
  }
  u[k] = '\0';
  return u;
}

/* The value of the first unfolded line "NAME:..." (NAME with parameters as
 * given), as a static copy; NULL when absent. */
static const char *vprop(const char *unfolded, const char *name) {
  static char out[8192];
  size_t nl = strlen(name);
  for (const char *l = unfolded; *l;) {
    const char *e = strstr(l, "\r\n");
    if (!e) break;
    if ((size_t)(e - l) > nl && strncmp(l, name, nl) == 0 && l[nl] == ':') {
      size_t n = (size_t)(e - l) - nl - 1;
      if (n >= sizeof out) return NULL;
      memcpy(out, l + nl + 1, n);
      out[n] = '\0';
      return out;
    }
    l = e + 2;
  }
  return NULL;
}

static char *vescape(const char *s) {
  char *r = malloc(2 * strlen(s) + 1), *o = r;
  if (!r) abort();
  for (; *s; s++) {
    if (*s == '\n') { *o++ = '\\', *o++ = 'n'; continue; }
    if (*s == '\\' || *s == ',' || *s == ';') *o++ = '\\';
    *o++ = *s;
  }
  *o = '\0';
  return r;
}

static void test_vcard(void) {
  am_member m;
  REQUIRE(fill(&m) == 0);
  am_buf b = {0};
  REQUIRE(am_member_to_vcard(&m, "urn:amicale:KEY:", &b) == 0);
  REQUIRE(b.data != NULL);
  CHECK(strncmp(b.data, "BEGIN:VCARD\r\nVERSION:4.0\r\n", 26) == 0);
  CHECK(b.len >= 11 && strcmp(b.data + b.len - 11, "END:VCARD\r\n") == 0);
  char *u = check_vcard(b.data, b.len);
  CHECK_STR(vprop(u, "UID"), "urn:amicale:KEY:42");
  CHECK_STR(vprop(u, "FN"), "Éléonore Lœvenbruck (Martin-Åström)");
  CHECK_STR(vprop(u, "N"), "Lœvenbruck;Éléonore;;;");
  CHECK_STR(vprop(u, "NICKNAME"), "Martin-Åström");
  CHECK_STR(vprop(u, "EMAIL"), "eleonore@example.fr");
  CHECK(strstr(u, "\r\nEMAIL:e.lv@work.example.com\r\n") != NULL);
  CHECK_STR(vprop(u, "TEL;VALUE=text"), "+33 6 12 34 56 78");
  CHECK_STR(vprop(u, "ORG"), "Société Générale");
  CHECK_STR(vprop(u, "TITLE"), "Cheffe de projet");
  CHECK_STR(vprop(u, "ADR"), ";;;Lyon;;;France");
  CHECK_STR(vprop(u, "URL;TYPE=linkedin"), "https://linkedin.com/in/eleonore");
  CHECK_STR(vprop(u, "URL"), "https://example.org/~el");
  CHECK_STR(vprop(u, "CATEGORIES"), "C,Rust,Gestion de projet");
  CHECK_STR(vprop(u, "X-AMICALE-PROMO"), "2012");
  CHECK_STR(vprop(u, "X-AMICALE-PROGRAMME"), "Ingénieur généraliste");
  CHECK_STR(vprop(u, "REV"), "20240501T110000Z");
  char *note = vescape(FULL_BIO);
  CHECK_STR(vprop(u, "NOTE"), note);
  CHECK_STR(note, "Première ligne\\, avec\\; ponctuation \\\\ et tout.\\n"
                  "Deuxième ligne — « citée » ✓ 日本語\\n\\nQuatrième.");
  free(note);
  free(u);
  am_buf_free(&b);

  /* Escaping of , ; \ and newline in every text property. */
  CHECK_INT(set(&m, AM_F_FAMILY_NAME, "a,b;c\\d"), 0);
  CHECK_INT(set(&m, AM_F_EMPLOYER, "Dupont, Durand & Cie; SA"), 0);
  CHECK_INT(set(&m, AM_F_SKILLS, "C\\C++; a\\,b"), 0);
  CHECK_INT(set(&m, AM_F_BIO, "x\ny"), 0);
  REQUIRE(am_member_to_vcard(&m, "urn:amicale:K:", &b) == 0);
  u = check_vcard(b.data, b.len);
  CHECK_STR(vprop(u, "N"), "a\\,b\\;c\\\\d;Éléonore;;;");
  CHECK_STR(vprop(u, "ORG"), "Dupont\\, Durand & Cie\\; SA");
  CHECK_STR(vprop(u, "CATEGORIES"), "C\\\\C++,a\\\\,b");
  CHECK_STR(vprop(u, "NOTE"), "x\\ny");
  free(u);
  am_buf_free(&b);
  am_member_free(&m);

  /* A minimal record: only what is set appears. */
  am_member_init(&m);
  m.id = 7;
  CHECK_INT(set(&m, AM_F_GIVEN_NAME, "Marie"), 0);
  REQUIRE(am_member_to_vcard(&m, "urn:amicale:abc:", &b) == 0);
  CHECK_STR(b.data, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:amicale:abc:7\r\n"
                    "FN:Marie\r\nN:;Marie;;;\r\nEND:VCARD\r\n");
  am_buf_free(&b);
  am_member_free(&m);
}

/* Long values fold at 75 octets, never inside a UTF-8 sequence, whatever
 * the alignment of the characters against the fold. */
static void test_vcard_folding(void) {
  static const struct { const char *ch; size_t times; } chars[] = {
    {"é", 900}, {"€", 600}, {"😀", 450}, {"a", 1900}, {"\\", 900}, {",é", 600},
  };
  static const char *prefixes[] = {"", "a", "ab", "abc"};
  for (size_t c = 0; c < sizeof chars / sizeof *chars; c++)
    for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes; p++) {
      am_member m;
      am_member_init(&m);
      char *body = repeat(chars[c].ch, chars[c].times);
      char *bio = malloc(strlen(body) + 8);
      REQUIRE(bio);
      sprintf(bio, "%s%s", prefixes[p], body);
      CHECK_INT(set(&m, AM_F_BIO, bio), 0);
      /* Names and places fold too (at most 100 bytes). */
      char *shortbody = repeat(chars[c].ch, 90 / strlen(chars[c].ch));
      char name[128];
      snprintf(name, sizeof name, "%s%s", prefixes[p], shortbody);
      free(shortbody);
      CHECK_INT(set(&m, AM_F_FAMILY_NAME, name), 0);
      CHECK_INT(set(&m, AM_F_CITY, name), 0);
      CHECK_INT(set(&m, AM_F_SKILLS, name), 0);
      am_buf b = {0};
      REQUIRE(am_member_to_vcard(&m, "urn:amicale:KEY:", &b) == 0);
      int before = test_failed_checks;
      char *u = check_vcard(b.data, b.len);
      char *want = vescape(bio);
      CHECK_STR(vprop(u, "NOTE"), want);
      free(want);
      want = vescape(name);
      char adr[512];
      snprintf(adr, sizeof adr, ";;;%s;;;", want);
      CHECK_STR(vprop(u, "ADR"), adr);
      snprintf(adr, sizeof adr, "%s;;;;", want);
      CHECK_STR(vprop(u, "N"), adr);
      if (test_failed_checks != before)
        fprintf(stderr, "  with %s x %zu after '%s'\n", chars[c].ch, chars[c].times, prefixes[p]);
      free(want);
      free(u);
      am_buf_free(&b);
      free(bio);
      free(body);
      am_member_free(&m);
    }
}

int main(void) {
  RUN(test_field_by_name);
  RUN(test_field_by_header);
  RUN(test_aliases_unique);
  RUN(test_set_text);
  RUN(test_set_list);
  RUN(test_set_email);
  RUN(test_set_phone);
  RUN(test_set_url);
  RUN(test_set_year);
  RUN(test_set_bool);
  RUN(test_set_date);
  RUN(test_set_consent);
  RUN(test_set_empty_clears);
  RUN(test_format_round_trip);
  RUN(test_copy);
  RUN(test_visibility_defaults);
  RUN(test_set_visibility);
  RUN(test_format_visibility);
  RUN(test_check_and_display);
  RUN(test_codec_round_trip);
  RUN(test_decode_truncated);
  RUN(test_decode_huge_counts);
  RUN(test_decode_wrong_types);
  RUN(test_decode_newer);
  RUN(test_decode_bad_strings);
  RUN(test_decode_bad_values);
  RUN(test_decode_older);
  RUN(test_mp_check);
  RUN(test_time_format);
  RUN(test_to_json);
  RUN(test_vcard);
  RUN(test_vcard_folding);
  return TEST_SUMMARY();
}
