"""What a coverage lookup returns: the rows it rests on, the articles, a crosswalk or pair check, an NCD."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from casepilot.tables.coverage.labels import VERDICT_LABELS

LIST_LIMIT = 60  # codes shown per group in a chat answer (the API returns them all)


@dataclass
class Row:
    """One row of an MCD table that an answer rests on."""

    table: str
    file: str
    line: int
    row: str
    document: str = ""  # A52420 v64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Article:
    """One article version as it applies to a code: status, jurisdiction, groups and ICD-10-CM lists."""

    article_id: int
    version: int
    public_id: str
    title: str
    type: str
    effective: str | None
    end: str | None
    status: str
    status_text: str
    url: str
    contractors: list[dict] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    jurisdiction_known: bool = False
    in_jurisdiction: bool | None = None  # None: no state asked
    lcds: list[str] = field(default_factory=list)
    code_groups: list[int] = field(default_factory=list)  # the code groups listing the code asked about
    hcpc_groups: dict[int, list[str]] = field(default_factory=dict)
    paragraphs: dict[str, str] = field(default_factory=dict)  # "hcpc:2" -> text
    covered: dict[int, list[dict]] = field(default_factory=dict)
    noncovered: dict[int, list[dict]] = field(default_factory=dict)
    covered_groups: list[int] = field(default_factory=list)  # numbers of its covered ICD-10-CM groups
    rows: list[Row] = field(default_factory=list)
    verdict: str | None = None
    reason: str = ""

    @property
    def current(self) -> bool:
        return self.status == "current"

    def label(self) -> str:
        return f"{self.public_id} version {self.version}"

    @property
    def pairing(self) -> str:
        """How the tables pair the code's group with covered groups: single_group, same_number, not_decided
        (covered groups exist, none for the code's group and no same-number group: the text decides), or
        no_covered_list."""
        if not self.covered_groups:
            return "no_covered_list"
        if len(self.hcpc_groups) <= 1:
            return "single_group"
        if any(g in self.covered_groups for g in self.code_groups):
            return "same_number"
        return "not_decided" if self.code_groups else "no_code"

    def paired_covered(self) -> dict[int, list[dict]]:
        """Covered groups the tables pair with the code: all when there is one code group, else same numbers."""
        if len(self.hcpc_groups) <= 1:
            return self.covered
        return {g: v for g, v in self.covered.items() if g in self.code_groups}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hcpc_groups"] = {str(k): v for k, v in self.hcpc_groups.items()}
        d["covered"] = {str(k): v for k, v in self.covered.items()}
        d["noncovered"] = {str(k): v for k, v in self.noncovered.items()}
        d["rows"] = [r.to_dict() for r in self.rows]
        d["current"] = self.current
        d["pairing"] = self.pairing
        return d


@dataclass
class CoverageResult:
    """A crosswalk (``dx`` empty) or a pair check; ``status`` is not_loaded, not_listed or found."""

    type: str  # crosswalk | check
    code: str
    dx: str = ""
    state: str = ""
    jurisdiction: str = ""
    as_of: str = ""
    status: str = "found"
    verdict: str | None = None  # check only
    reason: str = ""
    message: str = ""
    edition: str = ""
    articles: list[Article] = field(default_factory=list)  # current and in scope: what the answer rests on
    other: list[Article] = field(default_factory=list)  # listing the code, but retired, future or another MAC's
    rows: list[Row] = field(default_factory=list)
    codeset: dict[str, str] = field(default_factory=dict)  # ICD code -> why the loaded code set flags it
    codeset_version: str = ""

    def citation(self) -> list[dict]:
        return [{"table": f"MCD {r.table}", "version": f"{r.document} ({self.edition})" if self.edition else r.document,
                 "effective": None, "file": r.file, "line": r.line, "row": r.row} for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "coverage", "type": self.type, "code": self.code, "dx": self.dx, "state": self.state,
                "jurisdiction": self.jurisdiction, "as_of": self.as_of, "status": self.status,
                "verdict": self.verdict, "verdict_label": VERDICT_LABELS.get(self.verdict or "", None),
                "reason": self.reason, "message": self.message, "edition": self.edition,
                "articles": [a.to_dict() for a in self.articles], "other_articles": [a.to_dict() for a in self.other],
                "codeset_flags": self.codeset, "codeset_version": self.codeset_version,
                "rows": [r.to_dict() for r in self.rows], "citations": self.citation()}


@dataclass
class NcdResult:
    """A national coverage determination by NCD id or manual section; ``status`` not_loaded, not_found or found."""

    ref: str
    as_of: str
    status: str = "found"
    ncd: dict = field(default_factory=dict)
    versions: list[dict] = field(default_factory=list)
    message: str = ""
    edition: str = ""
    rows: list[Row] = field(default_factory=list)

    def citation(self) -> list[dict]:
        return [{"table": f"MCD {r.table}", "version": r.document, "effective": self.ncd.get("effective"),
                 "file": r.file, "line": r.line, "row": r.row, "url": self.ncd.get("url")} for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "coverage", "type": "ncd", "ref": self.ref, "as_of": self.as_of, "status": self.status,
                "ncd": self.ncd, "versions": self.versions, "message": self.message, "edition": self.edition,
                "rows": [r.to_dict() for r in self.rows], "citations": self.citation()}
