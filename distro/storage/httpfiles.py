"""HTTP file delivery: conditional requests, single byte ranges and safe dispositions.

Shared by package downloads from either store: the store only has to give a byte range
(and, for the local store, a path that the WSGI file wrapper can send with sendfile).
"""

from __future__ import annotations

import io
import os
import re
import socket
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from flask import Request, Response
from werkzeug.wsgi import wrap_file

from distro.core.errors import RangeNotSatisfiable
from distro.storage import splice
from distro.storage.splice import OpenBody

# The most written to a client in one call (see `_in_pieces`).
PIECE = 256 * 1024
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 6266 `filename*` for the real name."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._+-]", "_", ascii_name).strip("._") or "download"
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


@dataclass(frozen=True)
class ByteSpan:
    start: int
    length: int
    partial: bool


def plan_span(request: Request, size: int, etag: str) -> ByteSpan | None:
    """Decide what to send: None for 304, else the span (206 when `partial`).

    Only one range is served; a Range header that asks for several or cannot be parsed
    is refused with 416 rather than silently answered in full, so that a resuming client
    never appends a whole file to a partial one.
    """
    if request.if_none_match.contains(etag) or request.if_none_match.star_tag:
        return None
    header = request.headers.get("Range")
    if header is None or not _if_range_holds(request, etag):
        return ByteSpan(0, size, False)
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        raise RangeNotSatisfiable("the Range header must be one range, bytes=START-END", size)
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable("the requested range is empty", size)
        start = max(0, size - count)
        return ByteSpan(start, size - start, True)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(f"the range is outside the file of {size} bytes", size)
    return ByteSpan(start, end - start + 1, True)


def _if_range_holds(request: Request, etag: str) -> bool:
    if_range = request.headers.get("If-Range")
    return if_range is None or if_range.strip() == f'"{etag}"'


def file_response(
    request: Request,
    *,
    size: int,
    etag: str,
    filename: str,
    chunks: Iterator[bytes] | None = None,
    path=None,
    opened: OpenBody | None = None,
    span: ByteSpan,
    idle_seconds: float | None = None,
    on_close: Callable[[], None] | None = None,
) -> Response:
    """Build the 200/206 response for a span of a stored file.

    A local `path` goes through the WSGI file wrapper (sendfile under gunicorn, which
    sends exactly Content-Length bytes from the file's position, ranges included); other
    stores pass an iterator of chunks, or an `opened` answer of the store that is spliced
    to the client (see `relays_by_splice`). Under gunicorn the client's socket gets an idle
    timeout: a client that takes nothing for `idle_seconds` is dropped. `on_close` is
    called once when the server is done with the body (sent, or the client gone).
    """
    sock = request.environ.get("gunicorn.socket")
    if sock is not None and idle_seconds:
        sock.settimeout(idle_seconds)
    if path is not None:
        handle = _CorkedFile(path, sock, on_close)
        handle.seek(span.start)
        # gunicorn sends a file wrapper with sendfile and stops at Content-Length, so a
        # range needs nothing more; other servers would send the file to its end.
        sends_exactly = request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")
        if sends_exactly and _is_gevent_socket(sock):
            body = _CooperativeSendfile(handle, sock, span.start, span.length)
        elif not span.partial or sends_exactly:
            body = wrap_file(request.environ, handle)
        else:
            body = _limited(handle, span.length)
    elif opened is not None:
        body = _SplicedBody(opened, sock, idle_seconds, on_close)
    else:
        body = _Pieces(chunks, PIECE, on_close)
    response = Response(
        body,
        status=206 if span.partial else 200,
        mimetype="application/octet-stream",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(span.length)
    if span.partial:
        end = span.start + span.length - 1
        response.headers["Content-Range"] = f"bytes {span.start}-{end}/{size}"
    return _common_headers(response, etag, filename)


def not_modified(etag: str, filename: str) -> Response:
    return _common_headers(Response(status=304), etag, filename)


def _common_headers(response: Response, etag: str, filename: str) -> Response:
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{etag}"'
    response.headers["X-Checksum-Sha256"] = etag
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-transform"
    return response


class _CorkedFile(io.FileIO):
    """A file that holds the client's TCP socket corked until the server closes it.

    Without TCP_CORK every block that sendfile() pushes may leave as a short segment;
    corked, the headers and the file go out in full segments, as nginx does with
    `tcp_nopush`. That was worth a third of the throughput in bench/transfer.py. The WSGI
    server closes the response's file when the body is sent, which uncorks the socket
    and flushes the last partial segment. Anything but a TCP socket is left alone.
    """

    def __init__(self, path, sock: socket.socket | None, on_close=None):
        super().__init__(path, "rb")
        self._sock = sock if _cork(sock, True) else None
        self._on_close = on_close

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._sock is not None:
                _cork(self._sock, False)
                self._sock = None
            on_close, self._on_close = getattr(self, "_on_close", None), None
            if on_close is not None:
                on_close()


def _cork(sock: socket.socket | None, on: bool) -> bool:
    if sock is None or not hasattr(socket, "TCP_CORK"):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))
    except OSError:  # a Unix socket, or already closed by the client
        return False
    return True


def _is_gevent_socket(sock) -> bool:
    return sock is not None and type(sock).__module__.startswith("gevent.")


def relays_by_splice(request: Request) -> bool:
    """Whether a store's open answer can be spliced to this request's client: under
    gunicorn's gevent worker, whose client socket we may write to directly."""
    return (
        splice.available()
        and request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")
        and _is_gevent_socket(request.environ.get("gunicorn.socket"))
    )


class _WritesItself:
    """A body that writes itself to the client's socket under gunicorn.

    The first item is empty, which makes gunicorn send the headers; the next call sends
    the whole body straight to the socket (`_send`) and ends it. gunicorn then counts no
    body bytes for its access log, but the response is exactly Content-Length long.
    """

    _headers_out = False

    def __iter__(self) -> _WritesItself:
        return self

    def __next__(self) -> bytes:
        if not self._headers_out:
            self._headers_out = True
            return b""
        self._send()
        raise StopIteration

    def _send(self) -> None:
        raise NotImplementedError


class _CooperativeSendfile(_WritesItself):
    """The span sent with os.sendfile() on gevent's worker, waiting for the socket the way
    gevent does (gevent's own socket.sendfile reads the file 8 KiB at a time into Python
    and sends it: a fifth slower for a fast client, measured in bench/transfer.py)."""

    def __init__(self, handle, sock, start: int, length: int):
        self._handle, self._sock = handle, sock
        self._offset, self._left = start, length

    def _send(self) -> None:
        from gevent.socket import wait_write

        out, source = self._sock.fileno(), self._handle.fileno()
        while self._left > 0:
            try:
                sent = os.sendfile(out, source, self._offset, min(self._left, 1 << 30))
            except BlockingIOError:
                # the socket's timeout is the idle time: raises when the client takes
                # nothing for that long
                wait_write(out, timeout=self._sock.gettimeout())
                continue
            if sent == 0:
                raise ConnectionResetError("the client went away")
            self._offset += sent
            self._left -= sent

    def close(self) -> None:
        self._handle.close()


class _SplicedBody(_WritesItself):
    """A store's open answer spliced to the client's socket (distro.storage.splice)."""

    def __init__(self, opened: OpenBody, sock, idle_seconds: float | None, on_close=None):
        self._opened, self._sock, self._idle = opened, sock, idle_seconds
        self._on_close = on_close

    def _send(self) -> None:
        splice.relay(self._opened, self._sock, self._idle)

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        try:
            self._opened.close()
        finally:
            if on_close is not None:
                on_close()


class _Pieces:
    """The chunks cut into pieces of at most `size` (WSGI wants bytes, so a larger chunk
    is copied piece by piece).

    The server writes each piece with one sendall, whose timeout is the idle time for
    the whole call: so a client is dropped for taking less than a piece in that time,
    however large a store hands out its chunks. Closing this closes `chunks` and calls
    `on_close` once, even if nothing was ever read (a generator would skip both).
    """

    def __init__(self, chunks: Iterator[bytes], size: int, on_close=None):
        self._chunks, self._size, self._on_close = chunks, size, on_close
        self._pending: list[bytes] = []

    def __iter__(self) -> _Pieces:
        return self

    def __next__(self) -> bytes:
        if not self._pending:
            chunk = next(self._chunks)
            if len(chunk) <= self._size:
                return chunk
            self._pending = [chunk[i : i + self._size] for i in range(0, len(chunk), self._size)]
            self._pending.reverse()
        return self._pending.pop()

    def close(self) -> None:
        chunks, self._chunks = self._chunks, iter(())
        on_close, self._on_close = self._on_close, None
        try:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        finally:
            if on_close is not None:
                on_close()


def _limited(handle, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = handle.read(min(PIECE, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()
