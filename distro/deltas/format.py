"""The delta file: a magic, then operations that each produce the next bytes of the new
package, then an end that names the result's size and SHA-256.

- COPY: bytes of the base package as they are (unchanged zip entries, headers and all).
- FRAME: one zstd frame decompressed with a prefix made of ranges of the base (zstd's
  "patch-from"), each taken as it is or inflated first (a deflated zip entry). Its
  pieces make the new bytes: each written as the frame holds it, or deflated again at
  the level that reproduced the new entry's bytes when the delta was built, or taken
  from the base as it is (an unchanged entry behind a changed header). Deltas of the entries'
  content, not of their compressed bytes, are what make zip-heavy installers small
  (Google's archive-patcher does the same); one frame over many entries lets them match
  across entries too.

A frame's prefix and its content are each at most `SEGMENT` bytes, so building and
applying hold a few segments in memory whatever the package's size, and zstd's 2 GiB
prefix limit never applies. The file is read forward only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from distro.deltas import zstd

MAGIC = b"DSTD\x01"
SEGMENT = 32 * 1024 * 1024
AS_IS = 255  # a piece's "level" when it is written as the frame holds it
FROM_BASE = 254  # ... when it is the base's bytes at its `base_offset`, not in the frame
_COPY_OP, _FRAME_OP, _END_OP = 1, 2, 0

_COPY = struct.Struct("<QQ")  # base offset, length
_FRAME = struct.Struct("<II")  # table length, frame length
_COUNTS = struct.Struct("<II")  # base ranges, pieces; then the columns of `_table`
_ROW = 13  # bytes of a range (q, I, B) and of a piece (I, B, q) in those columns
_END = struct.Struct("<Q32s")  # size, SHA-256


class DeltaInvalid(Exception):
    """The delta cannot be applied: damaged, cut short, or not a delta at all."""


@dataclass(frozen=True)
class Copy:
    base_offset: int
    length: int


@dataclass(frozen=True)
class BaseRange:
    offset: int
    length: int
    inflate: bool


@dataclass(frozen=True)
class Piece:
    length: int
    level: int  # zlib level to deflate it with, or AS_IS, or FROM_BASE
    base_offset: int = 0  # of a FROM_BASE piece

    @property
    def in_frame(self) -> int:
        """How many of the frame's bytes it takes."""
        return 0 if self.level == FROM_BASE else self.length


@dataclass(frozen=True)
class Frame:
    ranges: tuple[BaseRange, ...]
    pieces: tuple[Piece, ...]
    frame: bytes


@dataclass(frozen=True)
class End:
    size: int
    sha256: bytes


Op = Copy | Frame | End


def write_op(out: BinaryIO, op: Op) -> int:
    """Append one operation; returns the bytes written."""
    if isinstance(op, Copy):
        data = bytes([_COPY_OP]) + _COPY.pack(op.base_offset, op.length)
    elif isinstance(op, Frame):
        table = _table(op)
        data = bytes([_FRAME_OP]) + _FRAME.pack(len(table), len(op.frame)) + table + op.frame
    else:
        data = bytes([_END_OP]) + _END.pack(op.size, op.sha256)
    out.write(data)
    return len(data)


def read_ops(source: BinaryIO):
    """The operations of a delta in order, up to and including its End."""
    if _exactly(source, len(MAGIC)) != MAGIC:
        raise DeltaInvalid("not a distro delta (its first bytes are wrong)")
    while True:
        kind = _exactly(source, 1)[0]
        if kind == _COPY_OP:
            yield Copy(*_COPY.unpack(_exactly(source, _COPY.size)))
        elif kind == _FRAME_OP:
            yield _read_frame(source)
        elif kind == _END_OP:
            yield End(*_END.unpack(_exactly(source, _END.size)))
            return
        else:
            raise DeltaInvalid(f"the delta holds an unknown operation {kind}")


def _table(op: Frame) -> bytes:
    """The frame's ranges and pieces, column by column (offsets from the end of the one
    before, mostly 0), zstd-compressed: thousands of zip entries make thousands of them,
    and columns of like numbers shrink best (bench/delta.py: 12 KiB for 7,300 pieces)."""
    starts, end = [], 0
    for range_ in op.ranges:
        starts.append(range_.offset - end)
        end = range_.offset + range_.length
    offsets, end = [], 0
    for piece in op.pieces:
        offsets.append(piece.base_offset - end if piece.level == FROM_BASE else 0)
        if piece.level == FROM_BASE:
            end = piece.base_offset + piece.length
    columns = [
        _COUNTS.pack(len(op.ranges), len(op.pieces)),
        _column("q", starts),
        _column("I", [range_.length for range_ in op.ranges]),
        _column("B", [int(range_.inflate) for range_ in op.ranges]),
        _column("I", [piece.length for piece in op.pieces]),
        _column("B", [piece.level for piece in op.pieces]),
        _column("q", offsets),
    ]
    return zstd.compress(b"".join(columns), level=19)


def _column(kind: str, values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}{kind}", *values)


def _read_frame(source: BinaryIO) -> Frame:
    table_length, length = _FRAME.unpack(_exactly(source, _FRAME.size))
    if table_length > SEGMENT or length > 2 * SEGMENT:
        raise DeltaInvalid("a frame of the delta is larger than any delta holds")
    table = _untable(_exactly(source, table_length))
    ranges_count, pieces_count = _COUNTS.unpack_from(table)
    if len(table) != _COUNTS.size + _ROW * (ranges_count + pieces_count):
        raise DeltaInvalid("a frame's table of the delta is damaged")
    at = _COUNTS.size
    columns = []
    for kind, count in (("q", ranges_count), ("I", ranges_count), ("B", ranges_count)):
        columns.append(struct.unpack_from(f"<{count}{kind}", table, at))
        at += struct.calcsize(kind) * count
    ranges, end = [], 0
    for start, size, inflate in zip(*columns, strict=True):
        ranges.append(BaseRange(end + start, size, bool(inflate)))
        end += start + size
    columns = []
    for kind in ("I", "B", "q"):
        columns.append(struct.unpack_from(f"<{pieces_count}{kind}", table, at))
        at += struct.calcsize(kind) * pieces_count
    pieces, end = [], 0
    for size, level, offset in zip(*columns, strict=True):
        if level == FROM_BASE:
            pieces.append(Piece(size, level, end + offset))
            end += offset + size
        else:
            pieces.append(Piece(size, level))
    return Frame(tuple(ranges), tuple(pieces), _exactly(source, length))


def _untable(data: bytes) -> bytes:
    decompressor = zstd.ZstdDecompressor()
    try:
        table = decompressor.decompress(data, max_length=SEGMENT)
    except zstd.ZstdError:
        raise DeltaInvalid("a frame's table of the delta is damaged") from None
    if not decompressor.eof:
        raise DeltaInvalid("a frame's table of the delta is damaged")
    return table


def _exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise DeltaInvalid("the delta ends too early")
    return data
