#!/usr/bin/env bash
# First command of the README: install, start the database, migrate, load the sample
# district and serve the map on http://127.0.0.1:5000 with a production WSGI server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/install.sh"
cd "$ROOT"
GM=.venv/bin/gridmap
if [ -z "${DATABASE_URL:-}" ]; then
  $GM db start
fi
$GM db migrate
$GM sample load
exec $GM serve --demo --host "${GRIDMAP_HOST:-127.0.0.1}" --port "${GRIDMAP_PORT:-5000}"
