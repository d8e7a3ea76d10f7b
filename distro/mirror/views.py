"""The installer part of the vendor's API (contract §5, §8), served by a site mirror to
the site's own tokens: a `distro fetch` or a stock TUF client pointed at the mirror works
as against the vendor. Metadata is the vendor's, served as signed; nothing is re-signed."""

from __future__ import annotations

import functools
import json
import re

from flask import Blueprint, Response, current_app, jsonify, request

from distro.api.inputs import json_body, no_store, query_choice
from distro.core.errors import Gone, NotFound, RuleViolation, Unauthenticated, ValidationError
from distro.core.ids import new_id
from distro.core.pagination import page_json, paginate, parse_limit
from distro.core.parsers import parse_name, parse_text, parse_version
from distro.installations.models import EVENTS
from distro.licenses.licensefile import decode
from distro.mirror import catalogue, tokens
from distro.mirror.models import MirrorPackage, MirrorReport
from distro.patches.models import KINDS
from distro.storage.httpfiles import content_disposition, file_response, not_modified, plan_span

bp = Blueprint("mirror", __name__, url_prefix="/api/v1")
_TARGET = re.compile(r"([0-9a-f]{64})\.(.+)", re.ASCII | re.DOTALL)
MAX_ERROR = 4000


def session():
    return current_app.extensions["mirror.session"]()


def site_token(view):
    """The request's bearer token must be one of the site's (`distro mirror tokens`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        with session() as db:
            token = tokens.authenticate(db, header.removeprefix("Bearer ").strip())
        if not header.startswith("Bearer ") or token is None:
            raise Unauthenticated(
                "a token of this mirror is required (distro mirror tokens create)"
            )
        return view(token, *args, **kwargs)

    return wrapper


@bp.get("/keys")
def keys():
    with session() as db:
        return jsonify(items=catalogue.listed(db, "keys"))


@bp.get("/products")
@site_token
def products(_token):
    with session() as db:
        return jsonify(items=catalogue.listed(db, "products"))


@bp.get("/products/<code>/packages")
@site_token
def packages(_token, code: str):
    with session() as db:
        stmt = catalogue.listing(
            db, code, query_choice("kind", KINDS), request.args.get("version") or None
        )
        rows, cursor = paginate(
            db,
            stmt,
            [MirrorPackage.version_key, MirrorPackage.id],
            parse_limit(request.args.get("limit")),
            request.args.get("cursor"),
        )
        return jsonify(page_json([catalogue.package_json(p) for p in rows], cursor))


@bp.get("/products/<code>/updates")
@site_token
def updates(_token, code: str):
    if not request.args.get("from"):
        raise ValidationError("from is required: the version installed now", field="from")
    name = request.args.get("installation")
    with session() as db:
        catalogue.product(db, code)
        if name is None:
            plan = catalogue.update_plan(db, code, request.args["from"])
            return jsonify(items=[catalogue.package_json(p) for p in plan])
        name = parse_name(name, "installation")
        ring = catalogue.ring_of(db, code, name)
        approval = catalogue.approval(db, code, ring)
        plan = catalogue.update_plan(db, code, request.args["from"], approval)
        return jsonify(
            items=[catalogue.package_json(p) for p in plan],
            installation=name,
            ring=ring,
            approval=approval,
        )


@bp.get("/packages/<package_id>")
@site_token
def package_detail(_token, package_id: str):
    with session() as db:
        return jsonify(catalogue.package_json(catalogue.package(db, package_id), detail=True))


@bp.get("/packages/<package_id>/download")
@site_token
def download(_token, package_id: str):
    with session() as db:
        return _deliver(catalogue.package(db, package_id))


@bp.get("/tuf/<code>/metadata/<name>")
@site_token
def tuf_metadata(_token, code: str, name: str):
    with session() as db:
        body = catalogue.document(db, f"tuf/{code}", name)
    if body is None:
        raise NotFound(f"no TUF metadata {name!r} for {code}")
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tuf/<code>/targets/<version>/<hashed_name>")
@site_token
def tuf_target(_token, code: str, version: str, hashed_name: str):
    match = _TARGET.fullmatch(hashed_name)
    with session() as db:
        row = (
            match
            and db.scalars(
                catalogue.listing(db, code).where(
                    MirrorPackage.version == version,
                    MirrorPackage.sha256 == match.group(1),
                    MirrorPackage.filename == match.group(2),
                )
            ).first()
        )
        if not row:
            raise NotFound("no such target available to you")
        return _deliver(row)


def _deliver(row: MirrorPackage) -> Response:
    if row.yanked:
        raise Gone("this package was yanked by the vendor", code="yanked")
    span = plan_span(request, row.size, row.sha256)
    if span is None:
        return not_modified(row.sha256, row.filename)
    path = current_app.extensions["mirror.site"].storage.local_path(row.blob_key)
    if path is None or not path.is_file():
        raise NotFound("the package's bytes are missing from this mirror; import its bundle again")
    return file_response(
        request, size=row.size, etag=row.sha256, filename=row.filename, path=path, span=span
    )


@bp.get("/licenses")
@site_token
def licenses(_token):
    with session() as db:
        return jsonify(items=[_license_json(db, item) for item in catalogue.listed(db, "licenses")])


@bp.get("/licenses/<license_id>")
@site_token
def license_detail(_token, license_id: str):
    with session() as db:
        return jsonify(_license_json(db, _license(db, license_id)))


@bp.get("/licenses/<license_id>/file")
@site_token
def license_file(_token, license_id: str):
    with session() as db:
        item = _license(db, license_id)
        text = catalogue.document(db, "license", f"{item['id']}.lic")
        payload = _license_json(db, item)
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = content_disposition(
        f"{payload['product']}-{payload['version']}-{payload['serial']}.lic"
    )
    return no_store(response)


def _license(db, license_id: str) -> dict:
    for item in catalogue.listed(db, "licenses"):
        if item["id"] == license_id:
            return item
    raise NotFound("no such license available to you")


def _license_json(db, item: dict) -> dict:
    envelope, data, _sig = decode(catalogue.document(db, "license", f"{item['id']}.lic"))
    return {**json.loads(data), "status": item["status"]}


def _reported(db, product: object, package_id: object) -> tuple[str, str | None]:
    """The product and package a report names, answered as the vendor answers them:
    422 `unknown_product` / `unknown_package` for what this mirror does not hold."""
    try:
        code = catalogue.product(db, str(product))["code"]
    except NotFound:
        raise RuleViolation(
            f"no product {product!r}", code="unknown_product", field="product"
        ) from None
    if package_id is None:
        return code, None
    try:
        row = catalogue.package(db, str(package_id))
    except NotFound:
        row = None
    if row is None or row.product != code:
        raise RuleViolation(
            f"no package {package_id!r} of {code}", code="unknown_package", field="package_id"
        )
    return code, row.id


@bp.post("/installations/report")
@site_token
def report(token):
    body = json_body()
    name = parse_name(body.get("installation"), "installation")
    version = parse_version(body.get("version"), "version")
    event = body.get("event")
    if event not in EVENTS:
        raise RuleViolation(f"event must be one of {', '.join(EVENTS)}", field="event")
    error = parse_text(body.get("error"), "error", MAX_ERROR, multiline=True) or None
    with session() as db:
        code, package_id = _reported(db, body.get("product"), body.get("package_id"))
        row = MirrorReport(
            id=new_id(),
            installation=name,
            product=code,
            version=version,
            event=event,
            package_id=package_id,
            error=error,
            token_id=token.id,
        )
        db.add(row)
        db.commit()
        answer = {"name": name, "product": code, "version": version, "event": event}
    return jsonify(answer), 201
