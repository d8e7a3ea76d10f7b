"""Download and upload throughput of a large installer, each against a same-run baseline.

python -m bench.transfer          (BENCH_SIZE_MB=1024 by default)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import psutil
import requests

from distro.storage import blob_key
from tests.conftest import free_port, publish_file
from tests.patches.test_large_files import PeakRss

from .common import (
    MIB,
    SIZE,
    Row,
    best_of,
    curl_seconds,
    distro_service,
    make_file,
    median,
    percentile,
    print_rows,
    s3_server,
)

RUNS = 3


def publish(app, path: Path) -> dict:
    return {"id": publish_file(app.test_cli_runner(), path, version="9.0")}


class StaticServer:
    """nginx (sendfile) if it is installed or installable, else python -m http.server."""

    def __init__(self, root: Path):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bench-static-"))
        nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
        if nginx is None and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], capture_output=True)
            nginx = shutil.which("/usr/sbin/nginx")
        if nginx:
            conf = self.folder / "nginx.conf"
            user = "user root;" if os.geteuid() == 0 else ""  # the files are private to us
            conf.write_text(f"""{user} daemon off; worker_processes 2; pid {self.folder}/pid;
error_log {self.folder}/error.log; events {{}}
http {{ access_log off; sendfile on; tcp_nopush on;
  server {{ listen 127.0.0.1:{self.port}; root {root}; }} }}""")
            self.process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.folder)])
            self.name = "nginx"
        else:
            self.process = subprocess.Popen(
                [
                    "python3",
                    "-m",
                    "http.server",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--directory",
                    str(root),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.name = "python http.server"
        self.url = f"http://127.0.0.1:{self.port}"
        time.sleep(1)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def throughput(seconds: float, size: int = SIZE) -> float:
    return size / MIB / seconds


def concurrent_mib_s(urls_and_headers: list[tuple[str, dict]]) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(len(urls_and_headers)) as pool:
        list(pool.map(lambda uh: curl_seconds(*uh), urls_and_headers))
    return throughput(time.perf_counter() - start, SIZE * len(urls_and_headers))


def local_downloads(source: Path) -> list[Row]:
    rows = []
    with distro_service("local") as (server, world, config, app):
        url = server.url
        package = publish(app, source)
        ours = f"{url}/api/v1/packages/{package['id']}/download"
        headers = world.auth("pub@vendor.test")
        objects = Path(config["STORAGE_URL"].removeprefix("file://"))
        static = StaticServer(objects)
        try:
            digest = subprocess.run(
                ["sha256sum", str(source)], capture_output=True, text=True
            ).stdout.split()[0]
            direct = f"{static.url}/{blob_key(digest)}"
            rows.append(
                Row(
                    "download, local store vs " + static.name,
                    throughput(best_of(RUNS, lambda: curl_seconds(ours, headers))),
                    throughput(best_of(RUNS, lambda: curl_seconds(direct))),
                    "MiB/s",
                    "target >= 0.8",
                )
            )
            rows.append(
                Row(
                    f"8 concurrent downloads, local store vs {static.name}",
                    concurrent_mib_s([(ours, headers)] * 8),
                    concurrent_mib_s([(direct, {})] * 8),
                    "MiB/s",
                )
            )
        finally:
            static.stop()
    return rows


def s3_downloads(source: Path, endpoint: str) -> list[Row]:
    rows = []
    with distro_service("s3", s3_endpoint=endpoint) as (server, world, config, app):
        url = server.url
        package = publish(app, source)
        ours = f"{url}/api/v1/packages/{package['id']}/download"
        headers = world.auth("pub@vendor.test")
        storage = app.extensions["distro.storage"]
        digest = (
            app.test_client()
            .get(f"/api/v1/packages/{package['id']}", headers=headers)
            .get_json()["sha256"]
        )
        direct = storage.client.generate_presigned_url(
            "get_object", Params={"Bucket": storage.bucket, "Key": storage.full(blob_key(digest))}
        )
        rows.append(
            Row(
                "download, S3 proxy mode vs direct S3 GET",
                throughput(best_of(RUNS, lambda: curl_seconds(ours, headers))),
                throughput(best_of(RUNS, lambda: curl_seconds(direct))),
                "MiB/s",
                "target >= 0.9",
            )
        )
        rows.append(
            Row(
                "8 concurrent downloads, S3 proxy vs direct",
                concurrent_mib_s([(ours, headers)] * 8),
                concurrent_mib_s([(direct, {})] * 8),
                "MiB/s",
            )
        )
    with distro_service("s3", s3_endpoint=endpoint, DISTRO_DOWNLOAD_MODE="redirect") as (
        server,
        world,
        config,
        app,
    ):
        url = server.url
        package = publish(app, source)
        session = requests.Session()
        session.headers.update(world.auth("pub@vendor.test"))
        redirect_ms, health_ms = [], []
        for _ in range(300):
            start = time.perf_counter()
            answer = session.get(
                f"{url}/api/v1/packages/{package['id']}/download", allow_redirects=False
            )
            redirect_ms.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 302
            start = time.perf_counter()
            session.get(f"{url}/healthz")
            health_ms.append((time.perf_counter() - start) * 1000)
        rows.append(
            Row(
                "redirect step p50 vs /healthz p50",
                median(redirect_ms),
                median(health_ms),
                "ms",
                "target p50 <= 5 ms",
            )
        )
        rows.append(
            Row(
                "redirect step p99 vs /healthz p99",
                percentile(redirect_ms, 99),
                percentile(health_ms, 99),
                "ms",
            )
        )
    return rows


def _curl_publish(url: str, token: str, source: Path, version: str, sha256: str | None) -> float:
    fields = ["-F", f"sha256={sha256}"] if sha256 else []  # sent before the file
    start = time.perf_counter()
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            f"Authorization: {token}",
            "-F",
            "product=erp",
            "-F",
            f"version={version}",
            "-F",
            "kind=installer",
            *fields,
            "-F",
            f"file=@{source}",
            f"{url}/api/v1/packages",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "201", out
    return time.perf_counter() - start


def uploads(source: Path, endpoint: str) -> list[Row]:
    digest = subprocess.run(
        ["sha256sum", str(source)], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    with distro_service("s3", s3_endpoint=endpoint, workers=1) as (server, world, config, app):
        server_pid = psutil.Process(server.process.pid).children()[0].pid
        token = world.auth("pub@vendor.test")["Authorization"]
        with PeakRss(server_pid) as rss:
            with_sum = _curl_publish(server.url, token, source, "9.0", digest)
        client = boto3.client("s3", endpoint_url=endpoint)
        bucket = config["STORAGE_URL"].removeprefix("s3://")
        start = time.perf_counter()
        client.upload_file(str(source), bucket, "baseline/direct-upload")
        direct = time.perf_counter() - start
        client.delete_object(Bucket=bucket, Key="baseline/direct-upload")
        # Different bytes, so that the content is new and takes the temporary-key path.
        altered = source.with_name("altered.bin")
        shutil.copyfile(source, altered)
        with altered.open("r+b") as handle:
            handle.write(b"altered")
        without_sum = _curl_publish(server.url, token, altered, "9.1", None)
        altered.unlink()
    return [
        Row(
            "upload via API (sha256 sent first) vs direct multipart",
            throughput(with_sum),
            throughput(direct),
            "MiB/s",
            "target >= 0.8",
        ),
        Row(
            "upload via API, no sha256 (temp key + copy) vs direct",
            throughput(without_sum),
            throughput(direct),
            "MiB/s",
        ),
        Row(
            "peak RSS growth of the worker during upload",
            rss.growth / MIB,
            100,
            "MiB",
            "ratio to the 100 MiB limit; target < 1",
        ),
    ]


def main() -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        source = make_file(folder / "erp-9.0-setup.bin", SIZE)
        rows = local_downloads(source)
        with s3_server() as endpoint:
            rows += s3_downloads(source, endpoint)
            rows += uploads(source, endpoint)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    print_rows(main())
