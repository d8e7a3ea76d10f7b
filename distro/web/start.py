"""What each role sees first: the start page's numbers, one function per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.clock import today
from distro.installations.fleet import eligible_upgrades, is_current, newest_by_line
from distro.installations.models import Installation, InstallationEvent
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.licenses.upgrades import visible_requests
from distro.mail.outbox import backlog
from distro.patches.entitlement import entitled_line, entitled_products
from distro.patches.models import Package

EXPIRY_HORIZON = timedelta(days=90)


@dataclass
class ProductSummary:
    code: str
    name: str
    newest: str | None
    installations: int
    behind: int
    failed: int


def customer_view(session: Session, actor: Actor) -> dict:
    products = []
    for product in entitled_products(session, actor):
        line = entitled_line(session, actor, product)
        newest = session.scalars(
            select(Package.version)
            .where(
                Package.product_id == product.id,
                Package.yanked.is_(False),
                Package.line_key <= line,
            )
            .order_by(Package.version_key.desc())
        ).first()
        installs = session.scalars(
            select(Installation).where(
                Installation.org_id == actor.org_id, Installation.product_id == product.id
            )
        ).all()
        tops = newest_by_line(session, product)
        products.append(
            ProductSummary(
                product.code,
                product.name,
                newest,
                len(installs),
                sum(1 for i in installs if not is_current(i.version, tops)),
                sum(1 for i in installs if i.last_failure_at is not None),
            )
        )
    expiring = session.scalars(
        select(License)
        .where(
            License.org_id == actor.org_id,
            active_clause(today()),
            License.expires.is_not(None),
            License.expires <= today() + EXPIRY_HORIZON,
        )
        .order_by(License.expires)
    ).all()
    pending = session.scalars(
        select(LicenseRequest).where(
            LicenseRequest.org_id == actor.org_id, LicenseRequest.status == "pending"
        )
    ).all()
    return {"products": products, "expiring": expiring, "pending": pending}


def account_manager_view(session: Session, actor: Actor) -> dict:
    pending = session.scalars(
        visible_requests(actor)
        .where(LicenseRequest.status == "pending")
        .order_by(LicenseRequest.created_at)
    ).all()
    return {"eligible": eligible_upgrades(session, actor), "pending": pending}


def approver_view(session: Session, actor: Actor) -> dict:
    count, oldest = session.execute(
        select(func.count(), func.min(LicenseRequest.created_at)).where(
            LicenseRequest.status == "pending"
        )
    ).one()
    return {"queue": count, "oldest": oldest}


def publisher_view(session: Session, actor: Actor) -> dict:
    recent = session.scalars(select(Package).order_by(Package.published_at.desc()).limit(10)).all()
    failures = dict(
        session.execute(
            select(InstallationEvent.package_id, func.count())
            .where(
                InstallationEvent.event == "failed",
                InstallationEvent.package_id.in_([p.id for p in recent]),
            )
            .group_by(InstallationEvent.package_id)
        ).all()
    )
    return {"recent": [(p, failures.get(p.id, 0)) for p in recent]}


def start_page(session: Session, actor: Actor) -> dict:
    """The sections of the start page for `actor`'s role (admins see the vendor's)."""
    role = actor.role
    sections: dict = {}
    if role in ("customer_admin", "customer_user"):
        sections["customer"] = customer_view(session, actor)
    if role in ("account_manager", "admin"):
        sections["account_manager"] = account_manager_view(session, actor)
    if role in ("approver", "admin"):
        sections["approver"] = approver_view(session, actor)
    if role in ("publisher", "admin"):
        sections["publisher"] = publisher_view(session, actor)
    if role == "admin":
        sections["mail"] = backlog(session)
    return sections
