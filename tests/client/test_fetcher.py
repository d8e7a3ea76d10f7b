"""The installer client against a real server on loopback with the S3 backend."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import threading

import boto3
import pytest

from distro.client import DistroClient, FetchError, load_keys
from distro.storage.base import blob_key
from tests.conftest import LiveServer, grant_license, make_app, publish_file, seed_world

BIG = 12 * 1024 * 1024


@pytest.fixture
def app_config(app_config, s3_bucket):
    return dict(app_config, STORAGE_URL=f"s3://{s3_bucket}/dist")


@pytest.fixture
def release(app, client, world, runner, tmp_path):
    """acme holds erp 8.0; 8.0.1, 8.0.2 (big) patches and a 9.0 installer exist."""
    grant_license(runner, version="9.0", kind="perpetual")
    files = {}
    for version, applies, size in [
        ("8.0.1", ">=8.0,<8.0.1", 1000),
        ("8.0.2", ">=8.0.1,<8.0.2", BIG),
        ("9.0", None, 5000),
    ]:
        path = tmp_path / f"erp-{version}.bin"
        path.write_bytes(os.urandom(size))
        kind = "patch" if applies else "installer"
        package_id = publish_file(runner, path, version=version, kind=kind, applies_to=applies)
        files[version] = (package_id, path.read_bytes())
    key = tmp_path / "vendor.pem"
    key.write_text(client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"])
    return files, key


@pytest.fixture
def root_file(client, world, tmp_path):
    """erp's TUF root as the vendor would ship it with the installer."""
    path = tmp_path / "erp-root.json"
    path.write_bytes(
        client.get(
            "/api/v1/tuf/erp/metadata/1.root.json", headers=world.auth("pub@vendor.test")
        ).data
    )
    return path


def fetch(runner, server, world, dest, *args):
    return runner.invoke(
        args=[
            "fetch",
            "--server",
            server,
            "--token",
            world.secrets["installer@acme"],
            "--product",
            "erp",
            "--dest",
            str(dest),
            *args,
        ]
    )


def test_full_path_is_fetched_and_verified(runner, world, live_server, release, tmp_path):
    files, key = release
    dest = tmp_path / "updates"
    result = fetch(runner, live_server.url, world, dest, "--from", "8.0", "--key", str(key))
    assert result.exit_code == 0, result.output
    assert "verified patch 8.0.1" in result.output and "verified patch 8.0.2" in result.output
    for version in ("8.0.1", "8.0.2"):
        assert (dest / f"erp-{version}.bin").read_bytes() == files[version][1]
        manifest = json.loads((dest / f"erp-{version}.bin.manifest.json").read_text())
        assert manifest["id"] == files[version][0]
        assert len((dest / f"erp-{version}.bin.sig").read_bytes()) == 64
    offline = runner.invoke(
        args=[
            "verify",
            "package",
            str(dest / "erp-8.0.2.bin"),
            "--manifest",
            str(dest / "erp-8.0.2.bin.manifest.json"),
            "--sig",
            str(dest / "erp-8.0.2.bin.sig"),
            "--key",
            str(key),
        ]
    )
    assert offline.exit_code == 0, offline.output


def test_json_output_for_installer_scripts(
    runner, world, live_server, release, root_file, tmp_path
):
    _, key = release
    result = fetch(
        runner,
        live_server.url,
        world,
        tmp_path / "d",
        "--installer",
        "--version",
        "9.0",
        "--key",
        str(key),
        "--root",
        str(root_file),
        "--json",
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.strip().splitlines()]
    assert events[0]["event"] == "plan" and events[0]["steps"][0]["version"] == "9.0"
    assert events[-1] == {"event": "done", "count": 1}
    assert any(e["event"] == "verified" for e in events)


def test_without_root_the_first_run_trusts_version_1_with_a_warning(
    runner, world, live_server, release, tmp_path
):
    dest = tmp_path / "d"
    first = fetch(runner, live_server.url, world, dest, "--from", "8.0.1")
    assert first.exit_code == 0 and "WARNING: no --root given" in first.output
    assert json.loads((dest / ".tuf" / "erp" / "root.json").read_bytes())["signed"]["version"] == 1
    second = fetch(runner, live_server.url, world, dest, "--from", "8.0.1")
    assert second.exit_code == 0 and "WARNING" not in second.output


def test_a_root_given_is_trusted_without_a_warning(
    runner, world, live_server, release, root_file, tmp_path
):
    result = fetch(
        runner, live_server.url, world, tmp_path / "d", "--from", "8.0.1", "--root", str(root_file)
    )
    assert result.exit_code == 0 and "WARNING" not in result.output


class CuttingProxy:
    """A TCP relay that closes the connection after `budget` response bytes."""

    def __init__(self, upstream_port: int, budget: int):
        self.upstream_port, self.budget = upstream_port, budget
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(
                target=self._pipe, args=(downstream, upstream, None), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, downstream, self.budget), daemon=True
            ).start()

    @staticmethod
    def _pipe(source, target, budget):
        sent = 0
        try:
            while budget is None or sent < budget:
                data = source.recv(65536 if budget is None else min(65536, budget - sent))
                if not data:
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self.listener.close()


def test_a_cut_download_resumes_where_it_stopped(runner, world, live_server, release, tmp_path):
    files, key = release
    dest = tmp_path / "d"
    port = int(live_server.url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, budget=BIG // 2)
    cut = fetch(runner, proxy.url, world, dest, "--from", "8.0.1", "--key", str(key), "--json")
    proxy.close()
    assert cut.exit_code == 1
    assert "interrupted" in cut.output or "run again to resume" in cut.output
    partial = dest / "erp-8.0.2.bin.part"
    assert not (dest / "erp-8.0.2.bin").exists()
    have = partial.stat().st_size
    assert BIG // 4 < have < BIG
    resumed = fetch(
        runner, live_server.url, world, dest, "--from", "8.0.1", "--key", str(key), "--json"
    )
    assert resumed.exit_code == 0, resumed.output
    verified = [json.loads(line) for line in resumed.output.splitlines() if '"verified"' in line][0]
    assert verified["resumed_from"] == have
    assert verified["downloaded"] == BIG - have
    assert (dest / "erp-8.0.2.bin").read_bytes() == files["8.0.2"][1]
    assert not partial.exists()


def test_a_flipped_bit_in_the_store_is_caught_and_never_kept(
    app, runner, world, live_server, release, tmp_path, s3_endpoint
):
    files, key = release
    storage = app.extensions["distro.storage"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    object_key = storage.full(blob_key(hashlib.sha256(files["8.0.1"][1]).hexdigest()))
    data = bytearray(files["8.0.1"][1])
    data[10] ^= 0x04
    s3.put_object(Bucket=storage.bucket, Key=object_key, Body=bytes(data))
    dest = tmp_path / "d"
    result = fetch(runner, live_server.url, world, dest, "--from", "8.0", "--key", str(key))
    assert result.exit_code == 1
    assert "sha256 check failed" in result.output and files["8.0.1"][0] in result.output
    assert not (dest / "erp-8.0.1.bin").exists() and not (dest / "erp-8.0.1.bin.part").exists()
    assert not (dest / "erp-8.0.2.bin").exists()


def test_a_manifest_signed_by_an_unknown_key_is_refused(
    runner, world, live_server, release, tmp_path
):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    dest = tmp_path / "d"
    result = fetch(runner, live_server.url, world, dest, "--from", "8.0", "--key", str(stranger))
    assert result.exit_code == 1
    assert "not one of the trusted keys" in result.output
    assert list(dest.glob("*.bin*")) == []


def test_redirect_mode_is_followed(app_config, tmp_path):
    config = dict(app_config, DOWNLOAD_MODE="redirect")
    app = make_app(config)
    runner = app.test_cli_runner()
    world = seed_world(runner)
    grant_license(runner, version="9.0", kind="perpetual")
    payload = os.urandom(70_000)
    (tmp_path / "setup.bin").write_bytes(payload)
    publish_file(runner, tmp_path / "setup.bin", version="9.0")
    server = LiveServer(app)
    try:
        keys = {k["kid"]: k for k in app.test_client().get("/api/v1/keys").get_json()["items"]}
        (tmp_path / "k.pem").write_text(next(iter(keys.values()))["public_key_pem"])
        client = DistroClient(
            server.url, world.secrets["installer@acme"], load_keys([tmp_path / "k.pem"])
        )
        direct = client.http.get(
            f"{server.url}/api/v1/packages/{client.installer('erp', '9.0')['id']}/download",
            allow_redirects=False,
        )
        assert direct.status_code == 302
        fetched = client.fetch(client.installer("erp", "9.0"), tmp_path / "out")
        assert fetched.path.read_bytes() == payload
    finally:
        server.stop()


def test_python_api_refuses_an_unreachable_target(world, live_server, release, tmp_path):
    _, key = release
    client = DistroClient(live_server.url, world.secrets["installer@acme"], load_keys([key]))
    assert [p["version"] for p in client.update_plan("erp", "8.0", "8.0.1")] == ["8.0.1"]
    with pytest.raises(FetchError, match="reaches 8.0.5"):
        client.update_plan("erp", "8.0", "8.0.5")


class ForwardProxy:
    """A plain HTTP forward proxy (absolute-URI GETs) that records what it relayed."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        seen = self.seen = []
        moved = self.moved = []  # body bytes relayed, per answer

        class Relay(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's naming
                target = urlsplit(self.path)
                seen.append(self.path)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("proxy-connection", "connection")
                }
                upstream.request(
                    "GET",
                    target.path + (f"?{target.query}" if target.query else ""),
                    headers=headers,
                )
                answer = upstream.getresponse()
                body = answer.read()
                moved.append(len(body))
                send_relayed(self, answer, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def send_relayed(handler, answer: http.client.HTTPResponse, body: bytes) -> None:
    """Answer `handler`'s request with an upstream `answer` whose body was read (and
    maybe changed): its status and headers, less the hop-by-hop ones, and `body`."""
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in ("transfer-encoding", "connection", "content-length"):
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_fetch_goes_through_the_proxy_named_in_the_environment(
    runner, world, live_server, release, tmp_path, monkeypatch
):
    files, key = release
    proxy = ForwardProxy()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "")
    dest = tmp_path / "d"
    result = fetch(runner, live_server.url, world, dest, "--from", "8.0.1", "--key", str(key))
    proxy.server.shutdown()
    assert result.exit_code == 0, result.output
    assert (dest / "erp-8.0.2.bin").read_bytes() == files["8.0.2"][1]
    assert any("/api/v1/tuf/erp/targets/8.0.2/" in path for path in proxy.seen)
    assert any(path.endswith("/api/v1/tuf/erp/metadata/timestamp.json") for path in proxy.seen)
    assert any("/updates?from=8.0.1" in path for path in proxy.seen)
