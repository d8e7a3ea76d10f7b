"""`distro licenses`: granting licenses to organisations."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from distro.accounts import services as accounts
from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.cli.params import WholeNumber
from distro.core.db import get_session
from distro.core.parsers import parse_date
from distro.licenses.services import MAX_USERS, grant_license
from distro.patches import products as product_service
from distro.signing import keys
from distro.signing.keys import get_key_source

licenses = AppGroup("licenses", help="Licenses.")


@licenses.command("grant")
@click.option("--org", "org_code", required=True, metavar="CODE")
@click.option("--product", "product_code", required=True, metavar="CODE")
@click.option("--version", required=True)
@click.option("--modules", required=True, metavar="A,B,C")
@click.option("--users", "user_count", required=True, type=WholeNumber(1, MAX_USERS))
@click.option("--kind", required=True, type=click.Choice(["subscription", "perpetual"]))
@click.option(
    "--deployment",
    required=True,
    type=click.Choice(["public_cloud", "private_cloud", "on_premises"]),
)
@click.option("--starts", required=True, metavar="YYYY-MM-DD")
@click.option("--expires", metavar="YYYY-MM-DD")
@fail_cleanly
def licenses_grant(
    org_code, product_code, version, modules, user_count, kind, deployment, starts, expires
):
    session = get_session()
    license = grant_license(
        session,
        keys.active_signer(session, get_key_source()),
        CLI,
        org=accounts.find_org(session, org_code),
        product=product_service.find_product(session, product_code),
        version=version,
        modules=modules,
        user_count=user_count,
        kind=kind,
        deployment=deployment,
        starts=parse_date(starts, "--starts"),
        expires=parse_date(expires, "--expires") if expires else None,
    )
    session.commit()
    click.echo(license.id)
