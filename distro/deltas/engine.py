"""Build a delta from a base package to a new one, and apply it. Both stream: they hold
a few segments (`format.SEGMENT`) in memory, never a whole package.

Building goes entry by entry where both packages are zips (`zips`): an entry unchanged
in name and bytes is a COPY; a deflated entry whose bytes zlib reproduces at some level
goes into the frame as its content, against the base entry's content; anything else as
its bytes, against the base entry's. A file that is not a zip goes in segments, each
against the base's bytes at the same relative place. bench/delta.py measured the
choices.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from distro.core.checksums import sha256_file
from distro.deltas import zips
from distro.deltas.format import (
    AS_IS,
    FROM_BASE,
    MAGIC,
    SEGMENT,
    BaseRange,
    Copy,
    DeltaInvalid,
    End,
    Frame,
    Piece,
    read_ops,
    write_op,
)
from distro.deltas.zstd import (
    CompressionParameter,
    ZstdCompressor,
    ZstdDecompressor,
    ZstdDict,
    ZstdError,
)

LEVEL = 19
FAST_LEVEL = 9
PROBE_LEVEL = 3
NOVEL = 0.25  # a quick frame this large a share of its content: mostly new bytes
# How much content a package's frames may put through the slow level: LEVEL runs at about
# 1.5 MB/s, FAST_LEVEL at 30, and creation is to take at most a minute per GiB of the new
# package (bench/delta.py). Small deltas, where the last percent matters, stay within it.
SLOW_SHARE, SLOW_FLOOR = 0.03, 16 * 1024 * 1024
CHUNK = 1024 * 1024
# The levels tried to reproduce a deflated entry, the most common (zlib's default) first.
DEFLATE_LEVELS = (6, 9, 1, 5, 7, 8, 4, 3, 2)
_MIN_PREFIX = 8  # zstd refuses a shorter prefix


@dataclass(frozen=True)
class Built:
    size: int  # of the delta
    new_size: int
    copied: int  # bytes of the new package taken from the base as they are
    recompressed: int  # bytes of zip entries rebuilt from their content


def build_delta(
    base: Path, new: Path, out: BinaryIO, level: int = LEVEL, segment: int = SEGMENT
) -> Built:
    """Write the delta that turns `base` into `new` to `out`: its frames at zstd `level`,
    each holding at most `segment` bytes (at most SEGMENT, the most an apply accepts)."""
    if not 0 < segment <= SEGMENT:
        raise ValueError(f"a segment is 1 to {SEGMENT} bytes")
    with base.open("rb") as base_file, new.open("rb") as new_file:
        builder = _Builder(base_file, new_file, out, level, segment)
        base_entries, new_entries = zips.entries(base), zips.entries(new)
        if base_entries is not None and new_entries is not None:
            builder.zips(base_entries, new_entries)
        else:
            builder.plain(0, builder.new_size, 0, builder.base_size)
        return builder.finish(bytes.fromhex(sha256_file(new)))


class _Builder:
    """Gathers pieces of the new package into one frame at a time (up to `segment`
    bytes of new content and of base prefix), with COPY operations between frames."""

    def __init__(self, base: BinaryIO, new: BinaryIO, out: BinaryIO, level: int, segment: int):
        self.base, self.new, self.out, self.level = base, new, out, level
        self.segment = segment
        self.base_size, self.new_size = _size(base), _size(new)
        self.written = out.write(MAGIC)
        self.copied = self.recompressed = 0
        self._copy: Copy | None = None  # consecutive copies are joined into one
        self._ranges: list[BaseRange] = []
        self._prefix: list[bytes] = []
        self._pieces: list[Piece] = []
        self._content: list[bytes] = []
        self._held = (0, 0)  # bytes of prefix and of content gathered
        self._slow_left = int(self.new_size * SLOW_SHARE) + SLOW_FLOOR

    def zips(self, base_entries: list[zips.Entry], new_entries: list[zips.Entry]) -> None:
        by_name = {entry.name: entry for entry in base_entries}
        position, base_at = 0, 0
        base_next = {a.header_offset: b.header_offset for a, b in pairwise(base_entries)}
        base_gap = base_entries[0].header_offset if base_entries else 0
        for entry in new_entries:
            if entry.header_offset > position:  # a stub before the zip, data descriptors
                self.plain(position, entry.header_offset - position, base_at, base_gap)
            old = by_name.get(entry.name)
            self._entry(entry, old)
            position = entry.data_end
            if old is not None:  # the base's bytes after its entry, for the next gap
                base_at = old.data_end
                base_gap = base_next.get(old.header_offset, old.data_end) - old.data_end
        tail = max((entry.data_end for entry in base_entries), default=0)
        self.plain(position, self.new_size - position, tail, self.base_size - tail)

    def _entry(self, entry: zips.Entry, old: zips.Entry | None) -> None:
        """Header and data are compared apart, each once: a new build date changes
        every header and leaves most data as it was."""
        start = entry.header_offset
        data_same = old is not None and self._same(
            old.data_offset, entry.data_offset, entry.compress_size, old.compress_size
        )
        header_length = entry.data_offset - start
        old_header = old.data_offset - old.header_offset if old is not None else 0
        if data_same and self._same(old.header_offset, start, header_length, old_header):
            self._copy_from(old.header_offset, entry.data_end - start)
            return
        base = []
        if old is not None:
            at = old.header_offset
            base = [(BaseRange(at, old_header, False), self._base(at, old_header))]
        self._piece(_read(self.new, start, header_length), AS_IS, base)
        if data_same:
            self._pieces.append(Piece(entry.compress_size, FROM_BASE, old.data_offset))
            self.copied += entry.compress_size
            return
        if self._deflated(entry, old):
            return
        if old is None:
            self.plain(entry.data_offset, entry.compress_size, 0, 0)
        else:
            self.plain(entry.data_offset, entry.compress_size, old.data_offset, old.compress_size)

    def _deflated(self, entry: zips.Entry, old: zips.Entry | None) -> bool:
        """The entry as its content where zlib reproduces its bytes from that content:
        against the base entry's content, or (a new entry) against what the frame holds
        already, the content of the entries around it."""
        deflated = entry.method == zipfile.ZIP_DEFLATED
        sizes = (entry.file_size, entry.compress_size, *(old and (old.file_size,) or ()))
        if not deflated or max(sizes) > self.segment:
            return False
        base: list[tuple[BaseRange, bytes]] = []
        if old is not None and old.method == zipfile.ZIP_DEFLATED:
            old_content = _inflate(self._base(old.data_offset, old.compress_size), old.file_size)
            if old_content is None:
                return False
            base = [(BaseRange(old.data_offset, old.compress_size, True), old_content)]
        elif old is not None:
            return False
        compressed = _read(self.new, entry.data_offset, entry.compress_size)
        content = _inflate(compressed, entry.file_size)
        level = reproducing_level(content, compressed) if content is not None else None
        if level is None:
            return False
        self._piece(content, level, base)
        self.recompressed += entry.compress_size
        return True

    def plain(self, start: int, length: int, base_start: int, base_length: int) -> None:
        """Bytes of the new package in segments, each against the base's bytes at the
        same relative place within [base_start, base_start + base_length)."""
        for offset in range(0, length, self.segment):
            piece = min(self.segment, length - offset)
            at = base_start + offset * base_length // length
            within = max(0, min(self.segment, base_start + base_length - at))
            if within >= piece and self._same(at, start + offset, piece, piece):
                self._copy_from(at, piece)
                continue
            base = [(BaseRange(at, within, False), self._base(at, within))] if within else []
            self._piece(_read(self.new, start + offset, piece), AS_IS, base)

    def _piece(self, data: bytes, level: int, base: list[tuple[BaseRange, bytes]]) -> None:
        prefix = sum(len(bytes_) for _range, bytes_ in base)
        if max(self._held[0] + prefix, self._held[1] + len(data)) > self.segment:
            self._flush_frame()
        self._flush_copy()
        for range_, bytes_ in base:
            self._ranges.append(range_)
            self._prefix.append(bytes_)
        self._pieces.append(Piece(len(data), level))
        self._content.append(data)
        self._held = (self._held[0] + prefix, self._held[1] + len(data))

    def _copy_from(self, base_offset: int, length: int) -> None:
        self._flush_frame()
        self.copied += length
        pending = self._copy
        if pending and pending.base_offset + pending.length == base_offset:
            self._copy = Copy(pending.base_offset, pending.length + length)
            return
        self._flush_copy()
        self._copy = Copy(base_offset, length)

    def _flush_copy(self) -> None:
        if self._copy is not None:
            self.written += write_op(self.out, self._copy)
            self._copy = None

    def _flush_frame(self) -> None:
        if self._pieces:
            content = b"".join(self._content)
            frame = _frame(content, b"".join(self._prefix), self._level(len(content)))
            self.written += write_op(
                self.out, Frame(tuple(self._ranges), tuple(self._pieces), frame)
            )
        self._ranges, self._prefix, self._pieces, self._content = [], [], [], []
        self._held = (0, 0)  # bytes of prefix and of content gathered

    def _level(self, content: int) -> int:
        """The slow level while the package's budget for it lasts, then the fast one."""
        if content > self._slow_left or self.level <= FAST_LEVEL:
            return min(self.level, FAST_LEVEL)
        self._slow_left -= content
        return self.level

    def _same(self, base_at: int, new_at: int, length: int, base_length: int) -> bool:
        if length != base_length or base_at + length > self.base_size:
            return False
        self.base.seek(base_at)
        self.new.seek(new_at)
        for done in range(0, length, CHUNK):
            size = min(CHUNK, length - done)
            if self.base.read(size) != self.new.read(size):
                return False
        return True

    def _base(self, offset: int, length: int) -> bytes:
        return _read(self.base, offset, length)

    def finish(self, sha256: bytes) -> Built:
        self._flush_frame()
        self._flush_copy()
        self.written += write_op(self.out, End(self.new_size, sha256))
        return Built(self.written, self.new_size, self.copied, self.recompressed)


def apply_delta(base: BinaryIO, delta: BinaryIO, out: BinaryIO) -> tuple[int, str]:
    """Write the new package to `out` from `base` (seekable) and `delta` (read forward);
    returns its size and SHA-256. DeltaInvalid where the delta is damaged or the base is
    not the one it was built from (the result's size and hash are checked at the end).

    Three things run side by side, since re-deflating changed zip entries is most of
    the work and zlib, hashlib and file writes let go of the GIL: this thread reads the
    delta and the base and unpacks frames, a pool deflates entries, and a writer hashes
    and writes the bytes in order (bench/delta.py measured it)."""
    with _Writer(out) as writer, ThreadPoolExecutor(_WORKERS) as pool:
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


class _Writer:
    """Hashes and writes the new package's parts (bytes, or futures of bytes) in the
    order they were put, in a thread of its own, holding at most `_AHEAD` bytes."""

    def __init__(self, out: BinaryIO):
        self.out, self.digest, self.size = out, hashlib.sha256(), 0
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

    def put(self, part: bytes | memoryview | Future, length: int) -> None:
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
                data = part.result() if isinstance(part, Future) else part
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


def _produce(base: BinaryIO, op, pool: ThreadPoolExecutor):
    """The parts of the new package that `op` makes: bytes, or futures of the bytes of
    a deflated piece."""
    if isinstance(op, Copy):
        for done in range(0, op.length, CHUNK):
            chunk = _read(base, op.base_offset + done, min(CHUNK, op.length - done))
            if not chunk:
                raise DeltaInvalid("the base package is shorter than the delta needs")
            yield chunk, len(chunk)
        return
    prefix = b"".join(_base_range(base, range_) for range_ in op.ranges)
    total = sum(piece.in_frame for piece in op.pieces)
    if len(prefix) > SEGMENT or total > SEGMENT:
        raise DeltaInvalid("a frame of the delta is larger than any delta holds")
    content = _unframe(op.frame, prefix, total) if total else b""
    del prefix
    if len(content) != total:
        raise DeltaInvalid("a frame of the delta holds fewer bytes than it says")
    view, at = memoryview(content), 0
    for piece in op.pieces:
        if piece.level == FROM_BASE:
            yield from _produce(base, Copy(piece.base_offset, piece.length), pool)
            continue
        data = view[at : at + piece.length]
        at += piece.length
        part = data if piece.level == AS_IS else pool.submit(_deflate, data, piece.level)
        yield part, piece.length


def _base_range(base: BinaryIO, range_: BaseRange) -> bytes:
    data = _read(base, range_.offset, range_.length)
    if len(data) != range_.length:
        raise DeltaInvalid("the base package is shorter than the delta needs")
    if not range_.inflate:
        return data
    content = _inflate(data, SEGMENT)
    if content is None:
        raise DeltaInvalid("a zip entry of the base package cannot be inflated")
    return content


def reproducing_level(content: bytes, compressed: bytes) -> int | None:
    """The zlib level whose raw deflate of `content` is exactly `compressed`, if any;
    each try stops at its first differing byte."""
    for level in DEFLATE_LEVELS:
        compressor, at = zlib.compressobj(level, zlib.DEFLATED, -15), 0
        for done in range(0, len(content), CHUNK):
            piece = compressor.compress(content[done : done + CHUNK])
            if compressed[at : at + len(piece)] != piece:
                break
            at += len(piece)
        else:
            if compressed[at:] == compressor.flush():
                return level
    return None


def _frame(content: bytes, prefix: bytes, level: int) -> bytes:
    """The content as a zstd frame against `prefix`. Before a slow level, a quick pass:
    where it leaves a large share of the content, that share is new bytes the prefix
    does not hold (a rebuilt binary), which the slow levels spend minutes on for a few
    percent (bench/delta.py); they run only on content the quick pass found mostly
    matched."""
    if not content:
        return b""
    if level <= FAST_LEVEL:
        return _compress(content, prefix, level)
    quick = _compress(content, prefix, PROBE_LEVEL)
    if len(quick) >= len(content) * NOVEL:
        return quick
    return _compress(content, prefix, level)


def _compress(content: bytes, prefix: bytes, level: int) -> bytes:
    options = {
        CompressionParameter.compression_level: level,
        CompressionParameter.enable_long_distance_matching: 1,
        CompressionParameter.window_log: max(10, (len(prefix) + len(content)).bit_length()),
    }
    compressor = ZstdCompressor(options=options, zstd_dict=_prefix(prefix))
    return compressor.compress(content, ZstdCompressor.FLUSH_FRAME)


def _unframe(frame: bytes, prefix: bytes, limit: int) -> bytes:
    decompressor = ZstdDecompressor(zstd_dict=_prefix(prefix))
    try:
        content = decompressor.decompress(frame, max_length=limit)
    except ZstdError as exc:
        raise DeltaInvalid(f"a frame of the delta cannot be decompressed ({exc})") from None
    if not decompressor.eof:
        raise DeltaInvalid("a frame of the delta is cut short or larger than it may be")
    return content


def _prefix(prefix: bytes):
    return ZstdDict(prefix, is_raw=True).as_prefix if len(prefix) >= _MIN_PREFIX else None


def _deflate(content: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


def _inflate(compressed: bytes, limit: int) -> bytes | None:
    decompressor = zlib.decompressobj(-15)
    try:
        content = decompressor.decompress(compressed, limit + 1)
    except zlib.error:
        return None
    return content if decompressor.eof and len(content) <= limit else None


def _read(source: BinaryIO, offset: int, length: int) -> bytes:
    source.seek(offset)
    return source.read(length)


def _size(source: BinaryIO) -> int:
    return source.seek(0, 2)
