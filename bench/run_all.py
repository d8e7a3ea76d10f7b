"""Run every benchmark and print one table of ratios to same-run baselines.

bash scripts/bench.sh       (or: .venv/bin/python -m bench.run_all)
"""

from __future__ import annotations

import time

from . import api, licenses, transfer
from .common import print_rows, save


def main() -> None:
    print(f"{'figure':<52} {'ours':>12} {'baseline':>12} {'unit':<10} {'ratio':>6}  note")
    for name, module in (("transfer", transfer), ("api", api), ("licenses", licenses)):
        start = time.perf_counter()
        rows = module.main()
        save(name, rows)
        print_rows(rows)
        print(f"  ({name}: {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
