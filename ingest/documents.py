"""Any PDF, HTML, Markdown or text file (or a folder of them) as titled, page-numbered passages in "docs".

Over 300 lines on purpose: one concept, a user's documents as passages. The per-format section readers, the
folder walk and ``DocumentsSource`` share ``Section`` and the wording of every Problem (``_why``), and nothing
else uses the readers.

Sections follow the document's own structure (Markdown/HTML headings, PDF pages under their outline
entry, text pages split by form feeds); long sections are split with LangChain's recursive splitter.
Ids are stable (file path + section + chunk + content hash), so re-runs only touch what changed.

A folder is walked without following symbolic links and without entering hidden folders; each refused
entry, and each file that cannot be read (encrypted or damaged PDF, binary text), is one Problem naming
it, and the other files still load.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.source import Problem, passage, stable_hash
from ingest.tabular import check_not_binary, decode_line

LOADER_VERSION = 1
SOURCE = "docs"
COLLECTION = "docs"
SUFFIXES = (".pdf", ".html", ".htm", ".md", ".markdown", ".txt")
CHUNK_CHARS = 1500
OVERLAP = 150
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MARK = "\x01"


@dataclass
class Section:
    title: str
    text: str
    page: int | None = None


def read_text(path: Path) -> str:
    """UTF-8 (BOM dropped) or, failing that, Windows-1252; UTF-16 and binary files are refused."""
    data = path.read_bytes()
    check_not_binary(path.name, data[:4096], "a text, Markdown or HTML document in UTF-8 or Latin-1")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return decode_line(data)


def markdown_sections(text: str, default_title: str) -> tuple[str, list[Section]]:
    """(document title, sections) split at ATX headings; YAML front matter is dropped."""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            text = text[end + 4:]
    title, sections, heading, buf, fence = default_title, [], None, [], False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        m = None if fence else _MD_HEADING.match(line)
        if m:
            if heading is not None or "".join(buf).strip():
                sections.append(Section(heading or title, "\n".join(buf).strip()))
            heading, buf = m.group(2).strip(), []
            if len(m.group(1)) == 1 and title == default_title:
                title = heading
            continue
        buf.append(line)
    sections.append(Section(heading or title, "\n".join(buf).strip()))
    return title, [s for s in sections if s.text]


def html_sections(html: str, default_title: str) -> tuple[str, list[Section]]:
    """(document title, sections) split at h1-h4; scripts, styles and navigation dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title and soup.title.get_text(strip=True) else default_title
    if soup.title:
        soup.title.decompose()
    for h in soup.find_all(re.compile(r"^h[1-4]$")):
        h.replace_with(f"\n{_MARK}{h.get_text(' ', strip=True)}\n")
    body = soup.body or soup
    text = body.get_text("\n")
    sections, heading, buf = [], None, []
    for line in text.splitlines():
        if line.startswith(_MARK):
            if "".join(buf).strip():
                sections.append(Section(heading or title, _squeeze(buf)))
            heading, buf = line[1:].strip(), []
        else:
            buf.append(line)
    if "".join(buf).strip():
        sections.append(Section(heading or title, _squeeze(buf)))
    return title, sections


def _squeeze(lines: list[str]) -> str:
    out = [re.sub(r"[ \t\xa0]+", " ", ln).strip() for ln in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _why(e: BaseException) -> str:
    """'KindOfError: first 200 characters of its message' for a problem line."""
    text = " ".join(str(e).split())
    if len(text) > 200:
        text = text[:200] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


ENCRYPTED_PASSWORD = "encrypted PDF (password required)"
ENCRYPTED_AES = ("encrypted PDF (AES): reading it needs the cryptography package (pip install cryptography), "
                 "and its password if it has one")


def pdf_sections(path: Path) -> tuple[str, list[Section]]:
    """(document title, one section per page titled by its outline entry).

    ValueError for an encrypted PDF that cannot be opened without a password (or without an AES
    implementation) and for any damaged PDF: pypdf raises many exception types for a bad file.
    """
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(str(path))  # an encrypted file: reads /Encrypt and tries the empty password
        opened = not reader.is_encrypted or bool(reader.decrypt(""))  # PasswordType.NOT_DECRYPTED is 0
    except DependencyError:  # pypdf has no AES without the cryptography package
        raise ValueError(ENCRYPTED_AES) from None
    except Exception as e:
        raise ValueError(f"not a readable PDF ({_why(e)})") from None
    if not opened:
        raise ValueError(ENCRYPTED_PASSWORD)
    try:
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        starts: list[tuple[int, str]] = []
        try:
            _walk_outline(reader, reader.outline, starts)
        except Exception:  # a damaged outline should not lose the text
            starts = []
        starts.sort()
        title = meta_title.strip() or path.stem
        sections = []
        for i, page in enumerate(reader.pages):
            heading = next((t for p, t in reversed(starts) if p <= i), title)
            text = (page.extract_text() or "").strip()
            if text:
                sections.append(Section(heading, text, page=i + 1))
        return title, sections
    except DependencyError:  # AES-encrypted with an empty user password, and no AES implementation
        raise ValueError(ENCRYPTED_AES) from None
    except FileNotDecryptedError:
        raise ValueError(ENCRYPTED_PASSWORD) from None
    except Exception as e:
        raise ValueError(f"not a readable PDF ({_why(e)})") from None


def _walk_outline(reader, items, out: list[tuple[int, str]]) -> None:
    for item in items:
        if isinstance(item, list):
            _walk_outline(reader, item, out)
        else:
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                out.append((page, str(item.title).strip()))


def text_sections(text: str, default_title: str) -> tuple[str, list[Section]]:
    """Plain text: form feeds separate pages."""
    pages = text.split("\f")
    if len(pages) == 1:
        return default_title, [Section(default_title, text.strip())] if text.strip() else []
    return default_title, [Section(default_title, p.strip(), page=i + 1) for i, p in enumerate(pages) if p.strip()]


def sections_of(path: Path) -> tuple[str, list[Section]]:
    suf = path.suffix.lower()
    default = path.stem.replace("_", " ").replace("-", " ").strip() or path.name
    if suf == ".pdf":
        return pdf_sections(path)
    if suf in (".html", ".htm"):
        return html_sections(read_text(path), default)
    if suf in (".md", ".markdown"):
        return markdown_sections(read_text(path), default)
    return text_sections(read_text(path), default)


def list_documents(root: Path) -> tuple[list[Path], list[Problem]]:
    """(supported files under ``root``, one Problem per refused entry), walking without following links.

    Refused, each reported once and never read: a symbolic link (to a folder, or to a file with a
    supported suffix), a hidden folder (not entered: ``.git/``), a hidden file with a supported suffix
    (``.secret.md``), a folder that cannot be listed. Other files with unsupported suffixes (``.DS_Store``,
    ``notes.bin``) are left out silently. ``root`` itself, named by the user, may be a link or hidden.
    """
    if root.is_file():
        return [root], []
    found: list[Path] = []
    refused: list[Problem] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            where = root.name if folder == root else folder.relative_to(root).as_posix()
            refused.append(Problem(where + "/", f"folder could not be read ({_why(e)})"))
            continue
        subfolders = []
        for entry in entries:
            p = Path(entry.path)
            rel = p.relative_to(root).as_posix()
            supported = p.suffix.lower() in SUFFIXES
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
            except OSError as e:
                refused.append(Problem(rel, f"could not be read ({_why(e)})"))
                continue
            if is_link:
                to_dir = os.path.isdir(entry.path)  # only looks where it points; nothing there is read
                if supported or to_dir:
                    refused.append(Problem(rel + ("/" if to_dir else ""), "symbolic link, not followed", refused=True))
            elif entry.name.startswith("."):
                if is_dir:
                    refused.append(Problem(rel + "/", "hidden folder, not read", refused=True))
                elif supported:
                    refused.append(Problem(rel, "hidden file, not read", refused=True))
            elif is_dir:
                subfolders.append(p)
            elif is_file and supported:
                found.append(p)
            elif supported:
                refused.append(Problem(rel, "not a regular file, not read", refused=True))
        stack.extend(reversed(subfolders))
    return sorted(found), refused


@dataclass
class DocumentsSource:
    """Every supported document under ``path`` (a file or a folder, recursively) into the "docs" collection."""

    path: Path
    name: str = SOURCE
    system: str = "docs"
    collections: tuple[str, ...] = (COLLECTION,)
    problems: list[Problem] = field(default_factory=list)
    note: str = "User documents (payer policies, manuals)."
    chunk_chars: int = CHUNK_CHARS

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or folder")

    @property
    def version(self) -> str:
        return f"documents from {self.path.name}"

    @cached_property
    def _listing(self) -> tuple[list[Path], list[Problem]]:
        # One walk per source: the fingerprint and the passages see the same files.
        return list_documents(self.path)

    def files(self) -> list[Path]:
        """The files read, in order; links, hidden entries and unsupported suffixes left out."""
        return list(self._listing[0])

    def _rel(self, p: Path) -> str:
        return p.name if self.path.is_file() else p.relative_to(self.path).as_posix()

    def fingerprint(self) -> str:
        stats = []
        for p in self.files():
            try:
                st = p.stat()
                stats.append((self._rel(p), st.st_size, st.st_mtime_ns))
            except OSError:  # gone since the listing: reading it will report the problem
                stats.append((self._rel(p), None, None))
        return stable_hash(self.name, LOADER_VERSION, str(self.path.resolve()), self.chunk_chars, stats)

    def records(self) -> Iterator:
        return iter(())

    @cached_property
    def _docs(self) -> list[Document]:
        splitter = RecursiveCharacterTextSplitter(chunk_size=self.chunk_chars, chunk_overlap=OVERLAP)
        out: list[Document] = []
        self.problems.extend(self._listing[1])
        for p in self.files():
            rel = self._rel(p)
            try:
                title, sections = sections_of(p)
            except (ValueError, OSError) as e:
                self.problems.append(Problem(rel, str(e)))
                continue
            except ImportError:  # a missing optional reader (pypdf, bs4): the CLI names the extra to install
                raise
            except Exception as e:  # a parser tripped by a hostile file: that file only
                self.problems.append(Problem(rel, f"could not be read ({_why(e)})"))
                continue
            if not sections:
                self.problems.append(Problem(rel, "no text could be extracted (a scanned PDF needs OCR first)"))
                continue
            fid = hashlib.sha256(rel.encode()).hexdigest()[:12]
            for si, sec in enumerate(sections):
                chunks = [sec.text] if len(sec.text) <= self.chunk_chars else splitter.split_text(sec.text)
                for ci, chunk in enumerate(chunks):
                    h = hashlib.sha256(chunk.encode()).hexdigest()[:12]
                    full_title = title if sec.title == title else f"{title}: {sec.title}"
                    out.append(passage(
                        COLLECTION, f"doc:{fid}:{si}:{ci}:{h}", chunk, title=full_title, section=sec.title,
                        page=sec.page, source=rel, document=title, kind="document", chunk=ci,
                        embed_text=f"{full_title}\n{chunk}",
                    ))
        return out

    def passages(self) -> Iterator[Document]:
        return iter(self._docs)
