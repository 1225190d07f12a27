"""First run from an empty data directory: time to the first answer, the first description search, full readiness.

Runs what ``make run`` runs, in a fresh temporary data directory: ``casepilot ingest --lexical-only``
(code store, notes, BM25; no model), then ``casepilot serve`` on a free loopback port, which builds the
dense vectors in a background worker. It measures, from the moment stage 1 starts:

- stage 1 (the lexical ingest) and its rate (passages/s);
- the first lookup answered over HTTP (``POST /v1/chat`` "What is ICD-10-CM E11.22?");
- the first description search answered (``GET /v1/search`` for a description, ICD-10-CM);
- full readiness (``/readyz`` says ``full``: every vector built and dense retrieval live), with the
  dense build's rate.

The baseline, from the same run, is full readiness: before staged start the server could first answer
only after the whole ingest, vectors included, had finished (and then had to start).

    .venv/bin/python benchmarks/bench_first_run.py                    # ICD-10-CM, ICD-10-PCS, corpus (~20 min)
    .venv/bin/python benchmarks/bench_first_run.py --sources icd10cm:E11+N18,corpus   # a quick run

``--sources`` is a comma list of ``icd10cm[:CHAPTERS/CATEGORIES]``, ``icd10pcs[:TABLES]`` and ``corpus``,
filters joined with ``+`` (``icd10cm:4+N18`` is chapter 4 and category N18; ``icd10pcs:0DT+0FT``).
A subset is ingested through the same ``casepilot ingest --lexical-only`` command, with the default
sources replaced by the subset.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
LOOKUP = "What is ICD-10-CM E11.22?"
DESCRIPTION = "type 2 diabetes with diabetic chronic kidney disease"
ALL = "icd10cm,icd10pcs,corpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_sources(spec: str, settings) -> list:
    """Sources from a ``--sources`` spec (see the module's doc)."""
    from ingest.corpus import CorpusSource
    from ingest.icd10cm import ICD10CMSource
    from ingest.icd10pcs import ICD10PCSSource

    out = []
    for item in (x.strip() for x in spec.split(",") if x.strip()):
        name, _, filt = item.partition(":")
        parts = tuple(p for p in filt.split("+") if p)
        if name == "icd10cm":
            chapters = tuple(p for p in parts if p.isdigit())
            categories = tuple(p.upper() for p in parts if not p.isdigit())
            out.append(ICD10CMSource(chapters=chapters or None, categories=categories) if parts else ICD10CMSource())
        elif name == "icd10pcs":
            out.append(ICD10PCSSource(limit_tables=tuple(p.upper() for p in parts)) if parts else ICD10PCSSource())
        elif name == "corpus":
            out.append(CorpusSource(settings.corpus_dir))
        else:
            raise SystemExit(f"--sources: unknown source {name!r} (use icd10cm, icd10pcs, corpus)")
    return out


def stage1_subset(spec: str) -> None:
    """``casepilot ingest --lexical-only`` with the default sources replaced by ``spec`` (in this process)."""
    import ingest.pipeline as pipeline
    from casepilot.cli import app

    pipeline.default_sources = lambda settings: parse_sources(spec, settings)
    app(["ingest", "--lexical-only"], prog_name="casepilot")


def env_for(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
    env.update(CASEPILOT_DATA_DIR=str(data_dir), CASEPILOT_LOG_LEVEL="WARNING")
    return env


def until(check, timeout: float, proc: subprocess.Popen | None = None, every: float = 0.2):
    """Call ``check`` until it returns something truthy; the time it took and the value."""
    t = time.perf_counter()
    while True:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"casepilot serve exited with status {proc.returncode}")
        try:
            got = check()
            if got:
                return time.perf_counter() - t, got
        except httpx.HTTPError:
            pass
        if time.perf_counter() - t > timeout:
            raise SystemExit("timed out")
        time.sleep(every)


def sse_meta(text: str) -> dict:
    """The ``meta`` event's data from a buffered event stream."""
    event = None
    for line in text.splitlines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "meta":
            return json.loads(line.split(":", 1)[1])
        elif not line.strip():
            event = None
    return {}


def fmt(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", default=ALL, help=f"What to ingest (default {ALL}); e.g. icd10cm:E11+N18,corpus")
    ap.add_argument("--timeout", type=float, default=3600, help="Give up on full readiness after this many seconds.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary data directory.")
    ap.add_argument("--stage1-subset", help=argparse.SUPPRESS)  # internal: the subset's stage 1, in a subprocess
    args = ap.parse_args()
    if args.stage1_subset:
        stage1_subset(args.stage1_subset)
        return

    data = Path(tempfile.mkdtemp(prefix="casepilot-first-run-")) / "data"
    env = env_for(data)
    subset = args.sources.replace(" ", "") != ALL
    print(f"data: {data} (empty) · sources: {args.sources} · CPUs: {os.cpu_count()} · "
          f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    stage1 = ([sys.executable, str(Path(__file__).resolve()), "--stage1-subset", args.sources] if subset
              else [sys.executable, "-m", "casepilot.cli", "ingest", "--lexical-only"])
    proc = None
    t0 = time.perf_counter()
    try:
        r = subprocess.run(stage1, cwd=REPO, env=env, capture_output=True, text=True)
        t_stage1 = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"stage 1 failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        from casepilot.settings import Settings
        from casepilot.status import collect_status, dense_progress

        st = Settings(data_dir=data)
        total = dense_progress(st)["total"] or 0  # passages to embed
        status = collect_status(st)
        passages = sum(status["collections"].values())  # all of stage 1's, lexical-only collections included

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = data / "serve.log"
        t_serve = time.perf_counter() - t0
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "casepilot.cli", "serve", "--host", "127.0.0.1",
                                     "--port", str(port)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

        def lookup():
            resp = httpx.post(f"{base}/v1/chat", json={"message": LOOKUP, "stream": False}, timeout=120)
            return resp.status_code == 200 and "E11.22" in resp.json().get("answer", "") and resp.json()

        def describe():
            resp = httpx.get(f"{base}/v1/search", params={"q": DESCRIPTION, "system": "icd10cm"}, timeout=120)
            return resp.status_code == 200 and resp.json()["hits"] and resp.json()

        until(lookup, 600, proc)
        t_lookup = time.perf_counter() - t0
        until(describe, 600, proc)
        t_describe = time.perf_counter() - t0
        first = httpx.get(f"{base}/readyz", timeout=30).json()

        last_print = [0.0]
        rates: list[float] = []

        def full():
            body = httpx.get(f"{base}/readyz", timeout=30).json()
            v = body.get("vectors") or {}
            if v.get("rate"):
                rates.append(v["rate"])
            if time.perf_counter() - last_print[0] > 30:
                last_print[0] = time.perf_counter()
                rate = f"{v['rate']:.0f}/s" if v.get("rate") else "-"
                eta = f"{v['eta_s']:.0f} s" if v.get("eta_s") is not None else "-"
                print(f"  … {time.perf_counter() - t0:6.0f} s: vectors {v.get('done')}/{v.get('total')} "
                      f"({v.get('build')}, {rate}, ETA {eta})", flush=True)
            return body.get("full") and body

        until(full, args.timeout, proc, every=1.0)
        t_full = time.perf_counter() - t0
        resp = httpx.post(f"{base}/v1/chat", json={"message": LOOKUP}, timeout=120)
        meta_dense = sse_meta(resp.text).get("retrieval")
        dense_rate = total / max(t_full - t_serve, 1e-6)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if not args.keep:
            shutil.rmtree(data.parent, ignore_errors=True)

    print()
    print("| step | time from an empty data dir | rate |")
    print("|---|---|---|")
    print(f"| stage 1: `casepilot ingest --lexical-only` | {fmt(t_stage1)} | {passages:,} passages, "
          f"{passages / t_stage1:,.0f}/s; lexical only: {', '.join(status['lexical_only']) or 'none'} |")
    print(f"| first lookup answered (POST /v1/chat \"{LOOKUP}\") | {fmt(t_lookup)} | "
          f"server up and answering {fmt(t_lookup - t_stage1)} after stage 1 |")
    print(f"| first description search answered (GET /v1/search) | {fmt(t_describe)} | "
          f"readyz then: stage {first.get('stage')}, vectors {first['vectors']['done']}/{first['vectors']['total']} |")
    print(f"| full readiness (/readyz full: dense vectors live) | {fmt(t_full)} | "
          f"{total:,} passages in {fmt(t_full - t_serve)} after serve started = {dense_rate:,.0f} passages/s "
          f"(model loads included); the worker's own rate: {rates[-1] if rates else '-'}/s |")
    print()
    print(f"baseline, same run: before staged start the first answer came after the whole ingest, i.e. no sooner "
          f"than full readiness ({fmt(t_full)}); staged, the first lookup came at {fmt(t_lookup)} "
          f"({t_full / t_lookup:.1f}x sooner).")
    print(f"meta of an answer after full readiness: retrieval {meta_dense}")
    if not subset:
        print(f"target: first lookup within 60 s of the start of stage 1 on 2 cores: "
              f"{'met' if t_lookup <= 60 else 'NOT met'} (stage 1 alone: {fmt(t_stage1)})")


if __name__ == "__main__":
    main()
