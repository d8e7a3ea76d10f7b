"""Pages: the customer's installations with rings and ring approvals, and the vendor's
fleet view with the account managers' eligible upgrades."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from distro.accounts.auth import page_access
from distro.api.inputs import streams_body
from distro.core.db import get_session
from distro.core.errors import DistroError, NotFound
from distro.core.pagekit import ButtonForm, attempt, csv_response, page_cursor, show_error
from distro.core.pagination import paginate
from distro.core.parsers import SEVERITIES
from distro.installations import advisories, offline, services
from distro.installations import eligible as upgrades_due
from distro.installations import fleet as fleet_service
from distro.installations.behind import behind, org_totals
from distro.installations.models import Installation
from distro.patches.entitlement import entitled_products
from distro.patches.models import Product
from distro.patches.products import product_by_code
from distro.signing.keys import lazy_signer

bp = Blueprint("installation_pages", __name__)
PAGE = 50


class RingForm(FlaskForm):
    ring = StringField(_l("Ring"), validators=[DataRequired(), Length(max=32)])


class ReportsForm(FlaskForm):
    file = FileField(_l("Reports file of a site mirror (distro mirror reports)"))


class ApprovalForm(FlaskForm):
    ring = StringField(_l("Ring"), validators=[DataRequired(), Length(max=32)])
    product = SelectField(_l("Product"))
    version = StringField(_l("Approved version"), validators=[DataRequired(), Length(max=64)])
    deadline = StringField(_l("Install by (YYYY-MM-DD, optional)"), validators=[Length(max=10)])


@bp.get("/advisories")
@page_access()
def advisories_page(actor):
    session = get_session()
    chosen = {name: request.args.get(name) or None for name in ("product", "severity")}
    error, found, later = None, [], None
    try:
        found, later = advisories.advisories(
            session,
            actor,
            product=chosen["product"],
            severity=chosen["severity"],
            limit=PAGE,
            cursor=page_cursor(),
        )
    except DistroError as exc:
        error = exc.message
    return render_template(
        "advisories.html",
        advisories=found,
        later=later,
        error=error,
        chosen=chosen,
        products=entitled_products(session, actor),
        severities=SEVERITIES,
        customer=actor.org_id is not None,
    ), (400 if error else 200)


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
    rows, later = paginate(
        session,
        services.visible_installations(actor).options(
            joinedload(Installation.org), joinedload(Installation.product)
        ),
        [Installation.org_id, Installation.name, Installation.id],
        PAGE,
        page_cursor(),
        ascending=True,
    )
    how_far = behind(session, rows)
    table = [(r, *how_far[r.id]) for r in rows]
    approvals = services.approvals_of(session, actor.org_id) if actor.org_id else []
    codes = {p.id: p.code for p in session.scalars(select(Product))}
    totals = org_totals(session, actor.org_id) if actor.org_id else {}
    return render_template(
        "installations.html",
        rows=table,
        later=later,
        totals=[(codes[pid], t) for pid, t in sorted(totals.items(), key=lambda i: codes[i[0]])],
        approvals=approvals,
        codes=codes,
        form=form,
        ring_form=RingForm(),
        reports_form=ReportsForm(prefix="r"),
        button=ButtonForm(),
        planner=planner,
        staff_view=actor.is_staff,
    )


@bp.post("/installations/import")
@streams_body("MAX_IMPORT_BYTES")
@page_access("customer_admin")
def import_reports(actor):
    """The return trip of an offline site: its mirror's reports file, uploaded."""
    form = ReportsForm(prefix="r")
    if not (form.validate_on_submit() and form.file.data):
        flash(_("Choose the reports file to import."), "error")
        return redirect(url_for("installation_pages.installations"))
    raw = form.file.data.stream.read(offline.MAX_FILE_BYTES + 1)
    session = get_session()
    try:
        result = offline.import_reports(session, actor, actor.user.org, raw)
        session.commit()
    except DistroError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _(
                "%(new)s reports imported, %(repeated)s imported before.",
                new=result.new,
                repeated=result.repeated,
            )
        )
    return redirect(url_for("installation_pages.installations"))


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
        upgrades_due.eligible_upgrades(session, actor) if actor.has_role("account_manager") else []
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


@bp.get("/fleet.csv")
@page_access("account_manager", "approver", "publisher")
def fleet_csv(actor):
    """The fleet page's numbers: versions in use, or each recent patch's adoption."""
    session = get_session()
    product = product_by_code(session, request.args.get("product"))
    if product is None:
        raise NotFound("no such product")
    view = fleet_service.fleet(session, actor, product)
    if request.args.get("table") == "adoption":
        rows = [("package_id", "version", "day", "share", "failed_installs")] + [
            (
                c.package.id,
                c.package.version,
                day.isoformat(),
                round(share, 4),
                c.failed.get(day, 0),
            )
            for c in view.curves
            for day, share in c.points
        ]
    else:
        rows = [("version", "installations", "organisations", "on_newest_patch")] + [
            (r.version, r.installations, r.orgs, r.on_newest) for r in view.versions
        ]
    return csv_response(rows, f"fleet-{product.code}.csv")


@bp.post("/fleet/upgrades")
@page_access("account_manager")
def request_upgrades(actor):
    session = get_session()
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("installation_pages.fleet"))
    # A line's own button names its license; the other button sends the ticked ones.
    only = request.args.get("only")
    chosen = [only] if only else request.form.getlist("license_id")[:500]
    outcomes = upgrades_due.request_upgrades(session, actor, chosen, lazy_signer(session))
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
        eligible=upgrades_due.eligible_upgrades(session, actor),
        outcomes=outcomes,
        button=ButtonForm(),
    )
