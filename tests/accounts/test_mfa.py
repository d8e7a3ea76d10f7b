"""Staff sign in with a second factor (DISTRO_STAFF_MFA=required): an authenticator app
(TOTP) or a security key (WebAuthn, driven here by a software key that signs with a real
P-256 key), recovery codes once each, a check at the start of every session, and a fresh
check for what matters."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from distro.accounts import totp
from distro.accounts.models import LoginSession, RecoveryCode, SecondFactor, User
from distro.accounts.sealing import Sealer
from distro.audit.models import AuditEvent
from distro.core.clock import utcnow
from distro.mail.models import OutboxMessage
from tests.accounts.softkey import SoftKey
from tests.conftest import (
    cli_ok,
    csrf_token,
    db_session,
    grant_license,
    login,
    publish_file,
    run_worker,
)

ORIGIN = "http://localhost"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "STAFF_MFA": "required", "BASE_URL": ORIGIN}


class Person:
    """A browser signed in with a password (its session not yet checked)."""

    def __init__(self, app, email: str):
        self.client = app.test_client()
        assert login(self.client, email).status_code == 302
        self.token = csrf_token(self.client, "/login")

    def post(self, path: str, body: dict | None = None):
        return self.client.post(path, json=body or {}, headers={"X-CSRFToken": self.token})

    def get(self, path: str):
        return self.client.get(path)


def enrol_app(person: Person) -> tuple[str, list[str]]:
    """Set up an authenticator app; returns its secret and the recovery codes."""
    secret = person.post("/api/v1/mfa/totp").get_json()["secret"]
    done = person.post("/api/v1/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_json()
    return secret, done.get_json()["recovery_codes"]


def next_code(secret: str, steps: int = 1) -> str:
    """A code of a later 30-second step (one already used for this step is refused)."""
    return pyotp.TOTP(secret).at(utcnow().timestamp() + 30 * steps)


def make_stale(app, person_email: str, minutes: int = 6) -> None:
    with db_session(app) as session:
        user = session.scalars(select(User).where(User.email == person_email)).one()
        session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user.id)
            .values(checked_at=utcnow() - timedelta(minutes=minutes))
        )
        session.commit()


def test_staff_without_a_factor_reach_only_enrolment(app, world):
    person = Person(app, "appr@vendor.test")
    page = person.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/mfa/enrol")
    assert person.get("/mfa/enrol").status_code == 200
    refused = person.get("/api/v1/license-requests")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "mfa_required"
    assert person.get("/api/v1/mfa/status").get_json()["step"] == "enrol"


def test_an_authenticator_app_is_enrolled_then_every_session_starts_with_a_check(app, world):
    first = Person(app, "appr@vendor.test")
    begun = first.post("/api/v1/mfa/totp").get_json()
    assert begun["otpauth_uri"].startswith("otpauth://totp/distro:appr%40vendor.test?secret=")
    assert first.get("/api/v1/mfa/status").get_json()["step"] == "enrol"  # not yet confirmed
    wrong = first.post("/api/v1/mfa/totp/confirm", {"code": "000000"})
    assert wrong.status_code == 400 and wrong.get_json()["error"]["code"] == "mfa_invalid"
    confirmed = first.post("/api/v1/mfa/totp/confirm", {"code": pyotp.TOTP(begun["secret"]).now()})
    codes = confirmed.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert first.get("/").status_code == 200  # confirming was this session's check

    second = Person(app, "appr@vendor.test")
    sent_back = second.get("/requests")
    assert sent_back.status_code == 302 and sent_back.headers["Location"] == "/mfa?next=/requests"
    assert second.post("/api/v1/mfa/verify", {"code": "123456"}).status_code == 401
    ok = second.post("/api/v1/mfa/verify", {"code": next_code(begun["secret"])})
    assert ok.status_code == 200 and ok.get_json()["verified"] == "totp"
    assert second.get("/requests").status_code == 200
    with db_session(app) as session:
        stored = session.scalars(select(SecondFactor.totp_sealed)).one()
        hashes = session.scalars(select(RecoveryCode.code_hash)).all()
    assert begun["secret"] not in stored and not set(codes) & set(hashes)


def test_the_check_sends_back_only_to_this_site(app, world):
    _secret, codes = enrol_app(Person(app, "pub@vendor.test"))
    person = Person(app, "pub@vendor.test")
    token = csrf_token(person.client, "/mfa")
    for i, target in enumerate(("/\\evil.example/", "//evil.example/", "https://evil.example/")):
        back = person.client.post(
            "/mfa",
            data={"csrf_token": token, "code": codes[i], "next": target},
        )
        assert back.status_code == 302 and back.headers["Location"] == "/", target


def test_a_code_is_taken_once_and_wrong_codes_are_throttled(app, world):
    secret, _codes = enrol_app(Person(app, "pub@vendor.test"))
    code = next_code(secret)
    assert (
        Person(app, "pub@vendor.test").post("/api/v1/mfa/verify", {"code": code}).status_code == 200
    )
    again = Person(app, "pub@vendor.test").post("/api/v1/mfa/verify", {"code": code})
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "mfa_invalid"
    guesser = Person(app, "pub@vendor.test")
    for _ in range(4):  # the refused reuse was the first of five wrong codes
        assert guesser.post("/api/v1/mfa/verify", {"code": "999999"}).status_code == 401
    # Now even the right code waits: the key is blocked, not the guess.
    throttled = guesser.post("/api/v1/mfa/verify", {"code": next_code(secret, 2)})
    assert throttled.status_code == 429


def test_two_requests_racing_with_one_code_pass_once(app, world):
    """The loser of a race read the factor before the winner wrote its step (on
    PostgreSQL both may read at once): its write must still refuse the code."""
    secret, _codes = enrol_app(Person(app, "pub@vendor.test"))
    code = next_code(secret)
    sealer = Sealer(app.config["SECRET_KEY"])
    totp_factor = select(SecondFactor).where(SecondFactor.kind == "totp")
    with db_session(app) as first:
        winner = first.scalars(totp_factor).one()
        read_before = winner.totp_last_step
        assert totp.accepts(winner, code, sealer)
        first.commit()
    with db_session(app) as second:
        loser = second.scalars(totp_factor).one()
        set_committed_value(loser, "totp_last_step", read_before)  # what it had read
        assert not totp.accepts(loser, code, sealer)
        second.commit()
    with db_session(app) as after:
        assert after.scalars(totp_factor).one().totp_last_step == winner.totp_last_step


def test_a_recovery_code_works_once(app, world):
    _secret, codes = enrol_app(Person(app, "pub@vendor.test"))
    assert (
        Person(app, "pub@vendor.test")
        .post("/api/v1/mfa/verify", {"code": codes[3]})
        .get_json()["verified"]
        == "recovery_code"
    )
    assert (
        Person(app, "pub@vendor.test").post("/api/v1/mfa/verify", {"code": codes[3]}).status_code
        == 401
    )
    with db_session(app) as session:
        used = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mfa.recovery_code_used")
        ).one()
        assert used.details["left"] == 9


def test_what_matters_needs_a_check_within_five_minutes(app, world, runner, tmp_path):
    license_id = grant_license(runner, version="8.0")
    path = tmp_path / "p.bin"
    path.write_bytes(b"9.0")
    publish_file(runner, path, version="9.0", kind="installer")
    request_id = (
        app.test_client()
        .post(
            "/api/v1/license-requests",
            json={"license_id": license_id, "target_version": "9.0"},
            headers=world.auth("am@vendor.test"),
        )
        .get_json()["id"]
    )
    approver = Person(app, "appr@vendor.test")
    secret, _codes = enrol_app(approver)
    make_stale(app, "appr@vendor.test")
    stale = approver.post(f"/api/v1/license-requests/{request_id}/approve")
    assert stale.status_code == 403 and stale.get_json()["error"]["code"] == "mfa_required"
    assert approver.get("/requests").status_code == 200  # reading needs no fresh check
    approver.post("/api/v1/mfa/verify", {"code": next_code(secret)})
    done = approver.post(f"/api/v1/license-requests/{request_id}/approve")
    assert done.status_code == 200, done.get_json()
    # a personal token carries no second factor and needs none
    other = app.test_client().post(
        f"/api/v1/license-requests/{request_id}/reject",
        json={"reason": "x"},
        headers=world.auth("appr2@vendor.test"),
    )
    assert other.status_code == 409  # past the policy: the request is decided already


def test_a_staff_token_is_made_only_in_a_freshly_checked_session_or_at_the_cli(app, world):
    admin = Person(app, "admin@vendor.test")
    enrol_app(admin)
    assert admin.post("/api/v1/tokens", {"name": "fresh"}).status_code == 201
    make_stale(app, "admin@vendor.test")
    assert admin.post("/api/v1/tokens", {"name": "stale"}).status_code == 403
    by_token = app.test_client().post(
        "/api/v1/tokens", json={"name": "t"}, headers=world.auth("admin@vendor.test")
    )
    assert by_token.status_code == 403 and by_token.get_json()["error"]["code"] == "mfa_required"
    customer = app.test_client().post(
        "/api/v1/tokens", json={"name": "t", "installer": True}, headers=world.auth("it@acme.test")
    )
    assert customer.status_code == 201  # the policy is the staff's
    assert (
        app.test_client().get("/api/v1/audit", headers=world.auth("admin@vendor.test")).status_code
        == 200
    )


def party(person: Person, path: str) -> dict:
    answer = person.post(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def register_key(person: Person, name: str = "YubiKey") -> SoftKey:
    key = SoftKey(ORIGIN, "localhost")
    options = party(person, "/api/v1/mfa/webauthn/register/options")
    assert options["authenticatorSelection"]["userVerification"] == "required"
    done = person.post(
        "/api/v1/mfa/webauthn/register", {"credential": key.create(options), "name": name}
    )
    assert done.status_code == 201, done.get_json()
    return key


def assert_with(person: Person, key: SoftKey, **kw):
    options = party(person, "/api/v1/mfa/webauthn/assert/options")
    return person.post("/api/v1/mfa/webauthn/assert", {"credential": key.get(options, **kw)})


def test_a_security_key_is_registered_and_checks_new_sessions(app, world):
    first = Person(app, "pub@vendor.test")
    key = register_key(first)
    session = Person(app, "pub@vendor.test")
    assert session.get("/publish").status_code == 302
    checked = assert_with(session, key)
    assert checked.status_code == 200 and checked.get_json()["verified"] == "webauthn"
    assert session.get("/publish").status_code == 200
    with db_session(app) as db:
        stored = db.scalars(select(SecondFactor)).one()
        assert (stored.kind, stored.name, stored.sign_count) == ("webauthn", "YubiKey", 1)


def test_an_assertion_without_user_verification_is_refused(app, world):
    key = register_key(Person(app, "pub@vendor.test"))
    key.verifies_user = False  # touched, but no PIN or fingerprint
    refused = assert_with(Person(app, "pub@vendor.test"), key)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "mfa_invalid"


def test_another_persons_key_is_refused(app, world):
    """GHSA-f66q-9rf6-8795: a valid assertion of someone else's credential must not pass."""
    publisher_key = register_key(Person(app, "pub@vendor.test"))
    approver = Person(app, "appr@vendor.test")
    enrol_app(approver)
    intruder = Person(app, "appr@vendor.test")
    refused = assert_with(intruder, publisher_key)
    assert refused.status_code == 401
    assert "not one of yours" in refused.get_json()["error"]["message"]
    assert intruder.get("/requests").status_code == 302


def test_a_challenge_is_used_once_even_with_an_older_cookie(app, world):
    """A captured assertion cannot be replayed, not even with the cookie that was sent
    alongside it: the challenge lives in the server-side session and is taken once."""
    key = register_key(Person(app, "pub@vendor.test"))
    person = Person(app, "pub@vendor.test")
    options = party(person, "/api/v1/mfa/webauthn/assert/options")
    saved_cookie = person.client.get_cookie("session").value
    answer = {"credential": key.get(options)}
    assert person.post("/api/v1/mfa/webauthn/assert", answer).status_code == 200
    person.client.set_cookie("session", saved_cookie)
    replayed = person.post("/api/v1/mfa/webauthn/assert", answer)
    assert replayed.status_code == 401
    assert "used once" in replayed.get_json()["error"]["message"]


def test_a_sign_counter_that_does_not_grow_is_refused(app, world):
    key = register_key(Person(app, "pub@vendor.test"))
    assert assert_with(Person(app, "pub@vendor.test"), key).status_code == 200
    cloned = assert_with(Person(app, "pub@vendor.test"), key, counter_step=0)
    assert cloned.status_code == 401


def test_removing_a_factor_needs_a_fresh_check(app, world):
    person = Person(app, "pub@vendor.test")
    secret, _codes = enrol_app(person)
    factor_id = person.get("/api/v1/mfa/status").get_json()["factors"][0]["id"]
    make_stale(app, "pub@vendor.test")
    assert (
        person.client.delete(
            f"/api/v1/mfa/factors/{factor_id}", headers={"X-CSRFToken": person.token}
        ).status_code
        == 403
    )
    person.post("/api/v1/mfa/verify", {"code": next_code(secret)})
    removed = person.client.delete(
        f"/api/v1/mfa/factors/{factor_id}", headers={"X-CSRFToken": person.token}
    )
    assert removed.status_code == 200
    assert person.get("/api/v1/mfa/status").get_json()["step"] == "enrol"


def test_an_admin_resets_a_persons_factors_with_a_fresh_check_of_their_own(
    app, world, runner, mailbox
):
    app.config["SMTP_URL"] = mailbox.url
    enrol_app(Person(app, "pub@vendor.test"))
    lost = Person(app, "pub@vendor.test")  # a session of the person whose phone is gone
    admin = Person(app, "admin@vendor.test")
    secret, _codes = enrol_app(admin)
    user_id = world.ids["pub@vendor.test"]
    assert f"/users/{user_id}/reset-mfa" in admin.get("/users").get_data(as_text=True)
    make_stale(app, "admin@vendor.test")
    page_token = csrf_token(admin.client, "/users")
    stale = admin.client.post(f"/users/{user_id}/reset-mfa", data={"csrf_token": page_token})
    assert stale.status_code == 302 and stale.headers["Location"].startswith("/mfa?next=")
    admin.post("/api/v1/mfa/verify", {"code": next_code(secret)})
    done = admin.client.post(f"/users/{user_id}/reset-mfa", data={"csrf_token": page_token})
    assert done.status_code == 302 and done.headers["Location"] == "/users"
    with db_session(app) as session:
        person = session.get(User, user_id)
        assert person.email == "pub@vendor.test"
        assert (
            session.scalars(select(SecondFactor).where(SecondFactor.user_id == user_id)).all() == []
        )
        reset = session.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.reset")).one()
        assert reset.actor_email == "admin@vendor.test" and reset.target_id == user_id
    assert lost.get("/api/v1/mfa/status").status_code == 401  # its sessions ended
    run_worker(runner)
    assert mailbox.one_to("pub@vendor.test")["Subject"] == "Your second factors were reset"


def test_the_operator_resets_factors_at_the_command_line(app, world, runner):
    enrol_app(Person(app, "pub@vendor.test"))
    cli_ok(runner, "users", "reset-mfa", "pub@vendor.test")
    assert Person(app, "pub@vendor.test").get("/").headers["Location"].startswith("/mfa/enrol")
    with db_session(app) as session:
        assert session.scalars(select(OutboxMessage)).all() == []  # mailed by the worker
    run_worker(runner)


def test_a_customer_admin_may_require_a_second_factor_of_the_organisation(app, world, runner):
    cli_ok(
        runner,
        "users",
        "create",
        "bob@acme.test",
        "--role",
        "customer_user",
        "--org",
        "acme",
        "--password",
        "correct-horse-battery",
    )
    admin = Person(app, "it@acme.test")
    assert admin.get("/users").status_code == 200  # customers are free until asked
    page_token = csrf_token(admin.client, "/users")
    sent = admin.client.post(
        "/users/require-mfa", data={"required": "on", "csrf_token": page_token}
    )
    assert sent.status_code == 302
    bob = Person(app, "bob@acme.test")
    assert bob.get("/licenses").headers["Location"].startswith("/mfa/enrol")
    globex = Person(app, "it@globex.test")
    assert globex.get("/licenses").status_code == 200


def test_the_pages_that_show_a_secret_are_never_cached(app, world):
    """The authenticator app's secret and the recovery codes, like a new token."""
    person = Person(app, "pub@vendor.test")
    token = csrf_token(person.client, "/mfa/enrol")
    shown = person.client.post("/mfa/enrol/app", data={"csrf_token": token, "name": "Phone"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    secret = re.search(r"<code class=\"hash\">([A-Z2-7]+)</code>", shown.get_data(as_text=True))[1]
    codes = person.client.post(
        "/mfa/enrol/app/confirm",
        data={"csrf_token": token, "code": pyotp.TOTP(secret).now()},
    )
    assert codes.status_code == 200 and codes.headers["Cache-Control"] == "no-store"
    assert "recovery" in codes.get_data(as_text=True).lower()
