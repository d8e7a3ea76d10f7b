"""Demo data for a first look at the embedded default: one account per role, one
customer with a license, and a few small signed packages. Idempotent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro.accounts import services as accounts
from distro.accounts import totp
from distro.accounts.actor import CLI, Actor
from distro.accounts.models import Organisation, SecondFactor, User
from distro.accounts.sealing import Sealer
from distro.core.clock import utcnow
from distro.core.errors import NotFound
from distro.installations.models import Installation
from distro.installations.services import report
from distro.licenses.models import License
from distro.licenses.services import grant_license
from distro.patches import products
from distro.patches.models import Package, Product
from distro.patches.services import check_fields, publish_package
from distro.signing.signer import Signer
from distro.storage.base import ObjectStorage

DEMO_PASSWORD = "demo-password-1"
DEMO_USERS = [
    ("publisher@example.com", "publisher", None),
    ("approver@example.com", "approver", None),
    ("manager@example.com", "account_manager", None),
    ("it@acme.example", "customer_admin", "acme"),
    ("viewer@acme.example", "customer_user", "acme"),
]
DEMO_PACKAGES = [
    ("9.0", "installer", None, "erp-9.0-setup.bin", {}),
    ("9.0.1", "patch", ">=9.0,<9.0.1", "erp-9.0.1-patch.bin", {}),
    (
        "9.0.2",
        "patch",
        ">=9.0,<9.0.2",
        "erp-9.0.2-gl-posting.bin",
        {
            "notes": "Voucher posting fails when the period was closed and reopened. "
            "修复期间关闭后重新打开时凭证无法过账的问题。",
            "defects": "PT-201301=总账凭证过账失败\nPT-201302=Voucher totals differ after posting",
            "modules": "gl",
            "severity": "high",
        },
    ),
    (
        "9.0.3",
        "patch",
        ">=9.0,<9.0.3",
        "erp-9.0.3-tls-security.bin",
        {
            "notes": "Updates the bundled TLS library. 更新内置 TLS 库。",
            "defects": "PT-201355=TLS 库安全更新",
            "modules": "sys",
            "severity": "critical",
            "cves": "CVE-2026-31337",
        },
    ),
    ("9.1", "feature_pack", ">=9.0,<9.1", "erp-9.1-features.bin", {}),
]
# The demo customer's systems, so that the Advisories page has something to show.
DEMO_INSTALLATIONS = [("erp-prod-01", "9.0.1"), ("erp-test-01", "9.0")]


def seed_demo(session: Session, storage: ObjectStorage, signer: Signer) -> list[tuple[str, str]]:
    """Create what is missing; returns (e-mail, role) of the demo accounts."""
    if not session.scalars(select(Product).where(Product.code == "erp")).first():
        products.create_product(session, CLI, "erp", "ERP Suite")
    for email, role, org in DEMO_USERS:
        if (
            org
            and not session.scalars(select(Organisation).where(Organisation.code == org)).first()
        ):
            accounts.create_org(session, CLI, org, "ACME Manufacturing Ltd.")
        try:
            accounts.find_user(session, email)
        except NotFound:
            accounts.create_user(session, CLI, email, role, DEMO_PASSWORD, org)
    acme, erp = accounts.find_org(session, "acme"), products.find_product(session, "erp")
    accounts.assign_account_manager(
        session, CLI, acme, accounts.find_user(session, "manager@example.com")
    )
    if not session.scalars(select(License).where(License.org_id == acme.id)).first():
        grant_license(
            session,
            signer,
            CLI,
            org=acme,
            product=erp,
            version="9.0",
            modules=["finance", "hr", "inventory"],
            user_count=50,
            kind="subscription",
            deployment="on_premises",
            starts=date(2026, 1, 1),
            expires=date(2028, 12, 31),
        )
    for version, kind, applies, filename, details in DEMO_PACKAGES:
        if not session.scalars(select(Package).where(Package.filename == filename)).first():
            _publish_demo_file(session, storage, signer, version, kind, applies, filename, details)
    admin = Actor(user=accounts.find_user(session, "it@acme.example"))
    for name, version in DEMO_INSTALLATIONS:
        if not session.scalars(select(Installation).where(Installation.name == name)).first():
            body = {"installation": name, "product": "erp", "version": version, "event": "check"}
            report(session, admin, body)
    return [(email, role) for email, role, _ in DEMO_USERS]


def demo_authenticator(session: Session, user: User, sealer: Sealer) -> str:
    """The demo account's authenticator-app secret (enrolled here if it has none), so
    that a newcomer signs in as staff with the second factor the service requires."""
    for factor in session.scalars(
        select(SecondFactor).where(
            SecondFactor.user_id == user.id,
            SecondFactor.kind == "totp",
            SecondFactor.confirmed_at.is_not(None),
        )
    ):
        secret = sealer.unseal(factor.totp_sealed)
        if secret:
            return secret
    factor, secret, _uri = totp.begin(session, user, sealer, "Demo authenticator")
    factor.confirmed_at = utcnow()
    return secret


def _publish_demo_file(session, storage, signer, version, kind, applies, filename, details) -> None:
    fields = check_fields(
        session,
        product="erp",
        version=version,
        kind=kind,
        filename=filename,
        applies_to=applies,
        **{"notes": f"Demo {kind} for ERP {version}.", **details},
    )
    writer = storage.open_writer(1024 * 1024)
    writer.write(f"demo {kind} {version}\n".encode() * 1000)
    publish_package(session, storage, signer, CLI, fields, writer)
