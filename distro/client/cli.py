"""`distro fetch`: the reference installer client at the command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from distro.client.fetcher import DistroClient, FetchError, load_keys


class Reporter:
    """Progress as a tqdm bar on a terminal, or as JSON lines with --json."""

    def __init__(self, as_json: bool):
        self.as_json, self.bar, self._last, self._current = as_json, None, 0.0, None

    def event(self, kind: str, **fields) -> None:
        if self.as_json:
            click.echo(json.dumps({"event": kind, **fields}, sort_keys=True))

    def progress(self, package: dict, done: int, total: int) -> None:
        if self.as_json:
            now = time.monotonic()
            if now - self._last >= 0.5 or done == total:
                self._last = now
                self.event("progress", id=package["id"], bytes=done, total=total)
            return
        if self.bar is None or self._current != package["id"]:
            self.close()
            self._current = package["id"]
            self.bar = tqdm(
                total=total,
                initial=0,
                unit="B",
                unit_scale=True,
                desc=package["filename"],
                disable=not sys.stderr.isatty(),
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@click.command("fetch")
@click.option("--server", required=True, envvar="DISTRO_SERVER", help="https://host")
@click.option("--token", required=True, envvar="DISTRO_TOKEN", help="installer token")
@click.option("--product", required=True, metavar="CODE")
@click.option("--from", "from_version", metavar="VERSION", help="version installed now")
@click.option("--to", "to_version", metavar="VERSION", help="stop at this version")
@click.option("--installer", is_flag=True, help="fetch the installer of --version")
@click.option("--version", metavar="VERSION", help="with --installer: the version")
@click.option("--dest", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="also require package manifests signed by this public key PEM (repeatable)",
)
@click.option(
    "--root",
    "root_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the product's TUF root as the vendor shipped it (first use only)",
)
@click.option(
    "--installation",
    metavar="NAME",
    help="the installation this runs for: its ring's approval caps the plan, and "
    "check/installed/failed are reported to the server",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines for installer scripts")
@click.option("--no-delta", is_flag=True, help="always download whole packages, never a delta")
def fetch_command(
    server,
    token,
    product,
    from_version,
    to_version,
    installer,
    version,
    dest,
    key_paths,
    root_path,
    installation,
    as_json,
    no_delta,
):
    """Download and verify an update path (or one installer) into DEST."""
    report = Reporter(as_json)
    tell = _Teller(report, product, installation, from_version)
    try:
        _check_arguments(installer, version, from_version)
        keys = load_keys(list(key_paths)) if key_paths else None
        root = root_path.read_bytes() if root_path else None
        client = DistroClient(server, token, keys, root=root)
        tell.client = client
        client.repository(product, dest)
        _warn_on_first_use(client, server, dest, report)
        tell("check")
        if installer:
            packages = [client.installer(product, version)]
        else:
            packages = client.update_plan(product, from_version, to_version, installation)
        report.event(
            "plan",
            steps=[
                {"id": p["id"], "version": p["version"], "kind": p["kind"], "size": p["size"]}
                for p in packages
            ],
        )
        if not packages and not as_json:
            click.echo(f"{product} {from_version} is up to date")
        for package in packages:
            tell.package = package
            fetched = client.fetch(
                package,
                dest,
                report.progress,
                use_delta=not no_delta,
                said=lambda message, package=package: tell.delta_failed(package, message),
            )
            tell("installed", package)
            report.close()
            report.event(
                "verified",
                id=package["id"],
                version=package["version"],
                path=str(fetched.path),
                resumed_from=fetched.resumed_from,
                downloaded=fetched.downloaded,
                via="delta" if fetched.delta_from else "full",
                delta_from=fetched.delta_from,
            )
            if not as_json:
                resumed = (
                    f", resumed at byte {fetched.resumed_from}" if fetched.resumed_from else ""
                )
                how = (
                    f", rebuilt from a delta of {fetched.downloaded} bytes"
                    if fetched.delta_from
                    else ""
                )
                click.echo(
                    f"verified {package['kind']} {package['version']}: {fetched.path}{resumed}{how}"
                )
        report.event("done", count=len(packages))
    except FetchError as exc:
        report.close()
        if tell.package is not None:
            tell("failed", tell.package, exc.message)
        report.event("error", message=exc.message)
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


class _Teller:
    """Reports to the server for `--installation`: `check` before the run, `installed`
    after each verified package (the installation is then at its version), `failed`
    with the message when a package's download or verification fails."""

    def __init__(self, report: Reporter, product: str, installation: str | None, at: str | None):
        self.report, self.product, self.installation, self.at = report, product, installation, at
        self.client: DistroClient | None = None
        self.package: dict | None = None

    def __call__(self, event: str, package: dict | None = None, error: str | None = None):
        if self.installation is None or self.client is None:
            return
        if event == "installed":
            self.at, self.package = package["version"], None
        if self.at is None:
            return  # a fresh --installer run: nothing is installed to report on yet
        warning = self.client.report(
            self.product,
            self.installation,
            self.at,
            event,
            package_id=package["id"] if package else None,
            error=error,
        )
        if warning:
            click.echo(f"warning: {warning}", err=True)
            self.report.event("warning", message=warning)

    def delta_failed(self, package: dict, message: str) -> None:
        """A delta that did not rebuild the package: one line, a `failed` event with the
        reason, and the whole package is downloaded next."""
        line = f"{package['product']} {package['version']}: {message}; downloading it whole"
        click.echo(f"warning: {line}", err=True)
        self.report.event("delta_failed", id=package["id"], message=message)
        self("failed", package, line)


def _check_arguments(installer: bool, version: str | None, from_version: str | None) -> None:
    if installer and not version:
        raise FetchError("--installer needs --version")
    if not installer and not from_version:
        raise FetchError("give --from VERSION (or --installer --version V)")


def _warn_on_first_use(client: DistroClient, server: str, dest: Path, report: Reporter) -> None:
    for product in client.trusted_on_first_use:
        message = (
            f"WARNING: no --root given; trusting the TUF root of {product} that {server} "
            f"sent now (version 1) and keeping it in {dest / '.tuf' / product}. Check it "
            "against the root file the vendor publishes, or pass --root next time."
        )
        click.echo(message, err=True)
        report.event("warning", message=message)
