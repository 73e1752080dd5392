#!/usr/bin/env bash
# Installs the Debian 12 packages vkspay-sandbox needs, only those missing.
# Usage: scripts/install-deps.sh [--browser]   (--browser adds Chromium and CJK fonts for the
# cashier and dashboard tests: without fonts-noto-cjk the screenshots show boxes for Chinese)
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libcpp-httplib-dev nlohmann-json3-dev libssl-dev libsqlite3-dev
      libcli11-dev libqrencode-dev libgtest-dev libgmock-dev libbenchmark-dev sqlite3
      python3 python3-yaml iproute2  # tests: ci_snippets_test (YAML, namespaces)
      prometheus)  # prometheus: promtool checks GET /metrics in a test
if [[ "${1:-}" == "--browser" ]]; then
  pkgs+=(chromium fonts-noto-cjk nodejs npm)
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
