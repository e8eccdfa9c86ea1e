/* Peer addresses as people type them: "HOST:PORT", where HOST is a host
 * name (RFC 1123 labels: letters, digits and '-', at most 253 bytes; stored
 * in lower case), an IPv4 dotted quad, or an IPv6 address in brackets
 * ("[2001:db8::1]:7400"). The port is required (1 to 65535): an address
 * given to another node must say exactly where to connect. Only the
 * listen setting has a default port (AM_DEFAULT_PORT) and accepts the
 * wildcards "*", "0.0.0.0" and "[::]". Parsing does no name resolution
 * (that is the daemon's job, when it connects). Errors quote the input
 * and show an example, for an administrator who mistyped. */
#ifndef AMICALE_PROTO_ADDRESS_H
#define AMICALE_PROTO_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

#define AM_DEFAULT_PORT 7400
#define AM_HOST_MAX 253 /* bytes of a host name (DNS limit), or an IP literal */
/* "[" host "]" ":" 5-digit port: the longest text form. */
#define AM_ADDR_TEXT_MAX (AM_HOST_MAX + 2 + 1 + 5)

typedef struct am_addr {
  char host[AM_HOST_MAX + 1]; /* lower case; an IPv6 literal without brackets,
                                 in its compressed form (inet_ntop); "*" for
                                 every address (listen only) */
  uint16_t port;              /* 1..65535 */
  bool ipv6_literal;          /* host is an IPv6 address */
  bool ipv4_literal;          /* host is an IPv4 dotted quad */
  bool wildcard;              /* "*", "0.0.0.0" or "::" (listen only) */
} am_addr;

/* Parses "HOST:PORT" (surrounding ASCII white space ignored). AM_EINVAL
 * with a message quoting the input, e.g.
 *   "school.example": missing ":PORT" (example: school.example:7400)
 * Wildcard addresses are refused: other nodes cannot connect to them. */
int am_addr_parse(const char *text, am_addr *out, am_error *err);

/* The listen setting: as am_addr_parse, with port 0 allowed (any free
 * port, chosen by the system), and also "*:PORT" (every address,
 * IPv4 and IPv6), "0.0.0.0:PORT" (every IPv4 address) and "[::]:PORT"
 * (every IPv6 address). */
int am_addr_parse_listen(const char *text, am_addr *out, am_error *err);

/* Checks a host alone (host[0..len), no brackets, no port) and fills
 * out->host and the literal flags; out->port is set to port. Used for the
 * host of an invitation code, which carries host and port apart. An IPv6
 * literal is recognised by its ':'. Wildcards are refused. */
int am_addr_from_host(const char *host, size_t len, uint16_t port, am_addr *out,
                      am_error *err);

/* Text form: "host:port", "[v6]:port" or "*:port"; out gets at most
 * AM_ADDR_TEXT_MAX bytes and a NUL. Returns the length. */
size_t am_addr_format(const am_addr *a, char out[static AM_ADDR_TEXT_MAX + 1]);

#endif
