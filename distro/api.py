"""The API's account-level endpoints: keys, tokens, audit and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from . import tokens
from .apiutil import json_body
from .auth import api_access, csrf
from .clock import rfc3339
from .db import get_session
from .errors import ValidationError
from .keys import key_json, list_keys
from .models import ApiToken, AuditEvent
from .openapi import openapi_document
from .pagination import page_json, paginate, parse_limit
from .text import clean_text

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.get("/keys")
def keys():
    return jsonify(items=[key_json(row) for row in list_keys(get_session())])


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/tokens")
@api_access()
def create_token(actor):
    body = json_body()
    installer = body.get("installer", False)
    if not isinstance(installer, bool):
        raise ValidationError("installer must be true or false", field="installer")
    session = get_session()
    token, secret = tokens.create_token(
        session,
        actor,
        actor.user,
        name=body.get("name"),
        installer=installer,
        expires_days=body.get("expires_days", tokens.DEFAULT_DAYS),
    )
    session.commit()
    return jsonify(tokens.token_json(token, secret)), 201


@bp.get("/tokens")
@api_access()
def list_tokens(actor):
    session = get_session()
    rows, cursor = paginate(
        session,
        tokens.visible_tokens(actor),
        [ApiToken.created_at, ApiToken.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([tokens.token_json(t) for t in rows], cursor))


@bp.delete("/tokens/<token_id>")
@api_access()
def revoke_token(actor, token_id: str):
    session = get_session()
    token = tokens.revoke_token(session, actor, token_id)
    session.commit()
    return jsonify(tokens.token_json(token))


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
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise ValidationError(f"{name} must be a date or RFC 3339 time", field=name) from None


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
            stmt = stmt.where(column == clean_text(request.args[arg], arg, 254))
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
