"""Who is calling: session cookies for people, bearer tokens for programs, role checks.

Flask-Login's `request_loader` accepts `Authorization: Bearer` tokens; the token used
is kept on `g` so that services can tell an installer token from its owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, g, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from limits import parse as parse_limit
from wtforms import ValidationError as WTFormsValidationError

from distro import audit
from distro.accounts import tokens
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.db import get_session
from distro.core.errors import Forbidden, TooManyAttempts, Unauthenticated
from distro.core.ids import is_id
from distro.core.limits import limiter
from distro.core.metrics import ERRORS

login_manager = LoginManager()
csrf = CSRFProtect()

log = logging.getLogger("distro")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """`id.epoch` (see `User.get_id`): a session from before a password reset, or of a
    disabled account, is nobody."""
    user_id, _, epoch = session_id.partition(".")
    user = get_session().get(User, user_id) if is_id(user_id) else None
    if user is None or user.disabled or str(user.session_epoch) != epoch:
        return None
    return user


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = tokens.authenticate(get_session(), header[len("Bearer ") :].strip())
    if token is None:
        g.bad_token = True
        return None
    g.api_token = token
    return token.user


def current_actor() -> Actor:
    """The caller of this request; raises 401 when nobody is logged in."""
    if not current_user.is_authenticated:
        if g.get("bad_token"):
            refuse_bad_token()
        raise Unauthenticated("log in or send Authorization: Bearer TOKEN")
    return Actor(
        user=current_user._get_current_object(), token=g.get("api_token"), ip=request.remote_addr
    )


def refuse_bad_token() -> None:
    """Audit a failed bearer token and answer 401; past the per-address limit, 429.

    Guessing a 256-bit secret is hopeless, but the attempts are still worth seeing, and
    the limit keeps a flood of them from writing unbounded audit rows.
    """
    ip = request.remote_addr or "-"
    if not _within_bad_token_limit(ip):
        raise TooManyAttempts("too many failed token attempts from this address; wait a minute")
    presented = request.headers.get("Authorization", "")[len("Bearer ") :].strip()
    prefix = (tokens.token_prefix(presented) or "malformed")[:16]
    session = get_session()
    audit.record(session, Actor(user=None, ip=ip), "auth.token_failure", prefix=prefix)
    session.commit()
    raise Unauthenticated("the bearer token is unknown, expired or revoked")


def _within_bad_token_limit(ip: str) -> bool:
    """Count a failed token against the address's limit. When the limit store (Redis)
    cannot be reached the request is not throttled: failing open keeps the service up,
    and the failure is logged."""
    limit = parse_limit(current_app.config["BAD_TOKEN_RATE_LIMIT"])
    try:
        return limiter.limiter.hit(limit, "bad-token", ip)
    except Exception as exc:  # the storage backend's own errors (redis, ...)
        ERRORS.labels("rate_limit_store_unavailable").inc()
        log.warning("rate limit store unavailable, not throttling bad tokens: %r", exc)
        return True


def require_csrf_header() -> None:
    """Cookie-authenticated API writes must send the page's token in X-CSRFToken.

    Only the header is read: looking into the body (as `CSRFProtect.protect` does) would
    consume a streamed upload before the view could stream it to storage.
    """
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    try:
        validate_csrf(token)
    except WTFormsValidationError as exc:
        raise CSRFError(exc.args[0] if exc.args else "CSRF token missing") from None


def api_access(*roles: str, installer: bool = False) -> Callable:
    """Guard an API view: authenticated, one of `roles` (admin always), and installer
    tokens only where `installer` says the view belongs to the read-only download part.

    With no roles given, any authenticated user may call the view (the service then
    narrows what it returns to the caller's organisation).
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            actor = current_actor()
            if actor.is_installer and not installer:
                raise Forbidden("installer tokens may only use the download part of the API")
            if roles and not actor.has_role(*roles):
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            if g.get("api_token") is None and request.method not in ("GET", "HEAD", "OPTIONS"):
                require_csrf_header()
            return view(actor, *args, **kwargs)

        return guarded

    return decorate
