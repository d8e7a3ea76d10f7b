"""Tokens: shown once, stored hashed, scoped, expiring, revocable, tenant-isolated."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from distro.accounts.models import ApiToken
from distro.audit.models import AuditEvent
from tests.conftest import db_session


def test_created_token_is_shown_once_and_stored_only_as_hash(app, client, world):
    answer = client.post(
        "/api/v1/tokens", json={"name": "ci", "installer": True}, headers=world.auth("it@acme.test")
    )
    assert answer.status_code == 201
    body = answer.get_json()
    secret = body["token"]
    assert body["scope"] == "installer" and body["expires_at"]
    listed = client.get("/api/v1/tokens", headers=world.auth("it@acme.test")).get_json()
    assert all("token" not in item for item in listed["items"])
    assert body["id"] in [item["id"] for item in listed["items"]]
    with db_session(app) as session:
        row = session.get(ApiToken, body["id"])
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        for column in ApiToken.__table__.columns:
            assert secret not in str(getattr(row, column.key))
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "token.create" in actions


def test_installer_token_reaches_only_the_download_part(client, world):
    installer = world.auth("installer@acme")
    assert client.get("/api/v1/products", headers=installer).status_code == 200
    assert client.get("/api/v1/licenses", headers=installer).status_code == 200
    refused = client.post("/api/v1/tokens", json={"name": "x"}, headers=installer)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/tokens", headers=installer).status_code == 403


def test_revoked_token_is_refused(client, world):
    headers = world.auth("it@acme.test")
    created = client.post("/api/v1/tokens", json={"name": "tmp"}, headers=headers).get_json()
    temp = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/products", headers=temp).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{created['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    answer = client.get("/api/v1/products", headers=temp)
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthenticated"


def test_expired_token_is_refused(app, client, world):
    created = client.post(
        "/api/v1/tokens",
        json={"name": "old", "expires_days": 1},
        headers=world.auth("it@acme.test"),
    ).get_json()
    with db_session(app) as session:
        row = session.get(ApiToken, created["id"])
        row.expires_at = row.created_at - timedelta(seconds=1)
        session.commit()
    answer = client.get("/api/v1/products", headers={"Authorization": f"Bearer {created['token']}"})
    assert answer.status_code == 401


def test_tampered_or_unknown_token_is_refused(client, world):
    secret = world.secrets["it@acme.test"]
    for bad in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), "dst_nope_nope", "garbage"):
        answer = client.get("/api/v1/products", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401


def test_customer_admin_cannot_see_or_revoke_another_organisations_token(client, world):
    theirs = client.post(
        "/api/v1/tokens",
        json={"name": "globex-ci", "installer": True},
        headers=world.auth("it@globex.test"),
    ).get_json()
    mine = client.get("/api/v1/tokens", headers=world.auth("it@acme.test")).get_json()
    assert theirs["id"] not in [item["id"] for item in mine["items"]]
    answer = client.delete(f"/api/v1/tokens/{theirs['id']}", headers=world.auth("it@acme.test"))
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_found"


def test_token_input_is_validated(client, world):
    headers = world.auth("it@acme.test")
    for body, field in [
        ({}, "name"),
        ({"name": "x", "expires_days": 0}, "expires_days"),
        ({"name": "x", "expires_days": "9"}, "expires_days"),
        ({"name": "x", "installer": "yes"}, "installer"),
    ]:
        answer = client.post("/api/v1/tokens", json=body, headers=headers)
        assert answer.status_code == 400, body
        assert answer.get_json()["error"]["field"] == field


def test_staff_cannot_create_installer_tokens(client, world):
    answer = client.post(
        "/api/v1/tokens",
        json={"name": "x", "installer": True},
        headers=world.auth("pub@vendor.test"),
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "installer_needs_org"


def test_revocation_is_audited(app, client, world):
    headers = world.auth("it@acme.test")
    created = client.post("/api/v1/tokens", json={"name": "tmp"}, headers=headers).get_json()
    client.delete(f"/api/v1/tokens/{created['id']}", headers=headers)
    audit = client.get(
        "/api/v1/audit?action=token.revoke", headers=world.auth("admin@vendor.test")
    ).get_json()
    assert [e["target_id"] for e in audit["items"]] == [created["id"]]
    assert audit["items"][0]["actor"] == "it@acme.test"


def test_token_guessing_is_audited_and_then_throttled(app, client, world):
    guesses = [
        client.get("/api/v1/products", headers={"Authorization": f"Bearer dst_abc{i}_x"})
        for i in range(22)
    ]
    assert [g.status_code for g in guesses[:20]] == [401] * 20
    assert [g.status_code for g in guesses[20:]] == [429, 429]
    assert guesses[-1].get_json()["error"]["code"] == "too_many_attempts"
    with db_session(app) as session:
        failures = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.token_failure")
        ).all()
    assert len(failures) == 20 and failures[0].details["prefix"] == "abc0"
    assert "dst_abc0_x" not in str([f.details for f in failures])
    good = client.get("/api/v1/products", headers=world.auth("it@acme.test"))
    assert good.status_code == 200


def test_a_failed_token_is_audited_with_its_prefix_even_with_underscores(app, client, world):
    client.get("/api/v1/products", headers={"Authorization": "Bearer dst_abcdef_x_y_z"})
    with db_session(app) as session:
        failure = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.token_failure")
        ).one()
    assert failure.details == {"prefix": "abcdef"}
