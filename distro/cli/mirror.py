"""`distro mirror`: a site mirror, run where the vendor cannot be reached. A plain click
group: it needs none of the vendor's settings and never builds the vendor's app."""

from __future__ import annotations

from pathlib import Path

import click

from distro.cli.errors import fail_cleanly
from distro.mirror.imports import import_bundle
from distro.mirror.site import init_site, open_site

FOLDER = click.Path(file_okay=False, path_type=Path)


@click.group("mirror", help="A site mirror for a network without a connection to the vendor.")
def mirror_group():
    pass


@mirror_group.command("init")
@click.option("--dir", "folder", required=True, type=FOLDER, help="the mirror's folder")
@click.option(
    "--vendor-key",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="the vendor's public key (PEM), as GET /api/v1/keys lists it",
)
@fail_cleanly
def mirror_init(folder, vendor_key):
    """Make an empty mirror that trusts the vendor's key."""
    kid = init_site(folder, vendor_key.read_bytes())
    click.echo(f"mirror in {folder} trusts vendor key {kid}")
    click.echo(kid)


@mirror_group.command("import")
@click.argument("bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--dir", "folder", required=True, type=FOLDER, help="the mirror's folder")
@fail_cleanly
def mirror_import(bundle_dir, folder):
    """Verify a bundle, then take it in (all or nothing; a second import changes nothing)."""
    site = open_site(folder)
    try:
        result = import_bundle(site, bundle_dir)
    except OSError as exc:  # a full disk, an unreadable stick: nothing was taken in
        click.echo(f"error: bundle not imported: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    finally:
        site.engine.dispose()
    if result.already:
        click.echo(f"bundle {result.seq} was imported before; nothing changed")
    else:
        click.echo(f"bundle {result.seq} imported: {result.packages} packages")
    click.echo(result.seq)
