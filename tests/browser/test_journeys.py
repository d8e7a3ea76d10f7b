"""Each role's main journey end to end in headless Chromium, with screenshots of the main
pages in both languages, and no CSP violation or JavaScript error on any page."""

from __future__ import annotations

import hashlib
import os

import pytest
from playwright.sync_api import expect

from distro.licenses.licensefile import verify_file
from distro.signing.signer import load_public_pem
from tests.conftest import PASSWORD, grant_license, publish_file


@pytest.fixture
def shop(client, world, runner, tmp_path):
    """acme holds an erp 8.0 subscription; an 8.0.1 patch and a 9.0 installer exist."""
    grant_license(runner, modules="fin,hr", users="40", expires="2099-12-31")
    patch = tmp_path / "erp-8.0.1-patch.bin"
    patch.write_bytes(os.urandom(200_000))
    publish_file(
        runner,
        patch,
        version="8.0.1",
        kind="patch",
        applies_to=">=8.0,<8.0.1",
        notes="Fixes GL rounding",
    )
    installer = tmp_path / "erp-9.0-setup.bin"
    installer.write_bytes(os.urandom(50_000))
    publish_file(runner, installer, version="9.0")
    return {
        "patch": patch.read_bytes(),
        "key": client.get("/api/v1/keys").get_json()["items"][0]["public_key_pem"],
    }


def test_the_upgrade_journey_across_three_roles(person, shop, tmp_path):
    customer = person("en")
    page = customer.login("it@acme.test", PASSWORD)
    page.click("text=Downloads")
    page.click("text=ERP Suite")
    page.fill("#from", "8.0")
    page.click("text=Show update path")
    assert page.locator("ol li").first.inner_text().startswith("8.0.1")
    with page.expect_download() as download:
        page.click("article.package:has-text('erp-8.0.1-patch.bin') a.download")
    path = download.value.path()
    assert (
        hashlib.sha256(open(path, "rb").read()).hexdigest()
        == hashlib.sha256(shop["patch"]).hexdigest()
    )

    manager = person("en")
    page = manager.login("am@vendor.test", PASSWORD)
    page.click("text=Licenses")
    page.click("td a:has-text('Upgrade')")
    assert page.input_value("#modules") == "fin, hr" and page.input_value("#users") == "40"
    page.select_option("select[name=target_version]", "9.0")
    page.fill("textarea[name=note]", "Customer asked for 9.0")
    page.click("text=Submit for approval")
    assert "submitted for approval" in page.inner_text("main")

    approver = person("en")
    page = approver.login("appr@vendor.test", PASSWORD)
    page.click("text=Upgrade requests")
    assert "Customer asked for 9.0" in page.inner_text("main")
    page.click("button:has-text('Approve')")  # the form asks whether a check is due first
    expect(page.locator("p.flash")).to_contain_text("was issued")

    page = customer.open("/licenses")
    row = page.locator("tr", has_text="9.0")
    with page.expect_download() as download:
        row.locator("a:has-text('License file')").click()
    payload = verify_file(open(download.value.path()).read(), load_public_pem(shop["key"]))
    assert payload["version"] == "9.0" and payload["modules"] == ["fin", "hr"]
    for watched in (customer, manager, approver):
        assert watched.problems == []


def test_publisher_sees_the_upload_progress_reach_100_percent(person, shop, tmp_path):
    publisher = person("en")
    page = publisher.login("pub@vendor.test", PASSWORD)
    page.click("text=Publish")
    big = tmp_path / "erp-9.0.1-patch.bin"
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    page.select_option("#product", "erp")
    page.fill("#version", "9.0.1")
    page.select_option("#kind", "patch")
    page.fill("#applies_to", ">=9.0,<9.0.1")
    page.set_input_files("#file", str(big))
    responses = []
    page.on("response", lambda r: responses.append((r.url, r.status)))
    page.click("text=Upload and publish")
    try:
        expect(page.locator("#publish-result")).not_to_be_empty(timeout=60_000)
    except AssertionError:
        errors = page.locator(".error").all_inner_texts()
        raise AssertionError((publisher.problems, errors, responses)) from None
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    assert "(100%)" in page.inner_text("#upload-status")
    assert hashlib.sha256(big.read_bytes()).hexdigest() in page.inner_text("#publish-result")
    publisher.shot("en-publish-done")
    assert publisher.problems == []


def test_publish_form_shows_field_errors_before_uploading(person, shop, tmp_path):
    publisher = person("zh")
    page = publisher.login("pub@vendor.test", PASSWORD)
    page.goto(publisher.base_url + "/publish")
    (tmp_path / "x.bin").write_bytes(b"x")
    page.select_option("#product", "erp")
    page.fill("#version", "9.0.2")
    page.select_option("#kind", "patch")
    page.set_input_files("#file", str(tmp_path / "x.bin"))
    page.click("#publish button[type=submit]")
    expect(page.locator("[data-for=applies_to]")).to_contain_text("applies_to")
    assert page.locator(".progress").is_hidden()
    assert publisher.problems == []


PAGES = {
    "it@acme.test": [
        "/",
        "/products",
        "/products/erp?from=8.0",
        "/licenses",
        "/tokens",
        "/users",
        "/account",
        "/installations",
        "/search?q=%E8%BF%87%E8%B4%A6",
        "/advisories",
    ],
    "am@vendor.test": ["/licenses", "/requests", "/fleet"],
    "appr@vendor.test": ["/requests"],
    "pub@vendor.test": ["/publish", "/fleet", "/advisories"],
    "admin@vendor.test": ["/admin/", "/admin/audit", "/admin/mail", "/users"],
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_main_pages_in_both_languages_render_cleanly(person, shop, language, client, world):
    client.post(
        "/api/v1/license-requests",
        headers=world.auth("am@vendor.test"),
        json={
            "license_id": client.get(
                "/api/v1/licenses", headers=world.auth("am@vendor.test")
            ).get_json()["items"][0]["id"],
            "target_version": "9.0",
            "note": "Please",
        },
    )
    login = person(language)
    login.open("/login")
    login.shot(f"{language}-login")
    marker = "登录" if language == "zh" else "Log in"
    assert marker in login.page.inner_text("h1")
    for email, paths in PAGES.items():
        watched = person(language)
        watched.login(email, PASSWORD)
        for path in paths:
            page = watched.open(path)
            assert page.locator("h1").count() == 1, path
            name = path.strip("/").replace("/", "-").split("?")[0] or "home"
            watched.shot(f"{language}-{email.split('@')[0]}-{name}")
        phone = watched.context.new_page()
        phone.set_viewport_size({"width": 390, "height": 800})
        phone.goto(watched.base_url + paths[0])
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert watched.problems == [], (email, watched.problems)
