"""Fee-schedule RVU loader: the real CSV and fixed-width files agree; fixtures and bad files."""

from __future__ import annotations

import sqlite3

import pytest

from casepilot.tables import loaded_tables, tables_path
from ingest.pfs import load_table, release_of
from ingest.tabular import LayoutError
from tests.ingest.table_fixtures import pfs_csv_row, pfs_txt_record, shared, write_pfs_csv, write_pfs_txt


def pfs_rows(data_dir):
    con = sqlite3.connect(tables_path(data_dir))
    con.row_factory = sqlite3.Row
    out = {(r["code"], r["modifier"]): {k: r[k] for k in r.keys() if k != "line"} for r in con.execute("SELECT * FROM pfs")}
    con.close()
    return out


def test_real_csv_and_txt_agree(tmp_path):
    res = load_table(tmp_path / "a", shared("PPRRVU2025_Oct_levelII_rows.csv"))
    assert res.rows == 5183 and res.version == "PFS RVU 2025 October release"
    assert res.parts[0]["effective"] == "2025-10-01"
    from_csv = pfs_rows(tmp_path / "a")
    load_table(tmp_path / "b", shared("PPRRVU2025_Oct_levelII_rows.txt"))
    from_txt = pfs_rows(tmp_path / "b")
    assert from_csv == from_txt
    assert from_csv[("G0130", "TC")]["status"] == "A" and from_csv[("G0130", "")]["global_days"] == "XXX"
    assert from_csv[("G0105", "53")]["mult_proc"] == "2" and from_csv[("G0105", "53")]["assistant"] == "1"
    assert from_csv[("A0021", "")]["description"] == "Outside state ambulance serv"


def test_fixture_csv_txt_and_cpt_descriptions_left_out(tmp_path):
    rows = [pfs_csv_row("99999", desc="Test descriptor for code 99999", glob="010", ind="13212"),
            pfs_csv_row("G9998", desc="Test service"), pfs_csv_row("G9998", mod="26", glob="XXX", ind="99999")]
    load_table(tmp_path / "a", write_pfs_csv(tmp_path / "PPRRVU2025_Oct.csv", rows))
    got = pfs_rows(tmp_path / "a")
    assert got[("99999", "")]["description"] == ""  # CPT short descriptors are AMA copyright
    assert got[("99999", "")]["global_days"] == "010" and got[("99999", "")]["bilateral"] == "3"
    assert got[("G9998", "26")]["team_surgeon"] == "9"
    recs = [pfs_txt_record("99999", desc="Test descriptor for code 99999", glob="010", ind="13212"),
            pfs_txt_record("G9998"), pfs_txt_record("G9998", mod="26", glob="XXX", ind="99999")]
    load_table(tmp_path / "b", write_pfs_txt(tmp_path / "PPRRVU25_OCT.txt", recs))
    txt = pfs_rows(tmp_path / "b")
    assert {k: v["global_days"] for k, v in txt.items()} == {k: v["global_days"] for k, v in got.items()}
    assert txt[("99999", "")]["pre_op"] == "0.10"


@pytest.mark.parametrize("mutate, expect", [
    (lambda r: r[:100], "line 6: record is 100 characters"),
    (lambda r: r[:103] + "123" + r[106:], "line 6: global days is '123'"),
    (lambda r: r[:57] + "7" + r[58:], "line 6: status code is '7'"),
])
def test_bad_txt_changes_nothing(tmp_path, mutate, expect):
    data = tmp_path / "data"
    load_table(data, write_pfs_txt(tmp_path / "PPRRVU25_OCT.txt", [pfs_txt_record("G9998")]))
    before = (pfs_rows(data), loaded_tables(tables_path(data)))
    bad = write_pfs_txt(tmp_path / "PPRRVU26_JAN.txt",
                        [pfs_txt_record("G9997"), pfs_txt_record("G9996"), pfs_txt_record("G9995"),
                         mutate(pfs_txt_record("G9994"))])
    with pytest.raises(LayoutError) as e:
        load_table(data, bad)
    assert expect in str(e.value) and "PPRRVU26_JAN.txt" in str(e.value)
    assert (pfs_rows(data), loaded_tables(tables_path(data))) == before


def test_bad_csv(tmp_path):
    path = write_pfs_csv(tmp_path / "PPRRVU2025_Oct.csv", [pfs_csv_row("G9998"), pfs_csv_row("G9997")[:40]])
    with pytest.raises(LayoutError, match="line 6: row has .* columns, expected 31"):
        load_table(tmp_path, path)
    other = tmp_path / "PPRRVU2025_Jan.csv"
    other.write_text("HCPCS,DESCRIPTION\nG9998,x\n")
    with pytest.raises(LayoutError, match="no 'HCPCS, MOD, DESCRIPTION"):
        load_table(tmp_path, other)


def test_release_names():
    assert release_of("RVU25D.zip:PPRRVU25_OCT.csv")[0] == "PFS RVU 2025 October release"
    assert release_of("RVU26A") == ("PFS RVU 2026 January release", "2026-01-01")
