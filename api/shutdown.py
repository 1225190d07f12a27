"""Graceful shutdown: a flag that turns on when uvicorn starts shutting down (SIGTERM, SIGINT).

On SIGTERM uvicorn stops accepting connections and waits (up to ``timeout_graceful_shutdown``) for open
ones to finish; an event stream never finishes by itself. So the chat streams watch this flag: each
open stream then sends a terminal ``error`` event (``shutting_down``) and ends, its engine work is
stopped and drained for at most ``CASEPILOT_SHUTDOWN_DRAIN_S``, and a ``"stream": false`` answer in
flight gets that long to finish. The lifespan's shutdown then flushes the feedback file.

How the flag learns of the signal: uvicorn handles it on its ``Server`` object (``should_exit``), which
is the ``__self__`` of the SIGTERM handler it installs; sse-starlette's ``AppStatus.should_exit`` is
checked too (set when its patch of uvicorn's handler is in force).
"""

from __future__ import annotations

import signal
import threading

import anyio

POLL_S = 0.2


class Shutdown:
    """A flag set once, readable from threads and awaitable from the event loop (no loop binding)."""

    def __init__(self) -> None:
        self._flag = threading.Event()

    def is_set(self) -> bool:
        return self._flag.is_set()

    def set(self) -> None:
        self._flag.set()

    async def wait(self) -> None:
        while not self._flag.is_set():
            await anyio.sleep(POLL_S / 2)


def server_exiting() -> bool:
    """True once the uvicorn server of this process has been told to exit."""
    try:
        from sse_starlette.sse import AppStatus

        if AppStatus.should_exit:
            return True
    except ImportError:  # pragma: no cover - sse-starlette is a dependency
        pass
    try:
        server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    except (ValueError, OSError):  # pragma: no cover - not the main thread on some platforms
        return False
    return bool(getattr(server, "should_exit", False))


async def watch_server_exit(flag: Shutdown, poll_s: float = POLL_S) -> None:
    """Set ``flag`` when the server starts shutting down; runs for the app's lifetime."""
    while not flag.is_set():
        if server_exiting():
            flag.set()
            return
        await anyio.sleep(poll_s)
