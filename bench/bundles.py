"""Offline bundles at size (issue 26): export and import of BENCH_BUNDLE_MB (2048) MiB of
packages, against `cp` of the same bytes in the same run.

    .venv/bin/python -m bench.bundles

Packages are published with `distro packages publish` into a local store on SQLite. Then,
each in its own process, timed, with its peak RSS from the kernel (`wait4`):
- `cp` of the packages' stored files to a fresh folder (the baseline of the export);
- `distro bundles export` of the organisation (parts of 512 MiB): every byte read from
  the store, hashed and written once;
- `cp` of the bundle's files to a fresh folder (the baseline of the import);
- `distro mirror import` into an empty mirror: every part hashed as it streams, every
  package hashed against the signed manifest, written into the mirror's store.
Targets: export and import at least 0.5x the speed of `cp`, peak RSS at most 256 MiB.
Before each timing everything is written back and (as root) the page cache dropped, so
both sides of a ratio read from the disk and start with nothing dirty; the baseline is
`cp` then `sync`, since export and import fsync what they write (`cp` alone is shown
too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MIB

ROOT = Path(__file__).resolve().parents[1]
TOTAL = int(os.environ.get("BENCH_BUNDLE_MB", "2048")) * MIB
PACKAGE = 256 * MIB
RSS_LIMIT_MIB = 256


def settle() -> None:
    """Write everything back and, where allowed (root), empty the page cache: each step
    then starts from the disk, not from what the step before left dirty or cached."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


def run(args: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB, standard output) of one command in its own process."""
    settle()
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return took, usage.ru_maxrss / 1024, output


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
        f"== bundles: {TOTAL // MIB:,} MiB of packages in {TOTAL // PACKAGE} packages", flush=True
    )
    _seed(work, env)
    blobs = sorted((work / "objects" / "blobs").rglob("*"))
    blobs = [p for p in blobs if p.is_file()]
    rows = []
    cp_export = _cp(blobs, _fresh(work / "cp-packages"), env)
    stick = work / "stick"
    took, rss, _ = run(
        distro("bundles", "export", "--org", "acme", "--out", str(stick), "--part-mib", "512"),
        env,
    )
    rows.append(("export", took, cp_export, rss))
    files = sorted(stick.iterdir())
    cp_import = _cp(files, _fresh(work / "cp-stick"), env)
    site = work / "site"
    key = work / "vendor.pem"
    key.write_text(_public_key(env))
    site_env = {k: v for k, v in env.items() if not k.startswith("DISTRO_")}
    run(distro("mirror", "init", "--dir", str(site), "--vendor-key", str(key)), site_env)
    took, rss, _ = run(distro("mirror", "import", str(stick), "--dir", str(site)), site_env)
    rows.append(("import (verified)", took, cp_import, rss))
    return _report(rows)


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
    copied, _rss, _ = run(["cp", *map(str, files), str(folder)], env)
    started = time.perf_counter()
    os.sync()
    return copied, copied + time.perf_counter() - started


def _fresh(folder: Path) -> Path:
    folder.mkdir()
    return folder


def _report(rows) -> int:
    print(
        "\n| step | ours MiB/s | cp + sync MiB/s | ours / (cp + sync) | cp alone MiB/s "
        "| ours / cp alone | target ≥ 0.5x | peak RSS MiB | RSS ≤ 256 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for name, took, (cached, synced), rss in rows:
        ours = TOTAL / MIB / took
        durable, alone = TOTAL / MIB / synced, TOTAL / MIB / cached
        good = ours / durable >= 0.5 and rss <= RSS_LIMIT_MIB
        ok = ok and good
        print(
            f"| {name} | {ours:,.0f} | {durable:,.0f} | {ours / durable:.2f}x | {alone:,.0f} "
            f"| {ours / alone:.2f}x | {'yes' if ours / durable >= 0.5 else 'NO'} | {rss:,.0f} "
            f"| {'yes' if rss <= RSS_LIMIT_MIB else 'NO'} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
