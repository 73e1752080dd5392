#!/usr/bin/env bash
# One command: install what is missing, build, start the sandbox.
#   scripts/run.sh [vkspay-sandbox flags...]     e.g. --listen 127.0.0.1:8080 --db :memory:
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Build progress goes to stderr (a fresh machine compiles for minutes); stdout
# stays the sandbox's, whose first line is its ready line.
echo "building into build/ (the first build takes a few minutes on 2 cores) ..." >&2
scripts/build.sh -DVKSPAY_BUILD_TESTS=OFF -DVKSPAY_BUILD_BENCH=OFF >&2
echo "built: build/sandbox/vkspay-sandbox and build/client/vkspay (add build/client to PATH for the CLI)" >&2
exec build/sandbox/vkspay-sandbox "$@"
