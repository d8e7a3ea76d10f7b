"""Advisories: packages that close a hole or fix something grave (a severity above
`none`, or a CVE), newest first, and for a customer the installations each one affects.

An installation is affected when it runs the advisory's product on the advisory's
release line below the fixing version: `line_key <= version_key < fix`, one range on
the version key. Its ring's approval says whether the update plan will let it take the
fix now (`can_take`), or which approval it waits for. Counts for the start page come
from the fleet's per-version totals, never from counting installations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.pagination import paginate
from distro.core.versions import version_key
from distro.installations.models import Installation, RingApproval
from distro.installations.summary import FleetOrgVersion, FleetVersion
from distro.patches.models import Package
from distro.patches.search import Query, parse_query, restrict

MAX_AFFECTED = 50  # listed per advisory; `affected_count` counts them all
GRAVE = ("critical", "high")


@dataclass
class Advisory:
    package: Package
    affected: list[dict] = field(default_factory=list)
    affected_count: int = 0


def advisories(
    session: Session,
    actor: Actor,
    *,
    product: object,
    severity: object,
    limit: int,
    cursor: str | None,
) -> tuple[list[Advisory], str | None]:
    """One page of advisories the caller may download, with what they affect; `product`
    and `severity` as given (read by the search's own parser, the same rule)."""
    query = parse_query(product=product, severity=severity)
    stmt = restrict(session, actor, query, select(Package).where(Package.advisory.is_(True)))
    rows, next_cursor = paginate(session, stmt, [Package.published_at, Package.id], limit, cursor)
    found = [Advisory(package) for package in rows]
    by_id = {a.package.id: a for a in found}
    if actor.org_id is not None:
        _add_affected(session, actor.org_id, by_id)
        totals = FleetOrgVersion  # the organisation's installations per version
        scope = [FleetOrgVersion.org_id == actor.org_id]
    else:
        totals, scope = FleetVersion, []  # staff: all customers' installations
    _add_counts(session, by_id, totals, scope)
    return found, next_cursor


def _affects(package_table=Package, version_column=Installation.version_key):
    return and_(
        version_column >= package_table.line_key, version_column < package_table.version_key
    )


def _add_affected(session: Session, org_id: str, by_id: dict[str, Advisory]) -> None:
    """The organisation's affected installations of a page of advisories: the first
    MAX_AFFECTED of each by name (a window over one indexed join)."""
    if not by_id:
        return
    numbered = (
        select(
            Package.id.label("package_id"),
            Installation.id.label("installation_id"),
            RingApproval.version.label("approved"),
            func.row_number()
            .over(partition_by=Package.id, order_by=(Installation.name, Installation.id))
            .label("n"),
        )
        .join(
            Installation,
            and_(
                Installation.org_id == org_id,
                Installation.product_id == Package.product_id,
                _affects(),
            ),
        )
        .outerjoin(
            RingApproval,
            and_(
                RingApproval.org_id == org_id,
                RingApproval.ring == Installation.ring,
                RingApproval.product_id == Package.product_id,
            ),
        )
        .where(Package.id.in_(by_id))
        .subquery()
    )
    rows = session.execute(
        select(numbered.c.package_id, Installation, numbered.c.approved)
        .join(Installation, Installation.id == numbered.c.installation_id)
        .where(numbered.c.n <= MAX_AFFECTED)
        .order_by(numbered.c.package_id, numbered.c.n)
    )
    for package_id, installation, approved in rows:
        advisory = by_id[package_id]
        advisory.affected.append(_affected_json(advisory.package, installation, approved))


def _affected_json(package: Package, installation: Installation, approved: str | None) -> dict:
    return {
        "id": installation.id,
        "name": installation.name,
        "version": installation.version,
        "ring": installation.ring,
        "ring_approved_version": approved,
        # No approval: the ring gets all it is entitled to; else the fix must be approved.
        "can_take": approved is None or version_key(approved) >= package.version_key,
    }


def _add_counts(session: Session, by_id: dict[str, Advisory], totals, scope: list) -> None:
    """Each advisory's `affected_count`, summed from the fleet's per-version totals
    (`FleetOrgVersion` within `scope`, or `FleetVersion`) over its affected range."""
    if not by_id:
        return
    counts = session.execute(
        select(Package.id, func.sum(totals.installations))
        .join(
            totals,
            and_(
                *scope,
                totals.product_id == Package.product_id,
                _affects(Package, totals.version_key),
            ),
        )
        .where(Package.id.in_(by_id))
        .group_by(Package.id)
    )
    for package_id, count in counts:
        by_id[package_id].affected_count = int(count or 0)


def affected_by_grave(session: Session, actor: Actor) -> int:
    """Installations of the caller's organisation that a critical or high advisory it
    may download affects (0 for staff)."""
    if actor.org_id is None:
        return 0
    grave = restrict(
        session,
        actor,
        Query(),
        select(Package.id).where(
            Package.advisory.is_(True),
            Package.severity.in_(GRAVE),
            Package.product_id == FleetOrgVersion.product_id,
            _affects(Package, FleetOrgVersion.version_key),
        ),
    )
    return session.scalar(
        select(func.coalesce(func.sum(FleetOrgVersion.installations), 0)).where(
            FleetOrgVersion.org_id == actor.org_id, grave.exists()
        )
    )


def affected_by_org(
    session: Session, package: Package, org_ids: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """Organisation id -> (name, version) of its installations the package fixes, for a
    page of organisations of a publish's notice: one indexed read for the page."""
    found: dict[str, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(Installation.org_id, Installation.name, Installation.version)
        .where(
            Installation.org_id.in_(org_ids),
            Installation.product_id == package.product_id,
            _affects(package),
        )
        .order_by(Installation.org_id, Installation.name)
    )
    for org_id, name, version in rows:
        found.setdefault(org_id, []).append((name, version))
    return found


def advisory_json(advisory: Advisory, package_json: dict) -> dict:
    return {
        **package_json,
        "affected": advisory.affected,
        "affected_count": advisory.affected_count,
    }
