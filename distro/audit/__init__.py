"""Audit trail: one row per security-relevant action, written in the use case's transaction.

`audit.record(session, actor, action, ...)` is the one call every service makes.
"""

from distro.audit.events import record

__all__ = ["record"]
