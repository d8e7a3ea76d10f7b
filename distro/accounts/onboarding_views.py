"""HTTP endpoints for getting into an account: password reset and invitations.

The reset and accept endpoints are open (the mailed token is the credential); asking
for a reset always answers 202, so it tells nobody whether an address has an account.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_babel import get_locale

from distro.accounts import invitations, resets
from distro.accounts.auth import api_access
from distro.accounts.models import Invitation
from distro.api.inputs import json_body
from distro.core.db import get_session
from distro.core.limits import limiter
from distro.core.pagination import page_json, paginate, parse_limit

bp = Blueprint("onboarding", __name__, url_prefix="/api/v1")


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


@bp.post("/password-reset")
@limiter.limit(_reset_limit)
def ask_for_reset():
    body = json_body()
    session = get_session()
    resets.request_reset(session, body.get("email"), request.remote_addr, _reset_limit())
    session.commit()
    return jsonify({"status": "accepted"}), 202


@bp.post("/password-reset/<token>")
@limiter.limit(_reset_limit)
def reset_password(token: str):
    body = json_body()
    session = get_session()
    user = resets.reset_password(session, token, body.get("password"), ip=request.remote_addr)
    session.commit()
    return jsonify({"status": "password_changed", "email": user.email})


@bp.post("/invitations")
@api_access("customer_admin", fresh=True)
def invite(actor):
    body = json_body()
    session = get_session()
    invitation = invitations.invite(
        session,
        actor,
        body.get("email"),
        body.get("role"),
        org=body.get("org"),
        language=str(get_locale()),
    )
    session.commit()
    return jsonify(invitations.invitation_json(invitation)), 201


@bp.get("/invitations")
@api_access("customer_admin")
def list_invitations(actor):
    session = get_session()
    rows, cursor = paginate(
        session,
        invitations.visible_invitations(actor),
        [Invitation.created_at, Invitation.id],
        parse_limit(request.args.get("limit")),
        request.args.get("cursor"),
    )
    return jsonify(page_json([invitations.invitation_json(i) for i in rows], cursor))


@bp.delete("/invitations/<invitation_id>")
@api_access("customer_admin", fresh=True)
def revoke_invitation(actor, invitation_id: str):
    session = get_session()
    invitation = invitations.revoke(session, actor, invitation_id)
    session.commit()
    return jsonify(invitations.invitation_json(invitation))


@bp.post("/invitations/<invitation_id>/resend")
@api_access("customer_admin", fresh=True)
def resend_invitation(actor, invitation_id: str):
    session = get_session()
    invitation = invitations.resend(session, actor, invitation_id)
    session.commit()
    return jsonify(invitations.invitation_json(invitation))


@bp.post("/invitations/<token>/accept")
@limiter.limit(_reset_limit)
def accept_invitation(token: str):
    body = json_body()
    session = get_session()
    user = invitations.accept(session, token, body.get("password"), ip=request.remote_addr)
    session.commit()
    return jsonify({"id": user.id, "email": user.email, "role": user.role}), 201
