"""Zero-copy relay of an object's bytes from a plain-HTTP S3 server to a download client.

The copying relay (botocore reads a chunk into a bytes object, gunicorn writes it) holds
every proxied download's chunks in Python: 350 MiB of workers' RSS for 1,000 slow
downloads, and CPU for two copies of every byte. Here the app opens the GET itself (a
presigned URL, so botocore still signs it), reads the answer's headers, and then moves
the body with `splice(2)` from the store's socket through a pipe into the client's
socket: the bytes never enter this process (65 MiB of RSS for the same 1,000
downloads, bench/slow.py). Waits are gevent's, so one worker relays many downloads.

Only for what it can do exactly: an `http://` endpoint (TLS needs the bytes in
userspace) and an answer with a Content-Length. Anything else takes the copying relay.
"""

from __future__ import annotations

import http.client
import io
import logging
import os
import random
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from distro.core.errors import StorageUnavailable

log = logging.getLogger(__name__)

# The pipe between the two sockets is each download's read-ahead, in kernel memory. A
# slow download keeps its pipe full, so it stays at Linux's default of 64 KiB: 64 MiB
# for 1,000 downloads. 1 MiB pipes were no faster for a fast client (bench/transfer.py).
PIPE_BYTES = 64 * 1024
ATTEMPTS = 3
HEAD_LIMIT = 64 * 1024  # response headers larger than this are not an S3 server's
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)", re.ASCII)
FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)


def available() -> bool:
    return hasattr(os, "splice")


@dataclass
class OpenBody:
    """A GET whose headers are read: the socket is positioned in the body, and `head`
    holds the body bytes that arrived with the headers."""

    sock: socket.socket
    head: bytes
    length: int
    key: str

    def close(self) -> None:
        self.sock.close()


class _Transient(StorageUnavailable):
    """A failure worth another attempt: no connection, no answer, or a 5xx."""


def get_range(
    url: str,
    key: str,
    start: int,
    length: int,
    *,
    connect_timeout: float,
    read_timeout: float,
    receive_buffer: int,
) -> OpenBody | None:
    """Send `GET url` for bytes start..start+length-1 and read the answer's headers.

    Raises FileNotFoundError for 404 and StorageUnavailable when the store cannot be
    reached or refuses; returns None for a well-formed answer that cannot be spliced
    (a chunked body), which the caller then relays the copying way. Transient failures
    are tried again, as botocore's standard retry mode does for the copying relay (a
    thousand downloads starting at once can overflow the store's accept queue).

    The store's socket may hold `receive_buffer` bytes in the kernel. Left to autotuning
    it grows to net.ipv4.tcp_rmem's maximum (6-32 MiB) for every download whose client
    is slower than the store; 1,000 of those put the machine's TCP under memory pressure,
    which drops segments and stalls downloads for seconds of retransmission backoff
    (bench/slow.py, with `nstat` counting TCPRcvQDrop: 16,000-49,000 at 1 MiB or
    unbounded, 42 at 256 KiB).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            sock = _connect(url, connect_timeout, receive_buffer)
            return _get_once(sock, url, key, start, length, read_timeout)
        except _Transient as exc:
            if attempt == ATTEMPTS:
                raise StorageUnavailable(exc.message) from None
            log.warning("GET %s from the object store, attempt %d: %s", key, attempt, exc)
            time.sleep(random.uniform(0, 0.5 * 2**attempt))  # cooperative under gevent
    raise AssertionError("unreachable")


def _get_once(sock, url, key, start, length, read_timeout) -> OpenBody | None:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        sock.settimeout(read_timeout)
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Range: bytes={start}-{start + length - 1}\r\nConnection: close\r\n"
            "User-Agent: distro\r\n\r\n"
        )
        status, headers, head = _read_head(sock, request.encode("ascii"))
        body = _accept(status, headers, head, sock, key, start, length)
    except BaseException:
        sock.close()
        raise
    if body is None:
        sock.close()
    return body


def _connect(url: str, timeout: float, receive_buffer: int) -> socket.socket:
    """socket.create_connection, with the receive buffer bounded before the handshake
    (the window scale it announces is fixed then)."""
    parts = urlsplit(url)
    try:
        addresses = socket.getaddrinfo(parts.hostname, parts.port or 80, 0, socket.SOCK_STREAM)
    except OSError:
        raise _Transient("the object store's name does not resolve") from None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError:
            sock.close()
    raise _Transient("the object store cannot be reached")


def _read_head(sock: socket.socket, request: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
    received = b""
    try:
        sock.sendall(request)
        while b"\r\n\r\n" not in received:
            if len(received) > HEAD_LIMIT:
                raise StorageUnavailable("the object store sent an oversized answer")
            chunk = sock.recv(16 * 1024)
            if not chunk:
                raise _Transient("the object store closed the connection")
            received += chunk
    except OSError:
        raise _Transient("the object store did not answer") from None
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, _, fields = head.partition(b"\r\n")
    version, _, rest = status_line.decode("latin-1").partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise StorageUnavailable("the object store's answer is not HTTP")
    headers = http.client.parse_headers(io.BytesIO(fields + b"\r\n\r\n"))
    return int(code), headers, body


def _accept(status, headers, head, sock, key, start, length) -> OpenBody | None:
    if status == 404:
        raise FileNotFoundError(key)
    if status >= 500:
        raise _Transient(f"the object store failed ({status})")
    if status not in (200, 206):
        raise StorageUnavailable(f"the object store refused the request ({status})")
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return None
    if headers.get("Content-Length") != str(length) or len(head) > length:
        raise StorageUnavailable("the object store answered with another length")
    if status == 206:
        match = _CONTENT_RANGE.fullmatch(headers.get("Content-Range", "").strip())
        if not match or int(match.group(1)) != start:
            raise StorageUnavailable("the object store answered another range")
    elif start != 0:  # a server that ignores Range sends the object from its start
        raise StorageUnavailable("the object store ignored the range")
    return OpenBody(sock, head, length, key)


def relay(body: OpenBody, client: socket.socket, idle_seconds: float | None) -> None:
    """Send the rest of `body` to `client`: what came with the headers, then splice.

    Reading from the store and writing to the client overlap, the pipe between them
    being the read-ahead. The client is dropped (TimeoutError) when it takes nothing
    for `idle_seconds` (0 or None: never); a store that sends nothing for its read
    timeout, or closes early, ends the download short and is logged, as the copying
    relay does.
    """
    from gevent.select import select

    idle_seconds = idle_seconds or None  # 0 never drops
    client.settimeout(idle_seconds)
    client.sendall(body.head)
    to_read = body.length - len(body.head)
    to_send, in_pipe = to_read, 0
    source, target = body.sock.fileno(), client.fileno()
    store_wait = body.sock.gettimeout()
    pipe_out, pipe_in = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    capacity = PIPE_BYTES
    try:
        while to_send > 0:
            moved_in = moved_out = 0
            if to_read > 0 and in_pipe < capacity:
                moved_in = _splice(source, pipe_in, min(capacity - in_pipe, to_read))
                if moved_in == 0:
                    _fail(body, to_send, "the object store closed the connection")
                moved_in = max(moved_in, 0)
                to_read -= moved_in
                in_pipe += moved_in
            if in_pipe > 0:
                moved_out = max(_splice(pipe_out, target, in_pipe), 0)
                in_pipe -= moved_out
                to_send -= moved_out
            if moved_in or moved_out:
                continue
            reading = [source] if to_read > 0 and in_pipe < capacity else []
            writing = [target] if in_pipe > 0 else []
            ready = select(reading, writing, [], idle_seconds if writing else store_wait)
            if ready == ([], [], []):
                if writing:
                    raise TimeoutError("the client took nothing for the idle time")
                _fail(body, to_send, f"the object store sent nothing for {store_wait} s")
    finally:
        os.close(pipe_out)
        os.close(pipe_in)


def _splice(source: int, target: int, count: int) -> int:
    """Bytes moved, or -1 when either side would block."""
    try:
        return os.splice(source, target, count, flags=FLAGS)
    except BlockingIOError:
        return -1


def _fail(body: OpenBody, left: int, why: str) -> None:
    sent = body.length - left
    log.error("reading %s from the object store failed after %d bytes: %s", body.key, sent, why)
    raise ConnectionError(why)
