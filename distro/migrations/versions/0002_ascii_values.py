"""refuse non-ASCII codes and versions stored before the one-parser rule

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:30:00

Changes no schema: it stops the upgrade while any stored code, version, module list or
e-mail address is not ASCII (see `distro.migrations.ascii`), since such values may be
signed and must be fixed by a person, not rewritten.
"""

from alembic import op

from distro.migrations.ascii import refuse_non_ascii

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    refuse_non_ascii(op.get_bind())


def downgrade() -> None:
    pass
