"""Turning recorded events into mail, in `distro worker`.

Each event is handled in a transaction of its own that also marks it done, so its mail
is queued exactly once: a worker killed half-way leaves the event undone (its lease runs
out and the next pass takes it), and two workers never hold the same event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from distro.accounts import resets
from distro.core.events import Event, claim_due, finish
from distro.mail import notices

log = logging.getLogger("distro.mail")


def _reset_asked(session: Session, event: Event) -> None:
    issued = resets.issue_reset(session, event.payload["email"], event.payload.get("ip"))
    if issued is not None:
        user, token = issued
        notices.password_reset(session, user, token)


HANDLERS: dict[str, Callable[[Session, Event], None]] = {
    resets.ASKED: _reset_asked,
}


def handle_due_events(session: Session, stop=None) -> int:
    """Handle every due event (until `stop` is set); returns how many were handled."""
    handled = 0
    while stop is None or not stop.is_set():
        claimed = claim_due(session, set(HANDLERS))
        session.commit()
        if not claimed:
            return handled
        for event_id in claimed:
            event = session.get(Event, event_id)
            try:
                HANDLERS[event.kind](session, event)
                finish(session, event)
                session.commit()
                handled += 1
            except Exception as exc:
                session.rollback()
                log.exception("event %s (%s) failed; it is tried again later", event_id, exc)
                _note_failure(session, event_id, exc)
    return handled


def _note_failure(session: Session, event_id: int, exc: Exception) -> None:
    event = session.get(Event, event_id)
    if event is not None:
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        session.commit()
