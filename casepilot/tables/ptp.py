"""NCCI procedure-to-procedure (PTP) edits: which of two codes is column 1, and whether the edit is in force.

The date of service is passed in (``as_of``): the caller decides it (today for the API and chat, a fixed day in
tests). The table keeps every row of a pair (an edit deleted and added again has two); the row that applies on
``as_of`` is chosen here (``row_on``). Every verdict cites the table, version, file and line of the rows it rests on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from casepilot.tables.labels import MODIFIER_INDICATORS, SETTING_LABELS, not_loaded_message
from casepilot.tables.store import open_tables, procedure_code, version_text

PTP_SETTINGS = ("practitioner", "hospital")


@dataclass
class PtpEdit:
    """One PTP row as it applies to a pair, with its state on ``as_of``."""

    setting: str
    column1: str
    column2: str
    modifier_indicator: str
    modifier_meaning: str
    effective: str
    deletion: str | None
    in_force: bool
    state: str  # in_force | deleted | not_yet_effective | not_applicable
    rationale: str
    pre_1996: bool
    version: str
    table_effective: str | None
    file: str
    line: int

    def row_text(self) -> str:
        return "\t".join([self.column1, self.column2, "*" if self.pre_1996 else "",
                          self.effective.replace("-", ""), (self.deletion or "*").replace("-", ""),
                          self.modifier_indicator, self.rationale])


@dataclass
class PairVerdict:
    """Whether an NCCI PTP edit pairs two codes, in each loaded setting."""

    code_a: str
    code_b: str
    as_of: str
    edits: list[PtpEdit] = field(default_factory=list)
    settings_loaded: list[str] = field(default_factory=list)
    settings_missing: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def loaded(self) -> bool:
        return bool(self.settings_loaded)

    @property
    def edit_in_force(self) -> bool:
        return any(e.in_force for e in self.edits)

    @property
    def status(self) -> str:
        if not self.loaded:
            return "not_loaded"
        if self.edit_in_force:
            return "edit_in_force"
        return "edit_not_in_force" if self.edits else "no_edit"

    def citation(self) -> list[dict]:
        return [{
            "table": f"NCCI PTP edits, {SETTING_LABELS[e.setting]}", "version": e.version,
            "effective": e.table_effective, "file": e.file, "line": e.line, "row": e.row_text(),
        } for e in self.edits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code_a": self.code_a, "code_b": self.code_b, "as_of": self.as_of, "status": self.status,
            "edit_in_force": self.edit_in_force, "settings_loaded": self.settings_loaded,
            "settings_missing": self.settings_missing, "edits": [asdict(e) for e in self.edits],
            "message": self.message, "citations": self.citation(),
        }


def ptp_state(effective: str, deletion: str | None, modifier: str, as_of: str) -> str:
    """An edit's state on ``as_of`` (ISO dates); the deletion date is taken as the last day it applies.

    >>> [ptp_state("2020-01-01", "2020-12-31", "1", day) for day in ("2020-12-31", "2021-01-01")]
    ['in_force', 'deleted']
    """
    if modifier == "9":
        return "not_applicable"
    if effective > as_of:
        return "not_yet_effective"
    if deletion and deletion < as_of:
        return "deleted"
    return "in_force"


def row_on(rows: list[Any], as_of: str) -> Any:
    """Of the rows of one pair and setting (column order included), the one that applies on ``as_of``: the row in
    force that day; when none is, the latest effective (then the latest deletion, none being the latest). A tie
    goes to the first row of the file, so the answer never depends on the order the rows are read in.

    >>> r = [{"effective": "2020-01-01", "deletion": "2024-12-31", "modifier": "0", "part": "f1", "line": 9},
    ...      {"effective": "2025-01-01", "deletion": "", "modifier": "1", "part": "f1", "line": 8}]
    >>> [row_on(r, day)["line"] for day in ("2019-06-01", "2024-12-31", "2025-01-01")]
    [8, 9, 8]
    """
    def rank(r):
        in_force = ptp_state(r["effective"], r["deletion"] or None, r["modifier"], as_of) == "in_force"
        return in_force, r["effective"], r["deletion"] or "9999-99-99"

    best = max(rank(r) for r in rows)
    return min((r for r in rows if rank(r) == best), key=lambda r: (r["part"], r["line"]))


def check_pair(db_path: Path | str, code_a: str, code_b: str, as_of: date) -> PairVerdict:
    """Which of two codes is column 1 and column 2 in each loaded PTP setting, and what that allows on ``as_of``."""
    a, b = procedure_code(code_a), procedure_code(code_b)
    v = PairVerdict(a, b, as_of.isoformat())
    with open_tables(db_path) as t:
        srcs, v.settings_loaded, v.settings_missing = t.settings("ncci-ptp", PTP_SETTINGS)
        if not v.settings_loaded:
            v.message = not_loaded_message("ncci-ptp")
            return v
        rows = t.con.execute(
            "SELECT * FROM ptp WHERE col1 = ? AND col2 = ? UNION ALL SELECT * FROM ptp WHERE col1 = ? AND col2 = ?",
            (a, b, b, a),
        ).fetchall()
        pairs: dict[tuple[str, str, str], list] = {}  # one edit per setting and column order
        for r in rows:
            pairs.setdefault((r["setting"], r["col1"], r["col2"]), []).append(r)
        for key in sorted(pairs, key=lambda k: PTP_SETTINGS.index(k[0]) if k[0] in PTP_SETTINGS else 9):
            r = row_on(pairs[key], v.as_of)
            deletion = r["deletion"] or None  # '' in the table (NULL in a file loaded before schema version 1)
            version, eff, _ = version_text(srcs, r["setting"])
            part_file = next((s["file"] for s in srcs if s["setting"] == r["setting"] and s["part"] == r["part"]), "")
            state = ptp_state(r["effective"], deletion, r["modifier"], v.as_of)
            v.edits.append(PtpEdit(
                r["setting"], r["col1"], r["col2"], r["modifier"], MODIFIER_INDICATORS.get(r["modifier"], ""),
                r["effective"], deletion, state == "in_force", state, r["rationale"], bool(r["pre_1996"]),
                version, eff, part_file, r["line"],
            ))
        v.message = _pair_message(v, srcs)
        return v


def _pair_message(v: PairVerdict, srcs: list[dict]) -> str:
    out = []
    for s in v.settings_loaded:
        version, eff, _ = version_text(srcs, s)
        label = f"{SETTING_LABELS[s].capitalize()} PTP edits (version {version}" + (f", effective {eff})" if eff else ")")
        edits = [e for e in v.edits if e.setting == s]
        if not edits:
            out.append(f"{label}: no edit pairs {v.code_a} and {v.code_b} in the loaded tables.")
            continue
        for e in edits:
            when = f"effective {e.effective}" + (f", deleted {e.deletion}" if e.deletion else "")
            state = {"in_force": f"in force on {v.as_of}", "deleted": f"no longer in force on {v.as_of}",
                     "not_yet_effective": f"not yet in force on {v.as_of}",
                     "not_applicable": "not applicable"}[e.state]
            out.append(f"{label}: {e.column1} is column 1 and {e.column2} is column 2; {e.modifier_meaning}; "
                       f"{when}; {state}. Rationale: {e.rationale}.")
    for s in v.settings_missing:
        out.append(f"The {SETTING_LABELS[s]} PTP edits are not loaded "
                   f"(casepilot ingest --source ncci-ptp PATH with the {SETTING_LABELS[s]} file).")
    return " ".join(out)
