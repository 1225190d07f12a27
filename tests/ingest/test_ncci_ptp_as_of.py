"""NCCI PTP loader: the day that ranks duplicate pairs is passed in, so a load is reproducible."""

from __future__ import annotations

from datetime import date

from ingest.ncci_ptp import load_table
from tests.ingest.table_fixtures import ptp_line, write_ptp
from tests.ingest.test_ncci_ptp import rows

KEY = ("10021", "36000", "practitioner")
# the same pair twice: an edit deleted after 2024-12-31 and its replacement, effective 2025-01-01
ENDING = ptp_line("10021", "36000", eff="20200101", dele="20241231", mod="0")
NEXT = ptp_line("10021", "36000", eff="20250101", dele="*", mod="1")


def _load(tmp_path, as_of, order=(ENDING, NEXT)):
    data = tmp_path / "data"
    res = load_table(data, write_ptp(tmp_path / "ccipra-v310r0-f1.txt", list(order)), as_of=as_of)
    assert res.rows == 2 and res.duplicates == 1
    return rows(data)[KEY][3:6]


def test_the_row_kept_is_the_one_in_force_on_as_of(tmp_path):
    for order in ((ENDING, NEXT), (NEXT, ENDING)):
        assert _load(tmp_path, date(2024, 12, 31), order) == ("2020-01-01", "2024-12-31", "0")  # its last day
        assert _load(tmp_path, date(2025, 1, 1), order) == ("2025-01-01", None, "1")


def test_as_of_makes_the_load_independent_of_the_calendar(tmp_path, monkeypatch):
    """With ``as_of`` given, the day the load runs does not matter; without it (None), that day decides."""

    class MidYear(date):
        @classmethod
        def today(cls):
            return cls(2024, 6, 1)

    monkeypatch.setattr("ingest.ncci_ptp.date", MidYear)
    assert _load(tmp_path, date(2025, 6, 1)) == ("2025-01-01", None, "1")
    assert _load(tmp_path, None) == ("2020-01-01", "2024-12-31", "0")  # the default: the day of the load
