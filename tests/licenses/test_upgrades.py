"""Equal-quantity upgrade requests: every rule of contract §3, end to end over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distro.licenses.models import License, LicenseRequest
from tests.conftest import db_session
from tests.licenses.conftest import decide, grant, submit, submitted


def test_happy_path_three_users(client, world, source, runner, tmp_path):
    request = submitted(client, world, source, note="customer asked")
    assert request["status"] == "pending" and request["submitted_by"] == "am@vendor.test"
    assert request["license"] is None
    queue = client.get(
        "/api/v1/license-requests?status=pending", headers=world.auth("appr@vendor.test")
    ).get_json()["items"]
    assert [r["id"] for r in queue] == [request["id"]]
    approved = decide(client, world, request["id"], "approve", note="ok")
    assert approved.status_code == 200
    issued = approved.get_json()
    assert issued["version"] == "9.0" and issued["status"] == "active"
    assert issued["modules"] == ["fin", "hr", "mfg"] and issued["user_count"] == 50
    assert issued["supersedes"] == source and issued["request_id"] == request["id"]
    assert (issued["starts"], issued["expires"], issued["deployment"]) == (
        "2026-01-01",
        "2099-12-31",
        "private_cloud",
    )
    old = client.get(f"/api/v1/licenses/{source}", headers=world.auth("it@acme.test")).get_json()
    assert old["status"] == "superseded"
    after = client.get("/api/v1/license-requests", headers=world.auth("am@vendor.test")).get_json()
    assert after["items"][0]["status"] == "issued"
    assert after["items"][0]["license"]["id"] == issued["id"]
    assert after["items"][0]["decided_by"] == "appr@vendor.test"
    text = client.get(
        f"/api/v1/licenses/{issued['id']}/file", headers=world.auth("it@acme.test")
    ).get_data(as_text=True)
    (tmp_path / "new.lic").write_text(text)
    (tmp_path / "key.pem").write_text(
        client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"]
    )
    verified = runner.invoke(
        args=["verify", "license", str(tmp_path / "new.lic"), "--key", str(tmp_path / "key.pem")]
    )
    assert verified.exit_code == 0 and f'"supersedes": "{source}"' in verified.output
    actions = [
        e["action"]
        for e in client.get("/api/v1/audit", headers=world.auth("admin@vendor.test")).get_json()[
            "items"
        ]
    ]
    for action in ("request.submit", "request.approve", "license.issue", "license.download"):
        assert action in actions


def test_the_new_license_entitles_the_newer_line(client, world, source):
    request = submitted(client, world, source)
    packages = client.get("/api/v1/products/erp/packages", headers=world.auth("installer@acme"))
    assert "9.0" not in [p["version"] for p in packages.get_json()["items"]]
    decide(client, world, request["id"], "approve")
    packages = client.get("/api/v1/products/erp/packages", headers=world.auth("installer@acme"))
    assert "9.0" in [p["version"] for p in packages.get_json()["items"]]


def test_same_modules_and_users_named_explicitly_are_accepted(client, world, source):
    answer = submit(client, world, source, modules=["mfg", "fin", "hr"], user_count=50)
    assert answer.status_code == 201


@pytest.mark.parametrize(
    "extra",
    [
        {"modules": ["fin", "hr"]},
        {"user_count": 51},
        {"modules": ["fin", "hr", "mfg", "crm"], "user_count": 50},
    ],
)
def test_changing_modules_or_users_is_refused(client, world, source, extra):
    answer = submit(client, world, source, **extra)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "equal_quantity_violation"


def test_perpetual_source_is_refused(client, world, runner, versions):
    perpetual = grant(runner, kind="perpetual", expires=None)
    answer = submit(client, world, perpetual)
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (422, "not_subscription")


def test_expired_subscription_is_refused(client, world, runner, versions):
    expired = grant(runner, expires="2026-02-01")
    answer = submit(client, world, expired)
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (422, "subscription_expired")


@pytest.mark.parametrize("target", ["8.0", "7.5", "8.0.0"])
def test_target_not_newer_is_refused(client, world, source, target):
    answer = submit(client, world, source, target=target)
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (422, "not_newer_version")


def test_unpublished_target_is_refused(client, world, source):
    answer = submit(client, world, source, target="10.0")
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (422, "unknown_version")


def test_patch_version_counts_as_published(client, world, source):
    assert submit(client, world, source, target="9.0.1").status_code == 201


def test_second_pending_request_is_409(client, world, source):
    submitted(client, world, source)
    answer = submit(client, world, source, target="9.0.1")
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "duplicate_request")


def test_malformed_request_is_400(client, world, source):
    assert submit(client, world, source, target="nine").status_code == 400
    answer = client.post(
        "/api/v1/license-requests",
        json={"target_version": "9.0"},
        headers=world.auth("am@vendor.test"),
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "license_id"


def test_account_manager_of_another_org_gets_404(client, world, source):
    answer = submit(client, world, source, who="am2@vendor.test")
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "who", ["it@acme.test", "appr@vendor.test", "pub@vendor.test", "installer@acme"]
)
def test_only_account_managers_submit(client, world, source, who):
    assert submit(client, world, source, who=who).status_code == 403


def test_submitter_cannot_approve_own_request(client, world, source):
    request = submitted(client, world, source, who="admin@vendor.test")
    answer = decide(client, world, request["id"], "approve", who="admin@vendor.test")
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (
        403,
        "self_approval_forbidden",
    )
    assert decide(client, world, request["id"], "approve").status_code == 200


def test_account_manager_cannot_approve(client, world, source):
    request = submitted(client, world, source)
    assert decide(client, world, request["id"], "approve", who="am@vendor.test").status_code == 403


def test_approving_twice_yields_one_license(client, world, source):
    request = submitted(client, world, source)
    assert decide(client, world, request["id"], "approve").status_code == 200
    again = decide(client, world, request["id"], "approve", who="appr2@vendor.test")
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "invalid_state")


def test_rejection_needs_a_reason(client, world, source):
    request = submitted(client, world, source)
    for body in ({}, {"reason": "   "}):
        answer = decide(client, world, request["id"], "reject", **body)
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] == "reason"
    rejected = decide(client, world, request["id"], "reject", reason="no budget")
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["reason"] == "no budget"
    assert decide(client, world, request["id"], "approve").status_code == 409
    assert (
        client.get(f"/api/v1/licenses/{source}", headers=world.auth("it@acme.test")).get_json()[
            "status"
        ]
        == "active"
    )


def test_submitter_can_cancel_a_pending_request(client, world, source):
    request = submitted(client, world, source)
    other = client.post(
        f"/api/v1/license-requests/{request['id']}/cancel", headers=world.auth("admin@vendor.test")
    )
    assert other.status_code == 403
    cancelled = client.post(
        f"/api/v1/license-requests/{request['id']}/cancel", headers=world.auth("am@vendor.test")
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert decide(client, world, request["id"], "approve").status_code == 409
    assert submit(client, world, source).status_code == 201  # a new one may follow


def test_requests_list_by_role(client, world, source, runner):
    mine = submitted(client, world, source)
    assert (
        client.get("/api/v1/license-requests", headers=world.auth("am2@vendor.test")).get_json()[
            "items"
        ]
        == []
    )
    assert (
        client.get("/api/v1/license-requests", headers=world.auth("it@acme.test")).status_code
        == 403
    )
    listed = client.get(
        "/api/v1/license-requests?status=pending", headers=world.auth("admin@vendor.test")
    ).get_json()["items"]
    assert [r["id"] for r in listed] == [mine["id"]]
    assert (
        client.get(
            "/api/v1/license-requests?status=weird", headers=world.auth("admin@vendor.test")
        ).status_code
        == 400
    )


def test_a_failure_between_issue_and_supersede_rolls_everything_back(
    app, client, world, source, monkeypatch
):
    from distro.licenses import upgrades

    request = submitted(client, world, source)

    def explode(*_args):
        raise RuntimeError("injected failure after the license was created")

    monkeypatch.setattr(upgrades, "supersede_source", explode)
    answer = decide(client, world, request["id"], "approve")
    assert answer.status_code == 500
    with db_session(app) as session:
        assert session.get(LicenseRequest, request["id"]).status == "pending"
        assert session.get(License, source).status == "active"
        assert (
            session.scalars(select(License).where(License.request_id == request["id"])).all() == []
        )
    monkeypatch.undo()
    assert decide(client, world, request["id"], "approve").status_code == 200
