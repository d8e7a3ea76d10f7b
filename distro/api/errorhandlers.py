"""Turn every error into the contract's JSON envelope under /api/v1 (and a page elsewhere).

Unexpected exceptions are logged with the request id and answered 500 without internals.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from distro.api.inputs import body_limit_message
from distro.core.db import release_session
from distro.core.errors import DistroError, RangeNotSatisfiable, TooManyAttempts
from distro.core.metrics import ERRORS

log = logging.getLogger("distro")


try:  # what gunicorn raises while the app reads a broken chunked (or cut-off) body
    from gunicorn.http.errors import NoMoreData, ParseException

    _SERVER_BODY_ERRORS: tuple[type[Exception], ...] = (ParseException, NoMoreData)
except ImportError:  # another WSGI server
    _SERVER_BODY_ERRORS = ()

# A caller's request id is echoed and logged, so only plain ASCII ones are taken over.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)


def envelope(status: int, code: str, message: str, **extra) -> Response:
    body = {"error": {"code": code, "message": message, **extra}}
    if g.get("request_id"):
        body["error"]["request_id"] = g.request_id
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")


def _page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _retry_after(response: Response, exc: DistroError) -> Response:
    if isinstance(exc, TooManyAttempts) and exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def register(app: Flask) -> None:
    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.errorhandler(DistroError)
    def _domain_error(exc: DistroError):
        ERRORS.labels(exc.code).inc()
        release_session()
        if not _wants_json():
            page = make_response(_page(exc.status, exc.message))
            return _retry_after(page, exc)
        extra = {"field": exc.field} if exc.field else {}
        response = envelope(exc.status, exc.code, exc.message, **extra)
        if isinstance(exc, RangeNotSatisfiable):
            response.headers["Content-Range"] = f"bytes */{exc.size}"
        _retry_after(response, exc)
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        if not _wants_json():
            return _page(400, "The form expired or was not sent by this site; reload and retry.")
        return envelope(
            400,
            "csrf_failed",
            f"CSRF check failed: {exc.description} "
            "(send the X-CSRFToken header or use a bearer token)",
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _body_too_large(exc: RequestEntityTooLarge):
        ERRORS.labels("too_large").inc()
        release_session()
        message = body_limit_message(current_app.config["MAX_BODY_BYTES"])
        if not _wants_json():
            return _page(413, message)
        return envelope(413, "too_large", message)

    def _malformed_body(exc: Exception):
        ERRORS.labels("malformed_body").inc()
        release_session()
        message = "the request body is malformed (bad chunked framing) or ended early"
        if not _wants_json():
            return _page(400, message)
        return envelope(400, "malformed_body", message)

    for server_error in _SERVER_BODY_ERRORS:
        app.register_error_handler(server_error, _malformed_body)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if not _wants_json():
            return _page(status, exc.description or exc.name)
        code = exc.name.lower().replace(" ", "_").replace("'", "")
        response = envelope(status, code, exc.description or exc.name)
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        ERRORS.labels("database_unavailable").inc()
        log.error("database error [request %s]: %s", g.get("request_id"), exc.orig)
        release_session()
        if not _wants_json():
            return _page(503, "The database is not reachable. Try again shortly.")
        return envelope(503, "database_unavailable", "the database is not reachable; retry later")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        ERRORS.labels("internal_error").inc()
        log.exception("unhandled error [request %s]", g.get("request_id"))
        release_session()
        if not _wants_json():
            return _page(500, "Something went wrong on our side. The error has been logged.")
        return envelope(
            500, "internal_error", "unexpected server error; quote the request_id when reporting it"
        )
