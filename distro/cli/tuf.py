"""`distro tuf refresh`: re-sign TUF metadata before it expires (run it from cron, hourly).

Timestamps are also renewed when a client asks for one that is past half its day; this
command keeps repositories fresh when nobody asks, and renews targets and snapshot
within 30 days of their expiry.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.signing.keys import get_key_source
from distro.tuf import lifecycle

tuf_group = AppGroup("tuf", help="TUF repositories (one per product).")


@tuf_group.command("refresh")
@fail_cleanly
def tuf_refresh():
    session = get_session()
    renewed = lifecycle.refresh_all(session, get_key_source())
    session.commit()
    for line in renewed:
        click.echo(f"renewed: {line}")
    click.echo(f"{len(renewed)} repositories renewed")
