"""Gold datasets: JSONL files of eval items under ``evals/datasets/``, validated on load.

>>> items = load_items()          # every dataset
>>> ci = select(items, tag="ci")  # the fast subset the CI regression test runs
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
# Sources an item may need beyond the default index; items whose sources are not loaded are skipped.
OPTIONAL_SOURCES = ("hcpcs", "ncci-ptp", "mue", "pfs", "cpt", "mcd")


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str


class EvalItem(BaseModel):
    """One question with what a correct answer must contain."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.:-]*$")
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    intent: str  # the router intent expected (code_lookup, description_to_code, guideline, pair_check, units, ...)
    category: str  # dataset grouping used in reports
    expected_codes: list[str] = Field(default_factory=list)  # any of them counts; the first is the preferred one
    expected_facts: list[list[str]] = Field(default_factory=list)  # groups of acceptable phrasings
    expected_evidence: list[str] = Field(default_factory=list)  # passage ids
    answerable: bool = True
    requires: list[str] = Field(default_factory=list)  # optional sources: hcpcs, ncci-ptp, mue, pfs, cpt, mcd
    tags: list[str] = Field(default_factory=list)
    note: str = ""

    @field_validator("expected_facts")
    @classmethod
    def _groups_not_empty(cls, v: list[list[str]]) -> list[list[str]]:
        if any(not g or any(not p.strip() for p in g) for g in v):
            raise ValueError("every fact group needs at least one non-empty phrasing")
        return v

    @field_validator("requires")
    @classmethod
    def _known_sources(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in OPTIONAL_SOURCES]
        if bad:
            raise ValueError(f"unknown sources {bad}; use {', '.join(OPTIONAL_SOURCES)}")
        return v


class DatasetError(ValueError):
    """A dataset file that does not parse or validate; the message names the file and line."""


def dataset_paths(names: Iterable[str] | None = None, root: Path = DATASETS_DIR) -> list[Path]:
    """Dataset files by name (``icd10cm_lookup`` or a path); all of them when ``names`` is empty."""
    names = [n for n in (names or []) if n and n != "all"]
    if not names:
        return sorted(root.glob("*.jsonl"))
    out = []
    for n in names:
        p = Path(n)
        if not p.exists():
            p = root / (n if n.endswith(".jsonl") else f"{n}.jsonl")
        if not p.exists():
            known = ", ".join(q.stem for q in sorted(root.glob("*.jsonl")))
            raise DatasetError(f"no dataset {n!r} (known: {known})")
        out.append(p)
    return out


def load_file(path: Path) -> list[EvalItem]:
    items = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(EvalItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as e:
            raise DatasetError(f"{path.name}:{i}: {e}") from e
    return items


def load_items(names: Iterable[str] | None = None, root: Path = DATASETS_DIR) -> list[EvalItem]:
    """Every item of the named datasets, ids checked unique across files."""
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for path in dataset_paths(names, root):
        for it in load_file(path):
            if it.id in seen:
                raise DatasetError(f"{path.name}: duplicate id {it.id!r} (also in {seen[it.id]})")
            seen[it.id] = path.name
            items.append(it)
    return items


def select(items: list[EvalItem], tag: str | None = None, limit: int | None = None) -> list[EvalItem]:
    """Items carrying ``tag`` (all when None), at most ``limit``."""
    out = [it for it in items if tag is None or tag in it.tags]
    return out[:limit] if limit else out


def write_items(path: Path, items: Iterable[EvalItem | dict]) -> int:
    """Write items as JSONL (stable key order), validating each; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for it in items:
            item = it if isinstance(it, EvalItem) else EvalItem.model_validate(it)
            f.write(json.dumps(item.model_dump(exclude_defaults=True), ensure_ascii=False) + "\n")
            n += 1
    return n
