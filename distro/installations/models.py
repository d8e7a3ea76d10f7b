"""An installation of a product at a customer, what its installer reported, and the
versions a customer admin approved per ring."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from distro.accounts.models import Organisation
from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id
from distro.patches.models import Product

DEFAULT_RING = "default"
EVENTS = ("check", "installed", "failed")


class Installation(Base):
    """One system of one organisation running one product; created by its first report.
    The name is the organisation's own (unique per organisation and product)."""

    __tablename__ = "installations"
    __table_args__ = (
        UniqueConstraint("org_id", "product_id", "name", name="uq_installation"),
        # An organisation's installations page, in name order, one page at a time.
        Index("ix_installations_org_name", "org_id", "name", "id"),
        Index("ix_installations_created", "created_at", "id"),
        # The installations an advisory affects: a version range within one product.
        Index("ix_installations_org_product_version", "org_id", "product_id", "version_key"),
        # The fleet page's offline sites: a product's installations reported via a mirror.
        Index("ix_installations_offline", "product_id", "via", "last_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    ring: Mapped[str] = mapped_column(String(32), default=DEFAULT_RING)
    version: Mapped[str] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(64))  # `distro.core.versions.version_key`
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_failure_package_id: Mapped[str | None] = mapped_column(String(32))
    last_failure_error: Mapped[str | None] = mapped_column(Text)
    # "mirror" when its newest report came in a site mirror's file (offline site).
    via: Mapped[str | None] = mapped_column(String(16))
    org: Mapped[Organisation] = relationship()
    product: Mapped[Product] = relationship()


class InstallationEvent(Base):
    """Every report, kept: `check` before an update run, `installed` or `failed` after
    each package (failed: with the installer's message)."""

    __tablename__ = "installation_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[str] = mapped_column(
        ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[str | None] = mapped_column(String(32), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[str | None] = mapped_column(String(32))
    # A site mirror's id of the report: unique, so a file imported twice counts once.
    report_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class RingApproval(Base):
    """The newest version of a product an organisation lets one ring install."""

    __tablename__ = "ring_approvals"

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    ring: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[date | None] = mapped_column(Date)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
