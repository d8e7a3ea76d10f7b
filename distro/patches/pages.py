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
from distro.core.errors import DistroError, ValidationError
from distro.core.pagekit import page_cursor, show_error
from distro.core.parsers import SEVERITIES
from distro.patches import catalogue, details, search, services
from distro.patches.entitlement import entitled_products, package_for
from distro.patches.models import KINDS, Package
from distro.signing.keys import active_signer, get_key_source, list_keys

bp = Blueprint("package_pages", __name__)
PAGE = 50
SEARCH_ARGS = ("q", "product", "kind", "severity", "installed", "line")


class YankForm(FlaskForm):
    reason = StringField(validators=[DataRequired(), Length(max=2000)])


@bp.get("/products")
@page_access()
def products(actor):
    return render_template("products.html", products=entitled_products(get_session(), actor))


def _query(**fixed) -> tuple[search.Query | None, str | None]:
    """The page's search from its arguments, or the message that says what is wrong."""
    args = request.args
    try:
        return search.parse_query(
            args.get("q"),
            product=fixed.get("product", args.get("product")),
            kind=args.get("kind"),
            severity=args.get("severity"),
            installed=args.get("installed"),
            line=args.get("line"),
        ), None
    except DistroError as exc:
        return None, f"{exc.field}: {exc.message}" if exc.field else exc.message


def _results(session, actor, query):
    """One page (PAGE packages) of the query's matches and the next page's cursor."""
    if query is None:
        return [], None
    try:
        return search.search(session, actor, query, PAGE, page_cursor())
    except ValidationError:  # a cursor that is not ours: the first page
        return search.search(session, actor, query, PAGE)


def _filters() -> dict:
    return {
        "kinds": KINDS,
        "severities": SEVERITIES,
        "chosen": {name: request.args.get(name) for name in SEARCH_ARGS},
        "q": request.args.get("q", ""),
    }


@bp.get("/search")
@page_access()
def search_page(actor):
    session = get_session()
    query, error = _query()
    rows, later = _results(session, actor, query)
    return render_template(
        "search.html",
        results=rows,
        later=later,
        error=error,
        products=entitled_products(session, actor),
        **_filters(),
    ), (400 if error else 200)


@bp.get("/products/<code>")
@page_access()
def product(actor, code: str):
    session = get_session()
    lines = search.release_lines(session, actor, code)  # 404 beyond the entitlement
    query, error = _query(product=code)
    rows, later = _results(session, actor, query)
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
        lines=lines,
        results=rows,
        later=later,
        error=error,
        plan=plan,
        plan_error=plan_error,
        from_version=from_version,
        key=key,
        server=request.host_url.rstrip("/"),
        **_filters(),
    ), (400 if error else 200)


@bp.get("/publish")
@page_access("publisher")
def publish(actor):
    session = get_session()
    rows = session.scalars(select(Package).order_by(Package.published_at.desc()).limit(200))
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    return render_template(
        "publish.html",
        packages=rows.all(),
        products=entitled_products(session, actor),
        kinds=KINDS,
        severities=SEVERITIES,
        limit=limit,
        yank=YankForm(),
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
