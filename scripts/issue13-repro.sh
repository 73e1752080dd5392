#!/usr/bin/env bash
# Reproduces issue #13 findings 5-7 against a vkspay-sandbox binary and
# prints the figure docs/reliability.md quotes ("Hostile clients and secrets
# (#13)"). Usage:
#   scripts/issue13-repro.sh SANDBOX_BIN VKSPAY_CLI 5|6|7
# Uses ports 18181-18186 on 127.0.0.1; needs curl and python3.
set -euo pipefail
SANDBOX=$1 CLI=$2 FINDING=$3
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

start() {  # start PORT ARGS...: a sandbox on 127.0.0.1:PORT, waits for /_sandbox/health
  local port=$1; shift
  "$SANDBOX" --listen "127.0.0.1:$port" --db :memory: "$@" >"/tmp/issue13-$port.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/_sandbox/health" >/dev/null && return 0
    sleep 0.05
  done
  echo "sandbox on $port did not start" >&2; exit 1
}

orders() {  # the out_trade_no of every order, space-separated
  curl -s "http://127.0.0.1:$1/_sandbox/orders" | python3 -c \
    'import json,sys; print(" ".join(sorted(o["out_trade_no"] for o in json.load(sys.stdin)["orders"])) or "(none)")'
}

case $FINDING in
5)  # Two sandboxes, the same --seed: the same cashier token and order number?
  start 18181 --seed 42 --quiet; start 18182 --seed 42 --quiet
  for port in 18181 18182; do
    "$CLI" --base-url "http://127.0.0.1:$port" webpay --total-fee 0.01 \
      --notify-url http://127.0.0.1:9/n | awk -v p=$port '/pay_url|out_trade_no/ {print p": "$0}'
  done ;;
6)  # A paid order whose notify_url is the sandbox's own /_sandbox/reset.
  B=http://127.0.0.1:18183
  start 18183 --notify-profile fast
  "$CLI" --base-url $B webpay --total-fee 1 --out-trade-no KEEP-1 --notify-url http://127.0.0.1:9/n >/dev/null
  "$CLI" --base-url $B webpay --total-fee 888 --out-trade-no EVIL-1 --notify-url $B/_sandbox/reset >/dev/null
  echo "orders before payment: $(orders 18183)"
  "$CLI" --base-url $B pay EVIL-1 >/dev/null
  sleep 1.5
  echo "orders after payment:  $(orders 18183)"
  curl -s "$B/_sandbox/notifications" | python3 -c \
    'import json,sys; [print("notification:", n["state"], n["total_attempts"], "attempt(s),", n["last_error"]) for n in json.load(sys.stdin)["notifications"]]' || true
  echo "strict mode:"
  start 18184 --strict-notify-url
  "$CLI" --base-url http://127.0.0.1:18184 webpay --total-fee 1 \
    --notify-url http://127.0.0.1:18184/_sandbox/reset 2>&1 | head -3 || true ;;
7)  # A webpay sent with Host: evil.example; the pay link's host.
  start 18185 --quiet; start 18186 --quiet --public-url https://pay.example.com/
  for port in 18185 18186; do
    python3 - "http://127.0.0.1:$port" <<'PY'
import hashlib, json, random, sys, time, urllib.request
base = sys.argv[1]
f = {"method": "webpay", "merchantno": "10001", "total_fee": "0.01",
     "notify_url": "http://127.0.0.1:9/n", "timestamp": int(time.time()),
     "signaturenonce": "".join(random.choice("123456789") for _ in range(8)), "version": "2.0"}
canon = "&".join(f"{k}={f[k]}" for k in sorted(f)) + "&key=sandbox-demo-key-0123456789abcdef"
f["sign"] = hashlib.md5(canon.encode()).hexdigest()
req = urllib.request.Request(base + "/api", json.dumps(f).encode(),
                             {"Content-Type": "application/json", "Host": "evil.example"})
answer = json.load(urllib.request.urlopen(req))
print(base, "Host: evil.example ->", answer.get("data", {}).get("qrcode") or answer)
PY
  done ;;
*) echo "finding must be 5, 6 or 7" >&2; exit 2 ;;
esac
