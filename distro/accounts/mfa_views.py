"""The second factor over HTTP (contract §9), for the signed-in session: enrol an
authenticator app or a security key, check this session, list and remove factors, new
recovery codes. The pages' script uses the same endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from distro.accounts import mfa, passkeys, recovery, totp
from distro.accounts.auth import api_access
from distro.accounts.gate import current_login, mfa_step, setting
from distro.accounts.models import SecondFactor
from distro.api.inputs import json_body, no_store
from distro.core.clock import rfc3339, utcnow
from distro.core.db import get_session
from distro.core.errors import Forbidden

bp = Blueprint("mfa", __name__, url_prefix="/api/v1/mfa")


def factor_json(factor: SecondFactor) -> dict:
    return {
        "id": factor.id,
        "kind": factor.kind,
        "name": factor.name,
        "created_at": rfc3339(factor.created_at),
        "last_used_at": rfc3339(factor.last_used_at),
    }


def _session_only(actor):
    """These endpoints act on the signed-in session; a token has none."""
    login = current_login()
    if actor.token is not None or login is None:
        raise Forbidden("second factors are managed in a signed-in session, not with a token")
    return login


def _party() -> passkeys.RelyingParty:
    return passkeys.RelyingParty.from_base_url(current_app.config["BASE_URL"])


@bp.get("/status")
@mfa_step("any")
@api_access()
def status(actor):
    login = _session_only(actor)
    session, user = get_session(), actor.user
    return jsonify(
        required=mfa.applies(user, setting()),
        step=mfa.step(session, user, login, setting()),
        fresh=mfa.is_fresh(login),
        factors=[factor_json(f) for f in mfa.factors(session, user)],
        recovery_codes_left=recovery.left(session, user),
    )


@bp.post("/totp")
@mfa_step("enrol")
@api_access()
def begin_totp(actor):
    login = _session_only(actor)
    body, session = json_body(optional=True), get_session()
    mfa.may_change_factors(session, actor.user, login, setting())
    factor, secret, uri = totp.begin(session, actor.user, setting().sealer, body.get("name"))
    session.commit()
    return no_store(jsonify(id=factor.id, secret=secret, otpauth_uri=uri)), 201


@bp.post("/totp/confirm")
@mfa_step("enrol")
@api_access()
def confirm_totp(actor):
    login = _session_only(actor)
    body, session = json_body(), get_session()
    mfa.may_change_factors(session, actor.user, login, setting())
    factor = totp.confirm(session, actor.user, body.get("code"), setting().sealer)
    codes = mfa.enrolled(session, actor.user, factor, request.remote_addr)
    login.checked_at = utcnow()  # the code just given was a check
    session.commit()
    return no_store(jsonify(factor=factor_json(factor), recovery_codes=codes))


@bp.post("/verify")
@mfa_step("check")
@api_access()
def verify(actor):
    login = _session_only(actor)
    body, session = json_body(), get_session()
    try:
        how = mfa.verify_code(
            session, actor.user, login, body.get("code"), setting(), request.remote_addr
        )
    except passkeys.MfaInvalid:
        session.commit()  # the failure's count and audit row
        raise
    session.commit()
    return jsonify(verified=how, checked_at=rfc3339(login.checked_at))


@bp.post("/webauthn/register/options")
@mfa_step("enrol")
@api_access()
def register_options(actor):
    login = _session_only(actor)
    session = get_session()
    mfa.may_change_factors(session, actor.user, login, setting())
    options, challenge = passkeys.registration_options(session, actor.user, _party())
    passkeys.keep_challenge(login, challenge)
    session.commit()
    return current_app.response_class(options, mimetype="application/json")


@bp.post("/webauthn/register")
@mfa_step("enrol")
@api_access()
def register(actor):
    login = _session_only(actor)
    body, session = json_body(), get_session()
    mfa.may_change_factors(session, actor.user, login, setting())
    challenge = passkeys.take_challenge(session, login)
    session.commit()  # used, whatever the answer turns out to be
    key = passkeys.register(
        session, actor.user, body.get("credential"), challenge, _party(), body.get("name")
    )
    codes = mfa.enrolled(session, actor.user, key, request.remote_addr)
    login.checked_at = utcnow()  # the key just verified its user
    session.commit()
    return no_store(jsonify(factor=factor_json(key), recovery_codes=codes)), 201


@bp.post("/webauthn/assert/options")
@mfa_step("check")
@api_access()
def assert_options(actor):
    login, session = _session_only(actor), get_session()
    options, challenge = passkeys.authentication_options(session, actor.user, _party())
    passkeys.keep_challenge(login, challenge)
    session.commit()
    return current_app.response_class(options, mimetype="application/json")


@bp.post("/webauthn/assert")
@mfa_step("check")
@api_access()
def assert_key(actor):
    login = _session_only(actor)
    body, session = json_body(), get_session()
    challenge = passkeys.take_challenge(session, login)
    try:
        key = passkeys.assert_key(session, actor.user, body.get("credential"), challenge, _party())
    except passkeys.MfaInvalid as exc:
        failure = mfa.failed(session, actor.user, "webauthn", request.remote_addr, exc.message)
        session.commit()
        raise failure from None
    mfa.checked(session, actor.user, login, "webauthn", request.remote_addr)
    session.commit()
    return jsonify(
        verified="webauthn", factor=factor_json(key), checked_at=rfc3339(login.checked_at)
    )


@bp.delete("/factors/<factor_id>")
@api_access()
def remove(actor, factor_id: str):
    login = _session_only(actor)
    session = get_session()
    factor = mfa.remove_factor(
        session, actor.user, login, factor_id, setting(), request.remote_addr
    )
    session.commit()
    return jsonify(factor_json(factor))


@bp.post("/recovery-codes")
@api_access()
def new_recovery_codes(actor):
    login = _session_only(actor)
    session = get_session()
    mfa.may_change_factors(session, actor.user, login, setting())
    codes = recovery.new_codes(session, actor.user)
    session.commit()
    return no_store(jsonify(recovery_codes=codes)), 201
