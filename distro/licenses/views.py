"""HTTP endpoints for licenses, license files and upgrade requests."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from distro.accounts.auth import api_access
from distro.api.inputs import json_body, no_store
from distro.core.db import get_session
from distro.core.pagination import page_json, paginate, parse_limit
from distro.licenses import services, upgrades
from distro.licenses.models import License, LicenseRequest
from distro.signing.keys import active_signer, get_key_source, lazy_signer
from distro.storage.httpfiles import content_disposition

bp = Blueprint("licenses", __name__, url_prefix="/api/v1")


def _page(stmt, columns, shape):
    session = get_session()
    rows, cursor = paginate(
        session, stmt, columns, parse_limit(request.args.get("limit")), request.args.get("cursor")
    )
    return jsonify(page_json([shape(row) for row in rows], cursor))


@bp.get("/licenses")
@api_access(installer=True)
def licenses(actor):
    return _page(
        services.visible_licenses(actor), [License.issued_at, License.id], services.license_json
    )


@bp.get("/licenses/<license_id>")
@api_access(installer=True)
def license_detail(actor, license_id: str):
    return jsonify(services.license_json(services.license_for(get_session(), actor, license_id)))


@bp.get("/licenses/<license_id>/file")
@api_access(installer=True)
def license_file(actor, license_id: str):
    session = get_session()
    license = services.license_for(session, actor, license_id)
    services.record_file_download(session, actor, license)
    session.commit()
    response = Response(license.file_text, mimetype="text/plain")
    response.headers["Content-Disposition"] = content_disposition(
        f"{license.product.code}-{license.version}-{license.serial}.lic"
    )
    return no_store(response)


@bp.post("/license-requests")
@api_access("account_manager")
def submit(actor):
    body = json_body()
    session = get_session()
    created = upgrades.submit_request(
        session,
        actor,
        license_id=body.get("license_id"),
        target_version=body.get("target_version"),
        note=body.get("note"),
        modules=body.get("modules"),
        user_count=body.get("user_count"),
        signer=lazy_signer(session),
    )
    answer = upgrades.request_json(session, created)  # before commit: no second transaction
    session.commit()
    return jsonify(answer), 201


@bp.get("/license-requests")
@api_access("account_manager", "approver")
def list_requests(actor):
    session = get_session()
    stmt = upgrades.visible_requests(actor)
    status = upgrades.status_filter(request.args.get("status"))
    if status:
        stmt = stmt.where(LicenseRequest.status == status)
    return _page(
        stmt,
        [LicenseRequest.created_at, LicenseRequest.id],
        lambda row: upgrades.request_json(session, row),
    )


@bp.post("/license-requests/<request_id>/approve")
@api_access("approver", fresh=True)
def approve(actor, request_id: str):
    body = json_body(optional=True)
    session = get_session()
    try:
        issued = upgrades.approve_request(
            session, active_signer(session, get_key_source()), actor, request_id, body.get("note")
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return jsonify(services.license_json(issued))


@bp.post("/license-requests/<request_id>/reject")
@api_access("approver", fresh=True)
def reject(actor, request_id: str):
    body = json_body()
    session = get_session()
    rejected = upgrades.reject_request(session, actor, request_id, body.get("reason"))
    answer = upgrades.request_json(session, rejected)
    session.commit()
    return jsonify(answer)


@bp.post("/license-requests/<request_id>/cancel")
@api_access("account_manager")
def cancel(actor, request_id: str):
    session = get_session()
    cancelled = upgrades.cancel_request(session, actor, request_id)
    answer = upgrades.request_json(session, cancelled)
    session.commit()
    return jsonify(answer)
