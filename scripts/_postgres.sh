# Sourced by scripts/test (after scripts/_venv.sh): the PostgreSQL server of the tests on PostgreSQL (issue 27),
# exported as PGTEST_URL (tests/postgres.py). The server this project's machines start (127.0.0.1:5432, trust
# authentication, database `test`) when it answers; else a throwaway server in a temporary folder, started here and
# removed on exit, when the PostgreSQL binaries (initdb, pg_ctl) are installed; else none: PGTEST_URL is empty and
# those tests are skipped with a loud notice. PGTEST_REQUIRED=1 (.ci/run) makes "none" an error instead.
# PGTEST_URL set beforehand is used as it is (empty: no PostgreSQL tests); PGTEST_SERVER replaces the URL tried first.

pg_answers() {
  .venv/bin/python - "$1" <<'PY' >/dev/null 2>&1
import sys

import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1]).set(drivername="postgresql").render_as_string(hide_password=False)
psycopg.connect(url, connect_timeout=3).close()
PY
}

pg_throwaway() {
  # initdb refuses to run as root: as root, the server runs as the `postgres` account (if there is one).
  local run=() folder port
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || return 1
    run=(runuser -u postgres --)
  fi
  folder="$(mktemp -d "${TMPDIR:-/tmp}/roomsops-pgtest.XXXXXX")" || return 1
  [ "${#run[@]}" = 0 ] || chown postgres "$folder"
  port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  PGTEST_FOLDER="$folder"
  PGTEST_RUN=("${run[@]}")
  trap 'pg_stop_throwaway' EXIT
  "${run[@]}" initdb --pgdata "$folder/data" --username postgres --auth trust --encoding UTF8 --no-locale \
    >"$folder/initdb.log" 2>&1 || return 1
  "${run[@]}" pg_ctl --pgdata "$folder/data" --log "$folder/server.log" --wait --silent \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $folder -c fsync=off" start >/dev/null 2>&1 || return 1
  PGTEST_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}

pg_stop_throwaway() {
  if [ -n "${PGTEST_FOLDER:-}" ]; then
    "${PGTEST_RUN[@]}" pg_ctl --pgdata "$PGTEST_FOLDER/data" --mode immediate --silent stop >/dev/null 2>&1 || true
    rm -rf "$PGTEST_FOLDER"
  fi
}

if [ -z "${PGTEST_URL+set}" ]; then
  PGTEST_URL="${PGTEST_SERVER:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
  if ! pg_answers "$PGTEST_URL"; then
    PGTEST_URL=""
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
      if pg_throwaway && pg_answers "$PGTEST_URL"; then
        echo "PostgreSQL: none answered; started a throwaway server ($PGTEST_URL)"
      else
        echo "PostgreSQL: none answered, and a throwaway server did not start:" >&2
        tail -n 5 "${PGTEST_FOLDER:-/nonexistent}"/*.log >&2 2>/dev/null || true
        PGTEST_URL=""
      fi
    fi
  fi
fi
if [ -z "$PGTEST_URL" ]; then
  if [ "${PGTEST_REQUIRED:-0}" != 0 ]; then
    echo "Error: no PostgreSQL server for the tests on PostgreSQL, and PGTEST_REQUIRED=1 says they must run — start" \
      "one on 127.0.0.1:5432 (trust authentication, database test), install its binaries, or set PGTEST_URL" >&2
    exit 2
  fi
  echo "!!!!!!!! PostgreSQL: none found (no server on 127.0.0.1:5432, no initdb/pg_ctl): the tests on PostgreSQL" \
    "will be SKIPPED !!!!!!!!" >&2
fi
export PGTEST_URL
