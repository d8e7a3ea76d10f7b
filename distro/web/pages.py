"""Pages every user has: the start page and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_login import current_user, login_required

from distro.accounts import members
from distro.accounts.actor import Actor
from distro.accounts.auth import page_access
from distro.accounts.gate import mfa_step
from distro.accounts.models import User
from distro.core.db import get_session
from distro.core.i18n import LANGUAGES, remember_in_cookie
from distro.core.pagekit import csv_response, local_path
from distro.web.start import admin_view, start_page

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def index():
    actor = Actor(user=current_user._get_current_object())
    return render_template(
        "index.html", user=current_user, sections=start_page(get_session(), actor)
    )


@bp.get("/activity.csv")
@page_access("admin")
def activity_csv(actor):
    """The admin start page's chart as numbers: downloads and publishes per day."""
    view = admin_view(get_session())
    rows = [("day", "downloads", "publishes")] + [
        (day.isoformat(), n, p) for day, n, p in view["activity"]
    ]
    return csv_response(rows, "activity.csv")


@bp.post("/lang/<code>")
@mfa_step("any")
def language(code: str):
    """Remember the chosen language in a cookie (and for a signed-in user, on their
    account: mail follows it) and go back to the page. A POST with the page's CSRF
    token: a GET must never change what is stored."""
    target = local_path(request.form.get("next"))
    response = redirect(target)
    if code not in LANGUAGES:
        return response
    if current_user.is_authenticated:
        session = get_session()
        members.choose_language(session.get(User, current_user.id), code)
        session.commit()
    return remember_in_cookie(response, code)
