"""The ranker's features of a code passage for a question: pure functions of the two texts."""

import pytest

from casepilot.retrieval import code_features, query_facts


def features(question: str, title: str, short: str = "") -> dict[str, float]:
    context = f"Short description: {short}" if short else ""
    return code_features(f"ICD-10-CM X00 {title}", context, query_facts(question))


def test_a_title_asserting_what_the_question_denies_is_the_wrong_branch():
    q = "type 2 diabetes with peripheral angiopathy, no gangrene mentioned"
    with_ = features(q, "Type 2 diabetes mellitus with diabetic peripheral angiopathy with gangrene")
    without = features(q, "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene")
    assert with_.get("negation_penalty") == 1.0 and "negation_agrees" not in with_
    assert without.get("negation_agrees") == 1.0 and "negation_penalty" not in without
    # the denied word counts towards coverage only where the title denies it too
    assert without["q_cover"] > with_["q_cover"]


def test_a_title_denying_what_the_question_states_is_flagged():
    f = features("hypertensive heart disease with heart failure", "Hypertensive heart disease without heart failure")
    assert f.get("title_negates") == 1.0


def test_dominance_clash_counts_as_another_side():
    q = "left hemiparesis after a stroke, patient is left-handed"
    assert features(q, "Hemiplegia following cerebral infarction affecting left non-dominant side").get("side_mismatch")
    assert not features(q, "Hemiplegia following cerebral infarction affecting left dominant side").get("side_mismatch")


@pytest.mark.parametrize("question, expected", [
    ("patient came in just for a flu shot", 1.0),
    ("here to start birth control pills", 1.0),
    ("fell out of bed, first visit for the injury", None),  # an injury's encounter, not a visit's reason
    ("influenza with pneumonia", None),
])
def test_visit_reason_meets_encounter_titles(question, expected):
    assert features(question, "Encounter for immunization").get("visit_reason") == expected
    assert features(question, "Influenza due to unidentified influenza virus with pneumonia").get("visit_reason") is None


def test_a_hand_keeps_its_side():
    assert query_facts("cellulitis of left hand").side == {"left"}
    assert features("cellulitis of left hand", "Cellulitis of right hand").get("side_mismatch") == 1.0
