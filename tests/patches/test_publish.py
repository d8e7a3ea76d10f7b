"""Publishing: validated, hashed while streaming, signed, visible only when complete."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from distro.patches.models import Package
from distro.storage.base import blob_key
from tests.conftest import db_session
from tests.patches.conftest import publish, published, sha


def test_publish_returns_signed_metadata(client, world, payload):
    body = published(client, world, payload, sha256=sha(payload))
    manifest = json.loads(body["manifest"])
    assert manifest == {
        "type": "package",
        "id": body["id"],
        "product": "erp",
        "version": "8.0.1",
        "kind": "patch",
        "filename": "fix.bin",
        "size": len(payload),
        "sha256": sha(payload),
        "applies_to": ">=8.0,<8.0.1",
        "published_at": body["published_at"],
    }
    assert body["manifest"] == json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    keys = client.get("/api/v1/keys").get_json()["items"]
    assert body["kid"] in [k["kid"] for k in keys]
    assert len(base64.b64decode(body["signature"])) == 64


def test_manifest_verifies_with_the_openssl_binary(client, world, payload, tmp_path):
    body = published(client, world, payload)
    key = client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"]
    (tmp_path / "key.pem").write_text(key)
    (tmp_path / "manifest.json").write_bytes(body["manifest"].encode())
    (tmp_path / "manifest.sig").write_bytes(base64.b64decode(body["signature"]))
    command = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "key.pem",
        "-rawin",
        "-in",
        "manifest.json",
        "-sigfile",
        "manifest.sig",
    ]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    (tmp_path / "manifest.json").write_bytes(body["manifest"].replace("8.0.1", "8.0.9").encode())
    tampered = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert tampered.returncode != 0


def test_checksum_mismatch_is_refused_and_keeps_nothing(app, client, world, payload):
    answer = publish(client, world, payload, sha256="0" * 64)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "checksum_mismatch"
    assert _package_count(app) == 0
    assert list(app.extensions["distro.storage"].list_objects()) == []


def test_duplicate_is_409(client, world, payload):
    published(client, world, payload)
    again = publish(client, world, payload)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "duplicate_package"


def test_objects_are_keyed_by_content_not_by_name(app, client, world, payload):
    published(client, world, payload, filename="../../etc/passwd".replace("/", "_"))
    keys = [obj.key for obj in app.extensions["distro.storage"].list_objects()]
    assert keys == [blob_key(sha(payload))]


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("version", "8.x", "invalid_version"),
        ("version", "1.2.3.4.5", "invalid_version"),
        ("kind", "hotfix", "invalid_input"),
        ("applies_to", "~8.0", "invalid_range"),
        ("applies_to", None, "invalid_input"),
        ("filename", "../evil.bin", "invalid_filename"),
        ("filename", "a\x00b", "invalid_filename"),
        ("sha256", "xyz", "invalid_input"),
    ],
)
def test_invalid_fields_are_400_and_keep_nothing(app, client, world, payload, field, value, code):
    answer = publish(client, world, payload, **{field: value})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["code"] == code
    assert _package_count(app) == 0
    assert list(app.extensions["distro.storage"].list_objects()) == []


def test_unknown_product_is_404(client, world, payload):
    assert publish(client, world, payload, product="nope").status_code == 404


def test_installer_must_not_name_applies_to(client, world, payload):
    answer = publish(client, world, payload, kind="installer", applies_to=">=8.0")
    assert answer.status_code == 400
    assert (
        published(client, world, payload, kind="installer", applies_to=None, version="9.0")[
            "applies_to"
        ]
        is None
    )


def test_upload_over_the_limit_is_413_and_keeps_nothing(app, client, world):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    answer = publish(client, world, b"x" * 5000)
    assert answer.status_code == 413
    assert _package_count(app) == 0
    assert list(app.extensions["distro.storage"].list_objects()) == []


@pytest.mark.parametrize(
    "who", ["it@acme.test", "am@vendor.test", "appr@vendor.test", "installer@acme"]
)
def test_only_publishers_publish(client, world, payload, who):
    assert publish(client, world, payload, who=who).status_code == 403


def test_not_multipart_is_400(client, world):
    answer = client.post(
        "/api/v1/packages", json={"product": "erp"}, headers=world.auth("pub@vendor.test")
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_upload"


def test_publish_is_audited(client, world, payload):
    body = published(client, world, payload)
    events = client.get(
        "/api/v1/audit?action=package.publish", headers=world.auth("admin@vendor.test")
    ).get_json()["items"]
    assert [(e["target_id"], e["actor"]) for e in events] == [(body["id"], "pub@vendor.test")]


def test_cli_publish_matches_api_rules(app, runner, tmp_path, world):
    path = tmp_path / "setup.bin"
    path.write_bytes(b"installer bytes" * 700_000)  # several S3 parts
    result = runner.invoke(
        args=[
            "packages",
            "publish",
            str(path),
            "--product",
            "erp",
            "--version",
            "9.0",
            "--kind",
            "installer",
        ]
    )
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()[-1]) == 32
    stored = [obj.key for obj in app.extensions["distro.storage"].list_objects()]
    assert stored == [blob_key(sha(path.read_bytes()))]  # straight to the content key
    bad = runner.invoke(
        args=[
            "packages",
            "publish",
            str(path),
            "--product",
            "erp",
            "--version",
            "9.0",
            "--kind",
            "patch",
        ]
    )
    assert bad.exit_code == 1
    assert "needs applies_to" in bad.output


def _package_count(app) -> int:
    with db_session(app) as session:
        return session.scalar(select(func.count()).select_from(Package))


def _publish_fields_first(client, world, data: bytes, **fields):
    form = {
        "product": "erp",
        "version": "9.0",
        "kind": "installer",
        **fields,
        "file": (io.BytesIO(data), "setup.bin"),
    }
    return client.post(
        "/api/v1/packages",
        data=form,
        content_type="multipart/form-data",
        headers=world.auth("pub@vendor.test"),
    )


def test_fields_sent_before_the_file_are_checked_before_storing(app, client, world, payload):
    answer = _publish_fields_first(client, world, payload, product="nope")
    assert answer.status_code == 404
    assert list(app.extensions["distro.storage"].list_objects()) == []


def test_checksum_sent_first_streams_to_the_content_key(app, client, world, payload):
    body = _publish_fields_first(client, world, payload, sha256=sha(payload))
    assert body.status_code == 201, body.get_json()
    keys = [obj.key for obj in app.extensions["distro.storage"].list_objects()]
    assert keys == [blob_key(sha(payload))]
    download = client.get(
        f"/api/v1/packages/{body.get_json()['id']}/download", headers=world.auth("pub@vendor.test")
    )
    assert download.data == payload


@pytest.mark.parametrize("copies", [1, 40], ids=["one-request", "multipart"])
def test_a_wrong_checksum_sent_first_leaves_nothing_under_that_key(
    app, client, world, payload, copies
):
    lie = "ab" * 32
    answer = _publish_fields_first(client, world, payload * copies, sha256=lie)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "checksum_mismatch"
    storage = app.extensions["distro.storage"]
    assert not storage.exists(blob_key(lie))
    assert list(storage.list_objects()) == []
    assert storage.abort_stale_multipart(timedelta(0), dry_run=True) == []


def test_same_content_published_twice_shares_one_object(app, client, world, payload):
    first = _publish_fields_first(client, world, payload, sha256=sha(payload))
    second = _publish_fields_first(client, world, payload, sha256=sha(payload), version="9.1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert [o.key for o in app.extensions["distro.storage"].list_objects()] == [
        blob_key(sha(payload))
    ]
