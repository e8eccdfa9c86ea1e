/* Unit tests for the newsletter digest (proto/digest.c): the three formats
 * of one digest; hostile texts (a title holding <script> and &, Markdown
 * syntax, a javascript: link) escaped in each; only http(s) URLs linked;
 * empty sections said so; the member counts with people not shown; the
 * refusals. */
#include "proto/digest.h"

#include "tests/test.h"

static am_error err;

#define KEY "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"

static json_t *sample(void) {
  return json_pack(
      "{s:s, s:s,"
      " s:[{s:s, s:s, s:i, s:i, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}},"
      "    {s:s, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s}}],"
      " s:[{s:s, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}}],"
      " s:[{s:{s:s, s:s}, s:i, s:[{s:{s:s, s:s, s:i, s:s, s:s}}, {s:{s:s}}]},"
      "    {s:{s:s, s:s}, s:i, s:[]}]}",
      "since", "2026-01-01T00:00:00Z", "until", "2026-01-08T00:00:00Z",
      "events",
      "kind", "event", "origin", KEY, "object", 7, "version", 11, "created", "2026-01-01T00:00:00Z",
      "institution", "key", KEY, "name", "École <b>Exemple</b> & Cie",
      "body", "title", "<script>alert(1)</script> & \"gala\" *now*", "starts_at",
      "2026-01-31T18:30:00Z", "ends_at", "2026-01-31T22:30:00Z", "venue", "Pavillon [Dauphine]",
      "city", "Paris", "country", "France", "registration", "https://exemple.fr/gala?a=1&b=2",
      "status", "cancelled",
      "kind", "event", "institution", "name", "Lycée C",
      "body", "title", "Webinaire #3", "starts_at", "2026-02-01T20:00:00Z", "ends_at",
      "2026-02-02T01:00:00Z", "online_url", "https://meet.example.org/w", "registration",
      "javascript:alert(1)", "status", "scheduled",
      "jobs",
      "kind", "job", "institution", "name", "Société B",
      "body", "title", "Ingénieur·e data", "employer", "Thales_SA", "contract", "cdi", "remote",
      "hybrid", "city", "Paris", "apply", "recrutement@thales.example", "valid_through",
      "2026-03-31", "alumni_only", 1,
      "institutions",
      "institution", "key", KEY, "name", "École Exemple", "new_members", 3, "people",
      "fields", "given_name", "Éléonore", "family_name", "Dubois", "promo", 2012, "job_title",
      "Analyste", "employer", "Société Générale", "fields", "family_name", "Martin",
      "institution", "key", KEY, "name", "Lycée C", "new_members", 0, "people");
}

static char *render(const json_t *d, int fmt) {
  am_buf out = {0};
  memset(&err, 0, sizeof err);
  int rc = am_digest_render(d, fmt, &out, &err);
  if (rc) fprintf(stderr, "  render: %d %s\n", rc, err.msg);
  return out.data;
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void test_text(void) {
  json_t *d = sample();
  REQUIRE(d);
  char *t = render(d, AM_DIGEST_TEXT);
  REQUIRE(t);
  CHECK(!strncmp(t, "Amicale digest: 2026-01-01 to 2026-01-08\n"
                    "========================================\n", 82));
  CHECK(strstr(t, "\nEvents (2)\n----------\n\n"
                  "* <script>alert(1)</script> & \"gala\" *now*\n"
                  "    When: 2026-01-31 18:30–22:30 UTC\n"
                  "    Where: Pavillon [Dauphine], Paris, France\n"
                  "    Institution: École <b>Exemple</b> & Cie\n"
                  "    Status: CANCELLED\n"
                  "    Registration: https://exemple.fr/gala?a=1&b=2\n\n"));
  CHECK(strstr(t, "    When: 2026-02-01 20:00 UTC to 2026-02-02 01:00 UTC\n"
                  "    Where: online\n"
                  "    Institution: Lycée C\n"
                  "    Registration: javascript:alert(1)\n"
                  "    Online: https://meet.example.org/w\n"));
  CHECK(strstr(t, "\nJob offers (1)\n--------------\n\n"
                  "* Ingénieur·e data — Thales_SA\n"
                  "    Contract: Permanent (CDI), hybrid, alumni only\n"
                  "    Where: Paris\n"
                  "    Institution: Société B\n"
                  "    Apply: recrutement@thales.example\n"
                  "    Valid through: 2026-03-31\n"));
  CHECK(strstr(t, "\nNew members (3)\n---------------\n"
                  "\nÉcole Exemple (3)\n\n"
                  "* Éléonore Dubois — class of 2012, Analyste at Société Générale\n"
                  "* Martin\n"
                  "\nAnd 1 more.\n"));
  CHECK(!strstr(t, "Lycée C (0)")); /* no new members there: not listed */
  free(t);
  json_decref(d);
}

static void test_html(void) {
  json_t *d = sample();
  char *h = render(d, AM_DIGEST_HTML);
  REQUIRE(h);
  CHECK(!strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", 62));
  size_t n = strlen(h);
  CHECK(n > 16 && !strcmp(h + n - 16, "</body>\n</html>\n"));
  CHECK(strstr(h, "<title>Amicale digest: 2026-01-01 to 2026-01-08</title>"));
  /* Every text escaped: no markup of the data survives. */
  CHECK(!strstr(h, "<script"));
  CHECK(!strstr(h, "<b>"));
  CHECK(strstr(h, "<strong>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;gala&quot; *now*</strong>"));
  CHECK(strstr(h, "Institution: École &lt;b&gt;Exemple&lt;/b&gt; &amp; Cie"));
  /* http(s) links only, attribute escaped. */
  CHECK(strstr(h, "<a href=\"https://exemple.fr/gala?a=1&amp;b=2\">https://exemple.fr/gala?a=1&amp;b=2</a>"));
  CHECK(strstr(h, "Registration: javascript:alert(1)</li>"));
  CHECK(!strstr(h, "href=\"javascript"));
  CHECK_INT(count(h, "<a href="), 2);
  CHECK(strstr(h, "Apply: recrutement@thales.example</li>"));
  /* Balanced lists and items. */
  CHECK_INT(count(h, "<ul>"), count(h, "</ul>"));
  CHECK_INT(count(h, "<li>"), count(h, "</li>"));
  CHECK_INT(count(h, "<h2>"), 3);
  CHECK(strstr(h, "<li><strong>Éléonore Dubois</strong> — class of 2012, Analyste at Société Générale</li>"));
  CHECK(strstr(h, "<p>And 1 more.</p>"));
  free(h);
  json_decref(d);
}

static void test_markdown(void) {
  json_t *d = sample();
  char *m = render(d, AM_DIGEST_MARKDOWN);
  REQUIRE(m);
  CHECK(!strncmp(m, "# Amicale digest: 2026-01-01 to 2026-01-08\n", 43));
  CHECK(strstr(m, "\n## Events (2)\n\n"));
  CHECK(strstr(m, "- **\\<script\\>alert\\(1\\)\\</script\\> \\& \"gala\" \\*now\\***\n"));
  CHECK(strstr(m, "  - Where: Pavillon \\[Dauphine\\], Paris, France\n"));
  CHECK(strstr(m, "  - Registration: <https://exemple.fr/gala?a=1&b=2>\n"));
  CHECK(strstr(m, "  - Registration: javascript:alert\\(1\\)\n"));
  CHECK(strstr(m, "- **Ingénieur·e data — Thales\\_SA**\n"));
  CHECK(strstr(m, "- **Webinaire \\#3**\n"));
  /* Our own labels and well-formed dates are not escaped. */
  CHECK(strstr(m, "  - Contract: Permanent (CDI), hybrid, alumni only\n"));
  CHECK(strstr(m, "  - Valid through: 2026-03-31\n"));
  /* After a list, a blank line: else the sentence joins the last item. */
  CHECK(strstr(m, "Société Générale\n- **Martin**\n\nAnd 1 more.\n"));
  CHECK(strstr(m, "\n### École Exemple (3)\n\n- **Éléonore Dubois** — class of 2012, Analyste at Société Générale\n"));
  /* Every < of the data is escaped; the only bare ones open autolinks. */
  for (const char *p = m; (p = strchr(p, '<')); p++)
    CHECK((p > m && p[-1] == '\\') || !strncmp(p, "<https://", 9));
  free(m);
  json_decref(d);
}

static void test_empty(void) {
  json_t *d = json_pack("{s:s, s:s, s:[], s:[], s:[]}", "since", "2026-01-01T00:00:00Z", "until",
                        "2026-01-08T00:00:00Z", "events", "jobs", "institutions");
  for (int f = 0; f < 3; f++) {
    char *s = render(d, f);
    REQUIRE(s);
    CHECK(strstr(s, "No new events."));
    CHECK(strstr(s, "No new job offers."));
    CHECK(strstr(s, "No new members."));
    free(s);
  }
  json_decref(d);
  /* Nothing but since, given as Unix seconds; the lists absent. */
  d = json_pack("{s:i}", "since", 1767225600);
  char *s = render(d, AM_DIGEST_TEXT);
  REQUIRE(s);
  CHECK(!strncmp(s, "Amicale digest: since 2026-01-01\n", 33));
  CHECK(strstr(s, "No new members."));
  free(s);
  json_decref(d);
}

static void test_refusals(void) {
  am_buf out = {0};
  am_buf_append(&out, "kept", 4);
  json_t *d = json_pack("{s:{}}", "events");
  CHECK_INT(am_digest_render(d, AM_DIGEST_HTML, &out, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "\"events\""));
  json_decref(d);
  d = json_array();
  CHECK_INT(am_digest_render(d, AM_DIGEST_TEXT, &out, &err), AM_EINVAL);
  CHECK_INT(am_digest_render(d, 7, &out, &err), AM_EUSAGE);
  json_decref(d);
  CHECK_INT(out.len, 4);
  am_buf_free(&out);
  CHECK_INT(am_digest_format_parse("text"), AM_DIGEST_TEXT);
  CHECK_INT(am_digest_format_parse("md"), AM_DIGEST_MARKDOWN);
  CHECK_INT(am_digest_format_parse("markdown"), AM_DIGEST_MARKDOWN);
  CHECK_INT(am_digest_format_parse("html"), AM_DIGEST_HTML);
  CHECK_INT(am_digest_format_parse("pdf"), -1);
  CHECK_INT(am_digest_format_parse(NULL), -1);
}

int main(void) {
  RUN(test_text);
  RUN(test_html);
  RUN(test_markdown);
  RUN(test_empty);
  RUN(test_refusals);
  return TEST_SUMMARY();
}
