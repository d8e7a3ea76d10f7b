"""Slow downloads: many customers fetching over slow lines while others use the service.

    .venv/bin/python -m bench.run_all slow
    BENCH_SLOW_CLIENTS=1000 BENCH_SLOW_RATE_KIB=256 BENCH_SLOW_SECONDS=40 (the defaults)

For each topology — the README's embedded default (SQLite, local store) and the
production one (S3 in proxy mode, on PostgreSQL when DISTRO_TEST_DATABASE_URL names a
server, as scripts/bench.sh arranges with a throwaway cluster) — the
service runs under gunicorn with the shipped gunicorn.conf.py. BENCH_SLOW_CLIENTS
customers download one installer at BENCH_SLOW_RATE_KIB each (bench/slowclients.py, in
its own process), and meanwhile two probes measure what everybody else sees:
`GET /api/v1/products` with a token, and `GET /login`. Printed: how many downloads were
still streaming at the end, probe p50/p99 against the targets (100 ms, 200 ms), failed
probes, and the growth of the whole service's RSS (master and workers).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from bench.common import MIB, Row, distro_service, make_file, percentile, s3_server
from tests.conftest import _postgres_database, grant_license, publish_file

CLIENTS = int(os.environ.get("BENCH_SLOW_CLIENTS", "1000"))
RATE = int(os.environ.get("BENCH_SLOW_RATE_KIB", "256")) * 1024
SECONDS = float(os.environ.get("BENCH_SLOW_SECONDS", "40"))
# Long enough that no client finishes within the window: every download stays open.
SIZE = int(RATE * (SECONDS + 30))


class Probe(threading.Thread):
    """One request every `interval` seconds on a fresh connection; records latency."""

    def __init__(self, url: str, path: str, headers: dict, interval: float):
        super().__init__(daemon=True)
        address = url.split("//", 1)[1]
        self.host, self.port = address.split(":")
        self.path, self.headers, self.interval = path, headers, interval
        self.latencies: list[float] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
                connection.request("GET", self.path, headers=self.headers)
                answer = connection.getresponse()
                answer.read()
                connection.close()
                if answer.status != 200:
                    raise RuntimeError(answer.status)
                self.latencies.append((time.perf_counter() - started) * 1000)
            except Exception:
                self.failures += 1
            self.stop.wait(max(0.0, self.interval - (time.perf_counter() - started)))


def service_rss(master: int) -> int:
    process = psutil.Process(master)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(label: str, server, world, package_id: str) -> list[Row]:
    token = world.headers["installer@acme"]
    url = f"{server.url}/api/v1/packages/{package_id}/download"
    before = service_rss(server.process.pid)
    api = Probe(server.url, "/api/v1/products", token, 0.1)
    login = Probe(server.url, "/login", {}, 0.1)
    clients = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.slowclients",
            url,
            str(CLIENTS),
            str(RATE),
            str(SECONDS),
            *[f"{k}: {v}" for k, v in token.items()],
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(min(10.0, SECONDS / 4))  # let the clients connect before probing
    api.start()
    login.start()
    peak = before
    while clients.poll() is None:
        peak = max(peak, service_rss(server.process.pid))
        time.sleep(1)
    api.stop.set()
    login.stop.set()
    api.join()
    login.join()
    result = json.loads(clients.stdout.read())
    streaming = f"{result['streaming_at_end']}/{CLIENTS} streaming at the end"
    note = f"{streaming}; failures {result['failures'] or 'none'}"
    note += f"; clients closed {result['closing_seconds']} s after the end"
    if result["not_streaming"]:
        note += f"; not streaming: {result['not_streaming']}"
    rate = result["tail_rate"] / 1024
    return [
        Row(
            f"{label}: downloads streaming at the end",
            result["streaming_at_end"],
            CLIENTS,
            "count",
            note,
        ),
        Row(
            f"{label}: rate per download, last 10 s",
            rate,
            RATE / 1024,
            "KiB/s",
            f"{result['mean_rate'] / 1024:.0f} KiB/s over the whole run, start included",
        ),
        Row(
            f"{label}: GET /api/v1/products p50 (target p99)",
            percentile(api.latencies, 50),
            100,
            "ms",
            f"{len(api.latencies)} probes, {api.failures} failed",
        ),
        Row(f"{label}: GET /api/v1/products p99", percentile(api.latencies, 99), 100, "ms"),
        Row(
            f"{label}: GET /login p50 (target p99)",
            percentile(login.latencies, 50),
            200,
            "ms",
            f"{len(login.latencies)} probes, {login.failures} failed",
        ),
        Row(f"{label}: GET /login p99", percentile(login.latencies, 99), 200, "ms"),
        Row(
            f"{label}: service RSS growth",
            (peak - before) / MIB,
            1024,
            "MiB",
            f"{before / MIB:.0f} MiB before",
        ),
    ]


def one_topology(label: str, storage: str, s3_endpoint: str | None = None) -> list[Row]:
    workers = int(os.environ.get("BENCH_SLOW_WORKERS", os.cpu_count() * 2 + 1))
    database, drop = None, None
    if storage == "s3" and os.environ.get("DISTRO_TEST_DATABASE_URL"):
        database, drop = _postgres_database()
        label += " + PostgreSQL"
    try:
        with distro_service(storage, workers, s3_endpoint, database) as (
            server,
            world,
            config,
            app,
        ):
            runner = app.test_cli_runner()
            grant_license(runner, version="9.0")
            path = make_file(Path(config["SIGNING_KEYS_DIR"]).parent / "installer.bin", SIZE)
            package_id = publish_file(runner, path, version="9.0")
            return measure(label, server, world, package_id)
    finally:
        if drop:
            drop()


def main() -> list[Row]:
    rows = one_topology("slow, local store", "local")
    with s3_server("s3rver") as endpoint:
        rows += one_topology("slow, S3 proxy", "s3", endpoint)
    return rows


if __name__ == "__main__":
    from bench.common import print_rows

    print_rows(main())
