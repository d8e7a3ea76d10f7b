"""The second-factor policy at the HTTP edge (the rules are `distro.accounts.mfa`'s).

Every request of a signed-in session passes `enforce_second_factor`: a person the policy
applies to who has no factor yet reaches only the views marked for enrolment, one whose
session is not checked yet only those marked for the check (and logout); pages are sent
to the enrolment or check page, API calls answer 403 `mfa_required`. Views that need a
fresh check call `require_fresh_check` (through `api_access(fresh=True)` and
`page_access(fresh=True)`). A test walks the URL map to prove no staff route slips by.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask import session as cookie
from flask_login import current_user

from distro.accounts import mfa, sessions
from distro.accounts.models import LoginSession, User
from distro.accounts.sealing import Sealer
from distro.core.db import get_session

API_PREFIX = "/api/"


def mfa_step(step: str) -> Callable:
    """Mark a view reachable before the policy is met: "enrol" (adding a first factor),
    "check" (this session's check) or "any" (logout, the language switch)."""

    def mark(view: Callable) -> Callable:
        view.mfa_step = step  # type: ignore[attr-defined]
        return view

    return mark


def setting() -> mfa.Setting:
    config = current_app.config
    return mfa.Setting(config["STAFF_MFA"], Sealer(config["SECRET_KEY"]))


def current_login() -> LoginSession | None:
    """The server-side session of this request's cookie (None for tokens and nobody)."""
    if "login_session" not in g:
        user = current_user if current_user.is_authenticated else None
        g.login_session = (
            sessions.live_session(get_session(), cookie.get(sessions.COOKIE_KEY), user.id)
            if user is not None and g.get("api_token") is None
            else None
        )
    return g.login_session


def machine_endpoint() -> bool:
    """Whether this request is for a static file or a view marked `not_a_page` (health
    checks, metrics): no person's page, so neither page rule applies to it."""
    view = current_app.view_functions.get(request.endpoint or "")
    return request.endpoint == "static" or getattr(view, "not_a_page", False)


def enforce_second_factor():
    """Send a session that has not met the policy to enrolment or to its check."""
    if not current_user.is_authenticated or g.get("api_token") is not None:
        return None
    if machine_endpoint():
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    user: User = current_user._get_current_object()
    step = mfa.step(get_session(), user, current_login(), setting())
    marked = getattr(view, "mfa_step", None)
    if step == "ok" or marked in (step, "any"):
        return None
    if request.path.startswith(API_PREFIX):
        raise mfa.MfaRequired(
            "this session needs a second factor first: "
            + (
                "enrol one (POST /api/v1/mfa/totp)"
                if step == "enrol"
                else "POST /api/v1/mfa/verify"
            )
        )
    target = "mfa_pages.enrol" if step == "enrol" else "mfa_pages.check"
    return redirect(url_for(target, next=came_from()))


def came_from() -> str:
    """Where to come back to after the check: this page, or for a form's POST the page
    the form was on (same site only)."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path.startswith("/"):
        return came_from.path + (f"?{came_from.query}" if came_from.query else "")
    return "/"


def require_fresh_check(user: User) -> None:
    """403 mfa_required unless this session was checked in the last five minutes (for a
    person the policy applies to). Token requests pass: they carry no second factor."""
    if g.get("api_token") is not None:
        return
    mfa.require_fresh(get_session(), user, current_login(), setting())
