"""Invitations: customer admins bring colleagues into their own organisation (as
customer_admin or the read-only customer_user), admins bring in staff; the mailed link
is single use; customer admins manage their people on the Users page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from distro.accounts.models import Invitation, User
from distro.core.clock import utcnow
from tests.accounts.test_login import csrf_token, login
from tests.conftest import PASSWORD, body_of, cli_ok, db_session, grant_license, run_worker

NEW = "colleague-password-1"


@pytest.fixture
def app_config(app_config, mailbox):
    return dict(app_config, SMTP_URL=mailbox.url, BASE_URL="https://distro.example")


def invite(client, world, who: str, **body):
    return client.post("/api/v1/invitations", json=body, headers=world.auth(who))


def mailed_token(runner, mailbox, email: str) -> str:
    run_worker(runner)
    text = body_of(mailbox.to(email)[-1])
    return re.search(r"https://distro\.example/invitations/(\S+)", text).group(1)


def test_a_colleague_joins_as_a_read_only_customer_user(app, client, world, runner, mailbox):
    license_id = grant_license(runner)
    made = invite(client, world, "it@acme.test", email="Bob@Acme.test", role="customer_user")
    assert made.status_code == 201, made.get_json()
    assert made.get_json() | {"id": None, "created_at": None, "expires_at": None} == {
        "id": None,
        "email": "bob@acme.test",
        "role": "customer_user",
        "org": "acme",
        "status": "pending",
        "invited_by": "it@acme.test",
        "created_at": None,
        "expires_at": None,
        "accepted_at": None,
        "revoked_at": None,
    }
    token = mailed_token(runner, mailbox, "bob@acme.test")
    assert mailbox.one_to("bob@acme.test")["Subject"] == (
        "You are invited to ACME 有限公司 on the distribution service"
    )

    accepted = client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW})
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json()["role"] == "customer_user"
    again = client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW})
    assert again.status_code == 410 and again.get_json()["error"]["code"] == "token_invalid"

    bob = app.test_client()
    assert login(bob, "bob@acme.test", NEW).status_code == 302
    assert bob.get(f"/api/v1/licenses/{license_id}").status_code == 200
    assert bob.get("/api/v1/products").get_json()["items"][0]["code"] == "erp"
    headers = {"X-CSRF-Token": csrf_token(bob, "/")}
    assert bob.post("/api/v1/tokens", json={"name": "x"}, headers=headers).status_code == 403
    assert bob.get("/api/v1/tokens").status_code == 403
    assert bob.get("/api/v1/invitations").status_code == 403
    assert bob.get("/users").status_code == 403


def test_nobody_invites_above_their_role_or_into_another_organisation(client, world):
    assert (
        invite(client, world, "it@acme.test", email="x@acme.test", role="admin").status_code == 403
    )
    other_org = invite(
        client, world, "it@acme.test", email="x@acme.test", role="customer_user", org="globex"
    )
    assert other_org.status_code == 404
    assert (
        invite(client, world, "am@vendor.test", email="x@a.test", role="customer_user").status_code
        == 403
    )
    assert (
        invite(client, world, "installer@acme", email="x@a.test", role="customer_user").status_code
        == 403
    )
    staff = invite(client, world, "admin@vendor.test", email="new@vendor.test", role="approver")
    assert staff.status_code == 201 and staff.get_json()["org"] is None
    no_org = invite(client, world, "admin@vendor.test", email="c@x.test", role="customer_admin")
    assert no_org.status_code == 400 and no_org.get_json()["error"]["field"] == "org"
    assert (
        invite(
            client, world, "it@acme.test", email="it@acme.test", role="customer_user"
        ).status_code
        == 409
    )  # someone of the own organisation: the Users page shows them anyway
    assert (
        invite(
            client, world, "admin@vendor.test", email="new@vendor.test", role="publisher"
        ).status_code
        == 409
    )
    assert (
        invite(client, world, "it@acme.test", email="y@acme.test", role="root").status_code == 400
    )


def test_a_resent_invitation_replaces_the_link_and_a_revoked_one_is_gone(
    app, client, world, runner, mailbox
):
    made = invite(
        client, world, "it@acme.test", email="carol@acme.test", role="customer_admin"
    ).get_json()
    first = mailed_token(runner, mailbox, "carol@acme.test")
    resent = client.post(
        f"/api/v1/invitations/{made['id']}/resend", headers=world.auth("it@acme.test")
    )
    assert resent.status_code == 200
    second = mailed_token(runner, mailbox, "carol@acme.test")
    assert first != second
    assert (
        client.post(f"/api/v1/invitations/{first}/accept", json={"password": NEW}).status_code
        == 410
    )

    elsewhere = client.delete(
        f"/api/v1/invitations/{made['id']}", headers=world.auth("it@globex.test")
    )
    assert elsewhere.status_code == 404
    revoked = client.delete(f"/api/v1/invitations/{made['id']}", headers=world.auth("it@acme.test"))
    assert revoked.get_json()["status"] == "revoked"
    assert (
        client.post(f"/api/v1/invitations/{second}/accept", json={"password": NEW}).status_code
        == 410
    )
    listed = client.get("/api/v1/invitations", headers=world.auth("it@acme.test")).get_json()
    assert [i["status"] for i in listed["items"]] == ["revoked"]
    assert (
        client.get("/api/v1/invitations", headers=world.auth("it@globex.test")).get_json()["items"]
        == []
    )


def test_an_expired_invitation_cannot_be_accepted(app, client, world, runner, mailbox):
    invite(client, world, "it@acme.test", email="dan@acme.test", role="customer_user")
    token = mailed_token(runner, mailbox, "dan@acme.test")
    with db_session(app) as session:
        session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert (
        client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW}).status_code
        == 410
    )
    assert client.get(f"/invitations/{token}").status_code == 410


def test_the_users_page_invites_and_disables_people_of_the_own_organisation(
    app, client, world, runner, mailbox
):
    login(client, "it@acme.test")
    page = client.get("/users").get_data(as_text=True)
    assert "it@acme.test" in page and "it@globex.test" not in page
    sent = client.post(
        "/users",
        data={
            "email": "erin@acme.test",
            "role": "customer_user",
            "csrf_token": csrf_token(client, "/users"),
        },
    )
    assert sent.status_code == 302
    token = mailed_token(runner, mailbox, "erin@acme.test")
    accept_path = f"/invitations/{token}"
    stranger = app.test_client()
    joined = stranger.post(
        accept_path,
        data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(stranger, accept_path)},
    )
    assert joined.status_code == 302

    erin = app.test_client()
    assert login(erin, "erin@acme.test", NEW).status_code == 302
    user_id = re.search(r"/users/(\w+)/disable", client.get("/users").get_data(as_text=True)).group(
        1
    )
    disabled = client.post(
        f"/users/{user_id}/disable", data={"csrf_token": csrf_token(client, "/users")}
    )
    assert disabled.status_code == 302
    assert erin.get("/api/v1/products").status_code == 401
    globex = app.test_client()
    login(globex, "it@globex.test", PASSWORD)
    assert (
        globex.post(
            f"/users/{user_id}/enable", data={"csrf_token": csrf_token(globex, "/users")}
        ).status_code
        == 302
    )
    assert login(app.test_client(), "erin@acme.test", NEW).status_code == 400  # still disabled


def comparable(answer) -> tuple:
    """An invitation answer without what differs by nature (its id, times, address)."""
    body = answer.get_json()
    return answer.status_code, tuple(sorted(body)), body["status"], body["org"], body["role"]


def test_an_invitation_tells_the_inviter_nothing_about_other_organisations(
    app, client, world, runner, mailbox
):
    """Review finding 5: an address with an account elsewhere, one invited elsewhere and a
    new one get the same answer, and the other organisation is not blocked."""
    invite(client, world, "it@globex.test", email="pat@example.test", role="customer_user")
    answers = [
        invite(client, world, "it@acme.test", email=email, role="customer_user")
        for email in ("it@globex.test", "pat@example.test", "new@example.test")
    ]
    assert len({comparable(answer) for answer in answers}) == 1
    assert comparable(answers[0])[0] == 201


def test_accepting_one_organisations_invitation_voids_the_others(
    app, client, world, runner, mailbox
):
    invite(client, world, "it@globex.test", email="pat@example.test", role="customer_user")
    invite(client, world, "it@acme.test", email="pat@example.test", role="customer_admin")
    run_worker(runner)
    links = [
        re.search(r"https://distro\.example/invitations/(\S+)", body_of(m)).group(1)
        for m in mailbox.to("pat@example.test")
    ]
    assert len(links) == 2
    joined = client.post(f"/api/v1/invitations/{links[1]}/accept", json={"password": NEW})
    assert joined.status_code == 201
    other = client.post(f"/api/v1/invitations/{links[0]}/accept", json={"password": NEW})
    assert other.status_code == 410
    (globex,) = client.get("/api/v1/invitations", headers=world.auth("it@globex.test")).get_json()[
        "items"
    ]
    assert globex["status"] == "revoked"


def test_an_invitation_to_an_address_with_an_account_cannot_be_accepted(
    app, client, world, runner, mailbox
):
    invite(client, world, "it@acme.test", email="it@globex.test", role="customer_admin")
    token = mailed_token(runner, mailbox, "it@globex.test")
    refused = client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "account_exists"
    assert login(app.test_client(), "it@globex.test", PASSWORD).status_code == 302


def test_a_disabled_inviters_invitations_stop_working(app, client, world, runner, mailbox):
    """Review finding 6: disabling a person voids the invitations they sent."""
    cli_ok(
        runner,
        "users",
        "create",
        "boss@acme.test",
        "--role",
        "customer_admin",
        "--org",
        "acme",
        "--password",
        PASSWORD,
    )
    boss = cli_ok(runner, "tokens", "create", "boss@acme.test", "--name", "t")
    made = client.post(
        "/api/v1/invitations",
        json={"email": "mal@example.test", "role": "customer_admin"},
        headers={"Authorization": f"Bearer {boss}"},
    )
    assert made.status_code == 201
    token = mailed_token(runner, mailbox, "mal@example.test")
    cli_ok(runner, "users", "disable", "boss@acme.test")
    refused = client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW})
    assert refused.status_code == 410
    assert app.test_client().get(f"/invitations/{token}").status_code == 410
    listed = client.get("/api/v1/invitations", headers=world.auth("it@acme.test")).get_json()
    assert [i["status"] for i in listed["items"]] == ["revoked"]


def test_an_invitation_of_a_since_disabled_inviter_is_gone_even_if_still_open(
    app, client, world, runner, mailbox
):
    made = invite(client, world, "it@acme.test", email="ned@example.test", role="customer_user")
    token = mailed_token(runner, mailbox, "ned@example.test")
    with db_session(app) as session:  # disabled behind the service's back (older data)
        session.execute(update(User).where(User.email == "it@acme.test").values(disabled=True))
        session.commit()
    assert made.status_code == 201
    refused = client.post(f"/api/v1/invitations/{token}/accept", json={"password": NEW})
    assert refused.status_code == 410


def test_resends_are_limited(app, client, world, runner, mailbox):
    """Review finding 7: three resends a day, then 429 with a clear message."""
    made = invite(client, world, "it@acme.test", email="olga@example.test", role="customer_user")
    path = f"/api/v1/invitations/{made.get_json()['id']}/resend"
    answers = [client.post(path, headers=world.auth("it@acme.test")) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "three times today" in answers[-1].get_json()["error"]["message"]
    assert int(answers[-1].headers["Retry-After"]) > 3600
    run_worker(runner)
    assert len(mailbox.to("olga@example.test")) == 4


def test_an_organisation_sends_at_most_thirty_invitations_an_hour(app, client, world):
    answers = [
        invite(client, world, "it@acme.test", email=f"p{i}@example.test", role="customer_user")
        for i in range(31)
    ]
    assert [a.status_code for a in answers] == [201] * 30 + [429]
    other = invite(client, world, "it@globex.test", email="q@example.test", role="customer_user")
    assert other.status_code == 201
