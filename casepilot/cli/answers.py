"""``casepilot ask``: one question answered with citations, offline or through the configured LLM."""

from __future__ import annotations

import json

import typer

from casepilot.cli.common import E, _fail, _need_index, console
from casepilot.settings import get_settings


def ask(
    question: str = typer.Argument(..., help='e.g. "What is ICD-10-CM E11.22?"'),
    as_json: bool = typer.Option(False, "--json", help="Print the `done` object of the API."),
) -> None:
    """Answer a coding question with citations, offline (or with CASEPILOT_LLM set, through that model). Example:

      casepilot ask "Can 99213 and 20610 be billed together?"
    """
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


def _llm(settings):
    from casepilot.service import chat_model

    try:
        return chat_model(settings)
    except ImportError:
        _fail("CASEPILOT_LLM is set but the LLM answerer is not available in this build")
