"""Where each entry of a zip (jar, wheel, most installers) lies in the file: a delta is
built entry by entry, each new entry against the base's entry of the same name, so an
entry that moved costs nothing and one that changed costs only its change."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

_LOCAL = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length
_LOCAL_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class Entry:
    name: str
    header_offset: int  # where its local header starts
    data_offset: int  # where its (compressed) bytes start
    compress_size: int
    file_size: int
    method: int
    crc: int

    @property
    def data_end(self) -> int:
        return self.data_offset + self.compress_size


def entries(path: Path) -> list[Entry] | None:
    """The entries in the order they lie in the file, or None where the file is not a
    zip whose entries can be placed (then the delta treats it as plain bytes)."""
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            found = [_place(raw, info) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, EOFError):
        return None
    found.sort(key=lambda entry: entry.header_offset)
    size = path.stat().st_size
    end = 0
    for entry in found:
        if entry.header_offset < end or entry.data_end > size:
            return None  # overlapping or outside: not a layout to trust
        end = entry.data_end
    return found


def _place(raw, info: zipfile.ZipInfo) -> Entry:
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL.unpack(raw.read(_LOCAL.size))
    if signature != _LOCAL_SIGNATURE:
        raise ValueError(f"no local header at {info.header_offset}")
    return Entry(
        name=info.filename,
        header_offset=info.header_offset,
        data_offset=info.header_offset + _LOCAL.size + name_length + extra_length,
        compress_size=info.compress_size,
        file_size=info.file_size,
        method=info.compress_type,
        crc=info.CRC,
    )
