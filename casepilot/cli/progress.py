"""Ingest progress on stderr: Rich bars on a terminal, plain lines in a pipe, a file or a log."""

from __future__ import annotations

import sys

from rich.console import Console

from casepilot.cli.common import E, err


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
