"""`distro mirror`: a site mirror, run where the vendor cannot be reached. A plain click
group: it needs none of the vendor's settings and never builds the vendor's app."""

from __future__ import annotations

from pathlib import Path

import click

from distro.cli.errors import fail_cleanly
from distro.cli.params import WholeNumber
from distro.mirror.site import init_site, open_site

# Each command imports what only it uses (TUF, gunicorn, the installations' rules) when
# it runs: an import's time counts against the disk's (bench/bundles.py).

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
    from distro.mirror.imports import import_bundle
    from distro.storage.base import InsufficientStorage

    site = open_site(folder)
    try:
        result = import_bundle(site, bundle_dir)
    except InsufficientStorage:
        click.echo(
            f"error: bundle not imported: the mirror's store in {folder} is full; nothing "
            "was taken in (make room there and run the import again)",
            err=True,
        )
        raise SystemExit(1) from None
    except OSError as exc:  # an unreadable stick: nothing was taken in
        click.echo(f"error: bundle not imported: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    finally:
        site.engine.dispose()
    if result.already:
        click.echo(f"bundle {result.seq} was imported before; nothing changed")
    else:
        click.echo(f"bundle {result.seq} imported: {result.packages} packages")
    click.echo(result.seq)


@mirror_group.command("tokens")
@click.argument("action", type=click.Choice(["create"]))
@click.option("--dir", "folder", required=True, type=FOLDER, help="the mirror's folder")
@click.option("--name", required=True, help="what the token is for (an installer's host)")
@fail_cleanly
def mirror_tokens(action, folder, name):
    """Create an installer token of the site; the secret is the last line, shown once."""
    from distro.mirror import tokens

    site = open_site(folder)
    with site.session() as session:
        token, secret = tokens.create_token(session, name)
        session.commit()
    site.engine.dispose()
    click.echo(f"token {token.id} of this mirror; the secret below is shown once:")
    click.echo(secret)


@mirror_group.command("reports")
@click.option("--dir", "folder", required=True, type=FOLDER, help="the mirror's folder")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@fail_cleanly
def mirror_reports(folder, out):
    """Write the installation reports received since the last such file, for the vendor."""
    from distro.mirror.reports import export_reports

    site = open_site(folder)
    try:
        count = export_reports(site, out)
    except OSError as exc:
        click.echo(f"error: {out} not written: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None
    finally:
        site.engine.dispose()
    click.echo(f"{count} reports written to {out}")
    click.echo(count)


@mirror_group.command("serve")
@click.option("--dir", "folder", required=True, type=FOLDER, help="the mirror's folder")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT")
@click.option("--workers", type=WholeNumber(1, 64), default=2, show_default=True)
@fail_cleanly
def mirror_serve(folder, bind, workers):
    """Serve the installer API of the mirror under gunicorn."""
    from distro.mirror.server import MirrorServer

    open_site(folder).engine.dispose()  # a clear error now, not in every worker
    MirrorServer(folder, {"bind": bind, "workers": workers}).run()
