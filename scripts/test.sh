#!/usr/bin/env bash
# Set up and run every test: once on SQLite, once on a throwaway PostgreSQL cluster,
# each against the local store and a real S3 server on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== test suite on SQLite =="
start=$SECONDS
pytest "$@"
echo "SQLite run: $((SECONDS - start)) s"

echo "== test suite on PostgreSQL =="
source scripts/postgres.sh
trap pg_stop EXIT
start=$SECONDS
pytest "$@"
echo "PostgreSQL run: $((SECONDS - start)) s"
