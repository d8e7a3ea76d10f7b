#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on loopback for the tests.
# Usage: source scripts/postgres.sh   -> exports DISTRO_TEST_DATABASE_URL and PG_TMP;
#        pg_stop                       -> stops the cluster and removes its folder.
# Sourced, so it leaves the caller's shell options alone (test.sh runs with set -e).
pg_bin="$(pg_config --bindir 2>/dev/null || true)"
if [ ! -x "$pg_bin/initdb" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
fi
if [ ! -x "$pg_bin/initdb" ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
PG_TMP="$(mktemp -d /tmp/distro-pg.XXXXXX)"
PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; fi
as_pg_user "$pg_bin/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg_user "$pg_bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w -o \
  "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TMP -c max_connections=300 -c fsync=off" start >/dev/null
export DISTRO_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export PG_TMP PG_BIN="$pg_bin"
pg_stop() {
  as_pg_user "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
}
