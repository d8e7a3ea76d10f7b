"""The site's installer tokens: `dst_<prefix>_<secret>` like the vendor's, so installers
are configured the same way; only the SHA-256 is stored, compared in constant time."""

from __future__ import annotations

import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.accounts.tokens import digest, token_prefix, validate_name
from distro.core.ids import new_id
from distro.mirror.models import MirrorToken


def create_token(session: Session, name: object) -> tuple[MirrorToken, str]:
    """A new token of the site; returns the row and the secret (never stored)."""
    prefix = secrets.token_hex(6)
    secret = f"dst_{prefix}_{secrets.token_urlsafe(32)}"
    token = MirrorToken(
        id=new_id(), prefix=prefix, name=validate_name(name), secret_hash=digest(secret)
    )
    session.add(token)
    return token, secret


def authenticate(session: Session, presented: str) -> MirrorToken | None:
    prefix = token_prefix(presented)
    if prefix is None:
        return None
    token = session.scalars(select(MirrorToken).where(MirrorToken.prefix == prefix)).first()
    if token is None or not hmac.compare_digest(token.secret_hash, digest(presented)):
        return None
    return token
