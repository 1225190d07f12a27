"""A follow-up that names one detail switches the earlier code to the sibling that has it (GroundedAnswerer._variant)."""

from types import SimpleNamespace

import pytest

from casepilot import codes as cs
from casepilot import router as rt
from casepilot.answer.grounded import GroundedAnswerer
from casepilot.codestore import CodeStore
from casepilot.records import CodeRecord

TITLES = {
    "O10012": "Pre-existing essential hypertension complicating pregnancy, second trimester",
    "O10013": "Pre-existing essential hypertension complicating pregnancy, third trimester",
    "O10011": "Pre-existing essential hypertension complicating pregnancy, first trimester",
    "S61210A": "Laceration without foreign body of right index finger without damage to nail, initial encounter",
    "S61220A": "Laceration with foreign body of right index finger without damage to nail, initial encounter",
    "S61211A": "Laceration without foreign body of left index finger without damage to nail, initial encounter",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("variant") / "codes.sqlite"
    s = CodeStore(path, readonly=False)
    s.replace_source("t", cs.ICD10CM, "v", "fp", [
        CodeRecord(cs.ICD10CM, code, cs.display_code(code, cs.ICD10CM), title, billable=True, source="t")
        for code, title in TITLES.items()])
    return CodeStore(path)


def _variant(store, code, follow_up):
    rec = store.get(cs.ICD10CM, code)
    r = rt.Resolved(cs.Mention(code, code, 0, 0, (cs.ICD10CM,)), [rec])
    found = GroundedAnswerer._variant(SimpleNamespace(store=store), r, follow_up)
    return found.record.code if found else None


@pytest.mark.parametrize("code, follow_up, switched", [
    ("O10012", "what if she's 32 weeks", "O10013"),  # the weeks name the trimester the follow-up does not say
    ("O10012", "and at 10 wks?", "O10011"),
    ("S61210A", "what if there was glass stuck in it", "S61220A"),  # what the earlier title denied, now present
    ("S61210A", "what about the left side", "S61211A"),
])
def test_a_follow_up_detail_switches_to_the_sibling_that_has_it(store, code, follow_up, switched):
    assert _variant(store, code, follow_up) == switched


def test_a_follow_up_that_names_nothing_new_keeps_the_code(store):
    assert _variant(store, "S61210A", "is that billable?") is None
