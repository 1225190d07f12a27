"""Hostile folders for the docs ingest: encrypted and damaged PDFs, symbolic links, hidden entries, Office bombs.

Each bad entry is one Problem naming it (the list the ingest summary prints); no traceback; the other files load.
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
import zipfile

import pytest

from ingest.documents import DocumentsSource
from tests.ingest.table_fixtures import pdf_bytes, write_pdf
from tests.ingest.test_documents import make_folder

GOOD = {"policy.md", "sub/page.html", "notes.txt", "policy.pdf"}


@pytest.fixture(autouse=True)
def _quiet_pypdf():
    # pypdf logs a warning for each damaged file; keep the test output readable.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    yield
    logging.getLogger("pypdf").setLevel(logging.NOTSET)


def load(root):
    src = DocumentsSource(root)
    docs = list(src.passages())
    return src, docs, {d.metadata["source"] for d in docs}, {p.where: p.message for p in src.problems}


def write_aes256_pdf(path, plain, password: str):
    """``plain`` encrypted with AES-256 and a user password, by pypdf's writer.

    pypdf needs the cryptography package to write AES; without it (this project does not require it) the
    same file is made by hand: an incremental update adding the AES-256 /Encrypt dictionary (V5, R6,
    AESV3) to the trailer. A reader then meets exactly what it meets in a real AES-256 file: it cannot
    check the password without AES, and with AES the password is not the empty one.
    """
    from pypdf import PdfWriter
    from pypdf.errors import DependencyError

    writer = PdfWriter(clone_from=str(plain))
    try:
        writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
        writer.write(str(path))
        return path
    except DependencyError:
        pass
    data = plain.read_bytes()
    prev = int(data.rsplit(b"startxref", 1)[1].split()[0])
    size = int(re.search(rb"/Size (\d+)", data).group(1))
    encrypt = (b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -3904 /EncryptMetadata true"
               b" /CF << /StdCF << /CFM /AESV3 /AuthEvent /DocOpen /Length 32 >> >> /StmF /StdCF /StrF /StdCF"
               b" /O <" + os.urandom(48).hex().encode() + b"> /U <" + os.urandom(48).hex().encode() +
               b"> /OE <" + os.urandom(32).hex().encode() + b"> /UE <" + os.urandom(32).hex().encode() +
               b"> /Perms <" + os.urandom(16).hex().encode() + b"> >>")
    out = bytearray(data)
    offset = len(out)
    out += f"{size} 0 obj\n".encode() + encrypt + b"\nendobj\n"
    xref = len(out)
    file_id = os.urandom(16).hex()
    out += f"xref\n{size} 1\n{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {size + 1} /Root 1 0 R /Info {size - 1} 0 R /Encrypt {size} 0 R /Prev {prev} "
            f"/ID [<{file_id}> <{file_id}>] >>\nstartxref\n{xref}\n%%EOF\n").encode()
    path.write_bytes(bytes(out))
    return path


def test_encrypted_pdfs_are_named_and_the_rest_loads(tmp_path):
    from pypdf import PdfWriter

    root = make_folder(tmp_path)
    plain = write_pdf(tmp_path / "plain.pdf", ["Confidential payer contract page"])
    write_aes256_pdf(root / "secret.pdf", plain, "s3cret")
    locked = PdfWriter(clone_from=str(plain))
    locked.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    locked.write(str(root / "sub" / "locked.pdf"))
    # Encrypted with an empty user password (restrictions only): opens without asking, as before.
    restricted = PdfWriter(clone_from=str(plain))
    restricted.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    restricted.write(str(root / "restricted.pdf"))

    src, docs, sources, problems = load(root)

    assert set(problems) == {"secret.pdf", "sub/locked.pdf"}
    assert problems["sub/locked.pdf"] == "encrypted PDF (password required)"
    assert problems["secret.pdf"].startswith("encrypted PDF (")
    assert sources == GOOD | {"restricted.pdf"}
    assert not any("Confidential" in d.page_content for d in docs if d.metadata["source"] != "restricted.pdf")
    assert str(src.problems[0]).startswith("secret.pdf: encrypted PDF")


def test_damaged_pdfs_are_named_never_raised(tmp_path):
    root = make_folder(tmp_path)
    whole = (root / "policy.pdf").read_bytes()
    (root / "truncated.pdf").write_bytes(whole[: len(whole) // 2])
    (root / "empty.pdf").write_bytes(b"")
    (root / "noise.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    # A trailer that is a number, not a dictionary: pypdf raises AttributeError on it.
    (root / "sub" / "bad-trailer.pdf").write_bytes(pdf_bytes([b"<< /Type /Catalog >>"], b"5"))
    # Page tree that points back at itself.
    (root / "loop.pdf").write_bytes(pdf_bytes(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"],
        b"<< /Size 3 /Root 1 0 R >>"))

    src, docs, sources, problems = load(root)

    assert set(problems) == {"truncated.pdf", "empty.pdf", "noise.pdf", "sub/bad-trailer.pdf", "loop.pdf"}
    assert all("PDF" in m or "could not be read" in m for m in problems.values())
    assert all(len(m) < 400 for m in problems.values())
    assert sources == GOOD


def test_links_and_hidden_entries_are_refused_once_and_not_fingerprinted(tmp_path):
    root = make_folder(tmp_path)
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "private.md").write_text("# Private\nOutside text that must not be ingested.\n")
    (outside / "deep" / "more.md").write_text("# More\nAlso outside.\n")
    (root / "link.md").symlink_to(outside / "private.md")
    (root / "sub" / "linked").symlink_to(outside, target_is_directory=True)
    (root / "dangling.pdf").symlink_to(tmp_path / "missing.pdf")
    (root / "tool.so").symlink_to(outside / "private.md")  # unsupported suffix: left out silently
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD.txt").write_text("ref: refs/heads/main\n")
    (root / ".git" / "objects" / "notes.md").write_text("# Hidden\nHidden folder text.\n")
    (root / "sub" / ".drafts").mkdir()
    (root / "sub" / ".drafts" / "draft.md").write_text("# Draft\nDraft text.\n")
    (root / ".secret.md").write_text("# Secret\nHidden file text.\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # unsupported suffix: left out silently

    src, docs, sources, problems = load(root)

    assert problems == {
        "link.md": "symbolic link, not followed",
        "sub/linked/": "symbolic link, not followed",
        "dangling.pdf": "symbolic link, not followed",
        ".git/": "hidden folder, not read",
        "sub/.drafts/": "hidden folder, not read",
        ".secret.md": "hidden file, not read",
    }
    assert len(src.problems) == len(problems)  # each refusal once
    assert sources == GOOD
    assert not any(w in d.page_content for d in docs for w in ("Outside", "outside", "Hidden", "Draft"))
    assert {src._rel(p) for p in src.files()} == GOOD

    # The fingerprint lists the same files: what happens behind a link or in a hidden folder changes nothing.
    before = DocumentsSource(root).fingerprint()
    (outside / "private.md").write_text("# Private\nChanged outside text, longer than before.\n")
    (root / ".git" / "objects" / "notes.md").write_text("# Hidden\nChanged hidden text, longer than before.\n")
    (root / ".secret.md").write_text("changed")
    assert DocumentsSource(root).fingerprint() == before


def test_the_folder_named_by_the_user_may_itself_be_a_link_or_hidden(tmp_path):
    root = make_folder(tmp_path)
    (tmp_path / "via-link").symlink_to(root, target_is_directory=True)
    hidden = tmp_path / ".config-docs"
    hidden.mkdir()
    (hidden / "a.md").write_text("# A\nText a.\n")
    (tmp_path / "single.md").symlink_to(root / "policy.md")

    src, _, sources, problems = load(tmp_path / "via-link")
    assert sources == GOOD and not problems
    src, _, sources, problems = load(hidden)
    assert sources == {"a.md"} and not problems
    src, _, sources, problems = load(tmp_path / "single.md")
    assert sources == {"single.md"} and not problems


def hostile_xlsx() -> bytes:
    """A 2x2 workbook whose sheet claims the whole grid: <dimension ref="A1:XFD1048576"/>."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["code", "text"])
    wb.active.append(["A0001", "real cell"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', data)
                assert n == 1
            z.writestr(info, data)
    return out.getvalue()


def test_office_files_are_not_opened(tmp_path):
    """The docs ingest reads PDF, HTML, Markdown and text only: an Office file, even a hostile one, is never
    opened (no cells padded out to the declared grid, no zip bomb inflated). Whoever adds Word/Excel here
    must add size, ratio and cell limits first; this test will remind them."""
    root = make_folder(tmp_path)
    (root / "book.xlsx").write_bytes(hostile_xlsx())
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("word/document.xml", b"\x00" * (64 << 20))  # 64 MB of zeros in ~64 kB
    (root / "bomb.docx").write_bytes(bomb.getvalue())
    (root / "not-a-zip.xlsx").write_bytes(b"this is not a workbook")

    t0 = time.perf_counter()
    src, _, sources, problems = load(root)
    assert time.perf_counter() - t0 < 10
    assert sources == GOOD and not problems


@pytest.mark.slow
def test_a_refused_link_is_reported_without_failing_the_source(tmp_path, embedder):
    # A docs folder inside a git checkout holds .git/: the refusal is said, yet the source is indexed,
    # its fingerprint saved (the next run is "unchanged") and files removed later are deleted.
    from casepilot.settings import Settings
    from ingest.pipeline import run_ingest

    s = Settings(data_dir=tmp_path / "data")
    root = tmp_path / "docs"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD.md").write_text("# Head\nref\n")
    (root / "a.md").write_text("# Policy A\nModifier 25 needs a significant, separately identifiable service.\n")
    (root / "b.md").write_text("# Policy B\nUse the stage of chronic kidney disease as documented.\n")
    first = run_ingest(s, [DocumentsSource(root)], embedder=embedder)
    assert first.ok and first.sources == {"docs": "indexed"}
    assert [str(p) for p in first.problems] == [".git/: hidden folder, not read"]
    assert run_ingest(s, [DocumentsSource(root)], embedder=embedder).sources == {"docs": "unchanged"}
    (root / "b.md").unlink()
    third = run_ingest(s, [DocumentsSource(root)], embedder=embedder)
    assert third.sources == {"docs": "indexed"} and third.deleted >= 1
