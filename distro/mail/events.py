"""Turning recorded events into mail, in `distro worker`.

Each event is handled in transactions that also record how far it got, so its mail is
queued exactly once: a worker killed half-way leaves the event undone where it stood
(its lease runs out and the next pass goes on from there), and two workers never hold
the same event. A publish's notice to every entitled organisation is handled in pages
of `DISTRO_FANOUT_BATCH` organisations (500), each page its own short transaction, so that the
embedded database's one write lock is never held long: downloads (which write their
audit rows) keep going while a fan-out to a hundred thousand customers runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app
from sqlalchemy.orm import Session

from distro.accounts import invitations, mfa, resets
from distro.accounts.models import User
from distro.core.events import Event, claim_due, finish, release, renew_lease
from distro.licenses.models import License, LicenseRequest
from distro.licenses.upgrades import LICENSE_ISSUED, REQUEST_REJECTED
from distro.mail import notices
from distro.mail.models import OutboxMessage
from distro.patches.models import Package
from distro.patches.services import PUBLISHED

log = logging.getLogger("distro.mail")
FANOUT_BATCH = 500
CLAIM = 20  # events claimed at a time
# Pages of a fan-out before the worker turns to other events and to sending for a while.
FANOUT_PAGES_PER_TURN = 20


class Stop:
    """Never set: what `handle_due_events` is given when nobody can stop it."""

    def is_set(self) -> bool:
        return False


def _reset_asked(session: Session, event: Event, stop) -> bool:
    issued = resets.issue_reset(session, event.payload["email"], event.payload.get("ip"))
    if issued is not None:
        user, token = issued
        notices.password_reset(session, user, token)
    return True


def _invitation_sent(session: Session, event: Event, stop) -> bool:
    issued = invitations.issue_link(session, event.payload["invitation_id"])
    if issued is not None:
        invitation, token = issued
        notices.invitation(session, invitation, token)
    return True


def _license_issued(session: Session, event: Event, stop) -> bool:
    license = session.get(License, event.payload["license_id"])
    request = session.get(LicenseRequest, event.payload.get("request_id") or "")
    if license is not None:
        notices.license_issued(session, license, request)
    return True


def _request_rejected(session: Session, event: Event, stop) -> bool:
    request = session.get(LicenseRequest, event.payload["request_id"])
    if request is not None:
        notices.request_rejected(session, request)
    return True


def _package_published(session: Session, event: Event, stop) -> bool:
    """One page of entitled organisations per transaction, from where the event stands;
    False when `stop` came first, or the turn is over (the rest is given back). A
    package yanked meanwhile is announced to nobody more. Each page is read and rendered
    in a session of its own that takes no write lock; only queueing it does."""
    reads = current_app.extensions["distro.read_sessionmaker"]()
    try:
        for _page in range(FANOUT_PAGES_PER_TURN):
            package = reads.get(Package, event.payload["package_id"])
            if package is None or package.yanked:
                return True
            batch = int(current_app.config.get("FANOUT_BATCH", FANOUT_BATCH))
            org_ids = notices.entitled_orgs_after(reads, package, event.progress or "", batch)
            if not org_ids:
                return True
            # Read and rendered without the write lock; queued in one short transaction.
            messages = notices.package_published(reads, package, org_ids)
            reads.rollback()  # let the next page see what other processes did meanwhile
            if messages:
                session.execute(OutboxMessage.__table__.insert(), messages)
            event.progress, event.done_count = org_ids[-1], event.done_count + len(org_ids)
            renew_lease(session, event)
            session.commit()  # this page's mail and the new progress, together
            if stop.is_set():
                return False
        return False  # a turn is over: other events and the mail queue get theirs
    finally:
        reads.close()


def _factors_reset(session: Session, event: Event, stop) -> bool:
    user = session.get(User, event.payload["user_id"])
    if user is not None:
        notices.second_factor_reset(session, user)
    return True


HANDLERS: dict[str, Callable[[Session, Event, object], bool]] = {
    resets.ASKED: _reset_asked,
    invitations.SENT: _invitation_sent,
    LICENSE_ISSUED: _license_issued,
    REQUEST_REJECTED: _request_rejected,
    PUBLISHED: _package_published,
    mfa.RESET: _factors_reset,
}


def handle_due_events(session: Session, stop=None) -> tuple[int, bool]:
    """Handle one claim of due events (until `stop` is set); returns how many were
    finished, and whether work is left (a full claim, or a fan-out that gave its turn
    up), for which the worker comes back at once."""
    stop = stop or Stop()
    claimed = claim_due(session, set(HANDLERS), limit=CLAIM)
    session.commit()
    handled, more = 0, len(claimed) == CLAIM
    for position, event_id in enumerate(claimed):
        if stop.is_set():
            _give_back(session, claimed[position:])
            return handled, True
        done = _handle(session, event_id, stop)
        handled += done
        more = more or not done
    return handled, more


def _handle(session: Session, event_id: int, stop) -> int:
    event = session.get(Event, event_id)
    try:
        done = HANDLERS[event.kind](session, event, stop)
        if done:
            finish(session, event)
        else:
            release(session, event)
        session.commit()
        return 1 if done else 0
    except Exception as exc:
        session.rollback()
        log.exception("event %s (%s) failed; it is tried again later", event_id, event.kind)
        failed = session.get(Event, event_id)
        if failed is not None:
            failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            session.commit()
        return 0


def _give_back(session: Session, event_ids: list[int]) -> None:
    for event_id in event_ids:
        event = session.get(Event, event_id)
        if event is not None and event.done_at is None:
            release(session, event)
    session.commit()
