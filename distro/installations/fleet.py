"""The vendor's view of what its customers run: per product and version, how many
installations and organisations, how many are on the newest patch of their release
line, which packages fail where; and, for account managers, the subscriptions that
could take their free upgrade to the newest version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.clock import today
from distro.core.errors import DistroError, Forbidden
from distro.core.versions import line_key, release_line, version_key
from distro.installations.models import Installation, InstallationEvent
from distro.licenses import upgrades
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.licenses.services import visible_licenses
from distro.patches.models import Package, Product
from distro.signing.signer import Signer


@dataclass
class VersionRow:
    version: str
    installations: int = 0
    orgs: set = field(default_factory=set)
    on_newest: bool = True


@dataclass
class FailureRow:
    package: Package
    failures: int
    orgs: int
    last_at: datetime
    last_error: str | None


@dataclass
class Fleet:
    product: Product
    versions: list[VersionRow]
    installations: int
    on_newest: int
    failures: list[FailureRow]

    @property
    def percent_on_newest(self) -> int | None:
        return round(100 * self.on_newest / self.installations) if self.installations else None


def _staff(actor: Actor) -> None:
    if not actor.is_staff or actor.is_installer:
        raise Forbidden("the fleet view is for vendor staff")


def _scope(actor: Actor, stmt, org_column):
    """Account managers see their own organisations only; other staff see all."""
    if actor.role == "account_manager":
        return stmt.where(org_column.in_([org.id for org in actor.user.managed_orgs]))
    return stmt


def newest_by_line(session: Session, product: Product) -> dict[str, Package]:
    """The newest unyanked package of each release line of the product."""
    newest: dict[str, Package] = {}
    for package in session.scalars(
        select(Package).where(Package.product_id == product.id, Package.yanked.is_(False))
    ):
        line = release_line(package.version)
        if line not in newest or package.version_key > newest[line].version_key:
            newest[line] = package
    return newest


def is_current(version: str, newest: dict[str, Package]) -> bool:
    """On the newest patch of its release line (or on a line nothing was published for)."""
    top = newest.get(release_line(version))
    return top is None or version_key(version) >= top.version_key


def fleet(session: Session, actor: Actor, product: Product) -> Fleet:
    _staff(actor)
    newest = newest_by_line(session, product)
    rows: dict[str, VersionRow] = {}
    installs = session.scalars(
        _scope(actor, select(Installation), Installation.org_id).where(
            Installation.product_id == product.id
        )
    ).all()
    for installation in installs:
        row = rows.get(installation.version)
        if row is None:
            on_newest = is_current(installation.version, newest)
            row = rows[installation.version] = VersionRow(installation.version, on_newest=on_newest)
        row.installations += 1
        row.orgs.add(installation.org_id)
    return Fleet(
        product=product,
        versions=sorted(rows.values(), key=lambda r: version_key(r.version), reverse=True),
        installations=len(installs),
        on_newest=sum(r.installations for r in rows.values() if r.on_newest),
        failures=_failures(session, actor, product),
    )


def _failures(session: Session, actor: Actor, product: Product) -> list[FailureRow]:
    """Failed installs per package, most failures first."""
    failed = _scope(
        actor,
        select(
            InstallationEvent.package_id,
            func.count(),
            func.count(func.distinct(Installation.org_id)),
            func.max(InstallationEvent.created_at),
        )
        .join(Installation, Installation.id == InstallationEvent.installation_id)
        .where(
            Installation.product_id == product.id,
            InstallationEvent.event == "failed",
            InstallationEvent.package_id.is_not(None),
        )
        .group_by(InstallationEvent.package_id),
        Installation.org_id,
    )
    rows = []
    for package_id, count, orgs, last_at in session.execute(failed):
        last_error = session.scalars(
            select(InstallationEvent.error)
            .where(
                InstallationEvent.package_id == package_id,
                InstallationEvent.event == "failed",
                InstallationEvent.created_at == last_at,
            )
            .limit(1)
        ).first()
        rows.append(FailureRow(session.get(Package, package_id), count, orgs, last_at, last_error))
    return sorted(rows, key=lambda r: (-r.failures, r.package.version_key))


@dataclass
class Eligible:
    license: License
    target: str


def eligible_upgrades(session: Session, actor: Actor) -> list[Eligible]:
    """Active subscriptions (of the account manager's organisations) below the newest
    published version of their product, with no pending request."""
    if actor.role not in ("account_manager", "admin"):
        raise Forbidden("eligible upgrades are for account managers")
    pending = select(LicenseRequest.license_id).where(LicenseRequest.status == "pending")
    candidates = session.scalars(
        visible_licenses(actor)
        .where(
            License.kind == "subscription",
            active_clause(today()),
            License.id.not_in(pending),
        )
        .order_by(License.org_id, License.product_id)
    ).all()
    newest: dict[str, str | None] = {}
    found = []
    for license in candidates:
        if license.product_id not in newest:
            newest[license.product_id] = newest_release(session, license.product_id)
        target = newest[license.product_id]
        if target is not None and line_key(target) > line_key(license.version):
            found.append(Eligible(license, target))
    return found


def newest_release(session: Session, product_id: str) -> str | None:
    """The version a license upgrade should name: the newest release line that has an
    unyanked package, as that line's own version (`9.1`) where it was published, else
    the newest version published in the line. Patches within a line need no upgrade:
    the line's license already entitles them."""
    packages = session.scalars(
        select(Package).where(Package.product_id == product_id, Package.yanked.is_(False))
    ).all()
    if not packages:
        return None
    top_line = max(p.line_key for p in packages)
    in_line = [p for p in packages if p.line_key == top_line]
    line = release_line(in_line[0].version)
    if any(version_key(p.version) == version_key(line) for p in in_line):
        return line
    return max(in_line, key=lambda p: p.version_key).version


@dataclass
class Outcome:
    license_id: str
    target: str | None
    request: LicenseRequest | None = None
    error: str | None = None


def request_upgrades(
    session: Session, actor: Actor, license_ids: list[str], signer: Callable[[], Signer]
) -> list[Outcome]:
    """Request the newest version for each license; one line's refusal (a rule, a
    duplicate) is reported and does not stop the others. The caller commits."""
    targets = {e.license.id: e.target for e in eligible_upgrades(session, actor)}
    outcomes = []
    for license_id in license_ids:
        target = targets.get(license_id)
        outcome = Outcome(license_id, target)
        try:
            with session.begin_nested():
                if target is None:
                    raise Forbidden("not eligible: no newer version, or a request is pending")
                outcome.request = upgrades.submit_request(
                    session, actor, license_id=license_id, target_version=target, signer=signer
                )
        except DistroError as exc:
            outcome.error = exc.message
        outcomes.append(outcome)
    return outcomes
