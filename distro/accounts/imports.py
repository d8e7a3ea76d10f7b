"""Bulk import of organisations and users: a vendor's customer base, in one file.

Every row is parsed by the parsers single creations use; a file with any refused row
writes nothing (every bad row is named: line, field, reason). Rows that name an existing
organisation (by code) or user (by e-mail) are counted as existing, not created again,
so running a file twice changes nothing the second time. Accepted rows are written in
batches of `BATCH`, each its own short transaction, with bulk statements, so that a
hundred thousand rows take about a minute and never hold the embedded database's write
lock for long (if the database fails half-way, running the file again finishes it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
from distro.accounts.passwords import NO_PASSWORD
from distro.accounts.services import validate_code, validate_name
from distro.core.clock import utcnow
from distro.core.errors import ValidationError
from distro.core.i18n import LANGUAGES
from distro.core.ids import new_id
from distro.core.parsers import parse_email
from distro.core.tables import Report, read_rows, split_list

BATCH = 1000
LOOKUP = 500  # values per IN (...) when looking rows up

Progress = Callable[[int], None]


def existing(session: Session, column, values: Iterable[str]) -> dict[str, object]:
    """value -> row of `column`'s entity, for those of `values` that exist."""
    values, found = sorted(set(values)), {}
    entity = column.class_
    for start in range(0, len(values), LOOKUP):
        chunk = values[start : start + LOOKUP]
        for row in session.scalars(select(entity).where(column.in_(chunk))):
            found[getattr(row, column.key)] = row
    return found


def batches(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_in_batches(
    session: Session,
    report: Report,
    new: list,
    write: Callable[[list], None],
    progress: Progress | None,
) -> None:
    """Write `new` rows a batch at a time, each batch its own short transaction, counting
    them in `report` and on the progress bar (the existing rows too, at the end)."""
    for batch in batches(new):
        write(batch)
        session.commit()
        report.created += len(batch)
        if progress:
            progress(len(batch))
    if progress and report.existing:
        progress(report.existing)


@dataclass
class OrgRow:
    line: int
    code: str
    name: str
    managers: list[str]


ORG_COLUMNS = ("code", "name", "account_managers")


def import_orgs(
    session: Session, actor: Actor, stream, progress: Progress | None = None, dry_run=False
) -> Report:
    """Organisations: `code`, `name`, optional `account_managers` (e-mails)."""
    report, rows, seen = Report("orgs"), [], {}
    for line, raw in read_rows(stream, ORG_COLUMNS, report):
        report.rows += 1
        try:
            row = OrgRow(
                line,
                validate_code(raw.get("code"), "organisation"),
                validate_name(raw.get("name")),
                [
                    parse_email(e, "account_managers")
                    for e in split_list(raw.get("account_managers"))
                ],
            )
        except ValidationError as exc:
            report.refuse(line, exc)
            continue
        if row.code in seen:
            report.refuse(line, f"{row.code!r} is on line {seen[row.code]} already", "code")
            continue
        seen[row.code] = line
        rows.append(row)
    managers = existing(session, User.email, [e for r in rows for e in r.managers])
    for row in rows:
        for email in row.managers:
            user = managers.get(email)
            if user is None or user.role != "account_manager":
                report.refuse(row.line, f"{email} is no account manager", "account_managers")
    if report.error_count or dry_run:
        return report
    known = existing(session, Organisation.code, [r.code for r in rows])
    new = [r for r in rows if r.code not in known]
    report.existing = len(rows) - len(new)
    write_in_batches(
        session, report, new, lambda batch: _write_orgs(session, actor, batch, managers), progress
    )
    return report


def _write_orgs(session: Session, actor: Actor, batch: list[OrgRow], managers: dict) -> None:
    now, orgs, links = utcnow(), [], []
    for row in batch:
        org_id = new_id()
        orgs.append({"id": org_id, "code": row.code, "name": row.name, "created_at": now})
        links += [{"org_id": org_id, "user_id": managers[e].id} for e in row.managers]
    session.execute(Organisation.__table__.insert(), orgs)
    if links:
        session.execute(org_account_managers.insert(), links)
    audit.record_many(
        session,
        actor,
        "org.create",
        [{"target_id": o["id"], "org_id": o["id"], "details": {"code": o["code"]}} for o in orgs],
        target_type="org",
    )


@dataclass
class UserRow:
    line: int
    email: str
    role: str
    org: str | None
    language: str | None


USER_COLUMNS = ("email", "role", "org", "language")


def import_users(
    session: Session, actor: Actor, stream, progress: Progress | None = None, dry_run=False
) -> Report:
    """People: `email`, `role`, `org` (code; customer roles only), optional `language`.
    They have no password yet: each sets one with "Forgot your password?"."""
    report, rows, seen = Report("users"), [], {}
    for line, raw in read_rows(stream, USER_COLUMNS, report):
        report.rows += 1
        try:
            row = _user_row(line, raw)
        except ValidationError as exc:
            report.refuse(line, exc)
            continue
        if row.email in seen:
            report.refuse(line, f"{row.email} is on line {seen[row.email]} already", "email")
            continue
        seen[row.email] = line
        rows.append(row)
    orgs = existing(session, Organisation.code, [r.org for r in rows if r.org])
    for row in rows:
        if row.org and row.org not in orgs:
            report.refuse(row.line, f"no organisation with code {row.org!r}", "org")
    if report.error_count or dry_run:
        return report
    known = existing(session, User.email, [r.email for r in rows])
    new = []
    for row in rows:
        user = known.get(row.email)
        if user is None:
            new.append(row)
        elif user.role != row.role or user.org_id != (orgs[row.org].id if row.org else None):
            report.notes.append(f"line {row.line}: {row.email} exists with another role or org")
    report.existing = len(rows) - len(new)
    write_in_batches(
        session, report, new, lambda batch: _write_users(session, actor, batch, orgs), progress
    )
    return report


def _user_row(line: int, raw: dict) -> UserRow:
    email = parse_email(raw.get("email"))
    role = (raw.get("role") or "").strip()
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    org = (raw.get("org") or "").strip() or None
    if role in CUSTOMER_ROLES and not org:
        raise ValidationError(f"a {role} belongs to an organisation: give org", field="org")
    if role not in CUSTOMER_ROLES and org:
        raise ValidationError("only customer roles belong to an organisation", field="org")
    if org:
        org = validate_code(org, "organisation")
    language = (raw.get("language") or "").strip() or None
    if language is not None and language not in LANGUAGES:
        raise ValidationError(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    return UserRow(line, email, role, org, language)


def _write_users(session: Session, actor: Actor, batch: list[UserRow], orgs: dict) -> None:
    now, users = utcnow(), []
    for row in batch:
        users.append(
            {
                "id": new_id(),
                "email": row.email,
                "password_hash": NO_PASSWORD,
                "role": row.role,
                "org_id": orgs[row.org].id if row.org else None,
                "disabled": False,
                "created_at": now,
                "language": row.language,
                "notify_packages": True,
                "session_epoch": 0,
            }
        )
    session.execute(User.__table__.insert(), users)
    audit.record_many(
        session,
        actor,
        "user.create",
        [
            {
                "target_id": u["id"],
                "org_id": u["org_id"],
                "details": {"email": u["email"], "role": u["role"], "imported": True},
            }
            for u in users
        ],
        target_type="user",
    )
