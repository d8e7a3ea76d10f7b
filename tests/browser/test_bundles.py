"""Offline bundles in a real browser, in both languages: a customer admin asks for one,
the worker builds it, and its part downloads with the bytes the manifest signs."""

from __future__ import annotations

import hashlib
import json

import pytest
from playwright.sync_api import expect

from tests.bundles.conftest import vendor  # noqa: F401  (fixture)
from tests.conftest import PASSWORD, cli_ok

WORDS = {
    "en": {"nav": "Offline bundles", "ask": "Ask for the bundle", "new": "Only what is new"},
    "zh": {"nav": "离线包", "ask": "申请", "new": "仅离线包 1 之后的新内容"},
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_customer_admin_asks_for_a_bundle_and_downloads_it(
    person,
    runner,
    vendor,  # noqa: F811
    language,
    tmp_path,
):
    words = WORDS[language]
    admin = person(language)
    page = admin.login("it@acme.test", PASSWORD)
    page.click(f"nav >> text={words['nav']}")
    page.click(f"button:has-text('{words['ask']}')")
    expect(page.locator("table")).to_contain_text("1")
    assert "built 1 bundles" in cli_ok(runner, "worker", "--once")
    page.reload()
    expect(page.locator("body")).to_contain_text(words["new"])
    with page.expect_download() as download:
        page.click("a:has-text('acme-1.bundle.json')")
    manifest = json.loads(open(download.value.path(), "rb").read())
    with page.expect_download() as download:
        page.click("a:has-text('acme-1.part001')")
    data = open(download.value.path(), "rb").read()
    assert hashlib.sha256(data).hexdigest() == manifest["parts"][0]["sha256"]
    admin.shot(f"{language}-bundles")
    assert admin.problems == []
