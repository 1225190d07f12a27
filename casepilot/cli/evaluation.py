"""``casepilot eval``: the gold datasets scored through ``evals.cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from casepilot.cli.common import _need_index, err
from casepilot.settings import get_settings


def eval_(
    dataset: Optional[list[str]] = typer.Option(None, "--dataset", help="Dataset name or path (repeatable); all by default."),
    llm: Optional[str] = typer.Option(None, "--llm", help="Add LLM-judge metrics with this model, e.g. openai:gpt-4.1-mini."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="An earlier run directory (runs/<timestamp>) to compare with."),
    subset: Optional[str] = typer.Option(None, "--subset", help="Only items with this tag, e.g. ci."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many items."),
    out: Path = typer.Option(Path("runs"), "--out", help="Where run folders go."),
    thresholds: str = typer.Option("full", "--thresholds", help="Table of evals/thresholds.toml to enforce: full or ci."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also run the naive RAG baseline."),
) -> None:
    """Score answers on the gold datasets, offline, against the naive RAG baseline.

    Writes runs/<timestamp>/ (results.jsonl, summary.json, report.md, report.html) and exits 1 when a
    metric misses evals/thresholds.toml. Examples:

      casepilot eval

      casepilot eval --dataset guidelines --compare runs/20260101-120000
    """
    settings = get_settings()
    _need_index(settings)
    from evals.cli import eval_command

    raise typer.Exit(eval_command(datasets=dataset, llm=llm, compare=compare, subset=subset, limit=limit, out_dir=out,
                                  thresholds=thresholds, baseline=baseline, settings=settings, console=err))
