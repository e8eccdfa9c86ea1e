/* libFuzzer target for the member store codec (proto/member.c): decodes
 * arbitrary bytes and, when they decode, re-encodes the record, decodes it
 * again and aborts unless both records are the same field by field (text
 * forms, emptiness, visibility, id and timestamps) and a second encoding
 * gives the same bytes as the first. Refusals must be clean: AM_ECORRUPT or
 * AM_ENEWER with a message, and an empty record left behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/member.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c)      \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static bool all_empty(const am_member *m) {
  for (int f = 0; f < AM_F__COUNT; f++)
    if (!am_member_is_empty(m, f)) return false;
  return true;
}

static void check_same(const am_member *a, const am_member *b) {
  ASSERT(a->id == b->id && a->created == b->created && a->updated == b->updated);
  ASSERT(memcmp(a->vis, b->vis, sizeof a->vis) == 0);
  for (int f = 0; f < AM_F__COUNT; f++) {
    am_buf x = {0}, y = {0};
    ASSERT(am_member_format(a, f, &x) == 0);
    ASSERT(am_member_format(b, f, &y) == 0);
    ASSERT(x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0));
    ASSERT(am_member_is_empty(a, f) == am_member_is_empty(b, f));
    am_buf_free(&x);
    am_buf_free(&y);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  am_member a, b;
  am_error err = {0, ""};
  int rc = am_member_decode(data, size, &a, &err);
  if (rc != 0) {
    ASSERT(rc == AM_ECORRUPT || rc == AM_ENEWER || rc == AM_ENOMEM);
    ASSERT(rc == AM_ENOMEM || (err.code == rc && err.msg[0]));
    ASSERT(all_empty(&a));
    am_member_free(&a);
    return 0;
  }
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) ASSERT(a.vis[f] <= AM_VIS_FEDERATION);

  am_buf e1 = {0}, e2 = {0};
  ASSERT(am_member_encode(&a, &e1) == 0);
  ASSERT(am_member_decode((const uint8_t *)e1.data, e1.len, &b, NULL) == 0);
  check_same(&a, &b);
  ASSERT(am_member_encode(&b, &e2) == 0);
  ASSERT(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);

  am_buf_free(&e1);
  am_buf_free(&e2);
  am_member_free(&b);
  am_member_free(&a);
  return 0;
}
