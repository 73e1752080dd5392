#!/usr/bin/env bash
# Installs the Debian 12 packages vkspay-sandbox needs, only those missing.
# Usage: scripts/install-deps.sh [--browser]   (--browser adds Chromium for the cashier test)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libcpp-httplib-dev nlohmann-json3-dev libssl-dev libsqlite3-dev
      libcli11-dev libqrencode-dev libgtest-dev libgmock-dev libbenchmark-dev sqlite3)
if [[ "${1:-}" == "--browser" ]]; then
  # iproute2: `ip link set lo up` in tls_unmodified_client_test's network namespace.
  pkgs+=(chromium nodejs npm iproute2)
fi

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from elsewhere (nvm, NodeSource); a working command is enough.
  if [[ "$p" == nodejs || "$p" == npm ]]; then
    command -v "${p/nodejs/node}" >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
