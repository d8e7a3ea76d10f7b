"""Reading the audit trail: filtered, newest first, one page at a time by key, and the
per-day counts for charts. The API, the admin page and its CSV export all read it here.

Every filter has an index that leads with it and continues `(at, id)`, so a page is an
index range read whatever the filter, and nothing here counts the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from distro.audit.models import ActivityCount, AuditEvent
from distro.core.clock import utcnow
from distro.core.pagination import paginate


@dataclass(frozen=True)
class AuditFilter:
    """Parsed filters (the callers parse them from their own input)."""

    action: str | None = None
    org_id: str | None = None
    actor: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


KEY = [AuditEvent.at, AuditEvent.id]


def filtered(wanted: AuditFilter) -> Select:
    stmt = select(AuditEvent)
    for value, column in (
        (wanted.action, AuditEvent.action),
        (wanted.org_id, AuditEvent.org_id),
        (wanted.actor, AuditEvent.actor_email),
    ):
        if value:
            stmt = stmt.where(column == value)
    if wanted.since:
        stmt = stmt.where(AuditEvent.at >= wanted.since)
    if wanted.until:
        stmt = stmt.where(AuditEvent.at < wanted.until)
    return stmt


def page_of_events(
    session: Session, wanted: AuditFilter, limit: int, cursor: str | None
) -> tuple[list[AuditEvent], str | None]:
    """One page, newest first, and the cursor of the next one (None on the last)."""
    return paginate(session, filtered(wanted), KEY, limit, cursor)


def all_events(session: Session, wanted: AuditFilter):
    """Every matching event, newest first, streamed from the database in batches (the
    CSV export: millions of rows in bounded memory)."""
    stmt = filtered(wanted).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return session.scalars(stmt.execution_options(yield_per=1000))


def actions(session: Session) -> list[str]:
    """The actions ever recorded, from the day counts (a handful of rows a day)."""
    return list(session.scalars(select(ActivityCount.action).distinct().order_by("action")))


def per_day(session: Session, action: str, days: int = 30, today: date | None = None):
    """[(day, count)] of `action` for the last `days` days, today last, zeros included."""
    today = today or utcnow().date()
    start = today - timedelta(days=days - 1)
    counts = dict(
        session.execute(
            select(ActivityCount.day, func.sum(ActivityCount.count))
            .where(ActivityCount.action == action, ActivityCount.day >= start)
            .group_by(ActivityCount.day)
        ).all()
    )
    return [
        (start + timedelta(days=i), int(counts.get(start + timedelta(days=i), 0)))
        for i in range(days)
    ]
