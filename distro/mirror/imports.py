"""`distro mirror import`: verify a bundle, then take it in, all of it or nothing.

Order of the checks: the manifest's signature (by a trusted or an endorsed key), then
the organisation and the sequence (a gap names the bundle missing), then the parts as
they stream: each part's size and SHA-256 against the signed manifest, each package's
place and size in them, the TUF metadata as a TUF client checks it. The part hashes
cover every byte, and the export checked each package's bytes against its SHA-256 as it
wrote them, so a package's signed SHA-256 is proven without hashing its bytes again
(once is what lets the import keep up with the disk: bench/bundles.py). Package bytes go to
temporary objects of the mirror's store while they stream; only when everything has
verified are they moved to their final keys and the rows written, in one transaction.
A killed import leaves temporaries nobody lists and no row: run it again and it
finishes. A bundle imported before changes nothing.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distro.bundles.format import (
    MAX_MANIFEST,
    MIB,
    BundleInvalid,
    PartReader,
    find_manifest,
    parse_manifest,
    read_bytes,
)
from distro.core.clock import utcnow
from distro.core.versions import version_key
from distro.mirror import trust
from distro.mirror.models import MirrorBundle, MirrorDocument, MirrorPackage, MirrorState
from distro.mirror.site import Site
from distro.storage.base import blob_key

MAX_DOCUMENT = 64 * MIB
# The lists a bundle carries whole, each replacing the one before.
LISTS = ("products.json", "rings.json", "installations.json", "keys.json")


@dataclass(frozen=True)
class Imported:
    seq: int
    packages: int
    already: bool = False


@dataclass
class _Incoming:
    blobs: list[tuple[str, str]]  # (temporary key, final key)
    documents: dict[tuple[str, str], str]


def import_bundle(site: Site, folder: Path) -> Imported:
    """Take the bundle in `folder` into the mirror, or raise BundleInvalid naming why
    not. One import at a time: it holds the mirror's lock, and first removes what a
    killed import left in the store's temporaries."""
    with site.import_lock():
        site.remove_temporaries()
        return _import(site, folder)


def _import(site: Site, folder: Path) -> Imported:
    manifest_path, signature_path = find_manifest(folder)
    body = read_bytes(manifest_path, MAX_MANIFEST)
    signature = read_bytes(signature_path, 4096)
    with site.session() as session:
        state = session.get(MirrorState, 1)
        kid, pem = trust.signing_key(body, signature, state.trusted_keys)
        manifest = parse_manifest(body)
        _check_sequence(session, state, manifest)
        if session.get(MirrorBundle, manifest["seq"]) is not None:
            return Imported(manifest["seq"], 0, already=True)
        incoming = _stream(site, folder, manifest)
        try:
            _check_tuf(session, manifest, incoming.documents)
            _take_in(session, site, state, manifest, incoming, kid, pem)
        except BaseException:
            _remove(site, incoming)
            raise
    return Imported(manifest["seq"], len(manifest["packages"]))


def _check_sequence(session: Session, state: MirrorState, manifest: dict) -> None:
    org, seq, since = manifest.get("org"), manifest.get("seq"), manifest.get("since")
    if state.org is not None and org != state.org:
        raise BundleInvalid(f"the bundle is for organisation {org}, this mirror is {state.org}'s")
    if not isinstance(seq, int) or (since is not None and not isinstance(since, int)):
        raise BundleInvalid("the manifest's seq and since must be whole numbers")
    held = session.scalar(select(func.max(MirrorBundle.seq))) or 0
    if session.get(MirrorBundle, seq) is not None:
        return
    if since is not None and session.get(MirrorBundle, since) is None:
        if since > held:
            raise BundleInvalid(
                f"bundle {seq} continues from bundle {since}, which this mirror has not "
                f"imported (it holds up to {held}): import bundle {since} first"
            )
        raise BundleInvalid(f"bundle {seq} continues from bundle {since}, never imported here")
    if seq < held:
        raise BundleInvalid(f"bundle {seq} is older than bundle {held}, which this mirror holds")


def _stream(site: Site, folder: Path, manifest: dict) -> _Incoming:
    packages = {p["member"]: p for p in manifest["packages"]}
    documents = {d["member"]: ("license", f"{d['id']}.lic") for d in manifest["licenses"]}
    documents |= {t["member"]: (f"tuf/{t['product']}", t["name"]) for t in manifest["tuf"]}
    documents |= {name: (name.removesuffix(".json"), name) for name in LISTS}
    incoming = _Incoming([], {})
    reader = PartReader(folder, manifest["parts"])
    try:
        # A TarFile over the parts read forward (not tarfile's stream mode, which joins
        # bytes in 10 KiB records): bench/bundles.py measured it.
        with tarfile.TarFile(fileobj=reader, mode="r") as tar:
            for member in tar:
                if member.name in packages:
                    incoming.blobs.append(
                        _take_package(site, reader, member, packages.pop(member.name))
                    )
                elif member.name in documents and member.isfile() and member.size <= MAX_DOCUMENT:
                    data = tar.extractfile(member).read()
                    incoming.documents[documents.pop(member.name)] = data.decode()
                else:
                    raise BundleInvalid(
                        f"the bundle holds {member.name}, which its manifest does not list"
                    )
        reader.drain()
    except tarfile.TarError as exc:
        _remove(site, incoming)
        reader.drain()  # a part that does not match explains it best: BundleInvalid
        raise BundleInvalid(f"the bundle's contents cannot be read ({exc})") from None
    except BaseException:
        _remove(site, incoming)
        raise
    finally:
        reader.close()
    missing = [*packages, *documents]
    if missing:
        raise BundleInvalid(f"the bundle lacks {missing[0]}, which its manifest lists")
    return incoming


def _remove(site: Site, incoming: _Incoming) -> None:
    for temp, _final in incoming.blobs:
        site.storage.delete(temp)


def _take_package(site: Site, reader: PartReader, member, package: dict) -> tuple[str, str]:
    """Stream a package's bytes into a temporary object of the store, checked against
    its signed size (its SHA-256 is proven by the parts'; it counts only once they have
    all checked). The bytes come straight from the reader's buffers, where the member's
    data starts (it is read in order), not through `extractfile`'s layers of copies."""
    if not member.isfile() or member.size != package["size"]:
        raise BundleInvalid(f"{member.name} is not the {package['size']} bytes the manifest says")
    writer = site.storage.open_writer(package["size"], proven_sha256=package["sha256"])
    left = member.size
    try:
        reader.seek(member.offset_data)
        for view in reader.take(left):
            writer.write(view)
            left -= len(view)
        if left:
            raise BundleInvalid(f"the bundle ends inside {member.name}")
        temp = writer.finish()
    except BaseException:
        writer.abort()
        raise
    return temp, blob_key(package["sha256"])


def _check_tuf(session: Session, manifest: dict, documents: dict) -> None:
    for product in sorted({t["product"] for t in manifest["tuf"]}):
        kind = f"tuf/{product}"
        incoming = {name: body.encode() for (k, name), body in documents.items() if k == kind}
        trust.check_tuf(product, _held_tuf(session, kind), incoming, utcnow().replace(tzinfo=UTC))


def _held_tuf(session: Session, kind: str) -> dict[str, tuple[int, bytes]]:
    """role -> (version, bytes) of the newest metadata the mirror holds per role."""
    held: dict[str, tuple[int, bytes]] = {}
    for row in session.scalars(select(MirrorDocument).where(MirrorDocument.kind == kind)):
        metadata = trust.load(kind, row.name, row.body.encode())
        role = trust.role_of(row.name)
        if role not in held or metadata.signed.version > held[role][0]:
            held[role] = (metadata.signed.version, row.body.encode())
    return held


def _take_in(session, site, state, manifest, incoming, kid, pem) -> None:
    for temp, final in incoming.blobs:
        site.storage.promote(temp, final)
    seq = manifest["seq"]
    for package in manifest["packages"]:
        body = {k: v for k, v in package.items() if k != "member"}
        session.merge(
            MirrorPackage(
                id=package["id"],
                product=package["product"],
                version=package["version"],
                version_key=version_key(package["version"]),
                kind=package["kind"],
                filename=package["filename"],
                published_at=package["published_at"],
                sha256=package["sha256"],
                size=package["size"],
                blob_key=blob_key(package["sha256"]),
                body=body,
                yanked=False,
                seq=seq,
            )
        )
    yanked = set(manifest.get("yanked", []))
    if yanked:
        for row in session.scalars(select(MirrorPackage).where(MirrorPackage.id.in_(yanked))):
            row.yanked = True
    for (kind, name), text in incoming.documents.items():
        session.merge(MirrorDocument(kind=kind, name=name, body=text, seq=seq))
    statuses = [{"id": item["id"], "status": item["status"]} for item in manifest["licenses"]]
    session.merge(
        MirrorDocument(kind="licenses", name="licenses.json", body=json.dumps(statuses), seq=seq)
    )
    state.org = manifest["org"]
    state.trusted_keys = {**state.trusted_keys, kid: pem}
    session.add(
        MirrorBundle(
            seq=seq,
            since=manifest["since"],
            kid=kid,
            created_at=manifest["created_at"],
            packages=len(manifest["packages"]),
        )
    )
    session.commit()
