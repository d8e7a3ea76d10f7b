"""The shipped gunicorn configuration keeps the service answering while many customers
download over slow lines, drops clients that stop reading or dribble their headers, and
lets downloads in flight finish on shutdown: from the local store (sendfile) and from S3
in proxy mode (spliced from the store's socket to the client's).

Behaviour only; bench/slow.py measures how far it holds (1,000 downloads at 256 KiB/s).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time

import psutil
import pytest
import requests

from tests.conftest import Gunicorn, grant_license, publish_file

SIZE = 16 * 1024 * 1024  # more than the kernel buffers of a connection take in
SLOW = 60  # more than the 20 request slots the gthread configuration had


@pytest.fixture
def app_config(app_config, request):
    """The local store, or each store in turn for tests that take `backend`."""
    if "backend" in request.fixturenames:
        return dict(app_config, STORAGE_URL=request.getfixturevalue("storage_url"))
    return app_config


@pytest.fixture
def installer(runner, world, tmp_path):
    grant_license(runner, version="9.0")
    path = tmp_path / "erp-9.0.bin"
    path.write_bytes(os.urandom(SIZE))
    return publish_file(runner, path, version="9.0"), path.read_bytes()


def open_download(server: Gunicorn, package_id: str, headers: dict) -> tuple[socket.socket, bytes]:
    """A customer on a very slow line: asks for the file, reads the headers, then stalls.
    Returns the socket and the body bytes that came with the headers."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    auth = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(
        f"GET /api/v1/packages/{package_id}/download HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock, head.partition(b"\r\n\r\n")[2]


def read_to_end(sock: socket.socket) -> bytes:
    body = bytearray()
    while chunk := sock.recv(1024 * 1024):
        body += chunk
    return bytes(body)


def test_the_api_and_login_answer_while_more_slow_downloads_are_open_than_slots(
    app_config, world, installer
):
    package_id, _ = installer
    server = Gunicorn(app_config, workers=2)
    stalled = []
    try:
        for _ in range(SLOW):
            stalled.append(open_download(server, package_id, world.headers["installer@acme"])[0])
        products = requests.get(
            f"{server.url}/api/v1/products", headers=world.headers["installer@acme"], timeout=10
        )
        login = requests.get(f"{server.url}/login", timeout=10)
        assert products.status_code == 200 and [p["code"] for p in products.json()["items"]] == [
            "erp"
        ]
        assert login.status_code == 200 and "csrf" in login.text
    finally:
        for sock in stalled:
            sock.close()
        server.stop()


def open_pipes(server: Gunicorn) -> int:
    workers = psutil.Process(server.process.pid).children()
    return sum(
        os.readlink(f"/proc/{worker.pid}/fd/{fd}").startswith("pipe:")
        for worker in workers
        for fd in os.listdir(f"/proc/{worker.pid}/fd")
    )


def pipes_become(server: Gunicorn, count: int) -> bool:
    """The worker opens its pipe just after the headers went out: wait a moment for it."""
    deadline = time.monotonic() + 5
    while open_pipes(server) != count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.one_database
def test_a_client_that_stops_reading_is_dropped_after_the_idle_time(
    backend, app_config, world, installer
):
    package_id, _ = installer
    server = Gunicorn(app_config, workers=1, DISTRO_DOWNLOAD_IDLE_SECONDS="2")
    try:
        pipes_before = open_pipes(server)
        sock, _ = open_download(server, package_id, world.headers["installer@acme"])
        if backend == "s3":  # the bytes go from the store's socket through a pipe
            assert pipes_become(server, pipes_before + 2)
        time.sleep(4)  # takes nothing for longer than the idle time
        sock.settimeout(10)
        received = read_to_end(sock)  # what the kernel held, then the server's close
        assert len(received) < SIZE
        sock.close()
        assert pipes_become(server, pipes_before)  # and the relay's pipe is closed
    finally:
        server.stop()


def closed_by_peer(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""


def test_a_client_that_dribbles_its_headers_is_dropped(app, app_config):
    server = Gunicorn(app_config, workers=1, DISTRO_HEADER_SECONDS="2")
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        started, dropped = time.monotonic(), False
        for byte in b"GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60:
            try:
                sock.send(bytes([byte]))
            except OSError:
                dropped = True
            if dropped or closed_by_peer(sock):
                dropped = True
                break
            time.sleep(0.25)
        assert dropped, "the server waited for the whole dribble (15 s)"
        assert time.monotonic() - started < 10
        sock.close()
    finally:
        server.stop()


@pytest.mark.one_database
def test_shutdown_lets_a_download_in_flight_finish(app_config, world, installer):
    package_id, payload = installer
    server = Gunicorn(app_config, workers=1)
    try:
        sock, first = open_download(server, package_id, world.headers["installer@acme"])
        first += sock.recv(1024 * 1024)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        with pytest.raises(requests.ConnectionError):  # no new requests
            requests.get(f"{server.url}/healthz", timeout=5)
        sock.settimeout(30)
        rest = read_to_end(sock)
        assert first + rest == payload
    finally:
        server.stop()


@pytest.mark.one_database
def test_ranges_stop_at_their_end(backend, app_config, world, installer):
    package_id, payload = installer
    server = Gunicorn(app_config, workers=1)
    url = f"{server.url}/api/v1/packages/{package_id}/download"
    headers = world.headers["installer@acme"]
    try:
        for asked, expected in [
            ("bytes=100-199", payload[100:200]),
            ("bytes=-5", payload[-5:]),
            (f"bytes={SIZE - 3}-", payload[-3:]),
        ]:
            answer = requests.get(url, headers={**headers, "Range": asked}, timeout=30)
            assert answer.status_code == 206 and answer.content == expected, asked
        stale = requests.get(
            url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"other"'}, timeout=30
        )
        assert stale.status_code == 200 and stale.content == payload
    finally:
        server.stop()
