"""A catalogue to find fixes in: ERP 8.0 and 9.0 packages with defects, modules, severities
and CVEs, in Chinese and English, and a customer (acme) licensed for ERP 8.0 only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from distro.patches.models import Package
from tests.conftest import db_session, grant_license, publish_file
from tests.installations.conftest import report


@dataclass(frozen=True)
class Entry:
    version: str
    kind: str
    filename: str
    notes: str
    details: tuple = ()
    applies_to: str | None = None
    product: str = "erp"


CORPUS = {
    "voucher": Entry(
        "8.0.1",
        "patch",
        "gl-voucher-fix.zip",
        "Voucher posting fails when the period is closed.",
        ("--defect", "PT-201301=总账凭证过账失败", "--modules", "GL", "--severity", "high"),
        ">=8.0,<8.0.1",
    ),
    "tls": Entry(
        "8.0.2",
        "patch",
        "tls-update.zip",
        "Updates the bundled TLS library.",
        ("--severity", "critical", "--cve", "CVE-2026-31337", "--modules", "sys"),
        ">=8.0,<8.0.2",
    ),
    "report": Entry(
        "8.0.5",
        "feature_pack",
        "报表增强包.zip",
        "新增应收账款账龄分析报表。",
        ("--defect", "PT-201455=Aging report shows wrong totals", "--modules", "AR,GL"),
        ">=8.0,<8.0.5",
    ),
    "nine": Entry(
        "9.0.1",
        "patch",
        "gl-posting-9.zip",
        "Posting of vouchers in 9.0: 过账 speed-up.",
        ("--defect", "PT-301001=总账过账变慢", "--severity", "medium", "--cve", "CVE-2026-40001"),
        ">=9.0,<9.0.1",
    ),
    "installer": Entry("8.0", "installer", "erp-8.0-setup.exe", "Full installer of ERP 8.0."),
}


@pytest.fixture
def catalogue(app, runner, world, tmp_path) -> dict[str, str]:
    """Publishes CORPUS, a day apart in its order; returns each package id by name."""
    ids = {}
    for name, entry in CORPUS.items():
        path = tmp_path / entry.filename
        path.write_bytes(f"{name}\n".encode() * 100)
        ids[name] = publish_file(
            runner,
            path,
            version=entry.version,
            kind=entry.kind,
            product=entry.product,
            applies_to=entry.applies_to,
            notes=entry.notes,
            details=entry.details,
        )
    with db_session(app) as session:
        for day, package_id in enumerate(ids.values()):
            session.get(Package, package_id).published_at = datetime(2026, 11, 1 + day)
        session.commit()
    grant_license(runner, org="acme", version="8.0")
    return ids


@pytest.fixture
def fleet(client, world, runner, catalogue) -> dict:
    """acme runs three ERP systems on 8.0, 8.0.1 and 8.0.2; globex one on 8.0."""
    grant_license(runner, org="globex", version="8.0")
    ids = {}
    for who, name, version in [
        ("installer@acme", "erp-prod-01", "8.0"),
        ("installer@acme", "erp-old", "8.0.1"),
        ("installer@acme", "erp-new", "8.0.2"),
        ("installer@globex", "globex-erp", "8.0"),
    ]:
        answer = report(client, world, who=who, installation=name, version=version)
        assert answer.status_code == 201, answer.get_json()
        ids[name] = answer.get_json()["id"]
    admin = world.auth("it@acme.test")
    moved = client.put(
        f"/api/v1/installations/{ids['erp-prod-01']}", json={"ring": "prod"}, headers=admin
    )
    assert moved.status_code == 200, moved.get_json()
    approved = client.put(
        "/api/v1/rings/prod/approvals/erp", json={"version": "8.0.1"}, headers=admin
    )
    assert approved.status_code == 200, approved.get_json()
    return ids
