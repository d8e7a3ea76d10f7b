"""The queries behind the pages that must stay fast at a vendor's size read an index,
on both databases: no full scan of a big table and no sort of all its rows (EXPLAIN,
checked here; bench/scale.py measures the times).

On PostgreSQL the planner prefers a sequential scan (or a bitmap scan and a sort) of a
tiny test table, so those are switched off for the EXPLAIN: what is checked is that an
index can serve the query in the order it asks for, which is what keeps it fast when the
table is large.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import Text, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from distro.accounts.actor import Actor
from distro.accounts.models import User
from distro.audit.models import AuditEvent
from distro.audit.queries import AuditFilter, filtered
from distro.installations import fleet
from distro.installations.models import Installation
from distro.installations.services import visible_installations
from distro.mail.models import OutboxMessage
from distro.mail.notices import entitled_orgs_query
from distro.patches import search
from distro.patches.models import Package, PackageSearch, Product
from tests.conftest import db_session, grant_license, publish_file

BIG = ("audit_events", "installations", "licenses", "mail_outbox", "fleet_org_versions")


def plan(session, stmt) -> str:
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if session.get_bind().dialect.name == "postgresql":
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            session.execute(text(f"SET {setting} = off"))
        return "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
    return "\n".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def assert_uses_indexes(session, stmt, ordered: bool = True, searched: bool = True) -> None:
    """No plain scan of a big table; with `ordered`, no sort of its rows; with
    `searched`, the index is entered at the filter's value, not walked whole."""
    shown = plan(session, stmt)
    if searched:
        assert "SEARCH " in shown or "Index Cond" in shown, shown
    for table in BIG:
        assert not re.search(rf"Seq Scan on {table}\b", shown), shown
        assert not re.search(rf"^SCAN {table}$", shown, re.M), shown  # SQLite: no index
    if ordered:
        assert "USE TEMP B-TREE FOR ORDER BY" not in shown, shown
        assert not re.search(r"^\s*(->\s*)?Sort\b", shown, re.M), shown


AUDIT_FILTERS = [
    AuditFilter(),
    AuditFilter(action="package.download"),
    AuditFilter(org_id="o" * 32),
    AuditFilter(actor="admin@vendor.test"),
    AuditFilter(since=datetime(2026, 1, 1)),
    AuditFilter(until=datetime(2026, 1, 1)),
    AuditFilter(action="login.failure", since=datetime(2026, 1, 1), until=datetime(2026, 2, 1)),
]


@pytest.mark.parametrize("wanted", AUDIT_FILTERS, ids=lambda f: repr(f)[11:60])
def test_the_audit_page_reads_an_index_for_every_filter(app, wanted):
    stmt = filtered(wanted).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(201)
    with db_session(app) as session:
        assert_uses_indexes(session, stmt, searched=wanted != AuditFilter())


def staff(session, email: str) -> Actor:
    return Actor(user=session.scalars(select(User).where(User.email == email)).one())


@pytest.mark.parametrize("who", ["pub@vendor.test", "am@vendor.test"])
def test_the_fleet_page_reads_the_summary_by_key(app, world, who):
    with db_session(app) as session:
        product = session.scalars(select(Product).where(Product.code == "erp")).one()
        assert_uses_indexes(
            session, fleet.version_counts_query(staff(session, who), product), ordered=False
        )


def test_an_organisations_installations_page_pages_by_key(app, world):
    with db_session(app) as session:
        customer = staff(session, "it@acme.test")
        stmt = (
            visible_installations(customer)
            .order_by(Installation.org_id, Installation.name, Installation.id)
            .limit(51)
        )
        assert_uses_indexes(session, stmt)


def test_a_fan_out_page_is_one_range_of_the_license_index(app, runner, world, tmp_path):
    grant_license(runner, version="9.0")
    path = tmp_path / "p.bin"
    path.write_bytes(b"x")
    package_id = publish_file(runner, path, version="9.0")
    with db_session(app) as session:
        package = session.get(Package, package_id)
        assert_uses_indexes(session, entitled_orgs_query(package, "", 500))


@pytest.mark.parametrize("status", [None, "pending"])
def test_the_mail_page_reads_the_outbox_by_key(app, status):
    stmt = select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(200)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    with db_session(app) as session:
        assert_uses_indexes(session, stmt, searched=status is not None)


@pytest.mark.parametrize("q", ["过账", "voucher", "PT-201301"])
def test_search_finds_its_candidates_through_the_gram_index(app, world, q):
    """SQLite: the FTS5 table drives the search, in its own order (no sort). PostgreSQL:
    the GIN index serves the grams' containment (which plan the planner picks at a given
    size is bench/search.py's to show: a tiny test table says nothing about it)."""
    with db_session(app) as session:
        query = search.parse_query(q)
        stmt = search.listing(session, staff(session, "it@acme.test"), query)
        stmt = stmt.order_by(stmt.selected_columns[0].desc()).limit(51)
        if session.get_bind().dialect.name == "postgresql":
            for setting in ("enable_seqscan", "enable_indexscan", "enable_sort"):
                session.execute(text(f"SET {setting} = off"))
            alone = select(PackageSearch.doc).where(
                PackageSearch.grams.op("@>")(
                    bindparam("g", search._grams(query), type_=ARRAY(Text))
                )
            )
            sql = alone.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            shown = "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
            assert "Bitmap Index Scan on ix_package_search_grams" in shown, shown
        else:
            shown = plan(session, stmt)
            assert "SCAN package_search_fts VIRTUAL TABLE INDEX" in shown, shown
            assert "USE TEMP B-TREE FOR ORDER BY" not in shown, shown
            assert not re.search(r"^SCAN (packages|package_search)$", shown, re.M), shown


def test_the_advisories_list_reads_its_index(app, runner, world):
    grant_license(runner, version="9.0")
    with db_session(app) as session:
        customer = staff(session, "it@acme.test")
        stmt = (
            search.restrict(session, customer, search.Query(), select(Package))
            .where(Package.advisory.is_(True))
            .order_by(Package.published_at.desc(), Package.id.desc())
            .limit(51)
        )
        shown = plan(session, stmt)
        assert "ix_packages_advisories" in shown, shown
