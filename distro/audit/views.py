"""The audit log over HTTP, for admins: filtered, paginated, newest first."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from distro.accounts.auth import api_access, csrf
from distro.audit.models import AuditEvent
from distro.core.clock import rfc3339
from distro.core.db import get_session
from distro.core.pagination import page_json, paginate, parse_limit
from distro.core.parsers import parse_moment, parse_text

bp = Blueprint("audit", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _audit_json(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "at": rfc3339(event.at),
        "actor": event.actor_email,
        "actor_id": event.actor_id,
        "token_id": event.token_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "org_id": event.org_id,
        "ip": event.ip,
        "details": event.details,
    }


def _parse_moment(name: str) -> datetime | None:
    raw = request.args.get(name)
    return parse_moment(raw, name) if raw else None


@bp.get("/audit")
@api_access("admin")
def audit_log(actor):
    stmt = select(AuditEvent)
    for arg, column in (
        ("action", AuditEvent.action),
        ("org_id", AuditEvent.org_id),
        ("actor", AuditEvent.actor_email),
    ):
        if request.args.get(arg):
            stmt = stmt.where(column == parse_text(request.args[arg], arg, 254))
    since, until = _parse_moment("since"), _parse_moment("until")
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    rows, cursor = paginate(
        get_session(),
        stmt,
        [AuditEvent.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([_audit_json(e) for e in rows], cursor))
