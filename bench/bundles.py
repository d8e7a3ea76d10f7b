"""Offline bundles at size (issue 26): export and import of BENCH_BUNDLE_MB (2048) MiB of
packages, against `cp` of the same bytes in the same run.

    .venv/bin/python -m bench.bundles

Packages are published with `distro packages publish` into a local store on SQLite. Then,
BENCH_BUNDLE_ROUNDS (3) times, each in its own process, timed, with its peak RSS from the
kernel (`wait4`):
- `cp` of the packages' stored files to a fresh folder (the baseline of the export);
- `distro bundles export` of the organisation (parts of 512 MiB): every byte read from
  the store and checked against its package's SHA-256, hashed into its part's, written
  once;
- `cp` of the bundle's files to a fresh folder (the baseline of the import);
- `distro mirror import` into an empty mirror: every part hashed as it streams (which
  proves the packages' signed hashes), written into the mirror's store.
Targets: export and import at least 0.5x the speed of `cp`, peak RSS at most 256 MiB.
Before each timing everything is written back and (as root) the page cache dropped, so
both sides of a ratio read from the disk and start with nothing dirty; the baseline is
`cp` then `sync`, since export and import fsync what they write (`cp` alone is shown
too). The disk's speed wanders from minute to minute, so each ratio is against the `cp`
just before it, and the table gives the median of the rounds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MIB
from bench.processes import run

ROOT = Path(__file__).resolve().parents[1]
TOTAL = int(os.environ.get("BENCH_BUNDLE_MB", "2048")) * MIB
PACKAGE = 256 * MIB
ROUNDS = int(os.environ.get("BENCH_BUNDLE_ROUNDS", "3"))
RSS_LIMIT_MIB = 256


def distro(*args: str) -> list[str]:
    return [sys.executable, "-m", "distro.cli", *args]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="distro-bundles-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")},
        "DISTRO_DATABASE_URL": f"sqlite:///{work}/distro.db",
        "DISTRO_STORAGE_URL": (work / "objects").as_uri(),
        "DISTRO_SIGNING_KEYS_DIR": str(work / "keys"),
        "DISTRO_SECRET_KEY": "bench",
    }
    try:
        return _measure(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(work: Path, env: dict) -> int:
    print(
        f"== bundles: {TOTAL // MIB:,} MiB of packages in {TOTAL // PACKAGE} packages, "
        f"{ROUNDS} rounds",
        flush=True,
    )
    _seed(work, env)
    blobs = sorted((work / "objects" / "blobs").rglob("*"))
    blobs = [p for p in blobs if p.is_file()]
    key = work / "vendor.pem"
    key.write_text(_public_key(env))
    site_env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    exports, imports = [], []
    for round_ in range(1, ROUNDS + 1):
        stick = _fresh(work / f"stick-{round_}")
        cp_export = _cp(blobs, _fresh(work / "cp"), env)
        timed = run(
            distro("bundles", "export", "--org", "acme", "--out", str(stick))
            + ["--part-mib", "512"],
            env,
        )
        exports.append((timed, cp_export))
        cp_import = _cp(sorted(stick.iterdir()), _fresh(work / "cp"), env)
        site = work / "site"
        run(distro("mirror", "init", "--dir", str(site), "--vendor-key", str(key)), site_env)
        timed = run(distro("mirror", "import", str(stick), "--dir", str(site)), site_env)
        imports.append((timed, cp_import))
        for done in (stick, site):
            shutil.rmtree(done)
        print(f"  round {round_}: " + _round(exports[-1], imports[-1]), flush=True)
    return _report([("export", exports), ("import (verified)", imports)])


def _round(export, import_) -> str:
    def one(name, timed, cp):
        return (
            f"{name} {TOTAL / MIB / timed.seconds:,.0f} MiB/s "
            f"({cp[1] / timed.seconds:.2f}x cp + sync, {timed.cpu:.1f} CPU s)"
        )

    return f"{one('export', *export)}, {one('import', *import_)}"


def _seed(work: Path, env: dict) -> None:
    started = time.perf_counter()
    run(distro("init"), env)
    for args in (
        ("products", "create", "erp", "--name", "ERP"),
        ("orgs", "create", "acme", "--name", "ACME"),
        ("licenses", "grant", "--org", "acme", "--product", "erp", "--version", "8.0")
        + ("--modules", "gl", "--users", "5", "--kind", "perpetual")
        + ("--deployment", "on_premises", "--starts", "2026-01-01"),
    ):
        run(distro(*args), env)
    source = work / "package.bin"
    for n in range(TOTAL // PACKAGE):
        with source.open("wb") as out:
            for _ in range(PACKAGE // MIB):
                out.write(os.urandom(MIB))
        version = f"8.0.{n + 1}"
        run(
            distro("packages", "publish", str(source), "--product", "erp", "--version", version)
            + ["--kind", "patch", "--applies-to", f">=8.0,<{version}"],
            env,
        )
    source.unlink()
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def _public_key(env: dict) -> str:
    code = (
        "import sys; from distro.app import create_app; app = create_app(); "
        "print(app.test_client().get('/api/v1/keys').get_json()['items'][0]['public_key_pem'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def _cp(files: list[Path], folder: Path, env: dict) -> tuple[float, float]:
    """Seconds of `cp` alone (into the page cache), and of `cp` then `sync` (on disk):
    export and import fsync what they write, so the second is their baseline."""
    copied = run(["cp", *map(str, files), str(folder)], env).seconds
    started = time.perf_counter()
    os.sync()
    synced = copied + time.perf_counter() - started
    shutil.rmtree(folder)
    return copied, synced


def _fresh(folder: Path) -> Path:
    folder.mkdir()
    return folder


def _report(rows) -> int:
    """Per step, the median of its rounds: the ratio of each round is against the `cp`
    measured just before it, since the disk's speed wanders from minute to minute."""
    print(
        "\n| step | ours MiB/s | cp + sync MiB/s | ours / (cp + sync) | cp alone MiB/s "
        "| ours / cp alone | target ≥ 0.5x | CPU s | peak RSS MiB | RSS ≤ 256 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for name, rounds in rows:
        ours = statistics.median(TOTAL / MIB / timed.seconds for timed, _cp in rounds)
        durable = statistics.median(TOTAL / MIB / synced for _t, (_c, synced) in rounds)
        alone = statistics.median(TOTAL / MIB / cached for _t, (cached, _s) in rounds)
        ratio = statistics.median(synced / timed.seconds for timed, (_c, synced) in rounds)
        ratio_alone = statistics.median(cached / timed.seconds for timed, (cached, _s) in rounds)
        cpu = statistics.median(timed.cpu for timed, _cp in rounds)
        rss = max(timed.rss_mib for timed, _cp in rounds)
        good = ratio >= 0.5 and rss <= RSS_LIMIT_MIB
        ok = ok and good
        print(
            f"| {name} | {ours:,.0f} | {durable:,.0f} | {ratio:.2f}x | {alone:,.0f} "
            f"| {ratio_alone:.2f}x | {'yes' if ratio >= 0.5 else 'NO'} | {cpu:.1f} | {rss:,.0f} "
            f"| {'yes' if rss <= RSS_LIMIT_MIB else 'NO'} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
