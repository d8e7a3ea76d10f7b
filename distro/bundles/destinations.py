"""Where a bundle's files are written: an operator's folder (`distro bundles export`,
each file fsynced, everything removed again if the export fails) or the object store
(the API's bundles, built by `distro worker`, each file under the key of its SHA-256 like
a package, so `distro storage sweep` finds what a failed build left)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from distro.storage.base import ObjectStorage, blob_key


@dataclass
class Written:
    name: str
    size: int
    sha256: str
    storage_key: str | None = None  # in the store; None in a folder


class _FolderPart:
    def __init__(self, path: Path):
        self.path = path
        self.file = path.open("xb")

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def finish(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def abort(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


@dataclass
class FolderDestination:
    folder: Path
    paths: list[Path] = field(default_factory=list)

    def open_part(self, name: str) -> _FolderPart:
        self.paths.append(self.folder / name)
        return _FolderPart(self.paths[-1])

    def put(self, name: str, data: bytes) -> Written:
        part = self.open_part(name)
        part.write(data)
        part.finish()
        return Written(name, len(data), hashlib.sha256(data).hexdigest())

    def discard(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)


class _StorePart:
    def __init__(self, storage: ObjectStorage, max_bytes: int):
        self.storage, self.writer, self.key = storage, storage.open_writer(max_bytes), None

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def finish(self) -> None:
        temp = self.writer.finish()
        self.key = blob_key(self.writer.hexdigest())
        self.storage.promote(temp, self.key)

    def abort(self) -> None:
        self.writer.abort()


@dataclass
class StoreDestination:
    """Finished files stay in the store if the build fails: their keys may be shared
    with a package's bytes (the same SHA-256), so only the sweep, which checks every
    reference, may remove them."""

    storage: ObjectStorage
    part_bytes: int
    parts: list[_StorePart] = field(default_factory=list)

    def open_part(self, name: str) -> _StorePart:
        self.parts.append(_StorePart(self.storage, self.part_bytes))
        return self.parts[-1]

    def put(self, name: str, data: bytes) -> Written:
        part = _StorePart(self.storage, len(data))
        part.write(data)
        part.finish()
        return Written(name, len(data), hashlib.sha256(data).hexdigest(), part.key)

    def key_of_part(self, number: int) -> str:
        return self.parts[number].key

    def discard(self) -> None:
        for part in self.parts:
            if part.key is None:
                part.abort()
