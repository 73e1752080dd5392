#!/bin/bash
# Issue #18: a Node.js client written as the official VksPay sample is
# (sample_client.js: https://vk-spay-openapi.fsq.pub/api hard-coded, plain
# fetch) runs WITHOUT CHANGING ITS URL against vkspay-sandbox.
#
# Inside a private mount and network namespace (unshare --mount --net; the
# real /etc/hosts and network are untouched): lo up, the sandbox on
# 127.0.0.1:443 with --tls-self-signed, /etc/hosts replaced (bind mount) by a
# file holding the line the sandbox's ready output says to add, and Node
# trusting the CA through the NODE_EXTRA_CA_CERTS the ready output names.
# webpay, micropay, orderquery, orderrefund and orderrefundquery must all
# succeed; the same client without the CA must fail (so the CA is what made
# it work); a second start keeps the CA.
#
# With VKSPAY_CLI and VKSPAY_CONFORMANCE also given, the CLI
# (--base-url https://vk-spay-openapi.fsq.pub --cacert ca.pem) and the
# conformance suite in server mode (SSL_CERT_FILE=ca.pem) run against the
# same HTTPS sandbox.
#
# Usage: unmodified_client_test.sh VKSPAY_SANDBOX_BIN NODE [VKSPAY_CLI VKSPAY_CONFORMANCE]
# Exit 77 (ctest SKIP_RETURN_CODE) with the reason when namespaces are not
# allowed here (needs root or CAP_SYS_ADMIN, or unprivileged user
# namespaces).
set -u
SANDBOX=$1
NODE=$2
CLI=${3:-}
CONFORMANCE=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=vk-spay-openapi.fsq.pub

if [ "${VKSPAY_IN_NAMESPACE:-}" != 1 ]; then
  for cmd in unshare mount ip; do
    command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not installed"; exit 77; }
  done
  if why=$(unshare --mount --net true 2>&1); then
    prefix=(unshare --mount --net)
  elif unshare --user --map-root-user --mount --net true 2>/dev/null; then
    prefix=(unshare --user --map-root-user --mount --net)
  else
    echo "SKIP: needs a private mount and network namespace (root or CAP_SYS_ADMIN): unshare --mount --net: $why"
    exit 77
  fi
  VKSPAY_IN_NAMESPACE=1 exec timeout 90 "${prefix[@]}" bash "$0" "$@"
fi

# --- inside the namespaces from here on ---
fail() { echo "FAIL: $*"; [ -f "$work/sandbox.out" ] && sed 's/^/  sandbox: /' "$work/sandbox.out"; exit 1; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; umount /etc/hosts 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mount --make-rprivate / 2>/dev/null
ip link set lo up || fail "cannot bring lo up in the namespace"

# Before the mapping: the name does not resolve to this machine.
if getent hosts "$NAME" | grep -q '^127\.0\.0\.1'; then fail "$NAME already maps to 127.0.0.1"; fi

start_sandbox() {
  : >"$work/sandbox.out"
  "$SANDBOX" --listen 127.0.0.1:443 --db :memory: --tls-self-signed --tls-dir "$work/tls" \
    --quiet >"$work/sandbox.out" 2>"$work/sandbox.err" &
  pid=$!
  for _ in $(seq 200); do
    grep -q "ready: listening on" "$work/sandbox.out" && grep -q "run the code unmodified" "$work/sandbox.out" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/sandbox.err"; fail "the sandbox exited"; }
    sleep 0.05
  done
  fail "no ready line"
}
stop_sandbox() { kill "$pid"; wait "$pid" 2>/dev/null; pid=; }

start_sandbox
out=$(cat "$work/sandbox.out")
echo "$out" | sed 's/^/  sandbox: /'
grep -q "listening on https://127.0.0.1:443 " <<<"$out" || fail "ready line does not say https://127.0.0.1:443"
# Take the two steps from what the sandbox printed.
hosts_line=$(sed -n 's/.*map the name: add the line "\([^"]*\)".*/\1/p' <<<"$out")
ca=$(sed -n 's/.*NODE_EXTRA_CA_CERTS=\([^ ]*\).*/\1/p' <<<"$out")
[ "$hosts_line" = "127.0.0.1 $NAME" ] || fail "the hosts line printed is \"$hosts_line\""
[ -f "$ca" ] || fail "the CA file printed ($ca) does not exist"
grep -q -- "--cacert $ca" <<<"$out" || fail "no curl --cacert advice"
grep -q "update-ca-certificates" <<<"$out" || fail "no update-ca-certificates advice"
[ "$(stat -c %a "$work/tls/ca-key.pem")" = 600 ] || fail "ca-key.pem is not 0600"
[ "$(stat -c %a "$work/tls/server-key.pem")" = 600 ] || fail "server-key.pem is not 0600"

{ cat /etc/hosts; echo "$hosts_line"; } >"$work/hosts"
mount --bind "$work/hosts" /etc/hosts || fail "cannot bind-mount the hosts file"
getent hosts "$NAME" | grep -q '^127\.0\.0\.1' || fail "$NAME does not resolve to 127.0.0.1 after the mapping"

# Control: the same client without the CA is refused by Node's TLS checks.
if env -u NODE_EXTRA_CA_CERTS "$NODE" "$HERE/sample_client.js" >"$work/noca.out" 2>&1; then
  fail "the client succeeded without trusting the CA: $(cat "$work/noca.out")"
fi
grep -q "FAIL https://$NAME/api" "$work/noca.out" || fail "unexpected failure without the CA: $(cat "$work/noca.out")"
echo "  without NODE_EXTRA_CA_CERTS: $(cat "$work/noca.out")"

# The real run: unmodified client, CA trusted the way the sandbox said.
NODE_EXTRA_CA_CERTS=$ca "$NODE" "$HERE/sample_client.js" >"$work/client.out" 2>&1 ||
  fail "the unmodified client failed: $(cat "$work/client.out")"
sed 's/^/  client: /' "$work/client.out"
for m in webpay micropay orderquery orderrefund orderrefundquery; do
  grep -q "^$m SUCCESS" "$work/client.out" || fail "$m did not succeed"
done
grep -q "qrcode https://$NAME/pay/" "$work/client.out" || fail "the payment link is not https://$NAME/pay/..."

if command -v curl >/dev/null; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "https://$NAME/") || fail "curl --cacert failed"
  [ "$code" = 200 ] || fail "curl --cacert got HTTP $code"
  echo "  curl --cacert $ca https://$NAME/: HTTP $code"
fi

if [ -n "$CLI" ]; then
  "$CLI" --base-url "https://$NAME" --cacert "$ca" webpay --total-fee 0.01 \
    --notify-url http://127.0.0.1:9/notify >"$work/cli.out" 2>&1 || fail "vkspay --cacert: $(cat "$work/cli.out")"
  grep -q "pay_url *https://$NAME/pay/" "$work/cli.out" || fail "vkspay printed no https pay_url: $(cat "$work/cli.out")"
  echo "  vkspay --base-url https://$NAME --cacert ca.pem webpay: $(grep pay_url "$work/cli.out")"
  if "$CLI" --base-url "https://$NAME" webpay --total-fee 0.01 --notify-url http://127.0.0.1:9/notify \
    >"$work/cli2.out" 2>&1; then fail "vkspay trusted the sandbox without --cacert"; fi
  grep -q -- "--cacert" "$work/cli2.out" || fail "vkspay without --cacert does not say what to pass: $(cat "$work/cli2.out")"
fi
if [ -n "$CONFORMANCE" ]; then
  # OpenSSL's default trust store honours SSL_CERT_FILE: the suite trusts the CA alone.
  SSL_CERT_FILE=$ca "$CONFORMANCE" server --base-url "https://$NAME" >"$work/conf.out" 2>&1 ||
    fail "vkspay-conformance over https: $(grep -E '^FAIL|cases:' "$work/conf.out")"
  echo "  vkspay-conformance server --base-url https://$NAME: $(grep 'cases:' "$work/conf.out")"
fi

# A second start keeps the CA (clients trust it once).
ca_before=$(sha256sum <"$ca")
stop_sandbox
start_sandbox
grep -q "kept from an earlier start" "$work/sandbox.out" || fail "the second start did not keep the CA"
[ "$(sha256sum <"$ca")" = "$ca_before" ] || fail "the CA changed on the second start"
NODE_EXTRA_CA_CERTS=$ca "$NODE" "$HERE/sample_client.js" >"$work/client2.out" 2>&1 ||
  fail "the client failed after a restart: $(cat "$work/client2.out")"
stop_sandbox
echo "PASS: the official-sample client ran unmodified against https://$NAME/api"
