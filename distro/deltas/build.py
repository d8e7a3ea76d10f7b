"""Build a delta from a base package to a new one. It streams: it holds a few segments
(`format.SEGMENT`) in memory, never a whole package.

It goes entry by entry where both packages are zips (`zips`): an entry unchanged in name
and bytes is a COPY; a deflated entry whose bytes zlib reproduces at some level goes
into the frame as its content, against the base entry's content; anything else as its
bytes, against the base entry's. A file that is not a zip goes in segments, each against
the base's bytes at the same relative place. bench/delta.py measured the choices.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from distro.core.checksums import sha256_file
from distro.deltas import zips
from distro.deltas.codecs import CHUNK, compress, inflate, read_at
from distro.deltas.format import (
    AS_IS,
    FROM_BASE,
    MAGIC,
    SEGMENT,
    BaseRange,
    Copy,
    End,
    Frame,
    Piece,
    write_op,
)

LEVEL = 19
# How much content the slow LEVEL may take, as a share of the new package plus a floor:
# it matches at about 1.5 MB/s, FAST_LEVEL at 85 (middle levels are nearly as slow with a
# 32 MiB prefix and no smaller), and creation is to take at most a minute per GiB of the
# new package (bench/delta.py). A small delta, where the last percent matters, fits in
# the floor.
SLOW_SHARE, SLOW_FLOOR = 0.01, 16 * 1024 * 1024
FAST_LEVEL = 9
PROBE_LEVEL = 3
NOVEL = 0.25  # a quick frame this large a share of its content: mostly new bytes
# The levels tried to reproduce a deflated entry, the most common (zlib's default) first.
DEFLATE_LEVELS = (6, 9, 1, 5, 7, 8, 4, 3, 2)


@dataclass(frozen=True)
class Built:
    size: int  # of the delta
    new_size: int
    copied: int  # bytes of the new package taken from the base as they are
    recompressed: int  # bytes of zip entries rebuilt from their content


def build_delta(
    base: Path,
    new: Path,
    out: BinaryIO,
    level: int = LEVEL,
    segment: int = SEGMENT,
    limit: int | None = None,
) -> Built | None:
    """Write the delta that turns `base` into `new` to `out`: its frames at zstd levels
    up to `level`, each holding at most `segment` bytes (at most SEGMENT, the most an
    apply accepts). None, as soon as it is known, where the delta would be larger than
    `limit` bytes: a delta not worth keeping is not worth finishing either."""
    if not 0 < segment <= SEGMENT:
        raise ValueError(f"a segment is 1 to {SEGMENT} bytes")
    with base.open("rb") as base_file, new.open("rb") as new_file:
        builder = _Builder(base_file, new_file, out, level, segment, limit)
        base_entries, new_entries = zips.entries(base), zips.entries(new)
        try:
            if base_entries is not None and new_entries is not None:
                builder.zips(base_entries, new_entries)
            else:
                builder.plain(0, builder.new_size, 0, builder.base_size)
            return builder.finish(bytes.fromhex(sha256_file(new)))
        except _TooLarge:
            return None


class _TooLarge(Exception):
    """The delta grew past its limit."""


class _Builder:
    """Gathers pieces of the new package into one frame at a time (up to `segment`
    bytes of new content and of base prefix), with COPY operations between frames."""

    def __init__(self, base: BinaryIO, new: BinaryIO, out: BinaryIO, level, segment, limit):
        self.base, self.new, self.out, self.level = base, new, out, level
        self.limit = limit
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
        self._piece(read_at(self.new, start, header_length), AS_IS, base)
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
            old_content = inflate(self._base(old.data_offset, old.compress_size), old.file_size)
            if old_content is None:
                return False
            base = [(BaseRange(old.data_offset, old.compress_size, True), old_content)]
        elif old is not None:
            return False
        compressed = read_at(self.new, entry.data_offset, entry.compress_size)
        content = inflate(compressed, entry.file_size)
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
            self._piece(read_at(self.new, start + offset, piece), AS_IS, base)

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
            self._write(self._copy)
            self._copy = None

    def _flush_frame(self) -> None:
        if self._pieces:
            content = b"".join(self._content)
            frame = self._frame(content, b"".join(self._prefix))
            self._write(Frame(tuple(self._ranges), tuple(self._pieces), frame))
        self._ranges, self._prefix, self._pieces, self._content = [], [], [], []
        self._held = (0, 0)  # bytes of prefix and of content gathered

    def _write(self, op) -> None:
        self.written += write_op(self.out, op)
        if self.limit is not None and self.written > self.limit:
            raise _TooLarge

    def _frame(self, content: bytes, prefix: bytes) -> bytes:
        """The content as a zstd frame against `prefix`. A quick pass first: where it
        leaves a large share of the content, that share is new bytes the prefix does not
        hold (a rebuilt binary), which slow levels spend minutes on for a few percent
        (bench/delta.py); they run only on content the quick pass found mostly matched,
        the slowest while the package's budget for it lasts."""
        if not content:
            return b""
        quick = compress(content, prefix, min(self.level, PROBE_LEVEL))
        if self.level <= PROBE_LEVEL or len(quick) >= len(content) * NOVEL:
            return quick
        if self.level > FAST_LEVEL and len(content) <= self._slow_left:
            self._slow_left -= len(content)
            return compress(content, prefix, self.level)
        return compress(content, prefix, min(self.level, FAST_LEVEL))

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
        return read_at(self.base, offset, length)

    def finish(self, sha256: bytes) -> Built:
        self._flush_frame()
        self._flush_copy()
        self._write(End(self.new_size, sha256))
        return Built(self.written, self.new_size, self.copied, self.recompressed)


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


def _size(source: BinaryIO) -> int:
    return source.seek(0, 2)
