"""Reports from installers, rings and ring approvals, and the plan cap they give.

An installation belongs to the organisation of whoever reports it (an installer token
or a customer admin), so a name another organisation also uses is simply another
installation. Approvals are per organisation, ring and product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.services import managed_org_ids
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import DistroError, Forbidden, NotFound, RuleViolation, ValidationError
from distro.core.ids import is_id
from distro.core.parsers import parse_code, parse_date, parse_name, parse_text, parse_version
from distro.core.versions import line_key, version_key
from distro.installations import summary
from distro.installations.models import (
    DEFAULT_RING,
    EVENTS,
    Installation,
    InstallationEvent,
    RingApproval,
)
from distro.licenses.models import License
from distro.patches.entitlement import product_for
from distro.patches.models import Package, Product
from distro.patches.products import product_by_code, require_published

MAX_ERROR = 4000


def _unprocessable(exc: DistroError) -> RuleViolation:
    """A value of the right type that names nothing we know: 422, keeping the field."""
    return RuleViolation(exc.message, code=exc.code, field=exc.field)


@dataclass(frozen=True)
class Report:
    """One installer report, parsed and checked against the organisation's licenses."""

    name: str
    product: Product
    version: str
    event: str
    package_id: str | None
    error: str | None


def report(session: Session, actor: Actor, body: dict) -> Installation:
    """Record one report; the installation is created by its first one."""
    # Installer tokens belong to a customer admin's organisation (tokens.create_token).
    if actor.org_id is None or not (actor.is_installer or actor.role == "customer_admin"):
        raise Forbidden("only installer tokens and customer admins report installations")
    parsed = parse_report(session, actor.org_id, body)
    token_id = actor.token.id if actor.token else None
    return record_report(session, actor.org_id, parsed, at=utcnow(), token_id=token_id)


def parse_report(session: Session, org_id: str, body: dict) -> Report:
    """A report's fields, or the 400/422 naming the one that is wrong."""
    name = parse_name(body.get("installation"), "installation")
    product, line = _licensed_product(session, org_id, body.get("product"))
    if product is None:
        raise RuleViolation(
            f"no product {body.get('product')!r}", code="unknown_product", field="product"
        )
    try:
        version = parse_version(body.get("version"), "version")
    except ValidationError as exc:
        raise _unprocessable(exc) from None
    event = body.get("event")
    if event not in EVENTS:
        raise RuleViolation(f"event must be one of {', '.join(EVENTS)}", field="event")
    package_id = _package_of(session, product, line, body.get("package_id"))
    error = parse_text(body.get("error"), "error", MAX_ERROR, multiline=True) or None
    return Report(name, product, version, event, package_id, error)


def record_report(
    session: Session,
    org_id: str,
    report: Report,
    *,
    at: datetime,
    token_id: str | None = None,
    via: str | None = None,
    report_id: str | None = None,
) -> Installation:
    """Apply a report made `at` (now, or when a site mirror received it: `via`
    "mirror"). A report older than what the installation last said is kept as an event
    but moves nothing: a mirror's file may come in after newer online reports."""
    product, package_id, error = report.product, report.package_id, report.error
    installation, created = _installation(session, org_id, product, report.name)
    if created or at >= installation.last_seen_at:
        old_key = None if created else installation.version_key
        installation.version = report.version
        installation.version_key = version_key(report.version)
        installation.last_seen_at, installation.via = at, via
        summary.moved(
            session,
            product_id=product.id,
            org_id=org_id,
            old_key=old_key,
            new_key=installation.version_key,
            new_version=report.version,
        )
        if report.event == "failed":
            installation.last_failure_at = at
            installation.last_failure_package_id = package_id
            installation.last_failure_error = error
        elif (
            report.event == "installed"
            and package_id
            and package_id == installation.last_failure_package_id
        ):
            installation.last_failure_at = installation.last_failure_error = None
            installation.last_failure_package_id = None
    if report.event == "failed" and package_id:
        summary.failed(
            session, product_id=product.id, org_id=org_id, package_id=package_id, error=error
        )
    session.add(
        InstallationEvent(
            installation_id=installation.id,
            event=report.event,
            version=report.version,
            package_id=package_id,
            error=error,
            token_id=token_id,
            report_id=report_id,
            created_at=at,
        )
    )
    return installation


def _licensed_product(
    session: Session, org_id: str, code: object
) -> tuple[Product | None, str | None]:
    """The product and the highest release line the organisation ever held a license
    for (an expired one still counts: its installations keep running); (None, None), as
    if the product did not exist, when it held none."""
    product = product_by_code(session, code)
    if product is None:
        return None, None
    held = session.scalars(
        select(License.version).where(License.org_id == org_id, License.product_id == product.id)
    ).all()
    if not held:
        return None, None
    return product, max(line_key(version) for version in held)


def _package_of(session: Session, product: Product, line: str, package_id: object) -> str | None:
    """A reported package: one of `product` within the licensed `line`; anything else
    answers as an unknown id (review finding 8)."""
    if package_id is None:
        return None
    package = session.get(Package, package_id) if is_id(package_id) else None
    if package is None or package.product_id != product.id or package.line_key > line:
        raise RuleViolation(
            f"no package {package_id!r} of {product.code}",
            code="unknown_package",
            field="package_id",
        )
    return package.id


def _installation(
    session: Session, org_id: str, product: Product, name: str
) -> tuple[Installation, bool]:
    """The named installation and whether this report created it (two first reports at
    once make one)."""
    stmt = select(Installation).where(
        Installation.org_id == org_id,
        Installation.product_id == product.id,
        Installation.name == name,
    )
    found = session.scalars(stmt).first()
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            found = Installation(
                org_id=org_id,
                product_id=product.id,
                name=name,
                version="0",
                version_key=version_key("0"),
            )
            session.add(found)
    except IntegrityError:
        return session.scalars(stmt).one(), False
    return found, True


def visible_installations(actor: Actor):
    """Customers: their organisation's; account managers: their organisations' (as on the
    fleet page); other staff: all."""
    stmt = select(Installation)
    if actor.role == "account_manager":
        return stmt.where(Installation.org_id.in_(managed_org_ids(actor.user)))
    if actor.is_staff:
        return stmt
    return stmt.where(Installation.org_id == actor.org_id)


def installation_for(session: Session, actor: Actor, installation_id: str) -> Installation:
    found = None
    if is_id(installation_id):
        found = session.scalars(
            visible_installations(actor).where(Installation.id == installation_id)
        ).first()
    if found is None:
        raise NotFound("no such installation")
    return found


def _customer_admin(actor: Actor) -> None:
    if actor.is_installer or actor.role != "customer_admin" or actor.org_id is None:
        raise Forbidden("only a customer admin plans its organisation's rings")


def parse_ring(value: object) -> str:
    return parse_code(value, "ring", "ring")


def set_ring(session: Session, actor: Actor, installation_id: str, ring: object) -> Installation:
    _customer_admin(actor)
    installation = installation_for(session, actor, installation_id)
    ring = parse_ring(ring)
    if installation.ring != ring:
        audit.record(
            session,
            actor,
            "installation.ring",
            target_type="installation",
            target_id=installation.id,
            org_id=installation.org_id,
            ring=ring,
            previous=installation.ring,
        )
        installation.ring = ring
    return installation


def approve_ring(
    session: Session,
    actor: Actor,
    ring: object,
    product_code: str,
    version: object,
    deadline: object = None,
) -> RingApproval:
    """Let `ring` install `product` up to `version` (a published one), by `deadline`."""
    _customer_admin(actor)
    ring = parse_ring(ring)
    product, line = product_for(session, actor, product_code)
    try:
        version = parse_version(version, "version")
    except ValidationError as exc:
        raise _unprocessable(exc) from None
    require_published(session, product, version, field="version", within_line=line)
    due: date | None = parse_date(deadline, "deadline") if deadline not in (None, "") else None
    approval = session.get(RingApproval, (actor.org_id, ring, product.id))
    if approval is None:
        approval = RingApproval(org_id=actor.org_id, ring=ring, product_id=product.id)
        session.add(approval)
    approval.version, approval.deadline = version, due
    approval.approved_by, approval.approved_at = actor.user.id, utcnow()
    audit.record(
        session,
        actor,
        "ring.approve",
        target_type="ring",
        target_id=ring,
        org_id=actor.org_id,
        product=product.code,
        version=version,
        deadline=due.isoformat() if due else None,
    )
    return approval


def remove_approval(session: Session, actor: Actor, ring: object, product_code: str) -> None:
    """Back to today's behaviour for the ring: everything it is entitled to."""
    _customer_admin(actor)
    ring = parse_ring(ring)
    product, _line = product_for(session, actor, product_code)
    approval = session.get(RingApproval, (actor.org_id, ring, product.id))
    if approval is None:
        raise NotFound(f"ring {ring} has no approval for {product.code}")
    session.delete(approval)
    audit.record(
        session,
        actor,
        "ring.unapprove",
        target_type="ring",
        target_id=ring,
        org_id=actor.org_id,
        product=product.code,
    )


def approvals_of(session: Session, org_id: str | None):
    stmt = select(RingApproval).order_by(RingApproval.ring)
    if org_id is not None:
        stmt = stmt.where(RingApproval.org_id == org_id)
    return session.scalars(stmt).all()


def ring_of(session: Session, actor: Actor, product: Product, name: str | None) -> str:
    """The ring of the named installation (unknown names are in the default ring)."""
    if name is None or actor.org_id is None:
        return DEFAULT_RING
    ring = session.scalars(
        select(Installation.ring).where(
            Installation.org_id == actor.org_id,
            Installation.product_id == product.id,
            Installation.name == name,
        )
    ).first()
    return ring or DEFAULT_RING


def plan_cap(session: Session, actor: Actor, product: Product, ring: str):
    """(approval, the version the plan may reach) for the ring, or (None, None).

    A yanked approved version gives way to the newest unyanked one below it, so a ring
    approved to a withdrawn patch still gets everything before it.
    """
    if actor.org_id is None:
        return None, None
    approval = session.get(RingApproval, (actor.org_id, ring, product.id))
    if approval is None:
        return None, None
    newest = session.scalars(
        select(Package.version)
        .where(
            Package.product_id == product.id,
            Package.yanked.is_(False),
            Package.version_key <= version_key(approval.version),
        )
        .order_by(Package.version_key.desc())
    ).first()
    return approval, newest or "0"


def installation_json(installation: Installation) -> dict:
    return {
        "id": installation.id,
        "installation": installation.name,
        "org": installation.org.code,
        "product": installation.product.code,
        "version": installation.version,
        "ring": installation.ring,
        "last_seen": rfc3339(installation.last_seen_at),
        "via": installation.via,
        "created_at": rfc3339(installation.created_at),
        "last_failure": (
            {
                "at": rfc3339(installation.last_failure_at),
                "package_id": installation.last_failure_package_id,
                "error": installation.last_failure_error,
            }
            if installation.last_failure_at
            else None
        ),
    }


def approval_json(approval: RingApproval, product_code: str) -> dict:
    return {
        "ring": approval.ring,
        "product": product_code,
        "version": approval.version,
        "deadline": approval.deadline.isoformat() if approval.deadline else None,
        "approved_at": rfc3339(approval.approved_at),
    }
