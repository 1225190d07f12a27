"""The ``casepilot ingest --source KIND PATH`` kinds and how each is loaded.

Two families:
- record/passage kinds (``hcpcs``, ``cpt``, ``docs``): ``source_for`` returns a Source for ``run_ingest``.
- table kinds (``ncci-ptp``, ``mue``, ``pfs``): they have no records or passages; ``load_table_for`` writes
  them into ``tables.sqlite`` in one transaction (under the ingest lock) and returns a TableLoadResult.
  ``source_for`` refuses them with a message pointing at ``load_table_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ingest.lock import writer_lock

from ingest.source import Source
from ingest.tablestore import TableLoadResult


@dataclass(frozen=True)
class Kind:
    name: str
    mode: str  # "source" | "table"
    description: str
    accepts: str


KINDS: dict[str, Kind] = {
    "hcpcs": Kind("hcpcs", "source", "CMS HCPCS Level II codes and modifiers",
                  "HCPC<year>_<month>_ANWEB .txt (fixed width), .xlsx or .csv, or the CMS zip"),
    "cpt": Kind("cpt", "source", "your licensed AMA CPT data file(s)",
                "tab- or pipe-delimited code and descriptor(s), a file or a folder of LONG/MEDU/SHORT files"),
    "docs": Kind("docs", "source", "any PDF, HTML, Markdown or text documents",
                 "a file or a folder (searched recursively)"),
    "ncci-ptp": Kind("ncci-ptp", "table", "NCCI procedure-to-procedure edits (practitioner / outpatient hospital)",
                     "ccipra-v…-f1…f4 / ccioph-v… .txt or .xlsx, the zips, or a folder of them"),
    "mue": Kind("mue", "table", "NCCI medically unlikely edits (practitioner / outpatient hospital / DME)",
                "MCR_MUE_<setting>_Eff_<date> .csv or .xlsx, or the zip"),
    "pfs": Kind("pfs", "table", "physician fee schedule RVU file (status, global days, surgery indicators)",
                "PPRRVU<year>… .csv, .xlsx or .txt, or the RVU zip"),
    "mcd": Kind("mcd", "table", "Medicare Coverage Database: billing-and-coding articles (coverage crosswalk), LCDs, NCDs",
                "current_article.zip, current_lcd.zip or ncd.zip as downloaded, an inner *_csv.zip, or a folder of "
                "the extracted CSVs"),
}
TABLE_KINDS = frozenset(k for k, v in KINDS.items() if v.mode == "table")
SOURCE_KINDS = frozenset(k for k, v in KINDS.items() if v.mode == "source")


def _check(kind: str, path: Path | str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; choose one of: {', '.join(KINDS)}")
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: no such file or folder (for --source {kind}: {KINDS[kind].accepts})")
    return p


def source_for(kind: str, path: Path | str, settings: Any = None) -> Source:
    """A Source for a record/passage kind; ValueError for an unknown kind, a missing path or a table kind."""
    p = _check(kind, path)
    if kind in TABLE_KINDS:
        raise ValueError(f"{kind!r} is a table, not a record source: load it with "
                         f"ingest.registry.load_table_for({kind!r}, path, settings)")
    if kind == "hcpcs":
        from ingest.hcpcs import HCPCSSource

        return HCPCSSource(p)
    if kind == "cpt":
        from ingest.cpt_licensed import CPTLicensedSource

        return CPTLicensedSource(p)
    from ingest.documents import DocumentsSource

    return DocumentsSource(p)


def table_loader(kind: str) -> Callable[..., TableLoadResult]:
    if kind == "ncci-ptp":
        from ingest.ncci_ptp import load_table
    elif kind == "mue":
        from ingest.mue import load_table
    elif kind == "pfs":
        from ingest.pfs import load_table
    elif kind == "mcd":
        from ingest.mcd import load_table
    else:
        raise ValueError(f"{kind!r} is not a table kind; table kinds: {', '.join(sorted(TABLE_KINDS))}")
    return load_table


def load_table_for(kind: str, path: Path | str, settings: Any, reporter: Any = None, lock: bool = True,
                   **options: Any) -> TableLoadResult:
    """Load a table kind into ``settings.data_dir/tables.sqlite``; raises ValueError (LayoutError) on a bad file.

    ``lock`` takes the same ``ingest.lock`` as the pipeline (pass False if the caller already holds it).
    ``options``: ``setting=`` for ncci-ptp and mue, overriding detection from the file name.
    """
    p = _check(kind, path)
    load = table_loader(kind)
    if not lock:
        return load(settings, p, reporter, **options)
    with writer_lock(Path(getattr(settings, "data_dir", settings))):
        return load(settings, p, reporter, **options)
