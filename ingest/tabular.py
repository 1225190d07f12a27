"""Shared readers for the CMS/AMA table files: encodings, CSV/TSV/xlsx rows, zips and layout errors.

CMS publishes the same table as Latin-1 text, UTF-8 CSV and xlsx, sometimes inside a zip; every loader
reads them through these helpers so encodings, BOMs and errors behave the same everywhere.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
TABLE_SUFFIXES = TEXT_SUFFIXES + (".xlsx",)


class LayoutError(ValueError):
    """A file that is not in the expected layout: names the file, the line and the layout expected."""

    def __init__(self, file: str, line: int | None, problem: str, expected: str = ""):
        self.file, self.line, self.problem, self.expected = file, line, problem, expected
        where = f"{file} line {line}" if line else file
        msg = f"{where}: {problem}"
        if expected:
            msg += f" ({expected})"
        super().__init__(msg)


@dataclass(frozen=True)
class Member:
    """One readable file: a path on disk or a member of a zip archive."""

    name: str  # file name shown to the user (zip members: "archive.zip:member.txt")
    suffix: str
    size: int
    _open: Callable[[], io.BufferedIOBase]

    def open(self) -> io.BufferedIOBase:
        return self._open()

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()


def members(path: Path, suffixes: Iterable[str] = TABLE_SUFFIXES) -> list[Member]:
    """The files to read under ``path``: the file itself, a folder's files, or a zip's members (sorted)."""
    path = Path(path)
    suffixes = tuple(suffixes)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        out: list[Member] = []
        for p in sorted(path.iterdir()):
            if p.is_file() and not p.name.startswith((".", "~$")):
                if p.suffix.lower() == ".zip" or p.suffix.lower() in suffixes:
                    out.extend(members(p, suffixes))
        return out
    if path.suffix.lower() == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise LayoutError(path.name, None, f"not a readable zip archive ({e})") from None
        out = []
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            name = info.filename.rsplit("/", 1)[-1]
            suf = Path(name).suffix.lower()
            if info.is_dir() or name.startswith((".", "~$")) or suf not in suffixes:
                continue
            out.append(Member(f"{path.name}:{name}", suf, info.file_size,
                              (lambda i=info: zipfile.ZipFile(path).open(i))))
        return out
    return [Member(path.name, path.suffix.lower(), path.stat().st_size, lambda: open(path, "rb"))]


def decode_line(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else Windows-1252/Latin-1 (the CMS text files)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def check_not_binary(name: str, head: bytes, layout: str) -> None:
    """Reject UTF-16/32 text, spreadsheets saved under a text name and other binary files up front."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        enc = "UTF-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[1:2] == b"\x00" else "binary"
        raise LayoutError(name, 1, f"the file is {enc}, not text in UTF-8 or Latin-1", layout)
    if head.startswith(b"PK\x03\x04"):
        raise LayoutError(name, 1, "this is a zip/xlsx file saved under a text name", layout)


def text_lines(member: Member, layout: str, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """Decoded lines (newline kept), streamed; a leading BOM is dropped, encodings are decided per line."""
    with member.open() as fh:
        first = True
        for raw in fh:
            if first:
                check_not_binary(member.name, raw[:4096], layout)
                if raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                first = False
            if progress:
                progress(len(raw))
            yield decode_line(raw)


def csv_rows(member: Member, layout: str, delimiter: str = ",",
             progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for a CSV/TSV member; quoted cells may span lines (the MUE notice does)."""
    lines = text_lines(member, layout, progress)
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        raise LayoutError(member.name, reader.line_num, f"unreadable CSV ({e})", layout) from None


def xlsx_rows(member: Member, layout: str,
              progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as strings) of an xlsx member's first sheet, streamed (read-only mode)."""
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - depends on the install
        raise LayoutError(member.name, None, "reading .xlsx needs openpyxl: pip install 'casepilot[files]'") from None
    data = member.read_bytes()
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a damaged workbook
        raise LayoutError(member.name, None, f"not a readable xlsx workbook ({type(e).__name__}: {e})", layout) from None
    try:
        ws = wb.worksheets[0]
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if progress:
                progress(1)
            yield i, [cell_text(v) for v in row]
    finally:
        wb.close()


def cell_text(v) -> str:
    """A spreadsheet cell as the string the text layouts would hold (20250101, not 20250101.0)."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.strftime("%Y%m%d")
    if isinstance(v, date):
        return v.strftime("%Y%m%d")
    return str(v)


def rows(member: Member, layout: str, delimiter: str = ",",
         progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
    """Rows of any table member: xlsx by its content, text by ``delimiter``."""
    if member.suffix == ".xlsx":
        return xlsx_rows(member, layout, progress)
    return csv_rows(member, layout, delimiter, progress)


_YMD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def iso_date(raw: str) -> str | None:
    """``20250101`` (or ``2025-01-01``, ``01/01/2025``) as ``2025-01-01``; blank, ``*`` or zeros as None.

    Raises ValueError for anything else so a wrong column is caught, not stored.
    """
    s = (raw or "").strip()
    if not s or s == "*" or set(s) <= {"0"}:
        return None
    s2 = s.replace("-", "")
    m = _YMD.match(s2)
    if not m:
        m2 = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", s)
        if not m2:
            raise ValueError(f"{raw!r} is not a date (YYYYMMDD)")
        s2 = f"{m2.group(3)}{int(m2.group(1)):02d}{int(m2.group(2)):02d}"
        m = _YMD.match(s2)
    y, mo, d = (int(x) for x in m.groups())
    date(y, mo, d)  # validates month/day
    return f"{y:04d}-{mo:02d}-{d:02d}"
