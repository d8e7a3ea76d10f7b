"""HTTP endpoints for installations: installer reports, the list, rings and approvals."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from distro.accounts.auth import api_access
from distro.accounts.services import find_org
from distro.api.inputs import json_body, streams_body
from distro.core.db import get_session
from distro.core.errors import TooLarge, ValidationError
from distro.core.limits import limiter
from distro.core.pagination import page_json, paginate, parse_limit
from distro.core.parsers import parse_name
from distro.installations import advisories, offline, services
from distro.installations.models import Installation
from distro.patches import catalogue
from distro.patches.entitlement import product_for
from distro.patches.products import product_by_code

bp = Blueprint("installations", __name__, url_prefix="/api/v1")
MAX_REPORT_BYTES = 16 * 1024


def _reporter() -> str:
    """Throttle reports per token (an installer fleet behind one address is fine). The
    limiter may ask before the view authenticates, so authenticate here first."""
    _ = current_user.is_authenticated  # runs the bearer-token loader, which sets g.api_token
    token = g.get("api_token")
    return f"token:{token.id}" if token is not None else f"ip:{get_remote_address()}"


# The update plan lives here, not with the catalogue, because an installation's ring
# approval may cap it.
@bp.get("/products/<code>/updates")
@api_access(installer=True)
def updates(actor, code: str):
    if not request.args.get("from"):
        raise ValidationError("from is required: the version installed now", field="from")
    session = get_session()
    name = request.args.get("installation")
    if name is None:
        plan = catalogue.update_plan(session, actor, code, request.args["from"])
        return jsonify(items=[catalogue.package_json(p) for p in plan])
    name = parse_name(name, "installation")
    product, _line = product_for(session, actor, code)
    ring = services.ring_of(session, actor, product, name)
    approval, cap = services.plan_cap(session, actor, product, ring)
    plan = catalogue.update_plan(session, actor, code, request.args["from"], target=cap)
    return jsonify(
        items=[catalogue.package_json(p) for p in plan],
        installation=name,
        ring=ring,
        approval=services.approval_json(approval, code) if approval else None,
    )


@bp.post("/installations/import")
@streams_body("MAX_IMPORT_BYTES")
@api_access("customer_admin")
def import_mirror_reports(actor):
    """A site mirror's reports file (multipart `file`), for the caller's organisation;
    staff name the organisation in the form field `org`."""
    session = get_session()
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("send the reports file as the multipart field file", field="file")
    raw = upload.stream.read(offline.MAX_FILE_BYTES + 1)
    org = find_org(session, request.form.get("org", "")) if actor.is_staff else actor.user.org
    result = offline.import_reports(session, actor, org, raw)
    session.commit()
    return jsonify(result.json())


@bp.post("/installations/report")
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT"], key_func=_reporter)
@api_access(installer=True)
def report(actor):
    if len(request.get_data(cache=True)) > MAX_REPORT_BYTES:
        raise TooLarge(f"a report is limited to {MAX_REPORT_BYTES} bytes")
    session = get_session()
    installation = services.report(session, actor, json_body())
    answer = services.installation_json(installation)
    session.commit()
    return jsonify(answer), 201


@bp.get("/advisories")
@api_access(installer=True)
def list_advisories(actor):
    args = request.args
    found, cursor = advisories.advisories(
        get_session(),
        actor,
        product=args.get("product"),
        severity=args.get("severity"),
        limit=parse_limit(args.get("limit")),
        cursor=args.get("cursor"),
    )
    items = [advisories.advisory_json(a, catalogue.package_json(a.package)) for a in found]
    return jsonify(page_json(items, cursor))


@bp.get("/installations")
@api_access()
def list_installations(actor):
    session = get_session()
    stmt = services.visible_installations(actor)
    if product := request.args.get("product"):
        found = product_by_code(session, product)
        stmt = stmt.where(Installation.product_id == (found.id if found else None))
    if ring := request.args.get("ring"):
        stmt = stmt.where(Installation.ring == services.parse_ring(ring))
    rows, cursor = paginate(
        session,
        stmt,
        [Installation.created_at, Installation.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([services.installation_json(i) for i in rows], cursor))


@bp.put("/installations/<installation_id>")
@api_access("customer_admin")
def move_installation(actor, installation_id: str):
    body = json_body()
    session = get_session()
    installation = services.set_ring(session, actor, installation_id, body.get("ring"))
    answer = services.installation_json(installation)
    session.commit()
    return jsonify(answer)


@bp.put("/rings/<ring>/approvals/<product>")
@api_access("customer_admin")
def approve_ring(actor, ring: str, product: str):
    body = json_body()
    session = get_session()
    approval = services.approve_ring(
        session, actor, ring, product, body.get("version"), body.get("deadline")
    )
    answer = services.approval_json(approval, product)
    session.commit()
    return jsonify(answer)


@bp.delete("/rings/<ring>/approvals/<product>")
@api_access("customer_admin")
def remove_approval(actor, ring: str, product: str):
    session = get_session()
    services.remove_approval(session, actor, ring, product)
    session.commit()
    return jsonify({"ring": ring, "product": product, "approval": None})
