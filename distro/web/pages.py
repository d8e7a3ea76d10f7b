"""Pages every user has: the start page and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, redirect, render_template, request
from flask_login import current_user, login_required

from distro.accounts import members
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.db import get_session, write_session
from distro.web.i18n import LANGUAGES, remember_in_cookie
from distro.web.start import start_page

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def index():
    actor = Actor(user=current_user._get_current_object())
    return render_template(
        "index.html", user=current_user, sections=start_page(get_session(), actor)
    )


@bp.get("/lang/<code>")
def language(code: str):
    """Remember the chosen language in a cookie and go back to the page."""
    target = request.args.get("next", "/")
    if urlparse(target).netloc or not target.startswith("/"):
        target = "/"
    response = redirect(target)
    if code in LANGUAGES and current_user.is_authenticated:
        # A GET's session reads without a transaction; this write takes its own.
        with write_session() as session:
            members.choose_language(session.get(User, current_user.id), code)
            session.commit()
    if code in LANGUAGES:
        remember_in_cookie(response, code)
    return response
