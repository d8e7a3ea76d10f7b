"""Audit trail: one row per security-relevant action, written in the use case's transaction.

The actor is anything with `user` (id, email), `token` (id) and `ip`: audit sits below
the accounts package and knows its `Actor` only by that shape.
"""

from __future__ import annotations

import random
from typing import Protocol

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from distro.audit.models import SHARDS, ActivityCount, AuditEvent
from distro.core.clock import utcnow
from distro.core.metrics import EVENTS


class Acting(Protocol):
    """What the audit row needs to know of who acted (`distro.accounts.actor.Actor`)."""

    @property
    def user(self): ...  # with `id` and `email`, or None (the CLI, an anonymous caller)

    @property
    def token(self): ...  # with `id`, or None

    @property
    def ip(self) -> str | None: ...


def record(
    session: Session,
    actor: Acting,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    org_id: str | None = None,
    **details,
) -> AuditEvent:
    """Add an audit row to the session, and count it for its day; both commit with the
    use case they describe."""
    user, token = actor.user, actor.token
    event = AuditEvent(
        at=utcnow(),
        actor_id=user.id if user else None,
        actor_email=user.email if user else ("cli" if token is None else None),
        token_id=token.id if token else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        org_id=org_id,
        ip=actor.ip,
        details=details,
    )
    session.add(event)
    _count(session, action, event.at.date())
    EVENTS.labels(action).inc()
    return event


def record_many(
    session: Session, actor: Acting, action: str, targets: list[dict], *, target_type: str
) -> int:
    """One audit row per item of `targets` (each: target_id, org_id and details), written
    in one statement: a bulk import's thousands of creations, audited like single ones."""
    if not targets:
        return 0
    user, token, now = actor.user, actor.token, utcnow()
    session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "at": now,
                "actor_id": user.id if user else None,
                "actor_email": user.email if user else ("cli" if token is None else None),
                "token_id": token.id if token else None,
                "action": action,
                "target_type": target_type,
                "target_id": item["target_id"],
                "org_id": item.get("org_id"),
                "ip": actor.ip,
                "details": item.get("details", {}),
            }
            for item in targets
        ],
    )
    _count(session, action, now.date(), len(targets))
    EVENTS.labels(action).inc(len(targets))
    return len(targets)


def _count(session: Session, action: str, day, by: int = 1) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = ActivityCount.__table__
    stmt = insert(table).values(day=day, action=action, shard=random.randrange(SHARDS), count=by)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.day, table.c.action, table.c.shard],
            set_={"count": table.c.count + by},
        )
    )
