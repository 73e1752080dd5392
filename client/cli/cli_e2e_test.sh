#!/usr/bin/env bash
# End to end through the installed-style binaries, as the README shows it:
# start vkspay-sandbox, then vkspay webpay -> pay -> query -> refunds -> refund-query,
# then orders, refunds, pay of a magic amount, reset, listen --json.
#   cli_e2e_test.sh <vkspay-sandbox> <vkspay>
set -euo pipefail
SANDBOX=$1
VKSPAY=$2
work=$(mktemp -d)
"$SANDBOX" --listen 127.0.0.1:0 --db "$work/sandbox.db" --quiet >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/out" && break; sleep 0.05; done
base=$(grep -o 'http://[0-9.:]*' "$work/out" | head -1)
[[ -n "$base" ]] || { echo "sandbox did not start"; cat "$work/err"; exit 1; }
export VKSPAY_BASE_URL=$base
fail() { echo "FAIL: $*"; exit 1; }

out=$("$VKSPAY" --json webpay --total-fee 1.00 --notify-url http://127.0.0.1:9/notify --subject "CLI 测试")
no=$(printf '%s' "$out" | sed -n 's/.*"out_trade_no":"\([^"]*\)".*/\1/p')
[[ -n "$no" ]] || fail "webpay printed no out_trade_no: $out"
echo "ok - webpay created $no"

set +e; "$VKSPAY" query "$no" >/dev/null; rc=$?; set -e
[[ $rc -eq 3 ]] || fail "query of an unpaid order should exit 3, got $rc"
echo "ok - unpaid query exits 3"

"$VKSPAY" pay "$no" --channel alipay >/dev/null || fail "pay"
"$VKSPAY" query "$no" | grep -q SUCCESS || fail "query after pay does not show SUCCESS"
echo "ok - pay then query shows SUCCESS"

r1=$("$VKSPAY" --json refund "$no" --refund-fee 0.30)
rno=$(printf '%s' "$r1" | sed -n 's/.*"out_refund_no":"\([^"]*\)".*/\1/p' | head -1)
[[ "$rno" == R* ]] || fail "refund printed no out_refund_no: $r1"
"$VKSPAY" refund "$no" --refund-fee 0.70 >/dev/null || fail "second partial refund"
set +e; err=$("$VKSPAY" refund "$no" --refund-fee 0.01 2>&1 >/dev/null); rc=$?; set -e
[[ $rc -eq 1 && "$err" == *REFUND_EXCEEDS_PAID* ]] || fail "over-refund: rc=$rc err=$err"
echo "ok - partial refunds add up; over-refund refused"

"$VKSPAY" refund-query "$no" "$rno" | grep -q "$rno" || fail "refund-query"
echo "ok - refund-query finds $rno"

"$VKSPAY" sign method=webpay merchantno=10001 notify_url=http://127.0.0.1:9000/notify \
  signaturenonce=12345678 --number total_fee total_fee=0.01 --number timestamp timestamp=1700000000 \
  version=2.0 | grep -q de963e0b40918ea7417e4c229c6f6de0 || fail "vkspay sign known answer"
echo "ok - vkspay sign gives the known answer"

# Restart keeps the order.
kill "$pid"; wait "$pid" || true
"$SANDBOX" --listen 127.0.0.1:0 --db "$work/sandbox.db" --quiet >"$work/out2" 2>>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/out2" && break; sleep 0.05; done
export VKSPAY_BASE_URL=$(grep -o 'http://[0-9.:]*' "$work/out2" | head -1)
"$VKSPAY" query "$no" | grep -q REFUND || fail "after restart the order is not REFUND"
echo "ok - restart keeps the order (status REFUND)"

# The control API subcommands against the real sandbox.
"$VKSPAY" orders --status REFUND | grep -q "^$no  *REFUND  *1  *1 " || fail "orders: $("$VKSPAY" orders)"
[[ $("$VKSPAY" refunds "$no" | grep -c '^R') -eq 2 ]] || fail "refunds: $("$VKSPAY" refunds "$no")"
echo "ok - orders and refunds list them"
out=$("$VKSPAY" --json webpay --total-fee 1001.01 --notify-url http://127.0.0.1:9/notify)
no2=$(printf '%s' "$out" | sed -n 's/.*"out_trade_no":"\([^"]*\)".*/\1/p')
set +e; "$VKSPAY" pay "$no2" >/dev/null 2>"$work/pay.err"; rc=$?; set -e
[[ $rc -eq 3 ]] && grep -q "not SUCCESS" "$work/pay.err" || fail "pay of magic amount 1001.01 should exit 3, got $rc: $(cat "$work/pay.err")"
echo "ok - pay that the sandbox failed exits 3"
"$VKSPAY" reset | grep -q deleted || fail "reset"
[[ $("$VKSPAY" orders) == "no orders" ]] || fail "orders after reset: $("$VKSPAY" orders)"
echo "ok - reset empties the sandbox"

# listen --json: stdout is JSON only (the ready line is on stderr).
"$VKSPAY" listen --port 0 --json >"$work/listen.out" 2>"$work/listen.err" &
lpid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/listen.err" && break; sleep 0.05; done
kill -TERM "$lpid"; wait "$lpid" || fail "listen exit status"
grep -q "listening on" "$work/listen.err" || fail "listen --json ready line not on stderr"
[[ $(head -c1 "$work/listen.out") == "{" ]] || fail "listen --json stdout: $(cat "$work/listen.out")"
echo "ok - listen --json keeps stdout JSON"

# Nothing listening: CONNECT_ERROR, exit 4.
set +e; err=$(VKSPAY_BASE_URL=http://127.0.0.1:1 "$VKSPAY" query X 2>&1); rc=$?; set -e
[[ $rc -eq 4 && "$err" == *CONNECT_ERROR*"is the sandbox running?"* ]] || fail "unreachable: rc=$rc err=$err"
echo "ok - unreachable sandbox exits 4 with CONNECT_ERROR"
echo "all CLI end-to-end checks passed"
