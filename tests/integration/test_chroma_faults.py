"""A Chroma server that is silent, stopped or restarted (issue 13, finding 1; RELIABILITY row 5).

Two real servers: a TCP listener that accepts connections and never answers (what a hung or SIGSTOPped
Chroma looks like to a client), and a real ``chroma run`` that is paused, killed and started again.
What must hold: every Chroma call has connect and read timeouts; start-up does not block; lookups and
BM25 keep answering with a notice that semantic search is unavailable; where dense retrieval is required
(``CASEPILOT_CHROMA_FALLBACK=false``) a 503 with Retry-After comes within 5 s; /readyz goes red without
leaking a thread per request; and the service recovers when Chroma is back, without a restart.
"""

from __future__ import annotations

import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from casepilot.retrieval import DENSE_DOWN_NOTICE, Retriever
from casepilot.vectorstore import VectorStoreUnavailable, make_client
from tests.conftest import make_settings
from tests.processes import stop_process

pytestmark = [pytest.mark.slow, pytest.mark.server]

DESCRIBE = "ICD-10-CM code for type 2 diabetes with diabetic chronic kidney disease"


class _Silent(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(0.5)
        while not self.server.stopping.is_set():
            try:
                if not self.request.recv(65536):  # the client gave up and closed
                    return
            except socket.timeout:
                continue
            except OSError:
                return


class SilentServer(socketserver.ThreadingTCPServer):
    """Accepts every connection, reads what it is sent, never answers."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Silent)
        self.stopping = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def silent_chroma():
    server = SilentServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.stopping.set()
    server.shutdown()
    server.server_close()


def _bounded(fn, limit: float):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it takes longer than ``limit``."""
    box: dict = {}

    def run():
        t = time.monotonic()
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e
        box["seconds"] = time.monotonic() - t

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(limit)
    assert not th.is_alive(), f"still blocked after {limit} s: a silent Chroma server hangs the caller"
    return box


def _our_threads() -> int:
    """Threads of this process, not counting the silent server's own connection handlers."""
    return sum(1 for t in threading.enumerate() if "process_request_thread" not in t.name)


def test_make_client_against_a_silent_server_fails_within_its_timeouts(tmp_path, silent_chroma):
    settings = make_settings(tmp_path / "data", chroma_url=silent_chroma, chroma_connect_timeout_s=1.0)
    box = _bounded(lambda: make_client(settings, read_timeout_s=1.0), 20)
    assert isinstance(box.get("error"), VectorStoreUnavailable), box
    assert "not reachable" in str(box["error"]) and box["seconds"] < 5


def test_a_silent_server_degrades_to_bm25_within_5_s_and_readyz_leaks_no_thread(slice_index, embedder,
                                                                                silent_chroma):
    from api.app import create_app
    from casepilot.engine import ChatEngine
    from tests.api.conftest import live_server

    settings = slice_index.model_copy(update={"chroma_url": silent_chroma})  # default timeouts: 1 s + 4 s
    engine = ChatEngine(settings, retriever=Retriever(settings, embedder=embedder))
    started = time.monotonic()
    with live_server(create_app(settings, engine=engine)) as base:
        assert time.monotonic() - started < 30  # start-up tried Chroma, gave up, and serves
        with httpx.Client(base_url=base, timeout=30) as c:
            t = time.monotonic()
            r = c.get("/readyz")
            assert time.monotonic() - t < 5
            assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
            assert r.json()["error"]["code"] == "not_ready" and "does not answer" in r.json()["error"]["message"]

            t = time.monotonic()
            r = c.get("/v1/codes/E11.22")
            assert r.status_code == 200 and time.monotonic() - t < 1

            t = time.monotonic()
            r = c.get("/v1/search", params={"q": "type 2 diabetes with diabetic chronic kidney disease"})
            assert time.monotonic() - t < 5
            body = r.json()
            assert r.status_code == 200 and body["hits"] and body["dense"] is False
            assert body["notices"] == [DENSE_DOWN_NOTICE]
            assert all(h["signals"].get("dense", 0) == 0 for h in body["hits"])

            t = time.monotonic()
            r = c.post("/v1/chat", json={"message": DESCRIBE, "stream": False})
            assert time.monotonic() - t < 5
            done = r.json()
            assert r.status_code == 200 and "E11.22" in done["answer"]
            assert DENSE_DOWN_NOTICE in done["notices"]

            # Each /readyz used to leave a thread blocked on the silent socket; now none is left behind.
            before = _our_threads()
            for _ in range(12):
                assert c.get("/readyz").status_code == 503
            time.sleep(0.5)
            assert _our_threads() - before <= 2


def test_dense_required_answers_503_with_retry_after_within_5_s(slice_index, embedder, silent_chroma):
    from api.app import create_app
    from casepilot.engine import ChatEngine
    from tests.api.conftest import live_server

    settings = slice_index.model_copy(update={"chroma_url": silent_chroma, "chroma_fallback": False})
    engine = ChatEngine(settings, retriever=Retriever(settings, embedder=embedder))
    with live_server(create_app(settings, engine=engine)) as base:
        with httpx.Client(base_url=base, timeout=30) as c:
            for _ in range(2):
                t = time.monotonic()
                r = c.get("/v1/search", params={"q": "diabetes with kidney disease"})
                assert time.monotonic() - t < 5
                assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
                err = r.json()["error"]
                assert err["code"] == "index_unavailable" and err["retry_after"] >= 1
            t = time.monotonic()
            r = c.post("/v1/chat", json={"message": DESCRIBE, "stream": False})
            assert time.monotonic() - t < 5
            assert r.status_code == 503 and r.headers["Retry-After"] and r.json()["error"]["code"] == "index_unavailable"
            assert c.get("/v1/codes/E11.22").status_code == 200  # lookups never need Chroma


# -- a real `chroma run`: paused, killed, restarted ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _chroma(path: Path, port: int):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "")
    assert exe.exists(), "the chroma CLI comes with the chromadb package"
    proc = subprocess.Popen([str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, "chroma server did not start"
            time.sleep(0.3)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            stop_process(proc, grace=10)


def _search(retriever: Retriever):
    """(hits, whether the dense side was skipped, seconds); fails instead of hanging on a silent server."""

    def run():
        retriever.take_dense_skipped()
        return retriever.search("laparoscopic excision of appendix", k=5), retriever.take_dense_skipped()

    box = _bounded(run, 30)
    if "error" in box:
        raise box["error"]
    return (*box["value"], box["seconds"])


def _until(predicate, limit: float):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {limit} s")


def test_real_chroma_paused_killed_and_restarted_recovers_without_a_restart(tmp_path, corpus_copy, embedder):
    from ingest.corpus import CorpusSource
    from ingest.icd10pcs import ICD10PCSSource
    from ingest.pipeline import run_ingest

    port = _free_port()
    settings = make_settings(tmp_path / "data", chroma_url=f"http://127.0.0.1:{port}", chroma_timeout_s=2.0,
                             chroma_breaker_reset_s=1.0)
    with _chroma(tmp_path / "server", port) as proc:
        summary = run_ingest(settings, [ICD10PCSSource(limit_tables=("0DT",)), CorpusSource(corpus_copy)],
                             embedder=embedder)
        assert summary.ok and summary.added > 0
        retriever = Retriever(settings, embedder=embedder)
        hits, skipped, _ = _search(retriever)
        assert hits and not skipped and any(h.signals.get("dense", 0) > 0 for h in hits)

        proc.send_signal(signal.SIGSTOP)  # alive, connections accepted by the kernel, never answered
        hits, skipped, seconds = _search(retriever)
        assert skipped and hits and seconds < 5  # BM25 answered, within the read timeout
        assert all(h.signals.get("dense", 0) == 0 for h in hits)
        hits, skipped, seconds = _search(retriever)
        assert skipped and seconds < 1  # the breaker is open: Chroma is not waited on again
        assert retriever.check_dense() is False

        proc.send_signal(signal.SIGCONT)
        _until(lambda: not _search(retriever)[1], 15)  # the probe got through: dense again, same retriever
        assert retriever.dense_available() and retriever.check_dense()

        proc.kill()
        proc.wait(10)
        hits, skipped, seconds = _search(retriever)
        assert skipped and hits and seconds < 5
    with _chroma(tmp_path / "server", port):  # the same data, started again
        hits = _until(lambda: (lambda r: r[0] if not r[1] else None)(_search(retriever)), 20)
        assert any(h.signals.get("dense", 0) > 0 for h in hits)
        assert retriever.check_dense()
