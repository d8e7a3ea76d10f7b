"""The admins' view of the outbox: what waits, what went, what failed and why, and a
button to try a failed message again. Bodies of reset and invitation mail are never
shown (their links are someone's credentials)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from distro.accounts.auth import page_access
from distro.core.db import get_session
from distro.core.errors import NotFound
from distro.core.events import Event
from distro.core.events import backlog as events_backlog
from distro.core.ids import is_id
from distro.core.pagekit import ButtonForm, attempt
from distro.mail import outbox
from distro.mail.models import STATUSES, OutboxMessage
from distro.patches.models import Package
from distro.patches.services import PUBLISHED

bp = Blueprint("mail_pages", __name__)

STATUS_LABELS = {
    "pending": _l("pending"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "failed": _l("failed"),
}


def running_fanouts(session) -> list[tuple[Package | None, Event]]:
    """The publish notices still going out, with how many organisations they reached."""
    events = session.scalars(
        select(Event)
        .where(Event.done_at.is_(None), Event.kind == PUBLISHED)
        .order_by(Event.id)
        .limit(20)
    ).all()
    return [(session.get(Package, e.payload.get("package_id", "")), e) for e in events]


@bp.get("/admin/mail")
@page_access("admin")
def outbox_page(actor):
    status = request.args.get("status")
    status = status if status in STATUSES else None
    session = get_session()
    return render_template(
        "outbox.html",
        backlog=events_backlog(session),
        fanouts=running_fanouts(session),
        messages=outbox.recent(session, status),
        status=status,
        statuses=STATUSES,
        labels=STATUS_LABELS,
        smtp_configured=bool(current_app.config.get("SMTP_URL")),
        button=ButtonForm(),
    )


@bp.get("/admin/mail/<message_id>")
@page_access("admin")
def message_page(actor, message_id: str):
    message = get_session().get(OutboxMessage, message_id) if is_id(message_id) else None
    if message is None:
        raise NotFound("no such message")
    return render_template("outbox_message.html", message=message, labels=STATUS_LABELS)


@bp.post("/admin/mail/<message_id>/retry")
@page_access("admin")
def retry(actor, message_id: str):
    if ButtonForm().validate_on_submit():
        attempt(
            lambda session: outbox.retry(session, actor, message_id),
            _("The message will be sent again."),
        )
    return redirect(url_for("mail_pages.outbox_page", status="failed"))
