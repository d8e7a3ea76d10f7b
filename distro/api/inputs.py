"""Small helpers the API views share: request bodies, list arguments and responses.

Every request body is read whole, within `DISTRO_MAX_BODY_BYTES`, before anything else
looks at the request (`read_small_body`); a package upload is the one kind of view that
streams its body instead, under its own limit (`streams_body`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask import Flask, Request, Response, current_app, request

from distro.core.errors import TooLarge, ValidationError

# Deeper JSON than this is no request of ours; it is refused before Python recurses.
MAX_JSON_DEPTH = 32


def init_app(app: Flask) -> None:
    """Register `read_small_body` ahead of every hook that may open a transaction (or
    parse a form: the CSRF check)."""
    app.before_request(read_small_body)


def streams_body(limit_setting: str, framing: int = 0) -> Callable:
    """Mark a view that streams its own body (a package upload), up to the setting
    `limit_setting` plus `framing` bytes; every other view gets its body read whole,
    within `DISTRO_MAX_BODY_BYTES`, before it runs."""

    def mark(view: Callable) -> Callable:
        view.streamed_body = (limit_setting, framing)  # type: ignore[attr-defined]
        return view

    return mark


def read_small_body() -> None:
    """Read the body before anything else looks at the request, or refuse it (413).

    Werkzeug has refused a declared length over the limit already; a chunked body stops
    one byte past it (`MAX_CONTENT_LENGTH` is the limit + 1, so that a body that does not
    fit can be told from one that fits exactly). Read first, because a client that sends
    its headers and then dribbles its body would otherwise keep a write transaction open
    (on SQLite: the database's one write lock) for as long as it liked. A view marked
    `streams_body` gets its own limit instead and streams on its own terms.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    streamed = getattr(view, "streamed_body", None)
    if streamed is not None:
        setting, framing = streamed
        allow_large_body(current_app.config[setting], framing)
        return
    limit = current_app.config["MAX_BODY_BYTES"]
    if len(request.get_data(cache=True)) > limit:
        raise TooLarge(body_limit_message(limit))


def body_limit_message(limit: int) -> str:
    return (
        f"request bodies are limited to {limit} bytes (package uploads to "
        "DISTRO_MAX_UPLOAD_BYTES); nothing past that was read"
    )


def allow_large_body(limit: int, framing: int = 0) -> None:
    """Let this request's body be up to `limit` bytes of content plus `framing` (a
    package upload's multipart parts); `request.stream` keeps the limit it was opened
    with, so this runs before anything touches it."""
    if request.content_length is not None and request.content_length > limit + framing:
        raise TooLarge(f"the upload is larger than the limit of {limit} bytes")
    request.max_content_length = limit + framing


def json_body(req: Request | None = None, *, optional: bool = False) -> dict:
    """The request's JSON object; a clear 400 for anything else (413 past the limit)."""
    req = req or request
    raw = req.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ValidationError(
            "send a JSON object with Content-Type: application/json", code="invalid_json"
        )
    if not req.is_json:
        raise ValidationError("Content-Type must be application/json", code="invalid_json")
    body = parse_json_document(raw)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", code="invalid_json")
    return body


def parse_json_document(raw: bytes | str) -> object:
    """JSON text as Python values; 400 for malformed text and for nesting deeper than
    `MAX_JSON_DEPTH` (which would otherwise exhaust Python's stack: a 500)."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError(
            f"the body is not valid JSON (or nests deeper than {MAX_JSON_DEPTH} levels)",
            code="invalid_json",
        ) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(
            f"JSON may nest at most {MAX_JSON_DEPTH} levels deep", code="invalid_json"
        )
    return value


def _depth(value: object) -> int:
    """How deeply arrays and objects nest in `value`, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def no_store(response: Response) -> Response:
    """A response that carries a secret (a new token, a license file) must not stay in a
    browser's or a proxy's cache (review finding 11)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def query_choice(name: str, choices: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(choices)}", field=name)
    return value
