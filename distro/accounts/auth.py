"""Who is calling: session cookies for people, bearer tokens for programs, role checks.

Flask-Login's `request_loader` accepts `Authorization: Bearer` tokens; the token used
is kept on `g` so that services can tell an installer token from its owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask import session as cookie
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from limits import parse as parse_limit
from wtforms import ValidationError as WTFormsValidationError

from distro import audit
from distro.accounts import gate, sessions, tokens
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.db import get_session
from distro.core.errors import DistroError, Forbidden, TooManyAttempts, Unauthenticated
from distro.core.ids import is_id
from distro.core.limits import limiter
from distro.core.metrics import ERRORS

login_manager = LoginManager()
csrf = CSRFProtect()

log = logging.getLogger("distro")


API_PREFIX = gate.API_PREFIX
SESSION_KEY = sessions.COOKIE_KEY


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "strong"
    app.before_request(refuse_tokens_on_pages)  # before the CSRF check reads a form
    csrf.init_app(app)
    app.before_request(gate.enforce_second_factor)


def not_a_page(view: Callable) -> Callable:
    """Mark a view outside /api/ that is no page (health checks, the metrics endpoint,
    which checks a bearer token of its own): `refuse_tokens_on_pages` lets it through."""
    view.not_a_page = True  # type: ignore[attr-defined]
    return view


def refuse_tokens_on_pages() -> None:
    """Pages are for people in a session: a bearer token on a page route is 401, so an
    installer's token can never read the organisation's people, tokens or licenses
    through the web pages (review finding 2). Tokens work under /api/ only."""
    if request.path.startswith(API_PREFIX):
        return
    if not request.headers.get("Authorization", "").lower().startswith("bearer "):
        return
    if gate.machine_endpoint():
        return
    raise Unauthenticated(
        "API tokens work only under /api/; pages need a signed-in session", code="token_on_page"
    )


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """`id.epoch` (see `User.get_id`) of a live server-side session (`sessions`): a
    session from before a password reset, one that was logged out or has expired, or
    one of a disabled account, is nobody."""
    user_id, _, epoch = session_id.partition(".")
    user = get_session().get(User, user_id) if is_id(user_id) else None
    if user is None or user.disabled or str(user.session_epoch) != epoch:
        return None
    if sessions.live_session(get_session(), cookie.get(SESSION_KEY), user.id) is None:
        return None
    return user


def sign_in(user: User) -> None:
    """Start a server-side session for `user` and put it in the cookie; the caller
    commits."""
    row = sessions.start_session(
        get_session(), user, request.remote_addr, request.headers.get("User-Agent")
    )
    cookie.clear()  # nothing of the session before the login carries over
    cookie[SESSION_KEY] = row.id
    login_user(user)


def sign_out() -> None:
    """End the server-side session (a saved copy of the cookie is then worthless) and
    forget it in the browser; the caller commits."""
    sessions.end_session(get_session(), cookie.get(SESSION_KEY))
    logout_user()
    cookie.pop(SESSION_KEY, None)


@login_manager.request_loader
def _load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith(API_PREFIX):
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


def page_access(*roles: str, fresh: bool = False) -> Callable:
    """Guard a page: signed-in people with one of `roles` (admins always); others get a
    403 page, and nobody signed in goes to the login page. With `fresh`, a POST needs a
    second-factor check of the last five minutes (`distro.accounts.mfa`); without one the
    person is sent to the check and comes back to the page (the pages' script asks for
    it in place, so this is for browsers without script)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            actor = Actor(user=current_user._get_current_object(), ip=request.remote_addr)
            if roles and not actor.has_role(*roles):
                abort(403)
            if fresh and request.method == "POST":
                try:
                    gate.require_fresh_check(actor.user)
                except DistroError:
                    flash(_l("Confirm it is you, then do it again."), "error")
                    return redirect(url_for("mfa_pages.check", next=gate.came_from()))
            return view(actor, *args, **kwargs)

        return guarded

    return decorate


def api_access(*roles: str, installer: bool = False, fresh: bool = False) -> Callable:
    """Guard an API view: authenticated, one of `roles` (admin always), and installer
    tokens only where `installer` says the view belongs to the read-only download part.
    With `fresh`, a session needs a second-factor check of the last five minutes (403
    `mfa_required`; tokens carry no second factor and need none).

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
            if fresh and actor.user is not None:
                gate.require_fresh_check(actor.user)
            return view(actor, *args, **kwargs)

        return guarded

    return decorate
