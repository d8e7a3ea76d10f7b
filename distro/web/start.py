"""What each role sees first: the start page's numbers, one function per role, each a
handful of indexed reads whatever the size of the customer base."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.audit.queries import per_day
from distro.core.clock import today
from distro.core.events import backlog as events_backlog
from distro.installations.advisories import affected_by_grave
from distro.installations.behind import org_totals
from distro.installations.eligible import LISTED, eligible_upgrades
from distro.installations.summary import FleetFailure
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.licenses.upgrades import visible_requests
from distro.mail.outbox import backlog
from distro.patches.entitlement import entitled_line, entitled_products
from distro.patches.models import Package

EXPIRY_HORIZON = timedelta(days=90)
SHOWN = 20  # requests and licenses listed on the start page; the rest on their pages


@dataclass
class ProductSummary:
    code: str
    name: str
    newest: str | None
    installations: int
    behind: int
    failed: int


def customer_view(session: Session, actor: Actor) -> dict:
    totals = org_totals(session, actor.org_id)
    products = []
    for product in entitled_products(session, actor):
        newest = session.scalars(
            select(Package.version)
            .where(
                Package.product_id == product.id,
                Package.yanked.is_(False),
                Package.line_key <= entitled_line(session, actor, product),
            )
            .order_by(Package.version_key.desc())
            .limit(1)
        ).first()
        counted = totals.get(product.id)
        products.append(
            ProductSummary(
                product.code,
                product.name,
                newest,
                counted.installations if counted else 0,
                counted.behind if counted else 0,
                counted.failing if counted else 0,
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
        .limit(SHOWN)
    ).all()
    pending = session.scalars(
        select(LicenseRequest)
        .where(LicenseRequest.org_id == actor.org_id, LicenseRequest.status == "pending")
        .limit(SHOWN)
    ).all()
    return {
        "products": products,
        "expiring": expiring,
        "pending": pending,
        "affected": affected_by_grave(session, actor),
    }


def account_manager_view(session: Session, actor: Actor) -> dict:
    pending = session.scalars(
        visible_requests(actor)
        .where(LicenseRequest.status == "pending")
        .order_by(LicenseRequest.created_at)
        .limit(SHOWN)
    ).all()
    eligible = eligible_upgrades(session, actor, limit=LISTED + 1)
    return {
        "eligible": min(len(eligible), LISTED),
        "more_eligible": len(eligible) > LISTED,
        "pending": pending,
    }


def approver_view(session: Session, actor: Actor) -> dict:
    count, oldest = session.execute(
        select(func.count(), func.min(LicenseRequest.created_at)).where(
            LicenseRequest.status == "pending"
        )
    ).one()
    return {"queue": count, "oldest": oldest}


def publisher_view(session: Session, actor: Actor) -> dict:
    recent = session.scalars(
        select(Package).order_by(Package.published_at.desc(), Package.id).limit(10)
    ).all()
    failures = dict(
        session.execute(
            select(FleetFailure.package_id, FleetFailure.failures).where(
                FleetFailure.package_id.in_([p.id for p in recent])
            )
        ).all()
    )
    return {"recent": [(p, failures.get(p.id, 0)) for p in recent]}


def admin_view(session: Session) -> dict:
    """The outbox and the worker's backlog, and 30 days of downloads and publishes."""
    downloads = per_day(session, "package.download")
    publishes = per_day(session, "package.publish")
    return {
        "mail": backlog(session),
        "events": events_backlog(session),
        "downloads": downloads,
        "publishes": publishes,
        "activity": [(day, n, p) for (day, n), (_day, p) in zip(downloads, publishes, strict=True)],
    }


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
        sections["admin"] = admin_view(session)
    return sections
