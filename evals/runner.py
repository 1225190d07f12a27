"""Run eval items through CasePilot and the naive RAG baseline; score each item; summarise.

Per item and system the result keeps the answer, codes, cited evidence ids, timings and every metric
input, so a report can be recomputed without re-running. Items that need a source that is not loaded
(HCPCS file, NCCI/MUE/PFS tables, licensed CPT) are skipped with the reason recorded.

Scoring choices (README, "Evaluations"):
- retrieval metrics rank the evidence an answer shows, in citation order ([1] first);
- facts are looked for in what the user sees: the answer and its notices;
- an item is *correct* when an unanswerable item is refused, or an answerable one is answered with
  the expected code first (when codes are expected) and at least half of its fact groups;
- refusal precision/recall leave out invalid-code items (the right reply there is "not found").
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from evals import metrics as m
from evals.datasets import EvalItem

SYSTEMS = ("casepilot", "baseline")
# Items are split by *source*, not by item: the held-out files come from a writer who never saw the
# rules, and nothing (rule, weight, threshold, calibration) is ever fitted on them.
HELDOUT_TAG = "heldout"


def split_of(tags: list[str]) -> str:
    return "heldout" if HELDOUT_TAG in tags else "tuning"


def heldout_source(tags: list[str]) -> str:
    """Which held-out writer an item comes from: its tag beside ``heldout`` ("heldout_b"); the first writer's items
    carry ``heldout`` alone."""
    return next((t for t in tags if t != HELDOUT_TAG), HELDOUT_TAG)
HIT_KS = (1, 4)


class Answerer(Protocol):
    def answer(self, message: str, history: list[dict] | None = None) -> dict: ...


def loaded_sources(settings) -> set[str]:
    """Names of the optional sources present: hcpcs, cpt, ncci-ptp, mue, pfs."""
    from casepilot.codestore import CodeStore

    out: set[str] = set()
    if settings.codestore_path.exists():
        for s in CodeStore(settings.codestore_path).sources():
            out.add("cpt" if s["name"] == "cpt-licensed" else s["name"])
    try:
        from casepilot.tables import loaded_tables, tables_path

        out |= {t["kind"] for t in loaded_tables(tables_path(settings.data_dir))}
    except ImportError:
        pass
    return out


# A HCPCS Level II code: a letter (A-V) and four digits. A CPT code: five digits, or four and F or T (categories II
# and III).
_HCPCS = re.compile(r"^[A-V]\d{4}$")
_CPT = re.compile(r"^\d{4}[0-9FT]$")


def implied_requirements(item: EvalItem, knows: Callable[[str], bool]) -> list[str]:
    """Sources an item needs though it does not declare them: a lookup of HCPCS Level II codes the default index
    does not hold ("hcpcs J3301?") is answered only from the HCPCS file, and a lookup of CPT codes it holds no
    summary of ("97597 ?") only from the user's licensed CPT file; without them, "not among the HCPCS (CPT) codes
    CasePilot knows" is the right answer (issue 10: "What is CPT code 99999?"), not a false decline. ``knows``:
    whether the code store holds a code (as HCPCS or CPT)."""
    codes = item.expected_codes
    if item.intent != "code_lookup" or not codes or all(knows(c) for c in codes):
        return []
    if all(_HCPCS.match(c) for c in codes):
        return ["hcpcs"]
    if all(_CPT.match(c) for c in codes):
        return ["cpt"]
    return []


def skip_reason(item: EvalItem, loaded: set[str], knows: Callable[[str], bool] | None = None) -> str | None:
    requires = [*item.requires, *(implied_requirements(item, knows) if knows else [])]
    missing = [s for s in dict.fromkeys(requires) if s not in loaded]
    if missing:
        return f"needs {', '.join(missing)} (not loaded: casepilot ingest --source {missing[0]} PATH)"
    return None


def score(item: EvalItem, done: dict, passages: dict[int, str]) -> dict:
    """Every per-item metric of one system's ``done`` payload."""
    ranked = [c["id"] for c in sorted(done.get("citations", []), key=lambda c: c["n"])]
    answer = done.get("answer", "")
    seen = answer + " " + " ".join(done.get("notices", []))
    codes = [c["code"] for c in done.get("codes", [])]
    refused = not done.get("answered", True)
    out: dict = {"refused": refused}
    if item.expected_evidence:
        rel = set(item.expected_evidence)
        out["rr"] = m.reciprocal_rank(ranked, rel)
        out["ndcg10"] = m.ndcg_at_k(ranked, rel, 10)
        for k in HIT_KS:
            out[f"hit{k}"] = float(bool(rel & set(ranked[:k])))
    if item.expected_codes:
        out.update({f"code_{k}": v for k, v in m.code_match(codes, item.expected_codes).items()})
    fr = m.fact_recall(seen, item.expected_facts)
    if fr is not None:
        out["fact_recall"] = fr
    out["citation_validity"] = m.citation_validity(answer, {c["n"] for c in done.get("citations", [])})
    out["citation_support"] = m.citation_support(answer, passages)
    out["codes_total"] = len(done.get("codes", []))
    out["codes_unverified"] = sum(1 for c in done.get("codes", []) if not c.get("verified"))
    if not item.answerable:
        out["correct"] = float(refused)
    else:
        ok = not refused or "invalid_code" in item.tags
        if item.expected_codes:
            ok = ok and out["code_top1"] == 1.0 if item.intent == "description_to_code" else ok and out["code_any"] == 1.0
        if fr is not None:
            ok = ok and fr >= 0.5
        out["correct"] = float(ok)
    return out


@dataclass
class Runner:
    """Holds the systems; ``run`` yields one result dict per item."""

    engine: Answerer
    baseline: Answerer | None = None
    passages: object | None = None  # casepilot.passages.PassageStore, for the full text of cited passages
    judge: object | None = None  # evals.judge.LLMJudge
    loaded: set[str] = field(default_factory=set)

    def _passages_of(self, done: dict) -> dict[int, str]:
        if "passages" in done:
            return done["passages"]
        by_id = self.passages.get([c["id"] for c in done.get("citations", [])]) if self.passages else {}
        return {c["n"]: (by_id[c["id"]].page_content if c["id"] in by_id else c.get("snippet", ""))
                for c in done.get("citations", [])}

    def _knows(self, code: str) -> bool:
        """Whether the engine's code store holds ``code`` as a HCPCS or CPT code (False without a store)."""
        store = getattr(self.engine, "store", None)
        return store is not None and bool(store.find(code, ["hcpcs", "cpt"]))

    def run_one(self, item: EvalItem) -> dict:
        res: dict = {"id": item.id, "category": item.category, "intent": item.intent, "answerable": item.answerable,
                     "tags": item.tags, "question": item.question}
        reason = skip_reason(item, self.loaded, self._knows)
        if reason:
            res["skipped"] = reason
            return res
        history = [t.model_dump() for t in item.history]
        for name, system in (("casepilot", self.engine), ("baseline", self.baseline)):
            if system is None:
                continue
            t0 = time.perf_counter()
            try:
                done = system.answer(item.question, history)
            except Exception as e:  # an eval run reports a crash per item rather than stopping
                res[name] = {"error": f"{type(e).__name__}: {e}", "scores": {"correct": 0.0},
                             "latency_ms": round((time.perf_counter() - t0) * 1000, 1)}
                continue
            latency = round((time.perf_counter() - t0) * 1000, 1)
            passages = self._passages_of(done)
            out = {
                "answer": done.get("answer", ""), "answered": done.get("answered", True),
                "intent": done.get("intent"), "codes": done.get("codes", []), "notices": done.get("notices", []),
                "evidence": [c["id"] for c in sorted(done.get("citations", []), key=lambda c: c["n"])],
                "latency_ms": latency, "timings_ms": done.get("timings_ms", {}),
                "scores": score(item, done, passages),
            }
            if self.judge is not None and item.answerable:
                out["judge"] = self.judge.score(item, out["answer"], passages)
            res[name] = out
        return res

    def run(self, items: list[EvalItem], progress: Callable[[EvalItem], None] | None = None) -> list[dict]:
        out = []
        for it in items:
            out.append(self.run_one(it))
            if progress:
                progress(it)
        return out


def _avg(xs) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def summarize_system(results: list[dict], system: str) -> dict:
    """Aggregate metrics of one system over the items it ran."""
    rows = [r for r in results if system in r]
    sc = [r[system]["scores"] for r in rows]
    refusal_rows = [(s["refused"], r["answerable"]) for r, s in zip(rows, sc)
                    if "refused" in s and "invalid_code" not in r["tags"]]
    refusal = m.refusal_scores([a for a, _ in refusal_rows], [b for _, b in refusal_rows])
    codes_total = sum(s.get("codes_total", 0) for s in sc)
    out = {
        "items": len(rows),
        "errors": sum(1 for r in rows if "error" in r[system]),
        "accuracy": _avg(s.get("correct") for s in sc),
        "mrr": _avg(s.get("rr") for s in sc),
        "ndcg10": _avg(s.get("ndcg10") for s in sc),
        **{f"hit@{k}": _avg(s.get(f"hit{k}") for s in sc) for k in HIT_KS},
        "code_top1": _avg(s.get("code_top1") for s in sc),
        "code_any": _avg(s.get("code_any") for s in sc),
        "fact_recall": _avg(s.get("fact_recall") for s in sc),
        "citation_validity": _avg(s.get("citation_validity") for s in sc),
        "citation_support": _avg(s.get("citation_support") for s in sc),
        "hallucinated_code_rate": round(sum(s.get("codes_unverified", 0) for s in sc) / codes_total, 4)
        if codes_total else None,
        "refusal_precision": None if refusal["precision"] is None else round(refusal["precision"], 4),
        "refusal_recall": None if refusal["recall"] is None else round(refusal["recall"], 4),
        **{k: None if v is None else round(v, 1) for k, v in m.latency([r[system]["latency_ms"] for r in rows]).items()},
    }
    judged = [r[system]["judge"] for r in rows if r[system].get("judge")]
    if judged:
        out["judge_correctness"] = _avg(j.get("correctness") for j in judged)
        out["judge_faithfulness"] = _avg(j.get("faithfulness") for j in judged)
    for key, field_name in (("by_intent", "intent"), ("by_category", "category")):
        groups: dict[str, list[float]] = {}
        for r in rows:
            groups.setdefault(r[field_name], []).append(r[system]["scores"].get("correct", 0.0))
        out[key] = {g: {"n": len(v), "accuracy": _avg(v)} for g, v in sorted(groups.items())}
    return out


def summarize(results: list[dict], meta: dict | None = None) -> dict:
    """The run's summary: per-system metrics (all items and per split), skipped items, run metadata."""
    skipped = [{"id": r["id"], "reason": r["skipped"]} for r in results if "skipped" in r]
    splits: dict[str, dict] = {}
    for name in ("tuning", "heldout"):
        rows = [r for r in results if split_of(r.get("tags", [])) == name]
        if rows:
            splits[name] = {s: summarize_system(rows, s) for s in SYSTEMS if any(s in r for r in rows)}
    held = [r for r in results if split_of(r.get("tags", [])) == "heldout"]
    sources = sorted({heldout_source(r.get("tags", [])) for r in held})
    if len(sources) > 1:
        # each held-out writer on its own beside the pooled split: a new writer's figures never hide the first's
        for source in sources:
            rows = [r for r in held if heldout_source(r.get("tags", [])) == source]
            splits[f"heldout/{source}"] = {s: summarize_system(rows, s) for s in SYSTEMS if any(s in r for r in rows)}
    return {
        "meta": meta or {},
        "items": len(results),
        "skipped": skipped,
        "systems": {s: summarize_system(results, s) for s in SYSTEMS if any(s in r for r in results)},
        "splits": splits,
    }


# Metrics where lower is better; every other threshold is a minimum.
LOWER_IS_BETTER = ("hallucinated_code_rate", "p50_ms", "p95_ms")


def check_thresholds(summary: dict, table: dict, system: str = "casepilot", split: str | None = None) -> list[str]:
    """Failures of ``summary`` (or of one split of it) against a thresholds table: ``{"min": {...}, "max": {...}}``."""
    got = summary["splits"].get(split, {}).get(system, {}) if split else summary["systems"].get(system, {})
    if split and not got:
        return []
    system = f"{system} ({split} split)" if split else system
    fails = []
    for metric, bound in table.get("min", {}).items():
        v = got.get(metric)
        if v is not None and v < bound:
            fails.append(f"{system} {metric} = {v} is below the threshold {bound}")
    for metric, bound in table.get("max", {}).items():
        v = got.get(metric)
        if v is not None and v > bound:
            fails.append(f"{system} {metric} = {v} is above the threshold {bound}")
    return fails
