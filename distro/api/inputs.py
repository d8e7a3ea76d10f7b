"""Small helpers the API views share: JSON bodies, list arguments and responses."""

from __future__ import annotations

import json

from flask import Flask, Request, request

from distro.core.errors import TooLarge, ValidationError

MAX_JSON_BYTES = 1024 * 1024
# Bodies read whole before a request touches the database (see `read_small_body`).
_READ_FIRST = ("application/json", "application/x-www-form-urlencoded")


def init_app(app: Flask) -> None:
    """Register `read_small_body` ahead of every hook that may open a transaction."""
    app.before_request(read_small_body)


def read_small_body() -> None:
    """Read a small JSON or form body before authentication opens a transaction.

    Otherwise a client that sends its headers and then dribbles its body would keep a
    write transaction open (on SQLite: the database's one write lock) for as long as it
    liked. Uploads are multipart and stream on their own terms (they commit first).
    """
    length = request.content_length
    if request.mimetype in _READ_FIRST and length and length <= MAX_JSON_BYTES:
        request.get_data(cache=True)


def json_body(req: Request | None = None, *, optional: bool = False) -> dict:
    """The request's JSON object; a clear 400/413 for anything else."""
    req = req or request
    if req.content_length and req.content_length > MAX_JSON_BYTES:
        raise TooLarge(f"JSON bodies are limited to {MAX_JSON_BYTES} bytes")
    raw = req.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise TooLarge(f"JSON bodies are limited to {MAX_JSON_BYTES} bytes")
    if not raw.strip():
        if optional:
            return {}
        raise ValidationError(
            "send a JSON object with Content-Type: application/json", code="invalid_json"
        )
    if not req.is_json:
        raise ValidationError("Content-Type must be application/json", code="invalid_json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code="invalid_json")
    return body


def query_choice(name: str, choices: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(choices)}", field=name)
    return value
