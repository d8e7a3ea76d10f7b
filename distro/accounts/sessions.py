"""Sign-in sessions kept on the server: the cookie only names one.

A session starts at login and ends at logout, at a password reset, or when it grows
older than `LIFETIME`; once ended, the cookie that named it is nobody's, however often
it is replayed (review finding 3).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from distro.accounts.models import LoginSession, User
from distro.core.clock import utcnow
from distro.core.ids import is_id

LIFETIME = timedelta(days=14)
COOKIE_KEY = "sid"  # the session cookie's name for the server-side session


def start_session(
    session: Session, user: User, ip: str | None = None, user_agent: str | None = None
) -> LoginSession:
    """A new session for `user`; the caller puts its id in the cookie and commits."""
    row = LoginSession(
        user_id=user.id, ip=(ip or None) and ip[:45], user_agent=(user_agent or "")[:200] or None
    )
    session.add(row)
    session.flush()
    return row


def live_session(session: Session, session_id: object, user_id: str) -> LoginSession | None:
    """The session named by a cookie, if it belongs to `user_id` and has not ended."""
    row = session.get(LoginSession, session_id) if is_id(session_id) else None
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    if utcnow() - row.created_at > LIFETIME:
        return None
    return row


def end_session(session: Session, session_id: object) -> None:
    """Logout: the session ends for good; the caller commits."""
    if is_id(session_id):
        session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow()),
            execution_options={"synchronize_session": False},
        )


def end_all_sessions(session: Session, user: User) -> None:
    """Every session of `user` ends (a password reset, factors reset by an admin)."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
