#!/usr/bin/env bash
# Builds the Debian package from the build tree (cpack -G DEB), checks its
# contents and dependencies, unpacks it with dpkg-deb -x into a temporary
# root and runs everything from the unpacked files only: the binaries'
# --version, the sandbox with a fault scenario from the package's share/, the
# server conformance suite, the CLI and its bash completion, a short
# vkspay-bench merchant run against the packaged reference handler, and
# protocol_bench. A file missing from the package fails here.
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$work"/pkg/vkspay-sandbox_*.deb 2>/dev/null | head -1)
[[ -n "$deb" ]] || { cat "$work/cpack.log"; fail "cpack wrote no vkspay-sandbox_*.deb"; }
echo "ok - built $(basename "$deb") ($(( $(stat -c %s "$deb") / 1024 )) KiB)"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/vkspay-sandbox /usr/bin/vkspay /usr/bin/vkspay-conformance /usr/bin/vkspay-bench \
         /usr/bin/vkspay-reference-handler /usr/share/vkspay-sandbox/faults/magic_amounts.json \
         /usr/share/vkspay-sandbox/faults/flaky-network.json \
         /usr/share/vkspay-sandbox/config/two-merchants.json \
         /usr/share/doc/vkspay-sandbox/README.md /usr/share/doc/vkspay-sandbox/docs/protocol.md \
         /usr/share/doc/vkspay-sandbox/docs/ci.md /usr/share/bash-completion/completions/vkspay; do
  grep -qxF "$f" <<<"$contents" || fail "the package has no $f"
done
echo "ok - the package holds the binaries, fault scenarios, sample config, docs and completion"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsqlite3 libssl libqrencode libstdc++; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
echo "ok - Depends: $depends"

root="$work/root"
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin"
for b in vkspay-sandbox vkspay vkspay-conformance vkspay-bench; do
  v=$("$bin/$b" --version) || fail "$b --version"
  [[ "$v" == "$b "* ]] || fail "$b --version printed: $v"
done
echo "ok - every binary runs from the unpacked package (--version)"

# The sandbox's default --faults-dir is the package's share/, not the source tree.
# (help captured first: grep -q stops reading at the match, and with pipefail
# the writer's SIGPIPE would fail the pipeline)
help=$("$bin/vkspay-sandbox" --help)
grep -qF "$root/usr/share/vkspay-sandbox/faults" <<<"$help" ||
  fail "vkspay-sandbox --help does not show the unpacked share/vkspay-sandbox/faults as the default --faults-dir"
"$bin/vkspay-sandbox" --listen 127.0.0.1:0 --db :memory: --quiet --control-token pkg-token \
  --fault-profile flaky-network >"$work/out" 2>"$work/err" &
pids+=($!)
for _ in $(seq 200); do grep -q "listening on" "$work/out" && break; sleep 0.05; done
base=$(grep -o 'http://[0-9.:]*' "$work/out" | head -1)
[[ -n "$base" ]] || { cat "$work/err"; fail "the packaged sandbox did not start with --fault-profile flaky-network"; }
echo "ok - the packaged sandbox starts with a scenario file from its share/ ($base)"

# The server conformance suite from the package, against a plain packaged sandbox.
"$bin/vkspay-sandbox" --listen 127.0.0.1:0 --db :memory: --quiet --control-token pkg-token \
  >"$work/out2" 2>"$work/err2" &
pids+=($!)
for _ in $(seq 200); do grep -q "listening on" "$work/out2" && break; sleep 0.05; done
base=$(grep -o 'http://[0-9.:]*' "$work/out2" | head -1)
[[ -n "$base" ]] || { cat "$work/err2"; fail "the packaged sandbox did not start"; }
"$bin/vkspay-conformance" server --wait 10 --base-url "$base" --control-url "$base" \
  --control-token pkg-token --junit "$work/server.xml" >"$work/conformance.txt" 2>&1 ||
  { tail -20 "$work/conformance.txt"; fail "vkspay-conformance server from the package"; }
tail -1 "$work/conformance.txt" | grep -qE '^[0-9]+ cases: [0-9]+ pass, [0-9]+ warn, 0 fail' ||
  fail "conformance summary: $(tail -1 "$work/conformance.txt")"
echo "ok - $(tail -1 "$work/conformance.txt")"

# The CLI and its completion.
out=$(VKSPAY_BASE_URL=$base "$bin/vkspay" --json webpay --total-fee 0.01 \
      --notify-url http://127.0.0.1:9/notify) || fail "packaged vkspay webpay"
[[ "$out" == *'"out_trade_no"'* ]] || fail "webpay printed: $out"
completion="$root/usr/share/bash-completion/completions/vkspay"
got=$(bash -c 'source "$1"; COMP_WORDS=(vkspay web); COMP_CWORD=1; _vkspay; echo "${COMPREPLY[@]}"' _ "$completion")
[[ "$got" == webpay ]] || fail "the packaged completion completes 'vkspay web' to [$got]"
echo "ok - packaged vkspay webpay and bash completion"

# vkspay-bench from the package: it must start the packaged sandbox (not the
# build tree's) and load the packaged reference handler.
"$bin/vkspay-reference-handler" --preset fast --port 0 >"$work/handler.out" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -qo "127.0.0.1:[0-9]*" "$work/handler.out" 2>/dev/null && break; sleep 0.05; done
hport=$(grep -o '127.0.0.1:[0-9]*' "$work/handler.out" | head -1 | cut -d: -f2)
[[ -n "$hport" ]] || { cat "$work/handler.out"; fail "the packaged reference handler did not start"; }
"$bin/vkspay-bench" --out-dir "$work/bench" merchant --notify-url "http://127.0.0.1:$hport/notify" \
  --rate 50 --count 100 --warmup 0 >"$work/bench.txt" 2>&1 ||
  { tail -20 "$work/bench.txt"; fail "packaged vkspay-bench merchant"; }
grep -q "$root/usr/bin/vkspay-sandbox" "$work"/bench/*.json ||
  fail "vkspay-bench did not run the packaged sandbox: $(grep -o '"sandbox[^,]*' "$work"/bench/*.json | head -3)"
echo "ok - packaged vkspay-bench merchant ran the packaged sandbox against the packaged handler"

if [[ -x "$root/usr/lib/vkspay-sandbox/protocol_bench" ]]; then
  "$root/usr/lib/vkspay-sandbox/protocol_bench" --benchmark_min_time=0.001 \
    --benchmark_filter=Sign >/dev/null 2>&1 || fail "packaged protocol_bench"
  echo "ok - packaged protocol_bench runs"
fi
echo "package ok"
