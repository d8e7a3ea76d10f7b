"""Codes and versions stored before the one-parser rule may hold other scripts' digits;
they are signed, so they are reported and the upgrade refuses to run over them, rather
than being rewritten."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text, update

from distro.core.db import make_engine
from distro.migrations import alembic_config, upgrade
from distro.migrations.ascii import NonAsciiData, non_ascii_values
from distro.patches.models import Product
from tests.conftest import db_session

ROWS = [
    (
        "INSERT INTO products (id, code, name, created_at) VALUES "
        "('p1', 'erp', 'ERP', '2026-01-01 00:00:00')"
    ),
    (
        "INSERT INTO organisations (id, code, name, created_at) VALUES "
        "('o1', 'acme', 'ACME', '2026-01-01 00:00:00')"
    ),
    (
        "INSERT INTO licenses (id, serial, org_id, product_id, version, modules, user_count,"
        " kind, deployment, starts, expires, status, issued_at, payload, file_text, kid)"
        " VALUES ('l1', 'DL-1', 'o1', 'p1', '٩.٠', '[\"gl\", \"\\u0661\"]', 5, 'perpetual',"
        " 'on_premises', '2026-01-01', NULL, 'active', '2026-01-01 00:00:00', '{}', 'x', 'k')"
    ),
]


def test_the_upgrade_refuses_to_run_over_non_ascii_versions_and_names_them(blank_database_url):
    engine = make_engine(blank_database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
        for row in ROWS:
            connection.execute(text(row))
    with pytest.raises(NonAsciiData) as refused:
        upgrade(engine)
    message = refused.value.message
    assert "licenses.version of l1: '٩.٠'" in message
    assert 'licenses.modules of l1: \'["gl", "١"]\'' in message
    assert "not rewritten" in message
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        stored = connection.execute(text("SELECT version FROM licenses")).scalar()
    assert (revision, stored) == ("0001", "٩.٠")  # nothing moved, nothing rewritten
    engine.dispose()


def test_storage_verify_reports_non_ascii_values_and_exits_1(app, runner, world):
    with db_session(app) as session:
        assert non_ascii_values(session.connection()) == []
        session.execute(update(Product).where(Product.code == "crm").values(code="crm٢"))
        session.commit()
    result = runner.invoke(args=["storage", "verify"])
    assert result.exit_code == 1
    assert f"NOT ASCII: products.code of {world.ids['crm']}: 'crm٢'" in result.output
    assert "1 stored codes or versions are not ASCII" in result.output
