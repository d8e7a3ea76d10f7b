"""Store integrity: re-hash every stored package object, and find unreferenced objects.

Used by `distro storage verify` and `distro storage sweep`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.core.clock import utcnow
from distro.patches.models import Package, PackageDelta
from distro.storage.base import ObjectStorage, StoredObject


@dataclass(frozen=True)
class Finding:
    key: str
    problem: str  # "ok", "missing", "size" or "hash"
    packages: list[str]


def verify_objects(session: Session, storage: ObjectStorage) -> Iterator[Finding]:
    """Every object a package points to, re-hashed from the store."""
    expected: dict[str, tuple[str, int, list[str]]] = {}
    for package in session.scalars(select(Package).order_by(Package.storage_key)):
        entry = expected.setdefault(package.storage_key, (package.sha256, package.size, []))
        entry[2].append(package.id)
    for key, (sha, size, ids) in expected.items():
        yield Finding(key, _check(storage, key, sha, size), ids)


def _check(storage: ObjectStorage, key: str, sha: str, size: int) -> str:
    try:
        actual_size = storage.size(key)
        digest = hashlib.sha256()
        for chunk in storage.iter_range(key, 0, actual_size):
            digest.update(chunk)
    except FileNotFoundError:
        return "missing"
    if actual_size != size:
        return "size"
    return "ok" if digest.hexdigest() == sha else "hash"


@dataclass(frozen=True)
class Orphan:
    obj: StoredObject
    recent: bool  # younger than the grace period: maybe an upload still in flight


def find_orphans(
    session: Session, storage: ObjectStorage, grace: timedelta, also_referenced=()
) -> Iterator[Orphan]:
    """Objects no package nor delta points to, nor any key of `also_referenced` (the
    files of offline bundles: a feature above this one, so its caller names them)."""
    referenced = set(session.scalars(select(Package.storage_key)))
    referenced.update(session.scalars(select(PackageDelta.storage_key)))
    referenced.update(also_referenced)
    now = utcnow()
    for obj in storage.list_objects():
        if obj.key not in referenced:
            yield Orphan(obj, now - obj.modified < grace)
