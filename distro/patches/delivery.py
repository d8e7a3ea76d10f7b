"""Sending a package's bytes: the one download rule behind every URL that serves them
(`/packages/{id}/download` and the TUF target paths), so authorization has happened,
and yank, conditional requests, ranges, redirect mode and the audit row apply alike."""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass

from flask import Response, current_app, redirect, request
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.core.db import release_session
from distro.core.errors import Gone, StorageUnavailable
from distro.core.metrics import DOWNLOAD_BYTES, DOWNLOADS_IN_FLIGHT
from distro.patches.models import Package, PackageDelta
from distro.storage.factory import get_storage
from distro.storage.httpfiles import file_response, not_modified, plan_span, relays_by_splice

log = logging.getLogger("distro")


def deliver(session: Session, actor: Actor, package: Package) -> Response:
    """The response for an entitled caller's download of `package`."""
    if package.yanked:
        raise Gone(f"this package was yanked: {package.yank_reason}", code="yanked")
    stored = Stored(package.storage_key, package.size, package.sha256, package.filename)
    return _send(session, actor, package, stored, "package.download")


def deliver_delta(session: Session, actor: Actor, package: Package, delta: PackageDelta):
    """The response for an entitled caller's download of a delta to `package`: the
    package's rule (a yanked package's deltas are gone with it)."""
    if package.yanked:
        raise Gone(f"this package was yanked: {package.yank_reason}", code="yanked")
    stored = Stored(delta.storage_key, delta.size, delta.sha256, delta.filename(package))
    return _send(session, actor, package, stored, "package.delta_download", base=delta.base_id)


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str
    filename: str


def _send(session, actor, package: Package, stored: Stored, action: str, **details) -> Response:
    span = plan_span(request, stored.size, stored.sha256)
    if span is None:
        return not_modified(stored.sha256, stored.filename)
    storage = get_storage()
    url = None
    if current_app.config["DOWNLOAD_MODE"] == "redirect":
        url = storage.presigned_url(
            stored.key, stored.filename, current_app.config["PRESIGN_SECONDS"]
        )
    audit.record(
        session,
        actor,
        action,
        target_type="package",
        target_id=package.id,
        org_id=actor.org_id,
        redirect=url is not None,
        range=f"{span.start}+{span.length}" if span.partial else None,
        **details,
    )
    session.commit()
    package_id, (key, size, sha, filename) = package.id, astuple(stored)
    release_session()  # a long download must not hold a database connection
    if url:
        DOWNLOAD_BYTES.labels("redirect").inc(span.length)
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "no-store"
        return response
    path, opened, chunks = storage.local_path(key), None, None
    try:
        if path and not path.is_file():
            raise FileNotFoundError(key)
        if not path and span.length and relays_by_splice(request):
            opened = storage.open_body(key, span.start, span.length)
        if not path and opened is None:
            chunks = storage.iter_range(key, span.start, span.length)
    except FileNotFoundError:
        log.error("package %s: object %s is missing from the store", package_id, key)
        raise StorageUnavailable(
            "the package's bytes are missing from the object store; "
            "the operators have been alerted",
            code="object_missing",
        ) from None
    # Counted as answered: a client that goes away early still counts whole.
    DOWNLOAD_BYTES.labels("local" if path else "proxy").inc(span.length)
    DOWNLOADS_IN_FLIGHT.inc()
    return file_response(
        request,
        size=size,
        etag=sha,
        filename=filename,
        chunks=chunks,
        path=path,
        opened=opened,
        span=span,
        idle_seconds=current_app.config["DOWNLOAD_IDLE_SECONDS"],
        on_close=DOWNLOADS_IN_FLIGHT.dec,
    )
