/* proto/address.c: "HOST:PORT" as administrators type it. Tables of valid
 * inputs (with their normal form) and of invalid ones (with a piece of
 * the message each must give), for peer addresses and for the listen
 * setting (which also takes wildcards, and port 0). */
#include "proto/address.h"

#include "tests/test.h"

typedef struct good {
  const char *in, *text;
  const char *host;
  unsigned port;
  bool v6, v4, wildcard;
} good;

static const good peer_good[] = {
  {"school.example:7400", "school.example:7400", "school.example", 7400, false, false, false},
  {"  School.EXAMPLE:7400 \n", "school.example:7400", "school.example", 7400, false, false, false},
  {"school.example.:80", "school.example:80", "school.example", 80, false, false, false},
  {"localhost:1", "localhost:1", "localhost", 1, false, false, false},
  {"a:65535", "a:65535", "a", 65535, false, false, false},
  {"3com.example:7400", "3com.example:7400", "3com.example", 7400, false, false, false},
  {"xn--cole-9oa.example:7400", "xn--cole-9oa.example:7400", "xn--cole-9oa.example", 7400, false, false, false},
  {"a-b.c-d:7400", "a-b.c-d:7400", "a-b.c-d", 7400, false, false, false},
  {"192.0.2.10:7400", "192.0.2.10:7400", "192.0.2.10", 7400, false, true, false},
  {"0.0.0.1:7400", "0.0.0.1:7400", "0.0.0.1", 7400, false, true, false},
  {"255.255.255.255:9", "255.255.255.255:9", "255.255.255.255", 9, false, true, false},
  {"[2001:db8::1]:7400", "[2001:db8::1]:7400", "2001:db8::1", 7400, true, false, false},
  {"[2001:DB8:0:0:0:0:0:1]:7400", "[2001:db8::1]:7400", "2001:db8::1", 7400, true, false, false},
  {"[::1]:7400", "[::1]:7400", "::1", 7400, true, false, false},
  {"[::ffff:192.0.2.1]:7400", "[::ffff:192.0.2.1]:7400", "::ffff:192.0.2.1", 7400, true, false, false},
  {"school.example:007400", "school.example:7400", "school.example", 7400, false, false, false},
};

typedef struct bad {
  const char *in, *msg;
} bad;

static const bad peer_bad[] = {
  {"", "no address given"},
  {"   ", "no address given"},
  {"school.example", "\"school.example\": missing \":PORT\" (example: school.example:7400)"},
  {"school.example:", "port number is missing"},
  {"school.example:0", "not a number from 1 to 65535"},
  {"school.example:65536", "not a number from 1 to 65535"},
  {"school.example:99999999999999999999", "not a number from 1 to 65535"},
  {"school.example:-1", "not a number from 1 to 65535"},
  {"school.example:+80", "not a number from 1 to 65535"},
  {"school.example:74 00", "not a number from 1 to 65535"},
  {"school.example:http", "not a number from 1 to 65535"},
  {":7400", "the host is missing"},
  {"*:7400", "only for the listen setting"},
  {"0.0.0.0:7400", "0.0.0.0 means every address"},
  {"[::]:7400", "[::] means every address"},
  {"2001:db8::1:7400", "an IPv6 address goes in brackets"},
  {"[2001:db8::1]", "missing \":PORT\""},
  {"[2001:db8::1:7400", "missing ']'"},
  {"[2001:db8::1]7400", "expected ':' and the port after ']'"},
  {"[school.example]:7400", "brackets are only for IPv6"},
  {"[]:7400", "brackets are only for IPv6"},
  {"[2001:db8::g]:7400", "not a valid IPv6 address"},
  {"[fe80::1%eth0]:7400", "zone"},
  {"http://school.example:7400", "without a prefix such as http://"},
  {"amicale://school.example:7400", "without a prefix"},
  {"school_1.example:7400", "cannot contain '_'"},
  {"school example:7400", "cannot contain ' '"},
  {"école.example:7400", "non-ASCII"},
  {"-school.example:7400", "cannot start with '-'"},
  {"school-.example:7400", "cannot end with '-'"},
  {"school..example:7400", "empty part"},
  {".school.example:7400", "empty part"},
  {".:7400", "empty part"},
  {"192.0.2:7400", "not a valid IPv4 address"},
  {"192.0.2.256:7400", "not a valid IPv4 address"},
  {"192.0.2.010:7400", "not a valid IPv4 address"},
  {"1.2.3.4.5:7400", "not a valid IPv4 address"},
  {"example.123:7400", "not a valid IPv4 address"},
  {"school\"x.example:7400", "only letters, digits"},
  {"school\x01.example:7400", "only letters, digits"},
};

static void check_good(const good *g, bool listen) {
  am_addr a;
  am_error err = {0};
  int rc = listen ? am_addr_parse_listen(g->in, &a, &err) : am_addr_parse(g->in, &a, &err);
  if (rc) fprintf(stderr, "  input \"%s\": %s\n", g->in, err.msg);
  REQUIRE(rc == 0);
  CHECK_STR(a.host, g->host);
  CHECK_INT(a.port, g->port);
  CHECK_INT(a.ipv6_literal, g->v6);
  CHECK_INT(a.ipv4_literal, g->v4);
  CHECK_INT(a.wildcard, g->wildcard);
  char text[AM_ADDR_TEXT_MAX + 1];
  CHECK_INT(am_addr_format(&a, text), strlen(g->text));
  CHECK_STR(text, g->text);
  /* The text form parses back to the same address. */
  am_addr b;
  CHECK_INT(listen ? am_addr_parse_listen(text, &b, NULL) : am_addr_parse(text, &b, NULL), 0);
  CHECK(memcmp(&a, &b, sizeof a) == 0);
}

static void check_bad(const bad *b, bool listen) {
  am_addr a;
  memset(&a, 0x55, sizeof a);
  am_addr before = a;
  am_error err = {0};
  int rc = listen ? am_addr_parse_listen(b->in, &a, &err) : am_addr_parse(b->in, &a, &err);
  CHECK_INT(rc, AM_EINVAL);
  if (!strstr(err.msg, b->msg)) {
    fprintf(stderr, "  input \"%s\": message \"%s\" lacks \"%s\"\n", b->in, err.msg, b->msg);
    CHECK(strstr(err.msg, b->msg) != NULL);
  }
  CHECK(memcmp(&a, &before, sizeof a) == 0); /* untouched on failure */
}

static void test_peer_addresses(void) {
  for (size_t i = 0; i < sizeof peer_good / sizeof *peer_good; i++) check_good(&peer_good[i], false);
  for (size_t i = 0; i < sizeof peer_bad / sizeof *peer_bad; i++) check_bad(&peer_bad[i], false);
}

static void test_listen_addresses(void) {
  static const good listen_good[] = {
    {"*:7400", "*:7400", "*", 7400, false, false, true},
    {"0.0.0.0:7400", "0.0.0.0:7400", "0.0.0.0", 7400, false, true, true},
    {"[::]:7401", "[::]:7401", "::", 7401, true, false, true},
    {"127.0.0.1:7400", "127.0.0.1:7400", "127.0.0.1", 7400, false, true, false},
    {"[::1]:7400", "[::1]:7400", "::1", 7400, true, false, false},
    {"localhost:7400", "localhost:7400", "localhost", 7400, false, false, false},
    /* Port 0: any free port, chosen by the system. */
    {"*:0", "*:0", "*", 0, false, false, true},
    {"127.0.0.1:00", "127.0.0.1:0", "127.0.0.1", 0, false, true, false},
  };
  for (size_t i = 0; i < sizeof listen_good / sizeof *listen_good; i++) check_good(&listen_good[i], true);
  /* Everything else a peer address refuses is refused here too. */
  for (size_t i = 0; i < sizeof peer_bad / sizeof *peer_bad; i++) {
    const char *in = peer_bad[i].in;
    if (!strcmp(in, "*:7400") || !strcmp(in, "0.0.0.0:7400") || !strcmp(in, "[::]:7400") ||
        !strcmp(in, "school.example:0"))
      continue;
    check_bad(&peer_bad[i], true);
  }
  static const bad listen_bad[] = {
    {"*", "missing \":PORT\""},
    {"*:000000", "not a number from 1 to 65535"},
    {"*:65536", "not a number from 1 to 65535"},
    {"**:7400", "cannot contain '*'"},
  };
  for (size_t i = 0; i < sizeof listen_bad / sizeof *listen_bad; i++) check_bad(&listen_bad[i], true);
}

static void test_lengths(void) {
  char in[600], label[64];
  am_addr a;
  am_error err = {0};
  memset(label, 'a', 63);
  label[63] = '\0';
  /* 63-byte labels are fine, 64 are not. */
  snprintf(in, sizeof in, "%s.example:7400", label);
  CHECK_INT(am_addr_parse(in, &a, &err), 0);
  snprintf(in, sizeof in, "a%s.example:7400", label);
  CHECK_INT(am_addr_parse(in, &a, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "at most 63 characters") != NULL);
  /* 253 bytes of name (four 63-byte labels minus one byte), then 254. */
  snprintf(in, sizeof in, "%s.%s.%s.%.61s:7400", label, label, label, label);
  CHECK_INT(am_addr_parse(in, &a, &err), 0);
  CHECK_INT(strlen(a.host), 253);
  char text[AM_ADDR_TEXT_MAX + 1];
  am_addr_format(&a, text);
  CHECK_INT(strlen(text), 253 + 5);
  snprintf(in, sizeof in, "%s.%s.%s.%.62s:7400", label, label, label, label);
  CHECK_INT(am_addr_parse(in, &a, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "at most 253 characters") != NULL);
  /* The message quotes a long input cut short. */
  CHECK(strstr(err.msg, "...") != NULL);
  CHECK(strlen(err.msg) < 200);
  /* The longest text form fits AM_ADDR_TEXT_MAX. */
  CHECK_INT(am_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", &a, &err), 0);
  CHECK(am_addr_format(&a, text) <= AM_ADDR_TEXT_MAX);
  CHECK_INT(am_addr_parse(NULL, &a, &err), AM_EINVAL);
}

static void test_from_host(void) {
  am_addr a;
  am_error err = {0};
  CHECK_INT(am_addr_from_host("School.Example", 14, 7400, &a, &err), 0);
  CHECK_STR(a.host, "school.example");
  CHECK_INT(a.port, 7400);
  CHECK_INT(am_addr_from_host("2001:db8::1", 11, 9, &a, &err), 0);
  CHECK_INT(a.ipv6_literal, true);
  CHECK_STR(a.host, "2001:db8::1");
  CHECK_INT(am_addr_from_host("192.0.2.1", 9, 9, &a, &err), 0);
  CHECK_INT(a.ipv4_literal, true);
  CHECK_INT(am_addr_from_host("*", 1, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("::", 2, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("0.0.0.0", 7, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("a\0b", 3, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("", 0, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("[::1]", 5, 9, &a, &err), AM_EINVAL);
  CHECK_INT(am_addr_from_host("a", 1, 0, &a, &err), AM_EINVAL);
}

int main(void) {
  RUN(test_peer_addresses);
  RUN(test_listen_addresses);
  RUN(test_lengths);
  RUN(test_from_host);
  return TEST_SUMMARY();
}
