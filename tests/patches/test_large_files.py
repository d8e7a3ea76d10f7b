"""A 1 GiB installer through a real gunicorn worker: memory stays bounded both ways."""

from __future__ import annotations

import hashlib
import threading
import time

import psutil
import pytest
import requests

from tests.conftest import Gunicorn, MultipartUpload

GIB = 1024**3
LIMIT = 100 * 1024 * 1024


class PeakRss:
    """Samples the resident memory of a process and its children in a thread."""

    def __init__(self, pid: int):
        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        return sum(p.memory_info().rss for p in [self.process, *self.process.children(True)])

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.05)

    def __enter__(self):
        self.baseline = self._rss()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


@pytest.fixture
def gunicorn(app, app_config):
    server = Gunicorn(app_config, workers=1)
    yield server.url, server.process
    server.stop()


@pytest.mark.slow
@pytest.mark.one_database
@pytest.mark.parametrize("backend", ["local", "s3"])
def test_one_gib_upload_and_download_keep_memory_bounded(gunicorn, world):
    url, server = gunicorn
    headers = world.auth("pub@vendor.test")
    requests.get(f"{url}/api/v1/products", headers=headers, timeout=10)  # warm the worker
    upload = MultipartUpload(
        GIB, {"product": "erp", "version": "9.0", "kind": "installer"}, byte=b"\xa5"
    )
    with PeakRss(server.pid) as during_upload:
        status, body = upload.post(url, headers)
    assert status == 201, body
    expected = hashlib.sha256()
    block = b"\xa5" * (1024 * 1024)
    for _ in range(1024):
        expected.update(block)
    assert body["size"] == GIB and body["sha256"] == expected.hexdigest()
    assert during_upload.growth < LIMIT, f"upload grew RSS by {during_upload.growth >> 20} MiB"

    received = hashlib.sha256()
    with PeakRss(server.pid) as during_download:
        with requests.get(
            f"{url}/api/v1/packages/{body['id']}/download",
            headers=headers,
            stream=True,
            timeout=600,
        ) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_content(1024 * 1024):
                received.update(chunk)
    assert received.hexdigest() == body["sha256"]
    print(
        f"RSS growth: upload {during_upload.growth >> 20} MiB, "
        f"download {during_download.growth >> 20} MiB"
    )
    assert during_download.growth < LIMIT, (
        f"download grew RSS by {during_download.growth >> 20} MiB"
    )


@pytest.mark.parametrize("backend", ["local"])
def test_a_slow_upload_does_not_block_other_writes(live_server, world):
    """While a publish streams in, the database stays free for everyone else."""
    results = []

    def create_token_halfway(sent: int) -> None:
        if sent == 4 * 1024 * 1024:
            answer = requests.post(
                f"{live_server.url}/api/v1/tokens",
                json={"name": "meanwhile"},
                headers=world.auth("it@acme.test"),
                timeout=60,
            )
            results.append((answer.status_code, answer.elapsed.total_seconds()))

    upload = MultipartUpload(
        8 * 1024 * 1024,
        {"product": "erp", "version": "9.0", "kind": "installer"},
        during=create_token_halfway,
    )
    status, body = upload.post(live_server.url, world.auth("pub@vendor.test"))
    assert status == 201, body
    assert results and results[0][0] == 201 and results[0][1] < 5
