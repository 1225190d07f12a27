"""History of a condition -> the history code whose "Conditions classifiable to" range holds it (pure parts)."""

import pytest

from casepilot.history import FAMILY, PERSONAL, covering, excluded_here, history_ask, in_range, parse_ranges


@pytest.mark.parametrize("text, kind, condition", [
    ("Family history of colon cancer (father)", FAMILY, "colon cancer"),
    ("fhx colon ca", FAMILY, "colon ca"),
    ("pt has a history of stroke in her father", FAMILY, "stroke"),
    ("h/o prostate cancer, s/p prostatectomy 2018", PERSONAL, "prostate cancer"),
    ("Past medical history of appendicitis", PERSONAL, "appendicitis"),
    ("hx of MI", PERSONAL, "MI"),
])
def test_a_history_question_names_whose_history_and_the_condition(text, kind, condition):
    ask = history_ask(text)
    assert ask is not None and (ask.kind, ask.condition) == (kind, condition)


@pytest.mark.parametrize("text", [
    "breast cancer, currently on chemo",  # a condition under treatment is coded as current (I.C.2.d)
    "type 2 diabetes with CKD 3, history of smoking",  # the history is a detail of another condition
    "mother had breast cancer - family hx code?",  # no condition after the history words: titles answer
    "acute appendicitis without perforation",
    # "hx" heading a list of current conditions is a past medical history, not a condition that no longer exists
    "78F, hx HTN, chronic systolic CHF w/ EF 30%, CKD stage 3a. Seen in cardiology clinic, stable",
    "67 yo M, h/o DM2, CKD stage 4, here for f/u",
])
def test_no_history_ask(text):
    assert history_ask(text) is None


def test_ranges_as_the_tabular_writes_them():
    assert parse_ranges("Conditions classifiable to C7A.022-C7A.025, C7A.029") == [("C7A022", "C7A025"),
                                                                                   ("C7A029", "C7A029")]
    assert parse_ranges("Conditions classifiable to F17.-") == [("F17", "F17")]
    assert parse_ranges("Personal history of colorectal polyps") == []
    assert in_range("C7A.024", "C7A022", "C7A025") and not in_range("C7A.026", "C7A022", "C7A025")
    assert in_range("B20", "A00", "B19") is False and in_range("A41.9", "A00", "B19")


def test_the_narrowest_range_wins():
    ranges = {"Z858": [("C00", "C14"), ("C40", "C49")], "Z8589": [("C40", "C41")], "Z859": [("C80", "C80")]}
    assert covering("C41.9", ranges) == ["Z8589", "Z858"]
    assert covering("C80.1", ranges) == ["Z859"]
    assert covering("D12.2", ranges) == []


def test_an_excludes_note_naming_the_found_code_defers_to_it():
    assert excluded_here("old myocardial infarction (I25.2)", ["I25.2"])
    assert excluded_here("personal history of anaphylactic shock (Z87.892)", ["Z87.892"])
    assert not excluded_here("old myocardial infarction (I25.2)", ["I21.4", "I25.10"])


@pytest.mark.parametrize("text", ["h/o PE, on LT eliquis for prevention, tx course done",
                                  "history of kidney transplant, stable, on immunosuppressants",
                                  "hx of breast ca, mastectomy yrs ago, no current tx or evidence of dz"])
def test_a_history_followed_by_how_it_went_is_still_a_history_ask(text):
    assert history_ask(text) is not None
