"""Every version of every TUF role of every product, as served (consistent snapshots)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base

ROLES = ("root", "targets", "snapshot", "timestamp")


class TufMetadata(Base):
    """One signed metadata file. The unique version per product and role is what keeps
    two processes publishing at once from forking a repository: one of them fails to
    insert and its publish is retried or refused, never served."""

    __tablename__ = "tuf_metadata"
    __table_args__ = (UniqueConstraint("product_id", "role", "version", name="uq_tuf_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # a top-level role, or a release line
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    expires: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
