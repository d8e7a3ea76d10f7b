"""Organisations and users: the accounts an operator creates at the command line.

Every input is validated here so the CLI, the API and the web pages refuse the same
things with the same message.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from distro import audit
from distro.accounts.actor import Actor
from distro.accounts.models import ROLES, Organisation, User
from distro.accounts.passwords import hash_password
from distro.core.errors import Conflict, NotFound, ValidationError
from distro.core.text import clean_text

CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_LOCAL = r"[^@\s\x00-\x1f\x7f]"
EMAIL = re.compile(rf"^{_LOCAL}{{1,64}}@{_LOCAL}{{1,189}}\.{_LOCAL}{{1,60}}$")


def validate_code(code: object, what: str) -> str:
    if not isinstance(code, str) or not CODE.match(code):
        raise ValidationError(
            f"{what} code must be 2-32 characters: a lower-case letter, then lower-case "
            "letters, digits or '-'",
            field="code",
        )
    return code


def validate_name(name: object, field: str = "name") -> str:
    return clean_text(name, field, 200, required=True)


def normalise_email(email: object) -> str:
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        raise ValidationError("not a valid e-mail address", field="email")
    return email.strip().lower()


def find_org(session: Session, code: str) -> Organisation:
    org = None
    if CODE.match(code):
        org = session.scalars(select(Organisation).where(Organisation.code == code)).first()
    if org is None:
        raise NotFound(f"no organisation with code {code!r}")
    return org


def find_user(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
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
    if role == "customer_admin" and not org_code:
        raise ValidationError("a customer_admin needs --org CODE", field="org")
    if role != "customer_admin" and org_code:
        raise ValidationError("only a customer_admin belongs to an organisation", field="org")
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
