"""The record types that flow from loaders to the code store and the answerers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from casepilot.codes import display_code

# Instructional note types, in the order a coder reads them.
NOTE_TYPES = (
    "includes",
    "inclusion_term",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "seven_chr_note",
    "seven_chr_def",
    "note",
)
NOTE_LABELS = {
    "includes": "Includes",
    "inclusion_term": "Inclusion terms",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "use_additional_code": "Use additional code",
    "code_also": "Code also",
    "seven_chr_note": "7th character note",
    "seven_chr_def": "7th character values",
    "note": "Note",
}
# Inclusion terms describe the code they sit on; every other note applies to the descendants too.
NOT_INHERITED = frozenset({"inclusion_term"})


@dataclass
class Note:
    """One instructional note; ``level`` is the code it is written on (for inherited notes, an ancestor)."""

    type: str
    text: str
    level: str

    @property
    def label(self) -> str:
        return NOTE_LABELS.get(self.type, self.type)


@dataclass
class CodeRecord:
    """One code of one code set, as the code store keeps it."""

    system: str
    code: str  # normalised: upper case, no dot
    display: str  # conventional form: E11.22
    title: str
    description: str = ""
    billable: bool | None = None  # None: the notion does not apply (modifiers, CPT summaries)
    level: str = "code"  # chapter | block | category | subcategory | code | modifier | ...
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    version: str = ""
    source: str = ""
    licensed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def on_date(record: CodeRecord, as_of: date) -> CodeRecord:
    """The record as it stands on ``as_of``, from its own dates: after its termination date (the last day it
    may be reported) a code is terminated and no longer billable. Loaders store the dates, never a status
    decided on the day of ingest; the code store applies this to every record it returns.

    >>> r = CodeRecord("hcpcs", "G9997", "G9997", "Old service", billable=True,
    ...                extra={"termination_date": "2025-12-31"})
    >>> last = on_date(r, date(2025, 12, 31))
    >>> last.title, last.billable, "terminated" in last.extra
    ('Old service (terminates 2025-12-31)', True, False)
    >>> after = on_date(r, date(2026, 1, 1))
    >>> after.title, after.billable, after.extra["terminated"]
    ('Old service (terminated 2025-12-31)', False, '2025-12-31')
    """
    term = record.extra.get("termination_date")
    if not term:
        return record
    if term < as_of.isoformat():
        return replace(record, title=f"{record.title} (terminated {term})",
                       billable=None if record.billable is None else False,
                       extra={**record.extra, "terminated": term})
    return replace(record, title=f"{record.title} (terminates {term})")


@dataclass
class Lookup:
    """A code store answer: the record, its inherited notes and, for headings, billable codes below."""

    record: CodeRecord
    inherited: list[Note] = field(default_factory=list)
    ancestors: list[CodeRecord] = field(default_factory=list)
    billable_below: list[CodeRecord] = field(default_factory=list)
    alternates: list[CodeRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "system": r.system,
            "code": r.display,
            "title": r.title,
            "description": r.description,
            "billable": r.billable,
            "level": r.level,
            "parent": display_code(r.parent, r.system) if r.parent else None,
            "children": [display_code(c, r.system) for c in r.children],
            "notes": [asdict(n) | {"inherited": False} for n in r.notes]
            + [asdict(n) | {"inherited": True} for n in self.inherited],
            "billable_below": [{"code": c.display, "title": c.title} for c in self.billable_below],
            "alternates": [{"system": c.system, "code": c.display, "title": c.title} for c in self.alternates],
            "version": r.version,
            "source": r.source,
            "licensed": r.licensed,
            "extra": r.extra,
        }
