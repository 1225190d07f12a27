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


def test_both_ends_of_a_range_are_mentions():
    # Each end of a range is a code of its own and must be verified (issue "Hardening" 4).
    assert [m.code for m in cs.find_mentions("(N18.1-N18.6)")] == ["N181", "N186"]


def test_modifier_named_before_the_word():
    assert [(m.code, m.systems) for m in cs.find_mentions("What does the GZ modifier mean?")] == [("GZ", (cs.MODIFIER,))]
    assert [m.code for m in cs.find_mentions("is a 25 modifier needed")] == ["25"]
    assert cs.find_mentions("an modifier") == []


@pytest.mark.parametrize("text,codes", [
    ("mod 79", ["79"]), ("when do i put mod 25 on the E/M", ["25"]), ("mod XS?", ["XS"]),
    # "mod" is also "moderate": no modifier unless a modifier's shape follows
    ("mod AS and mild MR", []), ("mod to severe stenosis", []), ("mod persistent asthma", []),
])
def test_mod_is_shorthand_for_modifier_only_before_a_modifier(text, codes):
    assert [m.code for m in cs.find_mentions(text) if cs.MODIFIER in m.systems] == codes


@pytest.mark.parametrize("text,codes", [
    ("99284 + simple lac repair same visit. need the 25 on the E/M?", ["25"]),
    ("can i put 26 on 93000 for the read only", ["26"]), ("do I append 51 to the secondary ones?", ["51"]),
    # a number put on something that is no CPT modifier, or a count of minutes, is none
    ("add 15 to the total time", []), ("need 30 on the clock", []), ("use 2 units on the claim", []),
])
def test_a_modifier_number_put_on_a_code_is_a_modifier(text, codes):
    assert [m.code for m in cs.find_mentions(text) if cs.MODIFIER in m.systems] == codes


@pytest.mark.parametrize("text,codes", [
    ("when is 22 appropriate and what does medicare want to see documented?", ["22"]),
    ("when do you use 59 on a lab", ["59"]), ("why would we append 78 here", ["78"]),
    # a count of time or units, or a number that is no CPT modifier, is none
    ("when is 30 minutes enough for 99214", []), ("when are 25 units allowed", []), ("when is 45 too old", []),
])
def test_asking_when_to_use_a_modifier_number_names_the_modifier(text, codes):
    assert [m.code for m in cs.find_mentions(text) if cs.MODIFIER in m.systems] == codes


@pytest.mark.parametrize("text,codes", [
    ("E11.22/E11.99", ["E1122", "E1199"]),
    ("E11.21-E11.98", ["E1121", "E1198"]),
    ("E11.21\u2013E11.98", ["E1121", "E1198"]),  # en dash
    ("E11.21 \u2013 E11.98", ["E1121", "E1198"]),
    ("E11.22/E11.65/E11.9", ["E1122", "E1165", "E119"]),
    ("99202-99205", ["99202", "99205"]),
    ("G0438/G0439", ["G0438", "G0439"]),
    ("DM2 w/E11.65", ["E1165"]),  # "w/" (with) before a code
    ("type 2 diabetes.E11.9 is unspecified", ["E119"]),  # a sentence end without its space
])
def test_code_right_after_a_separator(text, codes):
    assert [m.code for m in cs.find_mentions(text)] == codes


def test_range_ends_keep_their_offsets():
    text = "Use E11.21\u2013E11.98 here"
    found = cs.find_mentions(text)
    assert [text[m.start:m.end] for m in found] == ["E11.21", "E11.98"]
    assert not any(m.explicit_modifier for m in found)


@pytest.mark.parametrize("text,expected", [
    ("99213-25", [("99213", False), ("25", True)]),  # a 2-character tail is a modifier
    ("99213\u201325", [("99213", False), ("25", True)]),  # also after an en dash
    ("G0438-GT", [("G0438", False), ("GT", True)]),
    ("99213-99215", [("99213", False), ("99215", False)]),  # a full code is a range end
])
def test_hyphen_tail_is_a_modifier_or_a_range_end(text, expected):
    assert [(m.code, m.explicit_modifier) for m in cs.find_mentions(text)] == expected


@pytest.mark.parametrize("text", [
    "pi is 3.14159", "call 555-12345", "ref 2024/12345", "version 1.2.10045", "COVID-19 and ICD-10-CM",
    "see 12/31/2026", "and/or w/o n/a", "1.5E10 copies",
])
def test_separators_create_no_codes_from_numbers_and_words(text):
    assert cs.find_mentions(text) == []


@pytest.mark.parametrize("text", [
    "\u0415" + "11.99",  # Cyrillic capital Ie
    "\u0395" + "11.99",  # Greek capital Epsilon
    "\uff25\uff11\uff11\uff0e\uff19\uff19",  # fullwidth letters, digits and full stop
    "E11\u200b.99", "E11\u200c.99", "E11\u200d.99", "E\u206011.99", "E1\ufeff1.99", "E11.9\u00ad9",
])
def test_lookalikes_and_invisible_characters_are_normalised(text):
    (m,) = cs.find_mentions(f"Use {text} now")
    assert (m.code, m.raw, m.systems) == ("E1199", "E11.99", (cs.ICD10CM,))
    # offsets index the original text, whatever its spelling
    assert f"Use {text} now"[m.start:m.end] == text


def test_offsets_survive_expanding_and_vanishing_characters():
    text = "\ufb01le \u200b\u200bC\u0422 of \u0421\u041e\u0412\u0418\u0414 and \u0405\u0406 99213\u201325"
    found = cs.find_mentions(text)
    assert [(m.code, text[m.start:m.end]) for m in found] == [("99213", "99213"), ("25", "25")]


def test_lookalike_modifier_and_cpt():
    text = "bill \uff19\uff19\uff12\uff11\uff13 with modifier \u0425\u0405"  # fullwidth 99213, Cyrillic XS
    assert [(m.code, text[m.start:m.end]) for m in cs.find_mentions(text)] == [
        ("99213", "\uff19\uff19\uff12\uff11\uff13"), ("XS", "\u0425\u0405")]


def test_normalize_text_maps_back_to_the_original():
    norm, origin = cs.normalize_text("a\u200b\ufb01\u0415")
    assert norm == "afiE"
    assert origin == [0, 2, 2, 3]


@pytest.mark.parametrize("text,modifiers", [
    ("26 vs TC", ["26", "TC"]),
    ("76 vs 77??", ["76", "77"]),
    ("mod 25 vs 59", ["25", "59"]),
    ("modifier 25 or 59?", ["25", "59"]),
    ("99213-25 and 59", ["25", "59"]),
    ("RA vs OA", []),  # rheumatoid vs osteoarthritis: letter pairs outside the common labels stay words
    ("stage 3 vs 4", []),
])
def test_a_comparison_with_a_modifier_reads_its_other_side_as_one(text, modifiers):
    assert [m.code for m in cs.find_mentions(text) if m.systems == ("modifier",)] == modifiers


@pytest.mark.parametrize("text,modifiers", [
    ("billing office keeps asking - what does GY mean", ["GY"]),
    ("KX on outpt PT claims - why", ["KX"]),
    ("Difference between GA and GZ? we did an ABN", ["GA", "GZ"]),  # GA by the modifier beside it
    ("JW vs JZ on the drug line", ["JW", "JZ"]),
    ("pt GA 32 wks", []),  # gestational age: GA stands bare only beside a modifier
    ("GC and GE junction", []),
    ("FS glucose 250, GT feeds", []),
    ("gy exam, Gz", []),  # capitals only
    ("sent to OMEGA and GZ", ["GZ"]),  # the letters of a longer word are no modifier beside one
])
def test_letter_modifiers_that_spell_no_abbreviation_stand_bare(text, modifiers):
    assert [m.code for m in cs.find_mentions(text) if m.systems == ("modifier",)] == modifiers


@pytest.mark.parametrize("text, found", [
    ("bills QY, then QX.", ["QY", "QX"]),
    ("qy or Qy, QY-1, QY/QX, 1QY", []),  # capitals, a word of its own
    ("79: unrelated; 79 days; 79:00", ["79"]),  # two digits only as a glossary entry
    ("**79**: unrelated", ["79"]),
    ("AA and AD", ["AA"]),  # only what was declared
])
def test_declared_labels_stand_bare(text, found):
    from casepilot.codes import find_mentions
    assert [m.code for m in find_mentions(text, frozenset({"QY", "QX", "79", "AA"}))] == found
    assert [m.code for m in find_mentions(text)] == []


def test_a_closing_choice_between_two_modifiers_names_both():
    from casepilot.codes import find_mentions

    q = "same radiologist repeated the chest xray later same day - 76 or 77?"
    assert [(m.code, m.systems) for m in find_mentions(q)] == [("76", ("modifier",)), ("77", ("modifier",))]
    assert find_mentions("how many minutes, 15 or 30?") == []  # numbers that are no modifiers


@pytest.mark.parametrize("text", ["68 yo M, type 2 diabetic x15 yrs on basal insulin", "cough x10 days, no fever",
                                  "on prednisone x12 weeks", "PT x12 visits, then home program"])
def test_x_and_a_number_before_a_unit_is_a_count_not_an_external_cause_code(text):
    assert cs.find_mentions(text) == []


def test_an_x_code_without_a_unit_after_it_is_still_a_code():
    assert [m.code for m in cs.find_mentions("X15 hot appliance burn, W19 fall x2")] == ["X15", "W19"]
