#!/usr/bin/env bash
# Set up and run distro on the embedded default (SQLite + storage/ + signing_keys/),
# with demo accounts, on http://127.0.0.1:${PORT:-5000}, and the mail worker next to it
# (without DISTRO_SMTP_URL mail waits in the outbox: Administration → Mail).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# localhost, not 127.0.0.1: security keys (WebAuthn) need a host name as their RP ID.
export DISTRO_BASE_URL="${DISTRO_BASE_URL:-http://localhost:${PORT:-5000}}"
distro init --admin-email admin@example.com --admin-password admin-password-1 >/dev/null
distro demo
echo "Serving on $DISTRO_BASE_URL  (Ctrl-C stops)"
distro worker &
worker=$!
gunicorn --config gunicorn.conf.py --bind "127.0.0.1:${PORT:-5000}" wsgi:app &
server=$!
# Ctrl-C or SIGTERM stops both; gunicorn lets downloads in flight finish first.
trap 'kill -TERM "$server" "$worker" 2>/dev/null || true' INT TERM
wait "$server" || true
kill -TERM "$worker" 2>/dev/null || true
wait || true
