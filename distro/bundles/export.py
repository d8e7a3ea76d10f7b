"""Export a bundle for one organisation into a folder (`distro bundles export`; the
worker builds the API's bundles the same way).

The bundle's number is taken first, in a transaction of its own, so the part files can
carry it; the packages it carried are recorded only when every file is written and
fsynced, in the transaction that marks it ready. A failure on the way marks it failed
and removes its files: an incremental bundle is only ever counted from ready ones.
Packages stream from the object store into the tar stream and out into the parts, one
chunk at a time, so memory stays bounded and nothing is copied twice on disk.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from distro.accounts.actor import Actor
from distro.accounts.models import Organisation
from distro.audit.events import record
from distro.bundles import contents
from distro.bundles.destinations import FolderDestination, StoreDestination, Written
from distro.bundles.format import (
    MIB,
    Expected,
    PartWriter,
    ReadAhead,
    key_statement,
    manifest_name,
    sign_manifest,
    signature_name,
)
from distro.bundles.models import Bundle, BundleFile, BundlePackage
from distro.core.clock import rfc3339, today, utcnow
from distro.core.errors import Conflict, StorageUnavailable, ValidationError
from distro.licenses.models import License
from distro.licenses.rules import active_clause
from distro.patches.catalogue import package_json
from distro.patches.entitlement import org_lines
from distro.patches.models import Product
from distro.signing.keys import KeySource, active_signer
from distro.signing.signer import Signer
from distro.storage.base import CHUNK, ObjectStorage
from distro.tuf import repository


def check_request(session: Session, org: Organisation, since: int | None) -> None:
    """Refuse a bundle for an organisation without licenses (it could download nothing)
    and a `since` that is not one of its ready bundles."""
    licensed = session.scalar(
        select(func.count())
        .select_from(License)
        .where(License.org_id == org.id, active_clause(today()))
    )
    if not licensed:
        raise ValidationError(f"organisation {org.code} holds no active license: nothing to export")
    if since is not None and not session.scalar(
        select(Bundle.id).where(
            Bundle.org_id == org.id, Bundle.seq == since, Bundle.status == "ready"
        )
    ):
        raise ValidationError(
            f"organisation {org.code} has no ready bundle {since} to continue from", field="since"
        )


def signing_for(session: Session, source: KeySource, config) -> Signing:
    """The host's active key, its older keys as endorsers, the configured validity."""
    signer = active_signer(session, source)
    older = tuple(k for k in source.private_keys().values() if k.kid != signer.kid)
    return Signing(signer, older, timedelta(days=config["BUNDLE_VALID_DAYS"]))


def reserve(
    session: Session, actor: Actor, org: Organisation, since: int | None, destination: str
) -> Bundle:
    """A new bundle row with the organisation's next number, committed (status
    building). A folder's bundle is built by the caller now (claimed at once); a store's
    by `distro worker`."""
    check_request(session, org, since)
    seq = (session.scalar(select(func.max(Bundle.seq)).where(Bundle.org_id == org.id)) or 0) + 1
    bundle = Bundle(
        org_id=org.id,
        seq=seq,
        since=since,
        destination=destination,
        claimed_at=utcnow() if destination == "folder" else None,
        created_by=actor.user.id if actor.user else None,
    )
    session.add(bundle)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"another bundle of {org.code} took number {seq}; try again") from None
    return bundle


@dataclass(frozen=True)
class Signing:
    """The key that signs a bundle, the older keys this host still holds that vouch for
    it to a mirror trusting one of them (`distro.mirror.trust`), and how long the
    bundle's TUF timestamps live (`DISTRO_BUNDLE_VALID_DAYS`)."""

    signer: Signer
    endorsers: tuple[Signer, ...] = ()
    valid: timedelta = timedelta(days=90)


def build(
    session: Session,
    storage: ObjectStorage,
    signing: Signing,
    actor: Actor,
    bundle: Bundle,
    destination: FolderDestination | StoreDestination,
    part_bytes: int,
) -> list[Written]:
    """Write a reserved bundle's files to `destination` and mark it ready; on any
    failure mark it failed, remove what was written and raise. Returns the files,
    manifest and signature first."""
    org = session.get(Organisation, bundle.org_id)
    writer = PartWriter(org.code, bundle.seq, part_bytes, destination.open_part)
    try:
        _offline_timestamps(session, org, signing)
        carried, manifest = _write_stream(session, storage, org, bundle, writer)
        manifest.update(
            kid=signing.signer.kid,
            parts=writer.parts,
            signer=signer_key(signing.signer, signing.endorsers),
        )
        body, signature = sign_manifest(manifest, signing.signer)
        files = [
            destination.put(manifest_name(org.code, bundle.seq), body),
            destination.put(signature_name(org.code, bundle.seq), signature),
            *(
                Written(**part, storage_key=key)
                for part, key in zip(writer.parts, writer.keys, strict=True)
            ),
        ]
        _mark_ready(session, actor, org, bundle, signing.signer, body, carried, files)
    except BaseException as exc:
        writer.abort()
        destination.discard()
        session.rollback()
        mark_failed(session, bundle, exc)
        raise
    return files


def _offline_timestamps(session, org, signing: Signing) -> None:
    """Sign each of the organisation's products a timestamp that outlives the trip (a
    few products: per-product work, not per-organisation)."""
    for product in session.scalars(
        select(Product).where(Product.id.in_(org_lines(session, org.id)))
    ):
        repository.offline_timestamp(session, product, signing.signer, signing.valid)
    session.commit()


def _write_stream(session, storage, org, bundle, writer) -> tuple[list[str], dict]:
    created = utcnow()
    manifest = {
        "type": "bundle",
        "org": org.code,
        "seq": bundle.seq,
        "since": bundle.since,
        "created_at": rfc3339(created),
        "packages": [],
        "licenses": [],
        "tuf": [],
        "yanked": contents.yanked(session, org),
    }
    # A TarFile written straight to the parts (not tarfile's stream mode, whose buffer
    # concatenates bytes in 10 KiB records), copying 1 MiB at a time: bench/bundles.py.
    with tarfile.TarFile(
        fileobj=writer, mode="w", format=tarfile.PAX_FORMAT, copybufsize=MIB
    ) as tar:
        for package in contents.packages(session, org, bundle.since):
            member = f"packages/{package.id}"
            _add_package(tar, member, storage, package)
            # A bundle carries no deltas (yet): the mirror lists none, so none is asked for.
            body = {**package_json(package, detail=True), "deltas": [], "member": member}
            manifest["packages"].append(body)
        for row in contents.licenses(session, org):
            member = f"licenses/{row.id}.lic"
            _add_bytes(tar, member, row.file_text.encode())
            manifest["licenses"].append({"id": row.id, "status": row.status, "member": member})
        for code, name, body in contents.tuf_metadata(session, org):
            member = f"tuf/{code}/{name}"
            _add_bytes(tar, member, body.encode())
            manifest["tuf"].append({"product": code, "name": name, "member": member})
        _add_bytes(tar, "products.json", _json(contents.products(session, org)))
        _add_bytes(tar, "rings.json", _json(contents.rings(session, org)))
        _add_bytes(tar, "installations.json", _json(contents.installation_rings(session, org)))
        _add_bytes(tar, "keys.json", _json(contents.keys(session)))
    writer.close()
    return [p["id"] for p in manifest["packages"]], manifest


def signer_key(signer: Signer, endorsers) -> dict:
    """The signing key and the older keys' signatures over its statement."""
    statement = key_statement(signer.kid, signer.public_key_pem)
    return {
        "kid": signer.kid,
        "public_key_pem": signer.public_key_pem,
        "endorsements": [
            {"by": old.kid, "sig": base64.b64encode(old.sign(statement)).decode()}
            for old in endorsers
            if old.kid != signer.kid
        ],
    }


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()


class _IterReader(io.RawIOBase):
    """A file-like over an iterator of chunks, for tarfile to copy from."""

    def __init__(self, chunks: Iterator[bytes], digest):
        super().__init__()
        self._chunks, self._left, self._digest = chunks, b"", digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
            self._digest.update(self._left)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _add_package(tar: tarfile.TarFile, name: str, storage: ObjectStorage, package) -> None:
    """The package's bytes from the store (its file read ahead in a thread when the
    store is a folder, else its object's chunks as they arrive), checked against its
    SHA-256 on the way: a site mirror takes the signed parts' hashes as the proof of
    every package's, so a damaged stored copy must stop the export, not travel."""
    info = tarfile.TarInfo(name)
    info.size, info.mode = package.size, 0o644
    path = storage.local_path(package.storage_key)
    if path is not None:
        expected = Expected(path, package.size, package.sha256, _stored(package))
        with ReadAhead([expected], StorageUnavailable, says="its record") as source:
            tar.addfile(info, source)
            source.drain()  # the verdict comes after the last byte
        return
    digest = hashlib.sha256()
    chunks = storage.iter_range(package.storage_key, 0, package.size)
    tar.addfile(info, io.BufferedReader(_IterReader(chunks, digest), buffer_size=CHUNK))
    if digest.hexdigest() != package.sha256:
        raise StorageUnavailable(f"{_stored(package)} does not match its SHA-256")


def _stored(package) -> str:
    return f"the stored copy of package {package.filename} ({package.id})"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _mark_ready(session, actor, org, bundle, signer, body, carried, files) -> None:
    bundle = session.merge(bundle)
    bundle.status, bundle.kid, bundle.manifest = "ready", signer.kid, body.decode()
    bundle.finished_at = utcnow()
    if bundle.destination == "store":
        session.add_all(
            BundleFile(
                bundle_id=bundle.id,
                name=f.name,
                size=f.size,
                sha256=f.sha256,
                storage_key=f.storage_key,
                position=position,
            )
            for position, f in enumerate(files)
        )
    if carried:
        session.execute(
            BundlePackage.__table__.insert(),
            [{"bundle_id": bundle.id, "package_id": package_id} for package_id in carried],
        )
    record(
        session,
        actor,
        "bundle.export",
        target_type="bundle",
        target_id=bundle.id,
        org_id=org.id,
        seq=bundle.seq,
        since=bundle.since,
        packages=len(carried),
    )
    session.commit()


def mark_failed(session, bundle, exc: BaseException) -> None:
    """Best effort: with the database itself down the row stays `building`, which no
    incremental bundle counts from either."""
    with suppress(SQLAlchemyError):
        row = session.get(Bundle, bundle.id)
        row.status, row.finished_at = "failed", utcnow()
        row.error = str(exc)[:500] or type(exc).__name__
        session.commit()
