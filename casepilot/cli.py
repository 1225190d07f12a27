"""The ``casepilot`` command: ingest, lookup, search, ask, status, serve.

Heavy parts (the model, Chroma, the ingest pipeline) are imported inside the commands that need
them, so ``casepilot lookup`` answers in a blink.
"""

from __future__ import annotations

import contextlib
import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape as _escape

from casepilot.settings import get_settings

app = typer.Typer(
    help="CasePilot: cited answers to medical coding questions (ICD-10-CM, ICD-10-PCS, CPT/HCPCS summaries, "
    "modifiers, guidelines), offline.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def E(value) -> str:
    """A value (a title, a file name, a message, a path: anything not written here) as Rich text, never
    markup: ``[/]`` or ``[bold]`` in a cell prints as itself instead of failing or styling the line."""
    return _escape("" if value is None else str(value))


class ExitCode(IntEnum):
    """The exit statuses the README documents."""

    OK = 0
    FAILED = 1  # something failed; the message names the file and the problem
    BAD_INPUT = 2  # bad input, or no index yet
    BUSY = 3  # another ingest is running
    CHROMA_DOWN = 4  # the Chroma server is unreachable


def _fail(message: str, code: int = ExitCode.FAILED) -> None:
    err.print(f"[bold red]error:[/] {E(message)}", soft_wrap=True)  # one line, even in a narrow terminal or a log
    raise typer.Exit(code)


def _settings():
    """The settings, or a one-line error naming the variable (exit 2): never a traceback for a bad value."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = str(e["msg"]).removeprefix("Value error, ")
            var = "CASEPILOT_" + "_".join(str(p) for p in e["loc"]).upper() if e["loc"] else ""
            problems.append(msg if not var or msg.startswith("CASEPILOT_") else f"{var}: {msg}")
        _fail("; ".join(problems), ExitCode.BAD_INPUT)


@app.callback()
def _check_settings() -> None:
    # Every command reads the settings: a bad CASEPILOT_* value stops it here, in one line.
    _settings()


def _need_index(settings) -> None:
    from casepilot.retrieval import data_present

    if not data_present(settings):
        _fail(f"no index in {settings.data_dir}: run `casepilot ingest` first", ExitCode.BAD_INPUT)


class _RichReporter:
    """Rich progress bars for the ingest pipeline."""

    def __init__(self, console: Console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self.task = None

    def stage(self, text: str) -> None:
        self.console.print(f"[dim]{E(text)}[/]")

    def start(self, label: str, total: int):
        self.progress.start()
        self.task = self.progress.add_task(E(label), total=total)
        return lambda n: self.progress.advance(self.task, n)

    def finish(self) -> None:
        self.progress.stop()


class _PlainReporter:
    """Progress as plain lines, for logs and pipes: one line every ``every_s`` seconds or ``every_pct`` percent.

    ``icd10cm: embedded 12,000/74,000 (160/s, ETA 6 min)``
    """

    def __init__(self, stream=None, every_s: float = 5.0, every_pct: float = 10.0):
        self.stream = stream
        self.every_s = every_s
        self.every_pct = every_pct

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stderr, flush=True)

    def stage(self, text: str) -> None:
        self._print(text)

    def start(self, label: str, total: int):
        import time

        from casepilot.status import format_eta

        name = label.replace(": embedding", ": embedded")
        state = {"done": 0, "t0": time.monotonic(), "last_t": time.monotonic(), "last_pct": 0.0}

        def line(final: bool = False) -> str:
            elapsed = max(time.monotonic() - state["t0"], 1e-6)
            rate = state["done"] / elapsed
            tail = (f"in {format_eta(elapsed)}" if final else
                    f"ETA {format_eta((total - state['done']) / rate) if rate > 0 else 'unknown'}")
            return f"{name} {state['done']:,}/{total:,} ({rate:,.0f}/s, {tail})"

        def tick(n: int) -> None:
            state["done"] += n
            now = time.monotonic()
            pct = 100.0 * state["done"] / total if total else 100.0
            if state["done"] < total and now - state["last_t"] < self.every_s and pct - state["last_pct"] < self.every_pct:
                return
            state["last_t"], state["last_pct"] = now, pct
            self._print(line(final=state["done"] >= total))

        return tick

    def finish(self) -> None: ...


def _reporter():
    """Progress bars on a terminal; plain lines when stderr (where progress goes) is a pipe, a file or a log."""
    return _RichReporter(err) if err.is_terminal else _PlainReporter()


@app.command()
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


@app.command()
def lookup(
    code: str = typer.Argument(..., help="Any spelling: E11.22, e1122, ' E11.22 ', 99213, G2211, 0DTJ4ZZ."),
    system: Optional[str] = typer.Option(None, help="icd10cm, icd10pcs, cpt, hcpcs or modifier."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Exact lookup of one code: meaning, billable status, hierarchy and every note that applies."""
    settings = get_settings()
    from casepilot import codes as cs
    from casepilot.codestore import CodeNotFound, CodeStore

    if not settings.codestore_path.exists():
        _fail(f"no code store in {settings.data_dir}: run `casepilot ingest` first", ExitCode.BAD_INPUT)
    store = CodeStore(settings.codestore_path)
    try:
        look = store.lookup(code, system)
    except ValueError as e:
        if as_json:
            print(json.dumps({"error": {"code": "malformed_code", "message": str(e)}}))
        else:
            err.print(f"[red]{E(e)}[/]")
        raise typer.Exit(ExitCode.BAD_INPUT)
    except CodeNotFound as e:
        sugg = [{"system": r.system, "code": cs.display_code(r.code, r.system), "title": r.title} for r in e.suggestions]
        if as_json:
            print(json.dumps({"error": {"code": "code_not_found", "message": str(e), "suggestions": sugg}}))
        else:
            err.print(f"[red]{E(e.code)}: not found.[/]")
            if sugg:
                err.print("Nearest valid codes:")
                for s in sugg:
                    err.print(f"  {E(s['code'])}  {E(s['title'])}  ({E(cs.SYSTEM_LABELS.get(s['system'], s['system']))})")
        raise typer.Exit(ExitCode.FAILED)
    data = look.to_dict()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    from casepilot.records import NOTE_LABELS

    label = cs.SYSTEM_LABELS.get(data["system"], data["system"])
    console.print(f"[bold]{E(data['code'])}[/] ({E(label)})  {E(data['title'])}")
    if data["description"] and data["description"] != data["title"]:
        console.print(E(data["description"]))
    if data["billable"] is True:
        console.print("[green]Billable[/]")
    elif data["billable"] is False:
        console.print(f"[yellow]Not billable[/]: a {E(data['level'])} heading. Billable codes below it:")
        for c in data["billable_below"][:20]:
            console.print(f"  {E(c['code'])}  {E(c['title'])}")
    if data["parent"]:
        console.print(f"Parent: {E(data['parent'])}")
    if data["children"] and data["billable"] is not False:
        console.print(f"Children: {E(', '.join(data['children'][:20]))}")
    for n in data["notes"]:
        where = f"inherited from {n['level']}" if n["inherited"] else "own"
        console.print(f"[cyan]{E(NOTE_LABELS.get(n['type'], n['type']))}[/] ({E(where)}): {E(n['text'])}")
    for a in data["alternates"]:
        console.print(f"[dim]Same characters in {E(cs.SYSTEM_LABELS.get(a['system']))}: {E(a['code'])} {E(a['title'])}[/]")
    console.print(f"[dim]Version: {E(data['version'])} · source: {E(data['source'])}[/]")


@app.command()
def search(
    query: str = typer.Argument(..., help="A description or a question."),
    system: Optional[str] = typer.Option(None, help="icd10cm, icd10pcs, cpt, hcpcs, modifier or corpus."),
    k: int = typer.Option(8, "-k", min=1, max=100, help="How many hits."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Hybrid search (BM25 + dense, fused) over the index, with code-shaped tokens routed to exact lookup."""
    settings = get_settings()
    _need_index(settings)
    from casepilot import service
    from casepilot.codestore import CodeStore
    from casepilot.retrieval import SYSTEM_COLLECTIONS, Retriever

    if system and system not in SYSTEM_COLLECTIONS:
        _fail(f"unknown system {system!r}; use one of {', '.join(SYSTEM_COLLECTIONS)}", ExitCode.BAD_INPUT)
    # With --json, stdout carries the JSON alone: anything loading the model or the index prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        found = service.search(CodeStore(settings.codestore_path), Retriever(settings), query, system, k)
    if found.dense_skipped:  # the Chroma server did not answer: these are BM25 hits alone
        from casepilot.retrieval import DENSE_DOWN_NOTICE

        err.print(f"[yellow]note:[/] {E(DENSE_DOWN_NOTICE)}")
    out = found.to_dict()
    if as_json:
        print(json.dumps(out, indent=2))
        return
    for e in out["exact"]:
        console.print(f"[bold green]exact[/] {E(e['code'])} ({E(e['system'])}) {E(e['title'])}")
    for i, h in enumerate(out["hits"], 1):
        console.print(f"{i:>2}. [bold]{E(h['title'])}[/]  [dim]{E(h['collection'])} · {h['score']:.3f}[/]")
    if not out["hits"] and not out["exact"]:
        console.print("No results.")


@app.command()
def ask(
    question: str = typer.Argument(..., help='e.g. "What is ICD-10-CM E11.22?"'),
    as_json: bool = typer.Option(False, "--json", help="Print the `done` object of the API."),
) -> None:
    """Answer a coding question with citations, offline (or with CASEPILOT_LLM set, through that model)."""
    settings = get_settings()
    _need_index(settings)
    from casepilot.engine import ChatEngine

    engine = ChatEngine(settings, llm=_llm(settings))
    done = engine.answer(question)
    if as_json:
        print(json.dumps(done, indent=2))
        return
    console.print(done["answer"], highlight=False, markup=False)
    for n in done.get("notices", []):
        console.print("Note: " + n, highlight=False, markup=False, style="yellow")
    if done["citations"]:
        console.print("\n[bold]Sources[/]")
        for c in done["citations"]:
            console.print(f"[{c['n']}] {c['title']} ({c['source']})", highlight=False, markup=False)
    if not done.get("answered", True):
        console.print("Searched: " + "; ".join(done.get("searched", [])), highlight=False, markup=False, style="dim")
    bad = [c["code"] for c in done["codes"] if not c["verified"]]
    if bad:
        console.print(f"[red]Unverified codes:[/] {E(', '.join(bad))}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1, help="Worker processes (share one Chroma server via CASEPILOT_CHROMA_URL)."),
    build_missing: bool = typer.Option(True, "--build-missing/--no-build-missing",
                                       help="When vectors are missing (after `ingest --lexical-only`), build them in "
                                       "a background process while serving; progress in /readyz."),
    dense_batch_size: int = typer.Option(1000, "--dense-batch-size", min=1, hidden=True,
                                         help="Passages per batch of the background build."),
) -> None:
    """Serve the HTTP API, its /docs and the chat widget (run `casepilot ingest` or `ingest --lexical-only` first).

    Lookups and lexical search answer at once; missing vectors are built behind them by a niced
    `casepilot ingest --dense-only` process (log: <data dir>/dense-build.log), stopped with the server
    and resumed at the next start. Dense retrieval joins when the build is done.
    """
    settings = _settings()
    _need_index(settings)
    import uvicorn

    from casepilot.status import dense_progress, format_eta

    worker = None
    progress = dense_progress(settings)
    if not progress["full"]:
        have = f"{progress['done']:,}/{progress['total']:,} passages have vectors"
        if progress["build"] == "running":
            console.print(f"Vectors: {have}; a build is already running (pid {progress['pid']}, "
                          f"ETA {format_eta(progress['eta_s'])}).")
        elif build_missing:
            from ingest.background import DenseWorker

            worker = DenseWorker(settings, batch_size=dense_batch_size)
            worker.start()
            console.print(f"Vectors: {have}; building the rest in the background (pid {worker.pid}, "
                          f"log {E(worker.log_path)}). Lookups and lexical search answer now.")
        else:
            console.print(f"Vectors: {have}; answering without dense retrieval "
                          "(run `casepilot ingest --dense-only` to build them).")
    # X-Forwarded-For is believed only from the configured proxies (CASEPILOT_TRUSTED_PROXIES); with none,
    # uvicorn's proxy handling is off (its default trusts 127.0.0.1) and the client is the socket peer.
    proxies = settings.trusted_proxy_list
    proxy_opts: dict = {"proxy_headers": True, "forwarded_allow_ips": proxies} if proxies else {"proxy_headers": False}
    console.print(f"CasePilot on http://{E(host)}:{port}  (API docs: http://{E(host)}:{port}/docs)")
    if worker is None:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower(), timeout_graceful_shutdown=10, **proxy_opts)
        return
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again; with the default
    # handler that would end this process before it could stop the build. So SIGTERM raises here, the
    # build is stopped (it finishes its batch), and the process then ends by SIGTERM all the same.
    import os
    import signal

    class _Terminated(Exception):
        pass

    def on_term(signum, frame):
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    terminated = False
    try:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower(), timeout_graceful_shutdown=10, **proxy_opts)
    except _Terminated:
        terminated = True
    finally:
        if worker.running():
            console.print("Stopping the background build (it resumes at the next start).")
        worker.stop()
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        os.kill(os.getpid(), signal.SIGTERM)


def _llm(settings):
    from casepilot.service import chat_model

    try:
        return chat_model(settings)
    except ImportError:
        _fail("CASEPILOT_LLM is set but the LLM answerer is not available in this build")


@app.command()
def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """What is loaded: code sets with versions and counts, collections, settings in force."""
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


@app.command("eval")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
