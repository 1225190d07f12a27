import pytest

from casepilot import codes as cs


@pytest.mark.parametrize("raw", ["E11.22", "e1122", " E11.22 ", "e11.22", "E11-22"])
def test_normalize_any_spelling(raw):
    assert cs.normalize(raw) == "E1122"


@pytest.mark.parametrize(
    "raw,first",
    [("99213", cs.CPT), ("1234F", cs.CPT), ("0042T", cs.CPT), ("G2211", cs.HCPCS), ("E11.22", cs.ICD10CM),
     ("0DTJ4ZZ", cs.ICD10PCS), ("S72.001A", cs.ICD10CM), ("I10", cs.ICD10CM)],
)
def test_candidate_systems(raw, first):
    assert cs.candidate_systems(raw)[0] == first


def test_undotted_icd_is_also_hcpcs_shaped():
    # E1122 could be HCPCS E1122 or ICD-10-CM E11.22; the store decides, both shapes are offered.
    assert set(cs.candidate_systems("E1122")) >= {cs.HCPCS, cs.ICD10CM}


@pytest.mark.parametrize(
    "raw,fragment",
    [("", "empty"), ("E1@", "only letters and digits"), ("E11.22222", "longer than 7"), ("123", "5 digits"),
     ("X", "single character")],
)
def test_why_malformed(raw, fragment):
    assert fragment in cs.why_malformed(raw)


def test_well_formed_codes_have_no_reason():
    assert cs.why_malformed("E11.22") is None
    assert cs.why_malformed("0DTJ4ZZ") is None


def test_format_and_display():
    assert cs.format_code("E1122", cs.ICD10CM) == "E11.22"
    assert cs.format_code("I10", cs.ICD10CM) == "I10"
    assert cs.display_code("E08E13", cs.ICD10CM) == "E08-E13"
    assert cs.display_code("4", cs.ICD10CM) == "Chapter 4"
    assert cs.format_code("99213", cs.CPT) == "99213"


def test_find_mentions_codes_and_modifiers():
    found = cs.find_mentions("Can 99213-25 and E11.22 be billed with modifiers 59 and XS, after 0DTJ4ZZ?")
    assert [m.code for m in found] == ["99213", "25", "E1122", "59", "XS", "0DTJ4ZZ"]
    mods = [m for m in found if cs.MODIFIER in m.systems]
    assert all(m.explicit_modifier for m in mods)


def test_find_mentions_ignores_ordinary_numbers_and_words():
    assert cs.find_mentions("In 2026 the visit took 20 minutes and 3 units") == []
    # two-letter words after "modifier" are not modifiers unless code-like
    assert [m.code for m in cs.find_mentions("modifier or not")] == []


def test_range_end_is_not_a_second_mention():
    assert [m.code for m in cs.find_mentions("(N18.1-N18.6)")] == ["N181"]


def test_modifier_named_before_the_word():
    assert [(m.code, m.systems) for m in cs.find_mentions("What does the GZ modifier mean?")] == [("GZ", (cs.MODIFIER,))]
    assert [m.code for m in cs.find_mentions("is a 25 modifier needed")] == ["25"]
    assert cs.find_mentions("an modifier") == []
