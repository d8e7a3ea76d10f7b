"""The "Users" page of customer admins (people, invitations) and everyone's own
"Account" page (language, package notices)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from distro.accounts import feedkeys, invitations, members, mfa, recovery
from distro.accounts.auth import page_access
from distro.accounts.gate import setting
from distro.accounts.models import CUSTOMER_ROLES, ROLES, Invitation, User
from distro.core.db import get_session
from distro.core.errors import DistroError, NotFound
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
@page_access("customer_admin", fresh=True)
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
        org=actor.user.org,
    )


def _act(action, success: str):
    if ButtonForm().validate_on_submit():
        attempt(action, success)
    return redirect(url_for("people.users"))


@bp.post("/users/<user_id>/disable")
@page_access("customer_admin", fresh=True)
def disable(actor, user_id: str):
    return _act(lambda s: members.set_disabled(s, actor, user_id, True), _("The user is disabled."))


@bp.post("/users/<user_id>/enable")
@page_access("customer_admin", fresh=True)
def enable(actor, user_id: str):
    return _act(lambda s: members.set_disabled(s, actor, user_id, False), _("The user is enabled."))


@bp.post("/invitations/<invitation_id>/resend")
@page_access("customer_admin", fresh=True)
def resend(actor, invitation_id: str):
    return _act(
        lambda s: invitations.resend(s, actor, invitation_id), _("The invitation is sent again.")
    )


@bp.post("/invitations/<invitation_id>/revoke")
@page_access("customer_admin", fresh=True)
def revoke(actor, invitation_id: str):
    return _act(
        lambda s: invitations.revoke(s, actor, invitation_id), _("The invitation is revoked.")
    )


@bp.post("/users/require-mfa")
@page_access("customer_admin", fresh=True)
def require_mfa(actor):
    wanted = request.form.get("required") == "on"
    return _act(
        lambda s: members.require_second_factor(s, actor, wanted),
        _("Everyone of your organisation needs a second factor now.")
        if wanted
        else _("A second factor is now up to each person of your organisation."),
    )


@bp.post("/users/<user_id>/reset-mfa")
@page_access("admin", fresh=True)
def reset_mfa(actor, user_id: str):
    """An admin resets the second factors of a person who lost them."""

    def reset(session):
        person = session.scalars(members.visible_users(actor).where(User.id == user_id)).first()
        if person is None:
            raise NotFound("no such user")
        mfa.reset_factors(session, actor, person)

    return _act(reset, _("The second factors are reset; the person was told by mail."))


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
    return render_template(
        "account.html",
        form=form,
        user=user,
        factors=mfa.factors(session, user),
        codes_left=recovery.left(session, user),
        mfa_required=mfa.applies(user, setting()),
        button=ButtonForm(),
        feed_key=feedkeys.feed_key_of(session, user),
    )
