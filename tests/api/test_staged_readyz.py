"""Staged start through the API: /readyz, answers and their ``meta`` while only the lexical stage is in, the
switch to hybrid retrieval when the dense build finishes, and `casepilot serve` running the build in a
background process (stopped with the server, resumed at the next start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from casepilot.status import dense_progress, pid_alive, read_stage
from ingest.corpus import CorpusSource
from ingest.icd10cm import ICD10CMSource
from ingest.pipeline import lock_for, run_dense, run_ingest
from tests.api.conftest import E11_22, asgi_client, free_port, parse_sse, run, stop_process
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DESCRIBE = "type 2 diabetes with diabetic chronic kidney disease"


def _sources(corpus, chapters=None, categories=("E11", "N18")):
    return [ICD10CMSource(chapters=chapters, categories=categories), CorpusSource(corpus)]


def _meta_and_done(resp: httpx.Response) -> tuple[dict, dict]:
    events = dict((n, d) for n, d in parse_sse(resp.text.splitlines()) if n in ("meta", "done"))
    return events["meta"], events["done"]


def test_readyz_and_answers_during_the_lexical_stage_then_hybrid_once_vectors_are_built(
        tmp_path, corpus_copy, embedder, monkeypatch):
    import api.app as app_mod
    import casepilot.retrieval as retrieval_mod

    settings = make_settings(tmp_path / "data")
    lexical = run_ingest(settings, _sources(corpus_copy), dense=False)
    assert lexical.pending_vectors == lexical.passages > 50
    monkeypatch.setattr(app_mod, "DENSE_POLL_S", 0.1)
    monkeypatch.setattr(retrieval_mod, "MiniLMEmbeddings", lambda *a, **k: embedder)  # the session's model
    app = app_mod.create_app(settings)

    async def go():
        async with asgi_client(app) as c:
            ready = await c.get("/readyz")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["ready"] is True and body["full"] is False and body["stage"] == "lexical"
            assert body["vectors"]["done"] == 0 and body["vectors"]["total"] == lexical.passages
            assert body["vectors"]["build"] == "pending" and body["vectors"]["fraction"] == 0.0
            assert body["collections"]["icd10cm"] > 0 and "icd10cm" in body["code_sets"]  # the existing fields

            code = await c.get("/v1/codes/E11.22")
            assert code.status_code == 200 and code.json()["billable"] is True
            meta, done = _meta_and_done(await c.post("/v1/chat", json={"message": E11_22}))
            assert meta["retrieval"] == {"lexical": True, "dense": False, "dense_progress": 0.0}
            assert "E11.22" in done["answer"] and done["citations"]
            meta, done = _meta_and_done(await c.post("/v1/chat", json={"message": f"What is the code for {DESCRIBE}?"}))
            assert meta["retrieval"]["dense"] is False and "E11.22" in done["answer"]
            hits = (await c.get("/v1/search", params={"q": DESCRIBE, "system": "icd10cm"})).json()["hits"]
            assert "E11.22" in [h["code"] for h in hits[:3]] and all(h["signals"]["dense"] == 0 for h in hits)

            # the dense stage runs (here in a thread; under `casepilot serve` in a worker process) ...
            dense = await anyio.to_thread.run_sync(lambda: run_dense(settings, embedder=embedder, batch_size=100))
            assert dense.complete
            # ... and the server switches to hybrid retrieval by itself
            deadline = time.monotonic() + 120
            while not (body := (await c.get("/readyz")).json())["full"]:
                assert time.monotonic() < deadline, body
                await anyio.sleep(0.2)
            assert body["stage"] == "full" and body["vectors"]["fraction"] == 1.0 and body["vectors"]["build"] == "done"
            meta, done = _meta_and_done(await c.post("/v1/chat", json={"message": E11_22}))
            # the vectors were made by the test's torch model: queries are embedded the same way
            assert meta["retrieval"] == {"lexical": True, "dense": True, "dense_progress": 1.0,
                                         "embedding": ["bundled/torch"]}
            hits = (await c.get("/v1/search", params={"q": DESCRIBE, "system": "icd10cm"})).json()["hits"]
            top = next(h for h in hits if h["code"] == "E11.22")
            assert top["signals"]["dense"] > 0 and top["signals"]["cosine"] > 0.5

    run(go())


def _serve(data_dir: Path, log: Path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
    env["CASEPILOT_DATA_DIR"] = str(data_dir)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "casepilot.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def _wait(cond, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"casepilot serve exited:\n{log.read_text(errors='replace')[-3000:]}"
        try:
            got = cond()
            if got:
                return got
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text(errors='replace')[-3000:]}"
        time.sleep(0.3)


@pytest.mark.server
def test_casepilot_serve_builds_missing_vectors_in_a_worker_that_stops_with_it_and_resumes(tmp_path, corpus_copy):
    settings = make_settings(tmp_path / "data")
    lexical = run_ingest(settings, _sources(corpus_copy, chapters=("4",), categories=("N18",)), dense=False)
    total = lexical.passages
    log = tmp_path / "serve.log"

    def ready_body(base):
        r = httpx.get(f"{base}/readyz", timeout=5)
        return r.json() if r.status_code == 200 else None

    # first start: it answers at once and builds the vectors in a background worker (one passage per batch
    # here, so that the build is surely still running when the server stops, however fast the machine)
    proc, base = _serve(settings.data_dir, log, "--dense-batch-size", "1")
    try:
        body = _wait(lambda: ready_body(base), 180, "serve never became ready", proc, log)
        assert body["ready"] is True and body["stage"] in ("lexical", "full")
        r = httpx.post(f"{base}/v1/chat", json={"message": E11_22, "stream": False}, timeout=60)
        assert r.status_code == 200 and "E11.22" in r.json()["answer"]
        # the worker runs and reports its progress (pid, rate) through stage.json and /readyz
        st = _wait(lambda: (s := read_stage(settings.data_dir)) and s["build"]["state"] == "running"
                   and s["build"]["rate"] and s, 240, "the dense build did not start", proc, log)
        worker = st["build"]["pid"]
        assert worker != proc.pid and pid_alive(worker)
        body = ready_body(base)
        assert body["full"] is False and body["vectors"]["build"] == "running" and body["vectors"]["pid"] == worker
    finally:
        stop_process(proc, grace=90)  # the server stops its worker: it finishes the batch in hand and exits
    assert proc.returncode is not None
    deadline = time.monotonic() + 30
    while pid_alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_alive(worker)
    progress = dense_progress(settings)
    assert progress["build"] == "stopped" and 0 < progress["done"] < total, progress
    lock = lock_for(settings.data_dir)
    lock.acquire()  # the worker let go of the one-writer lock
    lock.release()
    stopped_at = progress["done"]

    # second start: the build resumes where it stopped and the server turns full by itself
    proc, base = _serve(settings.data_dir, log)
    try:
        body = _wait(lambda: (b := ready_body(base)) and b["full"] and b, 600, "never fully ready", proc, log)
        assert body["stage"] == "full" and body["vectors"]["done"] == total and body["vectors"]["build"] == "done"
        r = httpx.post(f"{base}/v1/chat", json={"message": E11_22}, timeout=60)
        meta = next(d for n, d in parse_sse(r.text.splitlines()) if n == "meta")
        # the worker built them with the default backend (exported to ONNX under the data directory)
        assert meta["retrieval"] == {"lexical": True, "dense": True, "dense_progress": 1.0,
                                     "embedding": ["bundled/onnx"], "lexical_only": ["icd10pcs"]}
        assert (settings.data_dir / "models").is_dir()
    finally:
        stop_process(proc, grace=90)
    build_log = (settings.data_dir / "dense-build.log").read_text()
    assert build_log.count("starting: ") == 2
    assert f"upserted {total - stopped_at:,}" in build_log.replace("\n", " ")  # the second run did only the rest
    lines = [x for x in build_log.splitlines() if ": embedded " in x]
    assert lines and all("/s, " in x for x in lines)  # plain progress lines, not a terminal's bars
    assert json.loads((settings.data_dir / "stage.json").read_text())["build"]["state"] == "done"
