"""Customers plan their updates: installations report in, rings group them, and a
ring's approval caps the update plan its installers get."""

from __future__ import annotations

from sqlalchemy import select

from distro.installations.models import InstallationEvent
from tests.conftest import db_session, grant_license, make_app
from tests.installations.conftest import report


def plan(client, world, name=None, who="installer@acme"):
    query = "from=9.0" + (f"&installation={name}" if name else "")
    answer = client.get(f"/api/v1/products/erp/updates?{query}", headers=world.auth(who))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def versions(answer: dict) -> list[str]:
    return [p["version"] for p in answer["items"]]


def admin_put(client, world, path, **body):
    answer = client.put(path, json=body, headers=world.auth("it@acme.test"))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_two_rings_get_different_plans_from_the_same_token(client, world, nine):
    test_box = report(client, world, installation="erp-test-01").get_json()
    prod_box = report(client, world, installation="erp-prod-01").get_json()
    assert test_box["ring"] == prod_box["ring"] == "default"
    admin_put(client, world, f"/api/v1/installations/{test_box['id']}", ring="test")
    admin_put(client, world, f"/api/v1/installations/{prod_box['id']}", ring="production")
    approved = admin_put(
        client, world, "/api/v1/rings/test/approvals/erp", version="9.0.2", deadline="2026-12-15"
    )
    assert approved["deadline"] == "2026-12-15"
    admin_put(client, world, "/api/v1/rings/production/approvals/erp", version="9.0.1")

    testing = plan(client, world, "erp-test-01")
    assert versions(testing) == ["9.0.1", "9.0.2"]
    assert testing["ring"] == "test" and testing["approval"]["deadline"] == "2026-12-15"
    production = plan(client, world, "erp-prod-01")
    assert versions(production) == ["9.0.1"] and production["ring"] == "production"
    # A name the server has not heard of is in the default ring: no approval, no cap.
    assert versions(plan(client, world, "erp-new-07")) == ["9.0.1", "9.0.2"]
    assert versions(plan(client, world)) == ["9.0.1", "9.0.2"]  # today's behaviour

    removed = client.delete(
        "/api/v1/rings/production/approvals/erp", headers=world.auth("it@acme.test")
    )
    assert removed.status_code == 200
    assert versions(plan(client, world, "erp-prod-01")) == ["9.0.1", "9.0.2"]


def test_a_yanked_approved_version_falls_back_to_the_newest_one_below(client, world, nine):
    box = report(client, world, installation="erp-test-01").get_json()
    admin_put(client, world, f"/api/v1/installations/{box['id']}", ring="test")
    admin_put(client, world, "/api/v1/rings/test/approvals/erp", version="9.0.2")
    yanked = client.post(
        f"/api/v1/packages/{nine['9.0.2']}/yank",
        json={"reason": "breaks GL posting"},
        headers=world.auth("pub@vendor.test"),
    )
    assert yanked.status_code == 200
    assert versions(plan(client, world, "erp-test-01")) == ["9.0.1"]


def test_reports_keep_every_event_and_the_last_failure(app, client, world, nine):
    report(client, world, event="check")
    failed = report(
        client, world, event="failed", package_id=nine["9.0.1"], error="checksum mismatch"
    ).get_json()
    assert failed["last_failure"]["package_id"] == nine["9.0.1"]
    assert failed["last_failure"]["error"] == "checksum mismatch"
    fixed = report(client, world, event="installed", version="9.0.1", package_id=nine["9.0.1"])
    assert fixed.get_json()["version"] == "9.0.1" and fixed.get_json()["last_failure"] is None
    with db_session(app) as session:
        events = session.scalars(
            select(InstallationEvent.event).order_by(InstallationEvent.created_at)
        ).all()
    assert events == ["check", "failed", "installed"]

    listed = client.get(
        "/api/v1/installations?product=erp", headers=world.auth("it@acme.test")
    ).get_json()
    assert [(i["installation"], i["version"], i["org"]) for i in listed["items"]] == [
        ("erp-prod-01", "9.0.1", "acme")
    ]
    assert (
        client.get("/api/v1/installations", headers=world.auth("it@globex.test")).get_json()[
            "items"
        ]
        == []
    )
    assert (
        len(
            client.get("/api/v1/installations", headers=world.auth("am@vendor.test")).get_json()[
                "items"
            ]
        )
        == 1
    )
    assert (
        client.get(
            "/api/v1/installations?ring=test", headers=world.auth("it@acme.test")
        ).get_json()["items"]
        == []
    )


def test_names_are_per_organisation(client, world, runner, nine):
    unlicensed = report(client, world, who="installer@globex")
    assert unlicensed.status_code == 422  # globex never held erp: as if it did not exist
    assert unlicensed.get_json()["error"]["field"] == "product"
    grant_license(runner, org="globex", version="9.0", expires="2099-12-31")
    ours = report(client, world).get_json()
    theirs = report(client, world, who="installer@globex").get_json()  # same name
    assert ours["id"] != theirs["id"] and theirs["org"] == "globex"


def test_bad_reports_and_plans_are_refused_with_the_field(client, world, nine):
    cases = [
        ({"product": "nope"}, 422, "product"),
        ({"version": "nine"}, 422, "version"),
        ({"version": "٩.٠"}, 422, "version"),
        ({"event": "exploded"}, 422, "event"),
        ({"package_id": "f" * 32}, 422, "package_id"),
        ({"installation": "名前"}, 400, "installation"),
        ({"installation": ""}, 400, "installation"),
    ]
    for change, status, field in cases:
        answer = report(client, world, **change)
        assert (answer.status_code, answer.get_json()["error"].get("field")) == (status, field), (
            change
        )
    huge = report(client, world, error="x" * 20_000)
    assert huge.status_code == 413
    assert (
        client.get(
            "/api/v1/products/erp/updates?from=9.0&installation=a%20b",
            headers=world.auth("installer@acme"),
        ).status_code
        == 400
    )


def test_installer_tokens_report_but_do_not_plan_rings(client, world, nine):
    box = report(client, world).get_json()
    moved = client.put(
        f"/api/v1/installations/{box['id']}",
        json={"ring": "test"},
        headers=world.auth("installer@acme"),
    )
    assert moved.status_code == 403
    approved = client.put(
        "/api/v1/rings/test/approvals/erp",
        json={"version": "9.0.1"},
        headers=world.auth("installer@acme"),
    )
    assert approved.status_code == 403
    unpublished = client.put(
        "/api/v1/rings/test/approvals/erp",
        json={"version": "9.0.9"},
        headers=world.auth("it@acme.test"),
    )
    assert (
        unpublished.status_code == 422
        and unpublished.get_json()["error"]["code"] == "unknown_version"
    )
    other = client.put(
        f"/api/v1/installations/{box['id']}",
        json={"ring": "test"},
        headers=world.auth("it@globex.test"),
    )
    assert other.status_code == 404


def test_reports_are_throttled_per_token(app_config, client, world, runner, nine):
    grant_license(runner, org="globex", version="9.0", expires="2099-12-31")
    app = make_app(dict(app_config, REPORT_RATE_LIMIT="3 per minute"))
    limited = app.test_client()
    statuses = [report(limited, world).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert report(limited, world, who="installer@globex").status_code == 201  # another token
