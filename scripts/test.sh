#!/usr/bin/env bash
# Vigil's whole test suite: installs missing Debian packages, builds into
# build/ (gcc, Release) and build-sanitize/ (clang, ASan + UBSan at -O1,
# asserts on, with the libFuzzer targets of tests/fuzz), and runs every test
# in both with ctest; in build-sanitize that includes a short run of each
# fuzz target (docs/fuzzing.md). Exits non-zero on any failure.
#
#   scripts/test.sh              both builds
#   VIGIL_SANITIZE=0 scripts/test.sh   the Release build only
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# The shared known-answer data sits beside the checkout (../shared). A
# clone made elsewhere (e.g. in a temporary directory) finds it beside the
# repository it was cloned from.
testdata=$(pwd)/../shared/testdata
if [ ! -d "$testdata" ]; then
  origin=$(git config --get remote.origin.url 2>/dev/null || true)
  if [ -n "$origin" ] && [ -d "$origin/../shared/testdata" ]; then
    testdata=$(cd "$origin/../shared/testdata" && pwd)
  fi
fi

jobs=$(nproc)
run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DVIGIL_TESTDATA_DIR="$testdata" "$@" \
    >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600
}

echo "== Release build and tests"
run_suite build -DCMAKE_BUILD_TYPE=Release

if [ "${VIGIL_SANITIZE:-1}" != 0 ]; then
  echo "== clang ASan + UBSan build, tests and fuzz targets"
  # clang, so that the same build also fuzzes every parser (VIGIL_FUZZ).
  # Naming the compiler also converts a build-sanitize/ configured with g++.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-sanitize -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 \
      -DCMAKE_CXX_COMPILER=clang++ -DVIGIL_SANITIZE=ON -DVIGIL_FUZZ=ON \
      -DVIGIL_BUILD_BENCH=OFF
fi
