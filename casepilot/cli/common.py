"""What every command shares: the two consoles, ``E`` (text, never markup), the exit statuses, ``_fail``,
the settings check and the no-index check."""

from __future__ import annotations

from enum import IntEnum

import typer
from rich.console import Console
from rich.markup import escape as _escape

from casepilot.settings import get_settings

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


def _need_index(settings) -> None:
    from casepilot.retrieval import data_present

    if not data_present(settings):
        _fail(f"no index in {settings.data_dir}: run `casepilot ingest` first", ExitCode.BAD_INPUT)
