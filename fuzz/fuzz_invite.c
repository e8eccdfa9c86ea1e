/* libFuzzer target for the two parsers of typed-in text that reach the
 * peer tables: invitation codes (crypto/invite.c) and "HOST:PORT"
 * addresses (proto/address.c). Arbitrary bytes are refused or accepted,
 * never crash; what is accepted writes back to a text that reads the same
 * (code -> encode -> decode, address -> format -> parse). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/invite.h"
#include "proto/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)      \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void check_addr(const char *s, bool listen) {
  am_addr a, b;
  am_error err = {0};
  int rc = listen ? am_addr_parse_listen(s, &a, &err) : am_addr_parse(s, &a, &err);
  if (rc) {
    ASSERT(rc == AM_EINVAL && err.msg[0]);
    return;
  }
  ASSERT(a.port >= 1 || listen); /* listen: 0 asks for any free port */
  ASSERT(strlen(a.host) >= 1 && strlen(a.host) <= AM_HOST_MAX);
  ASSERT(listen || !a.wildcard);
  char text[AM_ADDR_TEXT_MAX + 1];
  size_t n = am_addr_format(&a, text);
  ASSERT(n == strlen(text) && n <= AM_ADDR_TEXT_MAX);
  ASSERT((listen ? am_addr_parse_listen(text, &b, NULL) : am_addr_parse(text, &b, NULL)) == 0);
  ASSERT(memcmp(&a, &b, sizeof a) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0'; /* text up to the first NUL, as a C string holds it */
  check_addr(s, false);
  check_addr(s, true);
  am_invite_code c, d;
  am_error err = {0};
  int rc = am_invite_code_decode(s, &c, &err);
  if (rc) {
    ASSERT((rc == AM_EINVAL || rc == AM_ENEWER) && err.msg[0]);
  } else {
    char text[AM_INVITE_CODE_MAX + 1];
    ASSERT(am_invite_code_encode(&c, text, NULL) == 0);
    ASSERT(strlen(text) <= AM_INVITE_CODE_MAX);
    ASSERT(am_invite_code_decode(text, &d, NULL) == 0);
    ASSERT(memcmp(&c, &d, sizeof c) == 0);
    am_invite_code_wipe(&d);
  }
  am_invite_code_wipe(&c);
  free(s);
  return 0;
}
