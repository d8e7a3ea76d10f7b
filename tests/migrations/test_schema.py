"""The schema comes from Alembic migrations, and the models match them exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from distro.accounts.actor import CLI
from distro.core.db import make_engine
from distro.migrations import alembic_config, metadata, upgrade
from distro.migrations.search import include_object
from distro.patches import search


def test_migrations_build_a_blank_database_that_matches_the_models(blank_database_url):
    engine = make_engine(blank_database_url)
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {
        "users",
        "organisations",
        "packages",
        "licenses",
        "license_requests",
        "api_tokens",
        "audit_events",
        "signing_keys",
        "alembic_version",
    } <= tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, metadata)
    assert diff == []
    engine.dispose()


def test_packages_published_before_search_are_indexed_in_order_of_publication(
    blank_database_url,
):

    engine = make_engine(blank_database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0008")
        conn.execute(
            text(
                "INSERT INTO products (id, code, name, created_at, review) "
                "VALUES ('p1', 'erp', 'ERP', '2026-01-01', 'approver')"
            )
        )
        for package_id, published, notes in [
            ("new", "2026-02-01", "凭证过账 later"),
            ("old", "2026-01-01", "voucher"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO packages (id, product_id, version, version_key, line_key, kind, "
                    "filename, size, sha256, storage_key, notes, manifest, signature, kid, "
                    "published_at, yanked) VALUES (:id, 'p1', '8.0.1', 'k', 'l', 'patch', "
                    ":filename, 1, 's', 'k', :notes, '{}', '', 'k', :at, false)"
                ),
                {
                    "id": package_id,
                    "filename": f"{package_id}.zip",
                    "notes": notes,
                    "at": published,
                },
            )
    upgrade(engine)
    with engine.connect() as conn:
        docs = conn.execute(text("SELECT package_id FROM package_search ORDER BY doc")).scalars()
        assert list(docs) == ["old", "new"]

    with Session(engine) as session:
        found, _cursor = search.search(session, CLI, search.parse_query("过账"), 10)
        assert [p.id for p in found] == ["new"]
    engine.dispose()
