"""Rate limiting (Flask-Limiter). Memory storage serves one process only; several app
processes need a shared backend in `DISTRO_RATELIMIT_STORAGE_URI` (e.g. redis://)."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A limit store that is down (Redis) must not take logins down with it: requests
    # are then served unthrottled, and Flask-Limiter logs the error.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
