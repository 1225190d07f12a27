"""The speller: typos and truncations repaired only towards words the indexes use."""

from casepilot.spelling import Speller

DF = {"pneumonia": 900, "unspecified": 5000, "unspec": 2, "decubitus": 40, "stage": 800, "hemiplegia": 65,
      "hemiparesis": 60, "johnson": 5, "diabetes": 3000, "figs": 12, "with": 9999}


def test_typo_is_corrected_to_the_known_word():
    s = Speller(DF)
    assert s.fix("pnuemonia") == "pneumonia"  # a transposition is one edit
    assert s.fix("diabetis with ckd") == "diabetes with ckd"


def test_truncation_is_completed_when_one_reading_dominates():
    s = Speller(DF)
    assert s.fix("organism unspec") == "organism unspec unspecified"
    assert s.fix("sacral decub") == "sacral decub decubitus"
    # "hemi" starts two common words: no single reading, so nothing is added
    assert s.fix("left hemi") == "left hemi"


def test_known_short_and_kept_words_are_left_alone():
    s = Speller(DF, keep={"withh"})
    assert s.fix("stage") == "stage"
    assert s.fix("cigs") == "cigs"  # too short to correct: one edit from "figs"
    assert s.fix("withh") == "withh"


def test_capitalised_words_inside_a_sentence_are_names_and_stay():
    s = Speller(DF)
    assert s.fix("Patient John has diabetis") == "Patient John has diabetes"
    assert s.fix("Diabetis with CKD") == "diabetes with CKD"


def test_rare_words_are_never_the_correction():
    assert Speller({"johnson": 5}).fix("jonhson") == "jonhson"


def test_fix_is_idempotent():
    s = Speller(DF)
    once = s.fix("pnuemonia unspec, decub")
    assert s.fix(once) == once
