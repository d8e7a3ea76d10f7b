"""`distro keys`: listing and rotating signing keys."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.signing import keys
from distro.signing.keys import get_key_source
from distro.tuf import lifecycle

keys_group = AppGroup("keys", help="Signing keys.")


@keys_group.command("list")
@fail_cleanly
def keys_list():
    for row in keys.list_keys(get_session()):
        state = f"retired {row.retired_at:%Y-%m-%d}" if row.retired_at else "active"
        click.echo(f"{row.kid}  {row.alg}  created {row.created_at:%Y-%m-%d}  {state}")


@keys_group.command("rotate")
@fail_cleanly
def keys_rotate():
    """A new signing key and TUF root key; each product's next TUF root is signed by the
    old and new root keys, so installers follow the rotation."""
    session, source = get_session(), get_key_source()
    row, retired = lifecycle.rotate_keys(session, source, current_app.config["TUF_ROOT_THRESHOLD"])
    session.commit()
    lifecycle.retire_root_keys(source, retired)
    click.echo("new signing key and TUF root key; older keys stay listed for verification")
    click.echo(row.kid)
