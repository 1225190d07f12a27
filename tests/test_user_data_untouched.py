"""The tests leave the user's data alone: no CASEPILOT_* setting from the user's shell, and nothing in the
session read or changed `.casepilot/` (what `make run` builds), so `make run` and `make test` pass in
either order. Runs after every other test (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests import conftest
from tests.user_data_guard import inherited_settings_vars

pytestmark = pytest.mark.user_data_guard


def test_settings_default_to_the_sessions_temp_dir(default_data_dir):
    from casepilot.settings import Settings, get_settings

    assert inherited_settings_vars() == ["CASEPILOT_DATA_DIR"]
    assert os.environ["CASEPILOT_DATA_DIR"] == str(default_data_dir)
    for settings in (Settings(), get_settings()):
        assert settings.data_dir.resolve() == default_data_dir.resolve()
        assert conftest.REPO not in settings.data_dir.resolve().parents
    # and in a subprocess started the way the tests start the CLI
    code = "from casepilot.settings import Settings; print(Settings().data_dir.resolve())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=conftest.REPO, check=True)
    assert out.stdout.strip() == str(default_data_dir.resolve())


def test_the_session_never_touched_the_user_data_dir():
    assert conftest.USER_DATA is not None
    problems = conftest.USER_DATA.problems()
    assert not problems, "tests read or changed the user's data:\n" + "\n".join(problems)


def test_the_guard_sees_an_access(tmp_path):
    """The watch is live: opening a path under the user's data dir is recorded (then forgotten)."""
    watch = conftest.USER_DATA
    seen = len(watch.touched)
    try:
        with pytest.raises(OSError):
            open(conftest.USER_DATA_DIR / "no-such-file-from-the-guard-test")
        assert any("no-such-file-from-the-guard-test" in t for t in watch.touched[seen:])
    finally:
        del watch.touched[seen:]
