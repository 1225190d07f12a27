from casepilot.codestore import CodeStore
from casepilot.records import CodeRecord
from casepilot.verify import UNVERIFIED_MARK, strip_invalid_citations, verify_answer


def _store(tmp_path):
    s = CodeStore(tmp_path / "c.sqlite", readonly=False)
    s.replace_source("t", "icd10cm", "v", "fp", [
        CodeRecord("icd10cm", "E1122", "E11.22", "Type 2 diabetes mellitus with diabetic CKD", billable=True, source="t"),
    ])
    return CodeStore(tmp_path / "c.sqlite")


def test_invalid_citations_are_removed_and_counted():
    text, n = strip_invalid_citations("A [1]. B [4][2].", {1, 2})
    assert text == "A [1]. B [2]."
    assert n == 1


def test_unknown_codes_are_marked(tmp_path):
    v = verify_answer("Use E11.22 [1] and also E11.99 [3].", {1}, _store(tmp_path))
    assert v.invalid_citations == 1
    assert {c["code"]: c["verified"] for c in v.codes} == {"E11.22": True, "E11.99": False}
    assert "E11.99" + UNVERIFIED_MARK in v.answer
    assert v.unverified == 1 and not v.ok


def test_lookalikes_are_not_codes(tmp_path):
    v = verify_answer("Vitamin B12 levels in 2026 [1].", {1}, _store(tmp_path))
    assert v.codes == [] and v.ok
