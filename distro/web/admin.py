"""Administration pages: users, organisations, products, keys, and the audit log with
filters, CSV export and a chart of downloads per day."""

from __future__ import annotations

import csv
import io
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
from sqlalchemy import func, select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from distro.accounts import services as accounts
from distro.accounts.models import ROLES, Organisation, User
from distro.audit.models import AuditEvent
from distro.core.clock import utcnow
from distro.core.db import get_session
from distro.core.errors import DistroError, ValidationError
from distro.core.parsers import parse_date, parse_text
from distro.patches import products
from distro.patches.models import Product
from distro.signing import keys
from distro.signing.keys import get_key_source
from distro.tuf import lifecycle
from distro.web.pagekit import ButtonForm, attempt, page_access, show_error

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
AUDIT_PAGE = 200


class UserForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=list(ROLES))
    org = StringField(_l("Organisation code (customer admins)"), validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CodeNameForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


@bp.route("/", methods=["GET", "POST"])
@page_access("admin")
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
    return render_template(
        "admin.html",
        users=session.scalars(select(User).order_by(User.email)).all(),
        orgs=session.scalars(select(Organisation).order_by(Organisation.code)).all(),
        products=session.scalars(select(Product).order_by(Product.code)).all(),
        keys=keys.list_keys(session),
        user_form=user_form,
        org_form=org_form,
        product_form=product_form,
        button=ButtonForm(),
    )


@bp.post("/keys/rotate")
@page_access("admin")
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
@page_access("admin")
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


def _filter_text(value: str, field: str) -> str | None:
    try:
        return parse_text(value, field, 254)
    except ValidationError as exc:
        flash(exc.message, "error")
        return None


def _filtered_events():
    args = request.args
    stmt = select(AuditEvent)
    for name, column in (
        ("actor", AuditEvent.actor_email),
        ("action", AuditEvent.action),
        ("org", AuditEvent.org_id),
    ):
        if args.get(name) and (wanted := _filter_text(args[name], name)) is not None:
            stmt = stmt.where(column == wanted)
    since, until = _day(args.get("since"), "since"), _day(args.get("until"), "until")
    if since:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(since, datetime.min.time()))
    if until:
        stmt = stmt.where(
            AuditEvent.at < datetime.combine(until + timedelta(days=1), datetime.min.time())
        )
    return stmt.order_by(AuditEvent.id.desc())


def downloads_per_day(session, days: int = 30) -> list[tuple[date, int]]:
    start = utcnow().date() - timedelta(days=days - 1)
    counts = dict(
        session.execute(
            select(func.date(AuditEvent.at), func.count())
            .where(
                AuditEvent.action == "package.download",
                AuditEvent.at >= datetime.combine(start, datetime.min.time()),
            )
            .group_by(func.date(AuditEvent.at))
        ).all()
    )
    counts = {str(day): n for day, n in counts.items()}
    return [
        (start + timedelta(days=i), counts.get(str(start + timedelta(days=i)), 0))
        for i in range(days)
    ]


@bp.get("/audit")
@page_access("admin")
def audit(actor):
    session = get_session()
    events = session.scalars(_filtered_events().limit(AUDIT_PAGE)).all()
    actions = session.scalars(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    orgs = session.scalars(select(Organisation).order_by(Organisation.code)).all()
    series = downloads_per_day(session)
    return render_template(
        "audit.html",
        events=events,
        actions=actions,
        orgs=orgs,
        series=series,
        peak=max([n for _, n in series] + [1]),
        args=request.args,
    )


@bp.get("/audit.csv")
@page_access("admin")
def audit_csv(actor):
    session = get_session()

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
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
        )
        for event in session.scalars(_filtered_events()).yield_per(500):
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
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if buffer.getvalue():
            yield buffer.getvalue()

    # The request context (and its database session) must live while the rows stream.
    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
