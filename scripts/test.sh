#!/usr/bin/env bash
# Second command of the README: run the whole test suite (unit, PostGIS integration,
# headless-Chromium end-to-end). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GRIDMAP_WITH_BROWSER=1
source "$ROOT/scripts/install.sh"
cd "$ROOT"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = "5" ]; then
  echo "error: pytest collected no tests; the suite is missing or mis-configured" >&2
  exit 1
fi
exit "$rc"
