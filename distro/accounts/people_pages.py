"""The "Users" page of customer admins (people, invitations) and everyone's own
"Account" page (language, package notices)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from distro.accounts import invitations, members
from distro.accounts.auth import page_access
from distro.accounts.models import CUSTOMER_ROLES, ROLES, Invitation
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.i18n import LANGUAGES, remember_in_cookie
from distro.core.pagekit import ButtonForm, attempt, show_error

bp = Blueprint("people", __name__)

INVITATION_LABELS = {
    "pending": _l("pending"),
    "expired": _l("expired"),
    "revoked": _l("revoked"),
    "accepted": _l("accepted"),
}


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"))
    org = StringField(_l("Organisation code"), validators=[Length(max=32)])


class AccountForm(FlaskForm):
    language = SelectField(
        _l("Language of pages and mail"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )
    notify_packages = BooleanField(_l("Mail me when a package is published for us"))


@bp.route("/users", methods=["GET", "POST"])
@page_access("customer_admin")
def users(actor):
    session, form = get_session(), InviteForm()
    form.role.choices = list(CUSTOMER_ROLES if actor.role == "customer_admin" else ROLES)
    if form.validate_on_submit():
        try:
            invitations.invite(
                session,
                actor,
                form.email.data,
                form.role.data,
                org=form.org.data or None,
                language=str(get_locale()),
            )
            session.commit()
            flash(_("The invitation is on its way to %(email)s.", email=form.email.data))
            return redirect(url_for("people.users"))
        except DistroError as exc:
            session.rollback()
            show_error(form, exc)
    people = session.scalars(members.visible_users(actor).limit(500)).all()
    invited = session.scalars(
        invitations.visible_invitations(actor)
        .where(Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "users.html",
        form=form,
        people=people,
        invited=invited,
        status_of=invitations.status_of,
        labels=INVITATION_LABELS,
        button=ButtonForm(),
        staff_view=actor.role == "admin",
    )


def _act(action, success: str):
    if ButtonForm().validate_on_submit():
        attempt(action, success)
    return redirect(url_for("people.users"))


@bp.post("/users/<user_id>/disable")
@page_access("customer_admin")
def disable(actor, user_id: str):
    return _act(lambda s: members.set_disabled(s, actor, user_id, True), _("The user is disabled."))


@bp.post("/users/<user_id>/enable")
@page_access("customer_admin")
def enable(actor, user_id: str):
    return _act(lambda s: members.set_disabled(s, actor, user_id, False), _("The user is enabled."))


@bp.post("/invitations/<invitation_id>/resend")
@page_access("customer_admin")
def resend(actor, invitation_id: str):
    return _act(
        lambda s: invitations.resend(s, actor, invitation_id), _("The invitation is sent again.")
    )


@bp.post("/invitations/<invitation_id>/revoke")
@page_access("customer_admin")
def revoke(actor, invitation_id: str):
    return _act(
        lambda s: invitations.revoke(s, actor, invitation_id), _("The invitation is revoked.")
    )


@bp.route("/account", methods=["GET", "POST"])
@page_access()
def account(actor):
    session, user = get_session(), actor.user
    form = AccountForm(
        language=user.language or str(get_locale()), notify_packages=user.notify_packages
    )
    if form.validate_on_submit():
        try:
            members.set_preferences(
                session,
                user,
                language=form.language.data,
                notify_packages=form.notify_packages.data,
            )
            session.commit()
            flash(_("Your settings are saved."))
            response = redirect(url_for("people.account"))
            return remember_in_cookie(response, form.language.data)
        except DistroError as exc:
            session.rollback()
            show_error(form, exc)
    return render_template("account.html", form=form, user=user)
