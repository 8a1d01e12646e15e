#!/usr/bin/env bash
# Set up everything IDI Risk Map needs on a Debian/Ubuntu machine, then run it.
#   bash scripts/bootstrap.sh map    # demo risk map of Kunming on http://127.0.0.1:5000/
#   bash scripts/bootstrap.sh test   # the whole test suite (extra arguments go to pytest)
# Needs root or sudo only to install missing system packages.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-map}"
shift || true

say() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*"; }
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run this as root or install sudo" >&2; exit 1; }
  sudo_cmd="sudo"
fi

apt_install() {
  say "installing system packages: $*"
  if [ -z "${apt_updated:-}" ]; then $sudo_cmd apt-get update -qq; apt_updated=1; fi
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

system_packages() {
  local missing=()
  command -v python3 >/dev/null || missing+=(python3)
  command -v npm >/dev/null || missing+=(nodejs npm)
  # reports: WeasyPrint lays out PDFs with Pango; the CJK font sets their Chinese text
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
  ls /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
  if [ "$mode" = test ]; then
    # the browser tests drive Debian's Chromium; pdftotext and pdftoppm read the reports back
    command -v chromium >/dev/null || missing+=(chromium)
    command -v pdftotext >/dev/null || missing+=(poppler-utils)
    # the OGC API tests read the service with GDAL's own clients (ogr2ogr, ogrinfo)
    command -v ogr2ogr >/dev/null || missing+=(gdal-bin)
    # Playwright's driver (the node it ships) needs libatomic, which a minimal Debian lacks
    ls /usr/lib/*/libatomic.so.1 >/dev/null 2>&1 || missing+=(libatomic1)
    # the shared cache in front (deploy/nginx/): a test and bench/bench_scale_out.py run it
    # privately from a temporary folder on a free port
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  fi
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  # sessions, rate limits and import jobs: a private redis-server on a Unix socket
  [ -n "${RISKMAP_REDIS_URL:-}" ] || command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] \
    || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  # PostGIS must match the PostgreSQL major version the system has.
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  [ -f "/usr/share/postgresql/$version/extension/postgis.control" ] \
    || apt_install "postgresql-$version-postgis-3"
}

python_env() {
  local stamp=.venv/.installed
  local want
  want=$(cat pyproject.toml requirements.lock scripts/pip.lock | sha1sum | cut -d' ' -f1)
  [ -x .venv/bin/python ] || { say "creating .venv"; python3 -m venv .venv; }
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # exactly the versions and files of requirements.lock (refresh it: bash scripts/lock.sh);
    # a package missing from the lock, or a file whose hash differs, stops the install
    say "installing the Python packages of requirements.lock from PyPI into .venv"
    .venv/bin/python -m pip install -q --require-hashes --only-binary :all: -r scripts/pip.lock
    .venv/bin/python -m pip install -q --require-hashes --only-binary :all: \
      -r requirements.lock
    .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
  fi
}

web_assets() {
  # Leaflet and its plugins, served by the service itself (no CDN at run time)
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing Leaflet and plugins from npm into node_modules"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

check_python() {
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "IDI Risk Map needs Python 3.10 or newer (Debian 12, Ubuntu 22.04 or later);" \
         "this machine has $(python3 --version 2>&1)" >&2
    exit 1
  }
}

system_packages
check_python
python_env
web_assets
export PATH="$PWD/.venv/bin:$PATH"

case "$mode" in
  map)
    city="${RISKMAP_CITY:-530100}"
    riskmap db up
    riskmap redis up
    riskmap load districts --city "$city"
    riskmap demo --city "$city"
    exec riskmap serve "$@"
    ;;
  test)
    export RISKMAP_DB_UNSAFE_FAST="${RISKMAP_DB_UNSAFE_FAST:-1}"
    # two workers, each taking a whole test file at a time: their waits on Chromium, served
    # processes and the database overlap (README, Tests)
    exec python -m pytest -n "${RISKMAP_TEST_WORKERS:-2}" --dist loadfile "$@"
    ;;
  *)
    echo "usage: bash scripts/bootstrap.sh map|test [args]" >&2
    exit 2
    ;;
esac
