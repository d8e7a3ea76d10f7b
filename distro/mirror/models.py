"""The mirror's own tables, on their own metadata: a mirror folder never holds the
vendor's schema, and the vendor's database never holds these."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from distro.core.clock import utcnow


class MirrorBase(DeclarativeBase):
    pass


class MirrorState(MirrorBase):
    """The one row saying whose mirror this is and which vendor keys it trusts."""

    __tablename__ = "mirror_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org: Mapped[str | None] = mapped_column(String(32))  # set by the first import
    trusted_keys: Mapped[dict] = mapped_column(JSON)  # kid -> public key PEM
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MirrorBundle(MirrorBase):
    """A bundle taken in; the highest `seq` is what an incremental bundle continues."""

    __tablename__ = "mirror_bundles"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    since: Mapped[int | None] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[str] = mapped_column(String(40))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    packages: Mapped[int] = mapped_column(Integer)


class MirrorPackage(MirrorBase):
    """A package as the vendor's API described it, and where its bytes are."""

    __tablename__ = "mirror_packages"
    __table_args__ = (Index("ix_mirror_packages_listing", "product", "version_key", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    published_at: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict] = mapped_column(JSON)  # the vendor's package JSON, signature included
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(Integer)


class MirrorDocument(MirrorBase):
    """A small file a bundle carried: a license file, TUF metadata, ring approvals, the
    vendor's key list. `kind` is `license`, `tuf/{product}`, `rings` or `keys`."""

    __tablename__ = "mirror_documents"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(Integer)


class MirrorToken(MirrorBase):
    """An installer token of the site: only its SHA-256 is kept."""

    __tablename__ = "mirror_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MirrorReport(MirrorBase):
    """An installation's report to the mirror, kept for the trip back to the vendor;
    `id` is what lets the vendor count it once however often the file is imported."""

    __tablename__ = "mirror_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    installation: Mapped[str] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))
    package_id: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[str] = mapped_column(ForeignKey("mirror_tokens.id"))
    reported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    exported_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
