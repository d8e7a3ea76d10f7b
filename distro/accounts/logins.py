"""Checking a password login: throttles first, then the password, then the audit row.

Two throttles shared by every process (`throttle`): one per account, with back-off, so
that guesses spread over many addresses still slow down; one per client address, so that
one address cannot try many accounts. A throttled attempt is refused before the password
is looked at, so it tells nothing about the password.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from distro import audit
from distro.accounts import throttle
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.accounts.passwords import password_matches
from distro.accounts.services import user_by_email
from distro.core.errors import DistroError


class LoginRefused(DistroError):
    """Wrong e-mail or password, or a disabled account (`code` says which)."""

    code = "login_failed"
    status = 400


def address_policy(rate: str) -> throttle.Policy:
    """Failed logins per client address, at the rate of `DISTRO_LOGIN_RATE_LIMIT`."""
    return throttle.Policy.from_rate(
        "login-address", rate, "too many failed logins from this address; wait a minute"
    )


def check_login(session: Session, email: str, password: str, ip: str | None, rate: str) -> User:
    """The user whose e-mail and password these are; the caller commits (the audit row
    and the throttles' counts are written whatever the outcome)."""
    address = (email or "").strip().lower()[:254].replace("\x00", "")
    per_address = address_policy(rate)
    throttle.check(session, per_address, ip or "-")
    throttle.check(session, throttle.ACCOUNT_LOGINS, address)
    user = user_by_email(session, email)
    if not password_matches(user.password_hash if user else None, password):
        throttle.hit(session, throttle.ACCOUNT_LOGINS, address)
        throttle.hit(session, per_address, ip or "-")
        audit.record(session, Actor(user=None, ip=ip), "login.failure", email=address)
        raise LoginRefused("wrong e-mail or password", code="wrong_password")
    if user.disabled:
        audit.record(
            session,
            Actor(user=user, ip=ip),
            "login.refused",
            target_type="user",
            target_id=user.id,
            reason="disabled",
        )
        raise LoginRefused("this account is disabled", code="account_disabled")
    throttle.clear(session, throttle.ACCOUNT_LOGINS, address)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "login.success",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
    )
    return user
