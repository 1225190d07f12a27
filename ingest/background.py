"""The dense stage as a background process under ``casepilot serve``.

``casepilot serve`` answers as soon as the lexical stage is in; when vectors are missing it starts
``casepilot ingest --dense-only`` as a child process and goes on serving. The child:

- takes the one-writer lock (ingest/lock.py) like any ingest, so it never races another writer;
- runs niced, so answers keep the CPU they need on a small machine;
- runs in its own session, so a Ctrl-C at the terminal reaches the server, which then stops the child
  with SIGTERM: the child finishes the batch in hand and exits (the next start resumes);
- writes its progress to ``stage.json`` (read by /readyz and ``casepilot status``) and its lines to
  ``<data dir>/dense-build.log``.

A supervisor thread restarts the child after a crash (a few times, with a pause), and retries later when
another ingest holds the lock.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from casepilot.settings import Settings
from casepilot.status import dense_progress

log = logging.getLogger("casepilot.background")

# Exit statuses of `casepilot ingest --dense-only` (casepilot/cli/common.py::ExitCode).
DONE, PROBLEMS, BAD_INPUT, BUSY, CHROMA_DOWN = 0, 1, 2, 3, 4


class DenseWorker:
    """Start, supervise and stop one ``casepilot ingest --dense-only`` child process."""

    def __init__(self, settings: Settings, nice: int = 10, max_restarts: int = 3, retry_s: float = 30.0,
                 log_path: Path | None = None, python: str | None = None, batch_size: int | None = None):
        self.settings = settings
        self.batch_size = batch_size
        self.data_dir = Path(settings.data_dir).resolve()
        self.nice = nice
        self.max_restarts = max_restarts
        self.retry_s = retry_s
        self.log_path = Path(log_path) if log_path else self.data_dir / "dense-build.log"
        self.python = python or sys.executable
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.exit_codes: list[int] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "casepilot.cli", "ingest", "--dense-only"]
        if self.nice:
            cmd += ["--nice", str(self.nice)]
        if self.batch_size:
            cmd += ["--batch-size", str(self.batch_size)]
        return cmd

    def start(self) -> "DenseWorker":
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="dense-worker", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> None:
        env = {**os.environ, "CASEPILOT_DATA_DIR": str(self.data_dir)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._stopping.is_set():
                return
            with open(self.log_path, "ab") as out:
                out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.command())}\n".encode())
                out.flush()
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.info("dense build started (pid %s, log %s)", self.proc.pid, self.log_path)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            rc = proc.wait()
            self.exit_codes.append(rc)
            if self._stopping.is_set():
                return
            if rc == DONE:
                p = dense_progress(self.settings)
                if p["full"] or p["build"] != "stopped":
                    log.info("dense build finished: %s/%s passages have vectors", p["done"], p["total"])
                    return
                # stopped from outside (a SIGTERM not ours): leave it stopped
                log.info("dense build stopped before the end; `casepilot ingest --dense-only` resumes it")
                return
            if rc in (PROBLEMS, BAD_INPUT):
                log.error("dense build ended with problems (exit %s); see %s", rc, self.log_path)
                return
            if rc == BUSY:
                # Another writer holds the lock (a user's `casepilot ingest --source`, or another server's
                # build): try again later, once it may be done.
                log.info("another ingest holds the lock; the dense build retries in %.0f s", self.retry_s)
                if self._stopping.wait(self.retry_s):
                    return
                if dense_progress(self.settings)["full"]:
                    return
            else:
                if self.restarts >= self.max_restarts:
                    log.error("dense build failed %d times (last exit %s); see %s", self.restarts + 1, rc,
                              self.log_path)
                    return
                self.restarts += 1
                pause = min(5.0 * 2 ** (self.restarts - 1), 60.0)
                log.warning("dense build exited with %s; restarting in %.0f s (%d/%d)", rc, pause, self.restarts,
                            self.max_restarts)
                if self._stopping.wait(pause):
                    return
            self._spawn()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """Ask the child to stop after its current batch (SIGTERM), wait for it, kill it if it will not."""
        with self._lock:
            self._stopping.set()
            proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            except ProcessLookupError:
                pass
        if self._thread is not None:
            self._thread.join(5)
        return proc.returncode
