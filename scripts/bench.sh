#!/usr/bin/env bash
# Set up and run every benchmark; prints a table of ratios to same-run baselines.
# BENCH_SIZE_MB (default 1024), BENCH_API_SECONDS (4), BENCH_LICENSES (1000) scale it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m bench.run_all
