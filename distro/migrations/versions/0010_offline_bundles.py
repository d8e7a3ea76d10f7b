"""Offline bundles: the bundles exported per organisation and the packages each carried;
installations reported through a site mirror

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("since", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=8), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("kid", sa.String(length=16), nullable=True),
        sa.Column("manifest", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "seq", name="uq_bundle_seq"),
    )
    op.create_index("ix_bundles_org_id", "bundles", ["org_id"], unique=False)
    op.create_index(
        "ix_bundles_org_created", "bundles", ["org_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_bundles_queue", "bundles", ["status", "destination", "claimed_at"], unique=False
    )
    op.create_table(
        "bundle_files",
        sa.Column("bundle_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["bundles.id"]),
        sa.PrimaryKeyConstraint("bundle_id", "name"),
    )
    op.create_index("ix_bundle_files_storage_key", "bundle_files", ["storage_key"], unique=False)
    op.create_table(
        "bundle_packages",
        sa.Column("bundle_id", sa.String(length=32), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["bundles.id"]),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"]),
        sa.PrimaryKeyConstraint("bundle_id", "package_id"),
    )
    op.create_index(
        "ix_bundle_packages_package_id", "bundle_packages", ["package_id"], unique=False
    )

    with op.batch_alter_table("installations") as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_installations_offline", ["product_id", "via", "last_seen_at"], unique=False
        )
    with op.batch_alter_table("installation_events") as batch_op:
        batch_op.add_column(sa.Column("report_id", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_installation_events_report_id", ["report_id"])


def downgrade() -> None:
    with op.batch_alter_table("installation_events") as batch_op:
        batch_op.drop_constraint("uq_installation_events_report_id", type_="unique")
        batch_op.drop_column("report_id")
    with op.batch_alter_table("installations") as batch_op:
        batch_op.drop_index("ix_installations_offline")
        batch_op.drop_column("via")
    op.drop_index("ix_bundle_packages_package_id", table_name="bundle_packages")
    op.drop_table("bundle_packages")
    op.drop_index("ix_bundle_files_storage_key", table_name="bundle_files")
    op.drop_table("bundle_files")
    op.drop_index("ix_bundles_queue", table_name="bundles")
    op.drop_index("ix_bundles_org_created", table_name="bundles")
    op.drop_index("ix_bundles_org_id", table_name="bundles")
    op.drop_table("bundles")
