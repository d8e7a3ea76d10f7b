"""Logs an operator can search: with `DISTRO_LOG_FORMAT=json` every line of the app's log
and of gunicorn's (access and error) is one JSON object; plain text stays the default.

App lines carry the request's id, user, organisation and route when there is one; the
access line adds status, duration and bytes. Nothing here reads headers, bodies or
query strings beyond the request line gunicorn already logs, so no token or password
can reach a log through it (tests/system/test_secrets.py reads both formats).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request
from gunicorn.glogging import Logger

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _request_fields() -> dict:
    if not has_request_context():
        return {}
    fields = {"request_id": g.get("request_id"), "route": None, "user_id": None, "org": None}
    if request.url_rule is not None:
        fields["route"] = request.url_rule.rule
    actor_user = g.get("_login_user")  # set by Flask-Login once the caller is known
    if actor_user is not None and getattr(actor_user, "id", None):
        fields["user_id"], fields["org"] = actor_user.id, getattr(actor_user, "org_id", None)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request context."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_request_fields(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def init_app(app: Flask) -> None:
    """Log to stderr at INFO; in JSON mode also one line per request with its outcome."""
    log = logging.getLogger("distro")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter(app.config["LOG_FORMAT"]))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    if app.config["LOG_FORMAT"] == "json":
        app.after_request(_log_request)


def _log_request(response: Response) -> Response:
    started = g.get("request_started")  # set by ops.metrics
    logging.getLogger("distro.request").info(
        "%s %s",
        request.method,
        request.path,
        extra={
            "fields": {
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                if started
                else None,
                "bytes": response.content_length,
            }
        },
    )
    return response


class GunicornJsonLogger(Logger):
    """gunicorn's logger with JSON lines: the error log through JsonFormatter, and the
    access log built field by field (a request line with quotes stays valid JSON)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        status = getattr(resp, "status_code", None) or str(resp.status).split(" ", 1)[0]
        headers = dict((name.lower(), value) for name, value in resp.headers)
        self.access_log.info(
            "%s %s",
            req.method,
            req.path,
            extra={
                "fields": {
                    "remote": environ.get("REMOTE_ADDR"),
                    "method": req.method,
                    "path": req.path,
                    "status": int(status),
                    "bytes": getattr(resp, "sent", None),
                    "duration_ms": round(request_time.total_seconds() * 1000, 1),
                    "request_id": headers.get("x-request-id"),
                }
            },
        )
