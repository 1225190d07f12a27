"""``casepilot serve``: the HTTP API under uvicorn, with the missing vectors built in the background."""

from __future__ import annotations

import typer

from casepilot.cli.common import E, _need_index, _settings, console


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
    and resumed at the next start. Dense retrieval joins when the build is done. Examples:

      casepilot serve      (http://127.0.0.1:8000: a demo page with the widget; the API docs at /docs)

      casepilot serve --host 0.0.0.0 --port 8080
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
