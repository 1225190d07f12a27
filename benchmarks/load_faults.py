"""Load with faults (issue 13's proof): does the API keep answering, in its documented shapes, while its parts fail?

Everything runs on loopback, bounded in time and count. The script builds a small index (or takes
``--data-dir``) in a real ``chroma run`` server, starts a fake OpenAI-compatible streaming model and a real
``casepilot serve --workers 2`` against both, and for ``--duration`` seconds drives:

- ``--chats`` concurrent chat streams (``POST /v1/chat``, the model answers), one after another per client;
- ``--lookups`` code lookups per second (``GET /v1/codes/{code}``), ``--searches`` searches per second
  (``GET /v1/search``) and ``--feedback`` feedback posts per second (``POST /v1/feedback``), open loop;
- slow clients: two chat streams read a line per half second, two requests send their body a byte a second.

Faults, at fixed fractions of the run (the existing behaviours answer them: the Chroma timeouts and circuit
breaker of ``casepilot/breaker.py``, the model's first-token timeout and grounded fallback, and the SIGTERM
handling of ``api/shutdown.py``):

- Chroma paused with SIGSTOP for 20 s (accepts connections, never answers), then SIGCONT;
- Chroma killed with SIGKILL and started again 5 s later on the same data;
- the model hanging (accepts the request, sends nothing) for 15 s, then answering again;
- one worker sent SIGTERM mid-stream (uvicorn starts another).

It prints requests, status counts and p50/p95 latency per endpoint, errors by kind, streams without a
terminal event (must be 0), 5xx other than the documented 503 (must be 0), per fault the time until
a client had the degraded answer in hand (``dense: false``, the grounded fallback; must be <= 5 s), the time
to recover after it ended (until the first request that then got a full answer was sent; must be <= 10 s),
whether lookups kept answering during each fault, and feedback rows written vs acknowledged (must be equal).
The must-holds assume an otherwise idle machine: on a loaded one, queueing alone can pass the 5 s.

    .venv/bin/python benchmarks/load_faults.py                       # 2 min, on a small index it builds
    .venv/bin/python benchmarks/load_faults.py --duration 60 --lookups 20 --searches 5
    .venv/bin/python benchmarks/load_faults.py --data-dir DIR --chroma-path DIR   # an index already in a Chroma server
    .venv/bin/python benchmarks/load_faults.py --no-fallback   # CASEPILOT_CHROMA_FALLBACK=false: Chroma down is a 503

With ``--no-fallback`` the server runs with ``CASEPILOT_CHROMA_FALLBACK=false``: while Chroma is down a search or
chat answers 503 ``index_unavailable`` with ``Retry-After`` instead of a BM25 answer. That 503 is then how the
fault is shown (must be <= 5 s), every 503 must carry ``Retry-After``, and lookups must still answer.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import logging
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SOURCES = "icd10cm:4+N18+I10+J44,icd10pcs:0DT,corpus"

CODES = ["E11.22", "E11.9", "E1165", "e10.10", "N18.4", "I10", "J44.1", "0DTJ4ZZ", "E11.99", "Z99.99"]
SEARCHES = [("type 2 diabetes with diabetic chronic kidney disease", "icd10cm"), ("hypertension", None),
            ("laparoscopic appendectomy", "icd10pcs"), ("COPD with acute exacerbation", "icd10cm"),
            ("significant separately identifiable E/M service", None), ("chronic kidney disease stage 4", None)]
CHATS = ["What is ICD-10-CM E11.22?", "code for type 2 diabetes with CKD stage 4", "When do I use modifier 25?",
         "What is E11.9?", "ICD-10-PCS code for laparoscopic appendectomy", "What does Excludes1 mean?",
         "Is I10 billable?", "code for COPD with acute exacerbation"]
ANSWER = "E11.22 is type 2 diabetes mellitus with diabetic chronic kidney disease [1]."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))]


# -- the parts: Chroma, the model, the server -----------------------------------------------------------

class Chroma:
    """A real ``chroma run`` on loopback that can be paused, killed and started again on the same data."""

    def __init__(self, path: Path, port: int):
        self.path, self.port, self.proc = path, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        exe = Path(sys.executable).with_name("chroma")
        exe = exe if exe.exists() else Path(shutil.which("chroma") or "chroma")
        self.proc = subprocess.Popen([str(exe), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port",
                                      str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("chroma run did not start")
            time.sleep(0.3)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def fake_model_app():
    """An OpenAI-compatible streaming chat model; ``POST /control/hang`` makes it accept requests and send
    nothing until ``POST /control/resume``; ``GET /control/stats`` counts the calls."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    state = {"hang": False, "calls": 0, "hung_calls": 0}

    async def completions(request: Request):
        body = await request.json()
        state["calls"] += 1
        hung = state["hang"]
        state["hung_calls"] += hung

        async def gen():
            while hung and state["hang"]:  # silent until resumed (or the client gives up)
                await asyncio.sleep(0.1)
            words = ANSWER.split(" ")
            for i in range(24):
                text = ("" if i == 0 else " ") + words[i % len(words)]
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
                await asyncio.sleep(0.02)
            yield "data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def control(request: Request):
        action = request.path_params["action"]
        if action in ("hang", "resume"):
            state["hang"] = action == "hang"
        return JSONResponse(state)

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"]),
                             Route("/control/{action}", control, methods=["GET", "POST"])])


class FakeModel:
    """The fake model in its own process (the load generator's work never stalls its tokens)."""

    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> str:
        self.proc = subprocess.Popen([sys.executable, __file__, "--fake-model", str(self.port)], cwd=REPO,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.base}/control/stats", timeout=1).raise_for_status()
                return f"{self.base}/v1"
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the fake model server did not start")
                time.sleep(0.2)

    async def set(self, action: str) -> dict:
        async with httpx.AsyncClient(timeout=10) as c:
            return (await c.post(f"{self.base}/control/{action}")).json()

    def stats(self) -> dict:
        return httpx.get(f"{self.base}/control/stats", timeout=10).json()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def build_index(data: Path, chroma_url: str, spec: str) -> None:
    """Ingest ``spec`` (the bench_first_run.py ``--sources`` format) into ``data`` and the Chroma server."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_first_run import parse_sources

    from casepilot.settings import Settings
    from ingest.pipeline import run_ingest

    logging.basicConfig(level=logging.WARNING, force=True)  # no library chatter in the summary
    for handler in logging.getLogger().handlers:  # (bm25s sets its own logger to DEBUG)
        handler.setLevel(logging.WARNING)
    settings = Settings(data_dir=data, chroma_url=chroma_url)
    t0 = time.perf_counter()
    summary = run_ingest(settings, parse_sources(spec, settings))
    if not summary.ok:
        raise SystemExit(f"ingest failed: {summary.problems}")
    print(f"index: {summary.passages:,} passages ({spec}) in {time.perf_counter() - t0:.0f} s")


def server_env(data: Path, chroma_url: str, model_url: str, fallback: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_") and k != "FORWARDED_ALLOW_IPS"}
    env.update({
        "CASEPILOT_DATA_DIR": str(data), "CASEPILOT_CHROMA_URL": chroma_url, "CASEPILOT_LOG_LEVEL": "WARNING",
        "CASEPILOT_LLM": "openai:fake-model", "CASEPILOT_LLM_BASE_URL": model_url, "CASEPILOT_LLM_MAX_RETRIES": "0",
        "CASEPILOT_LLM_FIRST_TOKEN_TIMEOUT_S": "3", "CASEPILOT_LLM_TOKEN_GAP_TIMEOUT_S": "10",
        "CASEPILOT_SHUTDOWN_DRAIN_S": "3", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False", "CASEPILOT_CHROMA_FALLBACK": "true" if fallback else "false",
    })
    return env


def start_server(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from casepilot.cli import app; app()", "serve", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-build-missing"],
                            cwd=REPO, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"casepilot serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200 and \
                        len(workers_of(proc.pid)) >= workers:
                    return proc, base, log
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"casepilot serve did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
    except BaseException:
        stop_server(proc)
        raise


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (multiprocessing children, not its resource tracker)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and "multiprocessing" in cmd and "resource_tracker" not in cmd:
            out.append(int(p.name))
    return sorted(out)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# -- what the clients saw -------------------------------------------------------------------------------

@dataclass
class Result:
    endpoint: str
    start: float  # seconds since the load began
    end: float
    status: int | None  # None: no HTTP response (transport error)
    kind: str = "ok"  # "ok", "<status> <error code>", "transport <Exception>", "event error <code>"
    first_token: float | None = None
    terminal: str | None = None  # streams: "done", "error" or None (ended without one)
    degraded: bool | None = None  # search: dense false; chat: the model was not used or dense was skipped
    answerer: str | None = None
    retry_after: bool = True  # a 503 said when to retry (Retry-After); True for every other status


@dataclass
class Fault:
    name: str
    start: float
    end: float | None = None  # when the fault was taken away (None: it takes itself away, e.g. a restart)
    replaced: float | None = None  # a worker sent SIGTERM: seconds until another worker process was running


@dataclass
class Run:
    t0: float = field(default_factory=time.monotonic)
    tag: str = field(default_factory=lambda: f"load-{os.getpid()}-{int(time.time())}")  # this run's feedback
    results: list[Result] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)  # open-loop requests not sent: too many in flight

    def now(self) -> float:
        return time.monotonic() - self.t0


def unavailable(r: httpx.Response) -> tuple[bool | None, bool]:
    """(degraded, retry_after) of a response: a 503 ``index_unavailable`` is the no-fallback way to show a fault."""
    if r.status_code != 503:
        return None, True
    return error_kind(503, r.content) == "503 index_unavailable" or None, "retry-after" in r.headers


def error_kind(status: int, body: bytes) -> str:
    try:
        return f"{status} {json.loads(body)['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return f"{status} (not in the error shape)"


async def get(run: Run, client: httpx.AsyncClient, endpoint: str, url: str, params: dict | None = None) -> None:
    start = run.now()
    try:
        r = await client.get(url, params=params)
    except httpx.HTTPError as e:
        run.results.append(Result(endpoint, start, run.now(), None, f"transport {type(e).__name__}"))
        return
    degraded, retry_after = unavailable(r)
    if endpoint == "search" and r.status_code == 200:
        degraded = not r.json().get("dense", True)
    ok = r.status_code == 200 or (endpoint == "lookup" and r.status_code == 404)
    run.results.append(Result(endpoint, start, run.now(), r.status_code,
                              "ok" if ok else error_kind(r.status_code, r.content), degraded=degraded,
                              retry_after=retry_after))


async def feedback(run: Run, client: httpx.AsyncClient, n: int) -> None:
    start = run.now()
    try:
        r = await client.post("/v1/feedback", json={"conversation_id": f"{run.tag}-{n}", "rating": "up"})
    except httpx.HTTPError as e:
        run.results.append(Result("feedback", start, run.now(), None, f"transport {type(e).__name__}"))
        return
    run.results.append(Result("feedback", start, run.now(), r.status_code,
                              "ok" if r.status_code == 201 else error_kind(r.status_code, r.content)))


async def chat(run: Run, client: httpx.AsyncClient, message: str, endpoint: str = "chat",
               read_pause: float = 0.0) -> Result:
    start = run.now()
    res = Result(endpoint, start, start, None)
    event, notices = None, []
    try:
        async with client.stream("POST", "/v1/chat", json={"message": message}) as r:
            res.status = r.status_code
            if r.status_code != 200:
                res.kind = error_kind(r.status_code, await r.aread())
                res.degraded, res.retry_after = unavailable(r)
            else:
                async for line in r.aiter_lines():
                    if read_pause:
                        await asyncio.sleep(read_pause)
                    if line.startswith("event:"):
                        event = line[6:].strip()
                        if res.terminal is not None:  # done and error are terminal: nothing may follow
                            res.kind = f"event {event} after {res.terminal}"
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                        if event == "token" and res.first_token is None:
                            res.first_token = run.now() - start
                        elif event == "done":
                            res.terminal, res.answerer = "done", data.get("answerer")
                            notices = data.get("notices", [])
                        elif event == "error" and res.terminal is None:
                            res.terminal, res.kind = "error", f"event error {data.get('code')}"
    except httpx.HTTPError as e:
        res.kind = f"transport {type(e).__name__}"
    res.end = run.now()
    if res.terminal == "done":
        res.degraded = res.answerer == "grounded_fallback" or any("semantic" in n.lower() for n in notices)
    elif res.status == 200 and res.terminal is None and res.kind == "ok":
        res.kind = "stream ended without done or error"
    run.results.append(res)
    return res


async def slow_sender(run: Run, base: str, stop: asyncio.Event) -> None:
    """A client that sends its request body a byte a second: it holds a connection, never a worker."""
    host, port = base.removeprefix("http://").split(":")
    body = json.dumps({"message": "What is E11.9?"}).encode()
    while not stop.is_set():
        start = run.now()
        phase = "connecting"
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            phase = "sending"
            writer.write(f"POST /v1/chat HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode())
            for b in body:
                if stop.is_set():
                    break
                writer.write(bytes([b]))
                await writer.drain()
                await asyncio.sleep(1.0)
            phase = "waiting for the response"
            head = await asyncio.wait_for(reader.read(4096), 30) if not stop.is_set() else b""
            writer.close()
            if head:
                status = int(head.split(b"\r\n", 1)[0].split()[1])
                body = head.split(b"\r\n\r\n", 1)[-1]
                run.results.append(Result("slow sender", start, run.now(), status,
                                          "ok" if status == 200 else error_kind(status, body)))
        except (OSError, asyncio.TimeoutError, ValueError, IndexError) as e:
            run.results.append(Result("slow sender", start, run.now(), None,
                                      f"transport {type(e).__name__} while {phase}"))


async def open_loop(run: Run, rate: float, make, stop: asyncio.Event, name: str, cap: int = 64) -> None:
    """Start ``make(i)`` ``rate`` times a second whatever the server's pace (at most ``cap`` in flight)."""
    if rate <= 0:
        return
    tasks: set[asyncio.Task] = set()
    i = 0
    next_at = time.monotonic()
    while not stop.is_set():
        if len(tasks) < cap:
            t = asyncio.create_task(make(i))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        else:
            run.dropped[name] += 1
        i += 1
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks, timeout=60)


async def faults(run: Run, chroma: Chroma, model: FakeModel, server: subprocess.Popen, duration: float,
                 stop: asyncio.Event) -> None:
    async def at(fraction: float) -> bool:
        delay = fraction * duration - run.now()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return False
            except asyncio.TimeoutError:
                pass
        return not stop.is_set()

    pause, hang = min(20.0, duration * 0.17), min(15.0, duration * 0.125)
    if await at(0.10):
        f = Fault("chroma paused (SIGSTOP)", run.now())
        run.faults.append(f)
        chroma.signal(signal.SIGSTOP)
        await asyncio.sleep(pause)
        chroma.signal(signal.SIGCONT)
        f.end = run.now()
    if await at(0.35):
        f = Fault("chroma killed (SIGKILL), restarted", run.now())
        run.faults.append(f)
        await asyncio.to_thread(chroma.kill)
        await asyncio.sleep(5)
        await asyncio.to_thread(chroma.start)
        f.end = run.now()
    if await at(0.55):
        f = Fault("model hangs", run.now())
        run.faults.append(f)
        await model.set("hang")
        await asyncio.sleep(hang)
        await model.set("resume")
        f.end = run.now()
    if await at(0.75):
        pids = workers_of(server.pid)
        if pids:
            f = Fault(f"worker {pids[0]} SIGTERM mid-stream", run.now())
            run.faults.append(f)
            os.kill(pids[0], signal.SIGTERM)
            while not stop.is_set():  # uvicorn's supervisor starts another in its place
                now = workers_of(server.pid)
                if pids[0] not in now and len(now) >= len(pids):
                    f.replaced = run.now() - f.start
                    break
                await asyncio.sleep(0.2)


async def drive(base: str, duration: float, args, chroma: Chroma, model: FakeModel, server: subprocess.Popen) -> Run:
    run = Run()
    stop = asyncio.Event()
    rnd = random.Random(13)
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: otherwise a request
    # sent on a connection the server is closing at that moment fails, which httpx does not retry
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, connect=5), limits=limits) as client, \
            httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(90, connect=5),
                              limits=httpx.Limits(keepalive_expiry=2)) as chats:
        async def polite_pause(res: Result) -> None:
            # a client told 503 (with --no-fallback, every chat while Chroma is down) waits before it asks
            # again, as a widget would, rather than spinning; half a second keeps recovery measured finely
            if res.status == 503:
                await asyncio.sleep(0.5)

        async def chat_client(i: int) -> None:
            while not stop.is_set():
                await polite_pause(await chat(run, chats, CHATS[(i + rnd.randrange(len(CHATS))) % len(CHATS)]))

        async def slow_reader() -> None:
            while not stop.is_set():
                await polite_pause(await chat(run, chats, "When do I use modifier 25?", endpoint="chat (slow reader)",
                                              read_pause=0.5))

        tasks = [asyncio.create_task(chat_client(i)) for i in range(args.chats)]
        tasks += [asyncio.create_task(slow_reader()) for _ in range(2)]
        tasks += [asyncio.create_task(slow_sender(run, base, stop)) for _ in range(2)]
        tasks += [
            asyncio.create_task(open_loop(run, args.lookups, lambda i: get(
                run, client, "lookup", f"/v1/codes/{CODES[i % len(CODES)]}"), stop, "lookup")),
            asyncio.create_task(open_loop(run, args.searches, lambda i: get(
                run, client, "search", "/v1/search", {k: v for k, v in (
                    ("q", SEARCHES[i % len(SEARCHES)][0]), ("system", SEARCHES[i % len(SEARCHES)][1]), ("k", 5))
                    if v is not None}), stop, "search")),
            asyncio.create_task(open_loop(run, args.feedback, lambda i: feedback(run, client, i), stop, "feedback")),
        ]
        fault_task = asyncio.create_task(faults(run, chroma, model, server, duration, stop))
        await asyncio.sleep(duration)
        stop.set()
        await asyncio.wait([*tasks, fault_task], timeout=120)
    return run


# -- the summary ----------------------------------------------------------------------------------------

def first_after(results: list[Result], t: float, pred) -> float | None:
    """Seconds from ``t`` to the end of the first response that started at or after ``t`` and satisfies pred:
    how long after a fault began a client had the degraded answer in hand."""
    ends = [r.end for r in results if r.start >= t and pred(r)]
    return min(ends) - t if ends else None


def healthy_after(results: list[Result], t: float, pred) -> float | None:
    """Seconds from ``t`` to the start of the first request started after ``t`` that got a full answer: once
    the requests after a fault's end are served whole again, it has recovered (their own latency apart)."""
    starts = [r.start for r in results if r.start >= t and pred(r)]
    return min(starts) - t if starts else None


def summarize(run: Run, acked: int, written: int, duration: float) -> bool:
    rs = run.results
    by = defaultdict(list)
    for r in rs:
        by[r.endpoint].append(r)
    print(f"\n{len(rs):,} requests in {duration:.0f} s\n")
    print("| endpoint | requests | statuses | p50 | p95 | first token p50 / p95 |")
    print("|---|---|---|---|---|---|")
    for ep in sorted(by):
        items = by[ep]
        statuses = Counter(str(r.status) if r.status is not None else "no response" for r in items)
        lat = [(r.end - r.start) * 1000 for r in items if r.status is not None]
        ft = [r.first_token * 1000 for r in items if r.first_token is not None]
        print(f"| {ep} | {len(items):,} | {', '.join(f'{k}: {v:,}' for k, v in sorted(statuses.items()))} "
              f"| {pct(lat, 50):.0f} ms | {pct(lat, 95):.0f} ms | "
              + (f"{pct(ft, 50):.0f} / {pct(ft, 95):.0f} ms |" if ft else "- |"))
    kinds = Counter((r.endpoint, r.kind) for r in rs if r.kind != "ok")
    print("\nerrors by kind (and when: sent -> ended, in seconds from the start):" + ("" if kinds else " none"))
    for (ep, kind), n in sorted(kinds.items()):
        when = sorted(f"{r.start:.0f}->{r.end:.0f}" for r in rs if r.endpoint == ep and r.kind == kind)
        print(f"  {ep}: {kind} x{n:,} at {', '.join(when[:8])}{' ...' if len(when) > 8 else ''}")
    if run.dropped:
        print("not sent (client cap of requests in flight): "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(run.dropped.items())))

    streams = [r for r in rs if r.endpoint.startswith("chat") and r.status == 200]
    unterminated = [r for r in streams if r.terminal is None]
    after_terminal = [r for r in streams if " after " in r.kind]
    bad5xx = [r for r in rs if r.status is not None and r.status >= 500 and r.status != 503]
    no_retry = [r for r in rs if r.status == 503 and not r.retry_after]
    print(f"\nstreams: {len(streams):,} opened, {sum(r.terminal == 'done' for r in streams):,} done, "
          f"{sum(r.terminal == 'error' for r in streams):,} error events, {len(unterminated)} without a terminal "
          f"event, {len(after_terminal)} with an event after their terminal one")
    print(f"5xx other than 503: {len(bad5xx)}; 503 without Retry-After: {len(no_retry)}")

    missed = []  # the must-holds that did not hold
    if unterminated or after_terminal:
        missed.append("a stream without exactly one terminal event")
    if bad5xx:
        missed.append("a 5xx other than 503")
    if no_retry:
        missed.append("a 503 without Retry-After")
    print("\n| fault | at | lasted | degraded answer in hand after | recovered after (worker: replaced after) "
          "| lookups during (ok / sent) |")
    print("|---|---|---|---|---|---|")
    for i, f in enumerate(run.faults):
        nxt = run.faults[i + 1].start if i + 1 < len(run.faults) else duration
        window_end = f.end if f.end is not None else min(f.start + 15, nxt)
        during = [r for r in rs if r.endpoint == "lookup" and f.start <= r.start < window_end]
        look_ok = sum(r.kind == "ok" for r in during)
        if f.name.startswith("chroma"):
            shown = first_after(rs, f.start, lambda r: r.endpoint == "search" and r.degraded)
            healthy = (lambda r: r.endpoint == "search" and r.degraded is False)
            back = healthy_after(rs, f.end, healthy) if f.end else None
        elif f.name.startswith("model"):
            shown = first_after(rs, f.start, lambda r: r.endpoint == "chat" and (
                r.answerer == "grounded_fallback" or r.kind.startswith("event error llm")))
            healthy = (lambda r: r.endpoint == "chat" and r.answerer == "llm")
            back = healthy_after(rs, f.end, healthy) if f.end else None
        else:  # a worker gone: the other answers meanwhile; "recovered" = another worker process is running
            shown, back = None, f.replaced
        lasted = f"{f.end - f.start:.0f} s" if f.end is not None else "-"
        if look_ok < len(during):
            missed.append(f"{f.name}: lookups failed")
        if shown is not None and shown > 5:
            missed.append(f"{f.name}: degraded answer after {shown:.1f} s > 5 s")
        if f.end and (back is None or back > 10):
            missed.append(f"{f.name}: " + ("no recovery" if back is None else f"recovered after {back:.1f} s > 10 s"))
        print(f"| {f.name} | {f.start:.0f} s | {lasted} | {'-' if shown is None else f'{shown:.1f} s'} "
              f"| {'-' if back is None else f'{back:.1f} s'} | {look_ok:,} / {len(during):,} |")
    worker = next((f for f in run.faults if f.name.startswith("worker")), None)
    if worker:
        cut = [r for r in streams if r.start < worker.start < r.end]
        print(f"\nstreams open at the worker's SIGTERM: {len(cut)}; their endings: "
              + (", ".join(f"{k} x{v}" for k, v in Counter(r.kind if r.terminal != 'done' else 'done'
                                                            for r in cut).items()) or "-"))
    print(f"feedback: {acked:,} acknowledged (201), {written:,} rows written")
    if acked != written:
        missed.append("feedback rows written != acknowledged")
    lookups = by.get("lookup", [])
    print(f"lookups answered: {sum(r.kind == 'ok' for r in lookups):,} / {len(lookups):,}")
    print(f"\nmust hold (every stream ends with exactly one terminal event, no 5xx but 503, faults shown within "
          f"5 s and recovered within 10 s, lookups answering throughout, feedback rows = acknowledged): "
          + ("HELD" if not missed else "NOT HELD: " + "; ".join(missed)))
    return not missed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=120, help="Seconds of load (faults at fixed fractions).")
    ap.add_argument("--chats", type=int, default=8, help="Concurrent chat streams.")
    ap.add_argument("--lookups", type=float, default=50, help="Code lookups per second.")
    ap.add_argument("--searches", type=float, default=10, help="Searches per second.")
    ap.add_argument("--feedback", type=float, default=2, help="Feedback posts per second.")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sources", default=SOURCES, help=f"What to ingest into a fresh index (default {SOURCES}).")
    ap.add_argument("--data-dir", type=Path, help="An existing index whose vectors are in --chroma-path.")
    ap.add_argument("--chroma-path", type=Path, help="The Chroma server's data folder for --data-dir.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary folders.")
    ap.add_argument("--dump", type=Path, help="Write every request's result and the faults to this JSON file.")
    ap.add_argument("--no-fallback", action="store_true",
                    help="CASEPILOT_CHROMA_FALLBACK=false: Chroma down answers searches and chats with 503.")
    args = ap.parse_args()
    if args.duration > 900:
        raise SystemExit("--duration: at most 900 s")
    if bool(args.data_dir) != bool(args.chroma_path):
        raise SystemExit("--data-dir and --chroma-path go together")

    tmp = Path(tempfile.mkdtemp(prefix="casepilot-load-faults-"))
    chroma = Chroma((args.chroma_path or tmp / "chroma").resolve(), free_port())
    model = FakeModel()
    server = None
    print(f"{datetime.date.today()} · {platform.node()} · {platform.machine()} · {os.cpu_count()} CPUs · "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} · Python {platform.python_version()}")
    try:
        chroma.start()
        data = args.data_dir.resolve() if args.data_dir else tmp / "data"
        if not args.data_dir:
            # a separate process, so this one stays small and does not hold the embedding model
            subprocess.run([sys.executable, __file__, "--build-index-only", str(data), chroma.url, args.sources],
                           cwd=REPO, check=True)
        model_url = model.start()
        t0 = time.perf_counter()
        server, base, log = start_server(server_env(data, chroma.url, model_url, not args.no_fallback), args.workers, tmp / "serve.log")
        print(f"casepilot serve --workers {args.workers} ready in {time.perf_counter() - t0:.0f} s "
              f"(log: {log}, kept with --keep); {args.chats} chat streams + {args.lookups:g} lookups/s + "
              f"{args.searches:g} "
              f"searches/s + {args.feedback:g} feedback/s + 4 slow clients for {args.duration:.0f} s"
              + (" · CASEPILOT_CHROMA_FALLBACK=false" if args.no_fallback else ""))
        run = asyncio.run(drive(base, args.duration, args, chroma, model, server))
        stop_server(server)
        from api import feedback_store

        rows = [r for r in feedback_store.rows(data) if str(r.get("conversation_id", "")).startswith(run.tag + "-")]
        acked = sum(1 for r in run.results if r.endpoint == "feedback" and r.status == 201)
        stats = model.stats()
        print(f"model: {stats['calls']:,} calls, {stats['hung_calls']:,} while hanging")
        held = summarize(run, acked, len(rows), args.duration)
        if args.dump:
            args.dump.write_text(json.dumps({"faults": [f.__dict__ for f in run.faults],
                                             "results": [r.__dict__ for r in run.results]}, indent=0))
    finally:
        for stop in ((lambda: stop_server(server)) if server is not None else None, model.stop, chroma.stop):
            try:
                if stop is not None:
                    stop()
            except Exception as e:  # one part failing to stop must not leave the others running
                print(f"stopping: {type(e).__name__}: {e}", file=sys.stderr)
        if args.keep:
            print(f"kept: --data-dir {tmp / 'data'} --chroma-path {chroma.path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--build-index-only":
        build_index(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "--fake-model":
        import uvicorn

        uvicorn.run(fake_model_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False, lifespan="off")
    else:
        main()
