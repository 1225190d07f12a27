"""The ingest pipeline: sources -> code store + passage store + Chroma + BM25, idempotently.

Over 300 lines on purpose: one concept, bringing the stores in line with the sources. The lexical stage
(``_Ingest``) and the dense stage (``_Dense``) share the dense queue, the writer lock, the Chroma batch size,
the embedding path and the ``stage.json`` they both write, and a full ingest runs both in one pass.

Passage ids are stable and each passage carries a content hash; a run embeds and writes only what is
new or changed and deletes what its source no longer yields. One writer at a time (a file lock).

Staged start (a fresh data directory answers lookups within a minute):

- ``run_ingest(..., dense=False)`` is the lexical stage: code store, passage store and BM25, no model
  and no vectors. Each passage's embedding text waits in ``dense_queue.sqlite``; vectors whose passage
  changed or went are deleted from Chroma, so every vector left there is current.
- ``run_dense(settings)`` is the dense stage: it embeds and upserts, batch by batch, exactly the
  passages that have no vector in Chroma, and rewrites ``stage.json`` (done / total, rate, ETA) after
  every batch. A kill loses at most one batch; a re-run resumes (the embedding cache keeps every vector
  already computed). It takes the same writer lock.
- ``run_ingest(...)`` (``dense=True``, the default) does both in one pass, as it always did; after
  either stage a full ingest embeds nothing that is already in Chroma and ends in the same state.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from casepilot.embeddings import (EmbeddingCache, EmbeddingId, MiniLMEmbeddings, default_export_dir, embed_with_cache,
                                  embedder_for)
from casepilot.codestore import CodeStore
from casepilot.lexical import LexicalIndex, content_fingerprint
from casepilot.passages import PassageStore
from casepilot.settings import Settings
from casepilot.status import write_stage
from casepilot.vectorstore import collection_for, collection_name, get_collection, make_client
from ingest.lock import IngestBusy, lock_for, writer_lock  # noqa: F401  (re-exported for callers)
from ingest.source import Problem, Source, stable_hash


@dataclass
class Summary:
    records: int = 0
    passages: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    embedded: int = 0
    pending_vectors: int = 0  # passages without a vector yet (after a lexical-only run)
    seconds: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)  # name -> "indexed" | "unchanged" | "failed"
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(not p.refused for p in self.problems)

    def to_dict(self) -> dict:
        return {
            "records": self.records, "passages": self.passages, "added": self.added, "updated": self.updated,
            "deleted": self.deleted, "skipped": self.skipped, "embedded": self.embedded,
            "pending_vectors": self.pending_vectors, "seconds": round(self.seconds, 2), "sources": self.sources,
            "problems": [str(p) for p in self.problems],
        }


class Reporter:
    """Progress callbacks; the CLI plugs rich progress bars in, tests use the silent default."""

    def stage(self, text: str) -> None: ...

    def start(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def finish(self) -> None: ...


def run_ingest(
    settings: Settings,
    sources: Sequence[Source],
    reporter: Reporter | None = None,
    rebuild: bool = False,
    embedder: MiniLMEmbeddings | None = None,
    dense: bool = True,
) -> Summary:
    """Bring the stores in line with ``sources``; raise IngestBusy if another ingest is running.

    ``dense=False`` is the lexical stage: everything but the vectors (no model is loaded); ``run_dense``
    adds them later.
    """
    with writer_lock(settings.data_dir):
        return _Ingest(settings, reporter or Reporter(), embedder, dense).run(sources, rebuild)


def _max_batch(client) -> int:
    try:
        return min(int(client.get_max_batch_size()), 4000)
    except Exception:
        return 1000


class DenseQueue:
    """The text each passage's vector is made from, kept until the vector is in Chroma.

    The passage store keeps what is shown (text, metadata); a vector can come from other text
    (``embed_text``: a code's title with its inclusion terms). The lexical stage parks it here, the
    dense stage takes it from here, and a collection's rows go once all its vectors are in.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=30)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.executescript(
            "CREATE TABLE IF NOT EXISTS queue (id TEXT PRIMARY KEY, collection TEXT NOT NULL, hash TEXT NOT NULL,"
            " text TEXT NOT NULL);"
            "CREATE INDEX IF NOT EXISTS queue_by_collection ON queue(collection);"
        )

    @staticmethod
    def path_for(data_dir: Path) -> Path:
        return Path(data_dir) / "dense_queue.sqlite"

    def put(self, collection: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """rows: (passage id, passage hash, embedding text)."""
        with self.con:
            self.con.executemany("INSERT OR REPLACE INTO queue VALUES (?,?,?,?)",
                                 [(i, collection, h, t) for i, h, t in rows])

    def get(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """id -> (hash, embedding text) of the ids that are queued."""
        out: dict[str, tuple[str, str]] = {}
        for i in range(0, len(ids), 900):
            part = list(ids[i : i + 900])
            q = f"SELECT id, hash, text FROM queue WHERE id IN ({','.join('?' * len(part))})"
            out.update({pid: (h, t) for pid, h, t in self.con.execute(q, part)})
        return out

    def count(self, collection: str) -> int:
        return self.con.execute("SELECT COUNT(*) FROM queue WHERE collection = ?", (collection,)).fetchone()[0]

    def delete(self, ids: Sequence[str]) -> None:
        with self.con:
            for i in range(0, len(ids), 900):
                part = list(ids[i : i + 900])
                self.con.execute(f"DELETE FROM queue WHERE id IN ({','.join('?' * len(part))})", part)

    def clear(self, collection: str) -> None:
        with self.con:
            self.con.execute("DELETE FROM queue WHERE collection = ?", (collection,))

    def close(self) -> None:
        self.con.close()


def _vector_counts(passages: PassageStore, client, settings: Settings) -> dict[str, dict]:
    """Per collection with passages that gets vectors: ``total`` passages and ``done`` (how many have a vector in
    Chroma). A lexical-only collection (settings.lexical_only) has none to wait for."""
    out: dict[str, dict] = {}
    for coll, (_, n) in sorted(passages.revisions().items()):
        if not n or not settings.embeds(coll):
            continue
        chroma = get_collection(client, coll) if client is not None else None
        out[coll] = {"total": n, "done": min(chroma.count(), n) if chroma is not None else 0}
    return out


class _Ingest:
    def __init__(self, settings: Settings, reporter: Reporter, embedder: MiniLMEmbeddings | None,
                 dense: bool = True):
        self.settings = settings
        self.reporter = reporter
        self.dense = dense
        self.codes = CodeStore(settings.codestore_path, readonly=False)
        self.passages = PassageStore(settings.data_dir / "passages.sqlite", readonly=False)
        self._client = None
        self.cache = None
        self.embedder = None
        self.queue: DenseQueue | None = None
        if dense:
            self._client = make_client(settings)
            self.cache = EmbeddingCache(settings.data_dir / "embeddings.sqlite")
            self.embedder = embedder or MiniLMEmbeddings(settings.embed_model, settings.embed_batch_size,
                                                         settings.embed_backend, default_export_dir(settings.data_dir))
            if DenseQueue.path_for(settings.data_dir).exists():
                self.queue = DenseQueue(DenseQueue.path_for(settings.data_dir))
        else:
            self.queue = DenseQueue(DenseQueue.path_for(settings.data_dir))
        self.max_batch = _max_batch(self._client) if self._client is not None else 1000
        self.summary = Summary()

    @property
    def client(self):
        """Chroma (opened on first use in the lexical stage, which only needs it to drop stale vectors)."""
        if self._client is None:
            self._client = make_client(self.settings)
            self.max_batch = _max_batch(self._client)
        return self._client

    def _client_if_any(self):
        """Chroma if there can be vectors already (a server, or an embedded store on disk), else None."""
        if self._client is not None or self.settings.chroma_url or self.settings.chroma_dir.exists():
            return self.client
        return None

    def run(self, sources: Sequence[Source], rebuild: bool) -> Summary:
        t0 = time.perf_counter()
        try:
            for src in sources:
                self._one(src, rebuild)
            self._write_stage()
        finally:
            if self.cache is not None:
                self.cache.close()
            if self.queue is not None:
                self.queue.close()
        self.summary.seconds = time.perf_counter() - t0
        return self.summary

    def _write_stage(self) -> None:
        """Record in stage.json how many passages of each collection have a vector (for /readyz, status)."""
        counts = _vector_counts(self.passages, self._client_if_any(), self.settings)
        self.summary.pending_vectors = sum(c["total"] - c["done"] for c in counts.values())
        complete = self.summary.pending_vectors == 0
        build = {"state": "done" if complete else "pending", "pid": None, "rate": None,
                 "eta_s": 0.0 if complete else None,
                 "message": "" if complete else "vectors pending: `casepilot serve` builds them in the background "
                 "(or run `casepilot ingest --dense-only`)"}
        write_stage(self.settings.data_dir, {"build": build, "collections": counts})

    def _in_sync(self, src: Source, fp: str) -> bool:
        if self.codes.fingerprint(src.name) != fp:
            return False
        revs = self.passages.revisions()
        for coll in src.collections:
            rev = revs.get(coll)
            if rev is None:
                continue  # the source yields nothing for this collection
            if rev[0] != fp:
                return False
            if not self.settings.embeds(coll):
                client = self._client_if_any()
                if client is not None and get_collection(client, coll) is not None:
                    return False  # vectors from before it was lexical-only: the sync drops them
            elif self.dense:
                chroma = get_collection(self.client, coll)
                if (chroma.count() if chroma is not None else 0) != rev[1]:
                    return False
            elif rev[1]:
                # The lexical stage needs no vectors, only the text to make the missing ones from.
                client = self._client_if_any()
                chroma = get_collection(client, coll) if client is not None else None
                missing = rev[1] - (chroma.count() if chroma is not None else 0)
                if missing > 0 and self.queue is not None and self.queue.count(coll) < missing:
                    return False
            if rev[1] and not LexicalIndex.is_current(self.settings.data_dir / "bm25" / coll,
                                                      content_fingerprint(self.passages.hashes(coll))):
                return False  # BM25 is missing, damaged or behind the passages (a run killed before its save)
        return True

    def _one(self, src: Source, rebuild: bool) -> None:
        s = self.summary
        self.reporter.stage(f"{src.name}: checking")
        fp = src.fingerprint()
        if not rebuild and self._in_sync(src, fp):
            counts = self.passages.revisions()
            n = sum(counts.get(c, ("", 0))[1] for c in src.collections)
            s.passages += n
            s.skipped += n
            s.records += next((x["records"] for x in self.codes.sources() if x["name"] == src.name), 0)
            s.sources[src.name] = "unchanged"
            return
        self.reporter.stage(f"{src.name}: reading")
        records = list(src.records())
        by_coll: dict[str, list] = defaultdict(list)
        for doc in src.passages():
            by_coll[doc.metadata["collection"]].append(doc)
        failed = any(not p.refused for p in src.problems)
        s.problems.extend(src.problems)
        # A source with unreadable files keeps what it had: no deletions, and no fingerprint, so the
        # next run tries again once the file is fixed.
        for coll in sorted(set(src.collections) | set(by_coll)):
            self._sync_collection(coll, by_coll.get(coll, []), fp if not failed else "", delete=not failed,
                                  rebuild=rebuild)
        s.records += len(records)
        self.codes.replace_source(src.name, src.system, src.version, fp if not failed else "", records,
                                  note=src.note, keep_existing=failed)
        s.sources[src.name] = "failed" if failed else "indexed"

    def _sync_collection(self, coll: str, docs: list, revision: str, delete: bool, rebuild: bool) -> None:
        s = self.summary
        existing = self.passages.hashes(coll)
        if not docs and not existing:
            return
        rows = []
        for d in docs:
            meta = dict(d.metadata)
            embed_text = meta.pop("embed_text", None) or d.page_content
            h = stable_hash(d.page_content, meta, embed_text)
            rows.append((d.id, h, d.page_content, meta, embed_text))
        seen = {r[0] for r in rows}
        if not self.dense or not self.settings.embeds(coll):
            self._sync_lexical(coll, rows, existing, seen, revision, delete, rebuild)
            return
        # All of a collection's vectors come from one embedder, the one it recorded: the settings' when the
        # collection is new or empty, or on --rebuild (which drops vectors of another model or backend).
        chroma = collection_for(self.client, coll, self.embedder.id, replace=rebuild)
        embedder = embedder_for(chroma.metadata, self.embedder, default_export_dir(self.settings.data_dir))
        if rebuild:
            changed = rows
        else:
            changed = [r for r in rows if existing.get(r[0]) != r[1]]
            if chroma.count() != len(existing):
                # Chroma lost or gained vectors behind our back (new server, interrupted run): re-check all.
                have = set(chroma.get(include=[])["ids"]) if chroma.count() else set()
                changed = [r for r in rows if r[0] not in have or existing.get(r[0]) != r[1]]
                if delete:
                    extra = sorted(have - seen)
                    for i in range(0, len(extra), self.max_batch):
                        chroma.delete(ids=extra[i : i + self.max_batch])
        added = sum(1 for r in changed if r[0] not in existing)
        s.added += added
        s.updated += len(changed) - added
        s.skipped += len(rows) - len(changed)
        s.passages += len(rows)
        if changed:
            tick = self.reporter.start(f"{coll}: embedding", len(changed))
            step = self.max_batch
            for i in range(0, len(changed), step):
                part = changed[i : i + step]
                vecs, n_new = embed_with_cache(embedder, self.cache, [r[4] for r in part], progress=tick)
                s.embedded += n_new
                chroma.upsert(
                    ids=[r[0] for r in part], embeddings=vecs.tolist(), documents=[r[2] for r in part],
                    metadatas=[r[3] for r in part],
                )
                self.passages.upsert((r[0], coll, r[1], r[2], r[3]) for r in part)
            self.reporter.finish()
        gone = sorted(set(existing) - seen) if delete else []
        for i in range(0, len(gone), self.max_batch):
            chroma.delete(ids=gone[i : i + self.max_batch])
        self.passages.delete(gone)
        s.deleted += len(gone)
        if self.queue is not None:
            # these passages have their vectors now (a failed file's passages, kept as they were, keep theirs)
            self.queue.delete(sorted(seen) + gone)
        self._finish_collection(coll, revision, bool(changed or gone))

    def _finish_collection(self, coll: str, revision: str, changed: bool) -> None:
        """Rebuild BM25 when passages changed or the saved index was built from other passages (a run
        killed between the passage writes and the save, or during the save), then record the revision."""
        folder = self.settings.data_dir / "bm25" / coll
        fingerprint = content_fingerprint(self.passages.hashes(coll))
        if changed or not LexicalIndex.is_current(folder, fingerprint):
            self.reporter.stage(f"{coll}: building the BM25 index" if changed
                                else f"{coll}: rebuilding the BM25 index (out of date, or not the passages' own)")
            ids, texts = self.passages.texts(coll)
            LexicalIndex.build(ids, texts).save(folder, fingerprint)
        self.passages.set_revision(coll, revision)

    def _sync_lexical(self, coll: str, rows: list, existing: dict[str, str], seen: set[str], revision: str,
                      delete: bool, rebuild: bool) -> None:
        """The lexical stage of one collection: passages and BM25 now, the vectors' texts for later.

        Vectors of passages that changed or went are deleted from Chroma here, so that whatever Chroma
        holds is current and the dense stage only has to fill in what is missing.
        """
        s = self.summary
        changed = rows if rebuild else [r for r in rows if existing.get(r[0]) != r[1]]
        stale = [r[0] for r in rows if r[0] in existing and existing[r[0]] != r[1]]
        gone = sorted(set(existing) - seen) if delete else []
        added = sum(1 for r in changed if r[0] not in existing)
        s.added += added
        s.updated += len(changed) - added
        s.skipped += len(rows) - len(changed)
        s.passages += len(rows)
        embeds = self.settings.embeds(coll)
        if not embeds and (client := self._client_if_any()) is not None and get_collection(client, coll) is not None:
            # made lexical-only since its vectors were built: they would only go stale
            self.reporter.stage(f"{coll}: lexical only (CASEPILOT_LEXICAL_ONLY), removing its vectors")
            client.delete_collection(collection_name(coll))
        elif rebuild and (client := self._client_if_any()) is not None and get_collection(client, coll) is not None:
            # --rebuild applies the embedding settings: vectors of another model or backend go, and the dense
            # stage makes them anew from the queued texts
            collection_for(client, coll, EmbeddingId(self.settings.embed_model, self.settings.embed_backend),
                           replace=True)
        if (stale or gone) and embeds:
            client = self._client_if_any()
            chroma = get_collection(client, coll) if client is not None else None
            if chroma is not None:
                drop = stale + gone
                for i in range(0, len(drop), self.max_batch):
                    chroma.delete(ids=drop[i : i + self.max_batch])
        if embeds:
            assert self.queue is not None
            self.queue.put(coll, ((r[0], r[1], r[4]) for r in rows))
        elif self.queue is not None:
            self.queue.clear(coll)
        if changed:
            self.reporter.stage(f"{coll}: writing {len(changed):,} passages")
            for i in range(0, len(changed), 5000):
                self.passages.upsert((r[0], coll, r[1], r[2], r[3]) for r in changed[i : i + 5000])
        self.passages.delete(gone)
        if self.queue is not None:
            self.queue.delete(gone)
        s.deleted += len(gone)
        self._finish_collection(coll, revision, bool(changed or gone))


@dataclass
class DenseSummary:
    """What one dense-stage run did; ``complete`` when every passage has its vector."""

    embedded: int = 0  # vectors newly computed (the rest came from the embedding cache)
    upserted: int = 0  # vectors written to Chroma
    deleted: int = 0  # vectors of passages that no longer exist, removed
    done: int = 0  # passages with a vector, at the end
    total: int = 0
    complete: bool = False
    stopped: bool = False  # stopped early (a batch limit or a stop request): run again to resume
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"embedded": self.embedded, "upserted": self.upserted, "deleted": self.deleted, "done": self.done,
                "total": self.total, "complete": self.complete, "stopped": self.stopped,
                "seconds": round(self.seconds, 2), "problems": list(self.problems)}


def run_dense(
    settings: Settings,
    reporter: Reporter | None = None,
    embedder: MiniLMEmbeddings | None = None,
    batch_size: int = 1000,
    max_batches: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> DenseSummary:
    """The dense stage: embed and upsert the passages that have no vector in Chroma, ``batch_size`` at a time.

    Progress (done / total, rate, ETA per collection) goes to stage.json after every batch. Stops
    cleanly after ``max_batches`` batches or when ``stop()`` turns true (checked between batches); a
    later run resumes. Raises IngestBusy if another ingest holds the lock.
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, but got {batch_size}")
    with writer_lock(settings.data_dir):
        return _Dense(settings, reporter or Reporter(), embedder, batch_size).run(max_batches, stop)


class _Dense:
    def __init__(self, settings: Settings, reporter: Reporter, embedder: MiniLMEmbeddings | None, batch_size: int):
        self.settings = settings
        self.reporter = reporter
        self.embedder = embedder
        self.batch_size = batch_size
        self.summary = DenseSummary()
        self.counts: dict[str, dict] = {}
        self.started = time.time()
        self.processed = 0  # passages given a vector in this run (the rate's numerator)
        self.work_seconds = 0.0
        self.order: list[str] = []

    def run(self, max_batches: int | None, stop: Callable[[], bool] | None) -> DenseSummary:
        t0 = time.perf_counter()
        s = self.summary
        if not (self.settings.data_dir / "passages.sqlite").exists():
            s.problems.append(f"no index in {self.settings.data_dir}: run `casepilot ingest --lexical-only` first")
            return s
        passages = PassageStore(self.settings.data_dir / "passages.sqlite", readonly=False)
        client = make_client(self.settings)
        queue = DenseQueue(DenseQueue.path_for(self.settings.data_dir))
        cache = EmbeddingCache(self.settings.data_dir / "embeddings.sqlite")
        max_batch = _max_batch(client)
        batches = 0
        try:
            plan = []
            for coll, (_, n) in sorted(passages.revisions().items()):
                if not self.settings.embeds(coll):
                    queue.clear(coll)
                    continue
                hashes = passages.hashes(coll)  # in insertion order: vectors go in as a full ingest adds them
                chroma = collection_for(client, coll, self.embedder_().id) if hashes else get_collection(client, coll)
                if chroma is None:
                    continue
                have = set(chroma.get(include=[])["ids"]) if chroma.count() else set()
                extra = sorted(have - set(hashes))
                for i in range(0, len(extra), max_batch):
                    chroma.delete(ids=extra[i : i + max_batch])
                s.deleted += len(extra)
                if not hashes:
                    continue
                missing = [i for i in hashes if i not in have]
                self.counts[coll] = {"total": len(hashes), "done": len(hashes) - len(missing)}
                plan.append((coll, chroma, hashes, missing))
            plan.sort(key=lambda p: (len(p[3]), p[0]))  # small collections (the guidance) first
            self.order = [p[0] for p in plan]
            self._write("running")
            for coll, chroma, hashes, missing in plan:
                if not missing:
                    queue.clear(coll)
                    continue
                texts = queue.get(missing)
                todo = [i for i in missing if i in texts and texts[i][0] == hashes[i]]
                if len(todo) < len(missing):
                    s.problems.append(
                        f"{coll}: {len(missing) - len(todo):,} passages have no vector and no queued text to make "
                        "one from: run `casepilot ingest` to rebuild them")
                tick = self.reporter.start(f"{coll}: embedding", len(todo))
                try:
                    for i in range(0, len(todo), self.batch_size):
                        if (max_batches is not None and batches >= max_batches) or (stop is not None and stop()):
                            s.stopped = True
                            break
                        part = todo[i : i + self.batch_size]
                        t = time.perf_counter()
                        docs = passages.get(part)
                        vecs, n_new = embed_with_cache(
                            embedder_for(chroma.metadata, self.embedder_(), default_export_dir(self.settings.data_dir)),
                            cache, [texts[p][1] for p in part], progress=tick)
                        chroma.upsert(ids=part, embeddings=vecs.tolist(),
                                      documents=[docs[p].page_content for p in part],
                                      metadatas=[docs[p].metadata for p in part])
                        queue.delete(part)
                        batches += 1
                        s.embedded += n_new
                        s.upserted += len(part)
                        self.processed += len(part)
                        self.work_seconds += time.perf_counter() - t
                        self.counts[coll]["done"] += len(part)
                        self._write("running", current=coll)
                finally:
                    self.reporter.finish()
                if s.stopped:
                    break
                if self.counts[coll]["done"] >= self.counts[coll]["total"]:
                    queue.clear(coll)
        except BaseException as e:
            self._write("failed" if isinstance(e, Exception) else "stopped",
                        message=f"{type(e).__name__}: {e}"[:300] if isinstance(e, Exception) else "interrupted")
            raise
        finally:
            queue.close()
            cache.close()
        s.done = sum(c["done"] for c in self.counts.values())
        s.total = sum(c["total"] for c in self.counts.values())
        s.complete = s.done >= s.total
        if s.complete:
            self._write("done")
        elif s.stopped:
            self._write("stopped", message="stopped before the end: run `casepilot ingest --dense-only` to resume")
        else:
            self._write("failed", message="; ".join(s.problems))
        s.seconds = time.perf_counter() - t0
        return s

    def embedder_(self) -> MiniLMEmbeddings:
        if self.embedder is None:
            self.embedder = MiniLMEmbeddings(self.settings.embed_model, self.settings.embed_batch_size,
                                             self.settings.embed_backend, default_export_dir(self.settings.data_dir))
        return self.embedder

    def _write(self, state: str, current: str | None = None, message: str = "") -> None:
        rate = self.processed / self.work_seconds if self.processed and self.work_seconds > 0 else None
        remaining = 0
        counts = {}
        for coll in sorted(self.counts, key=lambda c: self.order.index(c) if c in self.order else len(self.order)):
            c = self.counts[coll]
            left = max(c["total"] - c["done"], 0)
            remaining += left
            counts[coll] = {**c, "rate": round(rate, 1) if rate and coll == current else None,
                            # a queued collection's ETA includes the collections before it
                            "eta_s": round(remaining / rate, 1) if rate and left else (0.0 if not left else None)}
        build = {"state": state, "pid": os.getpid() if state == "running" else None,
                 "started_at": round(self.started, 3), "rate": round(rate, 1) if rate else None,
                 "eta_s": round(remaining / rate, 1) if rate and remaining else (0.0 if not remaining else None),
                 "current": current, "message": message}
        write_stage(self.settings.data_dir, {"build": build, "collections": counts})


def default_sources(settings: Settings) -> list[Source]:
    """The knowledge CasePilot ships: ICD-10-CM, ICD-10-PCS and the project's corpus."""
    from ingest.corpus import CorpusSource
    from ingest.icd10cm import ICD10CMSource
    from ingest.icd10pcs import ICD10PCSSource

    return [ICD10CMSource(), ICD10PCSSource(), CorpusSource(settings.corpus_dir)]

