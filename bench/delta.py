"""Delta updates (issue 27): our delta against zstd's CLI on the whole file, for real
release pairs fetched from PyPI and a synthetic zip pair of BENCH_DELTA_MB (2048) MiB.

    .venv/bin/python -m bench.delta

For each pair, each step in its own process from a cold page cache (bench/processes.py):
- `zstd --patch-from=BASE NEW -19 --long`: the baseline size (and its time);
- our build (`distro.deltas.build.build_delta`): size, seconds per GiB of the new
  package, peak RSS;
- our apply into a file, fsynced, checked byte for byte, against `cp` of the new package
  then `sync` on the same disk; peak RSS.
Goals: at most the CLI's size; at most 4 % of the new package for a patch-level pair, 15 %
for a minor one; build ≤ 60 s per GiB with RSS ≤ 1 GiB; apply ≤ 2x `cp`, RSS ≤ 512 MiB.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import MIB
from bench.processes import run
from distro.core.checksums import sha256_file

SYNTHETIC = int(os.environ.get("BENCH_DELTA_MB", "2048")) * MIB
CACHE = Path(os.environ.get("BENCH_DELTA_CACHE", Path.home() / ".cache" / "distro-bench"))
# (what, base, new): patch-level and minor-release pairs of large wheels on PyPI.
REAL = [
    ("patch", "django==5.1.3", "django==5.1.4"),
    ("patch", "sympy==1.13.2", "sympy==1.13.3"),
    ("patch", "botocore==1.44.7", "botocore==1.44.8"),
    ("minor", "django==5.0.9", "django==5.1.4"),
]
GIB = 1024 * MIB
BUILD = "import sys; from pathlib import Path; from distro.deltas.build import build_delta; "
BUILD += "build_delta(Path(sys.argv[1]), Path(sys.argv[2]), open(sys.argv[3], 'wb'))"
APPLY = "import os, sys; from distro.deltas.apply import apply_delta; "
APPLY += "base, delta, out = (open(sys.argv[1], 'rb'), open(sys.argv[2], 'rb'), "
APPLY += "open(sys.argv[3], 'wb')); apply_delta(base, delta, out); out.flush(); "
APPLY += "os.fsync(out.fileno())"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="distro-delta-"))
    try:
        rows = [_measure(what, *_wheels(base, new), work) for what, base, new in REAL]
        rows.append(_measure("synthetic", *_synthetic(work), work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _report(rows)


def _wheels(base: str, new: str) -> tuple[Path, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = []
    for spec in (base, new):
        if not _cached(spec):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", CACHE],
                check=True,
            )
        found.append(_cached(spec)[0])
    return found[0], found[1]


def _cached(spec: str) -> list[Path]:
    name, version = spec.split("==")
    return [p for p in CACHE.glob("*.whl") if p.name.lower().startswith(f"{name}-{version}-")]


def _synthetic(work: Path) -> tuple[Path, Path]:
    """Two builds of an installer of about SYNTHETIC bytes: 60 % text-like entries
    (deflated), 40 % binary ones (stored); the new one has a new build date on every
    entry, 2 % of the entries changed (a few lines of text, or a binary rebuilt) and a few
    added. Entries are made as they are written, so the bench holds none of them."""
    rng = random.Random(26)
    corpus = " ".join(rng.choice(_WORDS) for _ in range(3_000_000)).encode()
    specs: dict[str, tuple] = {}  # name -> ("text", corpus offset, edit) or ("bin", seed)
    size = 0
    while size < SYNTHETIC:
        n = len(specs)
        if n % 5 < 3:
            specs[f"erp/modules/m{n}.xml"] = ("text", rng.randrange(len(corpus) - 4 * MIB), None)
            size += MIB  # about what 4 MiB of it deflates to
        else:
            specs[f"erp/bin/b{n}.so"] = ("bin", n)
            size += MIB
    base, new = work / "erp-9.0.1.zip", work / "erp-9.0.2.zip"
    _write_zip(base, specs, corpus, (2026, 1, 1, 0, 0, 0))
    for name in rng.sample(list(specs), len(specs) // 50):
        kind, *fields = specs[name]
        specs[name] = (
            ("text", fields[0], rng.randrange(4 * MIB - 1000))
            if kind == "text"
            else ("bin", -fields[0])
        )
    for n in range(5):
        specs[f"erp/added/a{n}.xml"] = ("text", n * MIB, None)
    _write_zip(new, specs, corpus, (2026, 6, 1, 0, 0, 0))
    return base, new


_WORDS = "ledger posting invoice tax module user period close account journal vat".split()


def _write_zip(path: Path, specs: dict[str, tuple], corpus: bytes, date) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, (kind, *fields) in specs.items():
            info = zipfile.ZipInfo(name, date_time=date)
            if kind == "text":
                at, edit = fields
                data = corpus[at : at + 4 * MIB]
                if edit is not None:
                    data = data[:edit] + b" <fixed/> " + data[edit + 200 :]
                info.compress_type = zipfile.ZIP_DEFLATED
            else:
                data = random.Random(fields[0]).randbytes(MIB)
            archive.writestr(info, data)


def _measure(what: str, base: Path, new: Path, work: Path) -> dict:
    env = dict(os.environ)
    size = new.stat().st_size
    window = max(10, min(31, max(size, base.stat().st_size).bit_length()))
    cli_out = work / "cli.zst"
    cli = run(
        ["zstd", "-q", "-f", f"--patch-from={base}", str(new), "-19", f"--long={window}"]
        + ["-o", str(cli_out)],
        env,
    )
    ours_out, rebuilt = work / "ours.delta", work / "rebuilt"
    build = run([sys.executable, "-c", BUILD, str(base), str(new), str(ours_out)], env)
    apply = run([sys.executable, "-c", APPLY, str(base), str(ours_out), str(rebuilt)], env)
    if sha256_file(rebuilt) != sha256_file(new):
        raise SystemExit(f"{new.name}: the rebuilt package differs")
    copy = run(["sh", "-c", f'cp "{new}" "{work / "copied"}" && sync'], env)
    row = {
        "pair": f"{what}: {base.name} → {new.name}",
        "what": what,
        "new_mib": size / MIB,
        "cli": cli_out.stat().st_size / size,
        "cli_seconds": cli.seconds,
        "ours": ours_out.stat().st_size / size,
        "build_per_gib": build.seconds * GIB / size,
        "build_rss": build.rss_mib,
        "apply_vs_cp": apply.seconds / copy.seconds,
        "apply_rss": apply.rss_mib,
    }
    for done in (cli_out, ours_out, rebuilt, work / "copied"):
        done.unlink()
    print(f"  {row['pair']}: ours {row['ours']:.2%}, zstd CLI {row['cli']:.2%}", flush=True)
    return row


def _report(rows: list[dict]) -> int:
    print(
        "\n| pair | new MiB | zstd CLI | ours | ours / CLI | size goal | build s/GiB "
        "| build RSS MiB | apply / (cp + sync) | apply RSS MiB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for row in rows:
        goal = {"patch": 0.04, "minor": 0.15}.get(row["what"])
        size_ok = row["ours"] <= row["cli"] and (goal is None or row["ours"] <= goal)
        speed_ok = row["build_per_gib"] <= 60 or row["new_mib"] < 64  # small: start-up bound
        memory_ok = row["build_rss"] <= 1024 and row["apply_rss"] <= 512
        apply_ok = row["apply_vs_cp"] <= 2 or row["new_mib"] < 64
        ok = ok and size_ok and speed_ok and memory_ok and apply_ok
        print(
            f"| {row['pair']} | {row['new_mib']:,.1f} | {row['cli']:.2%} | {row['ours']:.2%} "
            f"| {row['ours'] / row['cli']:.2f}x | {'≤ ' + format(goal, '.0%') if goal else '—'} "
            f"{'yes' if size_ok else 'NO'} | {row['build_per_gib']:,.0f} "
            f"| {row['build_rss']:,.0f} | {row['apply_vs_cp']:.2f}x | {row['apply_rss']:,.0f} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
