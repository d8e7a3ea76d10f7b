"""Events: what a use case leaves for `distro worker` to act on after it committed.

A feature records an event in its own transaction, beside its audit row, and knows
nothing of who acts on it: the mail package turns events into messages (style habit 17:
a lower layer causes something above it only through a row). So an event exists exactly
when its use case committed, and the request that caused it does no more work for it
than one insert, whatever the event leads to.

Workers claim due events with a lease (a worker that dies gives them back when it ends);
`progress` lets a long fan-out resume where a killed worker stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base

LEASE = timedelta(minutes=5)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_due", "done_at", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[str | None] = mapped_column(String(64))  # where a fan-out stands
    done_count: Mapped[int] = mapped_column(Integer, default=0)  # what it has handled
    last_error: Mapped[str | None] = mapped_column(String(2000))


def record_event(session: Session, kind: str, **payload) -> Event:
    """Add an event to the use case's transaction (JSON-serialisable `payload`)."""
    event = Event(kind=kind, payload=payload, attempts=0, done_count=0)
    session.add(event)
    return event


def claim_due(session: Session, kinds: set[str], limit: int = 20, now: datetime | None = None):
    """Claim up to `limit` undone events of `kinds`, oldest first, for LEASE; the caller
    commits at once. As with mail, SKIP LOCKED (PostgreSQL) or the write lock (SQLite)
    keeps two workers off the same rows, and the conditional UPDATE settles a race."""
    now = now or utcnow()
    due = (
        Event.done_at.is_(None)
        & Event.kind.in_(sorted(kinds))
        & or_(Event.lease_until.is_(None), Event.lease_until < now)
    )
    ids = session.scalars(
        select(Event.id)
        .where(due)
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    return session.scalars(
        update(Event)
        .where(Event.id.in_(ids), due)
        .values(lease_until=now + LEASE, attempts=Event.attempts + 1)
        .returning(Event.id),
        execution_options={"synchronize_session": False},
    ).all()


def renew_lease(session: Session, event: Event, now: datetime | None = None) -> None:
    event.lease_until = (now or utcnow()) + LEASE


def finish(session: Session, event: Event) -> None:
    event.done_at, event.lease_until = utcnow(), None


def release(session: Session, event: Event) -> None:
    """Give an unfinished event back (a stopping worker): due again at once."""
    event.lease_until = None


@dataclass(frozen=True)
class Backlog:
    waiting: int
    oldest: datetime | None
    fanout_done: int  # organisations already notified by the fan-outs still running


def backlog(session: Session) -> Backlog:
    """What waits for the worker (the Mail page, /metrics): an index range read of the
    undone events, which are few however long the history."""
    waiting, oldest, done = session.execute(
        select(func.count(), func.min(Event.created_at), func.sum(Event.done_count)).where(
            Event.done_at.is_(None)
        )
    ).one()
    return Backlog(waiting, oldest, int(done or 0))


def prune(session: Session, keep: timedelta = timedelta(days=30)) -> int:
    """Forget events handled more than `keep` ago (the worker's housekeeping)."""
    result = session.execute(
        delete(Event).where(Event.done_at.is_not(None), Event.done_at < utcnow() - keep)
    )
    return result.rowcount or 0
