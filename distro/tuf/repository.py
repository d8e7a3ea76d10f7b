"""Building and signing a product's TUF metadata (python-tuf's `tuf.api.metadata`).

Lifetimes: root 2 years (signed offline-capable keys, renewed at every rotation);
targets and snapshot 1 year (re-signed at every publish and yank, and by
`distro tuf refresh`); timestamp 1 day, re-signed when less than half of it is left,
on request or by `distro tuf refresh`, so that a frozen mirror is caught within a day.

Every change is stored in the caller's transaction, with the package row it describes:
a client never sees a target the catalogue lacks or the reverse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from distro.core.clock import utcnow
from distro.core.errors import DistroError
from distro.patches.models import Package, Product
from distro.signing.signer import Signer
from distro.signing.tuf import derived_key, tuf_key, tuf_signer
from distro.tuf.models import TufMetadata

ROOT_LIFETIME = timedelta(days=730)
TARGETS_LIFETIME = timedelta(days=365)
TIMESTAMP_LIFETIME = timedelta(days=1)
TIMESTAMP_RENEW_WITHIN = TIMESTAMP_LIFETIME / 2
ONLINE_ROLES = ("targets", "snapshot", "timestamp")


class TufKeyMissing(DistroError):
    code = "tuf_key_missing"
    status = 503


def _online(product: Product, online: Signer) -> Signer:
    return derived_key(online, f"online/{product.id}")


def _roots(product: Product, roots: list[Signer]) -> list[Signer]:
    return [derived_key(root, f"root/{product.id}") for root in roots]


def latest(session: Session, product_id: str, role: str) -> TufMetadata | None:
    return session.scalars(
        select(TufMetadata)
        .where(TufMetadata.product_id == product_id, TufMetadata.role == role)
        .order_by(TufMetadata.version.desc())
        .limit(1)
    ).first()


def version_of(session: Session, product_id: str, role: str, version: int) -> TufMetadata | None:
    return session.scalars(
        select(TufMetadata).where(
            TufMetadata.product_id == product_id,
            TufMetadata.role == role,
            TufMetadata.version == version,
        )
    ).first()


def _expiry(lifetime: timedelta) -> datetime:
    return (datetime.now(UTC) + lifetime).replace(microsecond=0)


def _store(session: Session, product: Product, md: Metadata, signers: list[Signer]) -> None:
    md.signatures.clear()
    for signer in signers:
        md.sign(tuf_signer(signer), append=True)
    session.add(
        TufMetadata(
            product_id=product.id,
            role=md.signed.type,
            version=md.signed.version,
            body=md.to_bytes().decode(),
            expires=md.signed.expires.astimezone(UTC).replace(tzinfo=None),
        )
    )


def _lock(session: Session, product: Product) -> None:
    """Serialise metadata changes per product (PostgreSQL row lock; SQLite's writes are
    serial already), so versions stay consecutive across processes.

    FOR NO KEY UPDATE, not FOR UPDATE: the package row inserted just before holds a KEY
    SHARE lock on its product (the foreign key), which FOR UPDATE would wait for, so two
    publishes would deadlock; FOR NO KEY UPDATE only waits for the other's lock."""
    session.execute(
        select(Product.id).where(Product.id == product.id).with_for_update(key_share=True)
    )


def _current_root(session: Session, product: Product) -> Root:
    row = latest(session, product.id, "root")
    if row is None:
        raise TufKeyMissing(f"product {product.code} has no TUF repository; run 'distro init'")
    return Metadata[Root].from_bytes(row.body.encode()).signed


def _check_online(root: Root, online: Signer) -> None:
    keyid = tuf_key(online).keyid
    if keyid not in root.roles["targets"].keyids:
        raise TufKeyMissing(
            "the active signing key is not the TUF online key of the current root; "
            "run 'distro keys rotate' on a host that holds the root keys"
        )


def create_repository(
    session: Session, product: Product, online: Signer, roots: list[Signer], threshold: int = 1
) -> None:
    """Root version 1 (signed by the root keys) and the first online metadata."""
    if latest(session, product.id, "root") is not None:
        return
    _check_threshold(roots, threshold)
    roots = _roots(product, roots)
    root = _new_root(1, roots, _online(product, online), threshold)
    _store(session, product, Metadata(root), roots)
    session.flush()
    update_targets(session, product, online)


def _new_root(version: int, roots: list[Signer], online: Signer, threshold: int) -> Root:
    """A root listing `roots` (with `threshold`) and `online` for the other three roles."""
    root = Root(version=version, expires=_expiry(ROOT_LIFETIME), consistent_snapshot=True)
    for signer in roots:
        root.add_key(tuf_key(signer), "root")
    root.roles["root"].threshold = threshold
    for role in ONLINE_ROLES:
        root.add_key(tuf_key(online), role)
    return root


def _check_threshold(roots: list[Signer], threshold: int) -> None:
    if len(roots) < threshold:
        raise TufKeyMissing(
            f"the TUF root threshold is {threshold} but this host holds {len(roots)} root "
            "key(s) in signing_keys/tuf-root/"
        )


def _target(package: Package) -> TargetFile:
    path = f"{package.version}/{package.filename}"
    return TargetFile(
        length=package.size,
        hashes={"sha256": package.sha256},
        path=path,
        unrecognized_fields={
            "custom": {"id": package.id, "kind": package.kind, "applies_to": package.applies_to}
        },
    )


def update_targets(session: Session, product: Product, online: Signer) -> None:
    """New targets, snapshot and timestamp versions listing every unyanked package.

    Nothing happens for a product without a repository yet (`distro init` creates it,
    listing every package published until then)."""
    if latest(session, product.id, "root") is None:
        return
    _lock(session, product)
    online = _online(product, online)
    _check_online(_current_root(session, product), online)
    session.flush()  # the package row being published or yanked counts
    packages = session.scalars(
        select(Package).where(Package.product_id == product.id, Package.yanked.is_(False))
    )
    targets = Targets(version=_next(session, product, "targets"), expires=_expiry(TARGETS_LIFETIME))
    for package in packages:
        target = _target(package)
        targets.targets[target.path] = target
    _store(session, product, Metadata(targets), [online])
    snapshot = Snapshot(
        version=_next(session, product, "snapshot"),
        expires=_expiry(TARGETS_LIFETIME),
        meta={"targets.json": MetaFile(targets.version)},
    )
    _store(session, product, Metadata(snapshot), [online])
    _new_timestamp(session, product, online, snapshot.version)


def _next(session: Session, product: Product, role: str) -> int:
    current = session.scalar(
        select(func.max(TufMetadata.version)).where(
            TufMetadata.product_id == product.id, TufMetadata.role == role
        )
    )
    return (current or 0) + 1


def _new_timestamp(session: Session, product: Product, online: Signer, snapshot: int) -> None:
    timestamp = Timestamp(
        version=_next(session, product, "timestamp"),
        expires=_expiry(TIMESTAMP_LIFETIME),
        snapshot_meta=MetaFile(snapshot),
    )
    _store(session, product, Metadata(timestamp), [online])
    session.flush()


def timestamp_is_stale(session: Session, product: Product) -> bool:
    """Whether less than half of the timestamp's life is left (so it is re-signed)."""
    current = latest(session, product.id, "timestamp")
    return current is not None and current.expires - utcnow() <= TIMESTAMP_RENEW_WITHIN


def refresh_timestamp(session: Session, product: Product, online: Signer) -> bool:
    """Re-sign the timestamp when less than half its life is left; True if it did."""
    if not timestamp_is_stale(session, product):
        return False
    _lock(session, product)
    if not timestamp_is_stale(session, product):
        return False  # another process renewed it meanwhile
    current = latest(session, product.id, "timestamp")
    online = _online(product, online)
    _check_online(_current_root(session, product), online)
    snapshot = json.loads(current.body)["signed"]["meta"]["snapshot.json"]["version"]
    _new_timestamp(session, product, online, snapshot)
    return True


def rotate(
    session: Session,
    product: Product,
    online: Signer,
    old_roots: list[Signer],
    new_roots: list[Signer],
    threshold: int = 1,
) -> None:
    """The next root version, listing the new root and online keys and signed by the old
    root keys and the new ones (as TUF requires), then fresh online metadata."""
    _lock(session, product)
    previous = _current_root(session, product)
    _check_threshold(new_roots, threshold)
    old_roots, new_roots = _roots(product, old_roots), _roots(product, new_roots)
    trusted = set(previous.roles["root"].keyids)
    signing_old = [s for s in old_roots if tuf_key(s).keyid in trusted]
    if len(signing_old) < previous.roles["root"].threshold:
        raise TufKeyMissing(
            "rotating needs the current TUF root keys (threshold "
            f"{previous.roles['root'].threshold}); this host holds {len(signing_old)}"
        )
    root = _new_root(previous.version + 1, new_roots, _online(product, online), threshold)
    signers = {tuf_key(s).keyid: s for s in [*signing_old, *new_roots]}
    _store(session, product, Metadata(root), list(signers.values()))
    session.flush()
    update_targets(session, product, online)
