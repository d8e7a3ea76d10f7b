"""The fleet in numbers, kept up to date on every report instead of counted on every page.

Counting half a million installations by version, or a million and a half events by
package, on a page load would take seconds. So each report adjusts a few small rows in
its own transaction: per product and version the installations and organisations
(`FleetVersion`, with `FleetOrgVersion` to know when an organisation's count goes from
zero to one and back), per package the failed installs (`FleetFailure`, with
`FleetFailedOrg` per organisation, which is what an account manager's view adds up, and
`FleetFailureDay` per day).
The worker copies the per-version counts into `FleetDay` for the adoption curves.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, String, Text, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from distro.core.clock import utcnow
from distro.core.db import Base


class FleetVersion(Base):
    __tablename__ = "fleet_versions"

    product_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    version_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # as first reported, for display
    installations: Mapped[int] = mapped_column(BigInteger, default=0)
    orgs: Mapped[int] = mapped_column(BigInteger, default=0)


class FleetOrgVersion(Base):
    __tablename__ = "fleet_org_versions"

    product_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    version_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    installations: Mapped[int] = mapped_column(BigInteger, default=0)


class FleetFailure(Base):
    __tablename__ = "fleet_failures"

    package_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(32), index=True)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    orgs: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class FleetFailedOrg(Base):
    __tablename__ = "fleet_failed_orgs"

    package_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class FleetFailureDay(Base):
    """Failed installs of a package per day: the marks on its adoption curve."""

    __tablename__ = "fleet_failure_days"

    package_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)


class FleetDay(Base):
    """The installations per version at the end of a day (today: as of the last copy)."""

    __tablename__ = "fleet_days"

    product_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    installations: Mapped[int] = mapped_column(BigInteger, default=0)


def _insert(session: Session):
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def moved(
    session: Session,
    *,
    product_id: str,
    org_id: str,
    old_key: str | None,
    new_key: str,
    new_version: str,
) -> None:
    """An installation went from `old_key` (None: it is new) to `new_key`."""
    if old_key == new_key:
        return
    if old_key is not None:
        _leave(session, product_id, org_id, old_key)
    _join(session, product_id, org_id, new_key, new_version)


def _join(session: Session, product_id: str, org_id: str, key: str, version: str) -> None:
    insert = _insert(session)
    pair = FleetOrgVersion.__table__
    count = session.execute(
        insert(pair)
        .values(product_id=product_id, version_key=key, org_id=org_id, installations=1)
        .on_conflict_do_update(
            index_elements=[pair.c.product_id, pair.c.version_key, pair.c.org_id],
            set_={"installations": pair.c.installations + 1},
        )
        .returning(pair.c.installations)
    ).scalar_one()
    table = FleetVersion.__table__
    session.execute(
        insert(table)
        .values(product_id=product_id, version_key=key, version=version, installations=1, orgs=1)
        .on_conflict_do_update(
            index_elements=[table.c.product_id, table.c.version_key],
            set_={
                "installations": table.c.installations + 1,
                "orgs": table.c.orgs + (1 if count == 1 else 0),
            },
        )
    )


def _leave(session: Session, product_id: str, org_id: str, key: str) -> None:
    pair = FleetOrgVersion.__table__
    where = (pair.c.product_id == product_id) & (pair.c.version_key == key)
    left = session.execute(
        update(pair)
        .where(where, pair.c.org_id == org_id)
        .values(installations=pair.c.installations - 1)
        .returning(pair.c.installations)
    ).scalar_one_or_none()
    if left is None:
        return  # not counted (a report of before the summary existed)
    if left <= 0:
        session.execute(delete(pair).where(where, pair.c.org_id == org_id))
    table = FleetVersion.__table__
    session.execute(
        update(table)
        .where(table.c.product_id == product_id, table.c.version_key == key)
        .values(
            installations=table.c.installations - 1,
            orgs=table.c.orgs - (1 if left <= 0 else 0),
        )
    )


def failed(
    session: Session,
    *,
    product_id: str,
    org_id: str,
    package_id: str,
    error: str | None,
) -> None:
    """A failed install of `package_id` was reported."""
    insert, now = _insert(session), utcnow()
    pair = FleetFailedOrg.__table__
    count = session.execute(
        insert(pair)
        .values(package_id=package_id, org_id=org_id, failures=1, last_at=now, last_error=error)
        .on_conflict_do_update(
            index_elements=[pair.c.package_id, pair.c.org_id],
            set_={"failures": pair.c.failures + 1, "last_at": now, "last_error": error},
        )
        .returning(pair.c.failures)
    ).scalar_one()
    days = FleetFailureDay.__table__
    session.execute(
        insert(days)
        .values(package_id=package_id, day=now.date(), failures=1)
        .on_conflict_do_update(
            index_elements=[days.c.package_id, days.c.day],
            set_={"failures": days.c.failures + 1},
        )
    )
    table = FleetFailure.__table__
    session.execute(
        insert(table)
        .values(
            package_id=package_id,
            product_id=product_id,
            failures=1,
            orgs=1,
            last_at=now,
            last_error=error,
        )
        .on_conflict_do_update(
            index_elements=[table.c.package_id],
            set_={
                "failures": table.c.failures + 1,
                "orgs": table.c.orgs + (1 if count == 1 else 0),
                "last_at": now,
                "last_error": error,
            },
        )
    )


def copy_today(session: Session, today: date) -> int:
    """The worker's copy of every product's counts per version into today's row of
    `FleetDay`; returns how many rows it wrote."""
    rows = session.execute(
        select(FleetVersion.product_id, FleetVersion.version_key, FleetVersion.installations)
    ).all()
    values = [
        {"product_id": p, "day": today, "version_key": k, "installations": n}
        for p, k, n in rows
        if n > 0
    ]
    session.execute(delete(FleetDay).where(FleetDay.day == today))
    if values:
        session.execute(FleetDay.__table__.insert(), values)
    return len(values)
