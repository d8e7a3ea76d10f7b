"""HTTP endpoints for packages: catalogue, update plans, downloads, publish and yank."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from distro.accounts.auth import api_access
from distro.api.inputs import json_body, query_choice, streams_body
from distro.core.db import get_session
from distro.core.errors import NotFound, ValidationError
from distro.core.metrics import UPLOADS_IN_FLIGHT
from distro.core.pagination import page_json, paginate, parse_limit
from distro.patches import catalogue, details, search, services
from distro.patches.delivery import deliver, deliver_delta
from distro.patches.entitlement import entitled_products, package_for
from distro.patches.models import KINDS, Package
from distro.patches.products import set_review
from distro.patches.upload import stream_upload
from distro.signing.keys import active_signer, get_key_source
from distro.storage.factory import get_storage

bp = Blueprint("packages", __name__, url_prefix="/api/v1")
log = logging.getLogger("distro")
# The multipart framing and form fields around the file, on top of DISTRO_MAX_UPLOAD_BYTES.
UPLOAD_OVERHEAD = 1024 * 1024


@bp.get("/products")
@api_access(installer=True)
def products(actor):
    rows = entitled_products(get_session(), actor)
    return jsonify(items=[catalogue.product_json(p) for p in rows])


@bp.patch("/products/<code>")
@api_access("admin", fresh=True)
def change_product(actor, code: str):
    body = json_body()
    session = get_session()
    product = set_review(session, actor, code, body.get("review"))
    answer = {**catalogue.product_json(product), "review": product.review}
    session.commit()
    return jsonify(answer)


@bp.get("/products/<code>/packages")
@api_access(installer=True)
def packages(actor, code: str):
    session = get_session()
    version = request.args.get("version") or None
    stmt = catalogue.listing_query(
        session, actor, code, kind=query_choice("kind", KINDS), version=version
    )
    rows, cursor = paginate(
        session,
        stmt,
        [Package.version_key, Package.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([catalogue.package_json(p) for p in rows], cursor))


@bp.get("/search")
@api_access(installer=True)
def search_packages(actor):
    args = request.args
    query = search.parse_query(
        args.get("q"),
        product=args.get("product"),
        kind=args.get("kind"),
        severity=args.get("severity"),
        installed=args.get("installed"),
    )
    rows, cursor = search.search(
        get_session(), actor, query, parse_limit(args.get("limit")), args.get("cursor")
    )
    return jsonify(page_json([catalogue.package_json(p) for p in rows], cursor))


@bp.get("/packages/<package_id>")
@api_access(installer=True)
def package_detail(actor, package_id: str):
    package = package_for(get_session(), actor, package_id)
    return jsonify(catalogue.package_json(package, detail=True))


@bp.get("/packages/<package_id>/download")
@api_access(installer=True)
def download(actor, package_id: str):
    session = get_session()
    return deliver(session, actor, package_for(session, actor, package_id))


@bp.get("/packages/<package_id>/deltas/<base_id>/download")
@api_access(installer=True)
def download_delta(actor, package_id: str, base_id: str):
    session = get_session()
    package = package_for(session, actor, package_id)
    delta = next((d for d in package.deltas if d.base_id == base_id), None)
    if delta is None:
        raise NotFound(f"package {package_id} has no delta from {base_id}")
    return deliver_delta(session, actor, package, delta)


@bp.post("/packages")
@streams_body("MAX_UPLOAD_BYTES", framing=UPLOAD_OVERHEAD)
@api_access("publisher", fresh=True)
def publish(actor):
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    storage, session = get_storage(), get_session()
    writers = []

    def open_file(fields_so_far: dict, filename: str):
        writers.append(services.open_upload(session, storage, fields_so_far, filename, limit))
        session.commit()  # no transaction (nor SQLite's write lock) stays open while streaming
        return writers[-1]

    session.commit()  # end the authentication's transaction before the body streams in
    UPLOADS_IN_FLIGHT.inc()
    try:
        upload = stream_upload(request.stream, request.content_type, open_file)
        if upload.writer is None:
            raise ValidationError("the upload needs a file field named 'file'", field="file")
        fields = services.check_fields(session, filename=upload.filename, **_form(upload.fields))
        signer = active_signer(session, get_key_source())
        package = services.publish_package(session, storage, signer, actor, fields, upload.writer)
        session.commit()
    except BaseException:
        session.rollback()
        for writer in writers:
            writer.abort()
        raise
    finally:
        UPLOADS_IN_FLIGHT.dec()
    return jsonify(catalogue.package_json(package, detail=True)), 201


def _form(fields: dict) -> dict:
    names = ("product", "version", "kind", "applies_to", "sha256", *details.FIELDS)
    return {name: fields.get(name) for name in names}


@bp.patch("/packages/<package_id>")
@api_access("publisher", fresh=True)
def change(actor, package_id: str):
    """Change what the package fixes (not what is signed: the manifest stays as it is)."""
    body = json_body()
    session = get_session()
    package = details.change_details(session, actor, package_for(session, actor, package_id), body)
    session.commit()
    return jsonify(catalogue.package_json(package, detail=True))


@bp.post("/packages/<package_id>/yank")
@api_access("publisher", fresh=True)
def yank(actor, package_id: str):
    body = json_body()
    session = get_session()
    package = services.yank_package(
        session,
        actor,
        package_for(session, actor, package_id),
        body.get("reason"),
        active_signer(session, get_key_source()),
    )
    session.commit()
    return jsonify(catalogue.package_json(package, detail=True))
