"""API tokens: creation (secret shown once), listing, revocation and authentication.

A token reads `dst_<prefix>_<secret>`. The prefix finds the row; the SHA-256 of the
whole token is compared in constant time. The database never holds a usable secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import ApiToken, User
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import Forbidden, NotFound, RuleViolation
from distro.core.ids import is_id
from distro.core.parsers import parse_integer, parse_text

DEFAULT_DAYS = 365
MAX_DAYS = 3650
# `dst_<prefix>_<secret>`, in ASCII letters, digits, `-` and `_` (the secret may hold `_`).
_PRESENTED = re.compile(r"dst_([A-Za-z0-9-]+)_[A-Za-z0-9_-]+", re.ASCII)


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (site mirrors' tokens too)."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_name(name: object) -> str:
    return parse_text(name, "name", 100, required=True)


def validate_days(days: object) -> int:
    return parse_integer(days, "expires_days", 1, MAX_DAYS)


def create_token(
    session: Session,
    actor: Actor,
    owner: User,
    *,
    name: str,
    installer: bool,
    expires_days: int = DEFAULT_DAYS,
) -> tuple[ApiToken, str]:
    """Create a token for `owner`; returns the row and the secret (never stored)."""
    name = validate_name(name)
    expires_days = validate_days(expires_days)
    if actor.is_installer:
        raise Forbidden("an installer token cannot create tokens")
    if "customer_user" in (actor.role, owner.role):
        raise Forbidden("a customer_user has no tokens; ask a customer admin for one")
    if installer and owner.org_id is None:
        raise RuleViolation(
            f"installer tokens belong to a customer organisation; {owner.email} has none",
            code="installer_needs_org",
        )
    prefix = secrets.token_hex(6)
    secret = f"dst_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name,
        prefix=prefix,
        secret_hash=digest(secret),
        user_id=owner.id,
        org_id=owner.org_id,
        scope="installer" if installer else "personal",
        expires_at=utcnow() + timedelta(days=expires_days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.create",
        target_type="token",
        target_id=token.id,
        org_id=owner.org_id,
        name=name,
        scope=token.scope,
        owner=owner.email,
    )
    return token, secret


def _visible(actor: Actor):
    """Customer admins see their organisation's tokens, admins all, other staff their own."""
    stmt = select(ApiToken)
    if actor.user is None or actor.role == "admin":
        return stmt
    if actor.role == "customer_user":
        raise Forbidden("a customer_user has no tokens; ask a customer admin for one")
    if actor.role == "customer_admin":
        return stmt.where(ApiToken.org_id == actor.org_id)
    return stmt.where(ApiToken.user_id == actor.user.id)


def visible_tokens(actor: Actor):
    """The tokens `actor` may list and revoke, unordered."""
    return _visible(actor)


def revoke_token(session: Session, actor: Actor, token_id: str) -> ApiToken:
    if actor.is_installer:
        raise Forbidden("an installer token cannot revoke tokens")
    token = None
    if is_id(token_id):
        token = session.scalars(_visible(actor).where(ApiToken.id == token_id)).first()
    if token is None:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "token.revoke",
            target_type="token",
            target_id=token.id,
            org_id=token.org_id,
            name=token.name,
        )
    return token


def token_prefix(presented: str) -> str | None:
    """The (non-secret) prefix of a well-formed `dst_<prefix>_<secret>`, else None."""
    match = _PRESENTED.fullmatch(presented) if len(presented) <= 200 else None
    return match.group(1) if match else None


def authenticate(session: Session, presented: str) -> ApiToken | None:
    """The live token matching `presented`, or None (unknown, expired, revoked, disabled)."""
    prefix = token_prefix(presented)
    if prefix is None:
        return None
    # Every API request comes here; the owner is needed right after, so fetch both at once.
    token = session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.prefix == prefix)
    ).first()
    if token is None or not hmac.compare_digest(token.secret_hash, digest(presented)):
        return None
    now = utcnow()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if token.user.disabled:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now  # coarse, to avoid a write on every request
        session.commit()
    return token


def token_json(token: ApiToken, secret: str | None = None) -> dict:
    body = {
        "id": token.id,
        "name": token.name,
        "scope": token.scope,
        "prefix": token.prefix,
        "owner": token.user.email,
        "org_id": token.org_id,
        "created_at": rfc3339(token.created_at),
        "expires_at": rfc3339(token.expires_at),
        "revoked_at": rfc3339(token.revoked_at),
        "last_used_at": rfc3339(token.last_used_at),
    }
    if secret is not None:
        body["token"] = secret
    return body
