"""The two compressions a delta is made of: zstd frames against a prefix of the base's
bytes (zstd's "patch-from"), and zlib's raw deflate, which rebuilds a zip entry from its
content byte for byte at the level it was made with."""

from __future__ import annotations

import zlib
from typing import BinaryIO

from distro.deltas.format import DeltaInvalid
from distro.deltas.zstd import (
    CompressionParameter,
    ZstdCompressor,
    ZstdDecompressor,
    ZstdDict,
    ZstdError,
)

CHUNK = 1024 * 1024
_MIN_PREFIX = 8  # zstd refuses a shorter prefix


def compress(content: bytes, prefix: bytes, level: int) -> bytes:
    options = {
        CompressionParameter.compression_level: level,
        CompressionParameter.enable_long_distance_matching: 1,
        CompressionParameter.window_log: max(10, (len(prefix) + len(content)).bit_length()),
    }
    compressor = ZstdCompressor(options=options, zstd_dict=_prefix(prefix))
    return compressor.compress(content, ZstdCompressor.FLUSH_FRAME)


def unframe(frame: bytes, prefix: bytes, limit: int) -> bytes:
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


def deflate(content: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


def inflate(compressed: bytes, limit: int) -> bytes | None:
    decompressor = zlib.decompressobj(-15)
    try:
        content = decompressor.decompress(compressed, limit + 1)
    except zlib.error:
        return None
    return content if decompressor.eof and len(content) <= limit else None


def read_at(source: BinaryIO, offset: int, length: int) -> bytes:
    source.seek(offset)
    return source.read(length)
