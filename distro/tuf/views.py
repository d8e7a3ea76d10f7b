"""TUF metadata and targets over HTTP, per product, for callers entitled to it.

Metadata follows the catalogue's rule (staff: every product; a customer: products it
holds an active license for; anyone else 404, no token 401). Target files follow the
download rule: entitlement by release line, 410 for a yanked package, an audit row.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response
from sqlalchemy import select

from distro.accounts.auth import api_access
from distro.core.db import get_session
from distro.core.errors import DistroError, NotFound
from distro.patches.delivery import deliver, deliver_delta
from distro.patches.entitlement import product_for
from distro.patches.models import Package, PackageDelta
from distro.signing.keys import active_signer, get_key_source
from distro.tuf import delegations, repository

bp = Blueprint("tuf", __name__, url_prefix="/api/v1/tuf")
log = logging.getLogger("distro")

# `{N}.{role}.json`: a top-level role, or a release line's role (`3.9.0.json`).
_VERSIONED = re.compile(
    r"([1-9][0-9]{0,9})\.(root|snapshot|targets|[0-9]{1,9}\.[0-9]{1,9})\.json", re.ASCII
)
_TARGET = re.compile(r"([0-9a-f]{64})\.(.+)", re.ASCII | re.DOTALL)


@bp.get("/<code>/metadata/<name>")
@api_access(installer=True)
def metadata(actor, code: str, name: str):
    session = get_session()
    product, line = product_for(session, actor, code)
    if name == "timestamp.json":
        if repository.timestamp_is_stale(session, product):
            _renew_timestamp(session, product)
        row = repository.latest(session, product.id, "timestamp")
    else:
        match = _VERSIONED.fullmatch(name)
        row = (
            match
            and _within(match.group(2), line)
            and repository.version_of(session, product.id, match.group(2), int(match.group(1)))
        )
    if not row:
        raise NotFound(f"no TUF metadata {name!r} for {code}")
    response = Response(row.body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _within(role: str, line: str) -> bool:
    """Whether the caller may read `role`: the top-level roles, and the roles of the
    release lines it is entitled to. Any other line answers as an unknown one."""
    if role in ("root", "snapshot", "targets"):
        return True
    key = delegations.role_line_key(role)
    return key is not None and key <= line


def _renew_timestamp(session, product) -> None:
    """Re-sign a stale timestamp; a host that cannot (no signing key here) serves the
    current one, which is still valid for up to half a day, and says so in the log."""
    try:
        renewed = repository.refresh_timestamp(
            session, product, active_signer(session, get_key_source())
        )
    except DistroError as exc:
        session.rollback()
        log.warning("TUF timestamp of %s not renewed: %s", product.code, exc.message)
        return
    if renewed:
        session.commit()


@bp.get("/<code>/targets/<version>/<hashed_name>")
@api_access(installer=True)
def target(actor, code: str, version: str, hashed_name: str):
    session = get_session()
    product, line = product_for(session, actor, code)
    match = _TARGET.fullmatch(hashed_name)
    package = (
        match
        and session.scalars(
            select(Package).where(
                Package.product_id == product.id,
                Package.version == version,
                Package.sha256 == match.group(1),
                Package.filename == match.group(2),
                Package.line_key <= line,  # beyond the entitlement answers as unknown
            )
        ).first()
    )
    if package:
        return deliver(session, actor, package)
    found = match and _delta_target(session, product, line, version, *match.groups())
    if not found:
        raise NotFound("no such target available to you")
    return deliver_delta(session, actor, *found)


def _delta_target(session, product, line: str, version: str, sha256: str, name: str):
    """(package, delta) of a delta's target path, `{version}/{sha256}.{name}`."""
    row = session.execute(
        select(Package, PackageDelta)
        .join(PackageDelta, PackageDelta.package_id == Package.id)
        .where(
            Package.product_id == product.id,
            Package.version == version,
            Package.line_key <= line,
            PackageDelta.sha256 == sha256,
        )
    ).first()
    return row if row and row[1].filename(row[0]) == name else None
