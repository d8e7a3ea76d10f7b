"""The local-folder object store (the embedded default): files under one folder, written
to a temporary name, fsynced, then renamed to their content-derived key."""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from distro.core.errors import DistroError, StorageUnavailable
from distro.storage.base import (
    CHUNK,
    UPLOAD_PREFIX,
    HashingWriter,
    InsufficientStorage,
    StoredObject,
)


class LocalWriter(HashingWriter):
    def __init__(self, root: Path, max_bytes: int, proven_sha256: str | None = None):
        super().__init__(max_bytes, proven_sha256)
        self.temp_key = f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
        self._path = root / self.temp_key
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._path.open("wb")

    def write(self, data: bytes) -> int:
        self._account(data)
        try:
            self._file.write(data)
        except OSError as exc:
            raise _local_error(exc) from None
        return len(data)

    def finish(self) -> str:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as exc:
            raise _local_error(exc) from None
        return self.temp_key

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


def _local_error(exc: OSError) -> DistroError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return InsufficientStorage("the object store is full; nothing was published")
    return StorageUnavailable(f"the object store failed: {exc.strerror}")


class LocalFileStorage:
    """Objects as files under one folder (the embedded default)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise FileNotFoundError(key)
        return path

    def open_writer(
        self, max_bytes: int, final_key: str | None = None, *, proven_sha256: str | None = None
    ) -> LocalWriter:
        # A rename is cheap here, so uploads always land in a temporary file first.
        try:
            return LocalWriter(self.root, max_bytes, proven_sha256)
        except OSError as exc:
            raise _local_error(exc) from None

    def promote(self, temp_key: str, final_key: str) -> None:
        if temp_key == final_key:
            return
        source, target = self._path(temp_key), self._path(final_key)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def iter_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        with self._path(key).open("rb") as handle:
            handle.seek(start)
            while length > 0:
                chunk = handle.read(min(CHUNK, length))
                if not chunk:
                    break
                length -= len(chunk)
                yield chunk

    def open_body(self, key: str, start: int, length: int) -> None:
        return None  # local files go out with sendfile (local_path)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None:
        return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
                yield StoredObject(path.relative_to(self.root).as_posix(), stat.st_size, modified)

    def abort_stale_multipart(self, older_than: timedelta, dry_run: bool) -> list[str]:
        return []

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise StorageUnavailable(f"the object store folder {self.root} is not writable")
        except OSError as exc:
            raise _local_error(exc) from None
