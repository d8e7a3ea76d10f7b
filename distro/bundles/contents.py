"""What a bundle for an organisation carries: the packages it may download (the
entitlement rule) that no earlier bundle up to `since` carried, the packages since
yanked, its license files, its ring approvals and the TUF metadata of its products."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.accounts.models import Organisation
from distro.bundles.models import Bundle, BundlePackage
from distro.core.clock import rfc3339
from distro.installations.models import DEFAULT_RING, Installation, RingApproval
from distro.licenses.models import License
from distro.patches.entitlement import org_lines, within_lines
from distro.patches.models import Package, Product
from distro.signing.keys import key_json, list_keys
from distro.tuf import delegations, repository
from distro.tuf.models import TufMetadata


def carried_before(org: Organisation, since: int):
    """Ids of the packages the organisation's ready bundles up to `since` carried."""
    return (
        select(BundlePackage.package_id)
        .join(Bundle, Bundle.id == BundlePackage.bundle_id)
        .where(Bundle.org_id == org.id, Bundle.status == "ready", Bundle.seq <= since)
    )


def packages(session: Session, org: Organisation, since: int | None) -> Iterator[Package]:
    """The packages to carry, in order of publication, a few hundred rows at a time."""
    stmt = select(Package).where(Package.yanked.is_(False))
    if since is not None:
        stmt = stmt.where(Package.id.not_in(carried_before(org, since)))
    stmt = within_lines(session, stmt, org_lines(session, org.id))
    stmt = stmt.order_by(Package.published_at, Package.id).execution_options(yield_per=500)
    yield from session.scalars(stmt)


def yanked(session: Session, org: Organisation) -> list[str]:
    """Ids of the yanked packages the organisation may download: a site mirror takes
    them out of its listings as the vendor did."""
    stmt = select(Package.id).where(Package.yanked.is_(True)).order_by(Package.id)
    return list(session.scalars(within_lines(session, stmt, org_lines(session, org.id))))


def licenses(session: Session, org: Organisation) -> list[License]:
    stmt = select(License).where(License.org_id == org.id).order_by(License.issued_at, License.id)
    return list(session.scalars(stmt))


def rings(session: Session, org: Organisation) -> list[dict]:
    rows = session.execute(
        select(RingApproval, Product.code)
        .join(Product, Product.id == RingApproval.product_id)
        .where(RingApproval.org_id == org.id)
        .order_by(Product.code, RingApproval.ring)
    ).all()
    return [
        {
            "ring": row.ring,
            "product": code,
            "version": row.version,
            "deadline": row.deadline.isoformat() if row.deadline else None,
            "approved_at": rfc3339(row.approved_at),
        }
        for row, code in rows
    ]


def products(session: Session, org: Organisation) -> list[dict]:
    lines = org_lines(session, org.id)
    rows = session.scalars(select(Product).where(Product.id.in_(lines)).order_by(Product.code))
    return [{"code": row.code, "name": row.name} for row in rows]


def installation_rings(session: Session, org: Organisation) -> list[dict]:
    """The ring of each of the organisation's installations, as its admin set them: a
    site mirror caps an installation's update plan at its ring's approval."""
    rows = session.execute(
        select(Installation.name, Installation.ring, Product.code)
        .join(Product, Product.id == Installation.product_id)
        .where(Installation.org_id == org.id, Installation.ring != DEFAULT_RING)
        .order_by(Product.code, Installation.name)
    ).all()
    return [{"product": code, "name": name, "ring": ring} for name, ring, code in rows]


def keys(session: Session) -> list[dict]:
    """The vendor's public keys, as `GET /api/v1/keys` lists them."""
    return [key_json(row) for row in list_keys(session)]


def tuf_metadata(session: Session, org: Organisation) -> Iterator[tuple[str, str, str]]:
    """(product code, file name, body) of the TUF metadata a client of the organisation
    reads: every root (a client walks them one version at a time), the newest
    timestamp, snapshot and targets, and the newest role of each line it may download."""
    lines = org_lines(session, org.id)
    products = session.scalars(select(Product).where(Product.id.in_(lines)).order_by(Product.code))
    for product in products:
        roots = session.scalars(
            select(TufMetadata)
            .where(TufMetadata.product_id == product.id, TufMetadata.role == "root")
            .order_by(TufMetadata.version)
        )
        for row in roots:
            yield product.code, f"{row.version}.root.json", row.body
        for role in _line_roles(session, product, lines[product.id]):
            row = repository.latest(session, product.id, role)
            if row is not None:
                yield product.code, f"{row.version}.{role}.json", row.body
        timestamp = repository.latest(session, product.id, "timestamp")
        if timestamp is not None:
            yield product.code, "timestamp.json", timestamp.body


def _line_roles(session: Session, product: Product, line: str) -> list[str]:
    roles = session.scalars(
        select(TufMetadata.role).where(TufMetadata.product_id == product.id).distinct()
    )
    entitled = [
        role
        for role in roles
        if (key := delegations.role_line_key(role)) is not None and key <= line
    ]
    return ["snapshot", "targets", *sorted(entitled)]
