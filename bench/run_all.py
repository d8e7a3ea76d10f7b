"""Run every benchmark and print one table of ratios to same-run baselines.

bash scripts/bench.sh              every benchmark (or: .venv/bin/python -m bench.run_all)
bash scripts/bench.sh --only slow  some of them

Each benchmark runs in a fresh interpreter: the clients live in the benchmark's own
process, and what one benchmark leaves behind (threads, a large heap, open pools)
must not slow the next one's client down.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

from bench.common import print_rows, save

BENCHMARKS = ("transfer", "api", "licenses", "slow")


def run_one(name: str) -> None:
    rows = importlib.import_module(f"bench.{name}").main()
    save(name, rows)
    print_rows(rows)


def main(names: tuple[str, ...] = BENCHMARKS) -> int:
    print(f"{'figure':<52} {'ours':>12} {'baseline':>12} {'unit':<10} {'ratio':>6}  note")
    failed = []
    for name in names:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bench.run_all", name])
        if done.returncode != 0:
            failed.append(name)
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        print(f"error: {', '.join(failed)} failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--only":
        sys.exit(main(tuple(sys.argv[2:])))
    if len(sys.argv) > 1:
        run_one(sys.argv[1])
    else:
        sys.exit(main())
