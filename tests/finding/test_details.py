"""A package says what it fixes: defects, modules, severity, CVEs; given on publish by the
API and the CLI, changed later by publishers, audited, never touching what is signed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from distro.audit.models import AuditEvent
from distro.patches.models import Package
from tests.conftest import db_session, publish_upload


def test_the_api_publishes_details_and_every_package_json_carries_them(client, world):
    answer = publish_upload(
        client,
        world,
        defects=json.dumps([{"id": "pt-201301", "title": "总账凭证过账失败"}]),
        modules="GL，ar",
        severity="HIGH",
        cves="cve-2026-31337",
        notes="Fixes posting.",
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    expected = {
        "defects": [{"id": "PT-201301", "title": "总账凭证过账失败"}],
        "modules": ["ar", "gl"],
        "severity": "high",
        "cves": ["CVE-2026-31337"],
        "notes": "Fixes posting.",
    }
    assert {k: body[k] for k in expected} == expected
    assert "severity" not in json.loads(body["manifest"])  # details are not signed
    shown = client.get(f"/api/v1/packages/{body['id']}", headers=world.auth("pub@vendor.test"))
    assert {k: shown.get_json()[k] for k in expected} == expected


def test_a_package_without_details_has_empty_ones_and_severity_none(client, world):
    body = publish_upload(client, world).get_json()
    assert (body["defects"], body["modules"], body["severity"], body["cves"]) == (
        [],
        [],
        "none",
        [],
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("severity", "urgent"),
        ("cves", "CVE-26-1"),
        ("cves", "CVE-2026-１２３"),  # full-width digits fold; too short still
        ("defects", "not json"),
        ("defects", json.dumps([{"id": "总账-1", "title": "x"}])),
        ("defects", json.dumps([{"id": "PT-1", "title": "bad\u202etitle"}])),
        ("defects", json.dumps([{"id": "PT-1", "title": "x", "extra": 1}])),
        ("modules", "g l"),
    ],
)
def test_malformed_details_are_400_naming_the_field_and_publish_nothing(
    app, client, world, field, value
):
    answer = publish_upload(client, world, **{field: value})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["field"].startswith(field)
    with db_session(app) as session:
        assert session.scalars(select(Package)).all() == []


def test_the_cli_takes_details_as_repeatable_flags(app, runner, world, tmp_path):
    path = tmp_path / "fix.bin"
    path.write_bytes(b"fix")
    result = runner.invoke(
        args=[
            "packages", "publish", str(path), "--product", "erp", "--version", "8.0.1",
            "--kind", "patch", "--applies-to", ">=8.0,<8.0.1",
            "--defect", "PT-201301=总账凭证过账失败", "--defect", "PT-201302=Voucher totals",
            "--modules", "GL,AR", "--severity", "critical",
            "--cve", "CVE-2026-1111", "--cve", "CVE-2026-2222",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with db_session(app) as session:
        package = session.get(Package, result.output.strip().splitlines()[-1])
        assert [d["id"] for d in package.defects] == ["PT-201301", "PT-201302"]
        assert package.cves == ["CVE-2026-1111", "CVE-2026-2222"]
        assert package.severity == "critical" and package.advisory
    bad = runner.invoke(
        args=["packages", "publish", str(path), "--product", "erp", "--version", "8.0.2",
              "--kind", "patch", "--applies-to", ">=8.0,<8.0.2", "--defect", "PT-1"]
    )  # fmt: skip
    assert bad.exit_code == 1 and "ID=TITLE" in bad.output


def test_a_publisher_changes_details_later_audited_with_the_manifest_untouched(app, client, world):
    body = publish_upload(client, world, notes="first").get_json()
    answer = client.patch(
        f"/api/v1/packages/{body['id']}",
        json={"severity": "critical", "cves": ["CVE-2026-9999"], "notes": "second"},
        headers=world.auth("pub@vendor.test"),
    )
    assert answer.status_code == 200, answer.get_json()
    changed = answer.get_json()
    assert (changed["severity"], changed["cves"], changed["notes"]) == (
        "critical",
        ["CVE-2026-9999"],
        "second",
    )
    assert (changed["manifest"], changed["signature"]) == (body["manifest"], body["signature"])
    with db_session(app) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "package.change")
        ).one()
        assert event.target_id == body["id"]
        assert event.details == {
            "changed": ["cves", "notes", "severity"],
            "cves": ["CVE-2026-9999"],
            "severity": "critical",
        }
    search = client.get(
        "/api/v1/search", query_string={"q": "second"}, headers=world.auth("pub@vendor.test")
    )
    assert [i["id"] for i in search.get_json()["items"]] == [body["id"]]
    gone = client.get(
        "/api/v1/search", query_string={"q": "first"}, headers=world.auth("pub@vendor.test")
    )
    assert gone.get_json()["items"] == []


@pytest.mark.parametrize(
    "change, status, field",
    [
        ({"severity": "bad"}, 400, "severity"),
        ({"version": "9.9"}, 400, "version"),  # signed fields are not details
        ({}, 400, "notes"),
        ({"cves": "CVE-1-1"}, 400, "cves"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(client, world, change, status, field):
    body = publish_upload(client, world, severity="low").get_json()
    answer = client.patch(
        f"/api/v1/packages/{body['id']}", json=change, headers=world.auth("pub@vendor.test")
    )
    assert answer.status_code == status and answer.get_json()["error"]["field"] == field
    again = client.get(f"/api/v1/packages/{body['id']}", headers=world.auth("pub@vendor.test"))
    assert again.get_json()["severity"] == "low"


@pytest.mark.parametrize("who", ["it@acme.test", "am@vendor.test", "appr@vendor.test"])
def test_only_publishers_change_details(client, world, who):
    body = publish_upload(client, world).get_json()
    answer = client.patch(
        f"/api/v1/packages/{body['id']}", json={"severity": "high"}, headers=world.auth(who)
    )
    assert answer.status_code in (403, 404)
