"""What the web pages share: the acting user, role guards and showing domain errors next
to the field that caused them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, flash, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.db import get_session
from distro.core.errors import DistroError


def page_access(*roles: str) -> Callable:
    """Logged-in people with one of `roles` (admins always); others get a 403 page."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            actor = Actor(user=current_user._get_current_object(), ip=request.remote_addr)
            if roles and not actor.has_role(*roles):
                abort(403)
            return view(actor, *args, **kwargs)

        return guarded

    return decorate


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
