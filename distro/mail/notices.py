"""Which events send which mail to whom (issue 16's five messages).

Each function is called inside the transaction of its event, so the mail exists exactly
when the event does. Recipients: the customer admins of the organisation concerned (the
read-only customer users are not asked to act on anything), plus vendor staff where
the message is theirs.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distro.accounts.models import Invitation, Organisation, User
from distro.core.clock import today
from distro.core.versions import line_key
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.mail.models import MailNotice
from distro.mail.outbox import Attachment, enqueue, enqueue_for_users
from distro.patches.models import Package, Product

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


def package_published(session: Session, package: Package, product: Product) -> None:
    """One message per entitled organisation (per language) to its customer admins who
    have not opted out."""
    needed = line_key(package.version)
    holders = session.execute(
        select(License.org_id, License.version).where(
            License.product_id == product.id, active_clause(today())
        )
    ).all()
    entitled = sorted({org_id for org_id, version in holders if line_key(version) >= needed})
    for org_id in entitled:
        admins = [u for u in customer_admins(session, org_id) if u.notify_packages]
        org = session.get(Organisation, org_id)
        context = {
            "package": package,
            "product": product,
            "org": org,
            "package_url": link(f"/products/{product.code}"),
            "account_url": link("/account"),
        }
        enqueue_for_users(session, "package_published", admins, context, org_id=org_id)


def queue_expiry_notices(session: Session) -> int:
    """Queue "expires in 30 days" and "in 7 days" once per subscription; returns how
    many notices were queued. A subscription first seen with 7 days or fewer left gets
    only the 7-day notice. The notice key names organisation, product and end date, so
    an upgrade (same dates, new license) does not send the notice again."""
    queued = 0
    now = today()
    horizon = now + timedelta(days=max(EXPIRY_NOTICE_DAYS))
    expiring = session.scalars(
        select(License).where(
            License.kind == "subscription",
            active_clause(now),
            License.expires.is_not(None),
            License.expires <= horizon,
        )
    ).all()
    for license in expiring:
        left = (license.expires - now).days
        days = min(d for d in EXPIRY_NOTICE_DAYS if left <= d)
        key = f"expiry:{days}:{license.org_id}:{license.product_id}:{license.expires}"
        if _notice_taken(session, key):
            continue
        context = {
            "license": license,
            "org": license.org,
            "product": license.product,
            "days": days,
            "licenses_url": link("/licenses"),
        }
        people = customer_admins(session, license.org_id) + list(license.org.account_managers)
        enqueue_for_users(session, "subscription_expiring", people, context, org_id=license.org_id)
        queued += 1
    return queued


def _notice_taken(session: Session, key: str) -> bool:
    """Record the notice's key; True when it was recorded before (by anyone)."""
    if session.get(MailNotice, key) is not None:
        return True
    try:
        with session.begin_nested():
            session.add(MailNotice(key=key))
    except IntegrityError:
        return True  # another worker got there first
    return False


def password_reset(session: Session, user: User, token: str) -> None:
    context = {"user": user, "reset_url": link(f"/password-reset/{token}")}
    enqueue_for_users(session, "password_reset", [user], context, org_id=user.org_id, secret=True)


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
