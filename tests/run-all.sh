#!/usr/bin/env bash
# The whole test suite: builds Amicale twice, plainly and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every ctest entry
# (unit tests, end-to-end tests of the real binary, fuzz-corpus replays) in
# both builds. Used by the README's test command and by .ci/run.
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
echo "== all tests passed (plain and sanitizer builds)"
