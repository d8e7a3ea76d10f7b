"""Apply a delta: rebuild the new package from the base and the delta, hashing it on
the way. It streams, holding a few segments (`format.SEGMENT`) in memory."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from distro.deltas.codecs import CHUNK, deflate, inflate, read_at, unframe
from distro.deltas.format import (
    AS_IS,
    FROM_BASE,
    SEGMENT,
    BaseRange,
    Copy,
    DeltaInvalid,
    End,
    read_ops,
)


def apply_delta(base: BinaryIO, delta: BinaryIO, out: BinaryIO) -> tuple[int, str]:
    """Write the new package to `out` from `base` (seekable) and `delta` (read forward);
    returns its size and SHA-256. DeltaInvalid where the delta is damaged or the base is
    not the one it was built from (the result's size and hash are checked at the end).

    Three things run side by side, since re-deflating changed zip entries is most of
    the work and zlib, hashlib and file I/O let go of the GIL: this thread reads the
    delta and unpacks its frames, a pool deflates entries, and a writer copies the
    base's bytes, hashes and writes, in order (bench/delta.py measured it). Copies wait
    as offsets, not bytes, so the frames ahead of them get unpacked and deflated early."""
    base = _Shared(base)
    with _Writer(out, base) as writer, ThreadPoolExecutor(_WORKERS) as pool:
        for op in read_ops(delta):
            if isinstance(op, End):
                size, digest = writer.finish()
                if size != op.size or digest != op.sha256:
                    raise DeltaInvalid("the rebuilt package is not the one the delta was made for")
                return size, digest.hex()
            for part, length in _produce(base, op, pool):
                writer.put(part, length)
    raise DeltaInvalid("the delta ends too early")  # read_ops stops only at an End


_WORKERS = os.cpu_count() or 1
_AHEAD = 2 * SEGMENT  # bytes the writer may have waiting: bounds memory
_A_COPY = 4096  # what a waiting copy counts as


class _Shared:
    """The base, read by this thread (frames' prefixes) and the writer (copies)."""

    def __init__(self, source: BinaryIO):
        self._source, self._lock = source, threading.Lock()

    def read(self, offset: int, length: int) -> bytes:
        with self._lock:
            return read_at(self._source, offset, length)


class _Writer:
    """Hashes and writes the new package's parts (bytes, or futures of bytes) in the
    order they were put, in a thread of its own, holding at most `_AHEAD` bytes."""

    def __init__(self, out: BinaryIO, base: _Shared):
        self.out, self.base, self.digest, self.size = out, base, hashlib.sha256(), 0
        self._parts: deque = deque()
        self._held, self._closed, self._abandoned, self._failed = 0, False, False, None
        self._ready = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="delta-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._ready:
            self._closed = True
            self._abandoned = exc_info[0] is not None  # what is waiting is not needed
            self._ready.notify_all()
        self._thread.join()

    def put(self, part: bytes | memoryview | Future | Copy, length: int) -> None:
        with self._ready:
            self._ready.wait_for(lambda: self._held < _AHEAD or self._failed is not None)
            self._raise_failure()
            self._parts.append((part, length))
            self._held += length
            self._ready.notify_all()

    def finish(self) -> tuple[int, bytes]:
        """The size and SHA-256 of all that was put, once it is written."""
        with self._ready:
            self._ready.wait_for(lambda: not self._parts or self._failed is not None)
            self._raise_failure()
        return self.size, self.digest.digest()

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise self._failed

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._parts or self._closed)
                if not self._parts or self._abandoned:
                    return
                part, length = self._parts[0]
            try:
                for data in self._bytes(part):
                    self.digest.update(data)
                    self.out.write(data)
                    self.size += len(data)
            except Exception as exc:  # noqa: BLE001 - handed to the thread that puts
                with self._ready:
                    self._failed = exc
                    self._ready.notify_all()
                return
            with self._ready:
                self._parts.popleft()
                self._held -= length
                self._ready.notify_all()

    def _bytes(self, part):
        if isinstance(part, Future):
            yield part.result()
        elif isinstance(part, Copy):
            for done in range(0, part.length, CHUNK):
                at, size = part.base_offset + done, min(CHUNK, part.length - done)
                chunk = self.base.read(at, size)
                if len(chunk) != size:
                    raise DeltaInvalid("the base package is shorter than the delta needs")
                yield chunk
        else:
            yield part


def _produce(base: _Shared, op, pool: ThreadPoolExecutor):
    """The parts of the new package that `op` makes, each with the bytes it holds: a
    copy of the base's bytes, bytes, or the future bytes of a deflated piece."""
    if isinstance(op, Copy):
        yield op, _A_COPY
        return
    prefix = b"".join(_base_range(base, range_) for range_ in op.ranges)
    total = sum(piece.in_frame for piece in op.pieces)
    if len(prefix) > SEGMENT or total > SEGMENT:
        raise DeltaInvalid("a frame of the delta is larger than any delta holds")
    content = unframe(op.frame, prefix, total) if total else b""
    del prefix
    if len(content) != total:
        raise DeltaInvalid("a frame of the delta holds fewer bytes than it says")
    view, at = memoryview(content), 0
    for piece in op.pieces:
        if piece.level == FROM_BASE:
            yield Copy(piece.base_offset, piece.length), _A_COPY
            continue
        data = view[at : at + piece.length]
        at += piece.length
        part = data if piece.level == AS_IS else pool.submit(deflate, data, piece.level)
        yield part, piece.length


def _base_range(base: _Shared, range_: BaseRange) -> bytes:
    data = base.read(range_.offset, range_.length)
    if len(data) != range_.length:
        raise DeltaInvalid("the base package is shorter than the delta needs")
    if not range_.inflate:
        return data
    content = inflate(data, SEGMENT)
    if content is None:
        raise DeltaInvalid("a zip entry of the base package cannot be inflated")
    return content
