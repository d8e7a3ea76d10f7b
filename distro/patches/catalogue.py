"""What an entitled caller can see: products, package lists, details and update plans."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.core.parsers import parse_version
from distro.core.versions import version_key
from distro.patches.details import details_of
from distro.patches.entitlement import product_for
from distro.patches.models import Package, Product
from distro.patches.updateplan import plan_path


def listing_query(
    session: Session,
    actor: Actor,
    code: str,
    *,
    kind: str | None = None,
    version: str | None = None,
):
    """Unyanked packages of a product within the caller's entitlement, unordered."""
    product, line = product_for(session, actor, code)
    stmt = select(Package).where(
        Package.product_id == product.id, Package.yanked.is_(False), Package.line_key <= line
    )
    if kind:
        stmt = stmt.where(Package.kind == kind)
    if version:
        stmt = stmt.where(Package.version_key == version_key(version))
    return stmt


def product_of(session: Session, actor: Actor, code: str) -> Product:
    """The product if the caller is entitled to any of it; else 404."""
    return product_for(session, actor, code)[0]


def update_plan(
    session: Session, actor: Actor, code: str, from_version: str, target: str | None = None
) -> list[Package]:
    """Ordered unyanked steps from `from_version` to the newest version reachable within
    the caller's entitlement, not past `target` (a ring's approval) when given (see
    `distro.patches.updateplan`)."""
    from_version = parse_version(from_version, "from")
    candidates = session.scalars(
        listing_query(session, actor, code).where(Package.kind != "installer")
    )
    return plan_path(
        candidates,
        from_version,
        version=lambda p: p.version,
        applies_to=lambda p: p.applies_to,
        tiebreak=lambda p: (p.published_at, p.id),
        target=target,
    )


def product_json(product: Product) -> dict:
    return {"code": product.code, "name": product.name}


def package_json(package: Package, *, detail: bool = False) -> dict:
    # The signed manifest is the source of truth; the API adds the mutable fields.
    body = {
        **json.loads(package.manifest),
        **details_of(package).as_json(),
        "yanked": package.yanked,
        "yank_reason": package.yank_reason,
        # What `distro fetch` can download instead, given the package `from` (§9).
        "deltas": [
            {"from": delta.base_id, "size": delta.size, "sha256": delta.sha256}
            for delta in package.deltas
        ],
    }
    if detail:
        body.update(manifest=package.manifest, signature=package.signature, kid=package.kid)
    return body
