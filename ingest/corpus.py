"""The project's own Markdown corpus: front matter, one passage per ``##`` section, code summaries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

import frontmatter
import yaml
from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot.records import CodeRecord
from ingest.source import Problem, passage, stable_hash

LOADER_VERSION = 5
SOURCE = "corpus"
REQUIRED = ("id", "title", "kind", "codes", "sources")
KINDS = ("code_summary", "modifier", "guideline", "policy", "coverage")
DEFINING_KINDS = ("code_summary", "modifier")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# "## CPT 99213 — title", "## HCPCS G2211 - title", "## Modifier 25 — title"
_CODE_HEADING = re.compile(
    r"^(CPT|HCPCS|Modifier)\s+([0-9A-Za-z]{2,5})\s*(?:[—–:-]\s*(.*))?$", re.IGNORECASE
)
_SYSTEM_OF = {"cpt": cs.CPT, "hcpcs": cs.HCPCS, "modifier": cs.MODIFIER}
# One passage per file: its title, summary, declared questions and section headings. Broad questions
# ("Guidelines for E/M services") land here and the answer leads with the summary.
DOCUMENT_COLLECTION = "corpus_document"
# One passage per declared question: a coder's question meets its nearest declared question head on.
QUESTION_COLLECTION = "corpus_question"
MAX_SUMMARY_CHARS = 400


def collection_for(kind: str) -> str:
    return f"corpus_{kind}"


@dataclass
class Section:
    heading: str
    body: str
    anchor: str


@dataclass
class CorpusFile:
    path: Path
    rel: str
    meta: dict[str, Any]
    title: str
    sections: list[Section]


def split_sections(markdown: str) -> tuple[str, list[Section]]:
    """The ``#`` title and the ``##`` sections of a Markdown body; text before the first ``##`` is an intro.

    >>> split_sections("# T\\nintro\\n## A\\nx\\n")[1][1].heading
    'A'
    """
    title = ""
    sections: list[Section] = []
    heading, buf = None, []
    seen: dict[str, int] = {}

    def flush():
        body = "\n".join(buf).strip()
        if heading is not None or body:
            h = heading or "Overview"
            anchor = re.sub(r"[^a-z0-9]+", "-", h.lower()).strip("-")[:60] or "section"
            seen[anchor] = seen.get(anchor, 0) + 1
            if seen[anchor] > 1:
                anchor = f"{anchor}-{seen[anchor]}"
            sections.append(Section(h, body, anchor))

    in_fence = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("# ") and not title:
            title = line[2:].strip()
            continue
        if not in_fence and line.startswith("## "):
            flush()
            heading, buf = line[3:].strip(), []
            continue
        buf.append(line)
    flush()
    return title, sections


def read_corpus_file(path: Path, root: Path) -> CorpusFile:
    """Parse and validate one file; raise ValueError with a message naming the problem."""
    rel = str(path.relative_to(root))
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read the file ({e.strerror or e})") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start}: {raw[e.start:e.start + 1]!r}); save it as UTF-8") from e
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        raise ValueError(f"broken YAML front matter{where}: {getattr(e, 'problem', e)}") from e
    meta = dict(post.metadata)
    missing = [k for k in REQUIRED if k not in meta]
    if not text.lstrip().startswith("---"):
        raise ValueError("no front matter: the file must start with a '---' YAML block (see corpus/README.md)")
    if missing:
        raise ValueError(f"front matter lacks {', '.join(missing)}")
    if not isinstance(meta["id"], str) or not _ID.match(meta["id"]):
        raise ValueError(f"id {meta['id']!r} must be lowercase letters, digits and hyphens")
    if meta["kind"] not in KINDS:
        raise ValueError(f"kind {meta['kind']!r} is not one of {', '.join(KINDS)}")
    if not isinstance(meta["codes"], list):
        raise ValueError("codes must be a list (use [] for none)")
    meta["codes"] = [str(c) for c in meta["codes"]]
    if not isinstance(meta["sources"], list) or not meta["sources"]:
        raise ValueError("sources must be a non-empty list of public documents")
    if not all(isinstance(s, str) for s in meta["sources"]):
        raise ValueError("each source must be a plain string (quote entries that contain ': ')")
    summary = meta.get("summary")
    if summary is not None and (not isinstance(summary, str) or not summary.strip()
                                or len(summary) > MAX_SUMMARY_CHARS):
        raise ValueError(f"summary must be one or two plain sentences of at most {MAX_SUMMARY_CHARS} characters")
    questions = meta.get("questions")
    if questions is not None and (not isinstance(questions, list)
                                  or not all(isinstance(q, str) and q.strip() for q in questions)):
        raise ValueError("questions must be a list of non-empty strings (quote entries that contain ': ')")
    title, sections = split_sections(post.content)
    if not sections:
        raise ValueError("no content: add at least one '## ' section")
    for s in sections:
        if not s.body.strip():
            raise ValueError(f"section '{s.heading}' is empty")
    return CorpusFile(path, rel, meta, str(meta.get("title") or title), sections)


def code_heading(heading: str) -> tuple[str, str, str] | None:
    """(system, code, short title) when a heading defines a code, else None.

    >>> code_heading("CPT 99213 — established patient visit")
    ('cpt', '99213', 'established patient visit')
    """
    m = _CODE_HEADING.match(heading.strip())
    if not m:
        return None
    system = _SYSTEM_OF[m.group(1).lower()]
    code = cs.normalize(m.group(2))
    return system, code, (m.group(3) or "").strip()


@dataclass
class CorpusSource:
    """Every ``*.md`` under the corpus folder (README.md excepted)."""

    root: Path
    name: str = SOURCE
    system: str = "corpus"
    version: str = ""
    note: str = "Plain-language summaries, modifiers and guidelines written by the CasePilot project."
    problems: list[Problem] = field(default_factory=list)

    @cached_property
    def paths(self) -> list[Path]:
        if not self.root.is_dir():
            self.problems.append(Problem(str(self.root), "corpus folder not found"))
            return []
        return sorted(p for p in self.root.rglob("*.md") if p.name.lower() != "readme.md")

    @cached_property
    def files(self) -> list[CorpusFile]:
        out, ids = [], {}
        for p in self.paths:
            try:
                f = read_corpus_file(p, self.root)
            except ValueError as e:
                self.problems.append(Problem(str(p), str(e)))
                continue
            if f.meta["id"] in ids:
                self.problems.append(Problem(str(p), f"duplicate id {f.meta['id']!r} (also in {ids[f.meta['id']]})"))
                continue
            ids[f.meta["id"]] = f.rel
            out.append(f)
        return out

    @property
    def collections(self) -> tuple[str, ...]:
        return (*(collection_for(k) for k in KINDS), DOCUMENT_COLLECTION, QUESTION_COLLECTION)

    def fingerprint(self) -> str:
        parts = []
        for p in self.paths:
            try:
                parts.append((str(p.relative_to(self.root)), p.read_bytes().hex()))
            except OSError:
                parts.append((str(p), "unreadable"))
        return stable_hash(self.name, LOADER_VERSION, parts)

    def records(self) -> Iterator[CodeRecord]:
        seen: set[tuple[str, str]] = set()
        for f in self.files:
            if f.meta["kind"] not in DEFINING_KINDS:
                continue  # guideline files discuss codes; only summaries and modifier files define them
            version = str(f.meta.get("effective", ""))
            for s in f.sections:
                parsed = code_heading(s.heading)
                if not parsed:
                    continue
                system, code, short = parsed
                if (system, code) in seen:
                    continue
                seen.add((system, code))
                label = cs.SYSTEM_LABELS[system]
                yield CodeRecord(
                    system=system, code=code, display=code, title=short or f"{label} {code}",
                    description=_first_paragraph(s.body), billable=None, level=system,
                    version=f"CasePilot corpus, code year {version}" if version else "CasePilot corpus",
                    source=self.name,
                    extra={"doc_id": f.meta["id"], "passage_id": f"corpus:{f.meta['id']}#{s.anchor}",
                           "file": f.rel, "sources": f.meta["sources"], "summary_only": True},
                )

    def passages(self) -> Iterator[Document]:
        for f in self.files:
            kind = f.meta["kind"]
            yield document_card(f)
            yield from question_passages(f)
            for s in f.sections:
                parsed = code_heading(s.heading)
                section_codes = [parsed[1]] if parsed else [m.code for m in cs.find_mentions(s.heading)]
                text = f"{s.heading}\n{s.body}"
                yield passage(
                    collection_for(kind), f"corpus:{f.meta['id']}#{s.anchor}", text,
                    title=f"{f.title}: {s.heading}", source="; ".join(map(str, f.meta["sources"])),
                    kind=kind, doc_id=f.meta["id"], file=f.rel, codes=section_codes,
                    # what the whole document declares it is about: the answer reads those modifier labels bare
                    doc_codes=f.meta["codes"][:40], effective=str(f.meta.get("effective", "")), heading=s.heading,
                    # The document's title is part of what the section is about ("New versus
                    # established patient" above "The three-year rule"): searched, not shown.
                    context=f.title, embed_text=f"{f.title}: {text}",
                )


def document_card(f: CorpusFile) -> Document:
    """The file as one passage: title, summary and section headings; its questions are searched, not shown."""
    summary = str(f.meta.get("summary") or "").strip()
    questions = [q.strip() for q in f.meta.get("questions") or []]
    headings = [s.heading for s in f.sections if s.heading != "Overview"]
    body = summary or _first_paragraph(f.sections[0].body)
    text = f"{f.title}\n{body}\nSections: " + "; ".join(headings)
    return passage(
        DOCUMENT_COLLECTION, f"corpus:{f.meta['id']}", text,
        title=f.title, source="; ".join(map(str, f.meta["sources"])), kind=f.meta["kind"],
        doc_id=f.meta["id"], file=f.rel, codes=f.meta["codes"][:40], effective=str(f.meta.get("effective", "")),
        heading="Overview", summary=summary, sections=" | ".join(s.anchor for s in f.sections),
        context="\n".join(questions), embed_text="\n".join([f.title, body, *questions]),
    )


def question_passages(f: CorpusFile) -> Iterator[Document]:
    """Each question the file declares it answers, as a passage that points at the file."""
    for i, q in enumerate(f.meta.get("questions") or []):
        yield passage(QUESTION_COLLECTION, f"corpus:{f.meta['id']}?q{i}", q.strip(),
                      title=f.title, source="; ".join(map(str, f.meta["sources"])), kind="question",
                      doc_id=f.meta["id"], file=f.rel, heading="Overview")


def _first_paragraph(body: str) -> str:
    for para in re.split(r"\n\s*\n", body.strip()):
        para = para.strip()
        if para and not para.startswith(("|", "```")):
            return " ".join(para.split())
    return " ".join(body.split())[:400]
