"""Deltas: the deltas built to each package from older ones, and when the worker looked

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "package_deltas",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("base_id", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["base_id"], ["packages.id"]),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "base_id", name="uq_package_delta"),
    )
    op.create_index("ix_package_deltas_package_id", "package_deltas", ["package_id"])
    op.create_index("ix_package_deltas_storage_key", "package_deltas", ["storage_key"])
    with op.batch_alter_table("packages") as batch:
        batch.add_column(sa.Column("deltas_checked_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_packages_deltas_due", ["deltas_checked_at", "published_at"])
    # What was published before deltas existed is not worked through: deltas start with
    # the next publish (an old catalogue would keep the worker busy for nothing).
    op.execute(sa.text("UPDATE packages SET deltas_checked_at = published_at"))


def downgrade() -> None:
    with op.batch_alter_table("packages") as batch:
        batch.drop_index("ix_packages_deltas_due")
        batch.drop_column("deltas_checked_at")
    op.drop_index("ix_package_deltas_storage_key", table_name="package_deltas")
    op.drop_index("ix_package_deltas_package_id", table_name="package_deltas")
    op.drop_table("package_deltas")
