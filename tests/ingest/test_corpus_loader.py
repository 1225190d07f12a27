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
    docs = [d for d in src.passages() if d.metadata["collection"] == "corpus_code_summary"]
    assert len(docs) == 2
    assert docs[0].id == "corpus:test-em#cpt-99213-established-patient-visit-low-mdm"
    # a section keeps its own codes (from its heading) and carries what the whole document declares
    assert [(d.metadata.get("codes"), d.metadata["doc_codes"]) for d in docs] == [("99213", "99213"), (None, "99213")]
    assert not src.problems


def test_each_file_is_also_one_document_passage_and_its_questions(tmp_path: Path):
    """The card (title, summary, section list) and one passage per declared question point at the file."""
    text = GOOD.replace("updated: 2026-11-27", 'updated: 2026-11-27\nsummary: "Pick the level by MDM or time."\n'
                        'questions:\n  - "how do I pick an E/M level"\n  - "em leveling"')
    (tmp_path / "a.md").write_text(text)
    docs = list(CorpusSource(tmp_path).passages())
    card = next(d for d in docs if d.metadata["collection"] == "corpus_document")
    assert card.id == "corpus:test-em"
    assert card.page_content.startswith("Test E/M\nPick the level by MDM or time.")
    assert "Choosing a level" in card.page_content and card.metadata["summary"] == "Pick the level by MDM or time."
    assert "how do I pick an E/M level" in card.metadata["context"]  # searched, not shown
    questions = [d for d in docs if d.metadata["collection"] == "corpus_question"]
    assert [q.page_content for q in questions] == ["how do I pick an E/M level", "em leveling"]
    assert {q.metadata["doc_id"] for q in questions} == {"test-em"}


def test_summary_and_questions_are_validated(tmp_path: Path):
    (tmp_path / "long.md").write_text(GOOD.replace("updated: 2026-11-27", "updated: 2026-11-27\nsummary: " + "x" * 500))
    (tmp_path / "q.md").write_text(GOOD.replace("test-em", "q-bad").replace("updated: 2026-11-27",
                                                                              "updated: 2026-11-27\nquestions: oops"))
    src = CorpusSource(tmp_path)
    assert src.files == []
    msgs = {Path(p.where).name: p.message for p in src.problems}
    assert "summary must be" in msgs["long.md"] and "questions must be a list" in msgs["q.md"]


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
