"""The audit log over HTTP, for admins: filtered, newest first, paged by key."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request

from distro.accounts.auth import api_access
from distro.audit.models import AuditEvent
from distro.audit.queries import AuditFilter, page_of_events
from distro.core.clock import rfc3339
from distro.core.db import get_session
from distro.core.pagination import page_json, parse_limit
from distro.core.parsers import parse_moment, parse_text

bp = Blueprint("audit", __name__, url_prefix="/api/v1")


def audit_json(event: AuditEvent) -> dict:
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


def _moment(name: str) -> datetime | None:
    raw = request.args.get(name)
    return parse_moment(raw, name) if raw else None


def _text(name: str) -> str | None:
    raw = request.args.get(name)
    return parse_text(raw, name, 254) if raw else None


@bp.get("/audit")
@api_access("admin")
def audit_log(actor):
    wanted = AuditFilter(
        action=_text("action"),
        org_id=_text("org_id"),
        actor=_text("actor"),
        since=_moment("since"),
        until=_moment("until"),
    )
    rows, cursor = page_of_events(
        get_session(), wanted, parse_limit(request.args.get("limit")), request.args.get("cursor")
    )
    return jsonify(page_json([audit_json(e) for e in rows], cursor))
