"""Rings, approvals and the fleet in a real browser, in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, grant_license, publish_file

WORDS = {
    "en": {
        "move": "Move",
        "approve": "Approve",
        "saved": "The approval is saved.",
        "fleet": "on the newest patch",
    },
    "zh": {
        "move": "移动",
        "approve": "批准",
        "saved": "批准已保存。",
        "fleet": "处于其发行线的最新补丁",
    },
}


@pytest.fixture
def fleet(client, world, runner, tmp_path):
    grant_license(runner, version="9.0", expires="2099-12-31")
    ids = {}
    for version, kind, applies in (
        ("9.0.1", "patch", ">=9.0,<9.0.1"),
        ("9.0.2", "patch", ">=9.0.1,<9.0.2"),
    ):
        path = tmp_path / f"erp-{version}.bin"
        path.write_bytes(version.encode())
        ids[version] = publish_file(runner, path, version=version, kind=kind, applies_to=applies)
    for name, event, package in (
        ("erp-test-01", "check", None),
        ("erp-prod-01", "failed", ids["9.0.2"]),
    ):
        body = {"installation": name, "product": "erp", "version": "9.0.1", "event": event}
        if package:
            body |= {"package_id": package, "error": "disk full"}
        answer = client.post(
            "/api/v1/installations/report", json=body, headers=world.auth("installer@acme")
        )
        assert answer.status_code == 201
    return ids


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_customer_admin_plans_rings_and_the_publisher_sees_the_failure(person, fleet, language):
    words = WORDS[language]
    admin = person(language)
    admin.login("it@acme.test", PASSWORD)
    page = admin.open("/installations")
    row = page.locator("tr", has_text="erp-test-01")
    row.locator("input[name=ring]").fill("test")
    row.locator(f"button:has-text('{words['move']}')").click()
    expect(page.locator("tr", has_text="erp-test-01").locator("input[name=ring]")).to_have_value(
        "test"
    )
    page.fill("#ring", "test")
    page.fill("#version", "9.0.2")
    page.fill("#deadline", "2026-12-15")
    page.click(f"button:has-text('{words['approve']}')")
    expect(page.locator("p.flash")).to_contain_text(words["saved"])
    expect(page.locator("table", has_text="2026-12-15")).to_be_visible()
    expect(page.locator("tr", has_text="erp-prod-01")).to_contain_text("disk full")
    admin.shot(f"{language}-installations")

    publisher = person(language)
    publisher.login("pub@vendor.test", PASSWORD)
    page = publisher.open("/fleet?product=erp")
    expect(page.locator("p.summary")).to_contain_text(words["fleet"])
    expect(page.locator("table", has_text="disk full")).to_be_visible()
    publisher.shot(f"{language}-fleet")
    assert admin.problems == [] and publisher.problems == []
