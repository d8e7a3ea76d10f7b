"""HTTP endpoints for API tokens: create (the secret is shown once), list and revoke."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from distro.accounts import mfa, tokens
from distro.accounts.auth import api_access
from distro.accounts.gate import setting
from distro.accounts.models import ApiToken
from distro.api.inputs import json_body, no_store
from distro.core.db import get_session
from distro.core.errors import ValidationError
from distro.core.pagination import page_json, paginate, parse_limit

bp = Blueprint("tokens", __name__, url_prefix="/api/v1")


@bp.post("/tokens")
@api_access(fresh=True)
def create_token(actor):
    if actor.token is not None:  # a token carries no second factor
        mfa.require_fresh(get_session(), actor.user, None, setting())
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
    return no_store(jsonify(tokens.token_json(token, secret))), 201


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
