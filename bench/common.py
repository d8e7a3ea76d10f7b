"""Shared pieces of the benchmarks: a seeded distro under gunicorn, a separate S3 server,
curl-based transfer timing and percentile helpers."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import requests

from distro.app import create_app
from distro.migrations import upgrade
from distro.signing.keys import KeySource, ensure_signing_key
from tests.conftest import Gunicorn, free_port, seed_world

MIB = 1024 * 1024
SIZE = int(os.environ.get("BENCH_SIZE_MB", "1024")) * MIB
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@dataclass
class Row:
    name: str
    ours: float
    baseline: float
    unit: str
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


class JsonClient:
    """One keep-alive connection speaking JSON through http.client.

    The client shares the machine's two cores with the server, and in a sequential
    benchmark its cost adds to every round trip: requests spends about 0.5 ms more per
    call than http.client here, a tenth of a license issuance.
    """

    def __init__(self, base_url: str, headers: dict):
        address = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(address.hostname, address.port)
        self._headers = {**headers, "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        self._connection.request("POST", path, json.dumps(body), self._headers)
        answer = self._connection.getresponse()
        return answer.status, json.loads(answer.read())

    def close(self) -> None:
        self._connection.close()


S3RVER = Path(__file__).resolve().parents[1] / ".bench-tools" / "node_modules" / ".bin" / "s3rver"


@contextmanager
def s3_server(kind: str = "moto"):
    """An S3 server in its own process, so it does not share our interpreter.

    `moto` (moto_server) for the transfer benchmarks. `s3rver` (a Node.js S3 server that
    streams objects from disk; scripts/bench.sh installs it with npm) for many
    concurrent downloads: moto reads a whole object into memory for every GET, which a
    thousand simultaneous downloads turn into tens of GiB.
    """
    port = free_port()
    folder = None
    if kind == "s3rver":
        folder = tempfile.mkdtemp(prefix="distro-s3rver-")
        args = [
            str(S3RVER),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--directory",
            folder,
            "--silent",
        ]
        os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
    else:
        args = [str(Path(sys.executable).with_name("moto_server")), "-p", str(port)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url, timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def distro_service(
    storage: str = "local",
    workers: int = 2,
    s3_endpoint: str | None = None,
    database_url: str | None = None,
    **env,
):
    """A migrated, seeded distro (SQLite unless `database_url` names another database)
    under gunicorn; yields (server, world, config, app) where `server.url` is its address
    and `server.process` the gunicorn master."""
    work = Path(tempfile.mkdtemp(prefix="distro-bench-"))
    config = {
        "DATABASE_URL": database_url or f"sqlite:///{work}/distro.db",
        "STORAGE_URL": (work / "objects").as_uri(),
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
        "SIGNING_KEYS_DIR": str(work / "keys"),
        "SECRET_KEY": "bench",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    if storage == "s3":
        bucket = f"bench-{os.getpid()}-{int(time.time())}"
        boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
        config["STORAGE_URL"] = f"s3://{bucket}"
    app = create_app(config)
    with app.app_context():
        upgrade(app.extensions["distro.engine"])
        session = app.extensions["distro.sessionmaker"]()
        ensure_signing_key(session, KeySource.from_config(app.config))
        session.commit()
        session.close()
    world = seed_world(app.test_cli_runner())
    server = Gunicorn(config, workers=workers, **env)
    try:
        yield server, world, config, app
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def curl_seconds(url: str, headers: dict | None = None, follow: bool = False) -> float:
    """Wall time of one download to /dev/null by curl (same client for every side)."""
    args = ["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total} %{http_code}", url]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if follow:
        args.append("-L")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    if out[1] not in ("200", "206"):
        raise RuntimeError(f"{url} answered {out[1]}")
    return float(out[0])


def interleaved_medians(runs: int, ours, baseline) -> tuple[float, float]:
    """The median of a few runs of each side.

    The sides take turns (each going first half the time), so that the machine's drift
    during the run falls on both alike. The median, not the best: single runs stray
    both ways here (nginx once served 1 GiB at 3.9 GiB/s between runs of 2.0-2.9).
    """
    mine: list[float] = []
    theirs: list[float] = []
    for round_ in range(runs):
        turns = [(mine, ours), (theirs, baseline)]
        for results, measure in turns if round_ % 2 == 0 else turns[::-1]:
            results.append(measure())
    return median(mine), median(theirs)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def make_file(path: Path, size: int) -> Path:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(block)
        out.write(block[: size % MIB])
    return path


def save(name: str, rows: list[Row]) -> None:
    folder = Path(__file__).parent / "results"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps([r.__dict__ for r in rows], indent=2))


def print_rows(rows: list[Row]) -> None:
    for row in rows:
        print(
            f"{row.name:<52} {row.ours:>12.2f} {row.baseline:>12.2f} {row.unit:<10} "
            f"{row.ratio:>6.2f}  {row.note}",
            flush=True,
        )
