"""The signing-key model: public halves of the keys that sign manifests and licenses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base


class SigningKey(Base):
    """Public half of a signing key; the private half never enters the database."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(16), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16), default="ed25519")
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
