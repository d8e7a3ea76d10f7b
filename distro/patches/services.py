"""Publishing and yanking packages.

Publishing streams the file to a temporary object while hashing it, checks the client's
checksum, moves the bytes to their content key, signs the manifest and only then makes
the package visible in one transaction. Any failure before the commit leaves no visible
package; bytes already moved are unreferenced and `distro storage sweep` removes them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.core.clock import rfc3339, utcnow
from distro.core.errors import Conflict, RuleViolation, ValidationError
from distro.core.events import record_event
from distro.core.ids import new_id
from distro.core.parsers import (
    parse_filename,
    parse_range,
    parse_sha256,
    parse_text,
    parse_version,
)
from distro.core.versions import line_key, version_key
from distro.patches.details import Details, apply_details, parse_details
from distro.patches.models import KINDS, Package, Product
from distro.patches.products import find_product
from distro.signing.signer import Signer, canonical_json
from distro.storage.base import BlobWriter, ObjectStorage, blob_key
from distro.tuf import repository as tuf_repository

PUBLISHED = "package.published"  # the event the worker fans out as mail


@dataclass(frozen=True)
class PackageFields:
    """Validated publish form fields."""

    product: Product
    version: str
    kind: str
    filename: str
    applies_to: str | None
    details: Details
    sha256: str | None


def validate_filename(name: object) -> str:
    return parse_filename(name, "file")


def check_fields(
    session: Session,
    *,
    product: object,
    version: object,
    kind: object,
    filename: object,
    applies_to: object = None,
    sha256: object = None,
    notes: object = None,
    defects: object = None,
    modules: object = None,
    severity: object = None,
    cves: object = None,
) -> PackageFields:
    """Validate everything but the bytes; called before and after the upload."""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    version = parse_version(version)
    applies = applies_to.strip() if isinstance(applies_to, str) and applies_to.strip() else None
    if kind == "installer" and applies:
        raise ValidationError(
            "an installer installs from scratch; leave applies_to empty", field="applies_to"
        )
    if kind != "installer":
        if applies is None:
            raise ValidationError(
                f"a {kind} needs applies_to, like >=8.0,<8.0.3", field="applies_to"
            )
        applies = parse_range(applies)
    sha256 = parse_sha256(sha256) if sha256 not in (None, "") else None
    return PackageFields(
        product=find_product(session, product),
        version=version,
        kind=kind,
        filename=validate_filename(filename),
        applies_to=applies,
        details=parse_details(
            {
                "notes": notes,
                "defects": defects,
                "modules": modules,
                "severity": severity,
                "cves": cves,
            }
        ),
        sha256=sha256,
    )


def open_upload(
    session: Session, storage: ObjectStorage, early: dict, filename: str, max_bytes: int
) -> BlobWriter:
    """Open the writer for an upload's file part.

    The fields sent before the file are checked now, so that a wrong product or version
    is refused before any byte is stored (all fields are checked again afterwards). When
    a well-formed `sha256` came first and no object has that content yet, the bytes go
    straight to their content key; the store completes that object only if the bytes
    really hash to it.
    """
    validate_filename(filename)
    if early.get("product") is not None:
        find_product(session, early["product"])
    if early.get("version") is not None:
        parse_version(early["version"])
    if early.get("kind") is not None and early["kind"] not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", field="kind")
    try:
        claimed = parse_sha256(early.get("sha256"))
    except ValidationError:
        return storage.open_writer(max_bytes)  # refused with the other fields afterwards
    if not storage.exists(blob_key(claimed)):
        return storage.open_writer(max_bytes, final_key=blob_key(claimed))
    return storage.open_writer(max_bytes)


def _ensure_new(session: Session, fields: PackageFields) -> None:
    clash = session.scalars(
        select(Package.id).where(
            Package.product_id == fields.product.id,
            Package.version_key == version_key(fields.version),
            Package.kind == fields.kind,
            Package.filename == fields.filename,
        )
    ).first()
    if clash:
        raise Conflict(
            f"{fields.product.code} {fields.version} {fields.kind} "
            f"{fields.filename} is already published (package {clash})",
            code="duplicate_package",
        )


def build_manifest(package: Package, product_code: str) -> bytes:
    return canonical_json(
        {
            "type": "package",
            "id": package.id,
            "product": product_code,
            "version": package.version,
            "kind": package.kind,
            "filename": package.filename,
            "size": package.size,
            "sha256": package.sha256,
            "applies_to": package.applies_to,
            "published_at": rfc3339(package.published_at),
        }
    )


def publish_package(
    session: Session,
    storage: ObjectStorage,
    signer: Signer,
    actor: Actor,
    fields: PackageFields,
    upload: BlobWriter,
) -> Package:
    """Finish a streamed upload and publish it; the caller commits.

    `upload` has received all bytes. On any refusal here the temporary object is removed.
    """
    digest = upload.hexdigest()
    try:
        if fields.sha256 and fields.sha256 != digest:
            raise RuleViolation(
                f"the file's SHA-256 is {digest}, not the {fields.sha256} "
                "that was sent; nothing was published",
                code="checksum_mismatch",
            )
        _ensure_new(session, fields)
        temp_key = upload.finish()
    except BaseException:
        upload.abort()
        raise
    key = blob_key(digest)
    storage.promote(temp_key, key)
    return _record_package(session, signer, actor, fields, digest, upload.size, key)


def _record_package(
    session: Session,
    signer: Signer,
    actor: Actor,
    fields: PackageFields,
    digest: str,
    size: int,
    key: str,
) -> Package:
    package = Package(
        id=new_id(),
        product_id=fields.product.id,
        version=fields.version,
        version_key=version_key(fields.version),
        line_key=line_key(fields.version),
        kind=fields.kind,
        filename=fields.filename,
        size=size,
        sha256=digest,
        storage_key=key,
        applies_to=fields.applies_to,
        published_at=utcnow().replace(microsecond=0),
        published_by=actor.user.id if actor.user else None,
        kid=signer.kid,
        manifest="",
        signature="",
    )
    manifest = build_manifest(package, fields.product.code)
    package.manifest = manifest.decode()
    package.signature = base64.b64encode(signer.sign(manifest)).decode()
    session.add(package)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "this package was published concurrently", code="duplicate_package"
        ) from None
    apply_details(session, package, fields.details)
    audit.record(
        session,
        actor,
        "package.publish",
        target_type="package",
        target_id=package.id,
        product=fields.product.code,
        version=fields.version,
        kind=fields.kind,
        sha256=digest,
        size=size,
        severity=fields.details.severity,
        cves=list(fields.details.cves),
    )
    tuf_repository.update_targets(session, fields.product, signer, [fields.version])
    record_event(session, PUBLISHED, package_id=package.id)
    return package


def yank_package(
    session: Session, actor: Actor, package: Package, reason: object, signer: Signer
) -> Package:
    """Take a package out of listings, update plans and its product's TUF targets; the
    caller commits."""
    reason = parse_text(reason, "reason", 2000, required=True, multiline=True)
    if package.yanked:
        raise Conflict("the package is already yanked", code="already_yanked")
    package.yanked, package.yank_reason, package.yanked_at = True, reason, utcnow()
    audit.record(
        session,
        actor,
        "package.yank",
        target_type="package",
        target_id=package.id,
        reason=package.yank_reason,
    )
    tuf_repository.update_targets(session, package.product, signer, [package.version])
    return package
