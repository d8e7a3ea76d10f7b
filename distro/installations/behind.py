"""How far installations are behind: the newest version of each one's release line, the
patches in between, and an organisation's totals per product. Counted per distinct
version (an organisation runs a handful), never per installation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from distro.core.versions import line_key
from distro.installations.fleet import is_current, newest_by_line
from distro.installations.models import Installation
from distro.patches.models import Package


def behind(
    session: Session, installations: list[Installation]
) -> dict[str, tuple[str | None, int]]:
    """Installation id -> (newest version of its release line, patches it is behind)."""
    tops = {pid: newest_by_line(session, pid) for pid in {i.product_id for i in installations}}
    counted: dict[tuple[str, str], tuple[str | None, int]] = {}
    answer = {}
    for installation in installations:
        group = (installation.product_id, installation.version_key)
        if group not in counted:
            counted[group] = _behind(session, installation, tops[installation.product_id])
        answer[installation.id] = counted[group]
    return answer


def _behind(session: Session, installation: Installation, tops: dict) -> tuple[str | None, int]:
    line = line_key(installation.version)
    top = tops.get(line)
    if top is None:
        return None, 0
    count = session.scalar(
        select(func.count())
        .select_from(Package)
        .where(
            Package.product_id == installation.product_id,
            Package.line_key == line,
            Package.version_key > installation.version_key,
            Package.yanked.is_(False),
            Package.kind != "installer",
        )
    )
    return top[1], count


@dataclass
class ProductTotals:
    product_id: str
    installations: int = 0
    behind: int = 0
    failing: int = 0


def org_totals(session: Session, org_id: str) -> dict[str, ProductTotals]:
    """Product id -> an organisation's installations, how many are not on the newest
    patch of their line, and how many last reported a failure."""
    totals: dict[str, ProductTotals] = {}
    tops: dict[str, dict] = {}
    for product_id, version, key, count, failing in session.execute(
        select(
            Installation.product_id,
            func.min(Installation.version),
            Installation.version_key,
            func.count(),
            func.sum(case((Installation.last_failure_at.is_not(None), 1), else_=0)),
        )
        .where(Installation.org_id == org_id)
        .group_by(Installation.product_id, Installation.version_key)
    ):
        if product_id not in tops:
            tops[product_id] = newest_by_line(session, product_id)
        row = totals.setdefault(product_id, ProductTotals(product_id))
        row.installations += count
        row.failing += int(failing or 0)
        if not is_current(version, key, tops[product_id]):
            row.behind += count
    return totals
