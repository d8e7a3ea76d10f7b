"""The zero-copy relay opens a ranged GET on the store itself and splices the body into
the client's socket: the exact bytes of the range, a missing object as missing, an
unreachable store as unavailable after retries, and a store or client that fails half
way as a download cut short, never a hang or a silently truncated success.

Against moto's S3 server over HTTP; the failures a real store cannot be made to show
on demand (a 503, a connection closed mid-body, a chunked answer) come from a
scripted HTTP server on loopback.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

import boto3
import pytest

from distro.core.errors import StorageUnavailable
from distro.storage import splice

pytestmark = pytest.mark.skipif(not splice.available(), reason="os.splice needs Linux")

TIMEOUTS = dict(connect_timeout=5, read_timeout=10, receive_buffer=256 * 1024)


@pytest.fixture
def s3_object(s3_endpoint):
    """(presigned URL, bytes) of a 3 MiB object on moto."""
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket, key = f"splice-{uuid.uuid4().hex[:12]}", "blobs/object"
    client.create_bucket(Bucket=bucket)
    data = os.urandom(3 * 1024 * 1024 + 17)
    client.put_object(Bucket=bucket, Key=key, Body=data)
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    return url, data


@pytest.fixture
def no_backoff(monkeypatch):
    waits = []
    monkeypatch.setattr(splice.time, "sleep", waits.append)
    return waits


class Client:
    """The download client's end of a loopback TCP connection, read by a thread."""

    def __init__(self, read: bool = True):
        listener = socket.create_server(("127.0.0.1", 0))
        self.reader = socket.create_connection(listener.getsockname())
        self.reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self.server_side, _ = listener.accept()
        self.server_side.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        listener.close()
        self.received = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        if read:
            self.thread.start()

    def _read(self) -> None:
        while chunk := self.reader.recv(1024 * 1024):
            self.received += chunk

    def finish(self) -> bytes:
        self.server_side.close()
        if self.thread.is_alive():
            self.thread.join(10)
        self.reader.close()
        return bytes(self.received)


class ScriptedStore:
    """An HTTP server on loopback answering each connection with the next script
    entry (raw bytes), then closing. Records how many connections it saw."""

    def __init__(self, *answers: bytes):
        self.answers = list(answers)
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/bucket/key?X-Amz-Signature=x"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.answers:
            conn, _ = self.listener.accept()
            self.connections += 1
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            conn.sendall(self.answers.pop(0))
            conn.close()
        self.listener.close()


def answer_206(body: bytes, total: int, claimed: int | None = None) -> bytes:
    length = claimed if claimed is not None else len(body)
    return (
        f"HTTP/1.1 206 Partial Content\r\nContent-Length: {length}\r\n"
        f"Content-Range: bytes 0-{length - 1}/{total}\r\n\r\n"
    ).encode() + body


def test_a_range_is_relayed_byte_for_byte(s3_object):
    url, data = s3_object
    start, length = 1_000_001, 2 * 1024 * 1024
    body = splice.get_range(url, "blobs/object", start, length, **TIMEOUTS)
    client = Client()
    try:
        splice.relay(body, client.server_side, idle_seconds=10)
    finally:
        body.close()
    assert client.finish() == data[start : start + length]


def test_a_missing_object_is_missing(s3_object):
    url, _ = s3_object
    missing = url.replace("blobs/object", "blobs/other")
    with pytest.raises(FileNotFoundError):
        splice.get_range(missing, "blobs/other", 0, 10, **TIMEOUTS)


def test_an_unreachable_store_is_unavailable_after_three_attempts(no_backoff):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(StorageUnavailable, match="cannot be reached"):
        splice.get_range(f"http://127.0.0.1:{port}/b/k", "k", 0, 10, **TIMEOUTS)
    assert len(no_backoff) == 2  # waited between the three attempts


def test_a_store_that_answers_503_is_tried_again(no_backoff):
    store = ScriptedStore(
        b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n\r\n", answer_206(b"x" * 10, 10)
    )
    body = splice.get_range(store.url, "k", 0, 10, **TIMEOUTS)
    try:
        assert store.connections == 2 and body.length == 10
    finally:
        body.close()


def test_a_store_that_refuses_is_unavailable_at_once(no_backoff):
    store = ScriptedStore(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(StorageUnavailable, match="refused the request \\(403\\)"):
        splice.get_range(store.url, "k", 0, 10, **TIMEOUTS)
    assert store.connections == 1 and no_backoff == []


def test_an_answer_of_another_length_is_refused():
    store = ScriptedStore(answer_206(b"x" * 5, 5))
    with pytest.raises(StorageUnavailable, match="another length"):
        splice.get_range(store.url, "k", 0, 10, **TIMEOUTS)


def test_a_chunked_answer_is_left_to_the_copying_relay():
    store = ScriptedStore(
        b"HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    assert splice.get_range(store.url, "k", 0, 5, **TIMEOUTS) is None


def test_a_store_that_closes_half_way_cuts_the_download_short_and_says_so(caplog):
    payload = os.urandom(200_000)
    store = ScriptedStore(answer_206(payload[:80_000], 200_000, claimed=200_000))
    body = splice.get_range(store.url, "blobs/k", 0, 200_000, **TIMEOUTS)
    client = Client()
    with caplog.at_level(logging.ERROR), pytest.raises(ConnectionError):
        try:
            splice.relay(body, client.server_side, idle_seconds=10)
        finally:
            body.close()
    assert client.finish() == payload[:80_000]
    assert "reading blobs/k from the object store failed after 80000 bytes" in caplog.text


def test_a_client_that_takes_nothing_is_dropped_after_the_idle_time(s3_object):
    url, data = s3_object
    body = splice.get_range(url, "blobs/object", 0, len(data), **TIMEOUTS)
    client = Client(read=False)
    try:
        with pytest.raises(TimeoutError):
            splice.relay(body, client.server_side, idle_seconds=1)
    finally:
        body.close()
        client.finish()


def test_an_idle_time_of_zero_never_drops(s3_object):
    url, data = s3_object
    body = splice.get_range(url, "blobs/object", 0, len(data), **TIMEOUTS)
    client = Client()
    try:
        splice.relay(body, client.server_side, idle_seconds=0)
    finally:
        body.close()
    assert client.finish() == data
