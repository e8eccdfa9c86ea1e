/* A minimal test harness: every unit-test binary is a list of test functions
 * run from main() with RUN(); a failing CHECK prints file, line and the
 * expression, marks the current test failed, and the binary exits non-zero.
 * Each binary prints "N passed, N failed" as its last line. */
#ifndef AMICALE_TEST_H
#define AMICALE_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks __attribute__((unused));
static int test_passed __attribute__((unused)), test_failed __attribute__((unused));

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      test_failed_checks++;                                                  \
    }                                                                        \
  } while (0)

#define CHECK_INT(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                      \
    if (a_ != b_) {                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n",      \
              __FILE__, __LINE__, #a, #b, a_, b_);                           \
      test_failed_checks++;                                                  \
    }                                                                        \
  } while (0)

#define CHECK_STR(a, b)                                                      \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n",  \
              __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",                \
              b_ ? b_ : "(null)");                                           \
      test_failed_checks++;                                                  \
    }                                                                        \
  } while (0)

/* Stops the current test when a precondition for the rest of it fails. */
#define REQUIRE(cond)                                                        \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
      test_failed_checks++;                                                  \
      return;                                                                \
    }                                                                        \
  } while (0)

#define RUN(fn)                                                              \
  do {                                                                       \
    int before_ = test_failed_checks;                                        \
    fn();                                                                    \
    if (test_failed_checks == before_) {                                     \
      test_passed++;                                                         \
      printf("ok   %s\n", #fn);                                              \
    } else {                                                                 \
      test_failed++;                                                         \
      printf("FAIL %s\n", #fn);                                              \
    }                                                                        \
  } while (0)

#define TEST_SUMMARY()                                                       \
  (printf("%d passed, %d failed\n", test_passed, test_failed),               \
   test_failed ? EXIT_FAILURE : EXIT_SUCCESS)

#endif
