"""Object storage behind one interface; `local` and `s3` implement it, `factory` picks one.

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

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from distro.core.errors import DistroError, TooLarge

if TYPE_CHECKING:
    from distro.storage.splice import OpenBody

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
    def open_writer(
        self, max_bytes: int, final_key: str | None = None, *, proven_sha256: str | None = None
    ) -> BlobWriter:
        """A writer to a temporary key, or (where the store can do it safely) straight to
        `final_key`, whose object then only appears if the bytes hash to that key.
        `proven_sha256`: the caller has proven the bytes' SHA-256 by other means (a site
        mirror's import, by the signed hashes of the parts they come in), so the writer
        takes it instead of hashing every byte a second time."""

    def promote(self, temp_key: str, final_key: str) -> None:
        """Move a finished temporary object to its final key (keeping an existing one)."""

    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def iter_range(self, key: str, start: int, length: int) -> Iterator[bytes]: ...
    def open_body(self, key: str, start: int, length: int) -> OpenBody | None:
        """The range as an open HTTP answer for the zero-copy relay (`splice`), or None
        where the store cannot give one; then `iter_range` serves it."""

    def local_path(self, key: str) -> Path | None: ...
    def presigned_url(self, key: str, filename: str, seconds: int) -> str | None: ...
    def delete(self, key: str) -> None: ...
    def list_objects(self) -> Iterator[StoredObject]: ...
    def abort_stale_multipart(self, older_than: timedelta, dry_run: bool) -> list[str]: ...
    def check(self) -> None: ...


class HashingWriter:
    """Shared bookkeeping of the writers: digest, size and the upload limit."""

    def __init__(self, max_bytes: int, proven_sha256: str | None = None):
        self._hash = None if proven_sha256 else hashlib.sha256()
        self._proven = proven_sha256
        self.size = 0
        self.max_bytes = max_bytes

    def _account(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge(f"the file is larger than the limit of {self.max_bytes} bytes")
        if self._hash is not None:
            self._hash.update(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        # The multipart parser rewinds its container when a part ends; there is nothing
        # to rewind in a write-only stream, so only position 0 of an empty one is allowed.
        return 0

    def hexdigest(self) -> str:
        return self._proven or self._hash.hexdigest()
