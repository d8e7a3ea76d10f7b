"""Who is acting in a use case: every service takes an `Actor` and checks its role."""

from __future__ import annotations

from dataclasses import dataclass

from distro.accounts.models import ApiToken, User


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (through the web or a personal token), an installer token,
    or the operator at the command line (`user` None)."""

    user: User | None
    token: ApiToken | None = None
    ip: str | None = None

    @property
    def role(self) -> str:
        return self.user.role if self.user else "admin"

    @property
    def org_id(self) -> str | None:
        return self.user.org_id if self.user else None

    @property
    def is_staff(self) -> bool:
        return self.user is None or self.user.is_staff

    @property
    def is_installer(self) -> bool:
        return self.token is not None and self.token.scope == "installer"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles or self.role == "admin"


CLI = Actor(user=None)
