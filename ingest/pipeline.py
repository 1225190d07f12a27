"""The ingest pipeline: sources -> code store + passage store + Chroma + BM25, idempotently.

Passage ids are stable and each passage carries a content hash; a run embeds and writes only what is
new or changed and deletes what its source no longer yields. One writer at a time (a file lock).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from casepilot.embeddings import EmbeddingCache, MiniLMEmbeddings, embed_with_cache
from casepilot.codestore import CodeStore
from casepilot.lexical import LexicalIndex
from casepilot.passages import PassageStore
from casepilot.settings import Settings
from casepilot.vectorstore import get_collection, make_client
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
            "seconds": round(self.seconds, 2), "sources": self.sources,
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
) -> Summary:
    """Bring the stores in line with ``sources``; raise IngestBusy if another ingest is running."""
    with writer_lock(settings.data_dir):
        return _Ingest(settings, reporter or Reporter(), embedder).run(sources, rebuild)


class _Ingest:
    def __init__(self, settings: Settings, reporter: Reporter, embedder: MiniLMEmbeddings | None):
        self.settings = settings
        self.reporter = reporter
        self.codes = CodeStore(settings.codestore_path, readonly=False)
        self.passages = PassageStore(settings.data_dir / "passages.sqlite", readonly=False)
        self.client = make_client(settings)
        self.cache = EmbeddingCache(settings.data_dir / "embeddings.sqlite", settings.embed_model)
        self.embedder = embedder or MiniLMEmbeddings(settings.embed_model, settings.embed_batch_size)
        try:
            self.max_batch = min(int(self.client.get_max_batch_size()), 4000)
        except Exception:
            self.max_batch = 1000
        self.summary = Summary()

    def run(self, sources: Sequence[Source], rebuild: bool) -> Summary:
        t0 = time.perf_counter()
        try:
            for src in sources:
                self._one(src, rebuild)
        finally:
            self.cache.close()
        self.summary.seconds = time.perf_counter() - t0
        return self.summary

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
            chroma = get_collection(self.client, coll)
            if (chroma.count() if chroma is not None else 0) != rev[1]:
                return False
            if rev[1] and not LexicalIndex.is_current(self.settings.data_dir / "bm25" / coll):
                return False
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
        chroma = get_collection(self.client, coll, create=True)
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
                vecs, n_new = embed_with_cache(self.embedder, self.cache, [r[4] for r in part], progress=tick)
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
        folder = self.settings.data_dir / "bm25" / coll
        if changed or gone or not LexicalIndex.is_current(folder):
            self.reporter.stage(f"{coll}: building the BM25 index")
            ids, texts = self.passages.texts(coll)
            LexicalIndex.build(ids, texts).save(folder)
        self.passages.set_revision(coll, revision)


def default_sources(settings: Settings) -> list[Source]:
    """The knowledge CasePilot ships: ICD-10-CM, ICD-10-PCS and the project's corpus."""
    from ingest.corpus import CorpusSource
    from ingest.icd10cm import ICD10CMSource
    from ingest.icd10pcs import ICD10PCSSource

    return [ICD10CMSource(), ICD10PCSSource(), CorpusSource(settings.corpus_dir)]

