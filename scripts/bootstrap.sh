#!/usr/bin/env bash
# Create .venv (if missing) and install distro with its development extras into it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
log="$(mktemp)"
if ! .venv/bin/python -m pip install --disable-pip-version-check -e '.[dev]' >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: installing distro into .venv failed (log above)" >&2
  exit 1
fi
rm -f "$log"
