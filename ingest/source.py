"""What every loader hands the pipeline: code records, passages and a fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

from langchain_core.documents import Document

from casepilot.records import CodeRecord


@dataclass
class Problem:
    """A file (or item) that could not be read, with a message for the user."""

    where: str
    message: str
    # True for a deliberate refusal (a symbolic link, a hidden folder): reported, but the source is not
    # failed for it, so its fingerprint is saved and deletions still apply.
    refused: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Source(Protocol):
    """A loader. ``collections`` are the Chroma collections this source owns outright."""

    name: str
    system: str
    version: str
    note: str
    collections: tuple[str, ...]
    problems: list[Problem]

    def fingerprint(self) -> str: ...

    def records(self) -> Iterable[CodeRecord]: ...

    def passages(self) -> Iterable[Document]: ...


def stable_hash(*parts: Any) -> str:
    """A content hash that ignores dict key order (ids must not change when metadata is reordered)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def passage(collection: str, pid: str, text: str, **meta: Any) -> Document:
    """A LangChain Document with the metadata every passage carries (id, collection, title, source)."""
    clean = {k: v for k, v in meta.items() if v is not None and v != [] and v != ""}
    clean["collection"] = collection
    clean["pid"] = pid
    # Chroma metadata values must be scalars.
    for k, v in list(clean.items()):
        if isinstance(v, (list, tuple)):
            clean[k] = ",".join(str(x) for x in v)
    return Document(page_content=text, metadata=clean, id=pid)

