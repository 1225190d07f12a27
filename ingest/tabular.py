"""Shared readers for the CMS/AMA table files: encodings, CSV/TSV/xlsx rows, zips and layout errors.

Over 300 lines on purpose: one concept, reading a table file safely. The bounds (``Limits``) are checked
inside the readers themselves (zip members in ``members``, line length in ``text_lines``, the sheet budget in
``xlsx_rows``), so the limits and the readers stay together.

CMS publishes the same table as Latin-1 text, UTF-8 CSV and xlsx, sometimes inside a zip; every loader
reads them through these helpers so encodings, BOMs and errors behave the same everywhere.

What a file may unpack to is bounded before it is read (``Limits``, ``UnsafeFile``): a zip's entry count,
each member's size and expansion ratio, the total, member names that point outside the archive, a text
line's length, and an xlsx sheet's declared size against the XML that backs it (openpyxl pads every row
and column up to the declared dimension: a 5 kB workbook can declare millions of empty cells).
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat")
TABLE_SUFFIXES = TEXT_SUFFIXES + (".xlsx",)

MAX_MEMBER_BYTES = 1 << 30  # one file unpacked; the largest CMS table (a PTP text part) is about 150 MB
MAX_TOTAL_BYTES = 3 << 30  # everything unpacked from one PATH
MAX_RATIO = 200  # unpacked/packed size of a member larger than RATIO_FLOOR (CMS text and xlsx XML pack about 10:1)
RATIO_FLOOR = 8 << 20
MAX_ENTRIES = 10_000  # members of one zip (a CMS table zip or an xlsx holds a handful to a few dozen)
MAX_LINE_BYTES = 1 << 20  # one line of a text table; the widest CMS layouts are a few hundred bytes
XLSX_MAX_ROWS, XLSX_MAX_COLUMNS = 1_048_576, 16_384  # Excel's own sheet size
XLSX_MIN_CELLS = 2_000_000  # a sheet may always declare this many cells...
XLSX_CELLS_PER_BYTE = 4  # ...or this many per byte of its XML (real CMS sheets: one cell per 30 bytes)


class LayoutError(ValueError):
    """A file that is not in the expected layout: names the file, the line and the layout expected."""

    def __init__(self, file: str, line: int | None, problem: str, expected: str = ""):
        self.file, self.line, self.problem, self.expected = file, line, problem, expected
        where = f"{file} line {line}" if line else file
        msg = f"{where}: {problem}"
        if expected:
            msg += f" ({expected})"
        super().__init__(msg)


class UnsafeFile(LayoutError):
    """A file refused before it is read: a zip bomb, a name outside the archive, an endless line, a sheet
    padded to an absurd size. Names the file and the limit."""


@dataclass
class Limits:
    """How much one PATH may unpack to; tests lower them."""

    member: int = MAX_MEMBER_BYTES
    total: int = MAX_TOTAL_BYTES
    ratio: int = MAX_RATIO
    entries: int = MAX_ENTRIES
    used: int = 0

    def admit(self, name: str, size: int, packed: int | None = None) -> None:
        """Count ``size`` unpacked bytes of ``name`` or raise UnsafeFile naming the limit."""
        if size > self.member:
            raise UnsafeFile(name, None, f"unpacks to {size:,} bytes, over the limit of {self.member:,} bytes per file "
                             "(not a CMS download, or a zip bomb)")
        if packed is not None and size > RATIO_FLOOR and size > self.ratio * max(packed, 1):
            raise UnsafeFile(name, None, f"expands {size // max(packed, 1):,} times ({packed:,} -> {size:,} bytes), "
                             f"over the limit of {self.ratio} (a zip bomb?)")
        self.used += size
        if self.used > self.total:
            raise UnsafeFile(name, None, f"the download unpacks to more than {self.total:,} bytes in all "
                             "(not a CMS download, or a zip bomb)")

    def open_zip(self, label: str, source, layout: str = "") -> zipfile.ZipFile:
        """A zip whose entry count, member names and sizes are within bounds (``source``: a path or bytes)."""
        declared = _declared_entries(source)
        if declared is not None and declared > self.entries:
            raise UnsafeFile(label, None, f"holds {declared:,} entries, over the limit of {self.entries:,}", layout)
        try:
            zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
            infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise LayoutError(label, None, f"not a readable zip archive ({e})", layout) from None
        if len(infos) > self.entries:
            zf.close()
            raise UnsafeFile(label, None, f"holds {len(infos):,} entries, over the limit of {self.entries:,}", layout)
        for info in infos:
            if outside_archive(info.filename):
                zf.close()
                raise UnsafeFile(label, None, f"member {info.filename!r} points outside the archive "
                                 "(an absolute path or '..'): refused", layout)
        for info in infos:
            if not info.is_dir():
                self.admit(f"{label}:{info.filename}", info.file_size, info.compress_size)
        return zf


def outside_archive(name: str) -> bool:
    r"""True for a zip member name that would land outside the folder it is unpacked in.

    >>> [outside_archive(n) for n in ("a/b.csv", "../b.csv", "/etc/passwd", "a\\..\\..\\b", "C:/x", "a..b.csv")]
    [False, True, True, True, True, False]
    """
    n = name.replace("\\", "/")
    return n.startswith("/") or bool(re.match(r"^[A-Za-z]:", n)) or ".." in n.split("/")


def _declared_entries(source) -> int | None:
    """The entry count a zip's end record declares, read before zipfile lists every entry (None when
    there is no plain end record: zipfile's own listing is checked then)."""
    try:
        if isinstance(source, bytes):
            tail = source[-(22 + 0xFFFF):]
        else:
            with open(source, "rb") as fh:
                fh.seek(0, 2)
                fh.seek(max(0, fh.tell() - (22 + 0xFFFF)))
                tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    total = struct.unpack_from("<H", tail, at + 10)[0]
    return None if total == 0xFFFF else total


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


def members(path: Path, suffixes: Iterable[str] = TABLE_SUFFIXES, limits: Limits | None = None) -> list[Member]:
    """The files to read under ``path``: the file itself, a folder's files, or a zip's members (sorted).

    A zip is checked against ``limits`` (entry count, names, sizes, expansion) before any member is read.
    """
    path = Path(path)
    suffixes = tuple(suffixes)
    limits = limits if limits is not None else Limits()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        out: list[Member] = []
        for p in sorted(path.iterdir()):
            if p.is_file() and not p.name.startswith((".", "~$")):
                if p.suffix.lower() == ".zip" or p.suffix.lower() in suffixes:
                    out.extend(members(p, suffixes, limits))
        return out
    if path.suffix.lower() == ".zip":
        zf = limits.open_zip(path.name, path)
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
    """Decoded lines (newline kept), streamed; a leading BOM is dropped, encodings are decided per line.

    A line longer than ``MAX_LINE_BYTES`` stops with UnsafeFile after reading that much of it, not all of it.
    """
    with member.open() as stream:
        # a zip member's own readline(limit) is pure Python; through a BufferedReader it is C (4x faster)
        fh = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, 1 << 16)
        first = True
        lineno = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(raw) > MAX_LINE_BYTES:
                raise UnsafeFile(member.name, lineno, f"a line longer than {MAX_LINE_BYTES:,} bytes "
                                 "(not a table in this layout, or a zip bomb)", layout)
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
    limits = Limits()
    limits.admit(member.name, member.size)
    data = member.read_bytes()
    # An xlsx is a zip too: its parts are bounded like a download's before openpyxl unpacks them.
    with limits.open_zip(member.name, data, layout) as zf:
        parts = {i.filename: i.file_size for i in zf.infolist()}
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a damaged workbook
        raise LayoutError(member.name, None, f"not a readable xlsx workbook ({type(e).__name__}: {e})", layout) from None
    try:
        ws = wb.worksheets[0]
        budget = _sheet_budget(member.name, ws, parts, layout)
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            # openpyxl fills skipped rows and pads short ones: a backstop for a sheet that declares no size
            budget -= max(len(row), 1)
            if i > XLSX_MAX_ROWS or budget < 0:
                raise UnsafeFile(member.name, i, "the sheet runs past the cells its XML can hold (a padded or damaged "
                                 "workbook): open it in a spreadsheet program and save it again, or save it as CSV",
                                 layout)
            if progress:
                progress(1)
            yield i, [cell_text(v) for v in row]
    finally:
        wb.close()


def _sheet_budget(name: str, ws, parts: dict[str, int], layout: str) -> int:
    """How many cells the first sheet may yield; UnsafeFile when its declared dimension is absurd."""
    path = str(getattr(ws, "_worksheet_path", "")).lstrip("/")
    xml = parts.get(path) or max((n for p, n in parts.items() if p.startswith("xl/worksheets/")), default=0)
    budget = max(XLSX_MIN_CELLS, XLSX_CELLS_PER_BYTE * xml)
    rows_, cols = ws.max_row or 0, ws.max_column or 0
    declared = f"{ws.calculate_dimension()}" if rows_ and cols else ""
    if rows_ > XLSX_MAX_ROWS or cols > XLSX_MAX_COLUMNS:
        raise UnsafeFile(name, None, f"the sheet declares {rows_:,} rows x {cols:,} columns ({declared}), "
                         "more than a spreadsheet can hold (a damaged or crafted workbook)", layout)
    if rows_ * cols > budget:
        raise UnsafeFile(name, None, f"the sheet declares {declared}: {rows_ * cols:,} cells from {xml:,} bytes of "
                         "sheet data (a workbook padded with empty rows or columns): open it in a spreadsheet "
                         "program, delete the empty rows and columns and save it again, or save it as CSV", layout)
    return budget


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
