#!/usr/bin/env bash
# Set up and run distro on the embedded default (SQLite + storage/ + signing_keys/),
# with demo accounts, on http://127.0.0.1:${PORT:-5000}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
distro init --admin-email admin@example.com --admin-password admin-password-1 >/dev/null
distro demo
echo "Serving on http://127.0.0.1:${PORT:-5000}  (Ctrl-C stops)"
exec gunicorn --config gunicorn.conf.py --bind "127.0.0.1:${PORT:-5000}" wsgi:app
