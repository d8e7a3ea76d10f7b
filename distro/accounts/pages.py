"""Account pages: login, logout, and a user's own API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from distro.accounts import members, tokens
from distro.accounts.auth import page_access, sign_in, sign_out
from distro.accounts.gate import mfa_step
from distro.accounts.logins import check_login
from distro.accounts.models import ApiToken
from distro.api.inputs import no_store
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.limits import limiter
from distro.core.pagekit import ButtonForm, show_error
from distro.core.parsers import parse_integer_text

bp = Blueprint("accounts", __name__)
TOKENS_LISTED = 500  # the newest; `GET /api/v1/tokens` pages through all of them


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    # Text, parsed by the token service: WTForms' IntegerField would take `٣` via int().
    expires_days = StringField(
        _l("Valid for (days)"),
        default=str(tokens.DEFAULT_DAYS),
        validators=[DataRequired(), Length(max=20)],
    )
    installer = BooleanField(_l("Installer token (download only)"), default=True)


_LOGIN_ERRORS = {
    "wrong_password": _l("Wrong e-mail or password."),
    "account_disabled": _l("This account is disabled. Ask your administrator."),
    "too_many_attempts": _l("Too many failed attempts. Wait a while and try again."),
}


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@mfa_step("any")  # someone half signed in may sign in again, as another person too
@limiter.limit(
    _login_limit,
    methods=["POST"],
    error_message="Too many login attempts; wait a minute and try again.",
)
def login():
    form, status, wait = LoginForm(), 200, None
    if form.validate_on_submit():
        session = get_session()
        try:
            user = check_login(
                session, form.email.data, form.password.data, request.remote_addr, _login_limit()
            )
        except DistroError as exc:
            session.commit()  # the failure's audit row and throttle counts
            form.password.errors.append(_LOGIN_ERRORS.get(exc.code, exc.message))
            status, wait = exc.status, getattr(exc, "retry_after", None)
        else:
            sign_in(user)
            members.remember_last_language(user, str(get_locale()))
            session.commit()
            return redirect(url_for("web.index"))
    elif request.method == "POST":
        status = 400
    response = make_response(render_template("login.html", form=form), status)
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/logout")
@mfa_step("any")
@login_required
def logout():
    sign_out()
    get_session().commit()
    flash(_("You are logged out."))
    return redirect(url_for("accounts.login"))


@bp.route("/tokens", methods=["GET", "POST"], endpoint="tokens")
@page_access(fresh=True)
def tokens_page(actor):
    session, form, secret = get_session(), TokenForm(), None
    if form.validate_on_submit():
        try:
            installer = form.installer.data and actor.user.org_id is not None
            days = parse_integer_text(form.expires_days.data, "expires_days", 1, tokens.MAX_DAYS)
            _token, secret = tokens.create_token(
                session,
                actor,
                actor.user,
                name=form.name.data,
                installer=installer,
                expires_days=days,
            )
            session.commit()
        except DistroError as exc:
            show_error(form, exc)
    rows = session.scalars(
        tokens.visible_tokens(actor).order_by(ApiToken.created_at.desc()).limit(TOKENS_LISTED)
    ).all()
    page = render_template("tokens.html", form=form, rows=rows, secret=secret, button=ButtonForm())
    return no_store(make_response(page))


@bp.post("/tokens/<token_id>/revoke")
@page_access()
def revoke(actor, token_id: str):
    if ButtonForm().validate_on_submit():
        session = get_session()
        try:
            tokens.revoke_token(session, actor, token_id)
            session.commit()
            flash(_("The token is revoked."))
        except DistroError as exc:
            show_error(None, exc)
    return redirect(url_for("accounts.tokens"))
