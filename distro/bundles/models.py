"""A bundle exported for one organisation, and the packages it carried (what the next
incremental bundle leaves out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id

STATUSES = ("building", "ready", "failed")
# Where a bundle's files go: a folder of the operator's (`distro bundles export`), or
# the object store, built by `distro worker` for the API and the page.
DESTINATIONS = ("folder", "store")


class Bundle(Base):
    """One export. Its sequence number is the organisation's own and never reused: the
    unique constraint is what keeps two exports at once from taking the same one."""

    __tablename__ = "bundles"
    __table_args__ = (
        UniqueConstraint("org_id", "seq", name="uq_bundle_seq"),
        # An organisation's bundles, newest first; the worker's queue.
        Index("ix_bundles_org_created", "org_id", "created_at", "id"),
        Index("ix_bundles_queue", "status", "destination", "claimed_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    since: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="building")
    destination: Mapped[str] = mapped_column(String(8), default="folder")
    # When a worker took it on: a worker that died leaves it to be taken again later.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str | None] = mapped_column(String(16))
    manifest: Mapped[str | None] = mapped_column(Text)  # the signed bytes, once ready
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class BundleFile(Base):
    """A file of a bundle built into the object store, downloadable by name."""

    __tablename__ = "bundle_files"

    bundle_id: Mapped[str] = mapped_column(ForeignKey("bundles.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), index=True)
    position: Mapped[int] = mapped_column(Integer)  # manifest, signature, then the parts


class BundlePackage(Base):
    """A package a ready bundle carried."""

    __tablename__ = "bundle_packages"

    bundle_id: Mapped[str] = mapped_column(ForeignKey("bundles.id"), primary_key=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id"), primary_key=True, index=True)
