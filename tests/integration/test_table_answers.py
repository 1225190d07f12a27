"""Deterministic NCCI/MUE answers in chat: a verdict cited to table rows, or how to load the table."""

import pytest

from casepilot.tables import tables_path
from ingest.registry import load_table_for
from tests.ingest.table_fixtures import ptp_line, write_mue, write_ptp

pytestmark = pytest.mark.slow


def test_pair_and_units_questions(engine, slice_index, tmp_path):
    tables = tables_path(slice_index.data_dir)
    assert not tables.exists()
    try:
        before = engine.answer("Can 20610 and 99213 be billed together?")
        assert before["intent"] == "pair_check"
        assert before["answer"].startswith("The NCCI PTP edits are not loaded")  # said first, in the answer
        assert "casepilot ingest --source ncci-ptp" in before["answer"]
        assert before["verdict"]["status"] == "not_loaded"

        ptp = write_ptp(tmp_path / "ccipra-v322r0-f1.txt", [ptp_line("20610", "99213", mod="1")])
        load_table_for("ncci-ptp", ptp, slice_index)
        mue = write_mue(tmp_path / "MCR_MUE_PractitionerServices.csv", [("20610", 2, "2 Date of Service Edit: Policy", "Anatomic Consideration")])
        load_table_for("mue", mue, slice_index)

        done = engine.answer("Can 99213 and 20610 be billed together?")
        assert done["verdict"]["status"] == "edit_in_force"
        assert "20610 is column 1 and 99213 is column 2" in done["answer"]
        table_cites = [c for c in done["citations"] if c["kind"] == "table"]
        assert table_cites and "20610" in table_cites[0]["snippet"]

        units = engine.answer("How many units of 20610 per day?")
        assert units["intent"] == "units" and units["verdict"]["status"] == "found"
        assert "2" in units["answer"]
        assert any(name.startswith("ncci-ptp") for name in engine.code_set_versions())
    finally:
        tables.unlink(missing_ok=True)
