"""The CLI as a user runs it, over the slice index."""

import json

import pytest
from typer.testing import CliRunner

from casepilot import settings as settings_mod
from casepilot.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def cli_env(slice_index, monkeypatch):
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(slice_index.data_dir))
    settings_mod.get_settings.cache_clear()
    yield
    settings_mod.get_settings.cache_clear()


def test_lookup_json(cli_env):
    r = runner.invoke(app, ["lookup", " e11.22 ", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["code"] == "E11.22" and d["billable"] is True and d["version"].startswith("ICD-10-CM")
    assert any(n["inherited"] for n in d["notes"])


def test_lookup_unknown_and_malformed(cli_env):
    r = runner.invoke(app, ["lookup", "E11.99", "--json"])
    assert r.exit_code == 1
    d = json.loads(r.stdout)
    assert d["error"]["code"] == "code_not_found" and d["error"]["suggestions"]
    r = runner.invoke(app, ["lookup", "E1#"])
    assert r.exit_code == 2 and "not a valid code" in r.output


def test_search_and_ask(cli_env):
    r = runner.invoke(app, ["search", "type 2 diabetes with CKD", "--system", "icd10cm", "-k", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["hits"][0]["collection"] == "icd10cm"
    r = runner.invoke(app, ["ask", "What is ICD-10-CM E11.22?", "--json"])
    d = json.loads(r.stdout)
    assert set(d) >= {"answer", "citations", "codes", "timings_ms", "conversation_id"}


def test_status(cli_env):
    r = runner.invoke(app, ["status", "--json"])
    d = json.loads(r.stdout)
    names = {s["name"] for s in d["sources"]}
    assert names == {"icd10cm", "icd10pcs", "corpus"}
    assert any("Medical and Surgical" in s["note"] for s in d["sources"])


def test_no_index_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEPILOT_DATA_DIR", str(tmp_path / "empty"))
    settings_mod.get_settings.cache_clear()
    r = runner.invoke(app, ["ask", "What is E11.22?"])
    settings_mod.get_settings.cache_clear()
    assert r.exit_code == 2 and "casepilot ingest" in r.output


def test_the_exit_codes_are_the_ones_the_readme_documents():
    import re

    from casepilot.cli import ExitCode
    from tests.conftest import REPO

    line = next(x for x in (REPO / "README.md").read_text().split("\n\n") if x.startswith("Exit status:"))
    documented = {int(n) for n in re.findall(r"\b(\d) ", line)}
    assert documented == {int(c) for c in ExitCode}


@pytest.mark.parametrize("command", ["ingest", "status", "lookup", "search", "ask", "serve", "eval"])
def test_every_command_help_shows_an_example(command):
    """Issue 14: each command's help shows how it is called (an example line or an example argument)."""
    out = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    assert "Example" in out and f"casepilot {command}" in out, out
