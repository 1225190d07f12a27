"""What is loaded, for `casepilot status` and `/readyz`; and the staged start's progress file.

A fresh data directory is built in two stages (see ``ingest.pipeline``):

- ``lexical``: the code store, the passage store and the BM25 indexes. Lookups, lexical description
  search, guidance and the widget all work from here on.
- ``dense``: the Chroma vectors, built in batches behind the lexical stage (usually by a worker that
  ``casepilot serve`` starts), resumable after a kill.

The ingest side writes ``<data_dir>/stage.json`` (atomically) after the lexical stage, after every
dense batch and at the end of a full ingest. This module reads it; it never needs Chroma or the model.
A data directory without the file was built by a full ingest before staged start existed: it is full.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from casepilot.codestore import CodeStore
from casepilot.tables import loaded_tables, tables_path
from casepilot.passages import PassageStore
from casepilot.settings import Settings

STAGE_FILE = "stage.json"
STAGE_VERSION = 1
# Build states, as written by the ingest side; readers turn a "running" build whose process is gone
# into "stopped".
BUILD_STATES = ("pending", "running", "stopped", "done", "failed")


# -- the progress file --------------------------------------------------------------------------------


def stage_path(data_dir: Path) -> Path:
    return Path(data_dir) / STAGE_FILE


def read_stage(data_dir: Path) -> dict | None:
    """The progress file, or None when there is none (or it cannot be read: it is rewritten often)."""
    try:
        data = json.loads(stage_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_stage(data_dir: Path, info: dict) -> None:
    """Replace the progress file atomically: readers see the old file or the new one, never half of one."""
    path = stage_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {**info, "version": STAGE_VERSION, "updated_at": round(time.time(), 3)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, path)


def pid_alive(pid: int | None) -> bool:
    """True when a process with this id runs on this machine."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return isinstance(pid, int) and pid > 0  # exists, owned by someone else
    except OSError:
        return False
    return True


def format_eta(seconds: float | None) -> str:
    """``ETA`` as a person reads it: "40 s", "6 min", "1 h 05 min"."""
    if seconds is None:
        return "unknown"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def dense_progress(settings: Settings) -> dict:
    """The vector build as readers should report it.

    Keys: ``stage`` ("none": nothing ingested; "lexical": lookups and BM25 ready, vectors incomplete;
    "full": everything ready), ``full``, ``done``, ``total``, ``fraction``, ``rate`` (texts/s, while a
    build runs), ``eta_s``, ``build`` (pending/running/stopped/done/failed), ``pid``, ``message``,
    ``collections`` (per collection: ``done``, ``total``, ``fraction``, ``rate``, ``eta_s``).
    """
    data_dir = Path(settings.data_dir)
    present = (data_dir / "passages.sqlite").exists() and settings.codestore_path.exists()
    info = read_stage(data_dir)
    if info is None:
        stage = "full" if present else "none"
        return {"stage": stage, "full": present, "done": None, "total": None, "fraction": 1.0 if present else 0.0,
                "rate": None, "eta_s": None, "build": "done" if present else "pending", "pid": None,
                "message": "", "collections": {}}
    build = dict(info.get("build") or {})
    state = build.get("state") or "pending"
    running = state == "running" and pid_alive(build.get("pid"))
    if state == "running" and not running:
        state = "stopped"
    colls: dict[str, dict] = {}
    done = total = 0
    for name, c in sorted((info.get("collections") or {}).items()):
        t, d = int(c.get("total") or 0), min(int(c.get("done") or 0), int(c.get("total") or 0))
        done, total = done + d, total + t
        colls[name] = {"done": d, "total": t, "fraction": round(d / t, 4) if t else 1.0,
                       "rate": c.get("rate") if running else None,
                       "eta_s": c.get("eta_s") if running and d < t else (0.0 if d >= t else None)}
    full = present and done >= total
    if full and state in ("pending", "stopped"):
        state = "done"
    return {
        "stage": ("full" if full else "lexical") if present else "none",
        "full": full,
        "done": done,
        "total": total,
        "fraction": round(done / total, 4) if total else (1.0 if present else 0.0),
        "rate": build.get("rate") if running else None,
        "eta_s": build.get("eta_s") if running and not full else (0.0 if full else None),
        "build": state,
        "pid": build.get("pid") if running else None,
        "message": build.get("message") or "",
        "collections": colls,
    }


def retrieval_modes(settings: Settings, retriever=None) -> dict:
    """Which retrieval modes answer now, for each answer's ``meta``.

    Dense retrieval is live when the vectors are complete and ``retriever`` uses them (the server keeps
    a ``Retriever(dense=False)`` until the background build is done).
    """
    p = dense_progress(settings)
    live = bool(getattr(retriever, "dense_live", True))
    out = {"lexical": p["stage"] != "none", "dense": bool(live and p["full"]), "dense_progress": p["fraction"]}
    if settings.lexical_only:
        out["lexical_only"] = sorted(settings.lexical_only)  # never searched by vectors, by configuration
    embeddings = getattr(retriever, "query_embeddings", None)
    if out["dense"] and embeddings is not None:
        # model/backend the searched collections were built with: queries are embedded the same way
        out["embedding"] = embeddings()
    available = getattr(retriever, "dense_available", None)
    if out["dense"] and available is not None and not available():
        # The vectors are built but the vector store does not answer (its breaker is open).
        out["dense"] = False
        out["dense_unavailable"] = True
    return out


# -- what is loaded -----------------------------------------------------------------------------------


def collect_status(settings: Settings) -> dict:
    """Sources with versions and record counts, collections with passage counts, the answerer in force,
    and the staged start: ``stage`` and ``vectors`` (the dense build's progress)."""
    info: dict = {
        "data_dir": str(settings.data_dir.resolve()),
        "chroma": settings.chroma_url or f"embedded ({settings.chroma_dir})",
        "sources": [],
        "collections": {},
        "tables": [],
        "answerer": f"LLM {settings.llm}" if settings.llm else "grounded (offline, no LLM)",
        # what makes new collections' vectors; an existing collection keeps the one it was built with
        "embedding": f"{settings.embed_model}/{settings.embed_backend}",
    }
    if settings.codestore_path.exists():
        info["sources"] = CodeStore(settings.codestore_path).sources()
    ps = settings.data_dir / "passages.sqlite"
    if ps.exists():
        info["collections"] = {k: n for k, (_, n) in sorted(PassageStore(ps).revisions().items())}
    info["tables"] = loaded_tables(tables_path(settings.data_dir))
    progress = dense_progress(settings)
    if progress["total"] is None:  # no progress file: a full index from before staged start
        embedded = {k: n for k, n in info["collections"].items() if settings.embeds(k)}
        progress["collections"] = {k: {"done": n, "total": n, "fraction": 1.0, "rate": None, "eta_s": 0.0}
                                   for k, n in embedded.items()}
        progress["done"] = progress["total"] = sum(embedded.values())
    # searched by BM25 (and exact titles, the PCS index) alone: no vectors to build or wait for
    info["lexical_only"] = sorted(k for k in info["collections"] if not settings.embeds(k))
    info["stage"] = progress.pop("stage")
    info["full"] = progress.pop("full")
    info["vectors"] = progress
    return info
