"""System review: where an admin chose it for a product, a request that passes every
rule is approved and issued at submission by the system, still exactly once."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import func, select

from distro.audit.models import AuditEvent
from distro.licenses.models import License
from tests.conftest import cli_ok, db_session, grant_license, publish_file


def setup_erp(runner, tmp_path) -> str:
    license_id = grant_license(runner, modules="fin,hr", users="40", expires="2099-12-31")
    installer = tmp_path / "erp-9.0.bin"
    installer.write_bytes(b"nine")
    publish_file(runner, installer, version="9.0")
    return license_id


def test_a_request_is_issued_at_submission_under_system_review(
    app, client, world, runner, tmp_path
):
    license_id = setup_erp(runner, tmp_path)
    switched = client.patch(
        "/api/v1/products/erp", json={"review": "system"}, headers=world.auth("admin@vendor.test")
    )
    assert switched.status_code == 200 and switched.get_json()["review"] == "system"

    made = client.post(
        "/api/v1/license-requests",
        json={"license_id": license_id, "target_version": "9.0"},
        headers=world.auth("am@vendor.test"),
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["status"] == "issued" and body["decided_by"] == "system"
    assert body["license"]["version"] == "9.0" and body["license"]["modules"] == ["fin", "hr"]
    with db_session(app) as session:
        approval = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.approve")
        ).one()
    assert approval.actor_id is None and approval.details["by"] == "system"

    refused = client.post(  # a rule still refuses: the source is now superseded
        "/api/v1/license-requests",
        json={"license_id": license_id, "target_version": "9.0"},
        headers=world.auth("am@vendor.test"),
    )
    assert refused.status_code == 422


def test_the_review_mode_is_set_by_admins_and_the_cli(client, world, runner):
    assert (
        client.patch(
            "/api/v1/products/erp",
            json={"review": "system"},
            headers=world.auth("appr@vendor.test"),
        ).status_code
        == 403
    )
    assert (
        client.patch(
            "/api/v1/products/erp",
            json={"review": "robot"},
            headers=world.auth("admin@vendor.test"),
        ).status_code
        == 400
    )
    assert (
        client.patch(
            "/api/v1/products/nope",
            json={"review": "system"},
            headers=world.auth("admin@vendor.test"),
        ).status_code
        == 404
    )
    assert (
        "reviewed by system" in runner.invoke(args=["products", "review", "erp", "system"]).output
    )
    assert runner.invoke(args=["products", "review", "erp", "nobody"]).exit_code == 2


def test_twenty_concurrent_submits_issue_exactly_one_license(
    app, live_server, world, runner, tmp_path
):
    license_id = setup_erp(runner, tmp_path)
    cli_ok(runner, "products", "review", "erp", "system")
    results: list[tuple[int, str | None]] = []
    barrier = threading.Barrier(20)

    def submit() -> None:
        barrier.wait()
        answer = requests.post(
            f"{live_server.url}/api/v1/license-requests",
            json={"license_id": license_id, "target_version": "9.0"},
            headers=world.auth("am@vendor.test"),
            timeout=60,
        )
        results.append((answer.status_code, answer.json().get("status")))

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r for r in results if r[0] == 201] == [(201, "issued")]
    assert {status for status, _ in results} <= {201, 409, 422}
    with db_session(app) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(License).where(License.version == "9.0")
            )
            == 1
        )
