"""A bad CASEPILOT_* value stops any command with one line naming the variable (exit 2), never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from casepilot import cli
from casepilot.settings import get_settings


@pytest.fixture
def invoke(monkeypatch, tmp_path):
    def go(args: list[str], **env: str):
        monkeypatch.setenv("CASEPILOT_DATA_DIR", str(tmp_path))
        for name in ("API_KEYS", "ALLOWED_ORIGINS", "RATELIMIT_STORAGE", "RATE_LIMIT_PER_MINUTE"):
            monkeypatch.delenv(f"CASEPILOT_{name}", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, args)
        finally:
            get_settings.cache_clear()

    return go


@pytest.mark.parametrize("command", [["serve", "--port", "8765"], ["lookup", "E11.22"], ["status"]])
@pytest.mark.parametrize("env, says", [
    ({"CASEPILOT_API_KEYS": "pk_live_abcdef"}, "CASEPILOT_API_KEYS: entry 1 (pk_l…) names no sites"),
    ({"CASEPILOT_API_KEYS": "k1=https://a.example;quota=many"}, "CASEPILOT_API_KEYS: entry 1: quota must be"),
    ({"CASEPILOT_ALLOWED_ORIGINS": "a.example"}, "CASEPILOT_ALLOWED_ORIGINS: 'a.example' is not a site origin"),
    ({"CASEPILOT_RATELIMIT_STORAGE": "memcached://x:1"}, "CASEPILOT_RATELIMIT_STORAGE must be memory://"),
    ({"CASEPILOT_RATE_LIMIT_PER_MINUTE": "lots"}, "CASEPILOT_RATE_LIMIT_PER_MINUTE: Input should be a valid integer"),
])
def test_a_bad_value_is_one_line_naming_the_variable(invoke, command, env, says):
    result = invoke(command, **env)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.output
    assert "Traceback" not in result.output and "pk_live_abcdef" not in result.output
