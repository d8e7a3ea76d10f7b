"""A vendor's size: release-line and version keys for SQL comparisons, the fleet summary
kept up to date on report, per-day activity counts, and indexes for every paged list

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa
from alembic import op

from distro.core.versions import line_key, version_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1000


def _backfill_key(table: str, column: str, compute) -> None:
    """Fill a new key column from `version` in Python (the key is our own function)."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, version FROM {table}")).all()
    for start in range(0, len(rows), BATCH):
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :key WHERE id = :id"),
            [{"id": row.id, "key": compute(row.version)} for row in rows[start : start + BATCH]],
        )


def upgrade() -> None:
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.add_column(sa.Column("line_key", sa.String(length=64), nullable=True))
    _backfill_key("licenses", "line_key", line_key)
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.alter_column("line_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_licenses_product_org", ["product_id", "org_id"])
        batch_op.create_index("ix_licenses_product_line", ["product_id", "line_key"])
        batch_op.create_index(batch_op.f("ix_licenses_expires"), ["expires"])

    with op.batch_alter_table("installations") as batch_op:
        batch_op.add_column(sa.Column("version_key", sa.String(length=64), nullable=True))
    _backfill_key("installations", "version_key", version_key)
    with op.batch_alter_table("installations") as batch_op:
        batch_op.alter_column("version_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_installations_org_name", ["org_id", "name", "id"])

    op.create_index("ix_packages_lines", "packages", ["product_id", "line_key", "version_key"])
    op.create_index("ix_api_tokens_created", "api_tokens", ["created_at", "id"])
    op.create_index("ix_installations_created", "installations", ["created_at", "id"])
    op.create_index("ix_licenses_issued", "licenses", ["issued_at", "id"])
    op.create_index("ix_packages_published", "packages", ["published_at", "id"])
    op.create_index("ix_license_requests_status", "license_requests", ["status", "created_at"])
    _audit_indexes()
    if op.get_bind().dialect.name == "postgresql":  # years of audit rows pass 2**31
        op.execute("ALTER SEQUENCE audit_events_id_seq AS bigint")
    _activity_counts()
    op.create_index(op.f("ix_mail_outbox_created_at"), "mail_outbox", ["created_at"])
    op.create_index("ix_mail_outbox_status_created", "mail_outbox", ["status", "created_at"])
    with op.batch_alter_table("tuf_metadata") as batch_op:
        batch_op.alter_column(
            "role", existing_type=sa.String(length=16), type_=sa.String(length=32)
        )
    _fleet_tables()
    _fleet_backfill()


def _audit_indexes() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_action_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_org_id"))
        if op.get_bind().dialect.name == "postgresql":
            batch_op.alter_column("id", existing_type=sa.Integer(), type_=sa.BigInteger())
        batch_op.create_index("ix_audit_at_id", ["at", "id"])
        batch_op.create_index("ix_audit_action_at", ["action", "at", "id"])
        batch_op.create_index("ix_audit_org_at", ["org_id", "at", "id"])
        batch_op.create_index("ix_audit_actor_at", ["actor_email", "at", "id"])


def _activity_counts() -> None:
    op.create_table(
        "activity_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "action", "shard"),
    )
    day = "date(at)" if op.get_bind().dialect.name == "sqlite" else "CAST(at AS DATE)"
    op.execute(
        "INSERT INTO activity_counts (day, action, shard, count) "
        f"SELECT {day}, action, 0, COUNT(*) FROM audit_events GROUP BY {day}, action"
    )


def _fleet_tables() -> None:
    op.create_table(
        "fleet_versions",
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("version_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("installations", sa.BigInteger(), nullable=False),
        sa.Column("orgs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "version_key"),
    )
    op.create_table(
        "fleet_org_versions",
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("version_key", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("installations", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "version_key", "org_id"),
    )
    op.create_index(op.f("ix_fleet_org_versions_org_id"), "fleet_org_versions", ["org_id"])
    op.create_table(
        "fleet_failures",
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("orgs", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("package_id"),
    )
    op.create_index(op.f("ix_fleet_failures_product_id"), "fleet_failures", ["product_id"])
    op.create_table(
        "fleet_failed_orgs",
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "org_id"),
    )
    op.create_table(
        "fleet_failure_days",
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "day"),
    )
    op.create_index(op.f("ix_fleet_failed_orgs_org_id"), "fleet_failed_orgs", ["org_id"])
    op.create_table(
        "fleet_days",
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version_key", sa.String(length=64), nullable=False),
        sa.Column("installations", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "day", "version_key"),
    )


def _fleet_backfill() -> None:
    """The summary of the installations and failures reported before it existed."""
    op.execute(
        "INSERT INTO fleet_org_versions (product_id, version_key, org_id, installations) "
        "SELECT product_id, version_key, org_id, COUNT(*) FROM installations "
        "GROUP BY product_id, version_key, org_id"
    )
    op.execute(
        "INSERT INTO fleet_versions (product_id, version_key, version, installations, orgs) "
        "SELECT product_id, version_key, MIN(version), COUNT(*), COUNT(DISTINCT org_id) "
        "FROM installations GROUP BY product_id, version_key"
    )
    op.execute(
        "INSERT INTO fleet_failed_orgs (package_id, org_id, failures, last_at) "
        "SELECT e.package_id, i.org_id, COUNT(*), MAX(e.created_at) "
        "FROM installation_events e JOIN installations i ON i.id = e.installation_id "
        "WHERE e.event = 'failed' AND e.package_id IS NOT NULL "
        "GROUP BY e.package_id, i.org_id"
    )
    day = (
        "date(e.created_at)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(e.created_at AS DATE)"
    )
    op.execute(
        "INSERT INTO fleet_failure_days (package_id, day, failures) "
        f"SELECT e.package_id, {day}, COUNT(*) FROM installation_events e "
        "WHERE e.event = 'failed' AND e.package_id IS NOT NULL "
        f"GROUP BY e.package_id, {day}"
    )
    op.execute(
        "INSERT INTO fleet_failures (package_id, product_id, failures, orgs, last_at) "
        "SELECT e.package_id, MIN(i.product_id), COUNT(*), COUNT(DISTINCT i.org_id), "
        "MAX(e.created_at) "
        "FROM installation_events e JOIN installations i ON i.id = e.installation_id "
        "WHERE e.event = 'failed' AND e.package_id IS NOT NULL GROUP BY e.package_id"
    )


def downgrade() -> None:
    for table in (
        "fleet_days",
        "fleet_failure_days",
        "fleet_failed_orgs",
        "fleet_failures",
        "fleet_org_versions",
    ):
        op.drop_table(table)
    op.drop_table("fleet_versions")
    op.drop_table("activity_counts")
    op.drop_index("ix_packages_lines", table_name="packages")
    op.drop_index("ix_api_tokens_created", table_name="api_tokens")
    op.drop_index("ix_installations_created", table_name="installations")
    op.drop_index("ix_licenses_issued", table_name="licenses")
    op.drop_index("ix_packages_published", table_name="packages")
    op.drop_index("ix_license_requests_status", table_name="license_requests")
    op.drop_index("ix_mail_outbox_status_created", table_name="mail_outbox")
    op.drop_index(op.f("ix_mail_outbox_created_at"), table_name="mail_outbox")
    with op.batch_alter_table("audit_events") as batch_op:
        for name in (
            "ix_audit_actor_at",
            "ix_audit_org_at",
            "ix_audit_action_at",
            "ix_audit_at_id",
        ):
            batch_op.drop_index(name)
        batch_op.create_index("ix_audit_action_at", ["action", "at"])
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"])
        batch_op.create_index(batch_op.f("ix_audit_events_org_id"), ["org_id"])
    with op.batch_alter_table("installations") as batch_op:
        batch_op.drop_index("ix_installations_org_name")
        batch_op.drop_column("version_key")
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.drop_index(batch_op.f("ix_licenses_expires"))
        batch_op.drop_index("ix_licenses_product_org")
        batch_op.drop_index("ix_licenses_product_line")
        batch_op.drop_column("line_key")
