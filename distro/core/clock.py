"""Time helpers: naive UTC in the database, RFC 3339 and `YYYY-MM-DD` at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime

from distro.core.errors import ValidationError


def utcnow() -> datetime:
    """Naive UTC, as stored in every DateTime column."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    return utcnow().date()


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat() + "Z"


def parse_date(value: object, field: str) -> date:
    """Parse `YYYY-MM-DD`; anything else is a 400 naming the field."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(f"{field} must be a date written YYYY-MM-DD", field=field)
