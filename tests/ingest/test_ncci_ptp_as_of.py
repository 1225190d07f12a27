"""NCCI PTP by date of service (issue 14): the load keeps every row of a pair whatever day it runs, and
``check_pair`` picks the row that applies on the date asked about."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from casepilot.tables import loaded_tables, tables_path
from casepilot.tables.ptp import check_pair
from ingest import mue
from ingest.ncci_ptp import load_table
from tests.ingest.table_fixtures import ptp_line, sample_mue_rows, sample_ptp_lines, write_mue, write_ptp
from tests.ingest.test_ncci_ptp import table_rows

# the same pair twice: an edit deleted after 2024-12-31 and its replacement, effective 2025-01-01
ENDING = ptp_line("10021", "36000", eff="20200101", dele="20241231", mod="0")
NEXT = ptp_line("10021", "36000", eff="20250101", dele="*", mod="1")
# a pair with a gap: deleted after 2019-12-31, edited again from 2021-01-01
GONE = ptp_line("20000", "20001", eff="20150101", dele="20191231", mod="0")
BACK = ptp_line("20000", "20001", eff="20210101", dele="*", mod="1")


def _on_day(monkeypatch, day: date) -> None:
    """Make ``date.today()`` in the loader answer ``day``."""

    class Fixed(date):
        @classmethod
        def today(cls):
            return cls(day.year, day.month, day.day)

    monkeypatch.setattr("ingest.ncci_ptp.date", Fixed, raising=False)  # the loader may stop importing date


def test_the_same_files_give_the_same_table_whatever_the_day_of_the_load(tmp_path, monkeypatch):
    tables, counts = [], set()
    for i, day in enumerate((date(2019, 6, 1), date(2024, 6, 1), date(2025, 6, 1), date(2030, 1, 1))):
        _on_day(monkeypatch, day)
        data = tmp_path / f"data{i}"
        res = load_table(data, write_ptp(tmp_path / "ccipra-v310r0-f1.txt", [ENDING, GONE, NEXT, BACK]))
        tables.append(table_rows(data))
        counts.add((res.rows, res.duplicates, res.parts[0]["rows"]))
    assert all(t == tables[0] for t in tables[1:]), tables
    assert len(tables[0]) == 4 and counts == {(4, 0, 4)}  # two different rows of one pair are no duplicate


@pytest.mark.parametrize("order", [(ENDING, NEXT, GONE, BACK), (BACK, NEXT, GONE, ENDING)])
def test_check_pair_answers_from_the_row_that_applies_on_the_date_asked(tmp_path, monkeypatch, order):
    _on_day(monkeypatch, date(2026, 6, 1))  # a load day after every change: the old load kept only the newest rows
    load_table(tmp_path, write_ptp(tmp_path / "ccipra-v310r0-f1.txt", list(order)))
    db = tables_path(tmp_path)

    def edit(a, b, day):
        v = check_pair(db, a, b, as_of=day)
        assert len(v.edits) == 1  # one row per pair and setting: the one that applies
        e = v.edits[0]
        return e.effective, e.deletion, e.modifier_indicator, e.state

    # before, on the last day of, and after the older row
    assert edit("36000", "10021", date(2019, 6, 1)) == ("2025-01-01", None, "1", "not_yet_effective")
    assert edit("10021", "36000", date(2022, 3, 1)) == ("2020-01-01", "2024-12-31", "0", "in_force")
    assert edit("10021", "36000", date(2024, 12, 31)) == ("2020-01-01", "2024-12-31", "0", "in_force")
    assert edit("10021", "36000", date(2025, 1, 1)) == ("2025-01-01", None, "1", "in_force")
    v = check_pair(db, "10021", "36000", as_of=date(2024, 12, 31))
    assert v.edit_in_force and "no modifier" in v.edits[0].modifier_meaning and v.edits[0].line in (7, 10)
    # a gap: in force, then none in force (the next row is shown, not yet effective), then in force again
    assert edit("20000", "20001", date(2019, 12, 31)) == ("2015-01-01", "2019-12-31", "0", "in_force")
    gap = check_pair(db, "20000", "20001", as_of=date(2020, 6, 1))
    assert not gap.edit_in_force and gap.edits[0].state == "not_yet_effective"
    assert "not yet in force on 2020-06-01" in gap.message
    assert edit("20000", "20001", date(2021, 1, 1)) == ("2021-01-01", None, "1", "in_force")


def test_only_exact_repeats_are_duplicates(tmp_path):
    res = load_table(tmp_path, write_ptp(tmp_path / "ccipra-v310r0-f1.txt", [ENDING, NEXT, ENDING, NEXT, GONE]))
    assert (res.rows, res.duplicates, res.parts[0]["rows"]) == (5, 2, 3)
    assert loaded_tables(tables_path(tmp_path))[0]["rows"] == 3
    assert "2 duplicate rows skipped" in res.summary()


OLD_PTP = """
CREATE TABLE ptp (
  col1 TEXT NOT NULL, col2 TEXT NOT NULL, setting TEXT NOT NULL, pre_1996 INTEGER NOT NULL,
  effective TEXT NOT NULL, deletion TEXT, modifier TEXT NOT NULL, rationale TEXT NOT NULL,
  part TEXT NOT NULL, line INTEGER NOT NULL, rank TEXT NOT NULL,
  PRIMARY KEY (col1, col2, setting)
) WITHOUT ROWID;
CREATE TABLE table_sources (
  kind TEXT NOT NULL, setting TEXT NOT NULL, part TEXT NOT NULL, version TEXT NOT NULL,
  effective TEXT, rows INTEGER NOT NULL, file TEXT NOT NULL, loaded_at TEXT NOT NULL,
  PRIMARY KEY (kind, setting, part)
);
INSERT INTO ptp VALUES ('10021', '36000', 'practitioner', 0, '2025-01-01', NULL, '1', 'Misuse', 'f1', 10,
                        '12025-01-019999-99-99');
INSERT INTO ptp VALUES ('10021', '99999', 'practitioner', 0, '2020-01-01', '2020-12-31', '1', 'Misuse', 'f1', 8,
                        '02020-01-012020-12-31');
INSERT INTO table_sources VALUES ('ncci-ptp', 'practitioner', 'f1', 'v31.0r0', '2025-01-01', 2,
                                  'ccipra-v310r0-f1.txt', '2025-06-01T00:00:00+00:00');
"""


def test_a_table_loaded_before_the_change_is_read_and_then_migrated_in_place(tmp_path):
    """A ``tables.sqlite`` written by the earlier loader (one row per pair, PRAGMA user_version 0) still answers;
    the next load of any table moves its rows into the new shape without losing one."""
    db = tables_path(tmp_path)
    con = sqlite3.connect(db)
    con.executescript(OLD_PTP)
    con.close()

    def answers():
        return [(e.effective, e.deletion, e.state, e.file, e.line)
                for day in (date(2020, 6, 1), date(2026, 1, 1)) for a, b in (("36000", "10021"), ("10021", "99999"))
                for e in check_pair(db, a, b, as_of=day).edits]

    before = answers()
    assert before[1] == ("2020-01-01", "2020-12-31", "in_force", "ccipra-v310r0-f1.txt", 8)
    mue.load_table(tmp_path, write_mue(tmp_path / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
                                       sample_mue_rows()))
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert "rank" not in [r[1] for r in con.execute("PRAGMA table_info(ptp)")]
    con.close()
    assert answers() == before and len(table_rows(tmp_path)) == 2
    assert {t["kind"] for t in loaded_tables(db)} == {"ncci-ptp", "mue"}
    # a PTP load into the migrated file works as into a new one
    load_table(tmp_path, write_ptp(tmp_path / "ccipra-v321r0-f1.txt", sample_ptp_lines() + [ENDING]))
    assert check_pair(db, "10021", "36000", as_of=date(2024, 1, 1)).edits[0].effective == "2020-01-01"
