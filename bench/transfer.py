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

from bench.common import (
    MIB,
    SIZE,
    Row,
    curl_seconds,
    distro_service,
    interleaved_medians,
    make_file,
    median,
    percentile,
    print_rows,
    s3_server,
)
from distro.storage.base import blob_key
from tests.conftest import free_port, publish_file
from tests.patches.test_large_files import PeakRss

RUNS = 5


def publish(app, path: Path) -> dict:
    return {"id": publish_file(app.test_cli_runner(), path, version="9.0")}


def _nginx() -> str | None:
    nginx = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    if nginx is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], capture_output=True)
        nginx = shutil.which("/usr/sbin/nginx")
    return nginx


class StaticServer:
    """nginx (sendfile) if it is installed or installable, else python -m http.server.

    With `upstream`, nginx relays every GET to that server instead (proxy_pass with
    8 x 1 MiB buffers, a read-ahead, which measured faster than nginx's defaults): what a
    relay written in C reaches on this machine, the reference for our S3 proxy mode.
    """

    def __init__(self, root: Path | None = None, upstream: str | None = None):
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bench-static-"))
        nginx = _nginx()
        if upstream and not nginx:
            raise RuntimeError("the relay reference needs nginx")
        if nginx:
            conf = self.folder / "nginx.conf"
            user = "user root;" if os.geteuid() == 0 else ""  # the files are private to us
            if upstream:
                host = upstream.removeprefix("http://")
                serve = f"""location / {{ proxy_pass {upstream}; proxy_set_header Host {host};
    proxy_buffer_size 1m; proxy_buffers 8 1m; proxy_busy_buffers_size 4m;
    proxy_max_temp_file_size 0; }}"""
            else:
                serve = f"root {root};"
            conf.write_text(f"""{user} daemon off; worker_processes 2; pid {self.folder}/pid;
error_log {self.folder}/error.log; events {{}}
http {{ access_log off; sendfile on; tcp_nopush on;
  server {{ listen 127.0.0.1:{self.port}; {serve} }} }}""")
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
            direct = f"{static.url}/{blob_key(_sha256sum(source))}"
            mine, theirs = interleaved_medians(
                RUNS, lambda: curl_seconds(ours, headers), lambda: curl_seconds(direct)
            )
            rows.append(
                Row(
                    "download, local store vs " + static.name,
                    throughput(mine),
                    throughput(theirs),
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
        mine, theirs = interleaved_medians(
            RUNS, lambda: curl_seconds(ours, headers), lambda: curl_seconds(direct)
        )
        rows.append(
            Row(
                "download, S3 proxy mode vs direct S3 GET",
                throughput(mine),
                throughput(theirs),
                "MiB/s",
                "target >= 0.9",
            )
        )
        rows += _relay_reference(endpoint, direct)
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


def _relay_reference(endpoint: str, direct: str) -> list[Row]:
    """nginx relaying the same presigned GET: no relay on this machine gets near a direct
    GET, because the bytes cross loopback twice on the same two cores."""
    try:
        relay = StaticServer(upstream=endpoint)
    except RuntimeError:
        return []
    try:
        relayed = relay.url + direct.removeprefix(endpoint)
        theirs, direct_seconds = interleaved_medians(
            RUNS, lambda: curl_seconds(relayed), lambda: curl_seconds(direct)
        )
    finally:
        relay.stop()
    return [
        Row(
            "reference: nginx relaying the same GET vs direct",
            throughput(theirs),
            throughput(direct_seconds),
            "MiB/s",
            "what a relay in C reaches here",
        )
    ]


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


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def _altered(source: Path, mark: bytes) -> Path:
    """A copy with different first bytes: new content, so a publish cannot reuse a blob."""
    altered = source.with_name(f"{mark.decode()}.bin")
    shutil.copyfile(source, altered)
    with altered.open("r+b") as handle:
        handle.write(mark)
    return altered


def uploads(source: Path, endpoint: str) -> list[Row]:
    # moto's own CPU cost per GiB varies by a third between runs on either side.
    rounds = [source, _altered(source, b"round-2"), _altered(source, b"round-3")]
    digests = [_sha256sum(path) for path in rounds]
    without = _altered(source, b"no-sha256")
    with distro_service("s3", s3_endpoint=endpoint, workers=1) as (server, world, config, app):
        server_pid = psutil.Process(server.process.pid).children()[0].pid
        token = world.auth("pub@vendor.test")["Authorization"]
        client = boto3.client("s3", endpoint_url=endpoint)
        bucket = config["STORAGE_URL"].removeprefix("s3://")

        def direct_upload() -> float:
            start = time.perf_counter()
            client.upload_file(str(source), bucket, "baseline/direct-upload")
            seconds = time.perf_counter() - start
            client.delete_object(Bucket=bucket, Key="baseline/direct-upload")
            return seconds

        pending = iter(zip(rounds, ["9.0", "9.0.1", "9.0.2"], digests, strict=True))

        growth = []

        def api_upload() -> float:  # the sha256 goes before the file, as the CLI sends it
            path, version, digest = next(pending)
            with PeakRss(server_pid) as rss:
                seconds = _curl_publish(server.url, token, path, version, digest)
            growth.append(rss.growth)
            return seconds

        with_sum, direct = interleaved_medians(len(rounds), api_upload, direct_upload)
        # New content without a sha256 first takes the temporary-key path.
        without_sum = _curl_publish(server.url, token, without, "9.1", None)
    for path in [*rounds[1:], without]:
        path.unlink()
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
            "peak RSS growth of a fresh worker during upload",
            growth[0] / MIB,
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
