"""Physician Fee Schedule RVU file: a code's status, global period and surgery modifier indicators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casepilot.tables.labels import GLOBAL_DAYS, PFS_INDICATORS, PFS_STATUS, not_loaded_message
from casepilot.tables.store import open_tables, procedure_code, version_text


@dataclass
class PfsVerdict:
    """Status, global period and surgery indicators of a code in the loaded fee-schedule RVU file."""

    code: str
    rows: list[dict] = field(default_factory=list)  # one per modifier row ('' = the global service)
    version: str = ""
    effective: str | None = None
    file: str = ""
    loaded: bool = False
    message: str = ""

    @property
    def status(self) -> str:
        if not self.loaded:
            return "not_loaded"
        return "found" if self.rows else "not_in_file"

    @property
    def global_days(self) -> str | None:
        main = next((r for r in self.rows if not r["modifier"]), self.rows[0] if self.rows else None)
        return main["global_days"] if main else None

    def citation(self) -> list[dict]:
        return [{
            "table": "Physician Fee Schedule RVU file", "version": self.version, "effective": self.effective,
            "file": self.file, "line": r["line"],
            "row": f"{r['code']} {r['modifier'] or '  '} status {r['status']} global {r['global_days']} "
                   f"mult {r['mult_proc']} bilat {r['bilateral']} asst {r['assistant']} "
                   f"co {r['co_surgeon']} team {r['team_surgeon']}",
        } for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "status": self.status, "global_days": self.global_days, "version": self.version,
            "effective": self.effective, "rows": self.rows, "message": self.message, "citations": self.citation(),
        }


def global_period(db_path: Path | str, code: str) -> PfsVerdict:
    """The fee-schedule status, global days and modifier indicators of ``code`` (all modifier rows)."""
    c = procedure_code(code)
    v = PfsVerdict(c)
    with open_tables(db_path) as t:
        srcs = t.sources("pfs")
        if not srcs:
            v.message = not_loaded_message("pfs")
            return v
        v.loaded = True
        v.version, v.effective, v.file = version_text(srcs, srcs[0]["setting"])
        for r in t.con.execute("SELECT * FROM pfs WHERE code = ? ORDER BY modifier", (c,)):
            d = dict(r)
            d["status_meaning"] = PFS_STATUS.get(d["status"], "")
            d["global_meaning"] = GLOBAL_DAYS.get(d["global_days"], "")
            for key, (label, values) in PFS_INDICATORS.items():
                d[f"{key}_meaning"] = f"{label}: {values.get(d[key] or '', 'not given')}"
            v.rows.append(d)
        if not v.rows:
            v.message = f"{c} is not in the loaded fee-schedule file ({v.version})."
        else:
            parts = []
            for d in v.rows:
                mod = f" with modifier {d['modifier']}" if d["modifier"] else ""
                parts.append(f"{c}{mod}: status {d['status']} ({d['status_meaning']}); global {d['global_days']} "
                             f"({d['global_meaning']}); " + "; ".join(d[f"{k}_meaning"] for k in PFS_INDICATORS) + ".")
            v.message = f"Physician Fee Schedule RVU file {v.version}: " + " ".join(parts)
        return v
