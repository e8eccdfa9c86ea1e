/* Unit tests for vCard 4.0 (proto/vcard.c): the card of a person from a
 * federation search (person JSON of store/api.h), byte for byte; the same
 * card from a member record and from that member's person JSON (one
 * writer, one UID); languages as LANG tags; escaping and folding; the
 * refusals, which leave the output as it was. */
#include "proto/member_json.h"

#include "proto/member.h"
#include "proto/text.h"
#include "tests/test.h"

#define KEY "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"

static am_error err;

static json_t *sample_person(void) {
  return json_pack(
      "{s:{s:s, s:s, s:s}, s:b, s:i, s:{s:s, s:s, s:s, s:[s, s], s:s, s:i, s:s, s:s, s:s, "
      "s:s, s:s, s:s, s:[s, s], s:[s, s, s], s:s, s:s, s:s, s:b}, s:s}",
      "institution", "key", KEY, "name", "École Exemple", "kind", "school", "local", 0, "id",
      42, "fields", "given_name", "Éléonore", "family_name", "Dubois", "usual_name", "Léo",
      "emails", "eleonore@example.fr", "e.dubois@example.org", "phone", "+33 6 12 34 56 78",
      "promo", 2012, "programme", "Ingénieur généraliste", "diploma", "Diplôme d'ingénieur",
      "employer", "Société Générale", "job_title", "Analyste, risques; crédit", "city",
      "Paris", "country", "France", "skills", "Python", "Gestion des risques", "languages",
      "Français", "en-GB", "Klingon", "linkedin", "https://linkedin.com/in/eleonore-dubois",
      "website", "https://eleonore.example.org/a,b", "bio",
      "Passionnée de finance durable.\nBénévole chez Finance Watch.", "mentoring", 1,
      "updated", "2026-01-02T03:04:05Z");
}

static void test_person_card(void) {
  json_t *p = sample_person();
  REQUIRE(p);
  am_buf out = {0};
  CHECK_INT(am_vcard_person(p, &out, &err), 0);
  const char *want =
      "BEGIN:VCARD\r\n"
      "VERSION:4.0\r\n"
      "UID:urn:amicale:" KEY ":42\r\n"
      "FN:Éléonore Dubois (Léo)\r\n"
      "N:Dubois;Éléonore;;;\r\n"
      "NICKNAME:Léo\r\n"
      "EMAIL:eleonore@example.fr\r\n"
      "EMAIL:e.dubois@example.org\r\n"
      "TEL;VALUE=text:+33 6 12 34 56 78\r\n"
      "ORG:Société Générale\r\n"
      "TITLE:Analyste\\, risques\\; crédit\r\n"
      "ADR:;;;Paris;;;France\r\n"
      "URL;TYPE=linkedin:https://linkedin.com/in/eleonore-dubois\r\n"
      "URL:https://eleonore.example.org/a,b\r\n"
      "NOTE:Passionnée de finance durable.\\nBénévole chez Finance Watch.\r\n"
      "CATEGORIES:Python,Gestion des risques\r\n"
      "LANG;PREF=1:fr\r\n"
      "LANG;PREF=2:en-GB\r\n"
      "X-AMICALE-LANGUAGES:Français,en-GB,Klingon\r\n"
      "X-AMICALE-INSTITUTION:École Exemple\r\n"
      "X-AMICALE-PROMO:2012\r\n"
      "X-AMICALE-PROGRAMME:Ingénieur généraliste\r\n"
      "X-AMICALE-DIPLOMA:Diplôme d'ingénieur\r\n"
      "REV:20260102T030405Z\r\n"
      "END:VCARD\r\n";
  CHECK_STR(out.data, want);
  am_buf_free(&out);
  json_decref(p);
}

/* A person with only a family name, fields of the wrong types (a peer's
 * odd answer): what is right is written, the rest left out. */
static void test_sparse_person(void) {
  json_t *p = json_pack("{s:{s:s}, s:i, s:{s:s, s:i, s:s, s:[i, s], s:s}}", "institution",
                        "key", KEY, "id", 7, "fields", "family_name", "Martin", "city", 3,
                        "promo", "2012", "emails", 5, "x@example.fr", "website", "");
  REQUIRE(p);
  am_buf out = {0};
  CHECK_INT(am_vcard_person(p, &out, &err), 0);
  CHECK_STR(out.data, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:amicale:" KEY ":7\r\n"
                      "FN:Martin\r\nN:Martin;;;;\r\nEMAIL:x@example.fr\r\nEND:VCARD\r\n");
  am_buf_free(&out);
  json_decref(p);
}

/* The member export and the search give one person the same card. */
static void test_member_and_person_agree(void) {
  am_member m;
  am_member_init(&m);
  m.id = 42;
  m.updated = 1767323045;
  static const struct {
    int f;
    const char *v;
  } set[] = {
      {AM_F_GIVEN_NAME, "Éléonore"}, {AM_F_FAMILY_NAME, "Dubois"}, {AM_F_USUAL_NAME, "Léo"},
      {AM_F_EMAILS, "eleonore@example.fr; e.dubois@example.org"},
      {AM_F_PHONE, "+33 6 12 34 56 78"}, {AM_F_PROMO, "2012"},
      {AM_F_PROGRAMME, "Ingénieur généraliste"}, {AM_F_EMPLOYER, "Société Générale"},
      {AM_F_JOB_TITLE, "Analyste risques"}, {AM_F_CITY, "Paris"}, {AM_F_COUNTRY, "France"},
      {AM_F_SKILLS, "Python; SQL"}, {AM_F_LANGUAGES, "Français, Anglais"},
      {AM_F_LINKEDIN, "linkedin.com/in/eleonore-dubois"},
      {AM_F_BIO, "Passionnée de finance durable.\nBénévole."},
  };
  for (size_t i = 0; i < sizeof set / sizeof *set; i++)
    CHECK_INT(am_member_set(&m, set[i].f, set[i].v, strlen(set[i].v), &err), 0);
  am_buf a = {0}, b = {0};
  CHECK_INT(am_member_to_vcard(&m, "urn:amicale:" KEY ":", &a), 0);

  /* The person JSON the API builds: the non-empty profile fields. */
  json_t *mj = am_member_to_json(&m), *fields = json_object();
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    json_t *v = json_object_get(mj, am_fields[f].name);
    if (json_is_null(v) || json_is_false(v) || (json_is_array(v) && !json_array_size(v))) continue;
    json_object_set(fields, am_fields[f].name, v);
  }
  json_t *p = json_pack("{s:{s:s}, s:i, s:o, s:O}", "institution", "key", KEY, "id", 42,
                        "fields", fields, "updated", json_object_get(mj, "updated"));
  CHECK_INT(am_vcard_person(p, &b, &err), 0);
  CHECK_STR(a.data, b.data);
  REQUIRE(a.data);
  CHECK(strstr(a.data, "URL;TYPE=linkedin:https://linkedin.com/in/eleonore-dubois\r\n"));
  CHECK(strstr(a.data, "LANG;PREF=1:fr\r\nLANG;PREF=2:en\r\n"));
  CHECK(strstr(a.data, "REV:20260102T030405Z\r\n"));
  am_buf_free(&a);
  am_buf_free(&b);
  json_decref(p);
  json_decref(mj);
  am_member_free(&m);
}

/* A long bio of multi-octet characters: lines of at most 75 octets, each
 * valid UTF-8, and the unfolded NOTE is the escaped bio. */
static void test_folding(void) {
  am_buf bio = {0};
  for (int i = 0; i < 60; i++) am_buf_append(&bio, "é€😀;,\\", strlen("é€😀;,\\"));
  am_buf_append(&bio, "\nfin", 4);
  json_t *p = json_pack("{s:{s:s}, s:i, s:{s:s, s:s}}", "institution", "key", KEY, "id", 1,
                        "fields", "family_name", "X", "bio", bio.data);
  am_buf out = {0};
  CHECK_INT(am_vcard_person(p, &out, &err), 0);
  REQUIRE(out.data);
  am_buf unfolded = {0};
  for (const char *s = out.data; *s;) {
    const char *e = strstr(s, "\r\n");
    REQUIRE(e);
    CHECK((size_t)(e - s) <= 75);
    CHECK(am_utf8_valid(s, (size_t)(e - s)));
    CHECK(!memchr(s, '\n', (size_t)(e - s)));
    const char *from = *s == ' ' ? s + 1 : s;
    if (*s != ' ' && unfolded.len) am_buf_append(&unfolded, "\n", 1);
    am_buf_append(&unfolded, from, (size_t)(e - from));
    s = e + 2;
  }
  am_buf want = {0};
  am_buf_append(&want, "NOTE:", 5);
  for (int i = 0; i < 60; i++) am_buf_append(&want, "é€😀\\;\\,\\\\", strlen("é€😀\\;\\,\\\\"));
  am_buf_append(&want, "\\nfin", 5);
  REQUIRE(unfolded.data && want.data);
  CHECK(strstr(unfolded.data, want.data) != NULL);
  am_buf_free(&want);
  am_buf_free(&unfolded);
  am_buf_free(&out);
  am_buf_free(&bio);
  json_decref(p);
}

static void test_refusals_and_lists(void) {
  am_buf out = {0};
  am_buf_append(&out, "kept", 4);
  json_t *nokey = json_pack("{s:{s:s}, s:i, s:{}}", "institution", "name", "X", "id", 1, "fields");
  json_t *badkey = json_pack("{s:{s:s}, s:i}", "institution", "key", "a:b", "id", 1);
  json_t *noid = json_pack("{s:{s:s}}", "institution", "key", KEY);
  json_t *negid = json_pack("{s:{s:s}, s:i}", "institution", "key", KEY, "id", -1);
  json_t *badfields = json_pack("{s:{s:s}, s:i, s:[]}", "institution", "key", KEY, "id", 1, "fields");
  json_t *bad[] = {nokey, badkey, noid, negid, badfields, json_null()};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    memset(&err, 0, sizeof err);
    CHECK_INT(am_vcard_person(bad[i], &out, &err), AM_EINVAL);
    CHECK(err.msg[0] != '\0');
    CHECK_INT(out.len, 4);
  }
  /* A list, or a search answer: one card each, in order; a bad person is
   * named. */
  json_t *good = json_pack("{s:{s:s}, s:i, s:{s:s}}", "institution", "key", KEY, "id", 3,
                           "fields", "given_name", "Ana");
  json_t *answer = json_pack("{s:i, s:i, s:[O, O]}", "total", 2, "offset", 0, "results", good, good);
  am_buf cards = {0};
  CHECK_INT(am_vcard_people(answer, &cards, &err), 0);
  REQUIRE(cards.data);
  size_t n = 0;
  for (const char *s = cards.data; (s = strstr(s, "BEGIN:VCARD\r\n")); s++) n++;
  CHECK_INT(n, 2);
  json_t *mixed = json_pack("[O, O]", good, noid);
  CHECK_INT(am_vcard_people(mixed, &cards, &err), AM_EINVAL);
  CHECK(!strncmp(err.msg, "person 2: ", 10));
  CHECK_INT(am_vcard_people(good, &cards, &err), AM_EINVAL); /* no results */
  json_decref(mixed);
  json_decref(answer);
  json_decref(good);
  am_buf_free(&cards);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) json_decref(bad[i]);
  am_buf_free(&out);
}

int main(void) {
  RUN(test_person_card);
  RUN(test_sparse_person);
  RUN(test_member_and_person_agree);
  RUN(test_folding);
  RUN(test_refusals_and_lists);
  return TEST_SUMMARY();
}
