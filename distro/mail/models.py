"""The outbox: every message the service sends, rendered when its event happened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id

STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    """One message to one or more recipients who share a language.

    `pending` waits for `next_attempt_at`; `sending` is claimed by a worker until
    `lease_until` (a worker that died mid-send gives it back when the lease ends);
    `sent` and `failed` are final, and a failed one can be put back to pending.
    A `secret` message (reset and invitation links) never shows its body on a page.
    """

    __tablename__ = "mail_outbox"
    # The Mail page: newest first, all or of one status, however long the history.
    __table_args__ = (Index("ix_mail_outbox_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated addresses
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(100))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    org_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class MailNotice(Base):
    """A notice that must go out once only (e.g. "expires in 30 days" for one
    subscription): inserting its key fails for the second worker that tries."""

    __tablename__ = "mail_notices"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
