"""Alembic environment: runs on the connection `distro.migrations.upgrade` hands it."""

from alembic import context

from distro.migrations import metadata
from distro.migrations.search import include_object

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
