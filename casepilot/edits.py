"""Deterministic NCCI PTP, MUE and fee-schedule checks over ``tables.sqlite`` in the data directory.

The loaders in ``ingest/`` write the tables (schema below); this module only reads them, opens the file
read-only per call and answers from exact rows, so every verdict can cite the table, version and row.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from casepilot.codes import normalize

TABLES_FILE = "tables.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS ptp (
  col1 TEXT NOT NULL, col2 TEXT NOT NULL, setting TEXT NOT NULL, pre_1996 INTEGER NOT NULL,
  effective TEXT NOT NULL, deletion TEXT, modifier TEXT NOT NULL, rationale TEXT NOT NULL,
  part TEXT NOT NULL, line INTEGER NOT NULL, rank TEXT NOT NULL,
  PRIMARY KEY (col1, col2, setting)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mue (
  code TEXT NOT NULL, setting TEXT NOT NULL, mue INTEGER NOT NULL, mai TEXT NOT NULL, mai_text TEXT NOT NULL,
  rationale TEXT NOT NULL, line INTEGER NOT NULL,
  PRIMARY KEY (code, setting)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pfs (
  code TEXT NOT NULL, modifier TEXT NOT NULL, description TEXT NOT NULL, status TEXT NOT NULL,
  work_rvu TEXT, nonfac_total TEXT, fac_total TEXT, pctc TEXT, global_days TEXT NOT NULL,
  pre_op TEXT, intra_op TEXT, post_op TEXT, mult_proc TEXT, bilateral TEXT, assistant TEXT,
  co_surgeon TEXT, team_surgeon TEXT, endo_base TEXT, conv_factor TEXT, supervision TEXT,
  line INTEGER NOT NULL,
  PRIMARY KEY (code, modifier)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS table_sources (
  kind TEXT NOT NULL, setting TEXT NOT NULL, part TEXT NOT NULL, version TEXT NOT NULL,
  effective TEXT, rows INTEGER NOT NULL, file TEXT NOT NULL, loaded_at TEXT NOT NULL,
  PRIMARY KEY (kind, setting, part)
);
"""

PTP_SETTINGS = ("practitioner", "hospital")
MUE_SETTINGS = ("practitioner", "hospital", "dme")
SETTING_LABELS = {
    "practitioner": "practitioner", "hospital": "outpatient hospital", "dme": "DME supplier", "": "",
}
TABLE_LABELS = {"ncci-ptp": "NCCI PTP edits", "mue": "MUE table", "pfs": "Physician Fee Schedule RVU file"}

MODIFIER_INDICATORS = {
    "0": "modifier indicator 0: no modifier bypasses this edit; the column 2 code is not paid with the column 1 code",
    "1": "modifier indicator 1: an NCCI-associated modifier (such as 59, XE, XS, XP, XU or an anatomic modifier) "
         "may bypass the edit when it is clinically appropriate and documented",
    "9": "modifier indicator 9: the edit was deleted retroactively / does not apply; no modifier is needed",
}
MAI_TEXT = {
    "1": "1 Line Edit: units above the MUE on one claim line are denied",
    "2": "2 Date of Service Edit: Policy: units per day above the MUE are denied; the limit is absolute policy",
    "3": "3 Date of Service Edit: Clinical: units per day above the MUE are denied; appeal with documentation "
         "of medical necessity",
}

DOWNLOADS = {
    "ncci-ptp": (
        "the CMS Medicare NCCI PTP edit files (\"Practitioner PTP Edits\" and \"Hospital PTP Edits\", files named "
        "ccipra-v…-f1…f4 and ccioph-v…) from https://www.cms.gov/medicare-medicaid-coordination/"
        "national-correct-coding-initiative-ncci/ncci-medicare/medicare-ncci-procedure-procedure-ptp-edits"
    ),
    "mue": (
        "the CMS Medicare NCCI MUE tables (files named MCR_MUE_PractitionerServices_Eff_…, "
        "MCR_MUE_OutpatientHospitalServices_Eff_… and MCR_MUE_DMESupplierServices_Eff_…) from the Medically "
        "Unlikely Edits page under https://www.cms.gov/medicare-medicaid-coordination/"
        "national-correct-coding-initiative-ncci/ncci-medicare"
    ),
    "pfs": (
        "the CMS Physician Fee Schedule relative value file (RVU25A…D zip, member PPRRVU…csv, .xlsx or .txt) "
        "from https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
    ),
}


def tables_path(data_dir: Path | str) -> Path:
    """Where the loaders write and the checks read the tables."""
    return Path(data_dir) / TABLES_FILE


def not_loaded_message(kind: str, detail: str = "") -> str:
    """What to download and the command that loads it."""
    what = TABLE_LABELS[kind] + (f" ({detail})" if detail else "")
    return (f"The {what} are not loaded. Download {DOWNLOADS[kind]} and run: "
            f"casepilot ingest --source {kind} PATH")


# -- reading -------------------------------------------------------------------------------------

def _connect(db_path: Path | str) -> sqlite3.Connection | None:
    path = Path(db_path)
    if not path.exists():
        return None
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    return con


def _sources(con: sqlite3.Connection | None, kind: str) -> list[dict]:
    if con is None:
        return []
    try:
        return [dict(r) for r in con.execute(
            "SELECT * FROM table_sources WHERE kind = ? ORDER BY setting, part", (kind,))]
    except sqlite3.OperationalError:  # an empty or foreign file
        return []


def loaded_tables(db_path: Path | str) -> list[dict]:
    """Every loaded table part: kind, setting, part, version, effective date, rows, file, loaded_at."""
    con = _connect(db_path)
    if con is None:
        return []
    try:
        try:
            return [dict(r) for r in con.execute("SELECT * FROM table_sources ORDER BY kind, setting, part")]
        except sqlite3.OperationalError:
            return []
    finally:
        con.close()


def _code(raw: str) -> str:
    code = normalize(raw)
    if not re.fullmatch(r"[0-9A-Z]{5}", code):
        raise ValueError(f"{raw!r} is not a CPT/HCPCS code (5 letters or digits, e.g. 99213 or G2211)")
    return code


def _version_text(srcs: list[dict], setting: str) -> tuple[str, str | None, str]:
    """(version, effective, files) of one setting's loaded parts."""
    parts = [s for s in srcs if s["setting"] == setting]
    versions = sorted({s["version"] for s in parts})
    effective = max((s["effective"] for s in parts if s["effective"]), default=None)
    return ", ".join(versions), effective, ", ".join(s["file"] for s in parts)


# -- PTP -----------------------------------------------------------------------------------------

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
    """An edit's state on ``as_of`` (ISO dates); the deletion date is taken as the last day it applies."""
    if modifier == "9":
        return "not_applicable"
    if effective > as_of:
        return "not_yet_effective"
    if deletion and deletion < as_of:
        return "deleted"
    return "in_force"


def check_pair(db_path: Path | str, code_a: str, code_b: str, as_of: date | None = None) -> PairVerdict:
    """Which of two codes is column 1 and column 2 in each loaded PTP setting, and what that allows."""
    a, b = _code(code_a), _code(code_b)
    day = (as_of or date.today()).isoformat()
    v = PairVerdict(a, b, day)
    con = _connect(db_path)
    try:
        srcs = _sources(con, "ncci-ptp")
        v.settings_loaded = [s for s in PTP_SETTINGS if any(x["setting"] == s for x in srcs)]
        v.settings_missing = [s for s in PTP_SETTINGS if s not in v.settings_loaded]
        if not v.settings_loaded:
            v.message = not_loaded_message("ncci-ptp")
            return v
        rows = con.execute(
            "SELECT * FROM ptp WHERE col1 = ? AND col2 = ? UNION ALL SELECT * FROM ptp WHERE col1 = ? AND col2 = ?",
            (a, b, b, a),
        ).fetchall()
        for r in sorted(rows, key=lambda r: PTP_SETTINGS.index(r["setting"]) if r["setting"] in PTP_SETTINGS else 9):
            version, eff, _ = _version_text(srcs, r["setting"])
            part_file = next((s["file"] for s in srcs if s["setting"] == r["setting"] and s["part"] == r["part"]), "")
            state = ptp_state(r["effective"], r["deletion"], r["modifier"], day)
            v.edits.append(PtpEdit(
                r["setting"], r["col1"], r["col2"], r["modifier"], MODIFIER_INDICATORS.get(r["modifier"], ""),
                r["effective"], r["deletion"], state == "in_force", state, r["rationale"], bool(r["pre_1996"]),
                version, eff, part_file, r["line"],
            ))
        v.message = _pair_message(v, srcs)
        return v
    finally:
        if con is not None:
            con.close()


def _pair_message(v: PairVerdict, srcs: list[dict]) -> str:
    out = []
    for s in v.settings_loaded:
        version, eff, _ = _version_text(srcs, s)
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


# -- MUE -----------------------------------------------------------------------------------------

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
    c = _code(code)
    v = MueVerdict(c)
    con = _connect(db_path)
    try:
        srcs = _sources(con, "mue")
        v.settings_loaded = [s for s in MUE_SETTINGS if any(x["setting"] == s for x in srcs)]
        v.settings_missing = [s for s in MUE_SETTINGS if s not in v.settings_loaded]
        if not v.settings_loaded:
            v.message = not_loaded_message("mue")
            return v
        found = {r["setting"]: r for r in con.execute("SELECT * FROM mue WHERE code = ?", (c,))}
        msgs = []
        for s in v.settings_loaded:
            version, eff, files = _version_text(srcs, s)
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
    finally:
        if con is not None:
            con.close()


# -- PFS -----------------------------------------------------------------------------------------

PFS_STATUS = {
    "A": "Active: paid separately under the fee schedule if covered",
    "B": "Bundled: payment is always bundled into other services",
    "C": "Contractors price the code",
    "D": "Deleted code",
    "E": "Excluded from the fee schedule by regulation",
    "F": "Deleted/discontinued code (no grace period)",
    "G": "Not valid for Medicare purposes; another code is used (grace period)",
    "H": "Deleted modifier component",
    "I": "Not valid for Medicare purposes; another code is used (no grace period)",
    "J": "Anesthesia service: no RVUs or payment amounts",
    "M": "Measurement code, for reporting only",
    "N": "Non-covered service",
    "P": "Bundled/excluded: no separate payment under the fee schedule",
    "R": "Restricted coverage: special coverage instructions apply; contractor priced if covered",
    "T": "Injection: paid only if no other fee-schedule service is billed the same day",
    "X": "Statutory exclusion: not in the fee schedule",
}
GLOBAL_DAYS = {
    "000": "0-day global: endoscopic or minor procedure; pre- and post-operative work on the day of the procedure",
    "010": "10-day global: minor procedure with a 10-day postoperative period",
    "090": "90-day global: major surgery with a 1-day preoperative and 90-day postoperative period",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "the global concept does not apply",
    "YYY": "the contractor decides whether the global concept applies and sets the period",
    "ZZZ": "add-on/related code: always within the global period of the other service",
}
PFS_INDICATORS = {
    "mult_proc": ("Multiple procedure (modifier 51)", {
        "0": "no multiple-procedure reduction", "1": "standard reduction rules (pre-1995 status D)",
        "2": "standard multiple-procedure payment reduction applies",
        "3": "special rules for multiple endoscopic procedures", "4": "diagnostic imaging reduction",
        "5": "therapy services reduction", "6": "diagnostic cardiovascular reduction",
        "7": "diagnostic ophthalmology reduction", "9": "concept does not apply"}),
    "bilateral": ("Bilateral surgery (modifier 50)", {
        "0": "150% bilateral adjustment does not apply", "1": "150% bilateral adjustment applies",
        "2": "RVUs already based on a bilateral procedure; no adjustment",
        "3": "each side paid at 100% (usual bilateral adjustment does not apply)", "9": "concept does not apply"}),
    "assistant": ("Assistant at surgery (modifiers 80/81/82/AS)", {
        "0": "assistant paid only with documentation of medical necessity",
        "1": "statutory restriction: assistant at surgery may not be paid",
        "2": "assistant at surgery may be paid", "9": "concept does not apply"}),
    "co_surgeon": ("Co-surgeons (modifier 62)", {
        "0": "co-surgeons not permitted", "1": "co-surgeons paid with supporting documentation",
        "2": "co-surgeons permitted, no documentation needed if the two-specialty rule is met",
        "9": "concept does not apply"}),
    "team_surgeon": ("Team surgery (modifier 66)", {
        "0": "team surgeons not permitted", "1": "team surgeons paid with documentation; by report",
        "2": "team surgeons permitted; by report", "9": "concept does not apply"}),
}


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
    c = _code(code)
    v = PfsVerdict(c)
    con = _connect(db_path)
    try:
        srcs = _sources(con, "pfs")
        if not srcs:
            v.message = not_loaded_message("pfs")
            return v
        v.loaded = True
        v.version, v.effective, v.file = _version_text(srcs, srcs[0]["setting"])
        for r in con.execute("SELECT * FROM pfs WHERE code = ? ORDER BY modifier", (c,)):
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
    finally:
        if con is not None:
            con.close()
