"""Pages of the second factor: the check a session starts with, enrolment (an
authenticator app here, a security key through the page's script and the API), and the
factors on the Account page. They work without script, but for security keys."""

from __future__ import annotations

import base64
import io

import segno
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from distro.accounts import mfa, recovery, totp
from distro.accounts.auth import page_access
from distro.accounts.gate import current_login, mfa_step, setting
from distro.api.inputs import no_store
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.pagekit import ButtonForm, local_path, show_error

bp = Blueprint("mfa_pages", __name__)


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=40)],
    )


class AppForm(FlaskForm):
    name = StringField(_l("Name of the app or phone"), validators=[Length(max=100)])


def _next() -> str:
    """Where to go after the check: a path of this site, else the start page."""
    return local_path(request.values.get("next"))


@bp.route("/mfa", methods=["GET", "POST"])
@mfa_step("check")
@page_access()
def check(actor):
    session, form, login = get_session(), CodeForm(), current_login()
    if form.validate_on_submit():
        try:
            mfa.verify_code(
                session, actor.user, login, form.code.data, setting(), request.remote_addr
            )
            session.commit()
            return redirect(_next())
        except DistroError as exc:
            session.commit()  # the failure's count and audit row
            show_error(form, exc)
    keys = [f for f in mfa.factors(session, actor.user) if f.kind == "webauthn"]
    return render_template("mfa_check.html", form=form, keys=keys, next=_next())


@bp.get("/mfa/enrol")
@mfa_step("enrol")
@page_access()
def enrol(actor):
    session = get_session()
    return render_template(
        "mfa_enrol.html",
        factors=mfa.factors(session, actor.user),
        app_form=AppForm(),
        next=_next(),
        required=mfa.applies(actor.user, setting()),
    )


@bp.post("/mfa/enrol/app")
@mfa_step("enrol")
@page_access()
def enrol_app(actor):
    """Show a new authenticator app's secret (and its QR code) to confirm with a code."""
    session, form = get_session(), AppForm()
    if not form.validate_on_submit():
        return redirect(url_for("mfa_pages.enrol"))
    try:
        mfa.may_change_factors(session, actor.user, current_login(), setting())
        _factor, secret, uri = totp.begin(session, actor.user, setting().sealer, form.name.data)
        session.commit()
    except DistroError as exc:
        show_error(None, exc)
        return redirect(url_for("mfa_pages.enrol"))
    page = render_template(
        "mfa_app.html", secret=secret, qr=_qr(uri), uri=uri, form=CodeForm(), next=_next()
    )
    return no_store(make_response(page))  # the secret: never in a cache


@bp.post("/mfa/enrol/app/confirm")
@mfa_step("enrol")
@page_access()
def confirm_app(actor):
    session, form, login = get_session(), CodeForm(), current_login()
    if form.validate_on_submit():
        try:
            mfa.may_change_factors(session, actor.user, login, setting())
            factor = totp.confirm(session, actor.user, form.code.data, setting().sealer)
            codes = mfa.enrolled(session, actor.user, factor, request.remote_addr)
            login.checked_at = factor.confirmed_at
            session.commit()
            flash(_("The authenticator app is set up."))
            page = render_template("mfa_codes.html", codes=codes, next=_next())
            return no_store(make_response(page))
        except DistroError as exc:
            session.rollback()
            flash(exc.message, "error")
    return redirect(url_for("mfa_pages.enrol", next=_next()))


@bp.post("/mfa/factors/<factor_id>/remove")
@page_access()
def remove(actor, factor_id: str):
    session = get_session()
    if ButtonForm().validate_on_submit():
        try:
            mfa.remove_factor(
                session, actor.user, current_login(), factor_id, setting(), request.remote_addr
            )
            session.commit()
            flash(_("The second factor is removed."))
        except DistroError as exc:
            session.rollback()
            show_error(None, exc)
    return redirect(url_for("people.account"))


@bp.post("/mfa/recovery-codes")
@page_access()
def new_codes(actor):
    session = get_session()
    if ButtonForm().validate_on_submit():
        try:
            mfa.may_change_factors(session, actor.user, current_login(), setting())
            codes = recovery.new_codes(session, actor.user)
            session.commit()
            page = render_template("mfa_codes.html", codes=codes, next=url_for("people.account"))
            return no_store(make_response(page))
        except DistroError as exc:
            session.rollback()
            show_error(None, exc)
    return redirect(url_for("people.account"))


def _qr(uri: str) -> str:
    """The otpauth:// address as an SVG data URI (drawn here: no QR service is asked)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
