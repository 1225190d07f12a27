"""Numbered evidence: what an answer may cite, and the sentence tools the grounded answerer uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from langchain_core.documents import Document

from casepilot.codes import MODIFIER_SHAPE
from casepilot.text import NOT_ABBREVIATION, expand_query, tokens


@dataclass
class Citation:
    n: int
    id: str
    title: str
    source: str
    kind: str
    snippet: str
    url: str | None = None

    def to_dict(self) -> dict:
        return {"n": self.n, "id": self.id, "title": self.title, "source": self.source, "kind": self.kind,
                "snippet": self.snippet, "url": self.url}


def declared_modifiers(metadata: dict) -> frozenset[str]:
    """The modifier labels a passage's document declares it is about: its corpus front matter ``codes``
    (``doc_codes`` on a section) and the section's own codes."""
    declared = f"{metadata.get('doc_codes', '')},{metadata.get('codes', '')}"
    return frozenset(c for c in declared.split(",") if MODIFIER_SHAPE.match(c))


@dataclass
class Evidence:
    """Passages numbered in the order an answer first uses them."""

    items: list[Citation] = field(default_factory=list)
    docs: dict[str, Document] = field(default_factory=dict)

    def cite(self, doc: Document) -> int:
        """The number of ``doc``, adding it if new."""
        pid = doc.id or doc.metadata.get("pid", "")
        for c in self.items:
            if c.id == pid:
                return c.n
        m = doc.metadata
        c = Citation(
            n=len(self.items) + 1, id=pid, title=m.get("title", pid), source=m.get("source", ""),
            kind=m.get("kind") or m.get("collection", ""), snippet=" ".join(doc.page_content.split())[:400],
            url=m.get("url"),
        )
        self.items.append(c)
        self.docs[pid] = doc
        return c.n

    def numbers(self) -> set[int]:
        return {c.n for c in self.items}

    def declared_modifiers(self, n: int) -> frozenset[str]:
        """The modifier labels item ``n``'s document declares it is about (corpus front matter ``codes``)."""
        if not 1 <= n <= len(self.items):
            return frozenset()
        doc = self.docs.get(self.items[n - 1].id)
        return declared_modifiers(doc.metadata) if doc is not None else frozenset()

    def text(self, n: int) -> str:
        """Title and full text of item ``n``: what a sentence citing [n] can rest on (empty if unknown)."""
        if not 1 <= n <= len(self.items):
            return ""
        c = self.items[n - 1]
        doc = self.docs.get(c.id)
        return f"{c.title}\n{doc.page_content if doc is not None else c.snippet}"


# a full stop ends a sentence unless it closes an abbreviation (text.NOT_ABBREVIATION)
_SENT = re.compile(r"(?<=[.!?])" + NOT_ABBREVIATION + r"\s+(?=[A-Z0-9(\"'])")


_DEFINITION_CHARS = 300  # a labelled bullet up to this long is kept whole (a glossary entry, not a paragraph)


def sentences(text: str) -> list[str]:
    """Split prose into sentences; Markdown bullets and table rows become sentences of their own."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*[-*]\s)|\n(?=\s*\|)|\n(?=\s*\d+\.\s)", text):
        block = " ".join(block.split())
        bullet = bool(re.match(r"[-*]\s", block))
        block = re.sub(r"^[-*]\s+|^\d+\.\s+", "", block)
        if not block or set(block) <= set("|-: "):
            continue
        if bullet and re.match(r"\*\*[^*]{1,40}\*\*:", block) and len(block) <= _DEFINITION_CHARS:
            # "- **090**: major procedures. The day before surgery ... are included.": a term and its definition
            # are one statement; split, the label would be quoted with only its first half
            out.append(block)
            continue
        if block.startswith("|"):
            cells = [c.strip() for c in block.strip("|").split("|") if c.strip()]
            block = "; ".join(cells)
            if block and not block.endswith("."):
                block += "."
            out.append(block)
            continue
        out.extend(s.strip() for s in _SENT.split(block) if s.strip())
    return [s.replace("**", "").replace("`", "") for s in out]


_VALUE_ASKED = re.compile(r"\b(?:indicator|value|character|char|digit)\s+([A-Z0-9])(?![\w-])|(?<![\w-])([A-Z0-9])\s+(?:indicator|value)\b")


def best_sentences(query: str, docs: list[Document], limit: int = 4, per_doc: int = 3) -> list[tuple[int, str]]:
    """The sentences of ``docs`` that share most words with the question: (doc index, sentence).

    Scored by query-word overlap (expanded with abbreviations), with a small bonus for a passage's
    opening sentence; returned in reading order within each passage.
    """
    q = set(tokens(expand_query(query)))
    # a one-character value the question asks about ("POA indicator W", "7th character D", "status indicator T"):
    # too short to be a word, so the sentence that names it standing alone gets a bonus
    values = {m.group(1) or m.group(2) for m in _VALUE_ASKED.finditer(query)}
    named = re.compile("|".join(rf"(?<![\w-]){v}(?![\w-])" for v in sorted(values))) if values else None
    picked: list[tuple[float, int, int, str]] = []
    for di, doc in enumerate(docs):
        body = doc.page_content.split("\n", 1)[1] if "\n" in doc.page_content else doc.page_content
        heading_words = set(tokens(doc.page_content.split("\n", 1)[0]))
        cands = []
        for si, s in enumerate(sentences(body)):
            words = set(tokens(s))
            if len(words) < 3:
                continue
            overlap = len(q & (words | heading_words)) / (len(q) or 1)
            score = overlap + len(q & words) * 0.15 + (0.2 if si == 0 else 0) - di * 0.05
            if named is not None and named.search(s):
                score += 1.0
            cands.append((score, di, si, s))
        cands.sort(key=lambda x: -x[0])
        picked.extend(cands[:per_doc])
    picked.sort(key=lambda x: -x[0])
    chosen = picked[:limit]
    chosen.sort(key=lambda x: (x[1], x[2]))
    return [(di, s) for _, di, _, s in chosen]
