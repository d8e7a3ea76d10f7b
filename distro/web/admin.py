"""Administration pages: users, organisations, products, keys, and the audit log with
filters, CSV export and a chart of downloads per day."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from distro.accounts import services as accounts
from distro.accounts.auth import page_access
from distro.accounts.models import ROLES, Organisation, User
from distro.api.inputs import streams_body
from distro.audit.queries import AuditFilter, actions, all_events, page_of_events, per_day
from distro.core.db import get_session, release_session
from distro.core.errors import DistroError, ValidationError
from distro.core.pagekit import ButtonForm, attempt, show_error
from distro.core.parsers import parse_date, parse_text
from distro.licenses.imports import KINDS as IMPORT_KINDS
from distro.licenses.imports import run_import
from distro.patches import products
from distro.patches.models import Product
from distro.signing import keys
from distro.signing.keys import get_key_source, lazy_signer
from distro.tuf import lifecycle

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
AUDIT_PAGE = 200
LISTED = 50  # people and organisations shown at once; the search boxes find the rest


class UserForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=list(ROLES))
    org = StringField(_l("Organisation code (customer admins)"), validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeNameForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


@bp.route("/", methods=["GET", "POST"])
@page_access("admin", fresh=True)
def directory(actor):
    session = get_session()
    user_form, org_form = UserForm(prefix="u"), CodeNameForm(prefix="o")
    product_form = CodeNameForm(prefix="p")
    try:
        posted = request.form if request.method == "POST" else {}
        if "u-email" in posted and user_form.validate_on_submit():
            accounts.create_user(
                session,
                actor,
                user_form.email.data,
                user_form.role.data,
                user_form.password.data,
                user_form.org.data or None,
            )
            flash(_("User created."))
        elif "o-code" in posted and org_form.validate_on_submit():
            accounts.create_org(session, actor, org_form.code.data, org_form.name.data)
            flash(_("Organisation created."))
        elif "p-code" in posted and product_form.validate_on_submit():
            product = products.create_product(
                session, actor, product_form.code.data, product_form.name.data
            )
            lifecycle.ensure_repository(session, product, get_key_source(), _threshold())
            flash(_("Product created."))
        session.commit()
    except DistroError as exc:
        session.rollback()
        show_error(None, exc)
    user_prefix = _prefix("user")
    org_prefix = _prefix("org")
    return render_template(
        "admin.html",
        users=session.scalars(
            select(User)
            .options(joinedload(User.org))
            .where(User.email >= user_prefix, User.email < user_prefix + "\x7f")
            .order_by(User.email)
            .limit(LISTED)
        ).all(),
        orgs=session.scalars(
            select(Organisation)
            .options(selectinload(Organisation.account_managers))
            .where(Organisation.code >= org_prefix, Organisation.code < org_prefix + "\x7f")
            .order_by(Organisation.code)
            .limit(LISTED)
        ).all(),
        user_prefix=user_prefix,
        org_prefix=org_prefix,
        listed=LISTED,
        import_form=ImportForm(prefix="i"),
        import_report=None,
        products=session.scalars(select(Product).order_by(Product.code)).all(),
        keys=keys.list_keys(session),
        user_form=user_form,
        org_form=org_form,
        product_form=product_form,
        button=ButtonForm(),
    )


def _prefix(name: str) -> str:
    """A search box's text, as the start of an e-mail address or code (ASCII, lower)."""
    text = request.args.get(name, "").strip().lower()
    return text if text.isascii() and len(text) <= 254 else ""


class ImportForm(FlaskForm):
    kind = SelectField(_l("What"), choices=list(IMPORT_KINDS))
    file = FileField(_l("File (CSV with a header row, or JSON lines)"))


@bp.post("/import")
@streams_body("MAX_IMPORT_BYTES")
@page_access("admin", fresh=True)
def bulk_import(actor):
    """The upload form of `distro import`: every refused row is listed, nothing done."""
    form = ImportForm(prefix="i")
    session = get_session()
    report = None
    if form.validate_on_submit() and form.file.data:
        text = io.TextIOWrapper(form.file.data.stream, encoding="utf-8-sig", newline="")
        try:
            report = run_import(session, actor, form.kind.data, text, lazy_signer(session))
        except (DistroError, UnicodeDecodeError) as exc:
            session.rollback()
            flash(getattr(exc, "message", "the file must be UTF-8 text"), "error")
        else:
            if not report.error_count:
                flash(
                    _(
                        "%(kind)s: %(created)s created, %(existing)s existed already.",
                        kind=report.kind,
                        created=report.created,
                        existing=report.existing,
                    )
                )
                return redirect(url_for("admin_pages.directory"))
    else:
        flash(_("Choose a file to import."), "error")
    return render_template("import_report.html", report=report, form=form)


@bp.post("/keys/rotate")
@page_access("admin", fresh=True)
def rotate(actor):
    if ButtonForm().validate_on_submit():
        session, source = get_session(), get_key_source()
        try:
            row, retired = lifecycle.rotate_keys(session, source, _threshold())
            session.commit()
            lifecycle.retire_root_keys(source, retired)
            flash(_("New signing key %(kid)s; older keys stay listed.", kid=row.kid))
        except DistroError as exc:
            session.rollback()
            show_error(None, exc)
    return redirect(url_for("admin_pages.directory"))


@bp.post("/products/<code>/review")
@page_access("admin", fresh=True)
def review(actor, code: str):
    mode = request.form.get("review")
    if ButtonForm().validate_on_submit():
        attempt(
            lambda session: products.set_review(session, actor, code, mode),
            _(
                "Upgrade requests of %(product)s: %(review)s.",
                product=code,
                review=_("system review") if mode == "system" else _("approver"),
            ),
        )
    return redirect(url_for("admin_pages.directory"))


def _threshold() -> int:
    return int(current_app.config["TUF_ROOT_THRESHOLD"])


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return parse_date(value, field)
    except ValidationError:
        flash(_("%(field)s must be a date like 2026-11-30.", field=field), "error")
        return None


def _filter_text(value: str | None, field: str) -> str | None:
    if not value:
        return None
    try:
        return parse_text(value, field, 254) or None
    except ValidationError as exc:
        flash(exc.message, "error")
        return None


def _audit_filter(session) -> AuditFilter:
    """The page's filters: dates are whole days; the organisation is given by code."""
    args = request.args
    since, until = _day(args.get("since"), "since"), _day(args.get("until"), "until")
    org_id = None
    if code := _filter_text(args.get("org"), "org"):
        org = session.scalars(select(Organisation).where(Organisation.code == code)).first()
        org_id = org.id if org else "-"  # an unknown code matches nothing
    return AuditFilter(
        action=_filter_text(args.get("action"), "action"),
        org_id=org_id,
        actor=_filter_text(args.get("actor"), "actor"),
        since=datetime.combine(since, datetime.min.time()) if since else None,
        until=datetime.combine(until + timedelta(days=1), datetime.min.time()) if until else None,
    )


@bp.get("/audit")
@page_access("admin")
def audit(actor):
    session = get_session()
    wanted = _audit_filter(session)
    try:
        events, older = page_of_events(session, wanted, AUDIT_PAGE, request.args.get("cursor"))
    except ValidationError as exc:
        flash(exc.message, "error")
        events, older = page_of_events(session, wanted, AUDIT_PAGE, None)
    series = per_day(session, "package.download")
    return render_template(
        "audit.html",
        events=events,
        older=older,
        actions=actions(session),
        series=series,
        peak=max([n for _, n in series] + [1]),
        args={k: v for k, v in request.args.items() if k != "cursor"},
    )


@bp.get("/audit.csv")
@page_access("admin")
def audit_csv(actor):
    session = get_session()
    wanted = _audit_filter(session)

    def rows():
        try:
            yield from _csv_chunks(session, wanted)
        finally:
            release_session()  # the connection goes back as soon as the last row is out

    # The request context (and its database session) must live while the rows stream.
    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


def _csv_chunks(session, wanted: AuditFilter):
    """The export in chunks of about 64 KiB: millions of rows in bounded memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in all_events(session, wanted):
        writer.writerow(
            [
                event.id,
                event.at.isoformat(),
                event.actor_email,
                event.token_id,
                event.action,
                event.target_type,
                event.target_id,
                event.org_id,
                event.ip,
                event.details,
            ]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            # Reading and formatting rows never waits on a socket, so on gevent's worker
            # nothing else would run: not the other requests, not the heartbeat (the
            # arbiter killed a 650 MB export after 120 s). sleep(0) lets them in.
            time.sleep(0)
    yield buffer.getvalue()


CSV_COLUMNS = [
    "id",
    "at",
    "actor",
    "token_id",
    "action",
    "target_type",
    "target_id",
    "org_id",
    "ip",
    "details",
]
