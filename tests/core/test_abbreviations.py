"""The learned CMS abbreviation table: derived from the installed data, and used by the query expander."""

from casepilot import abbreviations as ab
from casepilot.text import expand_query


def test_shipped_table_is_what_the_installed_data_yields():
    # The table is derived, never edited: regenerate with `python -m casepilot.abbreviations --write`.
    assert ab.read_table() == ab.derive(ab.official_rows())


def test_align_pairs_each_abbreviation_with_the_long_word_it_shortens():
    pairs = ab.align("Pressure ulcer of sacral region, stg 3", "Pressure ulcer of sacral region, stage 3")
    assert pairs == [("stg", "stage")]
    # a word the long title also has is not an abbreviation, and letters out of order do not match
    assert ab.align("Low back pain, unsp", "Low back pain, unspecified") == [("unsp", "unspecified")]
    assert ab.align("Xyz of knee", "Fracture of knee") == []


def test_derive_keeps_consistent_abbreviations_and_drops_real_words_and_one_offs():
    rows = [(f"C{i}", "Oth fx of tibia", "Other fracture of tibia") for i in range(5)]
    rows += [("D1", "Low grade lesn", "Lower grade lesion"), ("D2", "Low back pain", "Low back pain")]
    table = {a.short: a for a in ab.derive(rows)}
    assert table["oth"].expansion == "other" and table["oth"].count == 5 and table["oth"].example == "C0"
    assert "low" not in table  # "low" is a word of the long titles
    assert "lesn" not in table  # used once: below MIN_COUNT


def test_table_holds_cms_shorthand_coders_also_type():
    table = ab.learned()
    assert table["unsp"] == "unspecified"
    assert table["stg"] == "stage"
    assert table["intertroch"] == "intertrochanteric"
    assert table["init"] == "initial"


def test_expand_query_keeps_the_abbreviation_and_adds_its_word():
    assert expand_query("sacral decub stg 4") == "sacral decub stg stage 4"
    # the hand-written vocabulary wins over the learned table, and stopwords are left alone
    assert expand_query("lt hip fx, init").startswith("left hip fracture")
    assert "patient" not in expand_query("pt")
