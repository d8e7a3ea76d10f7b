"""Object storage behind one interface, with a local-folder and an S3 implementation.

Contract of every implementation:
- Objects are written through `open_writer()` to a temporary key while their SHA-256
  and size are computed, then `promote()`d to a key derived from that hash. Nothing is
  ever held whole in memory.
- A missing object raises `FileNotFoundError`; an unreachable store raises
  `StorageUnavailable`. Provider exceptions never cross this boundary.
- `list_objects()` lists everything, temporaries included, so that a sweep can find
  what an interrupted publish left behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from .errors import DistroError, StorageUnavailable, TooLarge

CHUNK = 1024 * 1024
UPLOAD_PREFIX = "uploads/"
BLOB_PREFIX = "blobs/sha256/"


def blob_key(sha256: str) -> str:
    """Content-derived key: no user-supplied name ever reaches the store."""
    return f"{BLOB_PREFIX}{sha256[:2]}/{sha256}"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime  # naive UTC


class InsufficientStorage(DistroError):
    code = "insufficient_storage"
    status = 507


class BlobWriter(Protocol):
    """A write-only stream that hashes what passes through it."""

    temp_key: str
    size: int

    def write(self, data: bytes) -> int: ...
    def seek(self, offset: int, whence: int = 0) -> int: ...
    def hexdigest(self) -> str: ...
    def finish(self) -> str:
        """Make the temporary object durable; returns its key."""

    def abort(self) -> None:
        """Remove whatever was written so far (best effort)."""


class ObjectStorage(Protocol):
    def open_writer(self, max_bytes: int, final_key: str | None = None) -> BlobWriter:
        """A writer to a temporary key, or (where the store can do it safely) straight to
        `final_key`, whose object then only appears if the bytes hash to that key."""

    def promote(self, temp_key: str, final_key: str) -> None:
        """Move a finished temporary object to its final key (keeping an existing one)."""

    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def iter_range(self, key: str, start: int, length: int) -> Iterator[bytes]: ...
    def local_path(self, key: str) -> Path | None: ...
    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def list_objects(self) -> Iterator[StoredObject]: ...
    def abort_stale_multipart(self, older_than: timedelta, dry_run: bool) -> list[str]: ...
    def check(self) -> None: ...


class _Hashing:
    """Shared bookkeeping of the writers: digest, size and the upload limit."""

    def __init__(self, max_bytes: int):
        self._hash = hashlib.sha256()
        self.size = 0
        self.max_bytes = max_bytes

    def _account(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge(f"the file is larger than the limit of {self.max_bytes} bytes")
        self._hash.update(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        # The multipart parser rewinds its container when a part ends; there is nothing
        # to rewind in a write-only stream, so only position 0 of an empty one is allowed.
        return 0

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class LocalWriter(_Hashing):
    def __init__(self, root: Path, max_bytes: int):
        super().__init__(max_bytes)
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

    def open_writer(self, max_bytes: int, final_key: str | None = None) -> LocalWriter:
        # A rename is cheap here, so uploads always land in a temporary file first.
        try:
            return LocalWriter(self.root, max_bytes)
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


def storage_from_config(config: dict) -> ObjectStorage:
    """Build the store named by `DISTRO_STORAGE_URL` (`file:///PATH` or `s3://BUCKET/PREFIX`)."""
    url = urlparse(config["STORAGE_URL"])
    if url.scheme == "file":
        return LocalFileStorage(Path(unquote(url.path)))
    if url.scheme == "s3":
        from .s3storage import S3FileStorage

        return S3FileStorage(
            bucket=url.netloc,
            prefix=url.path.strip("/"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
        )
    raise ValueError(f"DISTRO_STORAGE_URL must start with file:// or s3://, not {url.scheme!r}")
