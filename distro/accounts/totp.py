"""Authenticator apps (TOTP, RFC 6238, 30-second steps, six digits, pyotp): enrolment in
two steps (a secret to scan, then a first code that confirms it), and checking a code
within one step either way, never the same step twice."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from distro.accounts.models import SecondFactor, User
from distro.accounts.sealing import Sealer
from distro.core.clock import utcnow
from distro.core.errors import NotFound, ValidationError

ISSUER = "distro"
STEP = 30
_CODE = re.compile(r"[0-9]{6}", re.ASCII)


def parse_code(value: object) -> str | None:
    """Six ASCII digits (spaces and full-width digits folded), or None."""
    if not isinstance(value, str):
        return None
    text = value.translate({code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)})
    text = text.replace(" ", "").replace("-", "")
    return text if _CODE.fullmatch(text) else None


def begin(
    session: Session, user: User, sealer: Sealer, name: object = None
) -> tuple[SecondFactor, str, str]:
    """A new, unconfirmed TOTP factor; returns it, its secret and its otpauth:// URI (an
    older unconfirmed one of the user is replaced)."""
    for pending in session.scalars(
        select(SecondFactor).where(
            SecondFactor.user_id == user.id,
            SecondFactor.kind == "totp",
            SecondFactor.confirmed_at.is_(None),
        )
    ):
        session.delete(pending)
    secret = pyotp.random_base32()
    label = name.strip() if isinstance(name, str) and name.strip() else "Authenticator app"
    factor = SecondFactor(
        user_id=user.id,
        kind="totp",
        name=label[:100],
        totp_sealed=sealer.seal(secret),
        sign_count=0,
    )
    session.add(factor)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return factor, secret, uri


def pending(session: Session, user: User) -> SecondFactor:
    factor = session.scalars(
        select(SecondFactor).where(
            SecondFactor.user_id == user.id,
            SecondFactor.kind == "totp",
            SecondFactor.confirmed_at.is_(None),
        )
    ).first()
    if factor is None:
        raise NotFound(
            "no authenticator app waits to be confirmed; start with POST /api/v1/mfa/totp"
        )
    return factor


def accepts(
    factor: SecondFactor, code: object, sealer: Sealer, now: datetime | None = None
) -> bool:
    """Whether `code` is the factor's for this time step or the one before or after, and
    its step is later than the last one taken (which it then becomes)."""
    digits = parse_code(code)
    secret = sealer.unseal(factor.totp_sealed) if factor.totp_sealed else None
    if digits is None or secret is None:
        return False
    moment = (now or utcnow()).timestamp()
    totp, step = pyotp.TOTP(secret), int(moment // STEP)
    for candidate in (step - 1, step, step + 1):
        if candidate > (factor.totp_last_step or -1) and totp.at(candidate * STEP) == digits:
            return _take_step(factor, candidate)
    return False


def _take_step(factor: SecondFactor, step: int) -> bool:
    """Mark the step taken in one conditional UPDATE, so that two requests racing with
    the same code cannot both pass (the loser's row no longer matches)."""
    session = object_session(factor)
    taken = session.execute(
        update(SecondFactor)
        .where(
            SecondFactor.id == factor.id,
            or_(SecondFactor.totp_last_step.is_(None), SecondFactor.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    set_committed_value(factor, "totp_last_step", step)
    return True


def confirm(session: Session, user: User, code: object, sealer: Sealer) -> SecondFactor:
    """Confirm the pending factor with a first code from the app."""
    factor = pending(session, user)
    if not accepts(factor, code, sealer):
        raise ValidationError(
            "that code is not the app's current one; check the phone's clock and try the next",
            code="mfa_invalid",
            field="code",
        )
    factor.confirmed_at = factor.last_used_at = utcnow()
    return factor
