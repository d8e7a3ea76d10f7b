"""Time helpers: naive UTC in the database, RFC 3339 on the way out (dates and times
coming in are parsed by `distro.core.parsers`)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """Naive UTC, as stored in every DateTime column."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    return utcnow().date()


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat() + "Z"
