"""Foundation benchmark over the full default index: ingest, lookup, search, description->code quality.

Prints medians and ratios against baselines measured in the same run:
  - re-ingest with nothing changed (and, with --cold, a cold ingest into a fresh directory);
  - lookup latency p50/p95 over random codes;
  - search latency p50/p95 of the hybrid retriever;
  - description->code hit@1 / hit@5 of hybrid vs dense-only (LangChain Chroma similarity_search,
    same model) vs BM25-only, on items sampled reproducibly from ICD-10-CM: half with the official
    wording, half reworded (abbreviations, synonyms, word order).

Usage: .venv/bin/python benchmarks/bench_foundation.py [--data-dir .casepilot] [--items 240] [--seed 7] [--cold]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casepilot.settings import Settings, prepare_offline_environment  # noqa: E402

prepare_offline_environment()

# Reverse vocabulary: official wording -> what coders type. Applied to build reworded items.
REWORDS = [
    ("type 2 diabetes mellitus", "T2DM"), ("type 1 diabetes mellitus", "T1DM"),
    ("chronic kidney disease", "CKD"), ("chronic obstructive pulmonary disease", "COPD"),
    ("gastro-esophageal reflux disease", "GERD"), ("non-ST elevation (NSTEMI) myocardial infarction", "NSTEMI"),
    ("ST elevation (STEMI) myocardial infarction", "STEMI"), ("myocardial infarction", "heart attack"),
    ("hypertensive", "high blood pressure"), ("hypertension", "HTN"), ("atrial fibrillation", "AFib"),
    ("urinary tract infection", "UTI"), ("malignant neoplasm", "cancer"), ("neoplasm", "tumor"),
    ("unspecified", ""), ("without complications", "no complications"), ("with", "w/"),
    ("fracture", "fx"), ("right", "rt"), ("left", "lt"), ("encounter", "visit"),
    ("congestive heart failure", "CHF"), ("deep vein thrombosis", "DVT"), ("pulmonary embolism", "PE"),
    ("obstructive sleep apnea", "OSA"), ("acute kidney failure", "AKI"), ("pneumonia", "PNA"),
    ("cerebral infarction", "stroke"), ("of", ""),
]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def reword(text: str, rng: random.Random) -> str | None:
    """A coder's rewording of an official description, or None when no rule applies."""
    out = text
    changed = False
    for official, casual in REWORDS:
        pat = re.compile(rf"\b{re.escape(official)}\b", re.I)
        if pat.search(out) and (rng.random() < 0.85 or official in ("unspecified",)):
            out = pat.sub(casual, out, count=1)
            changed = True
    # word order: "A, B" -> "B A" and "X of Y" was dropped above; shuffle comma clauses
    parts = [p.strip() for p in out.split(",") if p.strip()]
    if len(parts) > 1 and rng.random() < 0.7:
        rng.shuffle(parts)
        out = " ".join(parts)
        changed = True
    out = " ".join(out.split())
    return out if changed and out.lower() != text.lower() else None


def sample_items(n: int, seed: int) -> list[dict]:
    import simple_icd_10_cm as cm

    rng = random.Random(seed)
    leaves = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]
    rng.shuffle(leaves)
    official, reworded = [], []
    for code in leaves:
        desc = cm.get_description(code)
        if len(official) < n // 2:
            official.append({"code": code.replace(".", ""), "query": desc, "kind": "official"})
        elif len(reworded) < n - n // 2:
            r = reword(desc, rng)
            if r:
                reworded.append({"code": code.replace(".", ""), "query": r, "kind": "reworded"})
        else:
            break
    return official + reworded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=".casepilot")
    ap.add_argument("--items", type=int, default=240)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cold", action="store_true", help="also time a cold ingest into a fresh directory")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip-ingest", action="store_true", help="measure lookup and search only")
    args = ap.parse_args()
    settings = Settings(data_dir=Path(args.data_dir))
    from casepilot.codestore import CodeStore
    from casepilot.embeddings import MiniLMEmbeddings
    from casepilot.fusion import rrf
    from casepilot.retrieval import Retriever
    from casepilot.vectorstore import langchain_store
    from ingest.pipeline import default_sources, run_ingest

    results: dict = {}
    embedder = MiniLMEmbeddings()

    # -- ingest ---------------------------------------------------------------------------------
    if not args.skip_ingest:
        t = time.perf_counter()
        s = run_ingest(settings, default_sources(settings), embedder=embedder)
        results["reingest_s"] = round(time.perf_counter() - t, 2)
        results["reingest_added"] = s.added
        results["passages"] = s.passages
    if args.cold:
        with tempfile.TemporaryDirectory() as tmp:
            cold = Settings(data_dir=Path(tmp))
            t = time.perf_counter()
            run_ingest(cold, default_sources(cold), embedder=embedder)
            results["cold_ingest_s"] = round(time.perf_counter() - t, 1)

    # -- lookup ---------------------------------------------------------------------------------
    store = CodeStore(settings.codestore_path)
    rng = random.Random(args.seed)
    codes = [r[0] for r in store.con.execute("SELECT code FROM codes WHERE system='icd10cm' AND billable=1")]
    pcs = [r[0] for r in store.con.execute("SELECT code FROM codes WHERE system='icd10pcs' AND level='code'")]
    picks = rng.sample(codes, 500) + rng.sample(pcs, 250)
    picks = [(p[:3] + "." + p[3:]).lower() if p[0].isalpha() and len(p) > 3 else p for p in picks]
    lat = []
    base = []
    for p in picks:
        t = time.perf_counter()
        store.lookup(p)
        lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.con.execute("SELECT 1 FROM codes WHERE code = ?", (p,)).fetchone()
        base.append((time.perf_counter() - t) * 1000)
    results["lookup_ms"] = {"p50": round(statistics.median(lat), 3), "p95": round(pct(lat, 95), 3),
                            "baseline_bare_select_p50": round(statistics.median(base), 3)}

    # -- description -> code ----------------------------------------------------------------------
    retriever = Retriever(settings, embedder=embedder)
    retriever.warm(["icd10cm"])
    dense_store = langchain_store(retriever.client(), "icd10cm", embedder)
    items = sample_items(args.items, args.seed)
    per = {k: {"hybrid": [0, 0], "dense": [0, 0], "bm25": [0, 0], "rrf": [0, 0], "n": 0}
           for k in ("official", "reworded")}
    search_lat, dense_lat = [], []
    for it in items:
        want = f"icd10cm:{it['code']}"
        t = time.perf_counter()
        hyb = [h.id for h in retriever.search(it["query"], ["icd10cm"], k=5)]
        search_lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        dense = [d.id for d in dense_store.similarity_search(it["query"], k=5)]
        dense_lat.append((time.perf_counter() - t) * 1000)
        bm = retriever.bm25_only(it["query"], ["icd10cm"], k=5)
        # plain equal-weight reciprocal-rank fusion of the two lists, for comparison
        fused = [d for d, _ in rrf([retriever.bm25_only(it["query"], ["icd10cm"], k=40),
                                    retriever.dense_only(it["query"], ["icd10cm"], k=40)])][:5]
        row = per[it["kind"]]
        row["n"] += 1
        for name, ranked in (("hybrid", hyb), ("dense", dense), ("bm25", bm), ("rrf", fused)):
            row[name][0] += int(ranked[:1] == [want])
            row[name][1] += int(want in ranked[:5])
    results["search_ms"] = {"p50": round(statistics.median(search_lat), 1), "p95": round(pct(search_lat, 95), 1),
                            "baseline_dense_only_p50": round(statistics.median(dense_lat), 1)}
    results["description_to_code"] = {
        k: {name: {"hit@1": round(v[name][0] / v["n"], 3), "hit@5": round(v[name][1] / v["n"], 3)}
            for name in ("hybrid", "dense", "bm25", "rrf")} | {"items": v["n"]}
        for k, v in per.items()
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    if "cold_ingest_s" in results:
        print(f"cold ingest            {results['cold_ingest_s']:.0f} s")
    if "reingest_s" in results:
        print(f"passages {results['passages']}")
        print(f"re-ingest, no change   {results['reingest_s']:.2f} s (added {results['reingest_added']})")
    lk = results["lookup_ms"]
    print(f"lookup                 p50 {lk['p50']:.3f} ms  p95 {lk['p95']:.3f} ms  "
          f"(bare SELECT p50 {lk['baseline_bare_select_p50']:.3f} ms, ratio {lk['p50'] / max(lk['baseline_bare_select_p50'], 1e-6):.1f}x)")
    se = results["search_ms"]
    print(f"hybrid search          p50 {se['p50']:.1f} ms  p95 {se['p95']:.1f} ms  "
          f"(dense-only p50 {se['baseline_dense_only_p50']:.1f} ms, ratio {se['p50'] / se['baseline_dense_only_p50']:.2f}x)")
    for kind, v in results["description_to_code"].items():
        print(f"{kind:9s} ({v['items']} items)  hit@1 / hit@5:  hybrid {v['hybrid']['hit@1']:.3f} / {v['hybrid']['hit@5']:.3f}"
              f"   dense {v['dense']['hit@1']:.3f} / {v['dense']['hit@5']:.3f}"
              f"   bm25 {v['bm25']['hit@1']:.3f} / {v['bm25']['hit@5']:.3f}"
              f"   plain RRF {v['rrf']['hit@1']:.3f} / {v['rrf']['hit@5']:.3f}")


if __name__ == "__main__":
    main()
