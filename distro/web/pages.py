"""Pages every user has: the start page and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, current_app, redirect, render_template, request
from flask_login import current_user, login_required

from distro.web.i18n import COOKIE, LANGUAGES

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def index():
    return render_template("index.html", user=current_user)


@bp.get("/lang/<code>")
def language(code: str):
    """Remember the chosen language in a cookie and go back to the page."""
    target = request.args.get("next", "/")
    if urlparse(target).netloc or not target.startswith("/"):
        target = "/"
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(
            COOKIE,
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
