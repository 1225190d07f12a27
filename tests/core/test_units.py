"""Timed units from stated minutes (casepilot/answer/units.py): the CMS conversion, applied only beside its source."""

import pytest

from casepilot.answer import units

pytestmark = pytest.mark.unit

RULE = ("Medicare counts units for timed therapy codes by adding up the minutes of all timed services on that day and "
        "converting the total: 8–22 minutes = 1 unit, 23–37 = 2, 38–52 = 3, 53–67 = 4, and so on in 15-minute steps.")


@pytest.mark.parametrize("minutes,expected", [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3),
                                              (53, 4), (67, 4), (68, 5)])
def test_units_follow_the_cms_conversion_table(minutes, expected):
    assert units.units_for(minutes) == expected


@pytest.mark.parametrize("question,total", [
    ("pt had 25 min ther ex + 13 min manual, total timed 38. how many units", 38),
    ("8 min rule: 25 min 97110 + 13 min 97140 = 38 timed min total. how many units total?", 38),
    ("PT did 38 min of ther ex only, medicare pt. how many units of 97110", 38),
    ("97110 for 10 min and 97140 for 10 min. is that 1 unit or 2?", 20),
    # no units asked, or no minutes stated: nothing to compute
    ("30 min visit, what E/M level", None), ("how many units of 97110 can I bill", None),
])
def test_the_stated_total_is_the_stated_total_else_the_sum_of_the_stated_minutes(question, total):
    assert units.stated_total(question) == total


def test_the_units_are_said_only_beside_a_passage_that_states_the_conversion():
    q = "25 min ther ex + 13 min manual, how many units?"
    assert units.unit_sentence(q, RULE) == "Under the 8-minute rule, 38 total timed minutes bill 3 units in all."
    assert units.unit_sentence(q, "Prolonged services are reported per 15 minutes beyond the highest level.") is None
    assert "fewer than 8" in units.unit_sentence("5 min of 97110, how many units?", RULE)
