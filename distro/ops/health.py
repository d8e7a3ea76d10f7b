"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from distro.accounts.auth import not_a_page
from distro.core.clock import utcnow
from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.signing.keys import active_signer, get_key_source
from distro.storage.factory import get_storage
from distro.tuf.models import TufMetadata

bp = Blueprint("health", __name__)
log = logging.getLogger("distro")


@bp.get("/healthz")
@not_a_page
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@not_a_page
def readyz():
    """503 unless the database and the object store answer and this process holds the
    active signing key; also the age of the oldest product's newest TUF timestamp."""
    checks = {"database": "ok", "storage": "ok", "signing_key": "ok"}
    session = get_session()
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readyz: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    try:
        get_storage().check()
    except DistroError as exc:
        checks["storage"] = exc.message
    body: dict = {}
    if checks["database"] == "ok":
        try:
            active_signer(session, get_key_source())
        except DistroError as exc:
            checks["signing_key"] = exc.message
        except SQLAlchemyError:
            session.rollback()
            checks["database"] = "no schema: run 'distro init'"
        if checks["database"] == "ok":
            body["tuf_timestamp_age_seconds"] = oldest_timestamp_age(session)
    if checks["database"] != "ok":
        checks["signing_key"] = "unknown (no database)"
    ready = all(value == "ok" for value in checks.values())
    body.update(status="ready" if ready else "unavailable", checks=checks)
    return jsonify(body), (200 if ready else 503)


def oldest_timestamp_age(session) -> int | None:
    """Seconds since the stalest product's newest timestamp was signed (None: no TUF
    repository yet). Above a day, clients refuse it until it is re-signed."""
    newest = (
        select(TufMetadata.product_id, func.max(TufMetadata.created_at).label("signed"))
        .where(TufMetadata.role == "timestamp")
        .group_by(TufMetadata.product_id)
        .subquery()
    )
    oldest = session.scalar(select(func.min(newest.c.signed)))
    return None if oldest is None else int((utcnow() - oldest).total_seconds())
