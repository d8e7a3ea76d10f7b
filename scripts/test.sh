#!/usr/bin/env bash
# Set up and run every test: on SQLite and on a throwaway PostgreSQL cluster, side by side,
# each against the local store and a real S3 server on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work
# offline); Noto CJK makes Chinese pages render in screenshots.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "error: install chromium and fonts-noto-cjk (sudo apt-get install chromium fonts-noto-cjk)" >&2
    exit 1
  fi
fi

# Shared rate limits are tested against a real Redis server (Debian's redis-server).
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "error: install redis-server (sudo apt-get install redis-server)" >&2
    exit 1
  fi
fi

source scripts/postgres.sh
logs="$(mktemp -d /tmp/distro-tests.XXXXXX)"
trap 'pg_stop; rm -rf "$logs"' EXIT

# The two passes run at the same time (the suite waits on sockets and subprocesses much of
# the time, so two passes on two cores take little longer than one); each writes its own
# log, shown when both have ended. The cache plugin is off: the passes share the checkout.
run_pass() {
  local name="$1" started=$SECONDS status=0
  shift
  env "$@" pytest -p no:cacheprovider "${pytest_args[@]}" >"$logs/$name.log" 2>&1 || status=$?
  echo "$name run: $((SECONDS - started)) s, exit $status" >>"$logs/$name.log"
  return "$status"
}
# Tests marked one_database (large transfers, idle and shutdown handling of the server,
# the browser journeys: what the database does not change) run in the SQLite pass only,
# the schema fuzzing (postgresql_pass) in the PostgreSQL pass only, to keep CI short.
pytest_args=(-m "not postgresql_pass" "$@")
run_pass sqlite DISTRO_TEST_DATABASE_URL= &
sqlite_pid=$!
pytest_args=(-m "not one_database" "$@")
run_pass postgresql DISTRO_TEST_DATABASE_URL="$DISTRO_TEST_DATABASE_URL" &
postgres_pid=$!
sqlite_status=0 postgres_status=0
wait "$sqlite_pid" || sqlite_status=$?
wait "$postgres_pid" || postgres_status=$?

echo "== test suite on SQLite =="
cat "$logs/sqlite.log"
echo "== test suite on PostgreSQL =="
cat "$logs/postgresql.log"
if [ "$sqlite_status" != 0 ] || [ "$postgres_status" != 0 ]; then
  echo "FAILED: SQLite exit $sqlite_status, PostgreSQL exit $postgres_status" >&2
  exit 1
fi
