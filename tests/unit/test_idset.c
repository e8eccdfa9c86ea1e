/* node/idset.c: the short-id sets of replication, against a plain array
 * model: adds, removes (tombstones), growth, the bound, clear. */
#include "node/idset.h"

#include "tests/test.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}
static void sid_of(uint8_t sid[16], uint64_t n) {
  memset(sid, 0, 16);
  memcpy(sid, &n, 8);
  sid[15] = (uint8_t)(n * 31);
}

static void test_model(void) {
  enum { N = 5000 };
  static bool in[N];
  am_idset s;
  am_idset_init(&s, 1u << 20);
  for (int round = 0; round < 60000; round++) {
    uint64_t k = next() % N;
    uint8_t sid[16];
    sid_of(sid, k);
    if (next() % 3) {
      CHECK(am_idset_add(&s, sid));
      in[k] = true;
    } else {
      am_idset_remove(&s, sid);
      in[k] = false;
    }
  }
  size_t n = 0;
  for (uint64_t k = 0; k < N; k++) {
    uint8_t sid[16];
    sid_of(sid, k);
    CHECK_INT(am_idset_has(&s, sid), in[k]);
    n += in[k];
  }
  CHECK_INT(s.n, n);
  /* Ids that were never added are not found, even with a shared prefix. */
  for (uint64_t k = N; k < N + 1000; k++) {
    uint8_t sid[16];
    sid_of(sid, k);
    CHECK(!am_idset_has(&s, sid));
  }
  am_idset_clear(&s);
  CHECK_INT(s.n, 0);
  uint8_t sid[16];
  sid_of(sid, 1);
  CHECK(!am_idset_has(&s, sid));
  am_idset_free(&s);
}

static void test_bound(void) {
  am_idset s;
  am_idset_init(&s, 100);
  uint8_t sid[16];
  for (uint64_t k = 0; k < 100; k++) {
    sid_of(sid, k);
    CHECK(am_idset_add(&s, sid));
  }
  sid_of(sid, 100);
  CHECK(!am_idset_add(&s, sid)); /* full: refused, not held */
  CHECK(!am_idset_has(&s, sid));
  sid_of(sid, 5);
  CHECK(am_idset_add(&s, sid)); /* already held: still true */
  am_idset_remove(&s, sid);
  sid_of(sid, 100);
  CHECK(am_idset_add(&s, sid)); /* room again */
  CHECK_INT(s.n, 100);
  am_idset_free(&s);
  /* An empty set answers without a table. */
  am_idset e;
  am_idset_init(&e, 10);
  CHECK(!am_idset_has(&e, sid));
  am_idset_remove(&e, sid);
  am_idset_free(&e);
}

int main(void) {
  RUN(test_model);
  RUN(test_bound);
  return TEST_SUMMARY();
}
