"""Building and signing a product's TUF metadata (python-tuf's `tuf.api.metadata`).

Roles: root; the top-level targets, which delegates each release line to a role of its
own (`distro.tuf.delegations`); the line roles; snapshot and timestamp. Lifetimes: root 2
years (signed offline-capable keys, renewed at every rotation); targets, line roles and
snapshot 1 year (a publish or yank re-signs its line's role, the snapshot and the
timestamp; `distro tuf refresh` renews them all); timestamp 1 day, re-signed when less
than half of it is left, on request or by `distro tuf refresh`, so that a frozen mirror
is caught within a day.

Every change is stored in the caller's transaction, with the package row it describes:
a client never sees a target the catalogue lacks or the reverse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Timestamp

from distro.core.clock import utcnow
from distro.core.errors import DistroError
from distro.core.versions import line_key
from distro.patches.models import Package, Product
from distro.signing.signer import Signer
from distro.signing.tuf import derived_key, tuf_key, tuf_signer
from distro.tuf import delegations
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


def _store(
    session: Session,
    product: Product,
    md: Metadata,
    signers: list[Signer],
    role: str | None = None,
) -> None:
    """Sign `md` and add it under `role` (a top-level role by its type, a line's role by
    its name)."""
    md.signatures.clear()
    for signer in signers:
        md.sign(tuf_signer(signer), append=True)
    session.add(
        TufMetadata(
            product_id=product.id,
            role=role or md.signed.type,
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


def update_targets(
    session: Session, product: Product, online: Signer, versions: Iterable[str] | None = None
) -> None:
    """New metadata for the release lines of `versions` (every line when None), then a
    new top-level targets if the set of lines or their paths changed (or every line was
    asked for: creation, rotation, renewal), a new snapshot and a new timestamp.

    A publish or yank thus re-signs one line's role, not the whole catalogue. Nothing
    happens for a product without a repository yet (`distro init` creates it)."""
    if latest(session, product.id, "root") is None:
        return
    _lock(session, product)
    online = _online(product, online)
    _check_online(_current_root(session, product), online)
    session.flush()  # the package row being published or yanked counts
    everything = versions is None
    published = _published_versions(session, product)
    roles = {role: delegations.path_patterns(texts) for role, texts in published.items()}
    changed = set(published) if everything else {delegations.role_of(v) for v in versions}
    expires = _expiry(TARGETS_LIFETIME)
    for role in sorted(changed):
        packages = session.scalars(
            select(Package).where(
                Package.product_id == product.id,
                Package.line_key == line_key(role),
                Package.yanked.is_(False),
            )
        )
        line = delegations.line_targets(packages, _next(session, product, role), expires)
        _store(session, product, Metadata(line), [online], role=role)
    top = latest(session, product.id, delegations.TOP_LEVEL)
    if everything or top is None or delegations.delegations_of(json.loads(top.body)) != roles:
        targets = delegations.top_level_targets(
            roles, tuf_key(online), _next(session, product, delegations.TOP_LEVEL), expires
        )
        _store(session, product, Metadata(targets), [online])
    session.flush()
    snapshot = Snapshot(
        version=_next(session, product, "snapshot"),
        expires=expires,
        meta={
            f"{role}.json": MetaFile(version) for role, version in _role_versions(session, product)
        },
    )
    _store(session, product, Metadata(snapshot), [online])
    _new_timestamp(session, product, online, snapshot.version)


def _published_versions(session: Session, product: Product) -> dict[str, set[str]]:
    """Role name -> the version texts ever published in its line (yanked ones too: a
    line's role, once made, stays, so that its versions never go back)."""
    lines: dict[str, set[str]] = {}
    for version in session.scalars(
        select(Package.version).where(Package.product_id == product.id).distinct()
    ):
        lines.setdefault(delegations.role_of(version), set()).add(version)
    return lines


def _role_versions(session: Session, product: Product) -> list[tuple[str, int]]:
    """The newest version of the top-level targets and of every line role."""
    return session.execute(
        select(TufMetadata.role, func.max(TufMetadata.version))
        .where(
            TufMetadata.product_id == product.id,
            TufMetadata.role.not_in(("root", "snapshot", "timestamp")),
        )
        .group_by(TufMetadata.role)
        .order_by(TufMetadata.role)
    ).all()


def needs_delegations(session: Session, product: Product) -> bool:
    """Whether the product's targets still list every target in one file (made before
    each release line had a role of its own); `distro init` then rebuilds them."""
    top = latest(session, product.id, delegations.TOP_LEVEL)
    return top is not None and delegations.delegations_of(json.loads(top.body)) is None


def _next(session: Session, product: Product, role: str) -> int:
    current = session.scalar(
        select(func.max(TufMetadata.version)).where(
            TufMetadata.product_id == product.id, TufMetadata.role == role
        )
    )
    return (current or 0) + 1


def _new_timestamp(
    session: Session,
    product: Product,
    online: Signer,
    snapshot: int,
    lifetime: timedelta | None = None,
) -> None:
    timestamp = Timestamp(
        version=_next(session, product, "timestamp"),
        expires=_expiry(lifetime if lifetime is not None else TIMESTAMP_LIFETIME),
        snapshot_meta=MetaFile(snapshot),
    )
    _store(session, product, Metadata(timestamp), [online])
    session.flush()


def timestamp_is_stale(session: Session, product: Product) -> bool:
    """Whether less than half of the timestamp's life is left, or it is older than half
    a life (a bundle's long-lived one, `offline_timestamp`): then it is re-signed, so
    that online clients keep a freeze caught within a day."""
    current = latest(session, product.id, "timestamp")
    if current is None:
        return False
    now = utcnow()
    return (
        current.expires - now <= TIMESTAMP_RENEW_WITHIN
        or now - current.created_at >= TIMESTAMP_LIFETIME - TIMESTAMP_RENEW_WITHIN
    )


def offline_timestamp(
    session: Session, product: Product, online: Signer, lifetime: timedelta
) -> None:
    """A new timestamp that lives `lifetime`, for an offline bundle: a site mirror holds
    no key to re-sign one, and its installers' TUF clients refuse an expired timestamp.
    The next request to this server after half a day replaces it for online clients."""
    _lock(session, product)
    current = latest(session, product.id, "timestamp")
    if current is None:
        return
    online = _online(product, online)
    _check_online(_current_root(session, product), online)
    snapshot = json.loads(current.body)["signed"]["meta"]["snapshot.json"]["version"]
    _new_timestamp(session, product, online, snapshot, lifetime)


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
