"""Finding the fix in a real browser, in both languages: the header's search box, the
filters of the search page, and the Advisories page with the installations affected."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.finding.conftest import catalogue, fleet  # noqa: F401  (fixtures)

WORDS = {
    "en": {
        "search": "Search",
        "advisories": "Advisories",
        "critical": "Critical",
        "wait": "Approve 8.0.2 for ring prod",
    },
    "zh": {
        "search": "搜索",
        "advisories": "安全公告",
        "critical": "严重",
        "wait": "为环 prod 批准 8.0.2",
    },
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_customer_finds_the_fix_and_sees_which_systems_lack_it(
    person,
    fleet,  # noqa: F811
    language,
):
    words = WORDS[language]
    admin = person(language)
    page = admin.login("it@acme.test", PASSWORD)
    page.fill("#header-q", "过账")
    page.click(f"header button:has-text('{words['search']}')")
    results = page.locator("article.package")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("PT-201301")
    expect(results.first).to_contain_text("总账凭证过账失败")
    admin.shot(f"{language}-search")

    page.fill("#q", "")
    page.select_option("#f-severity", "critical")
    page.click(f"form.filters button:has-text('{words['search']}')")
    expect(page.locator("article.package")).to_have_count(1)
    expect(page.locator("article.package").first).to_contain_text("tls-update.zip")
    expect(page.locator("article.package .badge").first).to_have_text(words["critical"])

    page.click(f"nav >> text={words['advisories']}")
    tls = page.locator("article.package", has_text="tls-update.zip")
    expect(tls.locator("tr", has_text="erp-prod-01")).to_contain_text(words["wait"])
    expect(tls.locator("tr", has_text="erp-old")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("globex-erp")
    admin.shot(f"{language}-advisories")
    assert admin.problems == []
