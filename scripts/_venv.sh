# Sourced by scripts/*: creates .venv from a fresh clone and installs roomsops with its test and lab extras.
# Re-running is cheap: pip only installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test,lab]"
export PATH="$ROOT/.venv/bin:$PATH"
