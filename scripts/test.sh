#!/usr/bin/env bash
# One command: install what is missing, build, run every test (ctest, which
# includes the cashier page test in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --browser
# playwright-core drives Debian's Chromium; pinned by package-lock.json.
(cd sandbox/cashier/browser_test && npm ci --no-audit --no-fund --silent)
scripts/build.sh -DVKSPAY_BUILD_TESTS=ON -DVKSPAY_WERROR=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j 2 "$@"
# The same suite again under ASan + UBSan in build-asan, zero reports allowed
# (docs/reliability.md#sanitizers). VKSPAY_SKIP_SANITIZE=1 skips it locally.
if [ "${VKSPAY_SKIP_SANITIZE:-0}" != 1 ]; then
  scripts/test-sanitize.sh
fi
