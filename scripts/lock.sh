#!/usr/bin/env bash
# Refresh requirements.lock, the exact version and hashes of every Python package that both
# README commands (scripts/bootstrap.sh) and the Dockerfile install. Run it after changing the
# dependencies in pyproject.toml, and commit the two files together (a test fails when they
# disagree):
#   bash scripts/lock.sh            # keep every locked version that still satisfies pyproject.toml
#   bash scripts/lock.sh --upgrade  # move every package to its newest allowed release
# The lock is universal: one file for every Python from 3.10 on and every Linux machine, with
# the hashes of every file of each release. The resolver (uv, from PyPI) is pinned here.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
tool=".riskmap/tools/uv-$UV_VERSION"

if [ ! -x "$tool/bin/uv" ]; then
  python3 -m venv "$tool"
  "$tool/bin/python" -m pip install -q "uv==$UV_VERSION"
fi

# the build backend too, so that installing the project itself downloads nothing unlocked
build_requires=$(mktemp)
trap 'rm -f "$build_requires"' EXIT
"$tool/bin/python" - "$build_requires" <<'PY'
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    requires = tomllib.load(f)["build-system"]["requires"]
with open(sys.argv[1], "w") as out:
    out.write("\n".join(requires) + "\n")
PY

"$tool/bin/uv" pip compile pyproject.toml "$build_requires" --extra test \
  --universal --python-version 3.10 --generate-hashes --no-header --quiet \
  --index-url https://pypi.org/simple --output-file requirements.lock "$@"
# uv names the temporary file it read the build backend from; name its source instead
sed -i "s|$build_requires|pyproject.toml build-system|" requirements.lock
echo "requirements.lock: $(grep -c '^[a-z0-9]' requirements.lock) packages locked"
