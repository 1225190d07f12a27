"""tests/core holds unit tests: pure functions and classes on small in-memory or temporary-file data,
with no index, embedding model, server or network. Each test here is marked ``unit`` (``pytest -m unit``
runs only them), except one marked ``slow`` (a timing check on a large table), which is left as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # A conftest hook sees every collected item, so only the ones in this folder are marked.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.unit)
