"""Account models: organisations, users and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true

from distro.core.clock import utcnow
from distro.core.db import Base
from distro.core.ids import new_id

ROLES = ("customer_admin", "customer_user", "account_manager", "approver", "publisher", "admin")
STAFF_ROLES = ("account_manager", "approver", "publisher", "admin")
# A customer_user is a customer_admin's read-only colleague: downloads and licenses only.
CUSTOMER_ROLES = ("customer_admin", "customer_user")


org_account_managers = Table(
    "org_account_managers",
    Base.metadata,
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Its customer admin asks a second factor of the organisation's people too.
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    account_managers: Mapped[list[User]] = relationship(
        secondary=org_account_managers, back_populates="managed_orgs"
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Mail goes out in the language the user chose (header switch, Account page), else
    # in the one they last logged in with.
    language: Mapped[str | None] = mapped_column(String(8))
    last_language: Mapped[str | None] = mapped_column(String(8))
    # Mail about newly published packages (customer roles); the rest is not optional.
    notify_packages: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Part of the session's user id: raising it (password reset) ends every session.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    org: Mapped[Organisation | None] = relationship()
    managed_orgs: Mapped[list[Organisation]] = relationship(
        secondary=org_account_managers, back_populates="account_managers"
    )

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch}"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class ApiToken(Base):
    """A bearer token; only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_created", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    scope: Mapped[str] = mapped_column(String(16))  # "installer" or "personal"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class LoginSession(Base):
    """A signed-in browser. The session cookie names it; logging out, a password reset
    or a disabled account ends it here, on the server, so a copy of the cookie taken
    before is worth nothing afterwards."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    # The last second-factor check in this session (None: none yet): what the policy and
    # the fresh checks of `distro.accounts.mfa` read.
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The challenge of the WebAuthn ceremony under way, taken once (kept here, not in the
    # cookie, so that replaying an older cookie cannot bring a used challenge back).
    webauthn_challenge: Mapped[str | None] = mapped_column(String(200))


class SecondFactor(Base):
    """A security key or passkey (WebAuthn), or an authenticator app (TOTP).

    A TOTP secret is kept sealed with a key derived from `DISTRO_SECRET_KEY` (it must be
    read back to check codes, so it cannot be hashed); its last accepted time step is
    kept so that a code is never taken twice. An unconfirmed TOTP factor counts for
    nothing until a first code from the app confirms it."""

    __tablename__ = "second_factors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "webauthn" or "totp"
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    totp_sealed: Mapped[str | None] = mapped_column(String(200))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One of a person's ten single-use recovery codes; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class AttemptThrottle(Base):
    """Failed attempts (or requests) counted per key across every process and host that
    shares the database: an account's logins, an address's logins or resets. The key is
    a SHA-256, so the table holds no e-mail address or IP in the clear."""

    __tablename__ = "attempt_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class PasswordReset(Base):
    """A mailed, single-use password reset link; only the SHA-256 of its token is kept."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class Invitation(Base):
    """An invitation to join as `role` (into `org` for the customer roles); its mailed
    token is kept only as a SHA-256 and replaced on every resend."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    language: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    org: Mapped[Organisation | None] = relationship()
    inviter: Mapped[User | None] = relationship(foreign_keys=[invited_by])


class FeedKey(Base):
    """A user's key for Atom feeds: a feed reader cannot sign in, so the feed URL carries
    this key. It opens the feeds of what its owner may download and nothing else; only
    its SHA-256 is stored, and each user has at most one (a new one replaces it)."""

    __tablename__ = "feed_keys"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
