"""`distro worker`: sends due mail, queues the subscription-expiry notices, builds the
offline bundles customer admins asked for (one per pass, into the object store) and the
deltas to newly published packages (one package per pass).

Each message is claimed in a short transaction, sent with no transaction open (an SMTP
server may take seconds, and on SQLite an open write transaction would stop every other
writer), then marked in another short one. Without `DISTRO_SMTP_URL` nothing is sent:
messages wait in the outbox, where admins see them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from flask import Flask
from sqlalchemy.orm import Session

from distro.accounts import throttle
from distro.bundles.export import signing_for
from distro.bundles.services import build_queued
from distro.core.clock import today
from distro.core.config import smtp_settings
from distro.core.events import prune as prune_events
from distro.core.metrics import MAIL_ATTEMPTS
from distro.deltas.services import build_due
from distro.installations import summary
from distro.mail import notices, outbox, smtp
from distro.mail.events import handle_due_events
from distro.mail.models import OutboxMessage
from distro.signing.keys import KeySource, active_signer


class Stop(Protocol):
    """What tells the worker to stop: a threading.Event, or the CLI's StopSignal."""

    def is_set(self) -> bool: ...
    def wait(self, timeout: float) -> bool: ...


log = logging.getLogger("distro.mail")
SENDS_PER_PASS = 500  # then events get their turn again


@dataclass
class Round:
    """What one pass did."""

    events: int = 0  # events turned into mail
    bundles: int = 0  # offline bundles built (or failed)
    deltas: int = 0  # packages whose deltas were built (one per pass)
    more: bool = False  # work was left for the next pass, which starts at once
    queued: int = 0  # expiry notices queued
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def count(self, status: str) -> None:
        """Count a message by the status its attempt left it in."""
        outcome = {"sent": "sent", "failed": "failed", "pending": "retry"}[status]
        MAIL_ATTEMPTS.labels(outcome).inc()
        if outcome == "retry":
            self.retrying += 1
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)


class Housekeeping:
    """When the slow, rarely changing jobs (expiry notices, pruning) last ran in this
    process: they run every `EVERY` seconds, not at every pass."""

    EVERY = 300.0

    def __init__(self) -> None:
        self.last: float | None = None

    def due(self) -> bool:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.EVERY:
            return False
        self.last = now
        return True


def run_once(
    app: Flask, stop: Stop | None = None, housekeeping: Housekeeping | None = None
) -> Round:
    """Turn due events into mail, queue the notices that are due (every pass, or when
    `housekeeping` says so), then send every message that is due (or until `stop` is
    set: a stopping worker finishes the message in hand, not the queue)."""
    result = Round()
    with app.app_context():
        session: Session = app.extensions["distro.sessionmaker"]()
        try:
            result.events, result.more = handle_due_events(session, stop)
            if housekeeping is None or housekeeping.due():
                result.queued = notices.queue_expiry_notices(session)
                throttle.prune(session)
                prune_events(session)
                summary.copy_today(session, today())  # the adoption curves' history
                session.commit()
            if app.config.get("SMTP_URL"):
                _send_due(app, session, result, stop or threading.Event())
            result.bundles = _build_bundle(app, session)
            result.deltas = _build_deltas(app, session)
            result.more = result.more or bool(result.bundles) or bool(result.deltas)
        finally:
            session.close()
    return result


def _build_bundle(app: Flask, session: Session) -> int:
    """Build one queued offline bundle; a bundle that fails is marked so and logged."""
    source = KeySource.from_config(app.config)
    try:
        built = build_queued(
            session,
            app.extensions["distro.storage"],
            lambda: signing_for(session, source, app.config),
        )
    except Exception:
        log.exception("an offline bundle failed to build; it is marked failed")
        return 1
    if built is not None:
        log.info("offline bundle %s of %s built", built.seq, built.org_id)
    return int(built is not None)


def _build_deltas(app: Flask, session: Session) -> int:
    """Build the deltas of one package published since the last pass (or none)."""
    bases = app.config["DELTA_BASES"]
    if not bases:
        return 0
    source = KeySource.from_config(app.config)
    looked = build_due(
        session, app.extensions["distro.storage"], lambda: active_signer(session, source), bases
    )
    if looked is not None and looked.deltas:
        log.info("package %s has %d deltas", looked.package_id, looked.deltas)
    return int(looked is not None)


def _send_due(app: Flask, session: Session, result: Round, stop: Stop) -> None:
    """Send due mail, `SENDS_PER_PASS` at most (a pass that stops there says `more`)."""
    settings = smtp_settings(app.config["SMTP_URL"])
    sender, max_attempts = app.config["MAIL_FROM"], int(app.config["MAIL_MAX_ATTEMPTS"])
    while not stop.is_set():
        if result.sent + result.retrying + result.failed >= SENDS_PER_PASS:
            result.more = True
            return
        claimed = outbox.claim_due(session)
        session.commit()
        if not claimed:
            return
        for message_id in claimed:
            if stop.is_set():
                outbox.release(session, claimed)  # back to pending for the next worker
                session.commit()
                return
            message = session.get(OutboxMessage, message_id)
            session.commit()  # no transaction stays open while the SMTP server works
            try:
                smtp.send(settings, sender, message)
            except smtp.SendFailed as exc:
                outbox.mark_attempt_failed(
                    session, message, str(exc), max_attempts=max_attempts, permanent=exc.permanent
                )
                log.warning(
                    "mail %s (%s): %s; now %s", message.id, message.kind, exc, message.status
                )
            else:
                outbox.mark_sent(session, message)
            session.commit()
            result.count(message.status)


def run_until_idle(app: Flask, stop: Stop | None = None) -> Round:
    """Passes until nothing is left that is due now (`distro worker --once`)."""
    total, housekeeping = Round(), Housekeeping()
    while True:
        done = run_once(app, stop, housekeeping)
        for name in ("events", "bundles", "deltas", "queued", "sent", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(done, name))
        if not done.more or (stop is not None and stop.is_set()):
            return total


def run_forever(app: Flask, stop: Stop) -> None:
    """Pass after pass until `stop` is set (SIGTERM/SIGINT in the CLI); a database or
    other error is logged and the next pass tries again."""
    poll = float(app.config["MAIL_POLL_SECONDS"])
    housekeeping = Housekeeping()
    while not stop.is_set():
        try:
            done = run_once(app, stop, housekeeping)
            if done.sent or done.failed or done.retrying or done.queued or done.events:
                log.info("mail: %s", done)
            if done.more:
                continue
        except Exception:
            log.exception("mail worker pass failed; trying again in %s s", poll)
        stop.wait(poll)
