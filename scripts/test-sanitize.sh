#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (g++,
# -DVKSPAY_SANITIZE=ON), in its own build dir (build-asan, or $ASAN_BUILD_DIR).
# Any report fails the run: UBSan aborts (-fno-sanitize-recover), ASan halts
# on the first error, LeakSanitizer reports leaks at exit.
# scripts/test.sh runs it after the normal tests, so CI does; alone:
#   scripts/test-sanitize.sh [ctest args]      e.g. -R fuzz_replay
# To keep CI under its time budget the micro-benchmarks are not built and the
# headless-Chromium cashier and dashboard tests are not run here (it exercises the page, not
# memory safety; the normal run covers it). Figures: docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
# Debug (-O0 -g, asserts on): with ASan, g++ compiles -O2 about 3x slower than
# the normal -O2 build and -O0 slightly faster than it (measured per file,
# docs/reliability.md#sanitizers); the tests are short, so -O0 is what fits CI.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Debug}" \
  -DVKSPAY_SANITIZE=ON -DVKSPAY_BUILD_TESTS=ON -DVKSPAY_BUILD_BENCH=OFF -DVKSPAY_WERROR=ON \
  "${launcher[@]}" >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-2}"
built=$(date +%s)

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 -E '^(cashier|dashboard)_browser_test$' "$@"
echo "sanitizer run: build $((built - start)) s, tests $(( $(date +%s) - built )) s"
