import pytest

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


def test_mark_lands_after_a_lookalike_code(tmp_path):
    # Cyrillic capital Ie: the code is detected and the mark follows it in the original text.
    text = "Use \u0415" + "11.99 [1] here."
    v = verify_answer(text, {1}, _store(tmp_path))
    assert v.answer == "Use \u0415" + "11.99" + UNVERIFIED_MARK + " [1] here."
    assert v.codes == [{"code": "E11.99", "system": "icd10cm", "verified": False, "supported": None}]


def test_mark_lands_after_a_code_with_invisible_characters(tmp_path):
    v = verify_answer("Use E11\u200b.9\u00ad9 [1].", {1}, _store(tmp_path))
    assert v.answer == "Use E11\u200b.9\u00ad9" + UNVERIFIED_MARK + " [1]."
    assert v.unverified == 1


@pytest.mark.parametrize("sep", ["-", "\u2013", "/"])
def test_every_code_of_a_range_or_list_is_verified(tmp_path, sep):
    v = verify_answer(f"Use E11.22{sep}E11.99 [1].", {1}, _store(tmp_path))
    assert {c["code"]: c["verified"] for c in v.codes} == {"E11.22": True, "E11.99": False}
    assert v.answer == f"Use E11.22{sep}E11.99" + UNVERIFIED_MARK + " [1]."


EVIDENCE = {
    1: "Type 2 diabetes mellitus with diabetic CKD (e1122). Use an additional code for the CKD stage.",
    2: "Office visit 99213 with modifier 25.",
    3: "Essential hypertension.",
}


def _supported(v):
    return {c["code"]: c["supported"] for c in v.codes}


def test_supported_is_unknown_without_evidence(tmp_path):
    v = verify_answer("Use E11.22 [1].", {1}, _store(tmp_path))
    assert v.codes == [{"code": "E11.22", "system": "icd10cm", "verified": True, "supported": None}]


@pytest.mark.parametrize("text,supported", [
    ("Use E11.22 [1].", True),  # dotted in the answer, undotted and lower case in the evidence
    ("Use E1122 [1].", True),
    ("Use E11.22 [2].", False),  # cited, but the cited item does not show the code
    ("Use E11.22 [2][1].", True),  # one of the cited items is enough
    ("Use E11.22.", False),  # the sentence cites nothing
    ("Use E11.22. [1] Nothing else.", True),  # a marker right after the sentence end belongs to it
    ("Use E11.22. Diabetes with CKD [1].", False),  # another sentence's citation does not count
    ("Use E11.22 [1]. Or E11.22 [3].", False),  # supported only where every mention is
    ("Use E11.22 [1]. Also E11.22, e.g. for CKD [1].", True),  # "e.g." ends no sentence
    ("- E11.22\n- see [1]", False),  # a line is a sentence of its own
    ("Use E11.22.\n[1] Diabetes.", False),  # a marker on the next line belongs to that line
])
def test_supported_follows_the_sentence_citations(tmp_path, text, supported):
    v = verify_answer(text, {1, 2, 3}, _store(tmp_path), evidence_text=EVIDENCE)
    assert _supported(v) == {"E11.22": supported}


def test_supported_for_unverified_codes_and_range_ends(tmp_path):
    evidence = {1: "Categories E11.22 through E11.99 apply."}
    v = verify_answer("Use E11.22-E11.99 [1]. Not E11.65 [1].", {1}, _store(tmp_path), evidence_text=evidence)
    assert v.codes == [
        {"code": "E11.22", "system": "icd10cm", "verified": True, "supported": True},
        {"code": "E11.99", "system": "icd10cm", "verified": False, "supported": True},
        {"code": "E11.65", "system": "icd10cm", "verified": False, "supported": False},
    ]


def test_supported_needs_the_whole_code(tmp_path):
    evidence = {1: "E11.221 is no code and 99213 is no ICD code; see also E11.2."}
    v = verify_answer("Use E11.22 [1].", {1}, _store(tmp_path), evidence_text=evidence)
    assert _supported(v) == {"E11.22": False}


def test_evidence_text_may_be_a_function(tmp_path):
    asked = []

    def evidence(n):
        asked.append(n)
        return EVIDENCE.get(n, "")

    v = verify_answer("Use E11.22 [1] and 99213 [2].", {1, 2}, _store(tmp_path), evidence_text=evidence)
    assert _supported(v) == {"E11.22": True, "99213": True}
    assert sorted(set(asked)) == [1, 2]


def test_stripped_citations_support_nothing(tmp_path):
    # [1] points at no evidence: it is removed, so the sentence cites nothing.
    v = verify_answer("Use E11.22 [1].", set(), _store(tmp_path), evidence_text=EVIDENCE)
    assert v.invalid_citations == 1 and _supported(v) == {"E11.22": False}


def test_declared_invalid_codes_keep_their_flag(tmp_path):
    v = verify_answer("E11.99 is not a valid code [3].", {3}, _store(tmp_path), frozenset({"E1199"}),
                      evidence_text=EVIDENCE)
    assert v.codes == [{"code": "E11.99", "system": "icd10cm", "verified": False, "declared_invalid": True,
                        "supported": False}]
    assert UNVERIFIED_MARK not in v.answer


def _modifier_store(tmp_path):
    s = CodeStore(tmp_path / "m.sqlite", readonly=False)
    s.replace_source("t", "modifier", "v", "fp", [
        CodeRecord("modifier", c, c, t, billable=True, source="t")
        for c, t in (("QK", "medical direction of two to four cases"), ("QX", "directed anesthetist"),
                     ("79", "unrelated procedure in the postoperative period"))
    ])
    return CodeStore(tmp_path / "m.sqlite")


def test_modifiers_a_cited_document_declares_are_read_bare(tmp_path):
    text = "The anesthesiologist bills QK and the anesthetist bills QX [1]. 79: unrelated procedure [1]."
    declared = {1: frozenset({"QK", "QX", "79"})}
    v = verify_answer(text, {1}, _modifier_store(tmp_path), evidence_text={1: text},
                      declared=lambda n: declared.get(n, frozenset()))
    assert [(c["code"], c["verified"], c["supported"]) for c in v.codes] == [
        ("QK", True, True), ("QX", True, True), ("79", True, True)]


def test_bare_labels_need_a_citing_sentence_and_a_declaration(tmp_path):
    store = _modifier_store(tmp_path)
    declared = {1: frozenset({"QK"})}
    # not cited: no labels; cited, but QX is not declared and "79 days" is no glossary entry
    assert verify_answer("The anesthesiologist bills QK.", {1}, store, declared=declared.get).codes == []
    v = verify_answer("Bills QK or QX within 79 days [1].", {1}, store,
                      declared=lambda n: declared.get(n, frozenset()))
    assert [c["code"] for c in v.codes] == ["QK"]
