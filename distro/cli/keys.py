"""`distro keys`: listing and rotating signing keys."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.signing import keys
from distro.signing.keys import get_key_source

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
    session = get_session()
    row = keys.rotate_key(session, get_key_source())
    session.commit()
    click.echo("new signing key; older keys stay listed for verification")
    click.echo(row.kid)
