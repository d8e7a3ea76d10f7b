"""Schema management: every table is created and changed by the Alembic migrations in
`versions/`; `upgrade(engine)` brings a database to the newest one."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from distro.accounts import models as account_models  # noqa: F401  (registers the tables)
from distro.audit import models as audit_models  # noqa: F401
from distro.bundles import models as bundle_models  # noqa: F401
from distro.core import events as event_models  # noqa: F401
from distro.core.db import Base, ensure_sqlite_folder
from distro.installations import models as installation_models  # noqa: F401
from distro.installations import summary as installation_summary  # noqa: F401
from distro.licenses import models as license_models  # noqa: F401
from distro.mail import models as mail_models  # noqa: F401
from distro.patches import models as package_models  # noqa: F401
from distro.signing import models as key_models  # noqa: F401
from distro.tuf import models as tuf_models  # noqa: F401

metadata = Base.metadata
MIGRATIONS = Path(__file__).parent


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a no-op when it is there already)."""
    ensure_sqlite_folder(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
