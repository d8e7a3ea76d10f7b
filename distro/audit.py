"""Audit trail: one row per security-relevant action, written in the use case's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from .models import ApiToken, AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (through the web or a personal token), an installer token,
    or the operator at the command line (`user` None)."""

    user: User | None
    token: ApiToken | None = None
    ip: str | None = None

    @property
    def role(self) -> str:
        return self.user.role if self.user else "admin"

    @property
    def org_id(self) -> str | None:
        return self.user.org_id if self.user else None

    @property
    def is_staff(self) -> bool:
        return self.user is None or self.user.is_staff

    @property
    def is_installer(self) -> bool:
        return self.token is not None and self.token.scope == "installer"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles or self.role == "admin"


CLI = Actor(user=None)


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
    return event
