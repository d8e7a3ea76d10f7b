"""Pages for getting into an account without one's password: asking for a reset link,
setting a new password from it, and accepting an invitation."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from distro.accounts import invitations, resets
from distro.core.db import get_session
from distro.core.errors import DistroError, Gone
from distro.core.limits import limiter
from distro.core.pagekit import show_error

bp = Blueprint("onboarding_pages", __name__)


class AskForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


def _limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def ask():
    form, sent = AskForm(), False
    if form.validate_on_submit():
        session = get_session()
        try:
            resets.request_reset(session, form.email.data, request.remote_addr, _limit())
            session.commit()
            sent = True
        except DistroError as exc:
            show_error(form, exc)
    return render_template("password_reset_ask.html", form=form, sent=sent)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def reset(token: str):
    return _choose_password(
        token,
        lambda session: {"email": resets.valid_reset(session, token).user.email},
        resets.reset_password,
        "password_reset.html",
        _("Your password is changed. Log in with the new one."),
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def accept(token: str):
    return _choose_password(
        token,
        lambda session: {"invitation": invitations.open_invitation(session, token)},
        invitations.accept,
        "invitation_accept.html",
        _("Your account is ready. Log in with your e-mail and new password."),
    )


def _choose_password(token: str, opened, apply, template: str, done: str):
    """A page behind a mailed link that sets a password: 410 when the link is dead,
    else the form, and on success the login page."""
    session, form = get_session(), NewPasswordForm()
    try:
        context = opened(session)
    except Gone as exc:
        return render_template("link_invalid.html", message=exc.message), 410
    if form.validate_on_submit():
        try:
            apply(session, token, form.password.data, ip=request.remote_addr)
            session.commit()
            flash(done)
            return redirect(url_for("accounts.login"))
        except DistroError as exc:
            session.rollback()
            show_error(form, exc)
    return render_template(template, form=form, **context)
