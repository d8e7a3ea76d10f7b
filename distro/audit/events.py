"""Audit trail: one row per security-relevant action, written in the use case's transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.audit.models import AuditEvent
from distro.core.metrics import EVENTS


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    org_id: str | None = None,
    **details,
) -> AuditEvent:
    """Add an audit row to the session; it commits with the use case it describes."""
    event = AuditEvent(
        actor_id=actor.user.id if actor.user else None,
        actor_email=actor.user.email if actor.user else ("cli" if actor.token is None else None),
        token_id=actor.token.id if actor.token else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        org_id=org_id,
        ip=actor.ip,
        details=details,
    )
    session.add(event)
    EVENTS.labels(action).inc()
    return event
