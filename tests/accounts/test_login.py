"""Login for people: CSRF-protected form, hardened cookie, throttling and audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from distro.accounts.models import LoginSession
from distro.accounts.sessions import LIFETIME
from distro.audit.models import AuditEvent
from tests.conftest import PASSWORD, csrf_token, db_session, login

__all__ = ["csrf_token", "login"]  # page helpers other tests import from here


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


def test_an_account_under_attack_backs_off(client, world):
    """From the fifth failure on, each one blocks the account a while (1 s, 2 s, 4 s, …),
    whatever the password of the next attempt: it is not even looked at."""
    statuses = [login(client, "it@acme.test", "wrong-password!").status_code for _ in range(5)]
    assert statuses == [400] * 5
    refused = login(client, "it@acme.test")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in refused.get_data(as_text=True)


def test_a_success_forgets_the_failures(client, world):
    for _ in range(4):
        login(client, "it@acme.test", "wrong-password!")
    assert login(client, "it@acme.test").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    statuses = [login(client, "it@acme.test", "wrong-password!").status_code for _ in range(4)]
    assert statuses == [400] * 4


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


def saved_session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logout_ends_the_session_on_the_server(app, client, world):
    """Review finding 3: a copy of the cookie taken before logout is worth nothing after."""
    login(client, "it@acme.test")
    saved = saved_session_cookie(client)
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/api/v1/products").status_code == 401
    assert replay.get("/users").status_code == 302  # to the login page


def test_logging_out_in_one_browser_keeps_the_others_signed_in(app, client, world):
    login(client, "it@acme.test")
    other = app.test_client()
    login(other, "it@acme.test")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/api/v1/products").status_code == 401
    assert other.get("/api/v1/products").status_code == 200


def test_a_session_does_not_outlive_its_lifetime(app, client, world):
    login(client, "it@acme.test")
    with db_session(app) as session:
        row = session.scalars(select(LoginSession)).one()
        row.created_at -= LIFETIME + timedelta(minutes=1)
        session.commit()
    assert client.get("/api/v1/products").status_code == 401
