"""Licensed CPT loader, on invented descriptor text only (no real CPT descriptors in the repository)."""

from __future__ import annotations

import pytest

from casepilot import codes as cs
from ingest.cpt_licensed import CPTLicensedSource
from ingest.tabular import LayoutError


def test_tab_file(tmp_path):
    p = tmp_path / "LONGULT.txt"
    p.write_text("99999\tTest descriptor for code 99999\r\n0001F\tTest descriptor for code 0001F\r\n", encoding="utf-8")
    src = CPTLicensedSource(p)
    recs = {r.code: r for r in src.records()}
    assert not src.problems
    r = recs["99999"]
    assert (r.system, r.licensed, r.source, r.description) == (cs.CPT, True, "cpt-licensed",
                                                                "Test descriptor for code 99999")
    docs = list(src.passages())
    assert {d.metadata["collection"] for d in docs} == {"cpt_licensed"} and docs[0].metadata["licensed"] is True
    assert {d.id for d in docs} == {"cpt:0001F", "cpt:99999"}


def test_pipe_file_with_header_and_variants(tmp_path):
    p = tmp_path / "cpt_2026.txt"
    p.write_text("Concept Id|CPT Code|Long Descriptor|Medium Descriptor|Short Descriptor\n"
                 "1|99999|Test descriptor for code 99999, long form|Test descriptor 99999 medium|Test 99999 short\n",
                 encoding="utf-8")
    src = CPTLicensedSource(p)
    r = next(iter(src.records()))
    assert r.title == "Test descriptor 99999 medium" and r.description.endswith("long form")
    assert r.extra == {"long_descriptor": "Test descriptor for code 99999, long form",
                       "medium_descriptor": "Test descriptor 99999 medium", "short_descriptor": "Test 99999 short"}
    assert src.version == "CPT 2026 (licensed AMA data)"


def test_folder_of_variant_files_and_encodings(tmp_path):
    (tmp_path / "LONGULT.txt").write_bytes("99999\tTest descriptor for code 99999, caf\u00e9\r\n".encode("latin-1"))
    (tmp_path / "MEDU.txt").write_bytes(b"\xef\xbb\xbf" + "99999\tTest medium 99999\r\n".encode("utf-8"))
    (tmp_path / "SHORTU.txt").write_text("99999\tTest short 99999\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text("About these files")
    src = CPTLicensedSource(tmp_path)
    recs = list(src.records())
    assert not src.problems and len(recs) == 1
    assert recs[0].extra["long_descriptor"].endswith("caf\u00e9")
    assert recs[0].extra["medium_descriptor"] == "Test medium 99999"  # BOM dropped, code still found
    assert recs[0].extra["short_descriptor"] == "Test short 99999"


@pytest.mark.parametrize("content, expect", [
    ("99999\tTest descriptor for code 99999\n9999\tTest descriptor\n", "line 2: '9999' is not a CPT code"),
    ("99999 Test descriptor without a separator\n", "line 1: no tab or '|'"),
    ("Code|Long|Short\n99999|Test long\n", "line 2: line has 2 column(s), expected 3"),
])
def test_bad_files_are_one_problem(tmp_path, content, expect):
    p = tmp_path / "cpt.txt"
    p.write_text(content)
    src = CPTLicensedSource(p)
    assert list(src.records()) == [] and list(src.passages()) == []
    assert len(src.problems) == 1 and expect in src.problems[0].message and "cpt.txt" in src.problems[0].message
    with pytest.raises(LayoutError):
        CPTLicensedSource(p).load()
