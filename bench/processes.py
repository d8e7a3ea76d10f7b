"""Commands timed in their own process, from a cold page cache: wall seconds, peak RSS and
CPU seconds from the kernel (`wait4`). bench/bundles.py and bench/delta.py use them."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


def settle() -> None:
    """Write everything back and, where allowed (root), empty the page cache: each step
    then starts from the disk, not from what the step before left dirty or cached."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


class Timed(NamedTuple):
    seconds: float
    rss_mib: float
    cpu: float  # user + system seconds
    output: str


def run(args: list[str], env: dict, cwd: Path = ROOT) -> Timed:
    """One command in its own process, timed, with its peak RSS and CPU seconds."""
    settle()
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return Timed(took, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, output)
