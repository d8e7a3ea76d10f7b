#!/usr/bin/env bash
# Set up and run every benchmark; prints a table of ratios to same-run baselines.
# BENCH_SIZE_MB (default 1024), BENCH_API_SECONDS (4), BENCH_LICENSES (1000) and
# BENCH_SLOW_CLIENTS (1000) scale it. The slow-download benchmark's production topology
# runs on a throwaway PostgreSQL cluster, started here and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The slow-download benchmark's S3 server: s3rver streams objects from disk (moto holds a
# whole object in memory per GET). Installed from npm into .bench-tools/ once.
if [ ! -x .bench-tools/node_modules/.bin/s3rver ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  npm install --silent --no-audit --no-fund --prefix .bench-tools s3rver@3.7.1 >/dev/null
fi
source scripts/postgres.sh
trap pg_stop EXIT
.venv/bin/python -m bench.run_all "$@"
