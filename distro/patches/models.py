"""Catalogue models: products, and packages (one signed, published file of a product version)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id

KINDS = ("patch", "feature_pack", "installer")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Who decides upgrade requests: "approver" (four eyes) or "system" (issued at
    # submission when every rule passes).
    review: Mapped[str] = mapped_column(String(16), default="approver", server_default="approver")


class Package(Base):
    __tablename__ = "packages"
    __table_args__ = (
        UniqueConstraint("product_id", "version", "kind", "filename", name="uq_package_identity"),
        Index("ix_packages_listing", "product_id", "version_key", "id"),
        # Newest per release line, and "patches behind" a version within its line.
        Index("ix_packages_lines", "product_id", "line_key", "version_key"),
        Index("ix_packages_published", "published_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    version: Mapped[str] = mapped_column(String(64))
    version_key: Mapped[str] = mapped_column(String(64))
    line_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(255))
    applies_to: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    manifest: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    kid: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(32))
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(Text)
    yanked_at: Mapped[datetime | None] = mapped_column(DateTime)
    product: Mapped[Product] = relationship()
