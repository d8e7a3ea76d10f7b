"""Finding the fix: package details (defects, modules, severity, CVEs), the search index
(grams: an FTS5 table on SQLite, a GIN index on PostgreSQL), exact defect and CVE
references, advisories, feed keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from distro.migrations.search import create_search_index, drop_search_index, index_existing

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("packages") as batch_op:
        batch_op.add_column(
            sa.Column("defects_json", sa.Text(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("modules_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("cves_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("severity", sa.String(length=16), server_default="none", nullable=False)
        )
        batch_op.add_column(
            sa.Column("advisory", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            "ix_packages_advisories", ["advisory", "published_at", "id"], unique=False
        )
    op.create_table(
        "package_references",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("reference", "package_id"),
    )
    op.create_index(op.f("ix_package_references_package_id"), "package_references", ["package_id"])
    grams = ARRAY(sa.Text()) if op.get_bind().dialect.name == "postgresql" else sa.Text()
    op.create_table(
        "package_search",
        sa.Column("doc", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("grams", grams, nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("doc"),
        sa.UniqueConstraint("package_id"),
    )
    op.create_index("ix_package_search_product", "package_search", ["product_id", "doc"])
    op.create_index(
        "ix_installations_org_product_version",
        "installations",
        ["org_id", "product_id", "version_key"],
    )
    create_search_index(op.get_bind())
    index_existing(op.get_bind())
    op.create_table(
        "feed_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("key_hash"),
    )


def downgrade() -> None:
    op.drop_table("feed_keys")
    drop_search_index(op.get_bind())
    op.drop_table("package_search")
    op.drop_index("ix_installations_org_product_version", table_name="installations")
    op.drop_index(op.f("ix_package_references_package_id"), table_name="package_references")
    op.drop_table("package_references")
    with op.batch_alter_table("packages") as batch_op:
        batch_op.drop_index("ix_packages_advisories")
        for column in ("advisory", "severity", "cves_text", "modules_text", "defects_json"):
            batch_op.drop_column(column)
