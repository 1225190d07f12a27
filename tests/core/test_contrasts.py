"""Opposite branches of a code family (casepilot/data/contrasts.toml): every entry valid, and the rule."""

import tomllib
from importlib.resources import files

import pytest

from casepilot.contrasts import contradicts, contrast_pairs
from casepilot.text import tokens

ENTRIES = tomllib.loads(files("casepilot").joinpath("data/contrasts.toml").read_text(encoding="utf-8"))["contrasts"]


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_pair_is_two_disjoint_sides_of_single_tokens_with_reason_and_source(name):
    e = ENTRIES[name]
    assert e["one"] and e["other"] and not set(e["one"]) & set(e["other"])
    for word in e["one"] + e["other"]:
        assert tokens(word, stop=False) == [word], f"{word!r} is not one token as the search splits text"
    assert len(e["reason"]) > 30 and len(e["source"]) > 10


def test_no_word_is_on_two_pairs():
    words = [w for one, other in contrast_pairs() for w in one | other]
    assert len(words) == len(set(words))


@pytest.mark.parametrize("question, title, expected", [
    ("established patient office visit moderate mdm", "new patient office visit moderate mdm", True),
    ("established patient office visit moderate mdm", "established patient office visit low mdm", False),
    ("discharge day management more than 30 minutes", "discharge day management 30 minutes or less", True),
    ("treatment management first 20 minutes", "treatment management each additional 20 minutes", True),
    # a title that states both sides, or a question that states neither, is no contradiction
    ("new or established patient", "new patient office visit", False),
    ("office visit moderate mdm", "new patient office visit moderate mdm", False),
    ("chronic hepatitis c", "acute hepatitis c without hepatic coma", True),
    ("acute on chronic systolic heart failure", "chronic systolic heart failure", False),
    ("major depression recurrent moderate", "major depressive disorder single episode moderate", True),
])
def test_a_title_stating_only_the_other_side_contradicts(question, title, expected):
    assert contradicts(set(tokens(question, stop=False)), set(tokens(title, stop=False))) is expected


def test_a_stated_age_is_a_side_of_the_adult_child_contrast():
    from casepilot.measures import age_group
    from casepilot.retrieval import query_facts

    q = query_facts("5 wk old projectile vomiting, US confirms hypertrophic pyloric stenosis")
    assert q.ages == {"child"} == age_group("5 wk old projectile vomiting")
    assert contradicts(q.words | q.ages, set(tokens("Adult hypertrophic pyloric stenosis", stop=False)))
    assert not contradicts(q.words | q.ages, set(tokens("Congenital hypertrophic pyloric stenosis", stop=False)))
    assert contradicts(set(tokens("adult FTT", stop=False)) | age_group("adult FTT"),
                       set(tokens("Failure to thrive (child)", stop=False)))
