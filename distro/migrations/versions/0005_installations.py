"""Installations, their events and ring approvals; who reviews a product's upgrade
requests, and whether the system decided a request

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ring", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("last_failure_package_id", sa.String(length=32), nullable=True),
        sa.Column("last_failure_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "product_id", "name", name="uq_installation"),
    )
    op.create_index(op.f("ix_installations_org_id"), "installations", ["org_id"])
    op.create_index(op.f("ix_installations_product_id"), "installations", ["product_id"])
    op.create_table(
        "installation_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("installation_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["installation_id"], ["installations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("created_at", "installation_id", "package_id"):
        op.create_index(op.f(f"ix_installation_events_{column}"), "installation_events", [column])
    op.create_table(
        "ring_approvals",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("ring", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("approved_by", sa.String(length=32), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
        sa.PrimaryKeyConstraint("org_id", "ring", "product_id"),
    )
    with op.batch_alter_table("license_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("decided_by_system", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("review", sa.String(length=16), server_default="approver", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("review")
    with op.batch_alter_table("license_requests", schema=None) as batch_op:
        batch_op.drop_column("decided_by_system")
    op.drop_table("ring_approvals")
    for column in ("package_id", "installation_id", "created_at"):
        op.drop_index(op.f(f"ix_installation_events_{column}"), table_name="installation_events")
    op.drop_table("installation_events")
    op.drop_index(op.f("ix_installations_product_id"), table_name="installations")
    op.drop_index(op.f("ix_installations_org_id"), table_name="installations")
    op.drop_table("installations")
