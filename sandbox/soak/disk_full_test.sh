#!/usr/bin/env bash
# Disk full during payments and refunds.
#
#   disk_full_test.sh <vkspay-sandbox> <vkspay CLI>
#
# In a private mount namespace (unshare -m, as root) a small tmpfs holds the
# sandbox's database. The test makes a few orders, payments and refunds, fills
# the tmpfs to the last byte, and keeps paying, refunding and creating orders.
# Every answer must be SUCCESS or a clear FAIL SYSTEM_ERROR (never a hang, a
# crash or another answer); afterwards every order, payment and refund the
# answers called successful is there and every one they called failed is
# not (no partial state), while the disk is still full and again after a
# restart. Then the filler is deleted: the same calls succeed, PRAGMA
# integrity_check is ok, a restart keeps everything.
#
# Exit 0: passed. 77: skipped (not root, unshare/mount not permitted, no
# sqlite3 CLI), with the reason. 1: failed, with what.
set -euo pipefail

SANDBOX=${1:?usage: disk_full_test.sh <vkspay-sandbox> <vkspay>}
CLI=${2:?usage: disk_full_test.sh <vkspay-sandbox> <vkspay>}
SKIP=77

skip() { echo "SKIP: $*"; exit "$SKIP"; }
fail() {
  echo "FAIL: $*" >&2
  # What the sandbox said and what the disk held, to explain the failure.
  if [[ -n "${LOG:-}" && -s "$LOG" ]]; then echo "--- sandbox log (last 20 lines)" >&2; tail -20 "$LOG" >&2; fi
  if [[ -n "${MNT:-}" ]]; then ls -la "$MNT" >&2 || true; df -k "$MNT" >&2 || true; fi
  exit 1
}

if [[ -z "${VKSPAY_DISK_FULL_INNER:-}" ]]; then
  [[ $(id -u) -eq 0 ]] || skip "needs root for unshare -m and mount -t tmpfs (uid $(id -u))"
  command -v unshare >/dev/null || skip "no unshare command (util-linux)"
  command -v sqlite3 >/dev/null || skip "no sqlite3 CLI for PRAGMA integrity_check (apt-get install sqlite3)"
  unshare -m true 2>/dev/null || skip "unshare -m is not permitted here (container without CAP_SYS_ADMIN?)"
  # The private namespace: the tmpfs is invisible outside and goes away with us.
  exec unshare -m env VKSPAY_DISK_FULL_INNER=1 timeout 150 bash "$0" "$@"
fi

MNT=$(mktemp -d /tmp/vkspay-disk-full.XXXXXX)
LOG=$(mktemp /tmp/vkspay-disk-full-log.XXXXXX)
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  umount "$MNT" 2>/dev/null || true
  rmdir "$MNT" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT
mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs -o size=4m tmpfs "$MNT" 2>/dev/null || skip "mount -t tmpfs is not permitted here"
DB=$MNT/sandbox.db

start() {
  : >"$LOG"
  "$SANDBOX" --listen 127.0.0.1:0 --db "$DB" --quiet --seed 7 --notify-profile fast >"$LOG" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    if grep -q "ready: listening on" "$LOG"; then
      # From the ready line: delivery log lines (http://127.0.0.1:9/n) may come first.
      BASE=$(grep "ready: listening on" "$LOG" | grep -o 'http://127\.0\.0\.1:[0-9]*' | head -1)
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "the sandbox exited at start-up"; }
    sleep 0.1
  done
  cat "$LOG" >&2
  fail "the sandbox did not print its ready line within 10 s"
}
stop() {
  kill -TERM "$PID"
  for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PID" 2>/dev/null && fail "the sandbox did not stop within 10 s of SIGTERM"
  wait "$PID" 2>/dev/null || true
  PID=""
}
alive() {
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "the sandbox died ($1)"; }
}

# One call: prints OK, FAIL:<err_code> or BAD:<what came back>.
call() {
  local out
  out=$("$CLI" --base-url "$BASE" --json --timeout 10 "$@" 2>&1 || true)
  if [[ "$out" == *'"return_code":"SUCCESS"'* || "$out" == *'"ok":true'* ]]; then
    echo OK
  elif [[ "$out" =~ \"err_code\":\"([A-Z_]+)\" ]]; then
    echo "FAIL:${BASH_REMATCH[1]}"
  else
    echo "BAD:${out:0:300}"
  fi
}
webpay() { call webpay --total-fee 1.00 --notify-url http://127.0.0.1:9/n --out-trade-no "$1"; }
pay() { call pay "$1" --channel wxpay; }
refund() { call refund "$1" --refund-fee 0.01 --out-refund-no "$2"; }
# SUCCESS, NOTPAY, REFUND, ... or NONE when the order does not exist.
status() {
  local out
  out=$("$CLI" --base-url "$BASE" --json --timeout 10 query "$1" 2>&1 || true)
  if [[ "$out" == *'"err_code":"ORDER_NOT_EXIST"'* ]]; then echo NONE; return; fi
  [[ "$out" =~ \"status\":\"([A-Z]+)\" ]] && { echo "${BASH_REMATCH[1]}"; return; }
  echo "BAD:${out:0:300}"
}
refund_exists() {
  local out
  out=$("$CLI" --base-url "$BASE" --json --timeout 10 refund-query "$1" "$2" 2>&1 || true)
  if [[ "$out" == *'"return_code":"SUCCESS"'* ]]; then echo yes
  elif [[ "$out" == *'"err_code":"REFUND_NOT_EXIST"'* ]]; then echo no
  else echo "BAD:${out:0:300}"; fi
}

start
echo "sandbox at $BASE, database on a $(df -h "$MNT" | awk 'NR==2{print $2}') tmpfs"
# Before: paid orders to refund and unpaid ones to pay.
for i in $(seq 1 10); do [[ $(webpay "B$i") == OK ]] || fail "webpay B$i before the disk filled"; done
for i in $(seq 1 5); do [[ $(pay "B$i") == OK ]] || fail "pay B$i before the disk filled"; done

# Fill the disk to the last block.
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$MNT/filler2" bs=512 2>/dev/null || true
echo "disk filled: $(df -k "$MNT" | awk 'NR==2{print $4}') KiB free"

# While full: every answer is SUCCESS or FAIL SYSTEM_ERROR.
declare -A WEBPAY PAY REFUND
fails=0
for i in $(seq 1 40); do
  r=$(webpay "F$i"); WEBPAY[F$i]=$r
  p=B$(( (i % 5) + 6 ))   # B6..B10: unpaid until a pay succeeds
  r2=$(pay "$p"); [[ -z "${PAY[$p]:-}" || "${PAY[$p]}" != OK ]] && PAY[$p]=$r2
  b=B$(( (i % 5) + 1 ))   # B1..B5: paid
  r3=$(refund "$b" "RF$i"); REFUND[$b/RF$i]=$r3
  for x in "$r" "$r2" "$r3"; do
    case "$x" in
      OK) ;;
      FAIL:SYSTEM_ERROR) fails=$((fails + 1)) ;;
      FAIL:ORDER_PAID) [[ "$x" == "$r2" ]] || fail "unexpected answer $x" ;;  # paid by an earlier call
      *) fail "call $i answered $x while the disk was full (want SUCCESS or FAIL SYSTEM_ERROR)" ;;
    esac
  done
  alive "call $i with the disk full"
done
[[ $fails -gt 0 ]] || fail "no call failed: the disk never filled up (tmpfs too large?)"
echo "disk full: $fails of 120 calls answered FAIL SYSTEM_ERROR, the others SUCCESS"

# No partial state: what the answers said is what the database holds.
check_state() {
  local when=$1 st
  for k in "${!WEBPAY[@]}"; do
    st=$(status "$k")
    case "${WEBPAY[$k]}:$st" in
      OK:NOTPAY | FAIL:SYSTEM_ERROR:NONE) ;;
      *) fail "$when: webpay $k answered ${WEBPAY[$k]} but the order is $st" ;;
    esac
  done
  for k in "${!PAY[@]}"; do
    st=$(status "$k")
    case "${PAY[$k]}:$st" in
      OK:SUCCESS | OK:REFUND | FAIL:SYSTEM_ERROR:NOTPAY) ;;
      *) fail "$when: pay $k answered ${PAY[$k]} but the order is $st" ;;
    esac
  done
  for k in "${!REFUND[@]}"; do
    st=$(refund_exists "${k%/*}" "${k#*/}")
    case "${REFUND[$k]}:$st" in
      OK:yes | FAIL:SYSTEM_ERROR:no) ;;
      *) fail "$when: refund $k answered ${REFUND[$k]} but exists=$st" ;;
    esac
  done
}
check_state "disk still full"
echo "no partial state while full: ${#WEBPAY[@]} webpays, ${#PAY[@]} payments, ${#REFUND[@]} refunds as answered"

# Space returns: the calls that failed now succeed.
rm -f "$MNT/filler" "$MNT/filler2"
retried=0
for k in "${!WEBPAY[@]}"; do
  if [[ "${WEBPAY[$k]}" != OK ]]; then
    r=$(webpay "$k"); [[ $r == OK ]] || fail "webpay $k after space returned: $r"; WEBPAY[$k]=OK; retried=$((retried + 1))
  fi
done
for k in "${!PAY[@]}"; do
  if [[ "${PAY[$k]}" != OK ]]; then
    r=$(pay "$k"); [[ $r == OK ]] || fail "pay $k after space returned: $r"; PAY[$k]=OK; retried=$((retried + 1))
  fi
done
for k in "${!REFUND[@]}"; do
  if [[ "${REFUND[$k]}" != OK ]]; then
    r=$(refund "${k%/*}" "${k#*/}"); [[ $r == OK ]] || fail "refund $k after space returned: $r"
    REFUND[$k]=OK; retried=$((retried + 1))
  fi
done
check_state "space returned"
stop
integrity=$(sqlite3 "$DB" "PRAGMA integrity_check")
[[ "$integrity" == ok ]] || fail "PRAGMA integrity_check: $integrity"
start
check_state "after a restart"
stop
echo "PASS: disk full gave $fails clear FAIL SYSTEM_ERROR answers and no partial state;" \
  "$retried retried calls succeeded once space returned; integrity_check ok; a restart kept all"
