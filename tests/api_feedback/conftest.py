"""tests/api_feedback holds component tests: the whole app (middleware, routes, storage) in process.
Each test here is marked ``component``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    # A conftest hook sees every collected item, so only the ones in this folder are marked.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.component)
