"""``casepilot eval``: run the gold datasets offline, write runs/<timestamp>/, enforce thresholds."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


def load_thresholds(name: str, path: Path = THRESHOLDS) -> dict:
    """One table of thresholds.toml (``full`` or ``ci``): ``{"min": {...}, "max": {...}}``."""
    data = tomllib.loads(path.read_text())
    if name not in data:
        raise ValueError(f"no [{name}] table in {path.name} (have: {', '.join(data)})")
    return data[name]


def build_systems(settings, llm_answerer=None, with_baseline: bool = True, embedder=None):
    """The engine and the baseline sharing one embedding model (loaded once)."""
    from casepilot.embeddings import MiniLMEmbeddings, default_export_dir
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import Retriever
    from evals.baseline import NaiveRAG

    # each collection is still queried with the model and backend that made its vectors (embedder_for)
    embedder = embedder or MiniLMEmbeddings(settings.embed_model, settings.embed_batch_size, settings.embed_backend,
                                            default_export_dir(settings.data_dir))
    engine = ChatEngine(settings, retriever=Retriever(settings, embedder=embedder), llm=llm_answerer)
    baseline = NaiveRAG(settings, embedder, engine.store) if with_baseline else None
    return engine, baseline


def eval_command(
    *,
    datasets: list[str] | None = None,
    llm: str | None = None,
    compare: Path | None = None,
    subset: str | None = None,
    limit: int | None = None,
    out_dir: Path = Path("runs"),
    thresholds: str = "full",
    baseline: bool = True,
    settings=None,
    console=None,
) -> int:
    """Run the evals; returns the exit status (0 ok, 1 a threshold missed, 2 bad input)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from casepilot.settings import get_settings
    from evals.datasets import DatasetError, load_items, select
    from evals.report import load_run, write_run
    from evals.runner import Runner, check_thresholds, loaded_sources, summarize

    console = console or Console(stderr=True)
    settings = settings or get_settings()
    try:
        items = select(load_items(datasets), subset, limit)
        table = load_thresholds(thresholds)
        previous = load_run(Path(compare))[0] if compare else None
    except (DatasetError, ValueError, FileNotFoundError) as e:
        console.print(f"[bold red]error:[/] {e}")
        return 2
    if not items:
        console.print("[bold red]error:[/] no items selected")
        return 2
    judge = None
    if llm:
        from evals.judge import LLMJudge

        judge = LLMJudge.from_string(llm, settings.llm_base_url, settings.llm_api_key)
    engine, base = build_systems(settings, with_baseline=baseline)
    engine.retriever.warm()
    runner = Runner(engine, base, passages=engine.passages, judge=judge, loaded=loaded_sources(settings))
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S")
    with Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console) as progress:
        task = progress.add_task("", total=len(items))
        results = runner.run(items, lambda it: progress.update(task, advance=1, description=it.id))
    meta = {"run": run_id, "datasets": ", ".join(datasets or ["all"]), "subset": subset, "data_dir": str(settings.data_dir),
            "answerer": "grounded", "judge": llm, "thresholds": thresholds,
            "compare": str(compare) if compare else None}
    summary = summarize(results, meta)
    fails = check_thresholds(summary, table)
    if thresholds == "full":
        fails += check_thresholds(summary, load_thresholds("heldout"), split="heldout")
    summary["meta"]["threshold_failures"] = fails
    paths = write_run(out_dir / run_id, results, summary, previous)
    # The held-out split is reported beside the tuning split, never alone and never blended away.
    for split, systems in summary["splits"].items():
        for name, s in systems.items():
            console.print(f"[bold]{name}[/] [{split}, {s['items']} items]: accuracy {s['accuracy']}  "
                          f"code top-1 {s['code_top1']}  fact recall {s['fact_recall']}  hit@4 {s['hit@4']}  "
                          f"hallucinated codes {s['hallucinated_code_rate']}  refusal P/R {s['refusal_precision']}/"
                          f"{s['refusal_recall']}  p50/p95 {s['p50_ms']}/{s['p95_ms']} ms")
    if summary["skipped"]:
        console.print(f"[dim]{len(summary['skipped'])} item(s) skipped: sources not loaded (see the report)[/]")
    console.print(f"Report: {paths['html']}  ({paths['markdown']})")
    for f in fails:
        console.print(f"[bold red]threshold:[/] {f}")
    return 1 if fails else 0
