"""The stores' writers keep every byte: many small writes, faster than the store takes
them, come back whole; a refused or abandoned upload leaves nothing under its key."""

from __future__ import annotations

import hashlib
import os

import pytest

from distro.storage.base import blob_key

CHUNK = 64 * 1024


@pytest.fixture
def storage(app):
    return app.extensions["distro.storage"]


def read_back(storage, key: str) -> bytes:
    size = storage.size(key)
    return b"".join(storage.iter_range(key, 0, size))


@pytest.mark.parametrize("size", [0, 1, CHUNK * 3 + 5, 20 * 1024 * 1024 + 17])
def test_every_byte_of_many_small_writes_is_stored(storage, size):
    data = os.urandom(size)
    writer = storage.open_writer(max_bytes=size or 1)
    for start in range(0, size, CHUNK):
        writer.write(data[start : start + CHUNK])
    key = writer.finish()
    assert writer.size == size
    assert read_back(storage, key) == data
    storage.promote(key, blob_key(writer.hexdigest()))
    assert read_back(storage, blob_key(hashlib.sha256(data).hexdigest())) == data


def test_writing_straight_to_the_content_key_keeps_every_byte(storage):
    data = os.urandom(12 * 1024 * 1024 + 3)
    final = blob_key(hashlib.sha256(data).hexdigest())
    writer = storage.open_writer(max_bytes=len(data), final_key=final)
    for start in range(0, len(data), CHUNK):
        writer.write(data[start : start + CHUNK])
    storage.promote(writer.finish(), final)  # S3 wrote it there already; local renames
    assert read_back(storage, final) == data


def test_an_abandoned_upload_leaves_no_object(storage):
    writer = storage.open_writer(max_bytes=1 << 30)
    for _ in range(200):
        writer.write(os.urandom(CHUNK))
    writer.abort()
    assert list(storage.list_objects()) == []
