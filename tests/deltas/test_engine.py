"""The delta engine: whatever the pair, applying the delta gives the new package byte
for byte, or DeltaInvalid; never a wrong file."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from distro.deltas.apply import apply_delta
from distro.deltas.build import Built, build_delta
from distro.deltas.format import DeltaInvalid

SEGMENT = 64 * 1024  # small, so that every path cuts its bytes into several frames


def _text(rng: random.Random, lines: int) -> bytes:
    words = ["ledger", "posting", "invoice", "tax", "module", "user", "period", "close"]
    return "\n".join(" ".join(rng.choices(words, k=8)) for _ in range(lines)).encode()


def _zip(path: Path, entries: dict[str, bytes], *, date=(2026, 1, 1, 0, 0, 0), stub=b""):
    with path.open("wb") as raw:
        raw.write(stub)
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries.items():
                info = zipfile.ZipInfo(name, date_time=date)
                method = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
                info.compress_type = method
                archive.writestr(info, data)


def _round_trip(base: Path, new: Path, tmp_path: Path) -> Built:
    delta = tmp_path / "delta"
    with delta.open("wb") as out:
        built = build_delta(base, new, out, segment=SEGMENT)
    assert built.size == delta.stat().st_size and built.new_size == new.stat().st_size
    rebuilt = io.BytesIO()
    with base.open("rb") as base_file, delta.open("rb") as delta_file:
        size, sha256 = apply_delta(base_file, delta_file, rebuilt)
    assert rebuilt.getvalue() == new.read_bytes()
    assert (size, sha256) == (built.new_size, hashlib.sha256(new.read_bytes()).hexdigest())
    return built


@pytest.fixture
def release_pair(tmp_path):
    """Two releases of a zip installer: a new build date on every entry, one entry
    changed a little, one added, one gone, one renamed, a stored binary, an exe stub."""
    rng = random.Random(7)
    entries = {f"erp/module{n}.py": _text(rng, 400) for n in range(40)}
    entries["erp/engine.bin"] = rng.randbytes(300_000)
    entries["erp/big.txt"] = _text(rng, 20_000)  # larger than a segment, deflated
    base, new = tmp_path / "base.zip", tmp_path / "new.zip"
    _zip(base, {**entries, "erp/old.py": b"gone"}, stub=b"MZ stub " * 10_000)
    changed = dict(entries)
    changed["erp/module3.py"] = entries["erp/module3.py"].replace(b"tax", b"vat", 5)
    changed["erp/added.py"] = _text(rng, 50)
    changed["erp/renamed.py"] = changed.pop("erp/module9.py")
    _zip(new, changed, date=(2026, 6, 1, 0, 0, 0), stub=b"MZ stub " * 10_000)
    return base, new


def test_a_release_pair_rebuilds_byte_for_byte_from_a_small_delta(release_pair, tmp_path):
    base, new = release_pair
    built = _round_trip(base, new, tmp_path)
    assert built.size < new.stat().st_size * 0.05
    assert built.copied > 0 and built.recompressed > 0  # unchanged entries, module3


def test_a_file_that_is_not_a_zip_goes_in_segments_against_the_same_place(tmp_path):
    rng = random.Random(3)
    data = bytearray(rng.randbytes(1_000_000))
    base, new = tmp_path / "base.img", tmp_path / "new.img"
    base.write_bytes(data)
    data[500_000:500_010] = b"x" * 10
    data[10:10] = b"inserted" * 100
    new.write_bytes(bytes(data))
    assert _round_trip(base, new, tmp_path).size < 60_000


def test_entries_zlib_cannot_reproduce_travel_as_their_bytes(tmp_path):
    """Deflated by another compressor (here zlib with a strategy no try uses): the entry
    cannot be rebuilt from its content, so its compressed bytes go into the delta."""
    rng = random.Random(5)
    base, new = tmp_path / "base.zip", tmp_path / "new.zip"
    _zip(base, {"a.txt": _text(rng, 2000)})
    content = _text(rng, 2000)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_FILTERED)
    new.write_bytes(
        _one_entry_zip("a.txt", compressor.compress(content) + compressor.flush(), content)
    )
    assert zipfile.ZipFile(new).read("a.txt") == content
    built = _round_trip(base, new, tmp_path)
    assert built.recompressed == 0 and built.copied == 0


def _one_entry_zip(name: str, compressed: bytes, content: bytes) -> bytes:
    """A zip of one deflated entry whose stream is `compressed`, as the stdlib cannot
    write one: local header, data, central directory, end record."""
    encoded, crc = name.encode(), zlib.crc32(content)
    sizes = (crc, len(compressed), len(content), len(encoded))
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, *sizes, 0)
    central = struct.pack(
        "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, 0
    )
    body = local + encoded + compressed
    directory = central + encoded
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def test_a_damaged_base_a_cut_delta_or_another_base_is_refused(release_pair, tmp_path):
    base, new = release_pair
    delta = tmp_path / "delta"
    with delta.open("wb") as out:
        build_delta(base, new, out, segment=SEGMENT)
    damaged = bytearray(base.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    cut = delta.read_bytes()[:-40]
    for base_bytes, delta_bytes, words in [
        (bytes(damaged), delta.read_bytes(), "not the one the delta was made for|cannot"),
        (base.read_bytes(), cut, "ends too early"),
        (new.read_bytes(), delta.read_bytes(), "not the one|cannot|shorter"),
        (base.read_bytes(), b"PK\x03\x04 not a delta", "not a distro delta"),
    ]:
        with pytest.raises(DeltaInvalid, match=words):
            apply_delta(io.BytesIO(base_bytes), io.BytesIO(delta_bytes), io.BytesIO())


class _FullDisk(io.BytesIO):
    def write(self, data) -> int:
        if self.tell() + len(data) > 100_000:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_disk_that_fills_during_the_rebuild_stops_it_with_the_disk_s_error(
    release_pair, tmp_path
):
    """The writer runs in a thread of its own: its error must reach the caller, not hang."""
    base, new = release_pair
    delta = tmp_path / "delta"
    with delta.open("wb") as out:
        build_delta(base, new, out, segment=SEGMENT)
    with base.open("rb") as base_file, delta.open("rb") as delta_file:
        with pytest.raises(OSError, match="No space left"):
            apply_delta(base_file, delta_file, _FullDisk())


def test_a_build_stops_as_soon_as_its_delta_passes_the_limit(tmp_path):
    """A rebuilt binary: nothing of the base helps, so the delta is the whole package."""
    base, new = tmp_path / "base.bin", tmp_path / "new.bin"
    base.write_bytes(random.Random(1).randbytes(3 * SEGMENT))
    new.write_bytes(random.Random(2).randbytes(3 * SEGMENT))
    delta = tmp_path / "delta"
    with delta.open("wb") as out:
        assert build_delta(base, new, out, segment=SEGMENT, limit=SEGMENT) is None
    assert SEGMENT < delta.stat().st_size < 2 * SEGMENT + 1024  # the first frame past it
