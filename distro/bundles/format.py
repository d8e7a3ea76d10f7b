"""A bundle's files on disk (contract §9): their names, the parts one tar stream is cut
into, and the signed manifest. The export writes them and a site mirror's import reads
them back, both through this module, so the two never disagree about the format.

The parts are one tar stream cut at `part_bytes` (4 GiB by default, so FAT32 sticks and
DVDs take them): a part is not a tar of its own, and an import reads them in order as
one stream, never reassembling them on disk. Each part's size and SHA-256 are in the
manifest, which the vendor's key signs: that signature covers every byte of the bundle.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import mmap
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from distro.core.errors import DistroError
from distro.signing.signer import Signer, canonical_json

PART_MIB = 4096
MIB = 1024 * 1024
MAX_MANIFEST = 256 * MIB  # a manifest lists packages; 256 MiB is millions of them
_MANIFEST = re.compile(r"([a-z][a-z0-9-]{1,31})-([1-9][0-9]{0,8})\.bundle\.json", re.ASCII)


class BundleInvalid(DistroError):
    """The bundle is not one the vendor signed, or not whole: nothing was taken in."""

    code = "bundle_invalid"
    status = 422


def manifest_name(org: str, seq: int) -> str:
    return f"{org}-{seq}.bundle.json"


def signature_name(org: str, seq: int) -> str:
    return f"{org}-{seq}.bundle.sig"


def part_name(org: str, seq: int, number: int) -> str:
    return f"{org}-{seq}.part{number:03d}"


def sign_manifest(manifest: dict, signer: Signer) -> tuple[bytes, bytes]:
    """The manifest's canonical bytes and the base64 signature over them."""
    body = canonical_json(manifest)
    return body, base64.b64encode(signer.sign(body))


def key_statement(kid: str, public_key_pem: str) -> bytes:
    """The bytes an older vendor key signs to vouch for a newer one (`signer` in a
    manifest; `distro.mirror.trust` checks them)."""
    return canonical_json({"type": "key", "kid": kid, "public_key_pem": public_key_pem})


def write_file(path: Path, data: bytes) -> None:
    """Write and fsync: a bundle on a stick is read where nothing can be asked again."""
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def find_manifest(folder: Path) -> tuple[Path, Path]:
    """The one manifest in `folder` and its signature file, or BundleInvalid."""
    if not folder.is_dir():
        raise BundleInvalid(f"{folder} is not a folder")
    found = [p for p in sorted(folder.iterdir()) if _MANIFEST.fullmatch(p.name)]
    if len(found) != 1:
        raise BundleInvalid(
            f"{folder} must hold exactly one ORG-SEQ.bundle.json, it holds {len(found)}"
        )
    manifest = found[0]
    signature = manifest.with_name(manifest.name.removesuffix(".json") + ".sig")
    if not signature.is_file():
        raise BundleInvalid(f"the signature file {signature.name} is missing")
    return manifest, signature


def read_bytes(path: Path, limit: int) -> bytes:
    if path.stat().st_size > limit:
        raise BundleInvalid(f"{path.name} is larger than {limit // MIB} MiB")
    return path.read_bytes()


def parse_manifest(body: bytes) -> dict:
    """The manifest's fields; its signature must have been verified over `body` first."""
    try:
        manifest = json.loads(body)
    except ValueError:
        raise BundleInvalid("the manifest is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("type") != "bundle":
        raise BundleInvalid('the manifest is not of type "bundle"')
    return manifest


class PartOut(Protocol):
    """Where one part's bytes go (`distro.bundles.destinations`)."""

    def write(self, data: bytes) -> object: ...
    def finish(self) -> None:
        """Make the part durable."""

    def abort(self) -> None:
        """Remove what was written of it (best effort)."""


class PartWriter(io.RawIOBase):
    """A write-only stream cut into parts of at most `part_bytes`, each hashed as it is
    written and opened by `open_part(name)`; `parts` lists them (name, size, sha256)
    once closed."""

    def __init__(self, org: str, seq: int, part_bytes: int, open_part: Callable[[str], PartOut]):
        super().__init__()
        self.org, self.seq, self.part_bytes, self.open_part = org, seq, part_bytes, open_part
        self.parts: list[dict] = []
        self.keys: list[str | None] = []  # each finished part's store key, if it has one
        self._out: PartOut | None = None
        self._hash = hashlib.sha256()
        self._size = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return sum(part["size"] for part in self.parts) + self._size

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        while view:
            if self._out is None:
                self._open()
            piece = view[: self.part_bytes - self._size]
            self._out.write(piece)
            self._hash.update(piece)
            self._size += len(piece)
            view = view[len(piece) :]
            if self._size == self.part_bytes:
                self._finish()
        return len(data)

    def close(self) -> None:
        if not self.closed and (self._out is not None or not self.parts):
            self._finish()  # the last part (an empty stream still has one)
        super().close()

    def abort(self) -> None:
        """Stop: the part being written is removed (finished ones are the caller's)."""
        if self._out is not None:
            self._out.abort()
            self._out = None
        super().close()

    def _open(self) -> None:
        self._out = self.open_part(part_name(self.org, self.seq, len(self.parts) + 1))

    def _finish(self) -> None:
        if self._out is None:
            self._open()
        self._out.finish()
        self.keys.append(getattr(self._out, "key", None))
        name = part_name(self.org, self.seq, len(self.parts) + 1)
        self.parts.append({"name": name, "size": self._size, "sha256": self._hash.hexdigest()})
        self._out, self._hash, self._size = None, hashlib.sha256(), 0


@dataclass(frozen=True)
class Expected:
    """A file to read whole, and what it must be: `what` names it in an error."""

    path: Path
    size: int
    sha256: str
    what: str


class ReadAhead(io.RawIOBase):
    """Files read back to back as one stream, each checked against its size and SHA-256
    as its last byte is read: a wrong one stops the stream there with `error`.

    A thread of its own reads and hashes up to `DEPTH` buffers ahead of the reader (file
    reads and hashlib let go of the GIL), so the disk, the hash and the reader's own
    writing run side by side; `take` hands the buffers out without a copy, and they are
    used again, small enough to stay in the CPU's cache (bench/bundles.py measured each
    of these). The stream goes on past a file's end only once that file checked, so a
    reader that stops at the end of the last one calls `drain` for the verdict."""

    BUFFER = 256 * 1024
    DEPTH = 16

    def __init__(
        self,
        files: Iterable[Expected],
        error: type[DistroError] = DistroError,
        says: str = "the manifest",
    ):
        super().__init__()
        self.files, self.error, self.says = files, error, says
        self._position = 0
        self._current = memoryview(b"")
        self._held: mmap.mmap | None = None  # the buffer `_current` is a view of
        self._ended: BaseException | bool = False
        self._chunks: queue.Queue = queue.Queue()
        self._free: queue.Queue = queue.Queue()
        for _ in range(self.DEPTH):
            self._free.put(mmap.mmap(-1, self.BUFFER))  # page-aligned, as direct reads need
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_files, daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # forward only (`seek`)

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        """Forward only, by reading (so every byte is still hashed): enough for a
        TarFile, which only ever seeks to where it is or past a member's padding."""
        target = offset if whence == 0 else self._position + offset
        if whence not in (0, 1) or target < self._position:
            raise io.UnsupportedOperation("a bundle's parts are read forward only")
        for _view in self.take(target - self._position):
            pass
        return self._position

    def readinto(self, buffer) -> int:
        """Fills `buffer` whole unless the stream ends (tarfile counts on full reads)."""
        target, filled = memoryview(buffer).cast("B"), 0
        for view in self.take(len(target)):
            target[filled : filled + len(view)] = view
            filled += len(view)
        return filled

    def take(self, size: int) -> Iterator[memoryview]:
        """The next `size` bytes (fewer where the stream ends) as views of the read-ahead
        buffers, each valid until the next is asked for."""
        while size and (self._current or self._next_chunk()):
            view = self._current[:size]
            self._current = self._current[len(view) :]
            self._position += len(view)
            size -= len(view)
            yield view

    def drain(self) -> None:
        """Read to the end, so that every file has been checked."""
        while self._current or self._next_chunk():
            self._position += len(self._current)
            self._current = memoryview(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        super().close()

    def _next_chunk(self) -> bool:
        if self._held is not None:
            self._free.put(self._held)
            self._held = None
        if self._ended is False:
            item = self._chunks.get()
            if isinstance(item, memoryview):
                self._current, self._held = item, item.obj
                return True
            self._ended = item if isinstance(item, BaseException) else True
        if isinstance(self._ended, BaseException):
            raise self._ended
        return False

    def _read_files(self) -> None:
        """The reading thread: every file in order, then None (or the exception that
        stopped it, which the reading side raises)."""
        try:
            for file in self.files:
                self._read_file(file)
            self._chunks.put(None)
        except BaseException as exc:  # handed over to the reading side
            self._chunks.put(exc)

    def _read_file(self, expect: Expected) -> None:
        what, expected = expect.what, expect.size
        try:
            file = open_direct(expect.path)
        except OSError:
            raise self.error(f"{what} is missing") from None
        digest, size, longer = hashlib.sha256(), 0, False
        with file:
            # Whole buffers only (direct reads must be aligned): the last is short.
            while (buffer := self._free_buffer()) is not None:
                got = file.readinto(buffer)
                longer = size + got > expected
                if not got or longer:
                    self._free.put(buffer)
                    break
                view = memoryview(buffer)[:got]
                digest.update(view)
                size += got
                self._chunks.put(view)
        if self._stop.is_set():
            return  # closed early: nobody waits for the verdict
        if longer:
            raise self.error(f"{what} is longer than its {expected} bytes")
        if size != expected:
            raise self.error(f"{what} is {size} bytes, {self.says} says {expected}")
        if digest.hexdigest() != expect.sha256:
            raise self.error(f"{what} does not match its SHA-256")

    def _free_buffer(self) -> mmap.mmap | None:
        """A buffer the reader is done with; None once the stream is closed. At most
        `DEPTH` exist, which bounds how far the thread reads ahead."""
        while not self._stop.is_set():
            with suppress(queue.Empty):
                return self._free.get(timeout=0.1)
        return None


def open_direct(path: Path) -> io.FileIO:
    """`path` opened for reading past the page cache (O_DIRECT), where its filesystem
    allows it: the disk then writes straight into the reader's buffers, which spares the
    kernel a copy of every byte (bench/bundles.py: half the 8 CPU seconds an import of 2
    GiB spent were the kernel's copies). Else opened as usual."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return io.FileIO(fd, "rb", closefd=True)


class PartReader(ReadAhead):
    """A bundle's parts, in the manifest's order, as the one tar stream they were cut
    from; a part that is not what the signed manifest says is BundleInvalid."""

    def __init__(self, folder: Path, parts: list[dict]):
        files = [
            Expected(folder / p["name"], p["size"], p["sha256"], f"part {p['name']}") for p in parts
        ]
        super().__init__(files, BundleInvalid)
