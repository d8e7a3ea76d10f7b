"""A mirror folder: `mirror.db` (SQLite) and `store/` (the local object store) inside
it. `init_site` makes one that trusts the vendor's public key; `open_site` opens it."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from distro.core.errors import DistroError, ValidationError
from distro.mirror.models import MirrorBase, MirrorState
from distro.signing.signer import key_id, load_public_pem
from distro.storage.base import UPLOAD_PREFIX
from distro.storage.local import LocalFileStorage

DATABASE = "mirror.db"
LOCK = "import.lock"


class NotAMirror(DistroError):
    code = "not_a_mirror"
    status = 400


@dataclass
class Site:
    folder: Path
    engine: Engine
    storage: LocalFileStorage

    def session(self) -> Session:
        return sessionmaker(self.engine, expire_on_commit=False)()

    @contextmanager
    def import_lock(self) -> Iterator[None]:
        """Hold the mirror's import lock, or refuse at once if another import holds it."""
        with (self.folder / LOCK).open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValidationError(f"another import into {self.folder} is running") from None
            yield

    def remove_temporaries(self) -> int:
        """Remove what a killed import left half-written in the store; only an import
        writes there, and the caller holds the import lock."""
        left = [o.key for o in self.storage.list_objects() if o.key.startswith(UPLOAD_PREFIX)]
        for key in left:
            self.storage.delete(key)
        return len(left)


def _site(folder: Path) -> Site:
    engine = create_engine(f"sqlite:///{folder / DATABASE}")
    return Site(folder, engine, LocalFileStorage(folder / "store"))


def init_site(folder: Path, vendor_pem: bytes) -> str:
    """Make `folder` a mirror trusting `vendor_pem`; returns the key's id. Refuses a
    folder that is a mirror already (its trust is changed only by bundles)."""
    key = load_public_pem(vendor_pem)
    if (folder / DATABASE).exists():
        raise ValidationError(f"{folder} is a mirror already")
    folder.mkdir(parents=True, exist_ok=True)
    site = _site(folder)
    MirrorBase.metadata.create_all(site.engine)
    kid = key_id(key)
    with site.session() as session:
        session.add(MirrorState(id=1, trusted_keys={kid: vendor_pem.decode()}))
        session.commit()
    site.engine.dispose()
    return kid


def open_site(folder: Path) -> Site:
    if not (folder / DATABASE).is_file():
        raise NotAMirror(f"{folder} is not a mirror: run 'distro mirror init --dir {folder}'")
    return _site(folder)
