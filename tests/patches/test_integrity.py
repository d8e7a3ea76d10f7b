"""Store integrity: damaged objects are reported, leftovers of failed uploads are found."""

from __future__ import annotations

import time
from datetime import timedelta

import boto3
import pytest
from moto.server import ThreadedMotoServer

from distro.app import create_app
from distro.storage.base import blob_key
from tests.conftest import LiveServer, MultipartUpload, make_app, seed_world, tamper_stored
from tests.patches.conftest import publish, published, sha


def test_storage_verify_reports_a_flipped_bit(
    app, client, runner, world, payload, backend, s3_endpoint
):
    body = published(client, world, payload)
    clean = runner.invoke(args=["storage", "verify"])
    assert clean.exit_code == 0 and "1 objects checked, 0 damaged" in clean.output
    tamper_stored(app, blob_key(body["sha256"]), backend, s3_endpoint)
    damaged = runner.invoke(args=["storage", "verify"])
    assert damaged.exit_code == 1
    assert f"HASH: {blob_key(body['sha256'])} (packages {body['id']})" in damaged.output


def test_storage_verify_reports_a_missing_object(app, client, runner, world, payload):
    body = published(client, world, payload)
    app.extensions["distro.storage"].delete(blob_key(body["sha256"]))
    result = runner.invoke(args=["storage", "verify"])
    assert result.exit_code == 1 and "MISSING" in result.output


def test_sweep_finds_and_deletes_only_unreferenced_objects(app, client, runner, world, payload):
    body = published(client, world, payload)
    storage = app.extensions["distro.storage"]
    writer = storage.open_writer(10**9)  # an upload whose process died before finishing
    writer.write(b"half an upload")
    leftover = writer.finish()
    listed = runner.invoke(args=["storage", "sweep", "--older-than", "0"])
    assert listed.exit_code == 0
    assert f"unreferenced: {leftover}" in listed.output
    assert blob_key(body["sha256"]) not in listed.output
    kept = runner.invoke(args=["storage", "sweep", "--delete"])
    assert f"kept (recent): {leftover}" in kept.output and storage.exists(leftover)
    deleted = runner.invoke(args=["storage", "sweep", "--delete", "--older-than", "0"])
    assert f"deleted: {leftover}" in deleted.output
    assert not storage.exists(leftover) and storage.exists(blob_key(body["sha256"]))
    download = client.get(
        f"/api/v1/packages/{body['id']}/download", headers=world.auth("pub@vendor.test")
    )
    assert download.data == payload


@pytest.mark.parametrize("backend", ["s3"])
def test_s3_going_away_mid_upload_leaves_no_package_and_sweep_finds_the_rest(app_config):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="flaky")
    config = dict(app_config, STORAGE_URL="s3://flaky", S3_ENDPOINT_URL=endpoint)
    app = make_app(config)
    world = seed_world(app.test_cli_runner())
    size = 40 * 1024 * 1024

    def stop_s3_halfway(sent: int) -> None:
        # Stopping before the server has begun the multipart upload leaves nothing to
        # sweep (also correct, but not this case), so wait until the store has one.
        if sent == size // 2:
            deadline = time.monotonic() + 30
            while not s3.list_multipart_uploads(Bucket="flaky").get("Uploads"):
                assert time.monotonic() < deadline, "the upload never reached the store"
                time.sleep(0.01)
            server.stop()

    upload = MultipartUpload(
        size, {"product": "erp", "version": "9.0", "kind": "installer"}, during=stop_s3_halfway
    )
    live = LiveServer(app)
    try:
        status, body = upload.post(live.url, world.auth("pub@vendor.test"))
    finally:
        live.stop()
    assert status == 503
    assert body["error"]["code"] == "storage_unavailable"
    restarted = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    restarted.start()
    try:
        client = app.test_client()
        listing = client.get("/api/v1/products/erp/packages", headers=world.auth("pub@vendor.test"))
        assert listing.get_json()["items"] == []
        sweep = app.test_cli_runner().invoke(
            args=["storage", "sweep", "--older-than", "0", "--delete"]
        )
        assert "multipart upload: uploads/" in sweep.output, sweep.output
        fresh = create_app(config).extensions["distro.storage"]
        assert fresh.abort_stale_multipart(timedelta(0), dry_run=True) == []
    finally:
        restarted.stop()


def test_publish_after_a_failed_one_succeeds(client, world, payload):
    assert publish(client, world, payload, sha256="1" * 64).status_code == 422
    assert published(client, world, payload, sha256=sha(payload))["size"] == len(payload)
