"""One writer at a time per data directory: a file lock that fails fast with a clear message."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout


class IngestBusy(RuntimeError):
    """Another ingest holds the lock on this data directory."""


def lock_for(data_dir: Path) -> FileLock:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(data_dir / "ingest.lock"), timeout=0)


@contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Hold the ingest lock, or raise IngestBusy at once (never wait on another writer)."""
    lock = lock_for(data_dir)
    try:
        lock.acquire()
    except Timeout:
        raise IngestBusy(
            f"another ingest is already running on {data_dir} (lock {lock.lock_file}); "
            "wait for it to finish and run this again"
        ) from None
    try:
        yield
    finally:
        lock.release()
