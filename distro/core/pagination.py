"""Keyset pagination for every list: `limit` (default 50, max 500) and an opaque `cursor`."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from distro.core.errors import ValidationError
from distro.core.parsers import parse_cursor, parse_integer_text

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    return parse_integer_text(raw, "limit", 1, MAX_LIMIT)


def encode_cursor(values: list) -> str:
    """The cursor of the key values of a page's last row (`paginate`, or a list that keeps
    its own order)."""
    plain = [["t", v.isoformat()] if isinstance(v, datetime) else ["v", v] for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, key_columns: list) -> list:
    """The key values a cursor holds, each of its column's type (a datetime, a string, an
    integer within 64 bits), or a 400: a cursor is data from outside like any other."""
    cursor = parse_cursor(cursor)
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(plain, list) or len(plain) != len(key_columns):
            raise ValueError
        return [_key_value(item, column) for item, column in zip(plain, key_columns, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValidationError(
            "cursor is not one this server handed out", code="invalid_cursor", field="cursor"
        ) from None


def _key_value(item: object, column) -> datetime | str | int:
    if not isinstance(item, list) or len(item) != 2:
        raise ValueError
    kind, value = item
    wanted = column.type.python_type
    if wanted is datetime:
        if kind != "t" or not isinstance(value, str) or len(value) > 40:
            raise ValueError
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            raise ValueError
        return moment
    if kind != "v" or type(value) is not wanted:
        raise ValueError
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError
    if isinstance(value, str) and (len(value) > 255 or "\x00" in value):
        raise ValueError
    return value


def paginate(
    session: Session,
    stmt: Select,
    key_columns: list,
    limit: int,
    cursor: str | None,
    *,
    ascending: bool = False,
) -> tuple[list, str | None]:
    """Run `stmt` ordered by `key_columns` (newest first, or in ascending order; the last
    column unique) from where `cursor` left off.

    Returns one page of entities and the cursor of the next page (None on the last).
    """
    if cursor:
        after = tuple_(*decode_cursor(cursor, key_columns))
        keys = tuple_(*key_columns)
        stmt = stmt.where(keys > after if ascending else keys < after)
    order = [column.asc() if ascending else column.desc() for column in key_columns]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, column.key) for column in key_columns])


def page_json(items: list, next_cursor: str | None) -> dict:
    return {"items": items, "next_cursor": next_cursor}
