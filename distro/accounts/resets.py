"""Password reset by mailed link: asked for by e-mail address, single use, one hour.

Asking always looks the same from outside (the API answers 202 whatever the address, in
the same time: the worker decides whether a link goes out), so nobody learns which
addresses have accounts; at most `PER_USER_PER_HOUR` mails go to one account per hour, so
the form cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts import throttle
from distro.accounts.actor import Actor
from distro.accounts.links import digest, new_link_token
from distro.accounts.models import PasswordReset, User
from distro.accounts.passwords import hash_password
from distro.accounts.services import user_by_email
from distro.accounts.sessions import end_all_sessions
from distro.core.clock import utcnow
from distro.core.errors import Gone
from distro.core.events import record_event
from distro.core.parsers import parse_email

LIFETIME = timedelta(hours=1)
PER_USER_PER_HOUR = 3
DEAD_LINK = "this reset link is used, expired or unknown; ask for a new one"
ASKED = "password_reset.asked"  # the event the worker turns into a mailed link


def address_policy(rate: str) -> throttle.Policy:
    """Reset requests per client address, at the rate of `DISTRO_PASSWORD_RESET_RATE_LIMIT`,
    counted for every process."""
    return throttle.Policy.from_rate(
        "reset-address", rate, "too many reset requests from this address; wait a minute"
    )


def request_reset(session: Session, email: object, ip: str | None, rate: str) -> None:
    """Take a request for a reset link; the caller commits.

    Whatever the address, this does the same work: one throttle count and one event. The
    worker decides (`issue_reset`) whether a link goes out, so neither the answer nor its
    timing tells anyone which addresses have accounts (review finding 11).
    """
    address = parse_email(email)  # a malformed address is the caller's mistake: 400
    policy = address_policy(rate)
    throttle.check(session, policy, ip or "-")
    throttle.hit(session, policy, ip or "-")
    record_event(session, ASKED, email=address, ip=ip)


def issue_reset(session: Session, email: str, ip: str | None = None) -> tuple[User, str] | None:
    """For the worker: a new link for `email` if it names an enabled account that has had
    fewer than `PER_USER_PER_HOUR` links this hour; returns the user and the link's token
    (to mail; only its hash is kept), or None. The caller commits."""
    user = user_by_email(session, email)
    if user is None or user.disabled or _recent_requests(session, user) >= PER_USER_PER_HOUR:
        return None
    token, token_hash = new_link_token()
    session.add(
        PasswordReset(user_id=user.id, token_hash=token_hash, expires_at=utcnow() + LIFETIME)
    )
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "password.reset_request",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
    )
    return user, token


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
    end_all_sessions(session, user)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "password.reset",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
    )
    return user
