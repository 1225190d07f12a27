"""``casepilot lookup`` (one code, exactly) and ``casepilot search`` (hybrid search over the index)."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Optional

import typer

from casepilot.cli.common import E, ExitCode, _fail, _need_index, console, err
from casepilot.settings import get_settings


def lookup(
    code: str = typer.Argument(..., help="Any spelling: E11.22, e1122, ' E11.22 ', 99213, G2211, 0DTJ4ZZ."),
    system: Optional[str] = typer.Option(None, help="icd10cm, icd10pcs, cpt, hcpcs or modifier."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Exact lookup of one code: meaning, billable status, hierarchy and every note that applies. Example:

      casepilot lookup E11.22
    """
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


def search(
    query: str = typer.Argument(..., help="A description or a question."),
    system: Optional[str] = typer.Option(None, help="icd10cm, icd10pcs, cpt, hcpcs, modifier or corpus."),
    k: int = typer.Option(8, "-k", min=1, max=100, help="How many hits."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Hybrid search (BM25 + dense, fused) over the index, with code-shaped tokens routed to exact lookup. Examples:

      casepilot search "type 2 diabetes with diabetic chronic kidney disease"

      casepilot search "lap chole" --system icd10pcs -k 3
    """
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
