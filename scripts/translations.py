"""Refresh the Chinese catalogue: extract messages, keep existing translations, compile.

    .venv/bin/python scripts/translations.py
Untranslated messages are listed; tests/web/test_i18n.py fails while any remain.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "distro/web/translations/zh/LC_MESSAGES/messages.po"


def extract(pot: Path) -> None:
    """Write the message template of distro's code and templates to `pot`."""
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    subprocess.run(
        [pybabel, "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-o", str(pot), "."],
        check=True,
        cwd=ROOT,
    )


def main() -> int:
    pot = ROOT / "build" / "messages.pot"
    pot.parent.mkdir(exist_ok=True)
    extract(pot)
    old = read_po(PO.open("rb"), locale="zh") if PO.exists() else None
    catalog = read_po(pot.open("rb"), locale="zh")
    catalog.fuzzy = False
    missing = []
    for message in catalog:
        if not message.id:
            continue
        previous = old.get(message.id) if old else None
        if previous and previous.string:
            message.string = previous.string
        else:
            missing.append(message.id)
    with PO.open("wb") as out:
        write_po(out, catalog, omit_header=False, width=100)
    with PO.with_suffix(".mo").open("wb") as out:
        write_mo(out, catalog)
    for message_id in missing:
        print(f"untranslated: {message_id}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
