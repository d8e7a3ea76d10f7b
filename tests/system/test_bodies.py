"""No client can make a worker read an unbounded body: every route but the package upload
refuses a body over DISTRO_MAX_BODY_BYTES (1 MiB) with 413, a declared one before it is
read and a chunked one as soon as it grows past the limit, anonymous or not (review
finding 1). The upload keeps streaming under its own limit.

Against gunicorn with the shipped configuration, over raw sockets, so that what the
client has sent when the answer comes can be counted.
"""

from __future__ import annotations

import select
import socket
import time

import psutil
import pytest

from tests.conftest import Gunicorn, MultipartUpload

MIB = 1024 * 1024
BLOCK = b"a" * (64 * 1024)


@pytest.fixture
def server(app, world, tmp_path):
    server = Gunicorn(app.config, workers=1, log_path=tmp_path / "gunicorn.log")
    yield server
    server.stop()


def worker_rss(server: Gunicorn) -> int:
    (worker,) = psutil.Process(server.process.pid).children()
    return worker.memory_info().rss


def send_until_answered(server: Gunicorn, head: str, body_block: bytes, limit: int):
    """Send `head`, then `body_block` over and over until the server answers or `limit`
    bytes of body went out. Returns (status line, body bytes sent before the answer)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    try:
        sock.sendall(head.encode())
        sent, answer, pending = 0, b"", memoryview(body_block)
        while sent < limit:
            # A client that sends no faster than 64 KiB per 50 ms unless the server
            # answers: what it has sent is then close to what the server could read.
            readable, writable, _ = select.select([sock], [], [], 0.05)
            if not readable:
                _, writable, _ = select.select([], [sock], [], 5)
            if readable:
                answer = sock.recv(65536)
                break
            if writable:
                try:
                    count = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent, pending = sent + count, pending[count:] or memoryview(body_block)
        deadline = time.monotonic() + 10
        while b"\r\n" not in answer and time.monotonic() < deadline:
            if select.select([sock], [], [], 1)[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer.split(b"\r\n", 1)[0].decode(), sent
    finally:
        sock.close()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


ROUTES = [
    ("/login", "application/x-www-form-urlencoded", {}),
    ("/api/v1/password-reset", "application/json", {}),
    ("/api/v1/tokens", "application/json", {"bearer": "it@acme.test"}),
]


@pytest.mark.parametrize(("path", "mimetype", "who"), ROUTES)
def test_a_declared_600_mib_body_is_refused_before_it_is_read(server, world, path, mimetype, who):
    auth = f"Authorization: Bearer {world.secrets[who['bearer']]}\r\n" if who else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {mimetype}\r\n{auth}"
        f"Content-Length: {600 * MIB}\r\n\r\n"
    )
    before = worker_rss(server)
    status, sent = send_until_answered(server, head, BLOCK, 600 * MIB)
    assert status.startswith("HTTP/1.1 413"), status
    assert sent < 2 * MIB
    assert worker_rss(server) - before < 32 * MIB


@pytest.mark.parametrize(("path", "mimetype", "who"), ROUTES)
def test_a_chunked_body_is_refused_once_it_passes_the_limit(server, world, path, mimetype, who):
    auth = f"Authorization: Bearer {world.secrets[who['bearer']]}\r\n" if who else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {mimetype}\r\n{auth}"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    before = worker_rss(server)
    status, sent = send_until_answered(server, head, chunk(BLOCK), 1000 * MIB)
    assert status.startswith("HTTP/1.1 413"), status
    assert sent < 2 * MIB + 4096
    assert worker_rss(server) - before < 32 * MIB


def test_a_body_within_the_limit_is_still_read(server, world):
    head = (
        "POST /api/v1/password-reset HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    with sock:
        sock.sendall(head.encode() + chunk(b'{"email": "it@acme.test"}') + b"0\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 202")


def test_the_package_upload_streams_past_the_small_limit(server, world):
    upload = MultipartUpload(
        3 * MIB, {"product": "erp", "version": "9.0", "kind": "installer"}, filename="big.bin"
    )
    status, body = upload.post(server.url, world.auth("pub@vendor.test"))
    assert status == 201, body
    assert body["size"] == 3 * MIB
