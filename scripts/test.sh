#!/usr/bin/env bash
# Second command of the README: run the whole test suite (unit, PostGIS integration,
# headless-Chromium end-to-end). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GRIDMAP_WITH_BROWSER=1
source "$ROOT/scripts/install.sh"
cd "$ROOT"

# Architecture: import contracts (.importlinter) and scripts/check_structure.py (import cycles,
# undeclared runtime dependencies, werkzeug in the library; module and function sizes).
# Any broken contract, cycle or module/function over the limits fails the run.
.venv/bin/lint-imports --no-cache --no-logo
.venv/bin/python scripts/check_structure.py --strict

# pytest; tests/cli/test_install.py is the non-editable `pip install .` smoke test.
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = "5" ]; then
  echo "error: pytest collected no tests; the suite is missing or mis-configured" >&2
  exit 1
fi
exit "$rc"
