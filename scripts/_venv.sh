# Sourced by scripts/*: creates .venv from a fresh clone and installs roomsops with its test and lab extras,
# every package at the version and hash of requirements.lock (scripts/lock regenerates it), then roomsops
# itself from the working tree. Re-running is cheap: pip only installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --require-hashes -r requirements.lock
# No build isolation: hatchling comes from the lock too, so nothing unpinned is fetched to build roomsops.
"${PIP[@]}" --no-deps --no-build-isolation -e .
# This machine (and CI) sets PYTHONDONTWRITEBYTECODE, so the editable package would be compiled from source by every
# process: every CLI call of the tests and every lab. Compile it once here (stale files are recompiled in memory, as before).
PYTHONDONTWRITEBYTECODE= .venv/bin/python -m compileall -q -j 0 roomsops >/dev/null
export PATH="$ROOT/.venv/bin:$PATH"
