"""Audit models: one row per security-relevant action, and the per-day counts of them
that charts read (millions of rows are never counted on a page load)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, DateTime, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base


class AuditEvent(Base):
    """Listed newest first, by `(at, id)`; each filter of the audit page has an index
    that leads with it, so any filter pages by key without scanning the table."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_at_id", "at", "id"),
        Index("ix_audit_action_at", "action", "at", "id"),
        Index("ix_audit_org_at", "org_id", "at", "id"),
        Index("ix_audit_actor_at", "actor_email", "at", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor_email: Mapped[str | None] = mapped_column(String(254))
    token_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    org_id: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class ActivityCount(Base):
    """How many audit rows of `action` a day saw, counted in the row's own transaction.

    Each day and action is spread over `SHARDS` rows, a random one taking each count,
    so that a thousand downloads committing at once do not queue on one row's lock; a
    chart adds the shards up."""

    __tablename__ = "activity_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    action: Mapped[str] = mapped_column(String(64), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


SHARDS = 8
