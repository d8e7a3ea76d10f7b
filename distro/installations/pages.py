"""Pages: the customer's installations with rings and ring approvals, and the vendor's
fleet view with the account managers' eligible upgrades."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.versions import release_line, version_key
from distro.installations import fleet as fleet_service
from distro.installations import services
from distro.installations.models import Installation
from distro.patches.entitlement import entitled_products
from distro.patches.models import Package, Product
from distro.signing.keys import lazy_signer
from distro.web.pagekit import ButtonForm, attempt, page_access, show_error

bp = Blueprint("installation_pages", __name__)


class RingForm(FlaskForm):
    ring = StringField(_l("Ring"), validators=[DataRequired(), Length(max=32)])


class ApprovalForm(FlaskForm):
    ring = StringField(_l("Ring"), validators=[DataRequired(), Length(max=32)])
    product = SelectField(_l("Product"))
    version = StringField(_l("Approved version"), validators=[DataRequired(), Length(max=64)])
    deadline = StringField(_l("Install by (YYYY-MM-DD, optional)"), validators=[Length(max=10)])


def behind(session, installation: Installation, newest: dict) -> tuple[str | None, int]:
    """(newest version of its release line, how many patches it is behind)."""
    top = newest.get(release_line(installation.version))
    if top is None:
        return None, 0
    count = session.scalar(
        select(func.count())
        .select_from(Package)
        .where(
            Package.product_id == installation.product_id,
            Package.yanked.is_(False),
            Package.kind != "installer",
            Package.line_key == top.line_key,
            Package.version_key > version_key(installation.version),
        )
    )
    return top.version, count


@bp.route("/installations", methods=["GET", "POST"])
@page_access("customer_admin", "customer_user", "account_manager", "approver", "publisher")
def installations(actor):
    session = get_session()
    form = ApprovalForm()
    products = entitled_products(session, actor)
    form.product.choices = [p.code for p in products]
    planner = actor.role == "customer_admin"
    if planner and form.validate_on_submit():
        try:
            services.approve_ring(
                session,
                actor,
                form.ring.data,
                form.product.data,
                form.version.data,
                form.deadline.data,
            )
            session.commit()
            flash(_("The approval is saved."))
            return redirect(url_for("installation_pages.installations"))
        except DistroError as exc:
            session.rollback()
            show_error(form, exc)
    rows = session.scalars(
        services.visible_installations(actor).order_by(Installation.name).limit(500)
    ).all()
    newest = {p.id: fleet_service.newest_by_line(session, p) for p in {r.product for r in rows}}
    table = [(r, *behind(session, r, newest[r.product_id])) for r in rows]
    approvals = services.approvals_of(session, actor.org_id) if actor.org_id else []
    codes = {p.id: p.code for p in session.scalars(select(Product))}
    return render_template(
        "installations.html",
        rows=table,
        approvals=approvals,
        codes=codes,
        form=form,
        ring_form=RingForm(),
        button=ButtonForm(),
        planner=planner,
        staff_view=actor.is_staff,
    )


@bp.post("/installations/<installation_id>/ring")
@page_access("customer_admin")
def move(actor, installation_id: str):
    form = RingForm()
    if form.validate_on_submit():
        attempt(
            lambda session: services.set_ring(session, actor, installation_id, form.ring.data),
            _("The installation is in ring %(ring)s now.", ring=form.ring.data),
        )
    return redirect(url_for("installation_pages.installations"))


@bp.post("/rings/<ring>/approvals/<product>/remove")
@page_access("customer_admin")
def remove(actor, ring: str, product: str):
    if ButtonForm().validate_on_submit():
        attempt(
            lambda session: services.remove_approval(session, actor, ring, product),
            _("The approval is removed: the ring gets every update again."),
        )
    return redirect(url_for("installation_pages.installations"))


@bp.get("/fleet")
@page_access("account_manager", "approver", "publisher")
def fleet(actor):
    session = get_session()
    products = session.scalars(select(Product).order_by(Product.code)).all()
    chosen = next((p for p in products if p.code == request.args.get("product")), None)
    chosen = chosen or (products[0] if products else None)
    view = fleet_service.fleet(session, actor, chosen) if chosen else None
    eligible = (
        fleet_service.eligible_upgrades(session, actor) if actor.has_role("account_manager") else []
    )
    return render_template(
        "fleet.html",
        products=products,
        chosen=chosen,
        view=view,
        eligible=eligible,
        outcomes=None,
        button=ButtonForm(),
    )


@bp.post("/fleet/upgrades")
@page_access("account_manager")
def request_upgrades(actor):
    session = get_session()
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("installation_pages.fleet"))
    # A line's own button names its license; the other button sends the ticked ones.
    only = request.args.get("only")
    chosen = [only] if only else request.form.getlist("license_id")[:500]
    outcomes = fleet_service.request_upgrades(session, actor, chosen, lazy_signer(session))
    session.commit()
    done = sum(1 for o in outcomes if o.request is not None)
    flash(
        _("%(done)s of %(asked)s upgrade requests were submitted.", done=done, asked=len(outcomes))
    )
    products = session.scalars(select(Product).order_by(Product.code)).all()
    return render_template(
        "fleet.html",
        products=products,
        chosen=None,
        view=None,
        eligible=fleet_service.eligible_upgrades(session, actor),
        outcomes=outcomes,
        button=ButtonForm(),
    )
