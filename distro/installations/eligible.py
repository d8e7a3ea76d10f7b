"""The subscriptions that could take their free upgrade to the newest version, for
account managers (their organisations) and admins (everyone's): one query with a limit,
however many subscriptions there are, and a bulk request for the ticked ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from distro.accounts.actor import Actor
from distro.core.clock import today
from distro.core.errors import DistroError, Forbidden
from distro.core.versions import line_key, release_line, version_key
from distro.licenses import upgrades
from distro.licenses.models import License, LicenseRequest
from distro.licenses.rules import active_clause
from distro.licenses.services import visible_licenses
from distro.patches.models import Package
from distro.signing.signer import Signer

LISTED = 200  # a page shows this many; the rest are reached by requesting these first


@dataclass
class Eligible:
    license: License
    target: str


def newest_releases(session: Session) -> dict[str, str]:
    """Product id -> the version an upgrade should name (`newest_release`), for every
    product with an unyanked package: one grouped read."""
    tops = session.execute(
        select(Package.product_id, func.max(Package.line_key))
        .where(Package.yanked.is_(False))
        .group_by(Package.product_id)
    ).all()
    return {product_id: newest_release(session, product_id, top) for product_id, top in tops}


def newest_release(session: Session, product_id: str, top_line: str) -> str:
    """The newest release line's own version (`9.1`) where it was published, else the
    newest version published in that line. Patches within a line need no upgrade: the
    line's license already entitles them."""
    versions = session.scalars(
        select(Package.version)
        .where(
            Package.product_id == product_id,
            Package.yanked.is_(False),
            Package.line_key == top_line,
        )
        .order_by(Package.version_key.desc())
    ).all()
    line = release_line(versions[0])
    if any(version_key(v) == version_key(line) for v in versions):
        return line
    return versions[0]


def eligible_upgrades(session: Session, actor: Actor, limit: int = LISTED) -> list[Eligible]:
    """Active subscriptions (of the account manager's organisations) on a release line
    below their product's newest, with no pending request; at most `limit`, by
    organisation and product."""
    if actor.role not in ("account_manager", "admin"):
        raise Forbidden("eligible upgrades are for account managers")
    targets = newest_releases(session)
    if not targets:
        return []
    below_newest = or_(
        *[
            and_(License.product_id == product_id, License.line_key < line_key(target))
            for product_id, target in targets.items()
        ]
    )
    pending = select(LicenseRequest.license_id).where(LicenseRequest.status == "pending")
    rows = session.scalars(
        visible_licenses(actor)
        .where(
            License.kind == "subscription",
            active_clause(today()),
            below_newest,
            License.id.not_in(pending),
        )
        .options(joinedload(License.org), joinedload(License.product))
        .order_by(License.org_id, License.product_id, License.id)
        .limit(limit)
    ).all()
    return [Eligible(license, targets[license.product_id]) for license in rows]


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
    targets = newest_releases(session)
    licenses = {
        license.id: license
        for license in session.scalars(visible_licenses(actor).where(License.id.in_(license_ids)))
    }
    outcomes = []
    for license_id in license_ids:
        license = licenses.get(license_id)
        target = targets.get(license.product_id) if license is not None else None
        outcome = Outcome(license_id, target)
        try:
            with session.begin_nested():
                if target is None or line_key(target) <= license.line_key:
                    raise Forbidden("not eligible: no newer version, or a request is pending")
                outcome.request = upgrades.submit_request(
                    session, actor, license_id=license_id, target_version=target, signer=signer
                )
        except DistroError as exc:
            outcome.error = exc.message
        outcomes.append(outcome)
    return outcomes
