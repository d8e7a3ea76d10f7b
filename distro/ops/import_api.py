"""`POST /api/v1/import/{kind}` for admins: a bulk import over HTTP, the same as `distro
import` (a multipart `file`, or the CSV or JSON lines as the body itself)."""

from __future__ import annotations

import io

from flask import Blueprint, jsonify, request

from distro.accounts.auth import api_access
from distro.api.errorhandlers import envelope
from distro.api.inputs import streams_body
from distro.core.db import get_session
from distro.core.errors import ValidationError
from distro.core.tables import Report
from distro.licenses.imports import KINDS, run_import
from distro.signing.keys import lazy_signer

bp = Blueprint("imports", __name__, url_prefix="/api/v1")


def text_of_upload():
    """The uploaded table as text: the `file` part of a form, or the body itself."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError("send the table in a form field named 'file'", field="file")
        return io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")
    return io.TextIOWrapper(request.stream, encoding="utf-8-sig", newline="")


def report_response(report: Report):
    """200 with what was done, or 422 naming every refused row (nothing was done)."""
    if report.error_count:
        return envelope(
            422,
            "invalid_rows",
            f"{report.error_count} rows were refused; nothing was imported",
            rows=[e.json() for e in report.errors],
        )
    return jsonify(report.json())


@bp.post("/import/<kind>")
@streams_body("MAX_IMPORT_BYTES")
@api_access("admin", fresh=True)
def import_table(actor, kind: str):
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    session = get_session()
    session.commit()  # no transaction stays open while the table streams in
    try:
        report = run_import(session, actor, kind, text_of_upload(), lazy_signer(session))
    except UnicodeDecodeError:
        raise ValidationError("the table must be UTF-8 text", field="file") from None
    return report_response(report)
