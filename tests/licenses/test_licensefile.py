"""The license file: armoured, signed, verifiable offline by distro and by openssl."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from tests.licenses.conftest import grant


@pytest.fixture
def license_file(client, world, runner, tmp_path):
    license_id = grant(runner, kind="perpetual", expires=None)
    text = client.get(
        f"/api/v1/licenses/{license_id}/file", headers=world.auth("it@acme.test")
    ).get_data(as_text=True)
    (tmp_path / "key.pem").write_text(
        client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"]
    )
    (tmp_path / "acme.lic").write_text(text)
    return license_id, text


def test_file_format_is_armoured_base64_json(license_file):
    license_id, text = license_file
    lines = text.strip().split("\n")
    assert lines[0] == "-----BEGIN LICENSE FILE-----"
    assert lines[-1] == "-----END LICENSE FILE-----"
    assert all(len(line) <= 64 for line in lines) and text.isascii()
    envelope = json.loads(base64.b64decode("".join(lines[1:-1])))
    assert set(envelope) == {"alg", "kid", "data", "sig"} and envelope["alg"] == "ed25519"
    data = base64.b64decode(envelope["data"])
    payload = json.loads(data)
    assert (
        data
        == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert payload == {
        "type": "license",
        "id": license_id,
        "serial": payload["serial"],
        "org": {"code": "acme", "name": "ACME 有限公司"},
        "product": "erp",
        "version": "8.0",
        "modules": ["fin", "hr", "mfg"],
        "user_count": 50,
        "kind": "perpetual",
        "deployment": "private_cloud",
        "starts": "2026-01-01",
        "expires": None,
        "issued_at": payload["issued_at"],
        "supersedes": None,
        "request_id": None,
    }


def test_payload_verifies_with_the_openssl_binary(license_file, tmp_path):
    _, text = license_file
    envelope = json.loads(base64.b64decode("".join(text.strip().split("\n")[1:-1])))
    (tmp_path / "payload").write_bytes(base64.b64decode(envelope["data"]))
    (tmp_path / "payload.sig").write_bytes(base64.b64decode(envelope["sig"]))
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "key.pem",
            "-rawin",
            "-in",
            "payload",
            "-sigfile",
            "payload.sig",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_distro_verify_license_prints_the_payload(runner, license_file, tmp_path):
    license_id, _ = license_file
    result = runner.invoke(
        args=["verify", "license", str(tmp_path / "acme.lic"), "--key", str(tmp_path / "key.pem")]
    )
    assert result.exit_code == 0, result.output
    assert '"user_count": 50' in result.output
    assert result.output.strip().splitlines()[-1] == license_id


def test_any_one_character_change_fails_verification(runner, license_file, tmp_path):
    _, text = license_file
    body_start = text.index("\n") + 1
    failures = 0
    positions = range(body_start, len(text) - len("-----END LICENSE FILE-----\n"))
    for position in positions:
        if text[position] == "\n":
            continue
        swapped = "B" if text[position] != "B" else "C"
        (tmp_path / "bad.lic").write_text(text[:position] + swapped + text[position + 1 :])
        result = runner.invoke(
            args=[
                "verify",
                "license",
                str(tmp_path / "bad.lic"),
                "--key",
                str(tmp_path / "key.pem"),
            ]
        )
        assert result.exit_code == 1, position
        assert result.output.startswith("error: ")
        failures += 1
    assert failures > 500  # every character of the body


def test_a_different_key_is_refused(runner, license_file, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "other.pem").write_bytes(other)
    result = runner.invoke(
        args=["verify", "license", str(tmp_path / "acme.lic"), "--key", str(tmp_path / "other.pem")]
    )
    assert result.exit_code == 1 and "signed by key" in result.output


def test_license_file_download_is_audited_and_tenant_isolated(client, world, license_file):
    license_id, _ = license_file
    other = client.get(f"/api/v1/licenses/{license_id}/file", headers=world.auth("it@globex.test"))
    assert other.status_code == 404
    other_token = client.get(
        f"/api/v1/licenses/{license_id}", headers=world.auth("installer@globex")
    )
    assert other_token.status_code == 404
    own = client.get(f"/api/v1/licenses/{license_id}/file", headers=world.auth("installer@acme"))
    assert own.status_code == 200
    events = client.get(
        "/api/v1/audit?action=license.download", headers=world.auth("admin@vendor.test")
    ).get_json()["items"]
    assert len(events) == 2  # the fixture's download and this one


def test_license_listing_by_role(client, world, runner, license_file):
    globex = grant(runner, org="globex", kind="perpetual", expires=None)
    acme_ids = [
        i["id"]
        for i in client.get("/api/v1/licenses", headers=world.auth("it@acme.test")).get_json()[
            "items"
        ]
    ]
    assert acme_ids == [license_file[0]]
    am = client.get("/api/v1/licenses", headers=world.auth("am2@vendor.test")).get_json()["items"]
    assert [i["id"] for i in am] == [globex]
    approver = client.get("/api/v1/licenses", headers=world.auth("appr@vendor.test")).get_json()
    assert len(approver["items"]) == 2 and approver["items"][0]["status"] == "active"
