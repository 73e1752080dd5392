#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DVKSPAY_FUZZ=ON, ASan + UBSan) in
# build-fuzz (or $FUZZ_BUILD_DIR) and runs each for SECONDS (default 60),
# starting from its seed corpus in fuzz/corpus/<target>/. New inputs go to
# $FUZZ_BUILD_DIR/corpus/<target>/ (the checked-in seeds are only read); a
# crash stops that target and leaves crash-* in $FUZZ_BUILD_DIR/out/<target>/:
# copy it into fuzz/corpus/<target>/ under a name that says what it probes,
# and the replay ctest (fuzz_replay_<target>) keeps it fixed.
# Prints one line per target (executions, executions/s, seconds, result);
# exits 1 if any target crashed.
#
#   fuzz/run-fuzzers.sh                 # every target, 60 s each (~10 min)
#   fuzz/run-fuzzers.sh 3600            # nightly: an hour each
#   fuzz/run-fuzzers.sh 30 amount form  # some targets
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
ALL=(flat_json api_envelope signature amount form notify_ack fault_rule directive url_guard request_framing)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVKSPAY_FUZZ=ON -DVKSPAY_BUILD_TESTS=OFF -DVKSPAY_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-2}" "${TARGETS[@]/%/_fuzz}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
printf '%-14s %12s %10s %8s %8s  %s\n' target executions exec/s seconds corpus result
for t in "${TARGETS[@]}"; do
  out="$BUILD_DIR/out/$t"
  corpus="$BUILD_DIR/corpus/$t"
  mkdir -p "$out" "$corpus"
  start=$(date +%s)
  set +e
  (cd "$out" && "../../fuzz/${t}_fuzz" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "../../corpus/$t" "$OLDPWD/fuzz/corpus/$t") \
      >"$out/log.txt" 2>&1
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log.txt" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log.txt" | tail -1)
  files=$(ls "$corpus" | wc -l)
  if [ "$rc" -eq 0 ]; then
    result="0 crashes"
  else
    result="CRASH (exit $rc): $(ls "$out" | grep -E '^(crash|leak|timeout|oom)-' | head -1); see $out/log.txt"
    failed=1
  fi
  printf '%-14s %12s %10s %8s %8s  %s\n' "$t" "${runs:-?}" "${eps:-?}" "$secs" "$files" "$result"
done
exit $failed
