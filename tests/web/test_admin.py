"""The admin audit page: filters, CSV export of the same selection, downloads chart."""

from __future__ import annotations

import csv
import io

from tests.accounts.test_login import csrf_token, login


def test_audit_filters_and_csv_export_agree(client, world):
    login(client, "admin@vendor.test")
    page = client.get("/admin/audit?action=token.create")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "token.create" in text and "user.create" not in text.split("<table>")[1]
    exported = client.get("/admin/audit.csv?action=token.create")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows and {row["action"] for row in rows} == {"token.create"}
    assert len(rows) == text.split("<table>")[1].count("<tr>") - 1
    everything = client.get("/admin/audit.csv").get_data(as_text=True)
    assert "user.create" in everything and "org.create" in everything
    none = client.get("/admin/audit.csv?since=2099-01-01").get_data(as_text=True)
    assert none.strip().count("\n") == 0  # the header only


def test_downloads_chart_has_thirty_days(client, world):
    login(client, "admin@vendor.test")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert page.count("<rect ") == 30


def test_admin_pages_are_for_admins_only(client, world):
    login(client, "it@acme.test")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert client.get("/admin/").status_code == 403


def test_an_admin_switches_a_products_review_on_the_admin_page(app, client, world):
    login(client, "admin@vendor.test")
    token = csrf_token(client, "/admin/")
    answer = client.post(
        "/admin/products/erp/review", data={"review": "system", "csrf_token": token}
    )
    assert answer.status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert 'value="system" selected' in page and "Upgrade requests of erp: system review." in page
    refused = client.post(
        "/admin/products/erp/review", data={"review": "robot", "csrf_token": token}
    )
    assert refused.status_code == 302
    assert "review must be one of approver, system" in client.get("/admin/").get_data(as_text=True)
