"""Audit trail: one row per security-relevant action, written in the use case's transaction.

`audit.record(session, actor, action, ...)` is the one call every service makes.
"""

from distro.audit.events import record, record_many

__all__ = ["record", "record_many"]
