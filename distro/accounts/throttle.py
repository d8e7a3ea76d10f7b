"""Attempt throttles kept in the database, so that they hold across every worker process
and host that shares it (review finding 4): Flask-Limiter's `memory://` store counts per
process only, and the embedded default runs five of them.

A throttle counts hits of one key (an account's failed logins, an address's failed logins
or password-reset requests) in a window. The `free`-th hit blocks the key: until the
window ends (`Policy.backoff` False), or for a time that doubles with every further hit
(True), up to `max_block`. Hits are counted with one atomic upsert, so two processes
hitting the same key at once both count.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse as parse_limit
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distro.accounts.models import AttemptThrottle
from distro.core.clock import utcnow
from distro.core.errors import TooManyAttempts


@dataclass(frozen=True)
class Policy:
    """How one kind of key is throttled; `scope` keeps the kinds' keys apart."""

    scope: str
    free: int
    window: timedelta
    backoff: bool = False
    max_block: timedelta = timedelta(minutes=15)
    message: str = "too many attempts; wait a while and try again"

    @classmethod
    def from_rate(cls, scope: str, rate: str, message: str) -> Policy:
        """A fixed-window policy from a Flask-Limiter rate such as "10 per minute", so that
        the shared throttle and the per-process limiter say the same number."""
        item = parse_limit(rate)
        return cls(scope, item.amount, timedelta(seconds=item.get_expiry()), message=message)

    def block_after(self, count: int, window_start: datetime, now: datetime) -> datetime | None:
        """When the key is free again after its `count`-th hit; None below `free`. The
        `free`-th hit blocks: at most `free` hits get through in a window."""
        if count < self.free:
            return None
        if not self.backoff:
            return window_start + self.window
        seconds = min(2 ** min(count - self.free, 30), self.max_block.total_seconds())
        return now + timedelta(seconds=seconds)


# An account under attack from many addresses: after five failures 1 s, then 2 s, 4 s, …
# up to 15 minutes between tries, and an hour after the first they are forgotten. A
# success forgets them at once.
ACCOUNT_LOGINS = Policy(
    "login-account",
    free=5,
    window=timedelta(hours=1),
    backoff=True,
    message="too many failed logins for this account; wait and try again",
)


def _key(policy: Policy, value: str) -> str:
    return hashlib.sha256(f"{policy.scope}:{value}".encode()).hexdigest()


def check(session: Session, policy: Policy, value: str, now: datetime | None = None) -> None:
    """Refuse (429, with the seconds to wait) while `value` is blocked."""
    now = now or utcnow()
    until = session.scalar(
        select(AttemptThrottle.blocked_until).where(AttemptThrottle.key == _key(policy, value))
    )
    if until is not None and until > now:
        raise TooManyAttempts(policy.message, retry_after=_seconds(until - now))


def hit(session: Session, policy: Policy, value: str, now: datetime | None = None) -> int:
    """Count one hit of `value` (in the caller's transaction); returns the count in the
    current window. The hit that goes past `free` blocks the key."""
    now = now or utcnow()
    key = _key(policy, value)
    table = AttemptThrottle.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = table.c.window_start <= now - policy.window
    stmt = (
        insert(table)
        .values(key=key, count=1, window_start=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((stale, 1), else_=table.c.count + 1),
                "window_start": case((stale, now), else_=table.c.window_start),
                "blocked_until": case((stale, None), else_=table.c.blocked_until),
            },
        )
        .returning(table.c.count, table.c.window_start)
    )
    count, window_start = session.execute(stmt).one()
    until = policy.block_after(count, window_start, now)
    if until is not None:
        session.execute(update(table).where(table.c.key == key).values(blocked_until=until))
    return count


def clear(session: Session, policy: Policy, value: str) -> None:
    """Forget `value`'s hits (a successful login)."""
    session.execute(delete(AttemptThrottle).where(AttemptThrottle.key == _key(policy, value)))


def prune(
    session: Session, now: datetime | None = None, keep: timedelta = timedelta(days=1)
) -> int:
    """Remove keys neither blocked nor hit within `keep` (the worker's housekeeping)."""
    now = now or utcnow()
    result = session.execute(
        delete(AttemptThrottle).where(
            AttemptThrottle.window_start < now - keep,
            or_(AttemptThrottle.blocked_until.is_(None), AttemptThrottle.blocked_until < now),
        )
    )
    return result.rowcount or 0


def _seconds(left: timedelta) -> int:
    return max(1, math.ceil(left.total_seconds()))
