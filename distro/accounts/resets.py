"""Password reset by mailed link: asked for by e-mail address, single use, one hour.

Asking always looks the same from outside (the API answers 202 whatever the address), so
nobody learns which addresses have accounts; at most `PER_USER_PER_HOUR` mails go to one
account per hour, so the form cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.links import digest, new_link_token
from distro.accounts.models import PasswordReset, User
from distro.accounts.passwords import hash_password
from distro.accounts.services import user_by_email
from distro.core.clock import utcnow
from distro.core.errors import Gone
from distro.core.parsers import parse_email
from distro.mail import notices

LIFETIME = timedelta(hours=1)
PER_USER_PER_HOUR = 3
DEAD_LINK = "this reset link is used, expired or unknown; ask for a new one"


def request_reset(session: Session, email: object, ip: str | None = None) -> None:
    """Mail a reset link if `email` belongs to an enabled account; silent otherwise."""
    parse_email(email)  # a malformed address is the caller's mistake: 400
    user = user_by_email(session, email)
    if user is None or user.disabled or _recent_requests(session, user) >= PER_USER_PER_HOUR:
        return
    token, token_hash = new_link_token()
    session.add(
        PasswordReset(user_id=user.id, token_hash=token_hash, expires_at=utcnow() + LIFETIME)
    )
    notices.password_reset(session, user, token)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "password.reset_request",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
    )


def _recent_requests(session: Session, user: User) -> int:
    since = utcnow() - timedelta(hours=1)
    return session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > since)
    )


def valid_reset(session: Session, token: object) -> PasswordReset:
    """The live reset for `token`; 410 token_invalid for used, expired or unknown."""
    token_hash = digest(token)
    reset = None
    if token_hash:
        reset = session.scalars(
            select(PasswordReset).where(PasswordReset.token_hash == token_hash)
        ).first()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise Gone(DEAD_LINK, code="token_invalid")
    if reset.user.disabled:
        raise Gone("this account is disabled", code="token_invalid")
    return reset


def reset_password(
    session: Session, token: object, password: object, ip: str | None = None
) -> User:
    """Set the new password; the link, every other open link and every session of the
    account stop working (API tokens stay: installers must not stop)."""
    reset = valid_reset(session, token)
    user = reset.user
    user.password_hash = hash_password(password)
    now = utcnow()
    used = session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .returning(PasswordReset.id),
        execution_options={"synchronize_session": False},
    ).all()
    if reset.id not in {row.id for row in used}:
        # a concurrent request used the link between our read and our write
        raise Gone(DEAD_LINK, code="token_invalid")
    user.session_epoch += 1
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "password.reset",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
    )
    return user
