"""The publish mail of an advisory says its severity and CVEs and names the receiving
organisation's own affected installations (never another organisation's)."""

from __future__ import annotations

import pytest

from tests.conftest import body_of, publish_file, run_worker


@pytest.fixture
def app_config(app_config, mailbox):
    return dict(app_config, SMTP_URL=mailbox.url, BASE_URL="https://distro.example")


def test_an_advisory_mail_names_each_organisations_affected_installations(
    runner,
    mailbox,
    tmp_path,
    fleet,
):
    run_worker(runner)  # the catalogue's own notices go first
    mailbox.received.clear()
    fix = tmp_path / "erp-8.0.3.zip"
    fix.write_bytes(b"fix")
    details = ("--severity", "critical", "--cve", "CVE-2026-50001", "--defect", "PT-9=凭证丢失")
    publish_file(
        runner, fix, version="8.0.3", kind="patch", applies_to=">=8.0,<8.0.3", details=details
    )
    run_worker(runner)
    acme = mailbox.one_to("it@acme.test")
    assert acme["Subject"] == "[Critical] New for ERP Suite: 8.0.3"
    text = body_of(acme).replace("\r\n", "\n")
    assert "CVE: CVE-2026-50001" in text and "PT-9 凭证丢失" in text
    assert "- erp-new (8.0.2)\n- erp-old (8.0.1)\n- erp-prod-01 (8.0)" in text
    assert "globex-erp" not in text and "globex-erp" not in body_of(acme, "html")
    globex = body_of(mailbox.one_to("it@globex.test")).replace("\r\n", "\n")
    assert "- globex-erp (8.0)" in globex and "erp-prod-01" not in globex


def test_an_ordinary_package_mail_has_no_advisory_part(runner, mailbox, tmp_path, fleet):
    run_worker(runner)
    mailbox.received.clear()
    fix = tmp_path / "erp-8.0.3.zip"
    fix.write_bytes(b"fix")
    publish_file(runner, fix, version="8.0.3", kind="patch", applies_to=">=8.0,<8.0.3")
    run_worker(runner)
    notice = mailbox.one_to("it@acme.test")
    assert notice["Subject"] == "New for ERP Suite: 8.0.3"
    assert "Your installations below this fix" not in body_of(notice)
