"""The schema comes from Alembic migrations, and the models match them exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from distro.core.db import make_engine
from distro.migrations import metadata, upgrade
from distro.migrations.search import include_object


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
