"""Rate limiting (Flask-Limiter). Memory storage serves one process only; several app
processes need a shared backend in `DISTRO_RATELIMIT_STORAGE_URI` (e.g. redis://)."""

from __future__ import annotations

import logging

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from distro.core.metrics import ERRORS

limiter = Limiter(key_func=get_remote_address, default_limits=[])


class _CountStoreFailures(logging.Handler):
    """Flask-Limiter reports a limit store it cannot reach (and then lets the request
    through) only as a log record at ERROR; count those, so that it can be alerted on."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            ERRORS.labels("rate_limit_store_unavailable").inc()


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A limit store that is down (Redis) must not take logins down with it: requests
    # are then served unthrottled, and Flask-Limiter logs the error.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    flask_limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(h, _CountStoreFailures) for h in flask_limiter_log.handlers):
        flask_limiter_log.addHandler(_CountStoreFailures())
