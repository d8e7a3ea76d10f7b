"""Login for people: CSRF-protected form, hardened cookie, throttling and audit."""

from __future__ import annotations

import re

from sqlalchemy import select

from distro.audit.models import AuditEvent
from tests.conftest import PASSWORD, db_session


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def login(client, email, password=PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def test_login_sets_a_hardened_session_cookie_and_is_audited(app, client, world):
    answer = login(client, "it@acme.test")
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/products").status_code == 200
    with db_session(app) as session:
        assert "login.success" in session.scalars(select(AuditEvent.action)).all()


def test_wrong_password_is_refused_and_audited(app, client, world):
    answer = login(client, "it@acme.test", "wrong-password!")
    assert answer.status_code == 400
    assert "Wrong e-mail or password" in answer.get_data(as_text=True)
    assert client.get("/api/v1/products").status_code == 401
    with db_session(app) as session:
        failures = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.failure")
        ).all()
        assert [f.details["email"] for f in failures] == ["it@acme.test"]


def test_login_without_csrf_token_is_refused(client, world):
    answer = client.post("/login", data={"email": "it@acme.test", "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get("/api/v1/products").status_code == 401


def test_cookie_authenticated_api_write_needs_the_csrf_header(client, world):
    login(client, "it@acme.test")
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    token = csrf_token(client, "/")
    accepted = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_repeated_failed_logins_are_throttled(client, world):
    statuses = [login(client, "it@acme.test", "wrong-password!").status_code for _ in range(12)]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    assert login(client, "it@acme.test").status_code == 429


def test_disabled_account_cannot_log_in(app, client, world):
    from distro.accounts.models import User

    with db_session(app) as session:
        session.get(User, world.ids["it@acme.test"]).disabled = True
        session.commit()
    answer = login(client, "it@acme.test")
    assert answer.status_code == 400
    assert "disabled" in answer.get_data(as_text=True)
    token = client.get("/api/v1/products", headers=world.auth("it@acme.test"))
    assert token.status_code == 401


def test_logout_ends_the_session(client, world):
    login(client, "it@acme.test")
    answer = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert answer.status_code == 302
    assert client.get("/api/v1/products").status_code == 401
