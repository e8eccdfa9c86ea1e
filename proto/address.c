/* "HOST:PORT" addresses (see address.h). IPv6 literals are checked and put
 * in their compressed form by inet_pton/inet_ntop (no name resolution
 * happens: those two only convert text). Host names follow RFC 1123: the
 * last label of a name is never all digits, so "10.1.2" or "192.168.1.300"
 * is a mistyped IPv4 address, not a name. */
#include "proto/address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define QUOTE_MAX 80 /* bytes of the input an error message repeats */

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The input as an error message repeats it: cut to QUOTE_MAX bytes,
 * control characters and quotes shown as '?'. */
static void quote(const char *s, size_t len, char out[static QUOTE_MAX + 4]) {
  size_t n = len > QUOTE_MAX ? QUOTE_MAX : len, o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
  }
  if (n < len) out[o++] = '.', out[o++] = '.', out[o++] = '.';
  out[o] = '\0';
}

/* Strict dotted quad: four decimal numbers 0..255, no sign, no leading
 * zero (inet_aton would read "010" as octal 8: an administrator who typed
 * it meant something else). */
static bool ipv4_strict(const char *h, size_t len) {
  int parts = 0;
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    unsigned v = 0;
    while (i < len && is_digit(h[i]) && i - start < 4) v = v * 10 + (unsigned)(h[i++] - '0');
    size_t n = i - start;
    if (n == 0 || n > 3 || v > 255 || (n > 1 && h[start] == '0')) return false;
    parts++;
    if (i == len) break;
    if (h[i] != '.' || parts == 4) return false;
    i++;
    if (i == len) return false; /* trailing dot */
  }
  return parts == 4;
}

/* Checks host h[0..len) (no brackets). q is the quoted whole input for
 * messages, ex an example of the right form. */
static int check_host(const char *h, size_t len, bool listen, am_addr *out,
                      const char *q, am_error *err) {
  out->ipv6_literal = out->ipv4_literal = out->wildcard = false;
  if (len == 0)
    return am_fail(err, AM_EINVAL, "\"%s\": the host is missing before \":PORT\" (example: school.example:%d)",
                   q, AM_DEFAULT_PORT);
  if (len == 1 && h[0] == '*') {
    if (!listen)
      return am_fail(err, AM_EINVAL,
                     "\"%s\": '*' (every address) is only for the listen setting; give the host name or IP "
                     "address other nodes can reach (example: school.example:%d)", q, AM_DEFAULT_PORT);
    strcpy(out->host, "*");
    out->wildcard = true;
    return 0;
  }
  if (memchr(h, ':', len)) {
    char buf[64], canon[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    if (memchr(h, '%', len))
      return am_fail(err, AM_EINVAL,
                     "\"%s\": an IPv6 address with a zone (%%eth0) only works on one machine; give a "
                     "global address or a host name", q);
    if (len >= sizeof buf) goto bad6;
    memcpy(buf, h, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET6, buf, &a6) != 1 || !inet_ntop(AF_INET6, &a6, canon, sizeof canon)) goto bad6;
    if (IN6_IS_ADDR_UNSPECIFIED(&a6)) {
      if (!listen)
        return am_fail(err, AM_EINVAL, "\"%s\": [::] means every address of this machine; other nodes "
                       "need a real address or host name", q);
      out->wildcard = true;
    }
    strcpy(out->host, canon);
    out->ipv6_literal = true;
    return 0;
  bad6:
    return am_fail(err, AM_EINVAL, "\"%s\": not a valid IPv6 address (example: [2001:db8::1]:%d)", q,
                   AM_DEFAULT_PORT);
  }
  /* One final dot is the DNS root ("school.example."): the same name. */
  if (len > 1 && h[len - 1] == '.') len--;
  if (len > AM_HOST_MAX)
    return am_fail(err, AM_EINVAL, "\"%s\": a host name is at most %d characters", q, AM_HOST_MAX);
  /* The last label decides between a name and an IPv4 address. */
  size_t last = len;
  while (last > 0 && h[last - 1] != '.') last--;
  bool numeric_tld = last < len;
  for (size_t i = last; i < len; i++)
    if (!is_digit(h[i])) numeric_tld = false;
  if (numeric_tld) {
    if (!ipv4_strict(h, len))
      return am_fail(err, AM_EINVAL,
                     "\"%s\": not a valid IPv4 address (four numbers from 0 to 255 without leading "
                     "zeros, example: 192.0.2.10:%d)", q, AM_DEFAULT_PORT);
    memcpy(out->host, h, len);
    out->host[len] = '\0';
    out->ipv4_literal = true;
    if (strcmp(out->host, "0.0.0.0") == 0) {
      if (!listen)
        return am_fail(err, AM_EINVAL, "\"%s\": 0.0.0.0 means every address of this machine; other "
                       "nodes need a real address or host name", q);
      out->wildcard = true;
    }
    return 0;
  }
  size_t label = 0;
  for (size_t i = 0; i <= len; i++) {
    char c = i < len ? h[i] : '.';
    if (c == '.') {
      if (label == 0)
        return am_fail(err, AM_EINVAL, "\"%s\": the host name has an empty part (two dots in a row, "
                       "or a dot at the start)", q);
      if (h[i - 1] == '-')
        return am_fail(err, AM_EINVAL, "\"%s\": a part of a host name cannot end with '-'", q);
      label = 0;
      continue;
    }
    if ((unsigned char)c >= 0x80)
      return am_fail(err, AM_EINVAL,
                     "\"%s\": the host name has non-ASCII characters; write an internationalised "
                     "name in its ASCII form (xn--...)", q);
    if (!is_alpha(c) && !is_digit(c) && c != '-') {
      if ((unsigned char)c < 0x20 || c == 0x7f || c == '"')
        return am_fail(err, AM_EINVAL, "\"%s\": a host name has only letters, digits, '-' and dots", q);
      return am_fail(err, AM_EINVAL, "\"%s\": a host name cannot contain '%c' (only letters, digits, "
                     "'-' and dots)", q, c);
    }
    if (label == 0 && c == '-')
      return am_fail(err, AM_EINVAL, "\"%s\": a part of a host name cannot start with '-'", q);
    if (++label > 63)
      return am_fail(err, AM_EINVAL, "\"%s\": a part of a host name (between dots) is at most 63 "
                     "characters", q);
  }
  for (size_t i = 0; i < len; i++)
    out->host[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] - 'A' + 'a') : h[i];
  out->host[len] = '\0';
  return 0;
}

/* Port 0 is allowed only where allow_zero says so: in a listen address it
 * asks the system for any free port (tests, and nodes that only dial). */
static int parse_port(const char *p, size_t len, bool allow_zero, uint16_t *port,
                      const char *q, am_error *err) {
  unsigned long v = 0;
  if (len == 0)
    return am_fail(err, AM_EINVAL, "\"%s\": the port number is missing after ':' (example: "
                   "school.example:%d)", q, AM_DEFAULT_PORT);
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(p[i]) || v > 65535) {
      v = 0;
      break;
    }
    v = v * 10 + (unsigned long)(p[i] - '0');
  }
  bool digits = len > 0;
  for (size_t i = 0; i < len; i++) digits &= is_digit(p[i]);
  if (v == 0 && allow_zero && digits && len <= 5) {
    *port = 0;
    return 0;
  }
  if (v < 1 || v > 65535) {
    char pq[QUOTE_MAX + 4];
    quote(p, len, pq);
    return am_fail(err, AM_EINVAL, "\"%s\": the port \"%s\" is not a number from 1 to 65535", q, pq);
  }
  *port = (uint16_t)v;
  return 0;
}

static int parse(const char *text, bool listen, am_addr *out, am_error *err) {
  am_addr a = {0};
  if (!text) text = "";
  size_t len = strlen(text);
  while (len && is_space(text[len - 1])) len--;
  while (len && is_space(*text)) text++, len--;
  char q[QUOTE_MAX + 4];
  quote(text, len, q);
  if (len == 0)
    return am_fail(err, AM_EINVAL, "no address given (expected HOST:PORT, example: school.example:%d)",
                   AM_DEFAULT_PORT);
  const char *scheme = NULL;
  for (size_t i = 0; i + 2 < len && !scheme; i++)
    if (text[i] == ':' && text[i + 1] == '/' && text[i + 2] == '/') scheme = text + i;
  if (scheme)
    return am_fail(err, AM_EINVAL, "\"%s\": give only HOST:PORT, without a prefix such as "
                   "http:// (example: school.example:%d)", q, AM_DEFAULT_PORT);
  const char *host, *port;
  size_t hlen, plen;
  if (text[0] == '[') {
    const char *close = memchr(text, ']', len);
    if (!close)
      return am_fail(err, AM_EINVAL, "\"%s\": missing ']' after the IPv6 address (example: "
                     "[2001:db8::1]:%d)", q, AM_DEFAULT_PORT);
    host = text + 1, hlen = (size_t)(close - host);
    size_t rest = len - (size_t)(close + 1 - text);
    if (rest == 0)
      return am_fail(err, AM_EINVAL, "\"%s\": missing \":PORT\" (example: %s:%d)", q, q,
                     AM_DEFAULT_PORT);
    if (close[1] != ':')
      return am_fail(err, AM_EINVAL, "\"%s\": expected ':' and the port after ']' (example: "
                     "[2001:db8::1]:%d)", q, AM_DEFAULT_PORT);
    port = close + 2, plen = rest - 1;
    if (hlen == 0 || !memchr(host, ':', hlen))
      return am_fail(err, AM_EINVAL, "\"%s\": brackets are only for IPv6 addresses (example: "
                     "[2001:db8::1]:%d)", q, AM_DEFAULT_PORT);
  } else {
    const char *colon = NULL;
    size_t colons = 0;
    for (size_t i = 0; i < len; i++)
      if (text[i] == ':') colon = text + i, colons++;
    if (colons == 0)
      return am_fail(err, AM_EINVAL, "\"%s\": missing \":PORT\" (example: %s:%d)", q, q,
                     AM_DEFAULT_PORT);
    if (colons > 1)
      return am_fail(err, AM_EINVAL, "\"%s\": an IPv6 address goes in brackets, before the port "
                     "(example: [2001:db8::1]:%d)", q, AM_DEFAULT_PORT);
    host = text, hlen = (size_t)(colon - text);
    port = colon + 1, plen = len - hlen - 1;
  }
  int rc = parse_port(port, plen, listen, &a.port, q, err);
  if (!rc) rc = check_host(host, hlen, listen, &a, q, err);
  if (rc) return rc;
  *out = a;
  return 0;
}

int am_addr_parse(const char *text, am_addr *out, am_error *err) {
  return parse(text, false, out, err);
}

int am_addr_parse_listen(const char *text, am_addr *out, am_error *err) {
  return parse(text, true, out, err);
}

int am_addr_from_host(const char *host, size_t len, uint16_t port, am_addr *out,
                      am_error *err) {
  am_addr a = {0};
  char q[QUOTE_MAX + 4];
  quote(host, len, q);
  if (memchr(host, '\0', len))
    return am_fail(err, AM_EINVAL, "\"%s\": a host name has only letters, digits, '-' and dots", q);
  if (port == 0) return am_fail(err, AM_EINVAL, "\"%s\": port 0 is not a port", q);
  int rc = check_host(host, len, false, &a, q, err);
  if (rc) return rc;
  a.port = port;
  *out = a;
  return 0;
}

size_t am_addr_format(const am_addr *a, char out[static AM_ADDR_TEXT_MAX + 1]) {
  int n = snprintf(out, AM_ADDR_TEXT_MAX + 1, a->ipv6_literal ? "[%s]:%u" : "%s:%u", a->host,
                   (unsigned)a->port);
  return n < 0 ? 0 : (size_t)n > AM_ADDR_TEXT_MAX ? AM_ADDR_TEXT_MAX : (size_t)n;
}
