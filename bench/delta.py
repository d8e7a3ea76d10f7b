"""Delta updates (issue 27): our delta against zstd's CLI on the whole file, for real
release pairs fetched from PyPI and a synthetic zip pair of BENCH_DELTA_MB (2048) MiB.

    .venv/bin/python -m bench.delta

For each pair, each step in its own process from a cold page cache (bench/processes.py):
- `zstd --patch-from=BASE NEW -19 --long`: the baseline size (and its time);
- our build (`distro.deltas.build.build_delta`): size, seconds per GiB of the new
  package, peak RSS;
- our apply into a file, fsynced, checked byte for byte, against `cp` of the new package
  then `sync` on the same disk (each the median of ROUNDS runs); peak RSS.
Then fault runs on the synthetic pair, through the client's own rebuild step
(`distro.client.deltas.rebuild`: a temporary file, renamed only once it verifies): a
damaged base, truncated deltas, and SIGKILLs part-way through, each rerun; every one must
end with either no file or the byte-exact package under the final name.
Goals: at most the CLI's size; at most 4 % of the new package for a patch-level pair, 15 %
for a minor one; build ≤ 60 s per GiB with RSS ≤ 1 GiB; apply ≤ 2x `cp`, RSS ≤ 512 MiB.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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
# The client's rebuild step: BASE DELTA FINAL LENGTH SHA256; exit 3 where it refuses.
REBUILD = "import sys; from pathlib import Path; from tuf.api.metadata import TargetFile; "
REBUILD += "from distro.client.deltas import rebuild; from distro.deltas.format import "
REBUILD += "DeltaInvalid; b, d, f, n, h = sys.argv[1:6]; t = TargetFile(int(n), {'sha256': h}"
REBUILD += ", f)\ntry: rebuild(Path(b), Path(d), Path(f), t)\nexcept DeltaInvalid as e: "
REBUILD += "print(e); sys.exit(3)"
ROUNDS = 3


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="distro-delta-"))
    try:
        rows = [_measure(what, *_wheels(base, new), work) for what, base, new in REAL]
        base, new = _synthetic(work)
        rows.append(_measure("synthetic", base, new, work))
        faults = _faults(base, new, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _report(rows) | _report_faults(faults)


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
    apply = _median([sys.executable, "-c", APPLY, str(base), str(ours_out), str(rebuilt)], env)
    if sha256_file(rebuilt) != sha256_file(new):
        raise SystemExit(f"{new.name}: the rebuilt package differs")
    copy = _median(["sh", "-c", f'cp "{new}" "{work / "copied"}" && sync'], env)
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
    for done in (cli_out, rebuilt, work / "copied"):
        done.unlink()
    ours_out.rename(work / f"{what}.delta")  # the fault runs take the synthetic one
    print(f"  {row['pair']}: ours {row['ours']:.2%}, zstd CLI {row['cli']:.2%}", flush=True)
    return row


def _median(args: list[str], env: dict):
    """The run of median time of ROUNDS: a shared disk's speed drifts from run to run."""
    runs = sorted((run(args, env) for _ in range(ROUNDS)), key=lambda timed: timed.seconds)
    return runs[len(runs) // 2]


def _faults(base: Path, new: Path, work: Path) -> list[tuple[str, str, bool]]:
    """(fault, what happened, ended well) for each fault run; ended well means the final
    name holds nothing after a refused run, and the byte-exact package after the rerun."""
    delta, final = work / "synthetic.delta", work / "erp-9.0.2.zip"
    target = [str(new.stat().st_size), sha256_file(new)]
    expected = target[1]

    def rebuild(delta_file: Path, kill_after: float | None = None) -> int:
        args = [sys.executable, "-c", REBUILD, str(base), str(delta_file), str(final), *target]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        if kill_after is not None:
            time.sleep(kill_after)
            process.send_signal(signal.SIGKILL)
        return process.wait()

    def ends_well(exit_code: int) -> tuple[str, bool]:
        """After the faulted run the final name holds nothing or the exact package (a
        kill that came after the rename), and a rerun ends with the exact package."""
        held = "nothing" if not final.exists() else "a WRONG file"
        if held != "nothing" and sha256_file(final) == expected:
            held = "the exact package"
        final.unlink(missing_ok=True)
        exact = rebuild(delta) == 0 and sha256_file(final) == expected
        final.unlink(missing_ok=True)
        happened = f"exit {exit_code}, final name held {held}; rerun "
        return happened + ("byte-exact" if exact else "WRONG"), "WRONG" not in held and exact

    results = []
    started = time.perf_counter()
    if rebuild(delta) != 0 or sha256_file(final) != expected:
        raise SystemExit("the synthetic delta does not rebuild through the client")
    took = time.perf_counter() - started
    final.unlink()
    with base.open("r+b") as file:  # a damaged base: one byte in the middle, put back after
        middle = base.stat().st_size // 2
        file.seek(middle)
        byte = file.read(1)
        file.seek(middle)
        file.write(bytes([byte[0] ^ 0xFF]))
        file.flush()
        refused = rebuild(delta)
        file.seek(middle)
        file.write(byte)
    results.append(("damaged base", *ends_well(refused)))
    cut = work / "cut.delta"
    data = delta.read_bytes()
    for share in (0.1, 0.5, 0.999):
        cut.write_bytes(data[: int(len(data) * share)])
        results.append((f"delta cut at {share:.1%}", *ends_well(rebuild(cut))))
    for share in (0.15, 0.35, 0.55):  # of a first, colder run: later ones go faster
        killed = rebuild(delta, kill_after=took * share)
        results.append((f"SIGKILL at {share:.0%} of a rebuild", *ends_well(killed)))
    return results


def _report_faults(faults: list[tuple[str, str, bool]]) -> int:
    print("\n| fault run (synthetic pair) | what happened | ends well |")
    print("| --- | --- | --- |")
    for fault, happened, well in faults:
        print(f"| {fault} | {happened} | {'yes' if well else 'NO'} |")
    return 0 if all(well for _fault, _happened, well in faults) else 1


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
