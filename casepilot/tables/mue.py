"""Medically Unlikely Edits (MUE): the units-of-service limit of a code in each loaded setting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from casepilot.tables.labels import MAI_TEXT, SETTING_LABELS, not_loaded_message
from casepilot.tables.store import open_tables, procedure_code, version_text

MUE_SETTINGS = ("practitioner", "hospital", "dme")


@dataclass
class MueRow:
    setting: str
    code: str
    mue: int
    adjudication_indicator: str
    adjudication_text: str
    meaning: str
    rationale: str
    version: str
    effective: str | None
    file: str
    line: int


@dataclass
class MueVerdict:
    """The MUE of a code in each loaded setting (practitioner, outpatient hospital, DME supplier)."""

    code: str
    rows: list[MueRow] = field(default_factory=list)
    settings_loaded: list[str] = field(default_factory=list)
    settings_missing: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def status(self) -> str:
        if not self.settings_loaded:
            return "not_loaded"
        return "found" if self.rows else "no_mue"

    def citation(self) -> list[dict]:
        return [{
            "table": f"MUE table, {SETTING_LABELS[r.setting]}", "version": r.version, "effective": r.effective,
            "file": r.file, "line": r.line,
            "row": f"{r.code},{r.mue},{r.adjudication_text},{r.rationale}",
        } for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "status": self.status, "settings_loaded": self.settings_loaded,
            "settings_missing": self.settings_missing, "rows": [asdict(r) for r in self.rows],
            "message": self.message, "citations": self.citation(),
        }


def mue_for(db_path: Path | str, code: str) -> MueVerdict:
    """The units-of-service limit of ``code`` in every loaded MUE table."""
    c = procedure_code(code)
    v = MueVerdict(c)
    with open_tables(db_path) as t:
        srcs, v.settings_loaded, v.settings_missing = t.settings("mue", MUE_SETTINGS)
        if not v.settings_loaded:
            v.message = not_loaded_message("mue")
            return v
        found = {r["setting"]: r for r in t.con.execute("SELECT * FROM mue WHERE code = ?", (c,))}
        msgs = []
        for s in v.settings_loaded:
            version, eff, files = version_text(srcs, s)
            r = found.get(s)
            label = f"{SETTING_LABELS[s].capitalize()} MUE table" + (f" effective {eff}" if eff else f" {version}")
            if r is None:
                msgs.append(f"{label}: no MUE for {c} in the loaded table.")
                continue
            meaning = MAI_TEXT.get(r["mai"], r["mai_text"])
            v.rows.append(MueRow(s, c, r["mue"], r["mai"], r["mai_text"], meaning, r["rationale"], version, eff,
                                 files, r["line"]))
            msgs.append(f"{label}: {c} has an MUE of {r['mue']} unit(s); adjudication indicator {meaning}; "
                        f"rationale: {r['rationale']}.")
        for s in v.settings_missing:
            msgs.append(f"The {SETTING_LABELS[s]} MUE table is not loaded.")
        v.message = " ".join(msgs)
        return v
