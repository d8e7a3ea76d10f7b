"""`distro fetch` refuses what a proxy, mirror or compromised front end could do to the
update list or the files: every attack below ends in exit 1 with the failed check named,
and nothing under the final file name."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from distro.tuf import repository
from tests.client.test_fetcher import fetch, send_relayed
from tests.conftest import cli_ok, grant_license, publish_file


class TamperingFront:
    """A reverse proxy in front of the real server that may rewrite answers by path:
    `rules` maps a path suffix to a function (body -> body)."""

    def __init__(self, upstream: str):
        self.rules: dict = {}
        upstream_address = urlsplit(upstream)
        rules = self.rules

        class Relay(BaseHTTPRequestHandler):
            def do_GET(self):
                connection = http.client.HTTPConnection(
                    upstream_address.hostname, upstream_address.port, timeout=30
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request("GET", self.path, headers=headers)
                answer = connection.getresponse()
                body = answer.read()
                for suffix, rewrite in rules.items():
                    if self.path.split("?")[0].endswith(suffix):
                        body = rewrite(body)
                send_relayed(self, answer, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def front(live_server):
    proxy = TamperingFront(live_server.url)
    yield proxy
    proxy.server.shutdown()


@pytest.fixture
def patch(runner, world, tmp_path):
    grant_license(runner, version="8.0", kind="perpetual")
    path = tmp_path / "fix.bin"
    path.write_bytes(b"the genuine patch" * 1000)
    return publish_file(runner, path, version="8.0.1", kind="patch", applies_to=">=8.0,<8.0.1")


def metadata(client, world, product: str, name: str) -> bytes:
    return client.get(
        f"/api/v1/tuf/{product}/metadata/{name}", headers=world.auth("pub@vendor.test")
    ).data


def refused(result, dest, *words):
    assert result.exit_code == 1, result.output
    assert all(word in result.output for word in words), result.output
    assert not (dest / "fix.bin").exists()


def flip_a_byte(body: bytes) -> bytes:
    return body[:100] + bytes([body[100] ^ 1]) + body[101:]


@pytest.mark.parametrize(
    "suffix,rewrite,words",
    [
        ("fix.bin", flip_a_byte, ["sha256 check failed"]),  # arbitrary package
        ("fix.bin", lambda body: body + b"more", ["more than the"]),  # longer than signed
    ],
)
def test_changed_target_bytes_are_refused(
    runner, world, front, patch, tmp_path, suffix, rewrite, words
):
    front.rules[suffix] = rewrite
    dest = tmp_path / "d"
    refused(fetch(runner, front.url, world, dest, "--from", "8.0"), dest, *words)
    assert not (dest / "fix.bin.part").exists()


def test_another_products_metadata_is_refused(runner, world, client, front, patch, tmp_path):
    crm_timestamp = metadata(client, world, "crm", "timestamp.json")
    front.rules["/tuf/erp/metadata/timestamp.json"] = lambda body: crm_timestamp
    dest = tmp_path / "d"
    refused(fetch(runner, front.url, world, dest, "--from", "8.0"), dest, "TUF metadata failed")


def test_a_root_of_another_product_given_as_root_is_refused(
    runner, world, client, live_server, patch, tmp_path
):
    crm_root = tmp_path / "crm-root.json"
    crm_root.write_bytes(metadata(client, world, "crm", "1.root.json"))
    dest = tmp_path / "d"
    result = fetch(runner, live_server.url, world, dest, "--from", "8.0", "--root", str(crm_root))
    refused(result, dest, "TUF metadata failed")


def test_an_older_timestamp_than_trusted_is_refused(
    runner, world, client, live_server, front, patch, tmp_path
):
    old = metadata(client, world, "erp", "timestamp.json")
    other = tmp_path / "other.bin"
    other.write_bytes(b"newer")
    publish_file(runner, other, version="8.0.0.1", kind="installer")  # a newer timestamp
    dest = tmp_path / "d"
    assert fetch(runner, live_server.url, world, dest, "--from", "8.0").exit_code == 0
    (dest / "fix.bin").unlink()
    front.rules["/tuf/erp/metadata/timestamp.json"] = lambda body: old  # rollback
    refused(fetch(runner, front.url, world, dest, "--from", "8.0"), dest, "TUF metadata failed")


def test_targets_of_another_version_under_the_signed_name_are_refused(
    runner, world, client, front, patch, tmp_path
):
    first = json.loads(metadata(client, world, "erp", "timestamp.json"))["signed"]
    version = first["meta"]["snapshot.json"]["version"]
    older = metadata(client, world, "erp", f"{version - 1}.targets.json")
    front.rules[f"/tuf/erp/metadata/{version}.targets.json"] = lambda body: older  # mix
    dest = tmp_path / "d"
    refused(fetch(runner, front.url, world, dest, "--from", "8.0"), dest, "TUF metadata failed")


def test_an_expired_timestamp_is_refused(runner, world, live_server, patch, tmp_path, monkeypatch):
    monkeypatch.setattr(repository, "TIMESTAMP_LIFETIME", timedelta(seconds=-60))
    monkeypatch.setattr(repository, "TIMESTAMP_RENEW_WITHIN", timedelta(days=-1))
    other = tmp_path / "other.bin"
    other.write_bytes(b"published while the timestamp signer is broken")
    publish_file(runner, other, version="8.0.0.1", kind="installer")  # frozen from now on
    dest = tmp_path / "d"
    refused(fetch(runner, live_server.url, world, dest, "--from", "8.0"), dest, "Expired")


def test_a_root_without_enough_of_the_old_root_signatures_is_refused(
    runner, world, client, live_server, front, patch, tmp_path
):
    dest = tmp_path / "d"
    assert fetch(runner, live_server.url, world, dest, "--from", "8.0").exit_code == 0
    (dest / "fix.bin").unlink()
    cli_ok(runner, "keys", "rotate")
    first = json.loads(metadata(client, world, "erp", "1.root.json"))
    old_keys = set(first["signed"]["roles"]["root"]["keyids"])

    def drop_old_signatures(body: bytes) -> bytes:
        root = json.loads(body)
        root["signatures"] = [s for s in root["signatures"] if s["keyid"] not in old_keys]
        return json.dumps(root).encode()

    front.rules["/tuf/erp/metadata/2.root.json"] = drop_old_signatures
    refused(fetch(runner, front.url, world, dest, "--from", "8.0"), dest, "TUF metadata failed")
    # the genuine rotation, signed by the old and the new root keys, is followed
    assert fetch(runner, live_server.url, world, dest, "--from", "8.0").exit_code == 0
