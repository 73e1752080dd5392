#!/usr/bin/env bash
# One command: install what is missing, build, start the sandbox.
#   scripts/run.sh [vkspay-sandbox flags...]     e.g. --listen 127.0.0.1:8080 --db :memory:
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DVKSPAY_BUILD_TESTS=OFF -DVKSPAY_BUILD_BENCH=OFF >/dev/null
echo "built: build/sandbox/vkspay-sandbox and build/client/vkspay (add build/client to PATH for the CLI)"
exec build/sandbox/vkspay-sandbox "$@"
