#!/usr/bin/env bash
# The whole test suite: builds Amicale twice, plainly and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every ctest entry
# (unit tests, end-to-end tests of the real binary, fuzz-corpus replays) in
# both builds. Used by the README's test command and by .ci/run.
# Fuzz stage: build-fuzz (clang, libFuzzer + ASan/UBSan) runs the announcement,
# session and Noise fuzzers (2 minutes in all); any crash, leak or timeout fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run() {
  local dir=$1; shift
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMICALE_BENCH=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== $dir: tests"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

run build-test
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run build-asan -DAMICALE_SANITIZE=ON

# The fuzzer adds what it finds to the first corpus directory: a scratch
# copy, so the committed seeds (read from the second) are never modified.
# Crash, leak and timeout inputs are written to build-fuzz/ and make
# libFuzzer exit non-zero, which ends this script with a failure.
echo "== build-fuzz: configure and build (clang, libFuzzer, ASan + UBSan)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMICALE_BENCH=OFF \
  -DAMICALE_FUZZ=ON -DAMICALE_SANITIZE=ON >/dev/null
cmake --build build-fuzz -j "$jobs"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/amicale-fuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# Network-facing parsers get the time: announcements (60 s), the transport's
# session messages and the Noise handshake (30 s each).
for spec in announce:60 session:30 noise:30; do
  t=${spec%%:*} secs=${spec#*:}
  mkdir -p "$scratch/$t"
  cp fuzz/corpus/$t/* "$scratch/$t"/
  echo "== build-fuzz: fuzz_$t for $secs s"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/ "$scratch/$t" fuzz/corpus/$t
done
echo "== all tests passed (plain and sanitizer builds, two minutes of fuzzing)"
