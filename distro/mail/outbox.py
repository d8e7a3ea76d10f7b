"""Writing messages to the outbox, and what workers and admins do with them there.

A message is rendered when its event happens, inside the event's transaction, so that
it says what was true then and is committed (or rolled back) together with the event.
Recipients who share a language share one message; each language gets its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.core.clock import utcnow
from distro.core.errors import Conflict, NotFound
from distro.core.i18n import LANGUAGES
from distro.core.ids import is_id, new_id
from distro.mail.models import OutboxMessage

DEFAULT_LANGUAGE = "en"
LEASE = timedelta(minutes=10)  # a worker that holds a message longer has died
# Waits after the 1st, 2nd, … failed attempt; the last one repeats.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


def language_of(user: User) -> str:
    """The language the user chose, else the one they last logged in with."""
    for language in (user.language, user.last_language):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def compose(
    kind: str,
    recipients: Iterable[tuple[str, str]],
    context: dict,
    *,
    attachment: Attachment | None = None,
    org_id: str | None = None,
    secret: bool = False,
) -> list[OutboxMessage]:
    """The messages of `kind` for (address, language) pairs, one per language, rendered
    but in no session yet (a fan-out renders outside the transaction that queues them)."""
    by_language: dict[str, list[str]] = {}
    for address, language in recipients:
        addresses = by_language.setdefault(language, [])
        if address not in addresses:
            addresses.append(address)
    messages = []
    for language, addresses in sorted(by_language.items()):
        subject, text, html = render(kind, language, context)
        messages.append(
            OutboxMessage(
                id=new_id(),
                kind=kind,
                recipients=",".join(sorted(addresses)),
                language=language,
                subject=subject,
                text_body=text,
                html_body=html,
                attachment_name=attachment.name if attachment else None,
                attachment=attachment.data if attachment else None,
                secret=secret,
                org_id=org_id,
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
    return messages


def enqueue(session: Session, kind: str, recipients, context: dict, **kw) -> list[OutboxMessage]:
    """Queue `kind` for (address, language) pairs: one message per language."""
    messages = compose(kind, recipients, context, **kw)
    session.add_all(messages)
    return messages


def compose_for_users(kind: str, users: Iterable[User], context: dict, **kw):
    """`compose` for enabled users, each in their language."""
    recipients = [(user.email, language_of(user)) for user in users if not user.disabled]
    return compose(kind, recipients, context, **kw)


def enqueue_for_users(session: Session, kind: str, users: Iterable[User], context: dict, **kw):
    """Queue `kind` for enabled users, each in their language."""
    messages = compose_for_users(kind, users, context, **kw)
    session.add_all(messages)
    return messages


def render(kind: str, language: str, context: dict) -> tuple[str, str, str]:
    """Subject, plain text and HTML of `kind` in `language` (templates under mail/)."""
    with force_locale(language):
        text = render_template(f"mail/{kind}.txt", **context)
        html = render_template(f"mail/{kind}.html", **context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n"), html


def claim_due(session: Session, limit: int = 20, now: datetime | None = None) -> list[str]:
    """Claim up to `limit` due messages for this worker; the caller commits at once.

    On PostgreSQL `FOR UPDATE SKIP LOCKED` gives two workers disjoint messages; on
    SQLite the write transaction (BEGIN IMMEDIATE) serialises them. The conditional
    UPDATE then moves each to `sending` with a lease, so even a worker that read a row
    before another claimed it cannot take it too.
    """
    now = now or utcnow()
    due = or_(
        (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
    )
    ids = session.scalars(
        select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    claimed = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), due)
        .values(status="sending", lease_until=now + LEASE)
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    ).all()
    return list(claimed)


SCRUBBED = "(removed after sending: it held a personal sign-in link)"


def release(session: Session, message_ids: list[str]) -> None:
    """Give claimed messages back (a stopping worker): due again at once."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == "sending")
        .values(status="pending", lease_until=None),
        execution_options={"synchronize_session": False},
    )


def mark_sent(session: Session, message: OutboxMessage) -> None:
    """Sent for good. A secret message's text goes too: its link must not outlive the
    delivery in the database (or its backups)."""
    message.status, message.sent_at, message.lease_until = "sent", utcnow(), None
    message.attempts += 1
    message.last_error = None
    if message.secret:
        message.text_body = message.html_body = SCRUBBED


def mark_attempt_failed(
    session: Session, message: OutboxMessage, error: str, *, max_attempts: int, permanent: bool
) -> None:
    """Back off and try again later, or give up after the last attempt (or at once when
    the server refused the message for good)."""
    message.attempts += 1
    message.last_error = error[:2000]
    message.lease_until = None
    if permanent or message.attempts >= max_attempts:
        message.status = "failed"
        return
    wait = BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
    message.status, message.next_attempt_at = "pending", utcnow() + wait


def retry(session: Session, actor: Actor, message_id: str) -> OutboxMessage:
    """An admin puts a failed message back in the queue, due now."""
    message = session.get(OutboxMessage, message_id) if is_id(message_id) else None
    if message is None:
        raise NotFound("no such message")
    if message.status != "failed":
        raise Conflict(f"the message is {message.status}, not failed", code="invalid_state")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    audit.record(session, actor, "mail.retry", target_type="mail", target_id=message.id)
    return message


def recent(session: Session, status: str | None = None, limit: int = 200):
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return session.scalars(stmt).all()


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many messages wait to be sent, and since when the oldest waits."""
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending"))
        )
    ).one()
    return count, oldest
