"""Secrets never leak: private keys and token secrets stay out of logs, error messages,
audit details and API responses (other than the one response that creates a token)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from distro.audit.models import AuditEvent
from tests.conftest import Gunicorn, db_session, grant_license


def private_key_material(keys_dir: Path) -> list[str]:
    material = []
    for path in keys_dir.glob("*.pem"):
        body = "".join(path.read_text().splitlines()[1:-1])
        material += [body, body[:24]]
    return material


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_appears_anywhere(
    app, app_config, client, world, runner, caplog, tmp_path, log_format
):
    caplog.set_level(logging.DEBUG)
    responses: list[str] = []
    log_path = tmp_path / "gunicorn.log"
    server = Gunicorn(app_config, workers=1, log_path=log_path, DISTRO_LOG_FORMAT=log_format)
    try:
        for headers in world.headers.values():
            for path in ("/api/v1/products", "/api/v1/tokens", "/api/v1/licenses"):
                responses.append(requests.get(server.url + path, headers=headers, timeout=10).text)
        broken = world.secrets["it@acme.test"][:-3] + "xyz"
        responses.append(
            requests.get(
                f"{server.url}/api/v1/products",
                timeout=10,
                headers={"Authorization": f"Bearer {broken}"},
            ).text
        )
        created = requests.post(
            f"{server.url}/api/v1/tokens",
            json={"name": "ci"},
            headers=world.auth("it@acme.test"),
            timeout=10,
        ).json()
        revoke = requests.delete(
            f"{server.url}/api/v1/tokens/{created['id']}",
            headers=world.auth("it@acme.test"),
            timeout=10,
        )
        responses.append(revoke.text)
        grant_license(runner, version="9.0", kind="perpetual")
        published = requests.post(
            f"{server.url}/api/v1/packages",
            headers=world.auth("pub@vendor.test"),
            files={"file": ("a.bin", io.BytesIO(b"bytes"))},
            data={"product": "erp", "version": "9.0", "kind": "installer"},
            timeout=10,
        )
        responses.append(published.text)
        responses.append(
            requests.get(
                f"{server.url}/api/v1/packages/{published.json()['id']}/download",
                headers=world.auth("installer@acme"),
                timeout=10,
            ).text
        )
        responses.append(requests.get(f"{server.url}/api/v1/keys", timeout=10).text)
    finally:
        server.stop()
    cli_output = [
        runner.invoke(args=args).output
        for args in (
            ["keys", "list"],
            ["keys", "rotate"],
            ["storage", "verify"],
            ["init"],
            ["tokens", "create", "nobody@x.test", "--name", "x"],
        )
    ]
    with db_session(app) as session:
        audit = [
            json.dumps({"action": e.action, "details": e.details, "email": e.actor_email})
            for e in session.scalars(select(AuditEvent))
        ]
    haystacks = {
        "responses": "\n".join(responses),
        "app logs": caplog.text,
        "gunicorn log": log_path.read_text(),
        "audit": "\n".join(audit),
        "cli": "\n".join(cli_output),
    }
    assert "GET /api/v1/products" in haystacks["gunicorn log"]
    if log_format == "json":
        assert_json_lines(log_path.read_text())
    assert "token.revoke" in haystacks["audit"] and "error:" in haystacks["cli"]
    secrets = [
        *world.secrets.values(),
        created["token"],
        *private_key_material(Path(app_config["SIGNING_KEYS_DIR"])),
    ]
    for secret in secrets:
        for token_part in (secret, secret.split("_", 2)[-1]):
            for where, text in haystacks.items():
                assert token_part not in text, f"a secret leaked into {where}"
    assert "PRIVATE KEY" not in "\n".join(haystacks.values())


def assert_json_lines(text: str) -> None:
    """Every line one JSON object; the access and request lines say what an operator
    searches by."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(
        line["path"] == "/api/v1/products" and line["status"] == 200 and line["request_id"]
        for line in access
    )
    requests_ = [line for line in lines if line["logger"] == "distro.request"]
    products = [line for line in requests_ if line["route"] == "/api/v1/products"]
    assert products and all(
        {"request_id", "user_id", "org", "status", "duration_ms", "bytes"} <= set(line)
        for line in products
    )
    assert any(line["user_id"] and line["org"] for line in products)  # a customer's call
