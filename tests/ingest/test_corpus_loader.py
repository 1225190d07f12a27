"""The corpus loader: sections, code-defining headings, and clear errors for bad files."""

from pathlib import Path

from ingest.corpus import CorpusSource, code_heading, split_sections

GOOD = """---
id: test-em
title: Test E/M
kind: code_summary
codes: ["99213"]
sources: ["CMS MLN Evaluation and Management Services Guide"]
effective: 2026
updated: 2026-11-27
---
# Test E/M

## CPT 99213 — established patient visit, low MDM
A plain summary written for the test.

## Choosing a level
Another section.
"""


def test_split_sections_and_headings():
    title, sections = split_sections("# T\nintro\n## A\nx\n## A\ny\n")
    assert title == "T"
    assert [s.heading for s in sections] == ["Overview", "A", "A"]
    assert sections[1].anchor != sections[2].anchor
    assert code_heading("CPT 99213 — established visit") == ("cpt", "99213", "established visit")
    assert code_heading("Modifier 25 versus modifier 57") is None
    assert code_heading("HCPCS G2211 - add-on")[1] == "G2211"


def test_good_file_yields_records_and_passages(tmp_path: Path):
    (tmp_path / "a.md").write_text(GOOD)
    src = CorpusSource(tmp_path)
    recs = list(src.records())
    assert [(r.system, r.code) for r in recs] == [("cpt", "99213")]
    docs = list(src.passages())
    assert len(docs) == 2 and docs[0].metadata["collection"] == "corpus_code_summary"
    assert docs[0].id == "corpus:test-em#cpt-99213-established-patient-visit-low-mdm"
    assert not src.problems


def test_bad_files_are_reported_and_the_rest_loads(tmp_path: Path):
    (tmp_path / "good.md").write_text(GOOD)
    (tmp_path / "broken.md").write_text("---\nid: [unclosed\n---\n## A\nx\n")
    (tmp_path / "latin1.md").write_bytes(GOOD.replace("test-em", "latin").encode() + "caf\xe9".encode("latin-1"))
    (tmp_path / "nofront.md").write_text("## A\ntext\n")
    (tmp_path / "missing.md").write_text("---\nid: missing\ntitle: x\n---\n## A\nx\n")
    (tmp_path / "empty.md").write_text(GOOD.replace("test-em", "empty-sec").replace("Another section.", ""))
    src = CorpusSource(tmp_path)
    assert [f.meta["id"] for f in src.files] == ["test-em"]
    msgs = {Path(p.where).name: p.message for p in src.problems}
    assert "broken YAML front matter" in msgs["broken.md"]
    assert "not UTF-8" in msgs["latin1.md"]
    assert "no front matter" in msgs["nofront.md"]
    assert "lacks kind, codes, sources" in msgs["missing.md"]
    assert "is empty" in msgs["empty.md"]


def test_duplicate_ids_are_refused(tmp_path: Path):
    (tmp_path / "a.md").write_text(GOOD)
    (tmp_path / "b.md").write_text(GOOD)
    src = CorpusSource(tmp_path)
    assert len(src.files) == 1
    assert "duplicate id" in src.problems[0].message
