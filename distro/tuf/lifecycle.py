"""Repositories over time: created for every product, rotated with the keys, refreshed
before they expire. Called by `distro init`, product creation, `distro keys rotate` (and
the admin page's button) and `distro tuf refresh`."""

from __future__ import annotations

import shutil
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.core.clock import utcnow
from distro.patches.models import Product
from distro.signing import keys
from distro.signing.keys import KeySource
from distro.signing.models import SigningKey
from distro.signing.signer import Signer
from distro.signing.tuf import ensure_root_key, new_root_key, root_folder, root_signers
from distro.tuf import repository

RESIGN_WITHIN = timedelta(days=30)


def ensure_repository(
    session: Session, product: Product, source: KeySource, threshold: int = 1
) -> bool:
    """Create the product's repository if it has none; True if it did. The caller commits."""
    if repository.latest(session, product.id, "root") is not None:
        return False
    roots = list(ensure_root_key(source.keys_dir, threshold).values())
    online = keys.active_signer(session, source)
    repository.create_repository(session, product, online, roots, threshold)
    return True


def ensure_all(session: Session, source: KeySource, threshold: int = 1) -> int:
    """Every product's repository exists and delegates its release lines (targets made
    by an older release list every target in one file, which `distro init` rebuilds)."""
    created = 0
    for product in session.scalars(select(Product).order_by(Product.code)):
        created += ensure_repository(session, product, source, threshold)
        if repository.needs_delegations(session, product):
            repository.update_targets(session, product, keys.active_signer(session, source))
    return created


def rotate_keys(
    session: Session, source: KeySource, threshold: int = 1
) -> tuple[SigningKey, list[Signer]]:
    """A new signing (online) key and `threshold` new root keys; every product's
    repository gets the next root version signed by the old and the new root keys.

    Returns the new signing key's row and the retired root keys, whose files the caller
    moves aside with `retire_root_keys` once the transaction has committed.
    """
    old_roots = list(root_signers(source.keys_dir).values())
    row = keys.rotate_key(session, source)
    new_files = [source.keys_dir / f"{row.kid}.pem"]
    try:
        online = keys.active_signer(session, source)
        new_roots = [new_root_key(source.keys_dir) for _ in range(threshold)]
        new_files += [root_folder(source.keys_dir) / f"{s.kid}.pem" for s in new_roots]
        for product in session.scalars(select(Product).order_by(Product.code)):
            if repository.latest(session, product.id, "root") is None:
                continue
            repository.rotate(session, product, online, old_roots, new_roots, threshold)
    except BaseException:
        # The transaction rolls back; key files left behind would be taken for the
        # active signing key and the root keys at the next start.
        for path in new_files:
            path.unlink(missing_ok=True)
        raise
    return row, old_roots


def retire_root_keys(source: KeySource, retired: list[Signer]) -> None:
    """Move root keys no root version lists any more out of the active folder."""
    folder = root_folder(source.keys_dir)
    (folder / "retired").mkdir(mode=0o700, exist_ok=True)
    for signer in retired:
        path = folder / f"{signer.kid}.pem"
        if path.exists():
            shutil.move(str(path), str(folder / "retired" / path.name))


def refresh_all(session: Session, source: KeySource) -> list[str]:
    """Re-sign what is close to expiry: timestamps within half a day, targets and
    snapshot within 30 days. Returns what was renewed, as `code role` lines."""
    online = keys.active_signer(session, source)
    renewed = []
    for product in session.scalars(select(Product).order_by(Product.code)):
        targets = repository.latest(session, product.id, "targets")
        if targets is None:
            continue
        if targets.expires - utcnow() < RESIGN_WITHIN:
            repository.update_targets(session, product, online)
            renewed.append(f"{product.code} targets, snapshot, timestamp")
        elif repository.refresh_timestamp(session, product, online):
            renewed.append(f"{product.code} timestamp")
    return renewed
