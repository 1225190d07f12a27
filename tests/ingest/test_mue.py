"""MUE loader: the real practitioner excerpt, fixtures for each setting and form, bad files."""

from __future__ import annotations

import sqlite3

import pytest

from casepilot.tables import loaded_tables, tables_path
from ingest.mue import effective_of, load_table
from ingest.tabular import LayoutError
from tests.ingest.table_fixtures import sample_mue_rows, shared, write_mue, zip_files


def mue_rows(data_dir):
    con = sqlite3.connect(tables_path(data_dir))
    out = {(r[0], r[1]): r for r in con.execute("SELECT code, setting, mue, mai, mai_text, rationale FROM mue")}
    con.close()
    return out


def test_real_practitioner_excerpt(tmp_path):
    res = load_table(tmp_path, shared("MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv"))
    assert res.rows == 44
    assert (res.parts[0]["setting"], res.parts[0]["effective"]) == ("practitioner", "2026-07-01")
    got = mue_rows(tmp_path)
    assert got[("0009U", "practitioner")][2:5] == (2, "3", "3 Date of Service Edit: Clinical")
    assert got[("0001U", "practitioner")][5] == "Code Descriptor / CPT Instruction"


def test_settings_from_name_or_header_and_xlsx(tmp_path):
    from openpyxl import Workbook

    data = tmp_path / "data"
    load_table(data, write_mue(tmp_path / "MCR_MUE_OutpatientHospitalServices_Eff_01-01-2026.csv", sample_mue_rows(),
                               setting_header="Outpatient Hospital Services MUE Values"))
    load_table(data, write_mue(tmp_path / "mue_table.csv", sample_mue_rows()[:1],
                               setting_header="DME Supplier Services MUE Values"))  # only the header says DME
    wb = Workbook()
    ws = wb.active
    ws.append(["Notice: CPT copyright American Medical Association", None, None, None])
    ws.append(["HCPCS/\nCPT Code", "Practitioner Services MUE Values", "MUE Adjudication Indicator", "MUE Rationale"])
    for r in sample_mue_rows():
        ws.append(list(r))
    wb.save(tmp_path / "MCR_MUE_PractitionerServices_Eff_04-01-2026.xlsx")
    load_table(data, zip_files(tmp_path / "mue.zip", [tmp_path / "MCR_MUE_PractitionerServices_Eff_04-01-2026.xlsx"]))
    got = mue_rows(data)
    assert got[("99999", "hospital")][2] == 4 and got[("0001U", "dme")][2] == 1
    assert got[("A9999", "practitioner")][2:4] == (10, "1")
    eff = {p["setting"]: p["effective"] for p in loaded_tables(tables_path(data))}
    assert eff == {"hospital": "2026-01-01", "dme": None, "practitioner": "2026-04-01"}


def test_reload_replaces_its_setting_only(tmp_path):
    name = "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    load_table(tmp_path, write_mue(tmp_path / name, sample_mue_rows()))
    load_table(tmp_path, write_mue(tmp_path / "MCR_MUE_DMESupplierServices_Eff_07-01-2026.csv", sample_mue_rows()))
    load_table(tmp_path, write_mue(tmp_path / name, sample_mue_rows()[:1]))
    got = mue_rows(tmp_path)
    assert sum(1 for k in got if k[1] == "practitioner") == 1 and sum(1 for k in got if k[1] == "dme") == 3


@pytest.mark.parametrize("bad, expect", [
    (("99213", "x", "1 Line Edit", "r"), "line 11: MUE value is 'x'"),
    (("99213", "1", "4 Something", "r"), "line 11: adjudication indicator is '4 Something'"),
    (("992", "1", "1 Line Edit", "r"), "line 11: code is '992'"),
    (("99213", "1"), "line 11: row has 2 column(s), expected 4 (the file may be truncated)"),
])
def test_bad_rows_change_nothing(tmp_path, bad, expect):
    name = "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    data = tmp_path / "data"
    load_table(data, write_mue(tmp_path / name, sample_mue_rows()))
    before = (mue_rows(data), loaded_tables(tables_path(data)))
    with pytest.raises(LayoutError) as e:
        load_table(data, write_mue(tmp_path / name, sample_mue_rows() + [bad]))
    assert expect in str(e.value) and name in str(e.value) and "MUE layout" in str(e.value)
    assert (mue_rows(data), loaded_tables(tables_path(data))) == before


def test_encodings_and_bom(tmp_path):
    rows = [("0001U", 1, "2 Date of Service Edit: Policy", "Caf\u00e9 rationale")]
    for enc, bom in (("latin-1", False), ("utf-8", True)):
        load_table(tmp_path, write_mue(tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv", rows,
                                       encoding=enc, bom=bom))
        assert mue_rows(tmp_path)[("0001U", "practitioner")][5] == "Caf\u00e9 rationale"


def test_wrong_layout(tmp_path):
    ptp = tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    ptp.write_text("0001A\t0591T\t\t20220101\t20231231\t1\tx\n" * 60)
    with pytest.raises(LayoutError, match="no 'HCPCS/CPT Code' header row"):
        load_table(tmp_path, ptp)
    assert effective_of("MCR_MUE_DMESupplierServices_Eff_10-01-2025.csv") == "2025-10-01"


def test_zip_with_csv_and_xlsx_of_the_same_table(tmp_path):
    from openpyxl import Workbook

    name = "MCR_MUE_PractitionerServices_Eff_07-01-2026"
    csv_path = write_mue(tmp_path / f"{name}.csv", sample_mue_rows())
    wb = Workbook()
    wb.active.append(["HCPCS/CPT Code", "Practitioner Services MUE Values", "MUE Adjudication Indicator", "x"])
    wb.save(tmp_path / f"{name}.xlsx")
    res = load_table(tmp_path / "data", zip_files(tmp_path / "mue.zip", [csv_path, tmp_path / f"{name}.xlsx"]))
    assert res.rows == 3 and len(res.parts) == 1 and res.parts[0]["file"].endswith(".csv")
