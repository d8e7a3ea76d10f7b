"""Record ids: 32 lower-case hex characters, random (UUID4), issued by us only."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(value: object) -> bool:
    """Whether `value` could be an id we issued; anything else is simply not found, and
    never reaches a query (PostgreSQL refuses NUL bytes with an error)."""
    return (
        isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    )
