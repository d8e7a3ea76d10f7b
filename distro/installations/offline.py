"""Reports of installations at an offline site, brought back in the file a site mirror
writes (`distro mirror reports`): imported by the organisation's customer admin
(`POST /api/v1/installations/import`) or an operator (`distro installations import`).

The file names its organisation and each report keeps the mirror's id: a file of another
organisation is refused, and a report already imported (the same file twice, or two
files that overlap) counts once. One bad report refuses the whole file, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import Organisation
from distro.api.inputs import parse_json_document
from distro.core.clock import utcnow
from distro.core.errors import DistroError, Forbidden, RuleViolation, ValidationError
from distro.core.ids import is_id
from distro.core.parsers import parse_moment
from distro.installations.models import InstallationEvent
from distro.installations.services import parse_report, record_report

FILE_TYPE = "mirror-reports"
MAX_FILE_BYTES = 64 * 1024 * 1024
BATCH = 500


@dataclass(frozen=True)
class ReportsImported:
    new: int
    repeated: int

    def json(self) -> dict:
        return {"imported": self.new, "already_imported": self.repeated}


def import_reports(
    session: Session, actor: Actor, org: Organisation, raw: bytes
) -> ReportsImported:
    """Take in a mirror's reports file for `org`; the caller commits."""
    if not actor.is_staff and (actor.org_id != org.id or actor.role != "customer_admin"):
        raise Forbidden("only the organisation's customer admins import its mirror's reports")
    reports = _reports_of(raw, org)
    known = _already_imported(session, [r["id"] for r in reports])
    new = 0
    for number, item in enumerate(reports, start=1):
        if item["id"] in known:
            continue
        try:
            at = min(parse_moment(item.get("reported_at"), "reported_at"), utcnow())
            parsed = parse_report(session, org.id, item)
        except DistroError as exc:
            raise RuleViolation(
                f"report {number} ({item['id']}): {exc.message}; nothing was imported",
                code="invalid_report",
            ) from None
        record_report(session, org.id, parsed, at=at, via="mirror", report_id=item["id"])
        known.add(item["id"])
        new += 1
    result = ReportsImported(new, len(reports) - new)
    audit.record(session, actor, "installations.import", org_id=org.id, **result.json())
    return result


def _reports_of(raw: bytes, org: Organisation) -> list[dict]:
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError("a reports file is limited to 64 MiB", field="file")
    try:
        document = parse_json_document(raw)
    except ValidationError:
        raise ValidationError("not a mirror's reports file: not JSON", field="file") from None
    if not isinstance(document, dict) or document.get("type") != FILE_TYPE:
        raise ValidationError(
            "not a mirror's reports file (distro mirror reports writes one)", field="file"
        )
    if document.get("org") != org.code:
        raise Forbidden(
            f"this file holds the reports of organisation {document.get('org')!r}; "
            f"it cannot be imported as {org.code}'s"
        )
    reports = document.get("reports")
    if not isinstance(reports, list) or not all(
        isinstance(r, dict) and is_id(r.get("id")) for r in reports
    ):
        raise ValidationError("the file's reports must each have a mirror id", field="file")
    return reports


def _already_imported(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        found.update(
            session.scalars(
                select(InstallationEvent.report_id).where(InstallationEvent.report_id.in_(chunk))
            )
        )
    return found
