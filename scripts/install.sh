#!/usr/bin/env bash
# Installs what gridmap needs, idempotently. Sourced by scripts/demo.sh and scripts/test.sh.
#   OS packages (Debian): PostgreSQL 15 + PostGIS 3; for tests also Chromium.
#   A virtualenv in .venv with gridmap and its Python dependencies.
#   Front-end assets (Leaflet and plugins) from the npm registry at pinned versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

need_pkgs=(postgresql-15 postgresql-15-postgis-3 fonts-noto-cjk)
if [ "${GRIDMAP_WITH_BROWSER:-0}" = "1" ]; then
  need_pkgs+=(chromium)
fi
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "==> installing OS packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "gridmap needs these OS packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating virtualenv .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.gridmap-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    if ! command -v npm >/dev/null; then
      if [ "$(id -u)" = "0" ]; then
        apt-get install -y -q --no-install-recommends npm >/dev/null
      else
        echo "gridmap needs npm for its front-end assets: apt-get install -y npm" >&2
        exit 1
      fi
    fi
    echo "==> installing front-end assets (npm ci)"
    npm ci --silent --no-audit --no-fund
    touch node_modules
  fi
  .venv/bin/python -m web.assets
fi
