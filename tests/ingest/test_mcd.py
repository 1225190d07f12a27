"""MCD loader: fixture downloads in the real layout (outer zip, inner zip, folder), the CLI, idempotence,
encodings, HTML cells, and hostile files that must leave the earlier load in place."""

from __future__ import annotations

import csv
import json
import sqlite3
import zipfile

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from casepilot import settings as settings_mod
from casepilot.settings import Settings
from casepilot.tables import coverage as cov
from casepilot.tables import loaded_tables, tables_path
from ingest import mcd_files
from ingest.mcd import load_table
from ingest.mcd_files import Limits, html_to_text
from ingest.registry import load_table_for
from ingest.tabular import LayoutError
from tests.ingest.mcd_fixtures import (EDITION, HEADERS, article_tables, csv_bytes, lcd_tables, ncd_tables,
                                       write_download)

DAY = "2026-11-29"


def state(data) -> tuple:
    """What a reader sees: the loaded parts and the J7321 crosswalk (rows included)."""
    db = tables_path(data)
    x = cov.crosswalk(db, "J7321", DAY).to_dict()
    parts = [(p["kind"], p["setting"], p["version"], p["rows"]) for p in loaded_tables(db)]
    return parts, json.dumps(x, sort_keys=True)


@pytest.mark.parametrize("form", ["outer", "inner", "folder"])
def test_every_download_form_loads(tmp_path, form):
    path = write_download(tmp_path / "src", "article", article_tables(), form=form)
    res = load_table(tmp_path / "data", path)
    assert res.datasets == ["article"] and not res.unchanged
    c = res.counts
    assert (c["articles"], c["hcpc_rows"], c["covered_rows"], c["noncovered_rows"], c["code_rows"]) == (20, 18, 17, 11, 46)
    assert res.skipped == {"its article version is not in article.csv": 20,  # A59915 rows: an orphan, as peers see
                           "placeholder code XX000 (Not Applicable)": 1}
    assert res.examples["placeholder code XX000 (Not Applicable)"] == ["article_x_hcpc_code.csv line 20"]
    assert res.parts[0]["version"] == f"MCD article data as of {EDITION}" and res.parts[0]["effective"] == EDITION
    assert f"20 articles with 46 code rows" in res.summary() and "placeholder code XX000" in res.summary()
    con = sqlite3.connect(tables_path(tmp_path / "data"))
    title, html = con.execute("SELECT title, title_html FROM mcd_article WHERE article_id = 53781").fetchone()
    assert (title, html) == ("Billing and Coding: Spiracur SNaP® Wound Care System",
                             "Billing and Coding: Spiracur SNaP<sup>®</sup> Wound Care System")
    para, raw = con.execute("SELECT paragraph, paragraph_html FROM mcd_group WHERE article_id = 52420 AND kind = 'hcpc' "
                            "AND grp = 1").fetchone()
    assert "Visco-3™" in para and "Durolane®" in para and "&trade;" in raw and "<p>" in raw and "<p>" not in para
    assert con.execute("SELECT COUNT(*) FROM mcd_icd WHERE article_id = 52420 AND kind = 'covered'").fetchone()[0] == 17


def test_all_three_downloads_from_one_folder_and_their_counts(tmp_path):
    src = tmp_path / "downloads"
    write_download(src, "article", article_tables())
    write_download(src, "ncd", ncd_tables())
    write_download(src, "lcd", lcd_tables(), form="inner")
    res = load_table(tmp_path / "data", src)
    assert res.datasets == ["article", "lcd", "ncd"]
    assert (res.counts["articles"], res.counts["lcds"], res.counts["ncds"]) == (20, 1, 19)
    assert {p["setting"] for p in loaded_tables(tables_path(tmp_path / "data"))} == {"article", "lcd", "ncd"}
    assert "1 LCDs" in res.summary() and "19 NCDs" in res.summary()


def test_cli_ingest_source_mcd(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(tmp_path / "data"))
    settings_mod.get_settings.cache_clear()
    from casepilot.cli import app

    runner = CliRunner()
    try:
        path = write_download(tmp_path, "article", article_tables())
        r = runner.invoke(app, ["ingest", "--source", "mcd", str(path)])
        assert r.exit_code == 0, r.output
        assert "20 articles with 46 code rows" in r.stdout and "21 row(s) skipped" in r.stdout
        assert "placeholder code XX000 (Not Applicable): 1" in r.stdout
        again = runner.invoke(app, ["ingest", "--source", "mcd", str(path), "--json"])
        assert again.exit_code == 0 and json.loads(again.stdout)["unchanged"] is True
        bad = tmp_path / "bad" / "current_article.zip"
        bad.parent.mkdir()
        bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        r = runner.invoke(app, ["ingest", "--source", "mcd", str(bad)])
        assert r.exit_code == 1 and "not a readable zip archive" in r.output and "download it again" in r.output
        assert cov.crosswalk(tables_path(tmp_path / "data"), "J7321", DAY).articles[0].public_id == "A52420"
    finally:
        settings_mod.get_settings.cache_clear()


def test_reload_is_fingerprinted_and_a_new_download_replaces_the_dataset(tmp_path):
    data = tmp_path / "data"
    tables = article_tables()
    path = write_download(tmp_path / "v1", "article", tables)
    load_table(data, path)
    again = load_table(data, path)
    assert again.unchanged and again.rows == 0 and "unchanged" in again.summary()
    assert load_table(data, path, force=True).counts["code_rows"] == 46
    tables["article_x_icd10_covered.csv"] = [r for r in tables["article_x_icd10_covered.csv"]
                                             if r["icd10_code_id"] != "M17.11"]
    newer = load_table(data, write_download(tmp_path / "v2", "article", tables))
    assert not newer.unchanged and newer.counts["covered_rows"] == 16
    assert cov.check(tables_path(data), "J7321", "M17.11", DAY).verdict == "not_addressed"
    load_table(data, write_download(tmp_path / "n", "ncd", ncd_tables()))  # another dataset leaves articles alone
    assert cov.check(tables_path(data), "J7321", "M17.12", DAY).verdict == "supported"


def test_the_writer_lock_applies(tmp_path):
    s = Settings(data_dir=tmp_path / "data")
    path = write_download(tmp_path, "ncd", ncd_tables())
    with FileLock(str(tmp_path / "data" / "ingest.lock")):
        with pytest.raises(RuntimeError, match="another ingest is already running"):
            load_table_for("mcd", path, s)
    assert load_table_for("mcd", path, s).counts["ncds"] == 19


def test_windows_1252_file_is_read_and_reported(tmp_path):
    tables = article_tables()
    tables["contractor.csv"][0]["contractor_bus_name"] = "Noridian Healthcare Solutions – Jurisdiction É"
    path = write_download(tmp_path, "article", tables, encodings={"contractor.csv": "cp1252"})
    res = load_table(tmp_path / "data", path)
    assert res.encodings == {"current_article.zip:current_article_csv.zip:contractor.csv": "Windows-1252"}
    assert "contractor.csv is not valid UTF-8 and was read as Windows-1252" in res.summary()
    con = sqlite3.connect(tables_path(tmp_path / "data"))
    assert con.execute("SELECT name FROM mcd_contractor WHERE contractor_id = 139").fetchone()[0] == \
        "Noridian Healthcare Solutions – Jurisdiction É"


def test_html_heavy_cell_is_kept_and_shown_as_text(tmp_path):
    tables = article_tables()
    big = ("<div><script>alert('x')</script><style>p{}</style>" + "<p>Report J7321&nbsp;&amp; <b>20610</b>&#8211;"
           "see <a href='http://x'>link</a><br>next</p><table><tr><td>A</td><td>B</td></tr></table>" * 2500
           + "<ul><li>one</li><li>two</li></ul></div>")
    assert len(big) > 128 * 1024  # beyond csv's default field limit
    tables["article_x_hcpc_code_group.csv"][1]["paragraph"] = big
    res = load_table(tmp_path / "data", write_download(tmp_path, "article", tables))
    assert res.counts["hcpc_rows"] == 18
    con = sqlite3.connect(tables_path(tmp_path / "data"))
    text, raw = con.execute("SELECT paragraph, paragraph_html FROM mcd_group WHERE article_id = 52420 AND grp = 2 "
                            "AND kind = 'hcpc'").fetchone()
    assert raw == big
    assert "<" not in text and "alert" not in text and "p{}" not in text
    assert text.startswith("Report J7321 & 20610–see link\nnext\nA | B") and text.endswith("- one\n- two")


def test_html_to_text():
    assert html_to_text("Visco-3&trade; and Durolane&reg;") == "Visco-3™ and Durolane®"
    assert html_to_text("<p>a</p>\n<p>b  c</p>") == "a\nb c"
    assert html_to_text("Plain  text\nwith lines") == "Plain text with lines"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("&amp;reg; twice-escaped") == "® twice-escaped"
    assert html_to_text("") == ""


# -- hostile files ----------------------------------------------------------------------------------------

def _without_column(tables):
    return {"raw": {"article_x_icd10_covered.csv": csv_bytes(
        "article_x_icd10_covered.csv", tables["article_x_icd10_covered.csv"],
        header=HEADERS["article_x_icd10_covered.csv"].replace(",icd10_covered_group", ""))}}


def _undecodable(tables):
    data = csv_bytes("article_x_icd10_covered.csv", tables["article_x_icd10_covered.csv"])
    return {"raw": {"article_x_icd10_covered.csv": data.replace(b"M17.9", b"M17.\x81\x9d")}}


def _utf16(tables):
    return {"raw": {"article.csv": csv_bytes("article.csv", tables["article.csv"], encoding="utf-16")}}


def _truncated_csv(tables):
    data = csv_bytes("article_x_icd10_noncovered_group.csv", tables["article_x_icd10_noncovered_group.csv"])
    return {"raw": {"article_x_icd10_noncovered_group.csv": data[: len(data) - 60]}}  # inside the quoted paragraph


def _short_row(tables):
    data = csv_bytes("article_x_icd10_covered.csv", tables["article_x_icd10_covered.csv"])
    return {"raw": {"article_x_icd10_covered.csv": data + b"52420,64,M17.9\r\n"}}


def _missing_file(tables):
    del tables["article_x_icd10_covered.csv"]
    return {}


def _oversized_cell(tables):
    tables["article_x_hcpc_code_group.csv"][1]["paragraph"] = "<p>" + "x" * 60_000 + "</p>"
    return {"field_limit": 50_000}


HOSTILE = {
    "missing column": (_without_column, "article_x_icd10_covered.csv line 1: missing required column(s): "
                                        "icd10_covered_group"),
    "bad encoding": (_undecodable, "article_x_icd10_covered.csv: neither UTF-8 nor Windows-1252 text"),
    "utf-16": (_utf16, "article.csv line 1: the file is UTF-16"),
    "truncated csv": (_truncated_csv, "article_x_icd10_noncovered_group.csv line 2: unreadable CSV"),
    "short row": (_short_row, "article_x_icd10_covered.csv line 39: the row has 3 field(s) but the header has 10 "
                              "(the file may be truncated or damaged)"),
    "missing file": (_missing_file, "article_x_icd10_covered.csv is missing from this download"),
    "HTML-heavy cell over the limit": (_oversized_cell, "article_x_hcpc_code_group.csv line 3: a cell is longer "
                                                        "than 50,000 characters"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_fails_clearly_and_the_earlier_load_survives(tmp_path, case, monkeypatch):
    data = tmp_path / "data"
    load_table(data, write_download(tmp_path / "good", "article", article_tables()))
    load_table(data, write_download(tmp_path / "good", "ncd", ncd_tables()))
    before = state(data)
    make, expected = HOSTILE[case]
    tables = article_tables()
    opts = make(tables)
    limit = csv.field_size_limit()
    if "field_limit" in opts:
        monkeypatch.setattr(mcd_files, "MAX_FIELD_CHARS", opts["field_limit"])
    try:
        bad = write_download(tmp_path / "bad", "article", tables, raw=opts.get("raw"))
        with pytest.raises(LayoutError) as e:
            load_table(data, bad)
    finally:
        csv.field_size_limit(limit)
    assert expected in str(e.value)
    assert state(data) == before
    assert cov.ncd(tables_path(data), "240.4.1", DAY).status == "found"


def test_truncated_and_damaged_zips(tmp_path):
    data = tmp_path / "data"
    good = write_download(tmp_path / "good", "article", article_tables())
    load_table(data, good)
    before = state(data)
    cut = tmp_path / "cut" / "current_article.zip"
    cut.parent.mkdir()
    cut.write_bytes(good.read_bytes()[:-200])  # the central directory is gone
    with pytest.raises(LayoutError, match="current_article.zip: not a readable zip archive .*download it again"):
        load_table(data, cut)
    inner = write_download(tmp_path / "inner", "article", article_tables(), form="inner")
    raw = bytearray(inner.read_bytes())
    with zipfile.ZipFile(inner) as z:
        info = z.getinfo("article_x_icd10_covered.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 10: start + 40] = bytes(30)  # damage the deflated data of one member
    inner.write_bytes(bytes(raw))
    with pytest.raises(LayoutError, match="article_x_icd10_covered.csv.*(damaged or truncated|unreadable CSV|neither)"):
        load_table(data, inner)
    assert state(data) == before


def test_zip_bombs_stop_before_reading(tmp_path):
    data = tmp_path / "data"
    load_table(data, write_download(tmp_path / "good", "ncd", ncd_tables()))
    bomb = tmp_path / "bomb" / "ncd.zip"
    bomb.parent.mkdir()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ncd_trkg.csv", csv_bytes("ncd_trkg.csv", []) + b" " * (12 << 20))
    with pytest.raises(LayoutError, match=r"expands [\d,]+ times .*zip bomb"):
        load_table(data, bomb)
    with pytest.raises(LayoutError, match="over the limit of 1,000 bytes per file"):
        load_table(data, write_download(tmp_path / "small", "ncd", ncd_tables()), force=True,
                   limits=Limits(member=1_000))
    with pytest.raises(LayoutError, match="unpacks to more than 5,000 bytes in all"):
        load_table(data, write_download(tmp_path / "small2", "ncd", ncd_tables()), force=True,
                   limits=Limits(total=5_000))
    assert cov.ncd(tables_path(data), "330", DAY).ncd["section"] == "240.4.1"


def test_not_an_mcd_download(tmp_path):
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("MCR_MUE_Practitioner.csv", "HCPCS,MUE\r\n")
    with pytest.raises(LayoutError, match="not an MCD download: no article.csv, lcd.csv or ncd_trkg.csv .*"
                                          "mcr_mue_practitioner.csv.*current_article.zip"):
        load_table(tmp_path / "data", z)


def test_bad_rows_are_skipped_with_their_reasons(tmp_path):
    tables = article_tables()
    tables["article_x_icd10_covered.csv"] += [
        {"article_id": "52420", "article_version": "64", "icd10_code_id": "17.11", "icd10_covered_group": "1"},
        {"article_id": "52420", "article_version": "64", "icd10_code_id": "M17.11", "icd10_covered_group": "1"},
        {"article_id": "x", "article_version": "64", "icd10_code_id": "M17.11", "icd10_covered_group": "1"}]
    tables["article_x_hcpc_code.csv"].append({"article_id": "52420", "article_version": "64",
                                              "hcpc_code_id": "J73", "hcpc_code_group": "1"})
    res = load_table(tmp_path / "data", write_download(tmp_path, "article", tables))
    assert res.skipped["not an ICD-10-CM code"] == 1
    assert res.skipped["duplicate row (the same key as an earlier row)"] == 1
    assert res.skipped["article_id is not a number"] == 1
    assert res.skipped["not a 5-character CPT/HCPCS code"] == 1
    assert res.counts["covered_rows"] == 17


def test_ncd_text_dates_and_benefits_are_loaded(tmp_path):
    res = load_table(tmp_path / "data", write_download(tmp_path, "ncd", ncd_tables(), form="folder"))
    assert res.counts["ncds"] == 19 and res.parts[0]["effective"] == "2026-06-08"  # newest NCD date: no update_period
    con = sqlite3.connect(tables_path(tmp_path / "data"))
    row = con.execute("SELECT section, title, eff_date, term_date, coverage_level, indications, indications_html, "
                      "publication, benefits, transmittal_url FROM mcd_ncd WHERE ncd_id = 330").fetchone()
    assert row[:5] == ("240.4.1", "Sleep Testing for Obstructive Sleep Apnea (OSA)", "2009-03-03", None, "1")
    assert row[5] == "Indications:\n- Type I polysomnography\n- Type II or III devices\nDevice | Covered"
    assert row[6].startswith("<p>Indications:</p>")
    assert row[7:] == ("100-3 Medicare National Coverage Determinations", "Durable Medical Equipment", "")
    title = con.execute("SELECT title FROM mcd_ncd WHERE ncd_id = 91").fetchone()[0]
    assert title == "Implantation of Anti-Gastroesophageal Reflux Device - RETIRED"  # double space folded
