"""Time to first token and total time of the grounded answerer over HTTP, at 1 and 8 concurrent clients.

Starts ``uvicorn api.app:create_app`` on a free loopback port against a data directory (default
``.casepilot``, the full index), streams a fixed set of 40 mixed questions through ``POST /v1/chat`` and
prints p50/p95. The baseline, measured in the same run at the same concurrency, is ``GET /healthz``: the
cost of HTTP and the server alone, with no answering.

    .venv/bin/python benchmarks/bench_api.py [--data-dir .casepilot] [--concurrency 1,8] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent

E11_22 = "What is ICD-10-CM E11.22?"
QUESTIONS: list[tuple[str, list[dict]]] = [(q, []) for q in [
    E11_22, "what is e1122", "What is E11.9?", "what is e11", "Is I10 billable?", "What is N18.4?",
    "What is J44.1?", "What is K21.9?", "What is Z79.4?", "What is E11.99?",
    "What is ICD-10-PCS 0DTJ4ZZ?", "What does 0FT44ZZ mean?", "What is CPT code 99213?",
    "What is CPT code 99214?", "What is CPT code 76140?", "What is HCPCS G2211?",
    "When do I use modifier 25?", "What is modifier 59?", "When is modifier XS used?", "What does modifier LT mean?",
    "ICD-10-CM code for type 2 diabetes with CKD?", "ICD-10-CM code for hypertension?",
    "code for COPD with acute exacerbation", "ICD-10-CM code for GERD without esophagitis",
    "ICD-10-PCS code for laparoscopic appendectomy", "ICD-10-CM code for type 1 diabetes with ketoacidosis",
    "code for chronic kidney disease stage 3", "What does Excludes1 mean?", "What does Excludes2 mean?",
    "What is a code first note?", "How do I code a sequela?", "What is the global surgery period?",
    "What is NCCI?", "Can I bill 99213 and 11055 together?", "What is a medically unlikely edit?",
    "When should E/M be billed with a procedure on the same day?",
    "What is the weather in Paris tomorrow?",
]] + [
    ("What else should I code with it?", [{"role": "user", "content": E11_22}]),
    ("and with modifier 59?", [{"role": "user", "content": "What is CPT code 99213?"}]),
    ("Is it billable?", [{"role": "user", "content": "what is e11"},
                         {"role": "assistant", "content": "E11 is not billable [1]."}]),
]
assert len(QUESTIONS) == 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))]


async def one_chat(client: httpx.AsyncClient, message: str, history: list[dict]) -> dict:
    t0 = time.perf_counter()
    ttft = None
    server = {}
    event = None
    async with client.stream("POST", "/v1/chat", json={"message": message, "history": history}) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "token" and ttft is None:
                    ttft = time.perf_counter() - t0
                elif event == "done":
                    server = json.loads(line[5:]).get("timings_ms", {})
                elif event == "error":
                    raise RuntimeError(f"error event for {message!r}: {line}")
    total = time.perf_counter() - t0
    return {"ttft": (ttft or total) * 1000, "total": total * 1000,
            "server_ttft": server.get("first_token_ms", 0.0)}


async def one_health(client: httpx.AsyncClient) -> float:
    t0 = time.perf_counter()
    (await client.get("/healthz")).raise_for_status()
    return (time.perf_counter() - t0) * 1000


async def run_level(base: str, concurrency: int, repeat: int) -> dict:
    work = QUESTIONS * repeat
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        queue: asyncio.Queue = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)
        results: list[dict] = []

        async def worker():
            while not queue.empty():
                message, history = queue.get_nowait()
                results.append(await one_chat(client, message, history))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0

        hq: asyncio.Queue = asyncio.Queue()
        for _ in range(len(work)):
            hq.put_nowait(None)
        health: list[float] = []

        async def hworker():
            while not hq.empty():
                hq.get_nowait()
                health.append(await one_health(client))

        await asyncio.gather(*(hworker() for _ in range(concurrency)))
    ttft = [r["ttft"] for r in results]
    total = [r["total"] for r in results]
    return {
        "concurrency": concurrency, "requests": len(results), "answers_per_s": len(results) / wall,
        "ttft_p50": pct(ttft, 50), "ttft_p95": pct(ttft, 95), "total_p50": pct(total, 50),
        "total_p95": pct(total, 95), "server_ttft_p50": pct([r["server_ttft"] for r in results], 50),
        "health_p50": pct(health, 50), "health_p95": pct(health, 95),
    }


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "CASEPILOT_DATA_DIR": str(data_dir), "CASEPILOT_LOG_LEVEL": "WARNING"}
    env.pop("CASEPILOT_LLM", None)  # the grounded answerer is what is measured
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=REPO, env=env,
    )


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=REPO / ".casepilot")
    ap.add_argument("--concurrency", default="1,8", help="Comma-separated client counts.")
    ap.add_argument("--repeat", type=int, default=1, help="Passes over the 40 questions per level.")
    args = ap.parse_args()
    if not (args.data_dir / "codes.sqlite").exists():
        raise SystemExit(f"no index in {args.data_dir}: run `casepilot ingest` first")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(args.data_dir.resolve(), port)
    try:
        t0 = time.perf_counter()
        wait_ready(base, proc)
        print(f"server ready in {time.perf_counter() - t0:.1f} s (data: {args.data_dir}, CPUs: {os.cpu_count()})")
        ready = httpx.get(f"{base}/readyz").json()
        print("collections:", ", ".join(f"{k}={v}" for k, v in ready["collections"].items()))
        asyncio.run(run_level(base, 1, 1))  # warm-up pass, not reported
        rows = [asyncio.run(run_level(base, int(c), args.repeat)) for c in args.concurrency.split(",")]
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print()
    print("| clients | requests | first token p50 | first token p95 | total p50 | total p95 | answers/s "
          "| server first token p50 | baseline /healthz p50 / p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['requests']} | {r['ttft_p50']:.0f} ms | {r['ttft_p95']:.0f} ms "
              f"| {r['total_p50']:.0f} ms | {r['total_p95']:.0f} ms | {r['answers_per_s']:.1f} "
              f"| {r['server_ttft_p50']:.0f} ms | {r['health_p50']:.1f} / {r['health_p95']:.1f} ms |")
    at8 = next((r for r in rows if r["concurrency"] == 8), None)
    if at8:
        ok = at8["ttft_p50"] < 150 and at8["ttft_p95"] < 400
        print(f"\ntarget at 8 clients (first token p50 < 150 ms, p95 < 400 ms): {'met' if ok else 'NOT met'}")
    print(f"nearest-rank percentiles over {len(QUESTIONS) * args.repeat} requests per level; times measured "
          "by the client from sending the request")


if __name__ == "__main__":
    main()
