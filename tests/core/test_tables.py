"""Deterministic PTP, MUE and fee-schedule checks over real tables built by the loaders (real SQLite)."""

from __future__ import annotations

import json
import statistics
import time
from datetime import date

import pytest

from casepilot.tables import loaded_tables, tables_path
from casepilot.tables.mue import MueRow, MueVerdict, mue_for
from casepilot.tables.pfs import PfsVerdict, global_period
from casepilot.tables.ptp import PairVerdict, PtpEdit, check_pair, ptp_state
from ingest import mue, ncci_ptp, pfs
from tests.ingest.table_fixtures import (
    pfs_csv_row, ptp_line, sample_mue_rows, sample_ptp_lines, shared, write_mue, write_pfs_csv, write_ptp,
)


@pytest.fixture
def db(tmp_path):
    ncci_ptp.load_table(tmp_path, write_ptp(tmp_path / "ccipra-v321r0-f1.txt", sample_ptp_lines()))
    ncci_ptp.load_table(tmp_path, write_ptp(tmp_path / "ccioph-v321r0-f1.txt", [ptp_line("10021", "36000", mod="0")]))
    mue.load_table(tmp_path, write_mue(tmp_path / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", sample_mue_rows()))
    pfs.load_table(tmp_path, write_pfs_csv(tmp_path / "PPRRVU2026_Apr.csv", [
        pfs_csv_row("10021", desc="Test descriptor for code 10021", glob="000", ind="21000"),
        pfs_csv_row("G9998", glob="ZZZ"), pfs_csv_row("G9998", mod="TC", glob="ZZZ"),
    ]))
    return tables_path(tmp_path)


def test_pair_in_force_in_both_settings_either_order(db):
    for a, b in (("10021", "36000"), ("36000", "10021"), (" 36000", "10021 ")):
        v = check_pair(db, a, b, as_of=date(2026, 5, 1))
        assert v.status == "edit_in_force" and v.settings_loaded == ["practitioner", "hospital"]
        prac, hosp = v.edits
        assert (prac.setting, prac.column1, prac.column2, prac.modifier_indicator) == \
            ("practitioner", "10021", "36000", "1")
        assert "may bypass" in prac.modifier_meaning and prac.pre_1996 and prac.version == "v32.1r0"
        assert (hosp.setting, hosp.modifier_indicator) == ("hospital", "0") and "no modifier" in hosp.modifier_meaning
        assert "10021 is column 1 and 36000 is column 2" in v.message


def test_pair_states_by_date(db):
    deleted = check_pair(db, "10021", "99999", as_of=date(2026, 1, 1))
    assert deleted.status == "edit_not_in_force" and deleted.edits[0].state == "deleted"
    assert "deleted 2020-12-31" in deleted.message and "no longer in force" in deleted.message
    assert check_pair(db, "10021", "99999", as_of=date(2020, 12, 31)).edit_in_force  # deletion date is the last day
    na = check_pair(db, "10021", "G0471", as_of=date(2026, 1, 1))
    assert na.edits[0].state == "not_applicable" and "indicator 9" in na.edits[0].modifier_meaning
    future = check_pair(db, "G9998", "A9999", as_of=date(2026, 1, 1))
    assert future.edits[0].state == "not_yet_effective" and not future.edit_in_force
    assert ptp_state("2020-01-01", None, "0", "2019-12-31") == "not_yet_effective"


def test_no_edit_and_missing_settings(tmp_path, db):
    v = check_pair(db, "99213", "G2211", as_of=date(2026, 5, 1))
    assert v.status == "no_edit" and v.edits == [] and "no edit pairs 99213 and G2211" in v.message
    ncci_only = tmp_path / "other"
    ncci_ptp.load_table(ncci_only, write_ptp(tmp_path / "ccipra-v321r0-f2.txt", sample_ptp_lines()))
    v = check_pair(tables_path(ncci_only), "10021", "36000", as_of=date(2026, 5, 1))
    assert v.settings_missing == ["hospital"] and "outpatient hospital PTP edits are not loaded" in v.message


def test_not_loaded_names_the_file_and_command(tmp_path):
    missing = tmp_path / "nothing" / "tables.sqlite"
    v = check_pair(missing, "10021", "36000", as_of=date(2026, 5, 1))
    assert v.status == "not_loaded" and v.edits == []
    assert "casepilot ingest --source ncci-ptp PATH" in v.message and "ccipra" in v.message
    m = mue_for(missing, "99213")
    assert m.status == "not_loaded" and "casepilot ingest --source mue PATH" in m.message
    assert "MCR_MUE_PractitionerServices" in m.message
    g = global_period(missing, "10021")
    assert g.status == "not_loaded" and "casepilot ingest --source pfs PATH" in g.message and "PPRRVU" in g.message
    assert loaded_tables(missing) == []


def test_bad_codes_raise(db):
    for bad in ("1234", "E11.229", "", "992133", "99-2"):
        with pytest.raises(ValueError, match="is not a CPT/HCPCS code"):
            check_pair(db, bad, "99213", as_of=date(2026, 5, 1))


def test_mue(db):
    v = mue_for(db, "99999")
    assert v.status == "found" and v.rows[0].mue == 4 and v.rows[0].adjudication_indicator == "3"
    assert "appeal" in v.rows[0].meaning and v.rows[0].effective == "2026-04-01"
    assert v.settings_missing == ["hospital", "dme"]
    assert mue_for(db, "G0000").status == "no_mue"
    cit = v.citation()[0]
    assert cit["table"] == "MUE table, practitioner" and cit["effective"] == "2026-04-01"
    assert cit["row"] == "99999,4,3 Date of Service Edit: Clinical,Nature of Service/Procedure"


def test_global_period(db):
    v = global_period(db, "10021")
    # the title row of the file wins over its name
    assert v.status == "found" and v.global_days == "000" and v.version == "PFS RVU 2025 October release"
    row = v.rows[0]
    assert row["description"] == "" and row["mult_proc"] == "2" and "standard" in row["mult_proc_meaning"]
    assert row["bilateral_meaning"].startswith("Bilateral surgery (modifier 50): 150% bilateral adjustment applies")
    g = global_period(db, "G9998")
    assert [r["modifier"] for r in g.rows] == ["", "TC"] and g.global_days == "ZZZ"
    assert global_period(db, "99213").status == "not_in_file"


def test_to_dict_and_citations_are_json(db):
    v = check_pair(db, "10021", "36000", as_of=date(2026, 5, 1))
    d = json.loads(json.dumps(v.to_dict()))
    assert d["status"] == "edit_in_force" and len(d["citations"]) == 2
    c = d["citations"][0]
    assert c["table"] == "NCCI PTP edits, practitioner" and c["version"] == "v32.1r0"
    assert c["effective"] == "2026-04-01" and c["file"] == "ccipra-v321r0-f1.txt" and c["line"] == 7
    assert c["row"].startswith("10021\t36000\t*\t19960101\t*\t1\t")
    json.dumps(mue_for(db, "99999").to_dict())
    json.dumps(global_period(db, "10021").to_dict())
    kinds = {(t["kind"], t["setting"]) for t in loaded_tables(db)}
    assert kinds == {("ncci-ptp", "practitioner"), ("ncci-ptp", "hospital"), ("mue", "practitioner"), ("pfs", "")}


_EDIT = {"setting": "practitioner", "column1": "10021", "column2": "36000", "modifier_indicator": "1",
         "modifier_meaning": "modifier allowed", "effective": "1996-01-01", "deletion": None, "in_force": True,
         "state": "in_force", "rationale": "Misuse of column two code", "pre_1996": True, "version": "v32.1r0",
         "table_effective": "2026-04-01", "file": "ccipra-v321r0-f1.txt", "line": 7}
_GONE = {"setting": "hospital", "column1": "10021", "column2": "36000", "modifier_indicator": "0",
         "modifier_meaning": "no modifier", "effective": "2020-01-01", "deletion": "2020-12-31", "in_force": False,
         "state": "deleted", "rationale": "Standards of medical practice", "pre_1996": False, "version": "v32.1r0",
         "table_effective": None, "file": "ccioph-v321r0-f1.txt", "line": 3}
_MUE_ROW = {"setting": "practitioner", "code": "99999", "mue": 4, "adjudication_indicator": "3",
            "adjudication_text": "3 Date of Service Edit: Clinical", "meaning": "appeal",
            "rationale": "Nature of Service", "version": "MUE 2026 Q2", "effective": "2026-04-01",
            "file": "MCR_MUE.csv", "line": 12}
_PFS_ROW = {"code": "G9998", "modifier": "", "status": "A", "global_days": "ZZZ", "mult_proc": "0", "bilateral": "0",
            "assistant": "9", "co_surgeon": "9", "team_surgeon": "9", "line": 5}
_PFS_TC = dict(_PFS_ROW, modifier="TC", line=6)


def _verdict_cases():
    """Each verdict built directly (positional fields as the readers build them) and its exact ``to_dict()``."""
    edit, gone, mue_row = PtpEdit(*_EDIT.values()), PtpEdit(*_GONE.values()), MueRow(*_MUE_ROW.values())
    no_pair = {"code_a": "99213", "code_b": "G2211", "as_of": "2026-05-01"}
    pfs_cite = {"table": "Physician Fee Schedule RVU file", "version": "PFS 2026", "effective": "2026-04-01",
                "file": "PPRRVU.csv"}
    return [
        (PairVerdict("10021", "36000", "2026-05-01", [edit, gone], ["practitioner", "hospital"], [], "pair msg"),
         {"code_a": "10021", "code_b": "36000", "as_of": "2026-05-01", "status": "edit_in_force",
          "edit_in_force": True, "settings_loaded": ["practitioner", "hospital"], "settings_missing": [],
          "edits": [_EDIT, _GONE], "message": "pair msg", "citations": [
              {"table": "NCCI PTP edits, practitioner", "version": "v32.1r0", "effective": "2026-04-01",
               "file": "ccipra-v321r0-f1.txt", "line": 7,
               "row": "10021\t36000\t*\t19960101\t*\t1\tMisuse of column two code"},
              {"table": "NCCI PTP edits, outpatient hospital", "version": "v32.1r0", "effective": None,
               "file": "ccioph-v321r0-f1.txt", "line": 3,
               "row": "10021\t36000\t\t20200101\t20201231\t0\tStandards of medical practice"}]}),
        (PairVerdict("99213", "G2211", "2026-05-01", [], ["practitioner"], ["hospital"], "no edit"),
         {**no_pair, "status": "no_edit", "edit_in_force": False, "settings_loaded": ["practitioner"],
          "settings_missing": ["hospital"], "edits": [], "message": "no edit", "citations": []}),
        (PairVerdict("99213", "G2211", "2026-05-01", message="not loaded"),
         {**no_pair, "status": "not_loaded", "edit_in_force": False, "settings_loaded": [], "settings_missing": [],
          "edits": [], "message": "not loaded", "citations": []}),
        (MueVerdict("99999", [mue_row], ["practitioner"], ["hospital", "dme"], "mue msg"),
         {"code": "99999", "status": "found", "settings_loaded": ["practitioner"],
          "settings_missing": ["hospital", "dme"], "rows": [_MUE_ROW], "message": "mue msg", "citations": [
              {"table": "MUE table, practitioner", "version": "MUE 2026 Q2", "effective": "2026-04-01",
               "file": "MCR_MUE.csv", "line": 12,
               "row": "99999,4,3 Date of Service Edit: Clinical,Nature of Service"}]}),
        (MueVerdict("G0000", [], ["practitioner"], ["hospital", "dme"], "none"),
         {"code": "G0000", "status": "no_mue", "settings_loaded": ["practitioner"],
          "settings_missing": ["hospital", "dme"], "rows": [], "message": "none", "citations": []}),
        (MueVerdict("G0000", message="not loaded"),
         {"code": "G0000", "status": "not_loaded", "settings_loaded": [], "settings_missing": [], "rows": [],
          "message": "not loaded", "citations": []}),
        (PfsVerdict("G9998", [dict(_PFS_ROW), dict(_PFS_TC)], "PFS 2026", "2026-04-01", "PPRRVU.csv", True, "pfs"),
         {"code": "G9998", "status": "found", "global_days": "ZZZ", "version": "PFS 2026", "effective": "2026-04-01",
          "rows": [_PFS_ROW, _PFS_TC], "message": "pfs", "citations": [
              {**pfs_cite, "line": 5, "row": "G9998    status A global ZZZ mult 0 bilat 0 asst 9 co 9 team 9"},
              {**pfs_cite, "line": 6, "row": "G9998 TC status A global ZZZ mult 0 bilat 0 asst 9 co 9 team 9"}]}),
        (PfsVerdict("99213", [], "PFS 2026", None, "PPRRVU.csv", True, "not in file"),
         {"code": "99213", "status": "not_in_file", "global_days": None, "version": "PFS 2026", "effective": None,
          "rows": [], "message": "not in file", "citations": []}),
        (PfsVerdict("10021", message="not loaded"),
         {"code": "10021", "status": "not_loaded", "global_days": None, "version": "", "effective": None, "rows": [],
          "message": "not loaded", "citations": []}),
    ]


def test_verdict_to_dict_is_pinned():
    """API responses and eval reports rest on these exact keys, key order and values."""
    for verdict, expected in _verdict_cases():
        got = verdict.to_dict()
        assert got == expected
        assert json.dumps(got) == json.dumps(expected)  # key order too, at every level
        assert verdict.citation() == expected["citations"] and verdict.status == expected["status"]


def test_real_tables(tmp_path):
    ncci_ptp.load_table(tmp_path, shared("ccipra-v322r0-f1.excerpt.txt"))
    mue.load_table(tmp_path, shared("MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv"))
    pfs.load_table(tmp_path, shared("PPRRVU2025_Oct_levelII_rows.csv"))
    db = tables_path(tmp_path)
    v = check_pair(db, "96523", "0001A", as_of=date(2023, 6, 1))
    assert v.edits[0].column1 == "0001A" and v.edits[0].modifier_indicator == "0" and v.edit_in_force
    assert not check_pair(db, "96523", "0001A", as_of=date(2026, 7, 1)).edit_in_force
    assert mue_for(db, "0009U").rows[0].mue == 2
    assert global_period(db, "G0105").global_days == "000"


def _big_ptp_table(tmp_path, rows: int):
    path = tmp_path / "ccipra-v320r0-f1.txt"
    with open(path, "w", encoding="latin-1", newline="") as fh:
        for i in range(rows):
            fh.write(ptp_line(f"{10000 + i // 100:05d}", f"{20000 + i % 100:05d}"))
    ncci_ptp.load_table(tmp_path, path)
    return tables_path(tmp_path)


def test_pair_check_reads_by_index(tmp_path, monkeypatch):
    """What keeps a pair check fast on a 500,000-row file, checked without a clock: every statement it
    runs finds its rows through an index (SQLite's query plan says SEARCH, never SCAN)."""
    import sqlite3

    db = _big_ptp_table(tmp_path, 2_000)
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kw):
        con = connect(*args, **kw)
        con.set_trace_callback(statements.append)  # the SQL as run, parameters filled in
        return con

    monkeypatch.setattr(sqlite3, "connect", traced)
    assert check_pair(db, "20001", "10001", as_of=date(2026, 5, 1)).edit_in_force
    monkeypatch.undo()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert any("ptp" in s for s in selects), statements
    with sqlite3.connect(db) as con:
        for sql in selects:
            plan = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql)]
            assert not any(step.startswith("SCAN") for step in plan), (sql, plan)


@pytest.mark.slow
def test_pair_check_latency(tmp_path):
    """A pair check on a 50,000-row table costs about what a bare primary-key lookup does (open the file
    read-only, one SELECT, close), timed in the same loop so a loaded machine slows both alike."""
    import sqlite3

    db = _big_ptp_table(tmp_path, 50_000)
    checks, bare = [], []
    for i in range(300):
        a, b = f"{20000 + i % 100:05d}", f"{10000 + i:05d}"
        t0 = time.perf_counter()
        check_pair(db, a, b, as_of=date(2026, 5, 1))
        t1 = time.perf_counter()
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        con.execute("SELECT * FROM ptp WHERE col1 = ? AND col2 = ?", (b, a)).fetchall()
        con.close()
        t2 = time.perf_counter()
        checks.append(t1 - t0)
        bare.append(t2 - t1)
    # measured at about 1.6x; 10x leaves room for noise and still catches a table scan (about 25x here)
    assert statistics.median(checks) < 10 * statistics.median(bare), (statistics.median(checks), statistics.median(bare))
