"""``casepilot ingest`` (both stages, and user files with ``--source``) and ``casepilot status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from casepilot.cli.common import E, ExitCode, _fail, console, err
from casepilot.cli.progress import _reporter
from casepilot.settings import get_settings


def ingest(
    source: Optional[str] = typer.Option(None, "--source", help="Kind of user file: hcpcs, ncci-ptp, mue, pfs, mcd, cpt, docs."),
    path: Optional[Path] = typer.Argument(None, help="The file or folder for --source."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Re-write every passage (embeddings still come from the "
                                 "cache); vectors made by another CASEPILOT_EMBED_BACKEND are made again."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    lexical_only: bool = typer.Option(False, "--lexical-only",
                                      help="Stage 1: code store, notes and BM25 only (no model, about a minute); "
                                      "the vectors follow with --dense-only or `casepilot serve`."),
    dense_only: bool = typer.Option(False, "--dense-only",
                                    help="Stage 2: embed what has no vector yet, in batches; resumes after a kill."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, hidden=True, help="Passages per dense batch."),
    max_batches: Optional[int] = typer.Option(None, "--max-batches", min=1, hidden=True,
                                              help="Stop after this many dense batches (a later run resumes)."),
    nice: int = typer.Option(0, "--nice", min=0, max=19, hidden=True, help="Lower this process's CPU priority."),
) -> None:
    """Build or refresh the index: ICD-10-CM, ICD-10-PCS and the corpus by default.

    Running it again with nothing changed embeds nothing. Progress goes to stderr: bars on a terminal,
    plain lines otherwise. Examples:

      casepilot ingest

      casepilot ingest --lexical-only      (lookups and lexical search now; `casepilot serve` adds the vectors)

      casepilot ingest --dense-only        (the vectors, resumable)

      casepilot ingest --source hcpcs HCPC2026_JAN_ANWEB.xlsx
    """
    settings = get_settings()
    from casepilot.vectorstore import VectorStoreUnavailable
    from ingest.pipeline import IngestBusy, default_sources, run_ingest

    if nice:
        import os

        os.nice(nice)
    if lexical_only and dense_only:
        _fail("--lexical-only and --dense-only are the two halves of one ingest: pick one (or neither for both)",
              ExitCode.BAD_INPUT)
    reporter = _reporter()
    if dense_only:
        if source or path is not None or rebuild:
            _fail("--dense-only builds the vectors of what is already ingested: it takes no --source, PATH or --rebuild",
                  ExitCode.BAD_INPUT)
        _ingest_dense(settings, reporter, batch_size, max_batches, as_json)
        return
    if source:
        if path is None:
            _fail("--source needs a PATH")
        from ingest.registry import TABLE_KINDS, load_table_for, source_for

        if source in TABLE_KINDS:
            try:
                result = load_table_for(source, path, settings, reporter=reporter)
            except IngestBusy as e:
                _fail(str(e), ExitCode.BUSY)
            except ImportError as e:
                _fail(f"{e.name} is needed for this file: pip install 'casepilot[files]'", ExitCode.BAD_INPUT)
            except ValueError as e:  # a bad file: nothing already loaded was changed
                _fail(str(e), ExitCode.FAILED)
            print(json.dumps(result.to_dict(), indent=2) if as_json else result.summary())
            return
        try:
            sources = [source_for(source, path, settings)]
        except ValueError as e:
            _fail(str(e), ExitCode.BAD_INPUT)
    else:
        sources = default_sources(settings)
    try:
        summary = run_ingest(settings, sources, reporter=reporter, rebuild=rebuild, dense=not lexical_only)
    except IngestBusy as e:
        _fail(str(e), ExitCode.BUSY)
    except VectorStoreUnavailable as e:
        _fail(str(e), ExitCode.CHROMA_DOWN)
    except ImportError as e:
        _fail(f"{e.name} is needed for this file: pip install 'casepilot[files]'", ExitCode.BAD_INPUT)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        s = summary
        console.print(
            f"[bold]records[/] {s.records}  [bold]passages[/] {s.passages}  [green]added[/] {s.added}  "
            f"[yellow]updated[/] {s.updated}  [red]deleted[/] {s.deleted}  skipped {s.skipped}  "
            f"embedded {s.embedded}  in {s.seconds:.1f} s"
        )
        for name, state in s.sources.items():
            console.print(f"  {E(name)}: {E(state)}")
        if s.added == s.updated == s.deleted == 0 and s.ok:
            console.print("Nothing changed: the index is up to date.")
        if s.pending_vectors:
            console.print(f"Lookups and lexical search are ready. Vectors: {s.pending_vectors:,} passages pending; "
                          "`casepilot serve` builds them in the background (or run `casepilot ingest --dense-only`).")
    for p in summary.problems:
        err.print(f"[bold red]problem:[/] {E(p)}")
    if summary.problems:
        raise typer.Exit(ExitCode.FAILED)


def _ingest_dense(settings, reporter, batch_size: int, max_batches: int | None, as_json: bool) -> None:
    """``casepilot ingest --dense-only``: SIGTERM or Ctrl-C stops it after the batch in hand (a second
    Ctrl-C at once); the next run resumes."""
    import signal
    import threading

    from casepilot.vectorstore import VectorStoreUnavailable
    from ingest.pipeline import IngestBusy, run_dense

    stop = threading.Event()
    previous = {}

    def on_signal(signum, frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        err.print("stopping after the current batch (run `casepilot ingest --dense-only` again to resume)")

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        summary = run_dense(settings, reporter=reporter, batch_size=batch_size, max_batches=max_batches,
                            stop=stop.is_set)
    except IngestBusy as e:
        _fail(str(e), ExitCode.BUSY)
    except VectorStoreUnavailable as e:
        _fail(str(e), ExitCode.CHROMA_DOWN)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        s = summary
        state = "complete" if s.complete else ("stopped; run again to resume" if s.stopped else "incomplete")
        console.print(f"vectors {s.done:,}/{s.total:,} ({state})  [bold]upserted[/] {s.upserted:,}  "
                      f"embedded {s.embedded:,}  removed {s.deleted:,}  in {s.seconds:.1f} s")
    for p in summary.problems:
        err.print(f"[bold red]problem:[/] {E(p)}")
    if summary.problems and not summary.complete:
        raise typer.Exit(ExitCode.FAILED)


def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """What is loaded: code sets with versions and counts, collections, settings in force. Examples:

      casepilot status

      casepilot status --json      (the same as JSON, for scripts)
    """
    settings = get_settings()
    from casepilot.status import collect_status

    info = collect_status(settings)
    if as_json:
        print(json.dumps(info, indent=2))
        return
    console.print(f"[bold]Data directory[/] {E(info['data_dir'])}  ·  Chroma: {E(info['chroma'])}")
    if not info["sources"]:
        console.print("Nothing ingested yet: run `casepilot ingest`.")
    for s in info["sources"]:
        console.print(f"[bold]{E(s['name'])}[/]: {E(s['version'] or '-')} · {E(s['records'])} records · "
                      f"loaded {E(s['loaded_at'])}")
        if s["note"]:
            console.print(f"   [dim]{E(s['note'])}[/]")
    from casepilot.status import format_eta

    vec = info.get("vectors") or {}
    if info["sources"]:
        stage = {"full": "full (exact lookups, BM25 and dense vectors)",
                 "lexical": "lexical (exact lookups and BM25; dense vectors incomplete)"}.get(info["stage"], info["stage"])
        console.print(f"[bold]Stage[/] {E(stage)}")
        if not info["full"]:
            build = vec.get("build", "")
            how = {"running": f"building (pid {vec.get('pid')}, {vec.get('rate') or 0:,.0f}/s, "
                              f"ETA {format_eta(vec.get('eta_s'))})",
                   "pending": "not started: `casepilot serve` builds them, or `casepilot ingest --dense-only`",
                   "stopped": "stopped: `casepilot serve` or `casepilot ingest --dense-only` resumes",
                   "failed": f"failed: {vec.get('message') or 'see dense-build.log'}"}.get(build, build)
            console.print(f"  vectors {vec.get('done') or 0:,}/{vec.get('total') or 0:,} "
                          f"({100 * (vec.get('fraction') or 0):.0f}%): {E(how)}")
    per = vec.get("collections") or {}
    for c, n in info["collections"].items():
        p = per.get(c)
        if c in info.get("lexical_only", ()):
            console.print(f"  collection {E(c)}: {n} passages, lexical only (no vectors: CASEPILOT_LEXICAL_ONLY)")
            continue
        if p is None or p["done"] >= p["total"]:
            console.print(f"  collection {E(c)}: {n} passages")
            continue
        extra = (f", {p['rate']:,.0f}/s" if p.get("rate") else "") + \
            (f", ETA {format_eta(p['eta_s'])}" if p.get("eta_s") else "")
        console.print(f"  collection {E(c)}: {n} passages, vectors {p['done']:,}/{p['total']:,}{E(extra)}")
    for t in info.get("tables", []):
        console.print(E(f"  table {t.get('kind')} {t.get('setting') or ''} {t.get('part') or ''}: version "
                        f"{t.get('version') or '-'}, effective {t.get('effective') or '-'}, {t.get('rows')} rows "
                        f"({t.get('file')})"))
    console.print(f"Answerer: {E(info['answerer'])}")
