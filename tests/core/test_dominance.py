"""Dominant or non-dominant side from the affected side and handedness (ICD-10-CM Official Guidelines I.C.6.a)."""

import pytest

from casepilot.dominance import dominance_of, handedness, title_dominance, without_handedness


@pytest.mark.parametrize("text, expected", [
    ("left hemiparesis after a stroke", "nondominant"),  # handedness not documented: left is non-dominant
    ("right hemiparesis after a stroke", "dominant"),  # ... and right is dominant
    ("left hemiplegia, patient is left-handed", "dominant"),
    ("rt hemiparesis in a left handed patient", "nondominant"),
    ("lt hemiparesis, pt is R handed", "nondominant"),
    ("left hemiplegia, ambidextrous", "dominant"),  # ambidextrous: the affected side is dominant
    ("hemiplegia after stroke", None),  # no side: nothing to decide
    ("weakness of right arm and left leg", None),  # two sides: not one answer
])
def test_dominance_follows_the_guideline(text, expected):
    assert dominance_of(text) == expected


def test_handedness_is_not_an_affected_side():
    assert handedness("fell on her left hand") is None
    assert "left" not in without_handedness("right hemiparesis, left-handed").lower()


def test_title_dominance_reads_both_spellings():
    assert title_dominance("Flaccid hemiplegia affecting right nondominant side") == "nondominant"
    assert title_dominance("Monoplegia of upper limb following stroke affecting left non-dominant side") == "nondominant"
    assert title_dominance("Flaccid hemiplegia affecting left dominant side") == "dominant"
    assert title_dominance("Nodular lymphocyte predominant Hodgkin lymphoma") is None


def test_a_hand_is_an_affected_side_not_a_handedness():
    # "left hand" names the side of the condition; only "left-handed" names the patient's handedness
    assert without_handedness("cellulitis of left hand") == "cellulitis of left hand"
    assert dominance_of("laceration of right hand") == "dominant"
