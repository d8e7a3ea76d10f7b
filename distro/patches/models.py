"""Catalogue models: products, and packages (one signed, published file of a product version)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

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
        Index("ix_packages_advisories", "advisory", "published_at", "id"),
        Index("ix_packages_deltas_due", "deltas_checked_at", "published_at"),
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
    # Details publishers may change after publishing (not signed): the defects fixed
    # (JSON list of {"id", "title"}), module codes and CVE ids (comma lists), severity.
    defects_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    modules_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    cves_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    severity: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    # An advisory: a severity above none or a CVE (the Advisories list reads this index).
    advisory: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When `distro worker` built (or found no) deltas to it; None: still to do.
    deltas_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    product: Mapped[Product] = relationship()
    # Loaded with every query of packages in one more query (a page's JSON lists them).
    deltas: Mapped[list[PackageDelta]] = relationship(
        foreign_keys="PackageDelta.package_id",
        lazy="selectin",
        order_by="PackageDelta.created_at",
        viewonly=True,
    )

    @property
    def defects(self) -> list[dict]:
        return json.loads(self.defects_json or "[]")

    @property
    def modules(self) -> list[str]:
        return [m for m in (self.modules_text or "").split(",") if m]

    @property
    def cves(self) -> list[str]:
        return [c for c in (self.cves_text or "").split(",") if c]


class PackageDelta(Base):
    """A delta from an older package (`base`) of the same product, kind and release line
    to `package`: a TUF target of its own, downloaded under the package's rule."""

    __tablename__ = "package_deltas"
    __table_args__ = (UniqueConstraint("package_id", "base_id", name="uq_package_delta"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id"), index=True)
    base_id: Mapped[str] = mapped_column(ForeignKey("packages.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    base: Mapped[Package] = relationship(foreign_keys=[base_id], lazy="joined")

    def filename(self, package: Package) -> str:
        """Its name as a download and in its TUF target path (`{version}/{name}`)."""
        return f"{package.filename}.from-{self.base_id}.delta"


class GramList(TypeDecorator):
    """A document's search grams: a text array with a GIN index on PostgreSQL; on SQLite
    space-separated text that an FTS5 table indexes (see `distro.core.searchtext`)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Text))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name == "postgresql":
            return value
        return " ".join(value)

    def process_result_value(self, value, dialect):
        if value is None or dialect.name == "postgresql":
            return value
        return value.split()


class PackageReference(Base):
    """A defect id or CVE id a package names, for the exact lookup that search tries first."""

    __tablename__ = "package_references"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    package_id: Mapped[str] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PackageSearch(Base):
    """A package's searchable text, folded (`distro.core.searchtext.package_document`),
    and its grams. `doc` numbers the rows in order of publication: search lists newest
    first by it."""

    __tablename__ = "package_search"
    # A product's packages newest first, without a sort (the product page).
    __table_args__ = (Index("ix_package_search_product", "product_id", "doc"),)

    doc: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), unique=True
    )
    product_id: Mapped[str] = mapped_column(String(32))  # the package's, which never changes
    body: Mapped[str] = mapped_column(Text)
    grams: Mapped[list[str]] = mapped_column(GramList)
