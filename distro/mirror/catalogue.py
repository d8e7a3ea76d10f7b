"""What the mirror answers installers, from what bundles brought: the same shapes as the
vendor's API (contract §5, §8), the same update-plan rule (`plan_path`), the ring caps
of the organisation's approvals."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.core.errors import NotFound
from distro.core.ids import is_id
from distro.core.parsers import parse_version
from distro.core.versions import version_key
from distro.installations.models import DEFAULT_RING
from distro.mirror.models import MirrorDocument, MirrorPackage
from distro.patches.updateplan import plan_path


def document(session: Session, kind: str, name: str) -> str | None:
    row = session.get(MirrorDocument, (kind, name))
    return row.body if row else None


def listed(session: Session, kind: str) -> list[dict]:
    """One of the lists a bundle carries whole (`products`, `rings`, `installations`,
    `keys`), empty before the first import."""
    body = document(session, kind, f"{kind}.json")
    return json.loads(body) if body else []


def product(session: Session, code: str) -> dict:
    for item in listed(session, "products"):
        if item["code"] == code:
            return item
    raise NotFound(f"no product {code!r} available to you")


def listing(session: Session, code: str, kind: str | None = None, version: str | None = None):
    """Unyanked packages of a product, unordered (the caller pages them)."""
    product(session, code)
    stmt = select(MirrorPackage).where(
        MirrorPackage.product == code, MirrorPackage.yanked.is_(False)
    )
    if kind:
        stmt = stmt.where(MirrorPackage.kind == kind)
    if version:
        stmt = stmt.where(MirrorPackage.version_key == version_key(parse_version(version)))
    return stmt


def package(session: Session, package_id: str) -> MirrorPackage:
    row = session.get(MirrorPackage, package_id) if is_id(package_id) else None
    if row is None:
        raise NotFound("no such package available to you")
    return row


def package_json(row: MirrorPackage, *, detail: bool = False) -> dict:
    body = dict(row.body)
    body["yanked"] = row.yanked
    if not detail:
        for field in ("manifest", "signature", "kid"):
            body.pop(field, None)
    return body


def ring_of(session: Session, code: str, installation: str | None) -> str:
    for item in listed(session, "installations"):
        if item["product"] == code and item["name"] == installation:
            return item["ring"]
    return DEFAULT_RING


def approval(session: Session, code: str, ring: str) -> dict | None:
    for item in listed(session, "rings"):
        if item["product"] == code and item["ring"] == ring:
            return item
    return None


def update_plan(session: Session, code: str, from_version: str, cap: dict | None = None):
    """The vendor's rule over the packages held here, stopped at the ring's approval
    (a yanked approved version gives way to the newest one below it, as there)."""
    from_version = parse_version(from_version, "from")
    candidates = list(
        session.scalars(listing(session, code).where(MirrorPackage.kind != "installer"))
    )
    target = None
    if cap is not None:
        below = [p.version for p in candidates if p.version_key <= version_key(cap["version"])]
        target = max(below, key=version_key, default="0")
    return plan_path(
        candidates,
        from_version,
        version=lambda p: p.version,
        applies_to=lambda p: p.body.get("applies_to"),
        tiebreak=lambda p: (p.published_at, p.id),
        target=target,
    )
