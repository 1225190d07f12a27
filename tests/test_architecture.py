"""The import rules of ARCHITECTURE.md ("Folders and what each may import"), read with ``ast``.

Every import counts, including one inside a function: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT = ("casepilot", "api", "ingest", "evals", "tests")


def _imports(path: Path) -> set[str]:
    """Full dotted names of the absolute imports of one file (relative ones stay inside its package)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _files(folder: str, exclude: tuple[str, ...] = ()) -> list[Path]:
    """The .py files under ``folder``, less those under any folder named in ``exclude``."""
    return [p for p in sorted((REPO / folder).rglob("*.py"))
            if "__pycache__" not in p.parts
            and not any((REPO / e) in p.parents for e in exclude)]


# (files, forbidden import prefixes, why)
RULES = [
    (_files("casepilot", exclude=("casepilot/cli",)), ("api", "ingest", "evals", "tests"),
     "the core serves the API, ingest and evals; it never calls them"),
    (_files("casepilot/cli"), ("api", "tests"),
     "the CLI runs ingest and evals commands; it starts the API by name ('api.app:create_app')"),
    (_files("api"), ("ingest", "evals", "tests"), "the API answers from the core only"),
    (_files("ingest"), ("api", "evals", "tests"), "ingest writes what the core reads, and nothing else"),
    (_files("evals"), ("api", "tests"), "evals measure the core (and read the corpus through ingest)"),
    (_files("casepilot/answer"), ("casepilot.engine", "casepilot.cli"),
     "the engine composes the answerers, never the other way round"),
]


@pytest.mark.parametrize("files, forbidden, why", RULES, ids=[
    "core", "cli", "api", "ingest", "evals", "answer"])
def test_import_rules(files, forbidden, why):
    assert files
    broken = []
    for path in files:
        for name in sorted(_imports(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                broken.append(f"{path.relative_to(REPO)} imports {name}")
    assert not broken, f"{why}:\n  " + "\n  ".join(broken)


def test_every_package_folder_has_a_rule():
    """A new top-level package needs a line in ARCHITECTURE.md and a rule here."""
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages <= set(PROJECT), packages - set(PROJECT)
