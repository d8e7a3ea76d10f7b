"""What the web pages of every feature share: showing domain errors next to the field
that caused them, one-click actions, and CSV downloads of a page's numbers.
Infrastructure below the features (who may see a page is
`distro.accounts.auth.page_access`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, flash, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from distro.core.db import get_session
from distro.core.errors import DistroError, ValidationError
from distro.core.parsers import parse_cursor


def show_error(form: FlaskForm | None, exc: DistroError) -> None:
    """Attach the error to its field when the form has it, else flash it."""
    field = getattr(form, exc.field, None) if form is not None and exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


class ButtonForm(FlaskForm):
    """A form with nothing but its CSRF token, for one-click actions."""


def attempt(action: Callable[[Session], object], success: str) -> bool:
    """Run a page's one-click use case in the request's session: commit and flash
    `success`, or roll back and show the domain error. True when it went through."""
    session = get_session()
    try:
        action(session)
        session.commit()
    except DistroError as exc:
        session.rollback()
        show_error(None, exc)
        return False
    flash(success)
    return True


def csv_response(rows: list, filename: str) -> Response:
    """A small table (a chart's numbers) as a CSV download."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def local_path(target: object, default: str = "/") -> str:
    """`target` if it is a path of this site, else `default`: where a page may send
    someone back to. Browsers read a backslash as a slash, so "/\\evil.example" and
    "//evil.example" both leave the site."""
    if not isinstance(target, str) or not target.startswith("/"):
        return default
    if target.startswith("//") or "\\" in target or urlsplit(target).netloc:
        return default
    return target


def page_cursor() -> str | None:
    """The page's `cursor` argument; one that is not ours starts from the first page."""
    raw = request.args.get("cursor")
    try:
        return parse_cursor(raw) if raw else None
    except ValidationError:
        return None
