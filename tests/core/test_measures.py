"""Measurements with a unit in questions and the ranges titles state for them (casepilot/measures.py)."""

from casepilot.measures import INF, measure_mismatch, question_measures, title_ranges


def test_question_units():
    assert question_measures("concussion, LOC 45 min") == {"minutes": {45.0}}
    assert question_measures("LOC for 1.5 hours") == {"minutes": {90.0}}
    assert question_measures("BMI 95th %ile") == {"percentile": {95.0}}
    assert question_measures("newborn 2300 g") == {"grams": {2300.0}}
    # no unit, or a unit-like abbreviation that is something else: nothing measured
    assert question_measures("2 h/o MI, stage 3 CKD, 34 weeks") == {}


def test_title_ranges_of_every_form():
    assert title_ranges("Concussion with loss of consciousness of 30 minutes or less") == {"minutes": [(0.0, 30.0)]}
    assert title_ranges("... with loss of consciousness greater than 24 hours with return")["minutes"][0][1] == INF
    assert title_ranges("Burns involving 90% or more of body surface") == {"percent": [(90.0, INF)]}
    assert title_ranges("Newborn light for gestational age, 2500 grams and over") == {"grams": [(2500.0, INF)]}
    # "120% of the 95th percentile" is above the 95th percentile, not a percent a question states
    assert title_ranges("Body mass index [BMI] pediatric, 120% of the 95th percentile for age to less than 140% "
                        "of the 95th percentile for age") == {"percentile": [(95.0, INF)]}
    assert title_ranges("Type 2 diabetes mellitus with diabetic chronic kidney disease") == {}


def test_mismatch_needs_each_value_in_a_range_and_each_range_used_when_several_are_given():
    burns = title_ranges("Burns involving 20-29% of body surface with 10-19% third degree burns")
    assert measure_mismatch({"percent": {25.0, 10.0}}, burns) is False
    assert measure_mismatch({"percent": {25.0}}, burns) is False  # the third degree share left unsaid
    assert measure_mismatch({"percent": {25.0, 30.0}}, burns) is True
    assert measure_mismatch({"minutes": {20.0}}, burns) is None


def test_a_newborns_age_in_days():
    assert question_measures("newborn weight check, baby 12 days old") == {"days old": {12.0}}
    assert question_measures("fever for 3 days") == {}  # a duration, not an age
    assert measure_mismatch({"days old": {12.0}}, title_ranges("Health examination for newborn 8 to 28 days old")) is False
    assert measure_mismatch({"days old": {12.0}}, title_ranges("Health examination for newborn under 8 days old")) is True
