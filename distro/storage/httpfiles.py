"""HTTP file delivery: conditional requests, single byte ranges and safe dispositions.

Shared by package downloads from either store: the store only has to give a byte range
(and, for the local store, a path that the WSGI file wrapper can send with sendfile).
"""

from __future__ import annotations

import io
import re
import socket
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from flask import Request, Response
from werkzeug.wsgi import wrap_file

from distro.core.errors import RangeNotSatisfiable

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
    span: ByteSpan,
) -> Response:
    """Build the 200/206 response for a span of a stored file.

    A local `path` goes through the WSGI file wrapper (sendfile under gunicorn); other
    stores pass an iterator of chunks.
    """
    if path is not None:
        handle = _CorkedFile(path, request.environ.get("gunicorn.socket"))
        handle.seek(span.start)
        body = (
            wrap_file(request.environ, handle)
            if not span.partial
            else _limited(handle, span.length)
        )
    else:
        body = chunks
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

    def __init__(self, path, sock: socket.socket | None):
        super().__init__(path, "rb")
        self._sock = sock if _cork(sock, True) else None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._sock is not None:
                _cork(self._sock, False)
                self._sock = None


def _cork(sock: socket.socket | None, on: bool) -> bool:
    if sock is None or not hasattr(socket, "TCP_CORK"):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))
    except OSError:  # a Unix socket, or already closed by the client
        return False
    return True


def _limited(handle, length: int) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = handle.read(min(1024 * 1024, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()
