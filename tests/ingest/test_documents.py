"""Generic document loader: Markdown, HTML, text and PDF sections with titles, pages and stable ids."""

from __future__ import annotations

import shutil

from ingest.documents import DocumentsSource
from tests.ingest.table_fixtures import shared, write_pdf


def make_folder(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "policy.md").write_text(
        "---\ntitle: ignored front matter\n---\n# Payer policy\nIntro text.\n\n## Coverage\nCovered when needed.\n"
        "```\n# not a heading\n```\n## Limits\n" + ("Limit sentence number. " * 200), encoding="utf-8")
    (root / "sub" / "page.html").write_text(
        "<html><head><title>Test manual</title><script>var x=1;</script></head><body><nav>menu</nav>"
        "<h1>Chapter one</h1><p>First chapter text.</p><h2>Section A</h2><p>Section A text &amp; more.</p>"
        "</body></html>", encoding="utf-8")
    (root / "notes.txt").write_bytes("Page one caf\u00e9.\fPage two text.".encode("latin-1"))
    write_pdf(root / "policy.pdf", ["First page of the test policy", "Second page of the test policy"])
    (root / "ignored.bin").write_bytes(b"\x00\x01")
    return root


def test_sections_titles_and_pages(tmp_path):
    src = DocumentsSource(make_folder(tmp_path))
    docs = list(src.passages())
    assert not src.problems
    by_src = {}
    for d in docs:
        by_src.setdefault(d.metadata["source"], []).append(d)
    assert set(by_src) == {"policy.md", "sub/page.html", "notes.txt", "policy.pdf"}
    md = by_src["policy.md"]
    assert [d.metadata["section"] for d in md][:2] == ["Payer policy", "Coverage"]
    assert "# not a heading" in md[1].page_content  # fenced code is not a heading
    limits = [d for d in md if d.metadata["section"] == "Limits"]
    assert len(limits) > 1 and all(len(d.page_content) <= 1500 for d in limits)  # long section split
    assert limits[0].metadata["title"] == "Payer policy: Limits"
    html = by_src["sub/page.html"]
    assert [d.metadata["section"] for d in html] == ["Chapter one", "Section A"]
    assert html[1].page_content == "Section A text & more." and "var x" not in html[0].page_content
    assert html[0].metadata["title"] == "Test manual: Chapter one"
    txt = by_src["notes.txt"]
    assert [(d.metadata["page"], d.page_content) for d in txt] == [(1, "Page one caf\u00e9."), (2, "Page two text.")]
    pdf = by_src["policy.pdf"]
    assert [d.metadata["page"] for d in pdf] == [1, 2] and "Second page" in pdf[1].page_content
    assert pdf[0].metadata["document"] == "Test policy"
    assert {d.metadata["collection"] for d in docs} == {"docs"} and len({d.id for d in docs}) == len(docs)
    assert list(src.records()) == []


def test_ids_are_stable_and_change_only_with_content(tmp_path):
    root = make_folder(tmp_path)
    first = {d.id for d in DocumentsSource(root).passages()}
    again = DocumentsSource(root)
    assert {d.id for d in again.passages()} == first and again.fingerprint() == DocumentsSource(root).fingerprint()
    (root / "notes.txt").write_text("Page one changed.\fPage two text.")
    changed = {d.id for d in DocumentsSource(root).passages()}
    assert len(first - changed) == 1 and len(changed - first) == 1


def test_a_bad_file_is_one_problem_and_others_load(tmp_path):
    root = make_folder(tmp_path)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (root / "utf16.txt").write_bytes("hello".encode("utf-16"))
    src = DocumentsSource(root)
    docs = list(src.passages())
    assert {p.where for p in src.problems} == {"broken.pdf", "utf16.txt"}
    assert any(d.metadata["source"] == "policy.md" for d in docs)


def test_real_pdf_and_single_file(tmp_path):
    pdf = shared("RVU25D.pdf")
    shutil.copy(pdf, tmp_path / "RVU25D.pdf")  # a temp copy only, never into the repository
    src = DocumentsSource(tmp_path / "RVU25D.pdf")
    docs = list(src.passages())
    assert not src.problems and docs
    pages = {d.metadata["page"] for d in docs}
    assert min(pages) == 1 and max(pages) > 5
    assert any("Global Surgery" in d.page_content for d in docs)
