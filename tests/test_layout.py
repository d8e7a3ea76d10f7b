"""The package tree is the architecture: features in packages, each one installable,
no import circles, and an installer client that stays free of Flask."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
DISTRO = ROOT / "distro"


def test_every_folder_with_code_is_a_package_that_pip_installs():
    with_code = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in DISTRO.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    installed = set(find_packages(str(ROOT), include=["distro*"]))
    assert with_code - {"distro.migrations.versions"} <= installed


def test_the_top_of_the_tree_is_a_table_of_contents():
    modules = sorted(p.name for p in DISTRO.glob("*.py"))
    assert modules == ["__init__.py", "app.py"]


def test_the_installer_client_imports_without_flask_or_a_database():
    probe = "import sys, distro.client; print(sorted({'flask', 'sqlalchemy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("distro"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_imports_itself_back_through_another():
    modules = {}
    for path in DISTRO.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph = {name: _top_level_imports(path) & set(modules) for name, path in modules.items()}
    for name in graph:
        graph[name].discard(name)

    def reaches(start: str, goal: str, seen: set) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and not seen.add(nxt) and reaches(nxt, goal, seen)):
                return True
        return False

    circles = [name for name in graph if reaches(name, name, set())]
    assert circles == []


# Style habit 17, from the bottom up; a module imports from its own layer or below only.
# (The same table as ../shared/tools/layers.py, so that CI checks it on a bare clone.)
LAYERS = [
    {"core", "migrations"},
    {"storage", "signing", "audit", "api"},
    {"accounts"},
    {"patches", "licenses", "tuf"},
    {"installations", "deltas"},  # deltas: built by the worker from the catalogue
    {"bundles"},  # carries what installations and everything below hold
    {"mirror"},  # a site's own store of bundles
    {"mail", "web", "ops", "client", "cli", "app", "__init__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def test_every_import_points_to_its_own_layer_or_below():
    upward = []
    for path in sorted(DISTRO.rglob("*.py")):
        own = path.relative_to(DISTRO).parts[0].removesuffix(".py")
        if own == "migrations":
            continue  # migrations read the models of every layer
        assert own in RANK, f"{own} has no layer in tests/test_layout.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("distro."):
                target = node.module.split(".")[1]
                if RANK.get(target, -1) > RANK[own]:
                    upward.append(f"{path.relative_to(ROOT)} -> distro.{target}")
    assert upward == []
