"""TUF metadata, every version of every role of every product

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tuf_metadata",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "role", "version", name="uq_tuf_version"),
    )
    with op.batch_alter_table("tuf_metadata", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tuf_metadata_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tuf_metadata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tuf_metadata_product_id"))
    op.drop_table("tuf_metadata")
