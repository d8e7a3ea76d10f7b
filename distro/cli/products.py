"""`distro products`: the products packages and licenses belong to."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from distro.accounts.actor import CLI
from distro.cli.errors import fail_cleanly
from distro.core.db import get_session
from distro.patches import products as product_service
from distro.signing.keys import get_key_source
from distro.tuf import lifecycle

products = AppGroup("products", help="Products.")


@products.command("create")
@click.argument("code")
@click.option("--name", required=True)
@fail_cleanly
def products_create(code, name):
    session = get_session()
    product = product_service.create_product(session, CLI, code, name)
    lifecycle.ensure_repository(
        session, product, get_key_source(), current_app.config["TUF_ROOT_THRESHOLD"]
    )
    session.commit()
    click.echo(product.id)


@products.command("review")
@click.argument("code")
@click.argument("mode", type=click.Choice(product_service.REVIEW_MODES))
@fail_cleanly
def products_review(code, mode):
    """Who decides upgrade requests of CODE: approvers, or the system at submission."""
    session = get_session()
    product = product_service.set_review(session, CLI, code, mode)
    session.commit()
    click.echo(f"{product.code}: upgrade requests reviewed by {product.review}")
    click.echo(product.id)
