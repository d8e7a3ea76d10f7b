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
import hashlib
import io
import json
import os
import queue
import re
import threading
from collections.abc import Callable
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


class BackgroundHash:
    """SHA-256 computed in a thread of its own: hashlib lets go of the GIL over large
    buffers, so a part's hash runs beside the other work on the bytes (the mirror's
    store hashes each package too). At most `DEPTH` chunks wait, so memory stays
    bounded; `hexdigest` waits for the last of them."""

    DEPTH = 8

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._waiting: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._waiting.get()) is not None:
            self._hash.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._waiting.put(chunk)

    def hexdigest(self) -> str:
        self.close()
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._waiting.put(None)
            self._thread.join()


class PartReader(io.RawIOBase):
    """The parts read back in order as one stream. A part's size and SHA-256 are checked
    as its last byte is read, so a tampered or truncated part stops the read there."""

    def __init__(self, folder: Path, parts: list[dict]):
        super().__init__()
        self.folder, self.parts = folder, parts
        self._position = 0
        self._index = -1
        self._file = None
        self._hash = BackgroundHash()
        self._size = 0

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
        while self._position < target and self.read(min(MIB, target - self._position)):
            pass
        return self._position

    def readinto(self, buffer) -> int:
        while True:
            if self._file is None and not self._next():
                return 0
            want = min(len(buffer), self._expected() - self._size)
            got = self._file.readinto(memoryview(buffer)[:want]) if want else 0
            if got:
                self._hash.update(bytes(memoryview(buffer)[:got]))
                self._size += got
                self._position += got
                return got
            self._end_of_part()

    def drain(self) -> None:
        """Read to the end, so that every part has been checked."""
        while self.read(MIB):
            pass

    def _expected(self) -> int:
        return self.parts[self._index]["size"]

    def _next(self) -> bool:
        if self._index + 1 >= len(self.parts):
            return False
        self._index += 1
        name = self.parts[self._index]["name"]
        try:
            self._file = (self.folder / name).open("rb")
        except OSError:
            raise BundleInvalid(f"part {name} is missing") from None
        return True

    def _end_of_part(self) -> None:
        part, extra = self.parts[self._index], self._file.read(1)
        self._file.close()
        self._file = None
        if extra:
            raise BundleInvalid(f"part {part['name']} is longer than its {part['size']} bytes")
        if self._size != part["size"]:
            raise BundleInvalid(
                f"part {part['name']} is {self._size} bytes, the manifest says {part['size']}"
            )
        if self._hash.hexdigest() != part["sha256"]:
            raise BundleInvalid(f"part {part['name']} does not match its SHA-256")
        self._hash, self._size = BackgroundHash(), 0

    def close(self) -> None:
        self._hash.close()
        if self._file is not None:
            self._file.close()
        super().close()
