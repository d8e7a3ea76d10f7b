"""Organisations and users: the accounts an operator creates at the command line.

Every input is validated here so the CLI, the API and the web pages refuse the same
things with the same message.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import (
    CUSTOMER_ROLES,
    ROLES,
    Organisation,
    User,
    org_account_managers,
)
from distro.accounts.passwords import hash_password
from distro.core.errors import Conflict, NotFound, ValidationError
from distro.core.parsers import parse_code, parse_email, parse_text


def managed_org_ids(user: User):
    """SQL: the ids of the organisations `user` is account manager of (a subquery, so
    that an account manager of thousands of organisations costs one index read)."""
    return select(org_account_managers.c.org_id).where(org_account_managers.c.user_id == user.id)


def validate_code(code: object, what: str) -> str:
    return parse_code(code, "code", what)


def validate_name(name: object, field: str = "name") -> str:
    return parse_text(name, field, 200, required=True)


def normalise_email(email: object) -> str:
    return parse_email(email)


def lookup_code(code: object) -> str | None:
    """A code as parsed for a lookup; one that cannot exist is simply not found."""
    try:
        return parse_code(code, "code", "lookup")
    except ValidationError:
        return None


def find_org(session: Session, code: str) -> Organisation:
    org = None
    if lookup := lookup_code(code):
        org = session.scalars(select(Organisation).where(Organisation.code == lookup)).first()
    if org is None:
        raise NotFound(f"no organisation with code {code!r}")
    return org


def user_by_email(session: Session, email: object) -> User | None:
    """The user with that address (any case, full-width forms folded), or None."""
    try:
        address = parse_email(email)
    except ValidationError:
        return None
    return session.scalars(select(User).where(User.email == address)).first()


def find_user(session: Session, email: str) -> User:
    normalise_email(email)  # a malformed address is a 400, not a 404
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with e-mail {email!r}")
    return user


def create_org(
    session: Session, actor: Actor, code: str, name: str, account_managers: list[str] = ()
) -> Organisation:
    code, name = validate_code(code, "organisation"), validate_name(name)
    if session.scalars(select(Organisation).where(Organisation.code == code)).first():
        raise Conflict(f"organisation {code!r} already exists", code="duplicate")
    org = Organisation(code=code, name=name)
    session.add(org)
    for email in account_managers:
        assign_account_manager(session, actor, org, find_user(session, email))
    session.flush()
    audit.record(
        session, actor, "org.create", target_type="org", target_id=org.id, org_id=org.id, code=code
    )
    return org


def assign_account_manager(session: Session, actor: Actor, org: Organisation, user: User) -> None:
    if user.role != "account_manager":
        raise ValidationError(
            f"{user.email} is a {user.role}, not an account_manager", field="account_manager"
        )
    if user not in org.account_managers:
        org.account_managers.append(user)
        audit.record(
            session,
            actor,
            "org.assign",
            target_type="org",
            target_id=org.id,
            org_id=org.id,
            account_manager=user.email,
        )


def create_user(
    session: Session,
    actor: Actor,
    email: str,
    role: str,
    password: str,
    org_code: str | None = None,
) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    if role in CUSTOMER_ROLES and not org_code:
        raise ValidationError(f"a {role} needs --org CODE", field="org")
    if role not in CUSTOMER_ROLES and org_code:
        raise ValidationError(
            "only a customer_admin or customer_user belongs to an organisation", field="org"
        )
    org = find_org(session, org_code) if org_code else None
    if session.scalars(select(User).where(User.email == email)).first():
        raise Conflict(f"user {email} already exists", code="duplicate")
    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password),
        org_id=org.id if org else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        target_type="user",
        target_id=user.id,
        org_id=user.org_id,
        email=email,
        role=role,
    )
    return user
