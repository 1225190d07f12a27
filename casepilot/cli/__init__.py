"""The ``casepilot`` command: ingest, lookup, search, ask, status, serve.

Heavy parts (the model, Chroma, the ingest pipeline) are imported inside the commands that need
them, so ``casepilot lookup`` answers in a blink.

The Typer app and its command list live here; the commands, by concept:

- ``common``: the consoles, ``E`` (text, never markup), ``ExitCode``, ``_fail``, the settings and index checks;
- ``progress``: ingest progress bars or plain lines;
- ``indexing``: ``ingest`` (both stages and ``--source`` files) and ``status``;
- ``lookups``: ``lookup`` and ``search``; ``answers``: ``ask``; ``server``: ``serve``; ``evaluation``: ``eval``.

Every name stays importable from ``casepilot.cli`` (``from casepilot.cli import app, ExitCode``).
"""

from __future__ import annotations

import typer

# Re-exported: every name of the former single-module cli.py stays importable from here.
from casepilot.cli.answers import _llm, ask
from casepilot.cli.common import E, ExitCode, _fail, _need_index, _settings, console, err
from casepilot.cli.evaluation import eval_
from casepilot.cli.indexing import _ingest_dense, ingest, status
from casepilot.cli.lookups import lookup, search
from casepilot.cli.progress import _PlainReporter, _reporter, _RichReporter
from casepilot.cli.server import serve
from casepilot.settings import get_settings

app = typer.Typer(
    help="CasePilot: cited answers to medical coding questions (ICD-10-CM, ICD-10-PCS, CPT/HCPCS summaries, "
    "modifiers, guidelines), offline.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _check_settings() -> None:
    # Every command reads the settings: a bad CASEPILOT_* value stops it here, in one line.
    _settings()


# In this order in `casepilot --help`.
app.command()(ingest)
app.command()(lookup)
app.command()(search)
app.command()(ask)
app.command()(serve)
app.command()(status)
app.command("eval")(eval_)


def main() -> None:
    """``python -m casepilot.cli``: run the command line."""
    import sys

    sys.exit(app())
