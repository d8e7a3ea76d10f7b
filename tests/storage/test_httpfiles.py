"""File delivery corks the client's TCP socket while the file is sent, and always uncorks.

A socket left corked would hold back the last partial segment of every answer on a
keep-alive connection for up to 200 ms; one never corked sends sendfile()'s blocks as
short segments (a third of the throughput, see bench/transfer.py).
"""

from __future__ import annotations

import socket

import pytest
from flask import Flask, request

from distro.storage.httpfiles import ByteSpan, file_response

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")


@pytest.fixture
def tcp_connection():
    """The server side of a real loopback TCP connection, as gunicorn passes it."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        yield server
        server.close()
        client.close()


@pytest.fixture
def blob(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789" * 1000)
    return path


def corked(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))


def respond(sock, path, span):
    app = Flask(__name__)
    with app.test_request_context(environ_overrides={"gunicorn.socket": sock}):
        return file_response(request, size=10_000, etag="e", filename="f", path=path, span=span)


def test_a_whole_file_is_sent_corked_and_closing_uncorks(tcp_connection, blob):
    response = respond(tcp_connection, blob, ByteSpan(0, 10_000, False))
    assert corked(tcp_connection)
    assert b"".join(response.response) == blob.read_bytes()
    response.close()
    assert not corked(tcp_connection)


def test_a_range_uncorks_once_its_last_bytes_are_read(tcp_connection, blob):
    response = respond(tcp_connection, blob, ByteSpan(10, 5, True))
    assert corked(tcp_connection)
    assert b"".join(response.response) == b"01234"
    assert not corked(tcp_connection)


def test_an_abandoned_answer_uncorks_when_closed(tcp_connection, blob):
    response = respond(tcp_connection, blob, ByteSpan(10, 5000, True))
    next(iter(response.response))
    response.close()
    assert not corked(tcp_connection)


def test_a_unix_socket_or_none_is_left_alone(blob):
    left, right = socket.socketpair()
    with left, right:
        for sock in (left, None):
            response = respond(sock, blob, ByteSpan(0, 10_000, False))
            assert b"".join(response.response) == blob.read_bytes()
            response.close()
