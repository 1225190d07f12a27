"""Hostile CMS table files (issue 13, finding 8): zip bombs, too many entries, names outside the archive,
endless lines and xlsx sheets that declare millions of empty cells stop with a named ``UnsafeFile`` error,
quickly and before anything is written; never a hang, a memory blowup or a traceback."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casepilot import settings as settings_mod
from casepilot.cli import app
from casepilot.tables import loaded_tables, tables_path
from casepilot.settings import Settings
from ingest.registry import load_table_for
from ingest.tabular import Limits, UnsafeFile, members, xlsx_rows
from tests.ingest.table_fixtures import (
    sample_mue_rows, sample_ptp_lines, write_mue, write_ptp, write_ptp_xlsx, zip_files,
)

pytestmark = pytest.mark.component

MUE_NAME = "MCR_MUE_PractitionerServices_Eff_07-01-2026"
PTP_NAME = "ccipra-v320r0-f1"


def _load(kind: str, path: Path, data: Path):
    """Load, and fail the test if refusing took more than a few seconds (the unbounded read took minutes)."""
    t0 = time.perf_counter()
    try:
        return load_table_for(kind, path, Settings(data_dir=data))
    finally:
        assert time.perf_counter() - t0 < 10, "a hostile file took too long to refuse"


def _good_tables(tmp_path: Path) -> Path:
    """A data directory already holding good MUE and PTP tables (a refused file must leave them as they are)."""
    data = tmp_path / "data"
    _load("mue", write_mue(tmp_path / f"{MUE_NAME}.csv", sample_mue_rows()), data)
    _load("ncci-ptp", write_ptp(tmp_path / f"{PTP_NAME}.txt", sample_ptp_lines()), data)
    return data


def _tables(data: Path) -> list[tuple]:
    return sorted((t["kind"], t.get("rows")) for t in loaded_tables(tables_path(data)))


# -- zips ------------------------------------------------------------------------------------------------

def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path):
    data = _good_tables(tmp_path)
    before = _tables(data)
    bomb = tmp_path / "mue.zip"
    header = write_mue(tmp_path / "h.csv", sample_mue_rows()).read_bytes()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:  # 64 MB of blanks packs to about 64 kB
        z.writestr(f"{MUE_NAME}.csv", header + b" " * (64 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(UnsafeFile, match=rf"mue.zip:{MUE_NAME}.csv: expands [\d,]+ times .* over the limit of 200 "
                                         r"\(a zip bomb\?\)"):
        _load("mue", bomb, data)
    assert _tables(data) == before


def test_a_zip_bombed_one_line_csv_stops_at_the_line_limit(tmp_path):
    """Under the ratio floor, but one line of 2 MB: refused after reading 1 MB of it, not the whole."""
    z = tmp_path / "ptp.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
        f.writestr(f"{PTP_NAME}.txt", b"A" * (2 << 20))
    with pytest.raises(UnsafeFile, match=rf"ptp.zip:{PTP_NAME}.txt line 1: a line longer than 1,048,576 bytes"):
        _load("ncci-ptp", z, tmp_path / "data")


def test_too_many_entries_are_refused_from_the_end_record(tmp_path):
    z = tmp_path / "mue.zip"
    with zipfile.ZipFile(z, "w") as f:
        for i in range(10_001):
            f.writestr(f"x{i}.txt", b"")
    with pytest.raises(UnsafeFile, match=r"mue.zip: holds 10,001 entries, over the limit of 10,000"):
        _load("mue", z, tmp_path / "data")
    with pytest.raises(UnsafeFile, match=r"holds 10,001 entries, over the limit of 50"):
        members(z, limits=Limits(entries=50))


def test_the_total_and_per_file_sizes_are_bounded(tmp_path):
    csv = write_mue(tmp_path / f"{MUE_NAME}.csv", sample_mue_rows())
    z = zip_files(tmp_path / "mue.zip", [csv])
    with pytest.raises(UnsafeFile, match=rf"mue.zip:{MUE_NAME}.csv: unpacks to [\d,]+ bytes, over the limit of 100 "
                                         "bytes per file"):
        members(z, limits=Limits(member=100))
    folder = tmp_path / "two"
    folder.mkdir()
    zip_files(folder / "a.zip", [csv])
    zip_files(folder / "b.zip", [csv])
    size = csv.stat().st_size
    with pytest.raises(UnsafeFile, match=rf"b.zip:{MUE_NAME}.csv: the download unpacks to more than"):
        members(folder, limits=Limits(total=size + size // 2))  # one fits, two do not


@pytest.mark.parametrize("name", ["../../evil.csv", "/etc/cron.d/evil.csv", "sub\\..\\..\\evil.csv", "C:/evil.csv"])
def test_member_names_outside_the_archive_are_refused(tmp_path, name):
    z = tmp_path / "mue.zip"
    csv = write_mue(tmp_path / f"{MUE_NAME}.csv", sample_mue_rows()).read_bytes()
    with zipfile.ZipFile(z, "w") as f:
        f.writestr(f"{MUE_NAME}.csv", csv)
        f.writestr(zipfile.ZipInfo(name), csv)  # ZipInfo keeps the name as given
    with pytest.raises(UnsafeFile, match=rf"mue.zip: member {re.escape(repr(name))} points outside the archive"):
        _load("mue", z, tmp_path / "data")


def test_a_damaged_zip_is_a_layout_error_not_a_traceback(tmp_path):
    z = tmp_path / "mue.zip"
    good = zip_files(tmp_path / "good.zip", [write_mue(tmp_path / f"{MUE_NAME}.csv", sample_mue_rows())])
    z.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(ValueError, match="mue.zip: not a readable zip archive"):
        _load("mue", z, tmp_path / "data")


# -- xlsx ------------------------------------------------------------------------------------------------

def _with_dimension(path: Path, ref: str | None, extra_row: str = "") -> Path:
    """Rewrite an openpyxl workbook's first sheet: another ``<dimension ref>`` (None: none at all) and an
    optional raw ``<row>`` appended, as a crafted or damaged file would have."""
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                text = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>' if ref else "", text)
                if extra_row:
                    text = text.replace("</sheetData>", extra_row + "</sheetData>")
                body = text.encode()
            dst.writestr(info, body)
    path.write_bytes(out.getvalue())
    return path


FAR_ROW = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'


@pytest.mark.parametrize("ref, problem", [
    # the case: a few kB declaring 9 columns down to Excel's last row, read as 9.4M cells
    ("A1:I1048576", r"declares A1:I1048576: 9,437,184 cells from [\d,]+ bytes of sheet data \(a workbook padded"),
    ("A1:XFD1048576", r"declares A1:XFD1048576: 17,179,869,184 cells"),  # unbounded before: 17 billion cells
    ("A1:G99999999", r"declares 99,999,999 rows x 7 columns \(A1:G99999999\), more than a spreadsheet can hold"),
])
def test_an_xlsx_declaring_an_absurd_size_is_refused_at_once(tmp_path, ref, problem):
    data = _good_tables(tmp_path)
    before = _tables(data)
    x = _with_dimension(write_ptp_xlsx(tmp_path / f"{PTP_NAME}.xlsx", sample_ptp_lines()), ref, FAR_ROW)
    assert x.stat().st_size < 10_000
    with pytest.raises(UnsafeFile, match=rf"{PTP_NAME}.xlsx: the sheet {problem}"):
        _load("ncci-ptp", x, data)
    with pytest.raises(UnsafeFile, match="the sheet declares"):  # inside a zip too
        _load("ncci-ptp", zip_files(tmp_path / "ptp.zip", [x]), data)
    assert _tables(data) == before


def test_an_xlsx_with_no_dimension_and_a_far_row_stops_at_the_sheet_limit(tmp_path):
    """No declared size to check up front: openpyxl fills the gap to row 50,000,000 with empty rows,
    and the reader stops past Excel's last row instead of reading 50 million of them."""
    x = _with_dimension(write_ptp_xlsx(tmp_path / f"{PTP_NAME}.xlsx", sample_ptp_lines()), None,
                        '<row r="50000000"><c r="A50000000" t="inlineStr"><is><t>x</t></is></c></row>')
    (m,) = members(x)
    t0 = time.perf_counter()
    with pytest.raises(UnsafeFile, match=rf"{PTP_NAME}.xlsx line 1,?048,?577: the sheet runs past the cells"):
        for _ in xlsx_rows(m, "layout"):
            pass
    assert time.perf_counter() - t0 < 10


@pytest.mark.slow
def test_a_real_cms_xlsx_is_within_bounds():
    """The bounds leave room for the real files: HCPCS 2025 (8,847 rows x 48 columns, a 14 MB sheet)."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "HCPC2025_OCT_ANWEB.xlsx"
    if not path.exists():
        pytest.skip(f"{path} is not here (see ../shared/data/README)")
    (m,) = members(path)
    assert sum(1 for _ in xlsx_rows(m, "layout")) >= 8_847


def test_the_cli_names_the_file_and_the_limit_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(tmp_path / "data"))
    settings_mod.get_settings.cache_clear()
    x = _with_dimension(write_ptp_xlsx(tmp_path / f"{PTP_NAME}.xlsx", sample_ptp_lines()), "A1:XFD1048576", FAR_ROW)
    try:
        r = CliRunner().invoke(app, ["ingest", "--source", "ncci-ptp", str(x)])
    finally:
        settings_mod.get_settings.cache_clear()
    assert r.exit_code == 1, r.output
    assert f"{PTP_NAME}.xlsx: the sheet declares A1:XFD1048576" in " ".join(r.output.split())
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
