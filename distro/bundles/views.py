"""Offline bundles over the API (contract §9): a customer admin asks for one (202, built
by `distro worker`), lists them, and downloads their files under the download rule
(Range, ETag, an audit row)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from distro import audit
from distro.accounts.auth import api_access
from distro.accounts.services import find_org
from distro.api.inputs import json_body
from distro.bundles import services
from distro.bundles.models import Bundle
from distro.core.db import get_session, release_session
from distro.core.errors import StorageUnavailable
from distro.core.pagination import page_json, paginate, parse_limit
from distro.storage.factory import get_storage
from distro.storage.httpfiles import file_response, not_modified, plan_span

bp = Blueprint("bundles", __name__, url_prefix="/api/v1")


@bp.post("/bundles")
@api_access("customer_admin", "account_manager")
def ask_for_bundle(actor):
    body = json_body(optional=True)
    session = get_session()
    org = find_org(session, body.get("org", "")) if actor.is_staff else actor.user.org
    bundle = services.request_bundle(session, actor, org, body.get("since"))
    return jsonify(services.bundle_json(session, bundle)), 202


@bp.get("/bundles")
@api_access("customer_admin", "account_manager")
def list_bundles(actor):
    session = get_session()
    org_id = find_org(session, request.args["org"]).id if request.args.get("org") else None
    rows, cursor = paginate(
        session,
        services.visible_bundles(actor, org_id),
        [Bundle.created_at, Bundle.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([services.bundle_json(session, b) for b in rows], cursor))


@bp.get("/bundles/<bundle_id>")
@api_access("customer_admin", "account_manager")
def bundle_detail(actor, bundle_id: str):
    session = get_session()
    bundle = services.bundle_for(session, actor, bundle_id)
    return jsonify(services.bundle_json(session, bundle, detail=True))


@bp.get("/bundles/<bundle_id>/files/<name>")
@api_access("customer_admin", "account_manager")
def bundle_file(actor, bundle_id: str, name: str):
    session = get_session()
    bundle = services.bundle_for(session, actor, bundle_id)
    row = services.file_of(session, bundle, name)
    span = plan_span(request, row.size, row.sha256)
    if span is None:
        return not_modified(row.sha256, row.name)
    audit.record(
        session,
        actor,
        "bundle.download",
        target_type="bundle",
        target_id=bundle.id,
        org_id=bundle.org_id,
        file=row.name,
        range=f"{span.start}+{span.length}" if span.partial else None,
    )
    session.commit()
    key, size, sha, filename = row.storage_key, row.size, row.sha256, row.name
    release_session()  # a long download must not hold a database connection
    storage = get_storage()
    path = storage.local_path(key)
    if path is not None and not path.is_file():
        raise StorageUnavailable("the bundle's file is missing from the object store")
    chunks = None if path else storage.iter_range(key, span.start, span.length)
    return file_response(
        request, size=size, etag=sha, filename=filename, chunks=chunks, path=path, span=span
    )
