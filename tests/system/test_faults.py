"""Faults half-way: the store goes away, a worker is killed, the disk fills up.

Each leaves a clear error and nothing visible; what bytes remain, `storage sweep` finds.
"""

from __future__ import annotations

import os
import resource
import signal
import time

import boto3
import psutil
import requests
from moto.server import ThreadedMotoServer

from tests.conftest import (
    Gunicorn,
    MultipartUpload,
    grant_license,
    make_app,
    publish_file,
    seed_world,
)


def _grant_and_publish(runner, tmp_path) -> str:
    grant_license(runner, version="9.0", kind="perpetual")
    path = tmp_path / "setup.bin"
    path.write_bytes(os.urandom(100_000))
    return publish_file(runner, path, version="9.0")


def test_store_down_during_download_is_a_503_envelope(app_config, tmp_path):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="down")
    app = make_app(dict(app_config, STORAGE_URL="s3://down", S3_ENDPOINT_URL=endpoint))
    runner = app.test_cli_runner()
    world = seed_world(runner)
    package = _grant_and_publish(runner, tmp_path)
    server.stop()
    answer = app.test_client().get(
        f"/api/v1/packages/{package}/download", headers=world.auth("installer@acme")
    )
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "storage_unavailable"
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503


def test_worker_killed_mid_upload_leaves_nothing_visible(app, app_config, world, runner):
    server = Gunicorn(app_config, workers=1)
    try:
        worker = psutil.Process(server.process.pid).children()[0]
        size = 64 * 1024 * 1024

        def kill_halfway(sent: int) -> None:
            if sent == size // 2:
                os.kill(worker.pid, signal.SIGKILL)
                time.sleep(0.5)

        upload = MultipartUpload(
            size, {"product": "erp", "version": "9.0", "kind": "installer"}, during=kill_halfway
        )
        try:
            status, _ = upload.post(server.url, world.auth("pub@vendor.test"))
        except (ConnectionError, OSError):
            status = None
        assert status in (None, 500, 502)
        listing = requests.get(
            f"{server.url}/api/v1/products/erp/packages",
            headers=world.auth("pub@vendor.test"),
            timeout=30,
        )
        assert listing.status_code == 200 and listing.json()["items"] == []
    finally:
        server.stop()
    sweep = runner.invoke(args=["storage", "sweep", "--older-than", "0", "--delete"])
    assert sweep.exit_code == 0
    assert "deleted: uploads/" in sweep.output
    assert list(app.extensions["distro.storage"].list_objects()) == []


def test_full_disk_in_the_local_store_is_507_and_nothing_visible(app, client, world):
    body = MultipartUpload(
        8 * 1024 * 1024, {"product": "erp", "version": "9.0", "kind": "installer"}
    )
    data = b"".join(body.chunks())
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # Every file this process writes is capped at 4 MiB: the upload cannot fit, the
    # database (a few hundred KiB) still can.
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 * 1024 * 1024, hard))
    try:
        answer = client.post(
            "/api/v1/packages",
            data=data,
            content_type=body.content_type,
            headers=world.auth("pub@vendor.test"),
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert answer.status_code == 507
    assert answer.get_json()["error"]["code"] == "insufficient_storage"
    listing = client.get("/api/v1/products/erp/packages", headers=world.auth("pub@vendor.test"))
    assert listing.get_json()["items"] == []
    assert list(app.extensions["distro.storage"].list_objects()) == []
