"""License and upgrade-request models.

The database itself guards the two rules that concurrency could break: at most one
pending request per source license (partial unique index) and at most one license per
request (unique `request_id`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from distro.accounts.models import Organisation, User
from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id
from distro.patches.models import Product

LICENSE_KINDS = ("subscription", "perpetual")
DEPLOYMENTS = ("public_cloud", "private_cloud", "on_premises")
REQUEST_STATUSES = ("pending", "issued", "rejected", "cancelled")


class License(Base):
    __tablename__ = "licenses"
    __table_args__ = (
        Index("ix_licenses_product_org", "product_id", "org_id"),
        # Subscriptions below their product's newest release line (eligible upgrades).
        Index("ix_licenses_product_line", "product_id", "line_key"),
        Index("ix_licenses_issued", "issued_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    # The sortable key of the version's release line (`distro.core.versions.line_key`):
    # entitlement and the publish fan-out compare lines in SQL.
    line_key: Mapped[str] = mapped_column(String(64))
    modules: Mapped[list] = mapped_column(JSON)
    user_count: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    deployment: Mapped[str] = mapped_column(String(16))
    starts: Mapped[date] = mapped_column(Date)
    expires: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    supersedes: Mapped[str | None] = mapped_column(ForeignKey("licenses.id"))
    # Not a foreign key: requests already point at licenses, and a cycle of foreign keys
    # cannot be created or dropped in order. Uniqueness is what guards "one license per
    # request" under concurrent approvals.
    request_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    file_text: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(16))
    org: Mapped[Organisation] = relationship()
    product: Mapped[Product] = relationship()


class LicenseRequest(Base):
    __tablename__ = "license_requests"
    __table_args__ = (
        Index(
            "uq_one_pending_request_per_license",
            "license_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_license_requests_status", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    target_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # True when the product's review is "system": issued at submission, by no person.
    decided_by_system: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[License] = relationship(foreign_keys=[license_id])
    submitter: Mapped[User] = relationship(foreign_keys=[submitted_by])
    decider: Mapped[User | None] = relationship(foreign_keys=[decided_by])
