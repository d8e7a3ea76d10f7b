"""Web pages for licenses and upgrade requests, calling the same services as the API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from distro.accounts.auth import page_access
from distro.core.db import get_session
from distro.core.errors import DistroError, ValidationError
from distro.core.pagekit import ButtonForm, show_error
from distro.core.pagination import paginate
from distro.core.parsers import parse_cursor
from distro.core.versions import version_tuple
from distro.licenses import services, upgrades
from distro.licenses.models import License, LicenseRequest
from distro.patches.models import Package
from distro.signing.keys import active_signer, get_key_source, lazy_signer

bp = Blueprint("license_pages", __name__)
PAGE = 100


class UpgradeForm(FlaskForm):
    target_version = SelectField(_l("Target version"), validators=[DataRequired()])
    note = TextAreaField(_l("Note for the approver"), validators=[Optional(), Length(max=2000)])


class ApproveForm(FlaskForm):
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])


class RejectForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


@bp.get("/licenses")
@page_access()
def licenses(actor):
    """A page at a time, by organisation (an admin's view holds every customer's)."""
    try:
        cursor = parse_cursor(request.args["cursor"]) if request.args.get("cursor") else None
    except ValidationError:
        cursor = None
    rows, later = paginate(
        get_session(),
        services.visible_licenses(actor).options(
            joinedload(License.org), joinedload(License.product)
        ),
        [License.org_id, License.id],
        PAGE,
        cursor,
        ascending=True,
    )
    return render_template("licenses.html", licenses=rows, actor=actor, later=later)


def newer_published_versions(session, license: License) -> list[str]:
    versions = set(
        session.scalars(select(Package.version).where(Package.product_id == license.product_id))
    )
    newer = [v for v in versions if version_tuple(v) > version_tuple(license.version)]
    return sorted(newer, key=version_tuple, reverse=True)


@bp.route("/licenses/<license_id>/upgrade", methods=["GET", "POST"])
@page_access("account_manager")
def upgrade(actor, license_id: str):
    session = get_session()
    source = services.license_for(session, actor, license_id)
    form = UpgradeForm()
    form.target_version.choices = newer_published_versions(session, source)
    if form.validate_on_submit():
        try:
            created = upgrades.submit_request(
                session,
                actor,
                license_id=source.id,
                target_version=form.target_version.data,
                note=form.note.data,
                signer=lazy_signer(session),
            )
            session.commit()
            if created.status == "issued":
                flash(_("The system reviewed the request and issued the new license."))
            else:
                flash(_("The upgrade request was submitted for approval."))
            return redirect(url_for("license_pages.requests"))
        except DistroError as exc:
            session.rollback()
            show_error(form, exc)
    return render_template("upgrade.html", source=source, form=form)


@bp.get("/requests")
@page_access("account_manager", "approver")
def requests(actor):
    session = get_session()
    rows = session.scalars(
        upgrades.visible_requests(actor).order_by(LicenseRequest.created_at.desc()).limit(300)
    ).all()
    pending = [r for r in rows if r.status == "pending"]
    decided = [r for r in rows if r.status != "pending"]
    issued = {
        lic.request_id: lic
        for lic in session.scalars(
            select(License).where(License.request_id.in_([r.id for r in decided]))
        )
    }
    return render_template(
        "requests.html",
        pending=pending,
        decided=decided,
        issued=issued,
        actor=actor,
        approve=ApproveForm(),
        reject=RejectForm(),
        button=ButtonForm(),
    )


def _decide(action) -> object:
    session = get_session()
    try:
        result = action(session)
        session.commit()
        return result
    except DistroError as exc:
        session.rollback()
        show_error(None, exc)
        return None


@bp.post("/requests/<request_id>/approve")
@page_access("approver", fresh=True)
def approve(actor, request_id: str):
    form = ApproveForm()
    if form.validate_on_submit():
        issued = _decide(
            lambda s: upgrades.approve_request(
                s, active_signer(s, get_key_source()), actor, request_id, form.note.data
            )
        )
        if issued:
            flash(_("Approved: license %(serial)s was issued.", serial=issued.serial))
    return redirect(url_for("license_pages.requests"))


@bp.post("/requests/<request_id>/reject")
@page_access("approver", fresh=True)
def reject(actor, request_id: str):
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("A rejection needs a reason."), "error")
    elif _decide(lambda s: upgrades.reject_request(s, actor, request_id, form.reason.data)):
        flash(_("The request was rejected."))
    return redirect(url_for("license_pages.requests"))


@bp.post("/requests/<request_id>/cancel")
@page_access("account_manager")
def cancel(actor, request_id: str):
    if ButtonForm().validate_on_submit() and _decide(
        lambda s: upgrades.cancel_request(s, actor, request_id)
    ):
        flash(_("The request was cancelled."))
    return redirect(url_for("license_pages.requests"))
