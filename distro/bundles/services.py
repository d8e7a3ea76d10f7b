"""Bundles asked for over the API or the page: who may ask and see them, their JSON,
and the queue `distro worker` builds them from (into the object store)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import Organisation, org_account_managers
from distro.accounts.services import managed_org_ids
from distro.bundles import export
from distro.bundles.destinations import StoreDestination
from distro.bundles.format import MIB, PART_MIB
from distro.bundles.models import Bundle, BundleFile
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import DistroError, NotFound
from distro.core.ids import is_id
from distro.core.parsers import parse_integer
from distro.storage.base import ObjectStorage

# A claim older than this is a worker that died: another one builds the bundle again.
STALE_CLAIM = timedelta(hours=6)


def may_manage(session: Session, actor: Actor, org_id: str) -> bool:
    """Customer admins for their own organisation, account managers for the ones they
    manage, admins for all."""
    if actor.role == "admin":
        return True
    if actor.role == "account_manager":
        managed = managed_org_ids(actor.user).where(org_account_managers.c.org_id == org_id)
        return session.scalar(managed) is not None
    return actor.role == "customer_admin" and actor.org_id == org_id


def request_bundle(session: Session, actor: Actor, org: Organisation, since: object) -> Bundle:
    """Queue a bundle of `org` for the worker (committed)."""
    if not may_manage(session, actor, org.id):
        raise NotFound(f"no organisation {org.code!r} of yours")
    since = None if since in (None, "") else parse_integer(since, "since", 1, 10**9)
    bundle = export.reserve(session, actor, org, since, destination="store")
    audit.record(
        session,
        actor,
        "bundle.request",
        target_type="bundle",
        target_id=bundle.id,
        org_id=org.id,
        seq=bundle.seq,
        since=since,
    )
    session.commit()
    return bundle


def visible_bundles(actor: Actor, org_id: str | None = None):
    """Customers: their organisation's bundles; account managers: their organisations';
    admins: all; `org_id` narrows it to one."""
    stmt = select(Bundle)
    if actor.role == "account_manager":
        stmt = stmt.where(Bundle.org_id.in_(managed_org_ids(actor.user)))
    elif actor.role != "admin":
        stmt = stmt.where(Bundle.org_id == actor.org_id)
    return stmt.where(Bundle.org_id == org_id) if org_id else stmt


def bundle_for(session: Session, actor: Actor, bundle_id: str) -> Bundle:
    bundle = session.get(Bundle, bundle_id) if is_id(bundle_id) else None
    if bundle is None or not may_manage(session, actor, bundle.org_id):
        raise NotFound("no such bundle")
    return bundle


def files_of(session: Session, bundle: Bundle) -> list[BundleFile]:
    stmt = select(BundleFile).where(BundleFile.bundle_id == bundle.id)
    return list(session.scalars(stmt.order_by(BundleFile.position)))


def file_of(session: Session, bundle: Bundle, name: str) -> BundleFile:
    row = session.get(BundleFile, (bundle.id, name)) if len(name) <= 80 else None
    if row is None or bundle.status != "ready":
        raise NotFound(f"bundle {bundle.seq} has no file {name!r}")
    return row


def bundle_json(session: Session, bundle: Bundle, *, detail: bool = False) -> dict:
    body = {
        "id": bundle.id,
        "org": session.get(Organisation, bundle.org_id).code,
        "seq": bundle.seq,
        "since": bundle.since,
        "status": bundle.status,
        "error": bundle.error if bundle.status == "failed" else None,
        "created_at": rfc3339(bundle.created_at),
        "finished_at": rfc3339(bundle.finished_at),
    }
    if detail:
        body["files"] = [
            {"name": f.name, "size": f.size, "sha256": f.sha256} for f in files_of(session, bundle)
        ]
    return body


def claim_next(session: Session) -> Bundle | None:
    """The oldest queued store bundle, claimed for this worker (committed), or None."""
    stale = utcnow() - STALE_CLAIM
    free = or_(Bundle.claimed_at.is_(None), Bundle.claimed_at < stale)
    queued = select(Bundle.id).where(
        Bundle.status == "building", Bundle.destination == "store", free
    )
    for bundle_id in session.scalars(queued.order_by(Bundle.created_at, Bundle.id).limit(5)):
        taken = session.execute(
            update(Bundle).where(Bundle.id == bundle_id, free).values(claimed_at=utcnow())
        ).rowcount
        session.commit()
        if taken:
            return session.get(Bundle, bundle_id)
    return None


def build_queued(
    session: Session,
    storage: ObjectStorage,
    signing: Callable[[], export.Signing],
    part_mib: int = PART_MIB,
) -> Bundle | None:
    """Build the next queued bundle into the store, or None when none is queued. A
    failure marks the bundle failed and raises (the worker logs it and goes on);
    `signing` is called only when there is a bundle to sign."""
    bundle = claim_next(session)
    if bundle is None:
        return None
    try:
        keys = signing()
    except DistroError as exc:
        export.mark_failed(session, bundle, exc)
        raise
    destination = StoreDestination(storage, part_mib * MIB)
    export.build(session, storage, keys, Actor(user=None), bundle, destination, part_mib * MIB)
    return bundle
