"""The return trip: the installation reports a mirror received, written to a file that a
customer admin takes to the vendor (`POST /api/v1/installations/import`). Each report
keeps its id, so the vendor counts it once however often a file is imported; a report
goes into the next file until one was written with it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from distro.bundles.format import write_file
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import ValidationError
from distro.installations.offline import FILE_TYPE
from distro.mirror.models import MirrorReport, MirrorState
from distro.mirror.site import Site
from distro.signing.signer import canonical_json


def export_reports(site: Site, out: Path) -> int:
    """Write the reports not yet written to a file into `out`; returns how many."""
    with site.session() as session:
        state = session.get(MirrorState, 1)
        if state.org is None:
            raise ValidationError("this mirror has imported no bundle yet: it has no reports")
        rows = list(
            session.scalars(
                select(MirrorReport)
                .where(MirrorReport.exported_at.is_(None))
                .order_by(MirrorReport.reported_at, MirrorReport.id)
            )
        )
        document = {
            "type": FILE_TYPE,
            "org": state.org,
            "created_at": rfc3339(utcnow()),
            "reports": [_report_json(row) for row in rows],
        }
        write_file(out, canonical_json(document))
        now = utcnow()
        for row in rows:
            row.exported_at = now
        session.commit()
    return len(rows)


def _report_json(row: MirrorReport) -> dict:
    return {
        "id": row.id,
        "installation": row.installation,
        "product": row.product,
        "version": row.version,
        "event": row.event,
        "package_id": row.package_id,
        "error": row.error,
        "reported_at": rfc3339(row.reported_at),
    }
