"""The vendor's view of what its customers run: per product and version, how many
installations and organisations, how many are on the newest patch of their release line,
which packages fail where, and how each recent patch is taken up day by day.

Everything is read from the summary that reports keep up to date (`summary`), never by
counting installations or events on a page load; account managers see the sums over
their own organisations only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from distro.accounts.actor import Actor
from distro.accounts.services import managed_org_ids
from distro.core.clock import today
from distro.core.errors import Forbidden
from distro.core.versions import line_key
from distro.installations.models import Installation
from distro.installations.summary import (
    FleetDay,
    FleetFailedOrg,
    FleetFailure,
    FleetFailureDay,
    FleetOrgVersion,
    FleetVersion,
)
from distro.patches.models import Package, Product

CURVE_PACKAGES = 5  # the newest patches and feature packs get an adoption curve
CURVE_DAYS = 60


@dataclass
class VersionRow:
    version: str
    version_key: str
    installations: int
    orgs: int
    on_newest: bool


@dataclass
class FailureRow:
    package: Package
    failures: int
    orgs: int
    last_at: datetime
    last_error: str | None


@dataclass
class Curve:
    """Share of the installations on the package's release line (or a newer one) that
    run its version or newer, per day since it was published; failed installs per day."""

    package: Package
    points: list[tuple[date, float]] = field(default_factory=list)
    failed: dict[date, int] = field(default_factory=dict)


@dataclass
class Fleet:
    product: Product
    versions: list[VersionRow]
    installations: int
    on_newest: int
    failures: list[FailureRow]
    curves: list[Curve]
    offline: list = field(default_factory=list)  # installations reported via a mirror

    @property
    def percent_on_newest(self) -> int | None:
        return round(100 * self.on_newest / self.installations) if self.installations else None


def _staff(actor: Actor) -> None:
    if not actor.is_staff or actor.is_installer:
        raise Forbidden("the fleet view is for vendor staff")


def newest_by_line(session: Session, product_id: str) -> dict[str, tuple[str, str]]:
    """Release line key -> (version key, version) of the newest unyanked package of
    each line of the product: one grouped read of the packages index."""
    tops = session.execute(
        select(Package.line_key, func.max(Package.version_key))
        .where(Package.product_id == product_id, Package.yanked.is_(False))
        .group_by(Package.line_key)
    ).all()
    if not tops:
        return {}
    names = dict(
        session.execute(
            select(Package.version_key, Package.version).where(
                Package.product_id == product_id,
                Package.version_key.in_([key for _line, key in tops]),
            )
        ).all()
    )
    return {line: (key, names[key]) for line, key in tops}


def is_current(version: str, version_key: str, tops: dict[str, tuple[str, str]]) -> bool:
    """On the newest patch of its release line (or on a line nothing was published for)."""
    top = tops.get(line_key(version))
    return top is None or version_key >= top[0]


def fleet(session: Session, actor: Actor, product: Product) -> Fleet:
    _staff(actor)
    tops = newest_by_line(session, product.id)
    rows = [
        VersionRow(version, key, installs, orgs, is_current(version, key, tops))
        for version, key, installs, orgs in _version_counts(session, actor, product)
    ]
    rows.sort(key=lambda row: row.version_key, reverse=True)
    return Fleet(
        product=product,
        versions=rows,
        installations=sum(r.installations for r in rows),
        on_newest=sum(r.installations for r in rows if r.on_newest),
        failures=_failures(session, actor, product),
        curves=adoption_curves(session, product),
        offline=offline_sites(session, actor, product),
    )


OFFLINE_LISTED = 50


def offline_sites(session: Session, actor: Actor, product: Product) -> list[Installation]:
    """The product's installations whose newest report came in a site mirror's file,
    the most recently reported first (a page's worth: an index read, not a count)."""
    _staff(actor)
    stmt = (
        select(Installation)
        .options(joinedload(Installation.org))
        .where(Installation.product_id == product.id, Installation.via == "mirror")
        .order_by(Installation.last_seen_at.desc(), Installation.id.desc())
        .limit(OFFLINE_LISTED)
    )
    if actor.role == "account_manager":
        stmt = stmt.where(Installation.org_id.in_(managed_org_ids(actor.user)))
    return list(session.scalars(stmt))


def _version_counts(session: Session, actor: Actor, product: Product):
    """(version, key, installations, organisations) per version in use."""
    return session.execute(version_counts_query(actor, product)).all()


def version_counts_query(actor: Actor, product: Product) -> Select:
    """The versions table of the fleet page: the summary's rows, or for an account
    manager the sums over the organisations they look after."""
    if actor.role != "account_manager":
        return select(
            FleetVersion.version,
            FleetVersion.version_key,
            FleetVersion.installations,
            FleetVersion.orgs,
        ).where(FleetVersion.product_id == product.id, FleetVersion.installations > 0)
    mine = (
        select(
            FleetOrgVersion.version_key,
            func.sum(FleetOrgVersion.installations).label("installations"),
            func.count().label("orgs"),
        )
        .where(
            FleetOrgVersion.product_id == product.id,
            FleetOrgVersion.org_id.in_(managed_org_ids(actor.user)),
        )
        .group_by(FleetOrgVersion.version_key)
        .subquery()
    )
    return select(FleetVersion.version, mine.c.version_key, mine.c.installations, mine.c.orgs).join(
        FleetVersion,
        (FleetVersion.product_id == product.id) & (FleetVersion.version_key == mine.c.version_key),
    )


def _failures(session: Session, actor: Actor, product: Product) -> list[FailureRow]:
    """Failed installs per package, most failures first."""
    if actor.role != "account_manager":
        counted = session.execute(
            select(
                FleetFailure.package_id,
                FleetFailure.failures,
                FleetFailure.orgs,
                FleetFailure.last_at,
                FleetFailure.last_error,
            ).where(FleetFailure.product_id == product.id)
        ).all()
    else:
        counted = [
            (*row, _last_error(session, actor, row[0]))
            for row in session.execute(
                select(
                    FleetFailedOrg.package_id,
                    func.sum(FleetFailedOrg.failures),
                    func.count(),
                    func.max(FleetFailedOrg.last_at),
                )
                .join(FleetFailure, FleetFailure.package_id == FleetFailedOrg.package_id)
                .where(
                    FleetFailure.product_id == product.id,
                    FleetFailedOrg.org_id.in_(managed_org_ids(actor.user)),
                )
                .group_by(FleetFailedOrg.package_id)
            ).all()
        ]
    packages = {
        p.id: p
        for p in session.scalars(select(Package).where(Package.id.in_([c[0] for c in counted])))
    }
    rows = [
        FailureRow(packages[pid], int(n), int(orgs), last_at, error)
        for pid, n, orgs, last_at, error in counted
        if pid in packages
    ]
    return sorted(rows, key=lambda r: (-r.failures, r.package.version_key))


def _last_error(session: Session, actor: Actor, package_id: str) -> str | None:
    """The newest failure message of the package among the account manager's own
    organisations (the vendor-wide one may be another customer's)."""
    return session.scalars(
        select(FleetFailedOrg.last_error)
        .where(
            FleetFailedOrg.package_id == package_id,
            FleetFailedOrg.org_id.in_(managed_org_ids(actor.user)),
        )
        .order_by(FleetFailedOrg.last_at.desc())
        .limit(1)
    ).first()


def adoption_curves(session: Session, product: Product) -> list[Curve]:
    """A curve for each of the newest patches and feature packs of the product."""
    recent = session.scalars(
        select(Package)
        .where(
            Package.product_id == product.id,
            Package.yanked.is_(False),
            Package.kind != "installer",
        )
        .order_by(Package.published_at.desc(), Package.id)
        .limit(CURVE_PACKAGES)
    ).all()
    if not recent:
        return []
    first_day = max(min(p.published_at.date() for p in recent), today() - timedelta(CURVE_DAYS))
    history: dict[date, list[tuple[str, int]]] = {}
    for day, key, count in session.execute(
        select(FleetDay.day, FleetDay.version_key, FleetDay.installations).where(
            FleetDay.product_id == product.id, FleetDay.day >= first_day
        )
    ):
        history.setdefault(day, []).append((key, count))
    return [_curve(session, package, history) for package in recent]


def _curve(session: Session, package: Package, history) -> Curve:
    curve = Curve(package)
    since = package.published_at.date()
    for day in sorted(d for d in history if d >= since):
        reached = [(key, n) for key, n in history[day] if key >= package.line_key]
        total = sum(n for _key, n in reached)
        done = sum(n for key, n in reached if key >= package.version_key)
        curve.points.append((day, done / total if total else 0.0))
    curve.failed = dict(
        session.execute(
            select(FleetFailureDay.day, FleetFailureDay.failures).where(
                FleetFailureDay.package_id == package.id, FleetFailureDay.day >= since
            )
        ).all()
    )
    return curve
