"""What is loaded, for `casepilot status` and `/readyz`."""

from __future__ import annotations

from casepilot.codestore import CodeStore
from casepilot.edits import loaded_tables, tables_path
from casepilot.passages import PassageStore
from casepilot.settings import Settings


def collect_status(settings: Settings) -> dict:
    """Sources with versions and record counts, collections with passage counts, the answerer in force."""
    info: dict = {
        "data_dir": str(settings.data_dir.resolve()),
        "chroma": settings.chroma_url or f"embedded ({settings.chroma_dir})",
        "sources": [],
        "collections": {},
        "tables": [],
        "answerer": f"LLM {settings.llm}" if settings.llm else "grounded (offline, no LLM)",
    }
    if settings.codestore_path.exists():
        info["sources"] = CodeStore(settings.codestore_path).sources()
    ps = settings.data_dir / "passages.sqlite"
    if ps.exists():
        info["collections"] = {k: n for k, (_, n) in sorted(PassageStore(ps).revisions().items())}
    info["tables"] = loaded_tables(tables_path(settings.data_dir))
    return info
