"""Liveness and readiness probes for load balancers."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from distro.core.db import get_session
from distro.core.errors import DistroError
from distro.storage.factory import get_storage

bp = Blueprint("health", __name__)
log = logging.getLogger("distro")


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """503 unless both the database and the object store answer."""
    checks = {"database": "ok", "storage": "ok"}
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("readyz: database unreachable: %s", type(exc).__name__)
        checks["database"] = "unreachable"
    try:
        get_storage().check()
    except DistroError as exc:
        checks["storage"] = exc.message
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), (
        200 if ready else 503
    )
