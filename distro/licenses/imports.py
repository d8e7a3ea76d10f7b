"""Bulk import of licenses, and the one table of every kind of bulk import.

Licenses are matched by serial (the vendor's own numbering), so a file runs twice to the
same result. Each new license is signed as a granted one would be (same payload, same
file format), in batches written with bulk statements; see `distro.accounts.imports`
for the rules every import follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from sqlalchemy import text
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.imports import (
    Progress,
    existing,
    import_orgs,
    import_users,
    write_in_batches,
)
from distro.accounts.models import Organisation
from distro.core.clock import utcnow
from distro.core.errors import ValidationError
from distro.core.ids import new_id
from distro.core.parsers import parse_date, parse_integer_text, parse_serial, parse_version
from distro.core.tables import Report, read_rows
from distro.core.versions import line_key
from distro.licenses import licensefile
from distro.licenses.models import License
from distro.licenses.services import (
    MAX_USERS,
    payload_of,
    validate_modules,
    validate_terms,
)
from distro.patches.models import Product
from distro.signing.signer import Signer

LICENSE_COLUMNS = (
    "serial",
    "org",
    "product",
    "version",
    "modules",
    "users",
    "kind",
    "deployment",
    "starts",
    "expires",
)


@dataclass
class LicenseRow:
    line: int
    serial: str
    org: str
    product: str
    version: str
    modules: list[str]
    users: int
    kind: str
    deployment: str
    starts: date
    expires: date | None


def import_licenses(
    session: Session,
    actor: Actor,
    stream,
    signer: Callable[[], Signer],
    progress: Progress | None = None,
    dry_run: bool = False,
) -> Report:
    """Licenses, one per row: `serial`, `org` and `product` (codes), `version`,
    `modules`, `users`, `kind`, `deployment`, `starts`, `expires` (empty: perpetual)."""
    report, rows, seen = Report("licenses"), [], {}
    for line, raw in read_rows(stream, LICENSE_COLUMNS, report):
        report.rows += 1
        try:
            row = _license_row(line, raw)
        except ValidationError as exc:
            report.refuse(line, exc)
            continue
        if row.serial in seen:
            report.refuse(
                line, f"serial {row.serial} is on line {seen[row.serial]} already", "serial"
            )
            continue
        seen[row.serial] = line
        rows.append(row)
    orgs = existing(session, Organisation.code, [r.org for r in rows])
    products = existing(session, Product.code, [r.product for r in rows])
    for row in rows:
        if row.org not in orgs:
            report.refuse(row.line, f"no organisation with code {row.org!r}", "org")
        if row.product not in products:
            report.refuse(row.line, f"no product with code {row.product!r}", "product")
    if report.error_count or dry_run:
        return report
    known = existing(session, License.serial, [r.serial for r in rows])
    new = [r for r in rows if r.serial not in known]
    report.existing = len(rows) - len(new)
    key = signer() if new else None  # no signing key is needed to import nothing new
    write_in_batches(
        session,
        report,
        new,
        lambda batch: _write_licenses(session, actor, key, batch, orgs, products),
        progress,
    )
    return report


def _license_row(line: int, raw: dict) -> LicenseRow:
    expires = (raw.get("expires") or "").strip()
    row = LicenseRow(
        line=line,
        serial=parse_serial(raw.get("serial")),
        org=(raw.get("org") or "").strip(),
        product=(raw.get("product") or "").strip(),
        version=parse_version(raw.get("version")),
        modules=validate_modules(raw.get("modules") or ""),
        users=parse_integer_text(raw.get("users"), "users", 1, MAX_USERS),
        kind=(raw.get("kind") or "").strip(),
        deployment=(raw.get("deployment") or "").strip(),
        starts=parse_date(raw.get("starts"), "starts"),
        expires=parse_date(expires, "expires") if expires else None,
    )
    validate_terms(row.kind, row.deployment, row.starts, row.expires)
    return row


def _write_licenses(
    session: Session, actor: Actor, signer: Signer, batch: list[LicenseRow], orgs, products
) -> None:
    issued_at, values = utcnow().replace(microsecond=0), []
    for row in batch:
        # The row as a plain object: payload_of reads attributes, and an ORM instance
        # per row would cost as much as signing it.
        license = SimpleNamespace(
            id=new_id(),
            serial=row.serial,
            org_id=orgs[row.org].id,
            product_id=products[row.product].id,
            version=row.version,
            line_key=line_key(row.version),
            modules=row.modules,
            user_count=row.users,
            kind=row.kind,
            deployment=row.deployment,
            starts=row.starts,
            expires=row.expires,
            status="active",
            issued_at=issued_at,
            supersedes=None,
            request_id=None,
            kid=signer.kid,
        )
        license.org, license.product = orgs[row.org], products[row.product]
        data, text = licensefile.encode(payload_of(license), signer)
        values.append(
            {column: getattr(license, column) for column in COLUMNS}
            | {"payload": data.decode(), "file_text": text}
        )
    session.execute(License.__table__.insert(), values)
    audit.record_many(
        session,
        actor,
        "license.grant",
        [
            {
                "target_id": v["id"],
                "org_id": v["org_id"],
                "details": {"serial": v["serial"], "version": v["version"], "imported": True},
            }
            for v in values
        ],
        target_type="license",
    )


KINDS = ("orgs", "users", "licenses")
COLUMNS = [c for c in License.__table__.columns.keys() if c not in ("payload", "file_text")]


def run_import(
    session: Session,
    actor: Actor,
    kind: str,
    stream,
    signer: Callable[[], Signer],
    progress: Progress | None = None,
) -> Report:
    """The import of `kind` (orgs, users or licenses) from a text stream."""
    if kind == "orgs":
        report = import_orgs(session, actor, stream, progress)
    elif kind == "users":
        report = import_users(session, actor, stream, progress)
    elif kind == "licenses":
        report = import_licenses(session, actor, stream, signer, progress)
    else:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if report.created:
        refresh_statistics(session, *WRITTEN[kind])
    return report


# What each kind writes, for the planner's statistics afterwards.
WRITTEN = {
    "orgs": ("organisations", "org_account_managers"),
    "users": ("users",),
    "licenses": ("licenses",),
}


def refresh_statistics(session: Session, *tables: str) -> None:
    """ANALYZE what an import just filled (PostgreSQL). Until autovacuum gets to it, the
    planner takes a table that went from empty to 100,000 rows for empty, and the next
    import's foreign-key checks against it scan it whole, once per row: users after
    100,000 organisations came in at 191 rows/s in bench/scale.py."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(f"ANALYZE {table}"))
    session.commit()
