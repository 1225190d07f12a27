"""The ``--source KIND`` registry, the ingest lock for tables, and a bad file through the real pipeline."""

from __future__ import annotations

import pytest
from filelock import FileLock

from casepilot.codestore import CodeStore
from casepilot.tables import loaded_tables, tables_path
from casepilot.settings import Settings
from ingest.cpt_licensed import CPTLicensedSource
from ingest.documents import DocumentsSource
from ingest.hcpcs import HCPCSSource
from ingest.registry import KINDS, SOURCE_KINDS, TABLE_KINDS, load_table_for, source_for
from ingest.tabular import LayoutError
from tests.ingest.table_fixtures import (
    sample_hcpcs_records, sample_mue_rows, sample_ptp_lines, write_hcpcs_fixed, write_mue, write_ptp,
)


def test_kinds():
    assert set(KINDS) == {"hcpcs", "cpt", "docs", "ncci-ptp", "mue", "pfs", "mcd"}
    assert SOURCE_KINDS == {"hcpcs", "cpt", "docs"} and TABLE_KINDS == {"ncci-ptp", "mue", "pfs", "mcd"}


def test_source_for(tmp_path):
    s = Settings(data_dir=tmp_path / "data")
    f = tmp_path / "x.txt"
    f.write_text("99999\tTest descriptor for code 99999\n")
    assert isinstance(source_for("hcpcs", f, s), HCPCSSource)
    assert isinstance(source_for("cpt", f, s), CPTLicensedSource)
    assert isinstance(source_for("docs", tmp_path, s), DocumentsSource)
    with pytest.raises(ValueError, match="unknown source kind 'icd9'; choose one of: hcpcs, cpt, docs"):
        source_for("icd9", f, s)
    with pytest.raises(ValueError, match="no such file or folder"):
        source_for("hcpcs", tmp_path / "missing.txt", s)
    with pytest.raises(ValueError, match="is a table, not a record source"):
        source_for("mue", f, s)


def test_load_table_for_and_lock(tmp_path):
    s = Settings(data_dir=tmp_path / "data")
    res = load_table_for("ncci-ptp", write_ptp(tmp_path / "ccipra-v320r0-f1.txt", sample_ptp_lines()), s)
    assert res.rows == 5 and res.to_dict()["parts"][0]["setting"] == "practitioner"
    mue = write_mue(tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv", sample_mue_rows())
    held = FileLock(str(s.data_dir / "ingest.lock"))
    with held:
        with pytest.raises(RuntimeError, match="another ingest is already running"):
            load_table_for("mue", mue, s)
        assert load_table_for("mue", mue, s, lock=False).rows == 3
    with pytest.raises(ValueError, match="not a table kind"):
        load_table_for("hcpcs", mue, s)
    with pytest.raises(LayoutError):
        load_table_for("pfs", mue, s)
    assert {t["kind"] for t in loaded_tables(tables_path(s.data_dir))} == {"ncci-ptp", "mue"}


@pytest.mark.slow
def test_bad_hcpcs_file_through_the_pipeline_keeps_what_was_ingested(tmp_path, embedder):
    from ingest.pipeline import run_ingest

    s = Settings(data_dir=tmp_path / "data")
    good = write_hcpcs_fixed(tmp_path / "HCPC2024_JUL_ANWEB.txt", sample_hcpcs_records())
    first = run_ingest(s, [source_for("hcpcs", good, s)], embedder=embedder)
    assert first.ok and first.records == 5 and first.added == 5
    again = run_ingest(s, [source_for("hcpcs", good, s)], embedder=embedder)
    assert again.sources == {"hcpcs": "unchanged"} and again.added == 0
    recs = sample_hcpcs_records()
    recs[3] = recs[3][:250]
    bad = write_hcpcs_fixed(tmp_path / "HCPC2024_JUL_ANWEB.txt", recs)
    summary = run_ingest(s, [source_for("hcpcs", bad, s)], embedder=embedder)
    assert summary.sources == {"hcpcs": "failed"} and len(summary.problems) == 1
    assert "HCPC2024_JUL_ANWEB.txt line 6: record is 250 characters" in str(summary.problems[0]) and summary.deleted == 0
    store = CodeStore(s.codestore_path)
    assert store.count("hcpcs") == 3 and store.count("modifier") == 2
    assert store.lookup("G9998").record.title.startswith("Test service that continues")
