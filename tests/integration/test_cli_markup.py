"""Values the CLI prints are text, not Rich markup (issue 13, finding 12): a `[/]` in a cell used to crash it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from casepilot import settings as settings_mod
from casepilot.cli import app

runner = CliRunner()
MARKUP = "[/] [bold]x[/bold] [red]"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    def use(path):
        monkeypatch.setenv("CASEPILOT_DATA_DIR", str(path))
        settings_mod.get_settings.cache_clear()
        return path

    yield use
    settings_mod.get_settings.cache_clear()


def test_status_prints_a_source_and_a_path_holding_markup_as_text(tmp_path, data_dir):
    from casepilot.codestore import CodeStore

    d = data_dir(tmp_path / "data [/] dir")  # "/" is also a separator: folders "data [" and "] dir"
    d.mkdir(parents=True)
    store = CodeStore(d / "codes.sqlite", readonly=False)
    store.replace_source(f"docs {MARKUP}", "corpus", f"v1 {MARKUP}", "fp", [], note=f"from {MARKUP}.pdf")
    store.close()
    r = runner.invoke(app, ["status"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "data [/] dir" in out and f"docs {MARKUP}" in out and f"v1 {MARKUP}" in out
    assert f"from {MARKUP}.pdf" in out


def test_errors_and_lookups_print_markup_as_text(tmp_path, data_dir):
    d = data_dir(tmp_path / "no [/] index")
    r = runner.invoke(app, ["lookup", "E11.22"])
    assert r.exit_code == 2 and "no [/] index" in " ".join(r.output.split())
    r = runner.invoke(app, ["search", "diabetes"])
    assert r.exit_code == 2 and "MarkupError" not in r.output and str(d.name) in " ".join(r.output.split())


@pytest.mark.slow
def test_lookup_of_a_code_holding_markup_is_a_clean_error(slice_index, data_dir):
    data_dir(slice_index.data_dir)
    for raw in ("E11[/]", "[/]", "[bold]E11"):
        r = runner.invoke(app, ["lookup", raw])
        assert r.exit_code in (1, 2), (raw, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), (raw, repr(r.exception))
        assert "MarkupError" not in r.output
