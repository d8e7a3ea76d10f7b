"""Many customers downloading over slow lines, simulated in one asyncio process.

    python -m bench.slowclients URL COUNT BYTES_PER_SECOND SECONDS 'Header: value' ...

Each client opens its own connection, sends one GET and reads the body at most at the
given rate, with a small receive buffer so the kernel cannot absorb the file for it.
After SECONDS every client closes. Prints one JSON object: how many got a 200 or 206,
how many were still receiving in the last seconds, and the failures by kind. Loopback
only: the URL must point at this machine.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

READ = 64 * 1024
RECEIVE_BUFFER = 64 * 1024
TAIL = 10.0  # the steady-state rate is measured over the last seconds of the run


class Client:
    def __init__(self) -> None:
        self.status: int | None = None
        self.received = 0
        self.received_before_tail = 0  # at the start of the last TAIL seconds
        self.last_byte_at = 0.0
        self.failure: str | None = None


async def _headers(loop, sock: socket.socket, buffer: bytearray) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        count = await loop.sock_recv_into(sock, buffer)
        if count == 0:
            raise ConnectionError("closed before the headers")
        data += bytes(buffer[:count])
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


async def download(client: Client, host: str, port: int, request: bytes, rate: int, stop_at: float):
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    buffer = bytearray(READ)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, request)
        client.status, rest = await _headers(loop, sock, buffer)
        client.received = len(rest)
        started = time.monotonic()
        while time.monotonic() < stop_at:
            ahead = client.received - rate * (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(min(ahead / rate, max(0.0, stop_at - time.monotonic())))
                continue
            count = await asyncio.wait_for(
                loop.sock_recv_into(sock, memoryview(buffer)[: min(READ, rate)]),
                timeout=max(0.01, stop_at - time.monotonic()),
            )
            if count == 0:
                break  # the whole file arrived (or the server closed)
            if client.received_before_tail == 0 and stop_at - time.monotonic() <= TAIL:
                client.received_before_tail = client.received
            client.received += count
            client.last_byte_at = time.monotonic()
    except TimeoutError:
        pass
    except (OSError, ValueError, IndexError) as exc:
        client.failure = type(exc).__name__
    finally:
        sock.close()


async def run(url: str, count: int, rate: int, seconds: float, headers: list[str]) -> dict:
    address = urlsplit(url)
    path = address.path + (f"?{address.query}" if address.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {address.netloc}", *headers, "Connection: close"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    stop_at = time.monotonic() + seconds
    clients = [Client() for _ in range(count)]
    tasks = []
    for client in clients:  # open gradually, as customers would, not in one burst
        tasks.append(
            asyncio.create_task(
                download(client, address.hostname, address.port, request, rate, stop_at)
            )
        )
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    # Measured back from when the clients stop reading, so that the time spent closing
    # 1,000 sockets (printed as closing_seconds; 0.03-0.17 s here) can never make a
    # reader look idle.
    closing = time.monotonic() - stop_at
    ended = stop_at
    recent = ended - 3.0
    return {
        "clients": count,
        "ok_status": sum(c.status in (200, 206) for c in clients),
        "streaming_at_end": sum(c.last_byte_at >= recent for c in clients),
        "failures": dict(
            Counter(
                c.failure or f"status {c.status}"
                for c in clients
                if c.failure or c.status not in (200, 206)
            )
        ),
        "mean_rate": sum(c.received for c in clients) / count / seconds,
        "tail_rate": sum(c.received - c.received_before_tail for c in clients) / count / TAIL,
        "received_bytes": sum(c.received for c in clients),
        "closing_seconds": round(closing, 2),
        "not_streaming": [
            {
                "status": c.status,
                "received": c.received,
                "failure": c.failure,
                "idle_seconds": round(ended - c.last_byte_at, 1) if c.last_byte_at else None,
            }
            for c in clients
            if c.last_byte_at < recent
        ][:5],
    }


def main() -> None:
    url, count, rate, seconds, *headers = sys.argv[1:]
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("error: slow clients only ever target this machine (loopback)")
    result = asyncio.run(run(url, int(count), int(rate), float(seconds), headers))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
