"""Recovery codes: ten per person, each good once, for when the key or the phone is gone.
Only their SHA-256 is kept (they are random, 60 bits each, so a plain hash is enough);
a new set replaces the old one."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from distro.accounts.models import RecoveryCode, User
from distro.core.clock import utcnow

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(" ", "")
    return text if len(text) == 13 and text[6] == "-" else None


def forget(session: Session, user: User) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def new_codes(session: Session, user: User) -> list[str]:
    """Ten new codes (`abcdef-ghjkmn`), shown once; the old ones stop working."""
    forget(session, user)
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:6]}-{raw[6:]}")
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    return codes


def use(session: Session, user: User, value: object) -> bool:
    """Spend one of the user's unused codes; False for anything else. The conditional
    update settles two requests that spend the same code at once."""
    code = normalise(value)
    if code is None:
        return False
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(RecoveryCode.id),
        execution_options={"synchronize_session": False},
    ).first()
    return spent is not None


def left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
