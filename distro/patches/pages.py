"""Web pages for packages: what a customer may download, and publishing for publishers."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from distro.accounts.auth import csrf, page_access
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.core.pagekit import show_error
from distro.patches import catalogue, details, services
from distro.patches.entitlement import entitled_products, package_for
from distro.patches.models import KINDS, Package
from distro.signing.keys import active_signer, get_key_source, list_keys

bp = Blueprint("package_pages", __name__)


class YankForm(FlaskForm):
    reason = StringField(validators=[DataRequired(), Length(max=2000)])


@bp.get("/products")
@page_access()
def products(actor):
    return render_template("products.html", products=entitled_products(get_session(), actor))


@bp.get("/products/<code>")
@page_access()
def product(actor, code: str):
    session = get_session()
    rows = session.scalars(
        catalogue.listing_query(session, actor, code)
        .order_by(Package.version_key.desc(), Package.published_at.desc())
        .limit(500)
    ).all()
    grouped = {kind: [p for p in rows if p.kind == kind] for kind in KINDS}
    plan, plan_error, from_version = None, None, request.args.get("from", "").strip()
    if from_version:
        try:
            plan = catalogue.update_plan(session, actor, code, from_version)
        except DistroError as exc:
            plan_error = exc.message
    key = next(iter(list_keys(session)), None)
    return render_template(
        "product.html",
        code=code,
        grouped=grouped,
        plan=plan,
        plan_error=plan_error,
        from_version=from_version,
        key=key,
        server=request.host_url.rstrip("/"),
    )


@bp.get("/publish")
@page_access("publisher")
def publish(actor):
    session = get_session()
    rows = session.scalars(select(Package).order_by(Package.published_at.desc()).limit(200))
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    return render_template(
        "publish.html", packages=rows.all(), kinds=KINDS, limit=limit, yank=YankForm()
    )


@bp.post("/publish/check")
@page_access("publisher")
def check(actor):
    """Validate the publish fields before the upload starts (the API checks them again)."""
    csrf.protect()
    form = request.form
    try:
        services.check_fields(
            get_session(),
            product=form.get("product"),
            version=form.get("version"),
            kind=form.get("kind"),
            filename=form.get("filename"),
            applies_to=form.get("applies_to"),
            sha256=form.get("sha256"),
            **{name: form.get(name) for name in details.FIELDS},
        )
    except DistroError as exc:
        return jsonify(ok=False, field=exc.field, message=exc.message), 200
    return jsonify(ok=True)


@bp.post("/packages/<package_id>/yank")
@page_access("publisher", fresh=True)
def yank(actor, package_id: str):
    form, session = YankForm(), get_session()
    if form.validate_on_submit():
        try:
            services.yank_package(
                session,
                actor,
                package_for(session, actor, package_id),
                form.reason.data,
                active_signer(session, get_key_source()),
            )
            session.commit()
            flash(_("The package is yanked."))
        except DistroError as exc:
            show_error(None, exc)
    else:
        flash(_("A yank needs a reason."), "error")
    return redirect(url_for("package_pages.publish"))
