"""`ReadAhead`, the reader of a bundle's parts and of the packages an export copies."""

from __future__ import annotations

import errno
import hashlib
import os

import pytest

from distro.bundles.format import BundleInvalid, Expected, ReadAhead


def _file(tmp_path, name: str, size: int) -> tuple[Expected, bytes]:
    data = os.urandom(size)
    (tmp_path / name).write_bytes(data)
    return Expected(tmp_path / name, size, hashlib.sha256(data).hexdigest(), name), data


def test_files_are_read_back_to_back_whatever_their_sizes(tmp_path):
    sizes = [0, 1, ReadAhead.BUFFER, ReadAhead.BUFFER * ReadAhead.DEPTH * 2 + 4097]
    files = [_file(tmp_path, f"f{n}", size) for n, size in enumerate(sizes)]
    with ReadAhead([expected for expected, _ in files]) as reader:
        assert reader.read() == b"".join(data for _, data in files)


def test_a_file_longer_shorter_or_other_than_expected_stops_the_stream(tmp_path):
    expected, data = _file(tmp_path, "part", 5000)
    for size, sha256, words in [
        (4999, expected.sha256, "part is longer than its 4999 bytes"),
        (5001, expected.sha256, "part is 5000 bytes, the manifest says 5001"),
        (5000, "0" * 64, "part does not match its SHA-256"),
    ]:
        with ReadAhead([Expected(expected.path, size, sha256, "part")], BundleInvalid) as reader:
            with pytest.raises(BundleInvalid, match=words):
                reader.read()


def test_a_filesystem_without_direct_reads_is_read_through_the_page_cache(tmp_path, monkeypatch):
    """A filesystem that refuses O_DIRECT (some FUSE and network ones) cannot be
    mounted here without root, so `os.open` refuses the flag as such a one does."""
    expected, data = _file(tmp_path, "part", 300_000)
    real_open, asked = os.open, []

    def refusing_direct(path, flags, *args):
        asked.append(bool(flags & os.O_DIRECT))
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing_direct)
    with ReadAhead([expected]) as reader:
        assert reader.read() == data
    assert asked == [True, False]
