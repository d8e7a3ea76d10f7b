"""The second-factor policy: who needs one, what a session may do before its check, and
the fresh check that the actions which matter most ask for.

Staff need a second factor while `DISTRO_STAFF_MFA` is `required` (the default), and so
do the people of an organisation whose customer admin requires it. Such a person without
a factor reaches only enrolment; a session of theirs starts unchecked and reaches only
the check; and approving, rejecting, publishing, yanking, rotating keys, creating tokens,
choosing who reviews and administering people need a check within `FRESH` (5 minutes).
API tokens are not sessions: they carry no second factor and need none, but a staff
token can only be created at the command line or in a freshly checked session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts import recovery, throttle, totp
from distro.accounts.actor import Actor
from distro.accounts.models import LoginSession, SecondFactor, User
from distro.accounts.passkeys import MfaInvalid
from distro.accounts.sealing import Sealer
from distro.accounts.sessions import end_all_sessions
from distro.core.clock import utcnow
from distro.core.errors import DistroError, Forbidden, NotFound
from distro.core.events import record_event
from distro.core.ids import is_id
from distro.core.metrics import ERRORS

FRESH = timedelta(minutes=5)
RESET = "mfa.reset"  # the event the worker mails to the person whose factors were reset
CHECKS = throttle.Policy(
    "mfa-check",
    free=5,
    window=timedelta(hours=1),
    backoff=True,
    message="too many wrong codes; wait and try again",
)


class MfaRequired(DistroError):
    code = "mfa_required"
    status = 403


@dataclass(frozen=True)
class Setting:
    """`DISTRO_STAFF_MFA` and what the checks need to read sealed secrets."""

    staff: str  # "required" or "off"
    sealer: Sealer


def applies(user: User, setting: Setting) -> bool:
    """Whether `user` must have and use a second factor."""
    if user.is_staff:
        return setting.staff == "required"
    return bool(user.org is not None and user.org.require_mfa)


def factors(session: Session, user: User) -> list[SecondFactor]:
    """The person's confirmed factors."""
    return list(
        session.scalars(
            select(SecondFactor)
            .where(SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None))
            .order_by(SecondFactor.created_at)
        )
    )


def step(session: Session, user: User, login: LoginSession | None, setting: Setting) -> str:
    """Where a session stands: "enrol" (needs a factor first), "check" (needs this
    session's check first) or "ok"."""
    if not applies(user, setting):
        return "ok"
    if not factors(session, user):
        return "enrol"
    if login is None or login.checked_at is None:
        return "check"
    return "ok"


def is_fresh(login: LoginSession | None) -> bool:
    return (
        login is not None
        and login.checked_at is not None
        and (utcnow() - login.checked_at <= FRESH)
    )


def require_fresh(
    session: Session, user: User, login: LoginSession | None, setting: Setting
) -> None:
    """403 mfa_required unless the policy does not apply or the session's last check is
    at most five minutes old."""
    if applies(user, setting) and not is_fresh(login):
        raise MfaRequired(
            "confirm it is you with your security key, authenticator app or a recovery "
            "code (POST /api/v1/mfa/verify), then try again within 5 minutes"
        )


def may_change_factors(
    session: Session, user: User, login: LoginSession | None, setting: Setting
) -> None:
    """Adding a factor to an account that has one, or removing one, needs a fresh check
    (else a stolen, unchecked session could plant its own key)."""
    if factors(session, user) and not is_fresh(login):
        raise MfaRequired(
            "confirm it is you with a second factor you have, then add or remove factors"
        )


def checked(session: Session, user: User, login: LoginSession, how: str, ip: str | None) -> None:
    """Record a passed check: the session is checked now."""
    login.checked_at = utcnow()
    throttle.clear(session, CHECKS, user.id)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "mfa.verify",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
        factor=how,
    )


def failed(session: Session, user: User, how: str, ip: str | None, reason: str) -> MfaInvalid:
    """Count and audit a failed check; returns the error to raise (after a commit)."""
    throttle.hit(session, CHECKS, user.id)
    ERRORS.labels("mfa_invalid").inc()
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "mfa.failure",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
        factor=how,
        reason=reason[:200],
    )
    return MfaInvalid(reason)


def verify_code(
    session: Session,
    user: User,
    login: LoginSession,
    code: object,
    setting: Setting,
    ip: str | None = None,
) -> str:
    """Check a TOTP code or a recovery code for this session; returns which it was. A
    wrong one raises MfaInvalid, after the failure is counted (the caller commits)."""
    throttle.check(session, CHECKS, user.id)
    for factor in factors(session, user):
        if factor.kind == "totp" and totp.accepts(factor, code, setting.sealer):
            factor.last_used_at = utcnow()
            checked(session, user, login, "totp", ip)
            return "totp"
    if recovery.use(session, user, code):
        checked(session, user, login, "recovery_code", ip)
        audit.record(
            session,
            Actor(user=user, ip=ip),
            "mfa.recovery_code_used",
            target_type="user",
            target_id=user.id,
            org_id=user.org_id,
            left=recovery.left(session, user),
        )
        return "recovery_code"
    raise failed(session, user, "code", ip, "that code is wrong, used already or expired")


def enrolled(session: Session, user: User, factor: SecondFactor, ip: str | None) -> list[str]:
    """A factor was confirmed: audited; the person's first one brings ten recovery codes
    (returned, to be shown once), later ones none."""
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "mfa.enrol",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
        factor=factor.kind,
        name=factor.name,
    )
    if recovery.left(session, user):
        return []
    return recovery.new_codes(session, user)


def remove_factor(
    session: Session,
    user: User,
    login: LoginSession | None,
    factor_id: str,
    setting: Setting,
    ip: str | None = None,
) -> SecondFactor:
    """Remove one of the person's factors (a fresh check first, see `may_change_factors`)."""
    factor = session.get(SecondFactor, factor_id) if is_id(factor_id) else None
    if factor is None or factor.user_id != user.id:
        raise NotFound("no such second factor of yours")
    may_change_factors(session, user, login, setting)
    session.delete(factor)
    audit.record(
        session,
        Actor(user=user, ip=ip),
        "mfa.remove",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
        factor=factor.kind,
        name=factor.name,
    )
    return factor


def reset_factors(session: Session, actor: Actor, person: User) -> int:
    """An admin's (or the operator's) reset of another person's factors and recovery
    codes, after the person lost them: they enrol again at their next sign-in, every
    session of theirs ends, and they are mailed. Returns how many factors went."""
    if actor.user is not None and actor.user.id == person.id:
        raise Forbidden("remove your own factors on your Account page")
    gone = factors(session, person)
    for factor in session.scalars(select(SecondFactor).where(SecondFactor.user_id == person.id)):
        session.delete(factor)
    recovery.forget(session, person)
    end_all_sessions(session, person)
    audit.record(
        session,
        actor,
        "mfa.reset",
        target_type="user",
        target_id=person.id,
        org_id=person.org_id,
        factors=len(gone),
    )
    record_event(session, RESET, user_id=person.id)
    return len(gone)
