#!/usr/bin/env bash
# Set up and run every test: once on SQLite, once on a throwaway PostgreSQL cluster,
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
