"""What a package fixes, beyond its signed manifest: the defects, the modules it touches,
its severity and CVEs, and its notes. Given on publish and changeable later by
publishers; none of it is signed, so changing it leaves the manifest and signature as
they are. Every change keeps the search index and the exact references in step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.core.errors import ValidationError
from distro.core.parsers import (
    parse_cves,
    parse_defects,
    parse_package_modules,
    parse_severity,
    parse_text,
)
from distro.core.searchtext import document_grams, package_document
from distro.patches.models import Package, PackageReference, PackageSearch

MAX_NOTES = 20000
FIELDS = ("notes", "defects", "modules", "severity", "cves")


@dataclass(frozen=True)
class Details:
    notes: str = ""
    defects: tuple[dict, ...] = ()
    modules: tuple[str, ...] = ()
    severity: str = "none"
    cves: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {
            "notes": self.notes,
            "defects": list(self.defects),
            "modules": list(self.modules),
            "severity": self.severity,
            "cves": list(self.cves),
        }


def parse_details(given: dict) -> Details:
    """The details as sent on publish (form fields or JSON values)."""
    return Details(
        notes=parse_text(given.get("notes"), "notes", MAX_NOTES, multiline=True),
        defects=tuple(parse_defects(given.get("defects"))),
        modules=tuple(parse_package_modules(given.get("modules"))),
        severity=parse_severity(given.get("severity")),
        cves=tuple(parse_cves(given.get("cves"))),
    )


def details_of(package: Package) -> Details:
    return Details(
        notes=package.notes,
        defects=tuple(package.defects),
        modules=tuple(package.modules),
        severity=package.severity,
        cves=tuple(package.cves),
    )


def apply_details(session: Session, package: Package, details: Details) -> None:
    """Store the details on the (flushed) package, its references and its search row."""
    package.notes = details.notes
    package.defects_json = json.dumps(list(details.defects), ensure_ascii=False)
    package.modules_text = ",".join(details.modules)
    package.cves_text = ",".join(details.cves)
    package.severity = details.severity
    package.advisory = details.severity != "none" or bool(details.cves)
    session.execute(delete(PackageReference).where(PackageReference.package_id == package.id))
    references = {d["id"] for d in details.defects} | set(details.cves)
    session.add_all(PackageReference(reference=r, package_id=package.id) for r in references)
    body = package_document(
        package.filename, details.notes, list(details.defects), list(details.cves)
    )
    row = session.scalar(select(PackageSearch).where(PackageSearch.package_id == package.id))
    if row is None:
        row = PackageSearch(package_id=package.id, product_id=package.product_id)
        session.add(row)
    row.body, row.grams = body, document_grams(body)


def change_details(session: Session, actor: Actor, package: Package, body: dict) -> Package:
    """PATCH: change the fields `body` names, audit what changed; the caller commits."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ValidationError(
            f"{unknown[0]} cannot be changed; a package's {', '.join(FIELDS)} can",
            field=unknown[0],
        )
    if not body:
        raise ValidationError(f"send at least one of {', '.join(FIELDS)}", field=FIELDS[0])
    before = details_of(package).as_json()
    new = parse_details({**before, **body})
    after = new.as_json()
    changed = sorted(name for name in FIELDS if before[name] != after[name])
    if changed:
        apply_details(session, package, new)
        audit.record(
            session,
            actor,
            "package.change",
            target_type="package",
            target_id=package.id,
            changed=changed,
            **{name: after[name] for name in changed if name != "notes"},
        )
    return package
