"""The pages that find a fix: the search box and page, the product page with its release
line tabs, filters and pages of 50, the Advisories page; in English and Chinese."""

from __future__ import annotations

import re

import distro.patches.pages
from tests.conftest import login, switch_language


def page(client, path, status=200, **args) -> str:
    answer = client.get(path, query_string=args)
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def test_the_search_page_finds_a_chinese_title_and_keeps_within_the_license(client, catalogue):
    login(client, "it@acme.test")
    assert 'action="/search"' in page(client, "/")  # the box on every page
    found = page(client, "/search", q="过账")
    assert "gl-voucher-fix.zip" in found and "总账凭证过账失败" in found
    assert "gl-posting-9.zip" not in found  # 9.0 is beyond acme's license
    assert 'class="badge severity-high"' in found
    refused = page(client, "/search", status=400, q="\u202eevil")
    assert 'role="alert"' in refused and "q:" in refused


def test_the_product_page_has_release_line_tabs_filters_and_pages(client, catalogue, monkeypatch):
    login(client, "pub@vendor.test")
    whole = page(client, "/products/erp")
    tabs = re.findall(r'href="/products/erp\?line=([0-9.]+)"', whole)
    assert tabs == ["9.0", "8.0"]
    nine = page(client, "/products/erp", line="9.0")
    assert "gl-posting-9.zip" in nine and "tls-update.zip" not in nine
    critical = page(client, "/products/erp", severity="critical")
    assert "tls-update.zip" in critical and "gl-voucher-fix.zip" not in critical
    assert 'href="https://www.cve.org/CVERecord?id=CVE-2026-31337"' in critical
    monkeypatch.setattr(distro.patches.pages, "PAGE", 2)
    first = page(client, "/products/erp", kind="patch")
    later = re.search(r'href="(/products/erp\?cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "kind=patch" in later
    second = client.get(later).get_data(as_text=True)
    shown = re.findall(r'id="pkg-([0-9a-f]{32})"', first + second)
    patches = {catalogue[n] for n in ("voucher", "tls", "nine")}
    assert sorted(shown) == sorted(patches)


def test_a_customer_does_not_see_tabs_beyond_its_license(client, catalogue):
    login(client, "it@acme.test")
    assert re.findall(r'href="/products/erp\?line=([0-9.]+)"', page(client, "/products/erp")) == [
        "8.0"
    ]
    assert client.get("/products/crm").status_code == 404


def test_the_advisories_page_shows_affected_installations_and_the_approval_they_wait_for(
    client,
    fleet,
):
    login(client, "it@acme.test")
    shown = page(client, "/advisories")
    assert "tls-update.zip" in shown and "erp-prod-01" in shown and "erp-old" in shown
    assert "globex-erp" not in shown
    assert "Approve 8.0.2 for ring prod" in shown
    start = page(client, "/")
    assert "Installations affected by critical or high advisories: 2" in start
    switch_language(client, "zh", "/advisories")
    chinese = page(client, "/advisories")
    assert "安全公告" in chinese and "严重" in chinese
