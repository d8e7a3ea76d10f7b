"""Deltas built in the background: `distro worker` takes the oldest package nobody has
looked at yet, builds a delta to it from each of the newest `DELTA_BASES` older unyanked
packages of its product, kind and release line, keeps those of at most half its size,
and re-signs the line's TUF targets with them. Never in the publish request: a delta of a
large installer takes a minute.

No transaction is open while a delta builds (on SQLite an open one would hold up every
writer); what is stored before the rows are written and then fails is unreferenced bytes
that `distro storage sweep` removes.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.core.clock import utcnow
from distro.core.errors import DistroError
from distro.deltas.build import build_delta
from distro.deltas.format import DeltaInvalid
from distro.patches.models import Package, PackageDelta
from distro.signing.signer import Signer
from distro.storage.base import CHUNK, ObjectStorage, blob_key
from distro.tuf import repository

MAX_SHARE = 0.5  # a delta larger than this share of its package is not worth keeping
log = logging.getLogger("distro.deltas")


@dataclass(frozen=True)
class Stored:
    base_id: str
    size: int
    sha256: str
    key: str


@dataclass(frozen=True)
class Looked:
    """What one pass did: the package looked at and the deltas it now has."""

    package_id: str
    deltas: int


def build_due(
    session: Session, storage: ObjectStorage, signer: Callable[[], Signer], bases: int
) -> Looked | None:
    """Build the deltas of the oldest package still to look at; None when there is none."""
    package = _next_due(session)
    if package is None:
        return None
    package_id, wanted = package.id, [] if package.yanked else _bases(session, package, bases)
    have = {delta.base_id for delta in package.deltas}
    todo = [(b.id, b.storage_key, b.size) for b in wanted if b.id not in have]
    new = (package.storage_key, package.size)
    session.rollback()  # no transaction open while the deltas build
    try:
        stored = _build(storage, new, todo) if todo else []
    except (OSError, DistroError, DeltaInvalid, zipfile.BadZipFile):
        # A stored file missing or damaged (`distro storage verify` says which), the
        # store down: the package gets no delta now rather than a retry every pass.
        log.exception("the deltas of package %s could not be built; it has none", package_id)
        stored = []
    return _record(session, package_id, stored, signer)


def _next_due(session: Session) -> Package | None:
    return session.scalars(
        select(Package)
        .where(Package.deltas_checked_at.is_(None))
        .order_by(Package.published_at, Package.id)
        .limit(1)
    ).first()


def _bases(session: Session, package: Package, count: int) -> list[Package]:
    return list(
        session.scalars(
            select(Package)
            .where(
                Package.product_id == package.product_id,
                Package.kind == package.kind,
                Package.line_key == package.line_key,
                Package.version_key < package.version_key,
                Package.yanked.is_(False),
            )
            .order_by(Package.version_key.desc(), Package.published_at.desc())
            .limit(count)
        )
    )


def _build(storage: ObjectStorage, new: tuple[str, int], bases) -> list[Stored]:
    stored = []
    with tempfile.TemporaryDirectory(prefix="distro-delta-") as work:
        folder = Path(work)
        new_path = _local(storage, *new, folder / "new")
        for base_id, key, size in bases:
            delta = folder / f"{base_id}.delta"
            limit = int(new[1] * MAX_SHARE)
            with delta.open("wb") as out:
                base = _local(storage, key, size, folder / "base")
                built = build_delta(base, new_path, out, limit=limit)
            if built is not None:
                stored.append(_store(storage, base_id, delta))
    return stored


def _local(storage: ObjectStorage, key: str, size: int, path: Path) -> Path:
    """The stored file itself where the store is a folder, else a copy in `path`."""
    local = storage.local_path(key)
    if local is not None:
        return local
    with path.open("wb") as out:
        for chunk in storage.iter_range(key, 0, size):
            out.write(chunk)
    return path


def _store(storage: ObjectStorage, base_id: str, delta: Path) -> Stored:
    size = delta.stat().st_size
    writer = storage.open_writer(size)
    try:
        with delta.open("rb") as source:
            while chunk := source.read(CHUNK):
                writer.write(chunk)
        temp = writer.finish()
    except BaseException:
        writer.abort()
        raise
    key = blob_key(writer.hexdigest())
    storage.promote(temp, key)
    return Stored(base_id, size, writer.hexdigest(), key)


def _record(session: Session, package_id: str, stored: list[Stored], signer) -> Looked:
    package = session.get(Package, package_id)
    for delta in stored:
        session.add(
            PackageDelta(
                package_id=package_id,
                base_id=delta.base_id,
                size=delta.size,
                sha256=delta.sha256,
                storage_key=delta.key,
            )
        )
        audit.record(
            session,
            Actor(user=None),
            "package.delta",
            target_type="package",
            target_id=package_id,
            base=delta.base_id,
            size=delta.size,
            sha256=delta.sha256,
        )
    package.deltas_checked_at = utcnow()
    try:
        session.flush()
    except IntegrityError:  # another worker built them first: its rows stand
        session.rollback()
        return Looked(package_id, len(session.get(Package, package_id).deltas))
    if stored:
        session.expire(package, ["deltas"])
        repository.update_targets(session, package.product, signer(), [package.version])
    session.commit()
    return Looked(package_id, len(package.deltas))
