"""Reading an MCD download as it arrives: an outer zip, its inner ``*_csv.zip``, or a folder of extracted CSVs.

CSVs are found by lower-case base name and grouped by the folder or zip that holds them (one group per
download). Expansion is bounded (a zip bomb or a damaged archive stops with a clear error before any
write), rows are streamed with the ``csv`` module (cells hold newlines and HTML) and columns are mapped
by name. HTML cells become plain text with the stdlib ``html.parser``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import zipfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ingest.tabular import LayoutError, Limits

LAYOUT = ("the MCD downloads hold comma-separated files with a header row of column names: current_article.zip, "
          "current_lcd.zip or ncd.zip, each with an inner *_csv.zip")
MAX_FIELD_CHARS = 16 << 20  # article HTML cells pass 128 KiB (csv's default limit); 16 MiB is far above any
MAX_NESTING = 2  # outer zip -> inner *_csv.zip


@dataclass
class CsvFile:
    """One CSV of a download: its display name, unpacked size and how to open its bytes."""

    name: str
    size: int
    _open: Callable[[], io.BufferedIOBase]

    def open(self) -> io.BufferedIOBase:
        return self._open()


@dataclass
class Group:
    """The CSVs of one folder or zip (one download), by lower-case base name."""

    label: str
    files: dict[str, CsvFile] = field(default_factory=dict)


def fingerprint(path: Path) -> str:
    """sha256 of a file, or of a folder's zips and CSVs (names and contents)."""
    h = hashlib.sha256()
    paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                 and p.suffix.lower() in (".zip", ".csv"))
    for p in paths:
        h.update(str(p.relative_to(path) if p != path else p.name).encode())
        with open(p, "rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


def discover(path: Path, stack: ExitStack, tmp: Path, limits: Limits) -> list[Group]:
    """Every group of CSVs under ``path`` (a file, zip or folder); nested zips are unpacked into ``tmp``."""
    groups: dict[str, Group] = {}
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for f in sorted(files):
                p = Path(root) / f
                label = str(p.parent.relative_to(path.parent))
                if f.lower().endswith(".csv"):
                    limits.admit(label + "/" + f, p.stat().st_size)
                    groups.setdefault(label, Group(label)).files[f.lower()] = \
                        CsvFile(f"{label}/{f}", p.stat().st_size, lambda p=p: open(p, "rb"))
                elif f.lower().endswith(".zip"):
                    _zip(p, f"{label}/{f}", stack, tmp, limits, groups, 1)
    elif path.suffix.lower() == ".zip":
        _zip(path, path.name, stack, tmp, limits, groups, 1)
    elif path.suffix.lower() == ".csv":
        limits.admit(path.name, path.stat().st_size)
        groups[path.parent.name] = Group(path.parent.name, {path.name.lower(): CsvFile(
            path.name, path.stat().st_size, lambda: open(path, "rb"))})
    else:
        raise LayoutError(path.name, None, "not a zip, a CSV or a folder", LAYOUT)
    return [g for g in groups.values() if g.files]


def _zip(path: Path, label: str, stack: ExitStack, tmp: Path, limits: Limits, groups: dict[str, Group],
         depth: int) -> None:
    try:
        zf = stack.enter_context(zipfile.ZipFile(path))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise LayoutError(label, None, f"not a readable zip archive ({e}); the download may be incomplete: "
                          "download it again", LAYOUT) from None
    for info in sorted(infos, key=lambda i: i.filename):
        base = info.filename.rsplit("/", 1)[-1]
        low = base.lower()
        if info.is_dir() or not base or base.startswith((".", "__MACOSX")):
            continue
        if low.endswith(".zip"):
            if depth >= MAX_NESTING:
                raise LayoutError(f"{label}:{info.filename}", None, f"zips nested more than {MAX_NESTING} deep", LAYOUT)
            limits.admit(f"{label}:{info.filename}", info.file_size, info.compress_size)
            inner = tmp / f"{len(list(tmp.iterdir()))}-{base}"
            try:
                with zf.open(info) as src, open(inner, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
                raise LayoutError(f"{label}:{info.filename}", None, f"damaged or truncated inside the zip ({e}); "
                                  "download the file again") from None
            _zip(inner, f"{label}:{base}", stack, tmp, limits, groups, depth + 1)
        elif low.endswith(".csv"):
            limits.admit(f"{label}:{info.filename}", info.file_size, info.compress_size)
            folder = info.filename.rsplit("/", 1)[0] if "/" in info.filename else ""
            key = f"{label}/{folder}" if folder else label
            groups.setdefault(key, Group(key)).files[low] = CsvFile(
                f"{label}:{base}", info.file_size, lambda zf=zf, info=info: zf.open(info))


# -- streaming rows --------------------------------------------------------------------------------------

class _Counting(io.RawIOBase):
    """Reports bytes read to a progress callback."""

    def __init__(self, raw, progress: Callable[[int], None]):
        self.raw, self.progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        if n:
            self.progress(n)
        return n


def read_rows(f: CsvFile, codec: str, progress: Callable[[int], None] | None = None
              ) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of every record; UnicodeDecodeError surfaces to the caller."""
    if csv.field_size_limit() != MAX_FIELD_CHARS:
        csv.field_size_limit(MAX_FIELD_CHARS)  # process-wide, and above csv's 128 KiB default
    reader = None
    try:
        with f.open() as raw:
            head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
            if head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise LayoutError(f.name, 1, "the file is UTF-16, not UTF-8 or Windows-1252 text", LAYOUT)
            stream = io.BufferedReader(_Counting(raw, progress), 1 << 16) if progress else raw
            # NUL bytes occur in the exports: csv keeps them in their cell; html_to_text drops them.
            reader = csv.reader(io.TextIOWrapper(stream, encoding=codec, newline=""), strict=True)
            start = 1
            for row in reader:
                yield start, row
                start = reader.line_num + 1
    except csv.Error as e:
        problem = (f"a cell is longer than {MAX_FIELD_CHARS:,} characters" if "field larger" in str(e)
                   else f"unreadable CSV ({e}); the file may be truncated")
        raise LayoutError(f.name, reader.line_num if reader else None, problem, LAYOUT) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise LayoutError(f.name, reader.line_num if reader else None, f"damaged or truncated inside the zip ({e}); "
                          "download the file again") from None


def column_index(f: CsvFile, header: list[str], required: Iterable[str], optional: Iterable[str] = ()) -> list[int]:
    """Positions of the wanted columns (by lower-case name) in a row with one '' appended; missing optional
    columns point at that ''. LayoutError naming every missing required column."""
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    required = list(required)
    missing = [c for c in required if c not in names]
    if missing:
        raise LayoutError(f.name, 1, f"missing required column(s): {', '.join(missing)} (the header has: "
                          f"{', '.join(names[:40]) or 'nothing'})", LAYOUT)
    return [names.index(c) if c in names else len(names) for c in (*required, *optional)]


# -- HTML cells ------------------------------------------------------------------------------------------

_BLOCK = frozenset("p div br tr table ul ol h1 h2 h3 h4 h5 h6 blockquote pre hr section dl dt dd".split())


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.cells = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" | " if self.cells else "")
            self.cells += 1
        elif tag in _BLOCK:
            self.cells = 0
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(data)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_to_text(raw: str) -> str:
    """Readable text of an HTML cell: tags dropped, entities decoded (&trade; -> ™), lists and table rows kept
    as lines.

    >>> html_to_text("<p>Visco-3&trade; and <b>Durolane</b>&reg;</p><ul><li>J7321</li></ul>")
    'Visco-3™ and Durolane®\\n- J7321'
    """
    if raw and "\x00" in raw:
        raw = raw.replace("\x00", "")
    if not raw or ("<" not in raw and "&" not in raw):
        return " ".join((raw or "").split())
    p = _Text()
    p.feed(raw)
    p.close()
    text = "".join(p.out)
    if "&" in text:  # entities escaped twice in the source (&amp;reg;)
        import html

        text = html.unescape(text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    out: list[str] = []
    for line in lines:
        if line and line != "-":
            out.append(line)
    return "\n".join(out)
