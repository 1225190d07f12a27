"""NCCI PTP loader: the real practitioner excerpt, fixtures in the text/xlsx/zip forms, bad files."""

from __future__ import annotations

import sqlite3
import time

import pytest

from casepilot.tables import loaded_tables, tables_path
from ingest.ncci_ptp import detect_setting, load_table, version_of
from ingest.tabular import LayoutError
from tests.ingest.table_fixtures import ptp_line, sample_ptp_lines, shared, write_ptp, write_ptp_xlsx, zip_files


def rows(data_dir, setting=None):
    """The stored rows by (column 1, column 2, setting); a deletion date of '*' reads as None."""
    con = sqlite3.connect(tables_path(data_dir))
    q = "SELECT col1, col2, setting, effective, NULLIF(deletion, ''), modifier, part FROM ptp"
    out = con.execute(q + (" WHERE setting = ?" if setting else ""), (setting,) if setting else ()).fetchall()
    con.close()
    return {(r[0], r[1], r[2]): r for r in out}


def table_rows(data_dir) -> list[tuple]:
    """Every stored row, every column the readers use, in a fixed order (two tables compare equal as lists)."""
    con = sqlite3.connect(tables_path(data_dir))
    out = con.execute("SELECT col1, col2, setting, pre_1996, effective, NULLIF(deletion, ''), modifier, rationale, "
                      "part, line FROM ptp ORDER BY col1, col2, setting, part, line").fetchall()
    con.close()
    return out


def test_real_practitioner_excerpt(tmp_path):
    res = load_table(tmp_path, shared("ccipra-v322r0-f1.excerpt.txt"))
    assert res.rows == 154 and res.duplicates == 0
    part = res.parts[0]
    assert (part["setting"], part["part"], part["version"], part["effective"]) == \
        ("practitioner", "f1", "v32.2r0", "2026-07-01")
    got = rows(tmp_path)
    assert got[("0001A", "0591T", "practitioner")][3:6] == ("2022-01-01", "2023-12-31", "1")
    assert got[("0001U", "81164", "practitioner")][4] is None  # '*' = not deleted
    assert loaded_tables(tables_path(tmp_path))[0]["rows"] == 154


def test_names_give_setting_version_and_quarter():
    assert detect_setting("ccipra-v322r0-f1.txt") == "practitioner"
    assert detect_setting("ccioph-v322r0-f2.xlsx") == "hospital"
    assert detect_setting("edits.txt") is None
    assert version_of("ccipra-v310r0-f1.txt") == ("v31.0r0", "2025-01-01")
    assert version_of("ccipra-v322r0-f1.txt") == ("v32.2r0", "2026-07-01")


def test_fixture_text_xlsx_zip_and_folder(tmp_path):
    data = tmp_path / "data"
    src = tmp_path / "src"
    src.mkdir()
    write_ptp(src / "ccipra-v321r0-f1.txt", sample_ptp_lines())
    write_ptp_xlsx(src / "ccioph-v321r0-f1.xlsx", sample_ptp_lines()[:2])
    res = load_table(data, src)  # a folder: both settings in one transaction
    assert res.rows == 7
    got = rows(data)
    assert ("10021", "76942", "hospital") in got and ("10021", "G0471", "practitioner") in got
    assert got[("10021", "36000", "hospital")][3] == "1996-01-01"  # numeric Excel date read as YYYYMMDD
    z = zip_files(tmp_path / "ccipra-v321r0-f2.zip", [write_ptp(tmp_path / "ccipra-v321r0-f2.txt",
                                                                 [ptp_line("20000", "20001")])])
    load_table(data, z)
    assert ("20000", "20001", "practitioner") in rows(data)
    assert {(p["setting"], p["part"]) for p in loaded_tables(tables_path(data))} == \
        {("practitioner", "f1"), ("practitioner", "f2"), ("hospital", "f1")}


def test_reload_replaces_only_its_part(tmp_path):
    load_table(tmp_path, write_ptp(tmp_path / "ccipra-v320r0-f1.txt", sample_ptp_lines()))
    load_table(tmp_path, write_ptp(tmp_path / "ccipra-v320r0-f2.txt", [ptp_line("30000", "30001")]))
    load_table(tmp_path, write_ptp(tmp_path / "ccipra-v321r0-f1.txt", [ptp_line("10021", "36000")]))
    got = rows(tmp_path)
    assert set(got) == {("10021", "36000", "practitioner"), ("30000", "30001", "practitioner")}
    versions = {p["part"]: p["version"] for p in loaded_tables(tables_path(tmp_path))}
    assert versions == {"f1": "v32.1r0", "f2": "v32.0r0"}


def test_every_row_of_a_pair_is_kept(tmp_path):
    """A pair deleted and added again has two rows; both are stored (check_pair picks by date of service)."""
    deleted = ptp_line("10021", "36000", eff="20150101", dele="20191231", mod="0")
    in_force = ptp_line("10021", "36000", eff="20200101", dele="*", mod="1")
    for order in ([deleted, in_force], [in_force, deleted]):
        res = load_table(tmp_path, write_ptp(tmp_path / "ccipra-v320r0-f1.txt", order))
        assert res.duplicates == 0 and res.parts[0]["rows"] == 2
        assert sorted(r[4:7] for r in table_rows(tmp_path)) == [("2015-01-01", "2019-12-31", "0"),
                                                                ("2020-01-01", None, "1")]


@pytest.mark.parametrize("bad_line, expect", [
    ("10021\t36001\t\t2020010\t*\t1\tx\r\n", "line 8: bad date"),
    ("10021\t36001\t\t20200101\t*\t5\tx\r\n", "line 8: column 6 (modifier indicator) is '5'"),
    ("10021\t36001\t\t2020", "line 8: row has 4 column(s), expected 7 (the file may be truncated)"),
    ("1002\t36001\t\t20200101\t*\t1\tx\r\n", "line 8: column 1 is '1002'"),
])
def test_bad_file_changes_nothing(tmp_path, bad_line, expect):
    data = tmp_path / "data"
    load_table(data, write_ptp(tmp_path / "ccipra-v320r0-f1.txt", sample_ptp_lines()))
    before_rows, before_src = rows(data), loaded_tables(tables_path(data))
    bad = write_ptp(tmp_path / "ccipra-v321r0-f1.txt",
                    [ptp_line("10021", "36000"), bad_line])
    with pytest.raises(LayoutError) as e:
        load_table(data, bad)
    assert expect in str(e.value) and "ccipra-v321r0-f1.txt" in str(e.value) and "tab-separated" in str(e.value)
    assert rows(data) == before_rows and loaded_tables(tables_path(data)) == before_src


def test_bad_second_file_rolls_back_the_first(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    write_ptp(src / "ccipra-v320r0-f1.txt", sample_ptp_lines())
    write_ptp(src / "ccipra-v320r0-f2.txt", ["garbage\r\n"] * 3, header="")
    with pytest.raises(LayoutError, match="ccipra-v320r0-f2.txt"):
        load_table(tmp_path / "data", src)
    assert rows(tmp_path / "data") == {} and loaded_tables(tables_path(tmp_path / "data")) == []


def test_encodings_bom_and_unknown_setting(tmp_path):
    lines = [ptp_line("10021", "36000", rationale="Standards of m\u00e9dical practice")]
    for enc in ("latin-1", "utf-8"):
        load_table(tmp_path, write_ptp(tmp_path / "ccipra-v320r0-f1.txt", lines, encoding=enc))
        con = sqlite3.connect(tables_path(tmp_path))
        assert con.execute("SELECT rationale FROM ptp").fetchone()[0] == "Standards of m\u00e9dical practice"
        con.close()
    bom = tmp_path / "ccipra-v320r0-f3.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + "".join(sample_ptp_lines()).encode())  # no header lines, BOM first
    assert load_table(tmp_path, bom).rows == 5
    anon = write_ptp(tmp_path / "edits.txt", lines)
    with pytest.raises(LayoutError, match="cannot tell practitioner from outpatient hospital"):
        load_table(tmp_path, anon)
    assert load_table(tmp_path, anon, setting="hospital").parts[0]["setting"] == "hospital"
    utf16 = tmp_path / "ccipra-v320r0-f4.txt"
    utf16.write_bytes("".join(lines).encode("utf-16"))
    with pytest.raises(LayoutError, match="UTF-16"):
        load_table(tmp_path, utf16)


def test_streaming_load_of_many_rows(tmp_path):
    n = 60_000
    path = tmp_path / "ccipra-v320r0-f1.txt"
    with open(path, "w", encoding="latin-1", newline="") as fh:
        fh.write("Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\r\n")
        for i in range(n):
            fh.write(ptp_line(f"{10000 + i // 100:05d}", f"{20000 + i % 100:05d}"))
    t0 = time.perf_counter()
    res = load_table(tmp_path, path)
    assert res.rows == n and res.parts[0]["rows"] == n
    assert time.perf_counter() - t0 < 30


def test_cms_zip_with_companion_files_and_two_forms(tmp_path):
    txt = write_ptp(tmp_path / "ccipra-v321r0-f1.txt", sample_ptp_lines())
    xlsx = write_ptp_xlsx(tmp_path / "ccipra-v321r0-f1.xlsx", sample_ptp_lines()[:1])
    readme = tmp_path / "README.txt"
    readme.write_text("About the NCCI files")
    res = load_table(tmp_path / "data", zip_files(tmp_path / "ccipra-v321r0-f1.zip", [readme, txt, xlsx]))
    assert res.rows == 5 and [p["file"] for p in res.parts] == ["ccipra-v321r0-f1.zip:ccipra-v321r0-f1.txt"]
