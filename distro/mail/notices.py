"""Which events send which mail to whom (issue 16's five messages).

Each function is called by the worker (`distro.mail.events`) in the transaction that
marks its event handled, so the mail is queued exactly once, and only for events whose
use case committed. Recipients: the customer admins of the organisation concerned (the
read-only customer users are not asked to act on anything), plus vendor staff where
the message is theirs.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from flask import current_app
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distro.accounts.models import Invitation, Organisation, User
from distro.core.clock import today, utcnow
from distro.core.ids import new_id
from distro.installations.advisories import affected_by_org
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.mail.models import MailNotice
from distro.mail.outbox import Attachment, enqueue, enqueue_for_users, language_of, render
from distro.patches.models import Package

EXPIRY_NOTICE_DAYS = (30, 7)


def link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def customer_admins(session: Session, org_id: str) -> list[User]:
    return session.scalars(
        select(User)
        .where(User.org_id == org_id, User.role == "customer_admin", User.disabled.is_(False))
        .order_by(User.email)
    ).all()


def license_issued(session: Session, license: License, request: LicenseRequest | None) -> None:
    """The new license file to the organisation's customer admins, a copy to the account
    manager who asked for it."""
    context = {
        "license": license,
        "org": license.org,
        "product": license.product,
        "request": request,
        "keys_url": link("/api/v1/keys"),
        "licenses_url": link("/licenses"),
        "filename": f"{license.serial}.lic",
    }
    attachment = Attachment(f"{license.serial}.lic", license.file_text.encode("ascii"))
    admins = customer_admins(session, license.org_id)
    enqueue_for_users(
        session, "license_issued", admins, context, attachment=attachment, org_id=license.org_id
    )
    if request is not None and request.submitter is not None:
        enqueue_for_users(
            session,
            "license_issued_copy",
            [request.submitter],
            context,
            attachment=attachment,
            org_id=license.org_id,
        )


def request_rejected(session: Session, request: LicenseRequest) -> None:
    context = {
        "request": request,
        "license": request.source,
        "org": request.source.org,
        "product": request.source.product,
        "requests_url": link("/requests"),
    }
    enqueue_for_users(
        session, "request_rejected", [request.submitter], context, org_id=request.org_id
    )


def entitled_orgs_after(session: Session, package: Package, after: str, limit: int) -> list[str]:
    """The next `limit` organisations (by id, after `after`) entitled to `package` by an
    active license of its release line or a newer one: one page of a publish's fan-out.
    Entitlement is read as the fan-out reaches each organisation, so one that became
    entitled since the publish (an upgrade to the new line) hears of it too."""
    return list(session.scalars(entitled_orgs_query(package, after, limit)))


def entitled_orgs_query(package: Package, after: str, limit: int):
    """SQL of `entitled_orgs_after`: one range of the (product, organisation) index."""
    return (
        select(License.org_id)
        .where(
            License.product_id == package.product_id,
            active_clause(today()),
            License.line_key >= package.line_key,
            License.org_id > after,
        )
        .distinct()
        .order_by(License.org_id)
        .limit(limit)
    )


# Stands for the organisation's name while a publish's notice is rendered, once per
# language for a whole page of organisations (rendering it per organisation made the
# fan-out slower than a vendor's customer base needs).
_ORG_NAME = "\u27e6org\u27e7"
_AFFECTED = "\u27e6affected\u27e7"  # and this for an advisory's affected installations
AFFECTED_NAMED = 20  # installations named in one mail; the Advisories page has them all


def package_published(session: Session, package: Package, org_ids: list[str]) -> list[dict]:
    """The outbox rows of a publish's notice for the organisations of `org_ids`: one per
    organisation and language, to its customer admins who have not opted out, rendered
    but not queued (`session` only reads)."""
    names = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )
    recipients: dict[tuple[str, str], list[str]] = {}
    for user in session.scalars(
        select(User).where(
            User.org_id.in_(org_ids),
            User.role == "customer_admin",
            User.disabled.is_(False),
            User.notify_packages.is_(True),
        )
    ):
        recipients.setdefault((user.org_id, language_of(user)), []).append(user.email)
    product = package.product
    context = {
        "package": package,
        "product": product,
        "org": SimpleNamespace(name=_ORG_NAME, code=""),
        "affected": _AFFECTED,
        "package_url": link(f"/products/{product.code}"),
        "account_url": link("/account"),
    }
    rendered = {
        language: render("package_published", language, context)
        for language in {language for _org, language in recipients}
    }
    affected = (
        affected_by_org(session, package, sorted({org for org, _language in recipients}))
        if package.advisory
        else {}
    )
    rows, now = [], utcnow()
    for (org_id, language), addresses in sorted(recipients.items()):
        subject, text, html = rendered[language]
        name = names[org_id]
        text, html = _with_affected(text, html, affected.get(org_id, []))
        rows.append(
            {
                "id": new_id(),
                "kind": "package_published",
                "recipients": ",".join(sorted(set(addresses))),
                "language": language,
                "subject": subject.replace(_ORG_NAME, name),
                "text_body": text.replace(_ORG_NAME, name),
                "html_body": html.replace(_ORG_NAME, str(escape(name))),
                "attachment_name": None,
                "attachment": None,
                "secret": False,
                "org_id": org_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return rows


def _with_affected(text: str, html: str, installations: list[tuple[str, str]]) -> tuple[str, str]:
    """The notice with the organisation's affected installations in place."""
    shown = installations[:AFFECTED_NAMED]
    more = len(installations) - len(shown)
    lines = [f"- {name} ({version})" for name, version in shown] or ["-"]
    if more:
        lines.append(f"+ {more}")
    items = "".join(f"<li>{escape(name)} ({escape(version)})</li>" for name, version in shown)
    markup = f"<ul>{items}</ul>" + (f"<p>+ {more}</p>" if more else "") if shown else "<p>-</p>"
    return text.replace(_AFFECTED, "\n".join(lines)), html.replace(_AFFECTED, markup)


EXPIRY_BATCH = 1000


def queue_expiry_notices(session: Session, limit: int = EXPIRY_BATCH) -> int:
    """Queue "expires in 30 days" and "in 7 days" once per subscription, for up to
    `limit` subscriptions (the next pass takes the rest); returns how many were queued.

    A subscription first seen with 7 days or fewer left gets only the 7-day notice. The
    notice key names organisation, product and end date, so an upgrade (same dates, new
    license) does not send the notice again. Keys already taken are looked up in bulk,
    not per license: tens of thousands of subscriptions may be near their end."""
    now = today()
    horizon = now + timedelta(days=max(EXPIRY_NOTICE_DAYS))
    expiring = session.scalars(
        select(License)
        .where(
            License.kind == "subscription",
            active_clause(now),
            License.expires.is_not(None),
            License.expires <= horizon,
        )
        .order_by(License.expires, License.id)
    )
    due: dict[str, License] = {}
    for license in expiring:
        days = min(d for d in EXPIRY_NOTICE_DAYS if (license.expires - now).days <= d)
        due.setdefault(
            f"expiry:{days}:{license.org_id}:{license.product_id}:{license.expires}", license
        )
    queued = 0
    keys = sorted(due, key=lambda key: (due[key].expires, key))
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        taken = set(session.scalars(select(MailNotice.key).where(MailNotice.key.in_(chunk))))
        for key in chunk:
            if key in taken or _notice_taken(session, key):
                continue
            _expiry_notice(session, due[key], int(key.split(":")[1]))
            queued += 1
            if queued >= limit:
                return queued
    return queued


def _expiry_notice(session: Session, license: License, days: int) -> None:
    context = {
        "license": license,
        "org": license.org,
        "product": license.product,
        "days": days,
        "licenses_url": link("/licenses"),
    }
    people = customer_admins(session, license.org_id) + list(license.org.account_managers)
    enqueue_for_users(session, "subscription_expiring", people, context, org_id=license.org_id)


def _notice_taken(session: Session, key: str) -> bool:
    """Record the notice's key; True when another worker recorded it first."""
    try:
        with session.begin_nested():
            session.add(MailNotice(key=key))
    except IntegrityError:
        return True
    return False


def password_reset(session: Session, user: User, token: str) -> None:
    context = {"user": user, "reset_url": link(f"/password-reset/{token}")}
    enqueue_for_users(session, "password_reset", [user], context, org_id=user.org_id, secret=True)


def second_factor_reset(session: Session, user: User) -> None:
    context = {"user": user, "login_url": link("/login")}
    enqueue_for_users(session, "second_factor_reset", [user], context, org_id=user.org_id)


def invitation(session: Session, invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "org": invitation.org,
        "inviter": invitation.inviter,
        "accept_url": link(f"/invitations/{token}"),
    }
    enqueue(
        session,
        "invitation",
        [(invitation.email, invitation.language)],
        context,
        org_id=invitation.org_id,
        secret=True,
    )
