"""The MORPHOLOGY and ANATOMY blocks of casepilot/data/vocabulary.toml.

Chapter 2 titles name a neoplasm's behaviour ("Benign neoplasm of ascending colon"), pathology reports its
morphology ("tubular adenoma"); injury and disease titles say "clavicle", "patella", "large intestine" where coders
say "collarbone", "kneecap", "colon". These tests hold both blocks to the tabular: each value is wording the
titles really use, each key is wording they do not, and expand_query carries a coder's phrase across.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache

import pytest
import simple_icd_10_cm as cm

from casepilot.text import SYNONYMS, VOCABULARY_PATH, expand_query

MORPHOLOGY_BANNER = "# MORPHOLOGY:"
ANATOMY_BANNER = "# ANATOMY:"
INTENT_BANNER = "# INTENT:"
DRUG_BANNER = "# DRUGS:"
TEXT = VOCABULARY_PATH.read_text(encoding="utf-8")
VOCAB = tomllib.loads(TEXT)

# The behaviour wording of chapter 2 titles (D17 and D25 name the morphology in the title itself).
BEHAVIOURS = ("benign neoplasm", "malignant neoplasm", "carcinoma in situ", "neoplasm of uncertain behavior",
              "benign lipomatous neoplasm", "leiomyoma of uterus")


def _block(start: str, end: str) -> list[str]:
    lines = TEXT.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if line.startswith(end))
    assert first < last
    keys = []
    for line in lines[first:last]:
        if line.startswith("["):
            (section, inner), = tomllib.loads(line + "\n").items()
            (key, _), = inner.items()
            assert section == "synonyms", line
            keys.append(key)
    return keys


MORPHOLOGY = _block(MORPHOLOGY_BANNER, ANATOMY_BANNER)
ANATOMY = _block(ANATOMY_BANNER, INTENT_BANNER)


@cache
def _titles() -> dict[str, str]:
    """Lower-case title of every ICD-10-CM code and category."""
    return {code: cm.get_description(code).lower() for code in cm.get_all_codes(True)}


def _codes_whose_title_says(phrase: str) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(phrase.lower())}\b")
    return [code for code, title in _titles().items() if pattern.search(title)]


def _is_neoplasm_code(code: str) -> bool:
    """C00-D49 (chapter 2), by the code's letter and first two digits."""
    return code[0] == "C" or (code[0] == "D" and code[1:3].isdigit() and int(code[1:3]) <= 49)


# --- shape and place --------------------------------------------------------------------------------------


def test_blocks_sit_just_before_intent_and_drugs_stay_last():
    banners = [line for line in TEXT.splitlines() if line.startswith("# ") and line[2:].split(":")[0].isupper()]
    names = [b[2:].split(":")[0] for b in banners]
    assert names[-4:] == ["MORPHOLOGY", "ANATOMY", "INTENT", "DRUGS"], names
    assert 20 <= len(MORPHOLOGY) <= 40, len(MORPHOLOGY)
    assert 20 <= len(ANATOMY) <= 60, len(ANATOMY)


def test_entries_have_reason_and_source_naming_the_index_or_tabular():
    for key in MORPHOLOGY:
        entry = VOCAB["synonyms"][key]
        assert entry["reason"].strip() and entry["value"].strip()
        assert entry["source"].startswith("ICD-10-CM Alphabetic Index (CMS FY2026), '"), key
        assert "tabular" in entry["source"], key
    for key in ANATOMY:
        entry = VOCAB["synonyms"][key]
        assert entry["reason"].strip() and entry["value"].strip()
        assert entry["source"].startswith("ICD-10-CM tabular "), key


def test_sources_quote_real_tabular_titles():
    """Every "CODE 'Title'" the sources cite is a real code with that exact title."""
    cited = 0
    for key in MORPHOLOGY + ANATOMY:
        for code, title in re.findall(r"\b([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)-? '([^']+)'", VOCAB["synonyms"][key]["source"]):
            assert cm.is_valid_item(code), (key, code)
            assert cm.get_description(code) == title, (key, code, title, cm.get_description(code))
            cited += 1
    assert cited >= len(MORPHOLOGY) + len(ANATOMY)


# --- morphology: value is behaviour wording of C/D titles, key is wording no title uses -------------------


@pytest.mark.parametrize("key", MORPHOLOGY)
def test_morphology_value_names_a_behaviour_that_neoplasm_titles_use(key):
    value = SYNONYMS[key]
    behaviour = [b for b in BEHAVIOURS if b in value]
    assert behaviour, f"{key!r} -> {value!r} names no behaviour"
    for phrase in behaviour:
        codes = _codes_whose_title_says(phrase)
        neoplasm_codes = [c for c in codes if _is_neoplasm_code(c)]
        # mostly chapter 2 titles; the rest are history/screening codes about neoplasms (Z85, Z86, Z12, R97)
        assert len(neoplasm_codes) >= 5 and len(neoplasm_codes) >= 0.8 * len(codes), (key, phrase, codes[:5])


@pytest.mark.parametrize("key", MORPHOLOGY)
def test_morphology_word_is_not_already_title_wording(key):
    """Only words the titles lack: 'hemangioma', 'leiomyoma', 'melanoma' are title words and have no entry."""
    # "distal radius" and its kin are title words only of the physeal arrest codes (M89.1-); the fracture
    # titles say "lower end of radius"
    assert all(c.startswith("M89.1") for c in _codes_whose_title_says(key)), (key, _codes_whose_title_says(key)[:5])


def test_words_the_titles_already_use_have_no_morphology_entry():
    for word in ("hemangioma", "leiomyoma", "melanoma", "lymphoma", "mesothelioma", "desmoid"):
        assert _codes_whose_title_says(word), word
        assert word not in SYNONYMS, word


@pytest.mark.parametrize(
    ("question", "behaviour"),
    [
        ("tubular adenoma of the ascending colon", "benign neoplasm"),
        ("tubular adenomas x3 sigmoid", "benign neoplasm"),
        ("fibroadenoma of the breast, left", "benign neoplasm"),
        ("lipoma of the back", "benign lipomatous neoplasm"),
        ("spinal meningioma", "benign neoplasm"),
        ("acoustic neuroma right", "benign neoplasm"),
        ("glioblastoma of frontal lobe", "malignant neoplasm"),
        ("osteosarcoma of left femur", "malignant neoplasm"),
        ("Bowen's disease of skin of back", "carcinoma in situ"),
        ("uterine fibroids", "leiomyoma of uterus"),
    ],
)
def test_morphology_question_gets_behaviour_words(question, behaviour):
    assert behaviour in expand_query(question)


# --- words that must not become neoplasms --------------------------------------------------------------------


@pytest.mark.parametrize("question", ["polyp of colon", "hyperplastic polyp of sigmoid colon", "colon polyps",
                                      "nasal polyp", "mass of left breast", "skin lesion of back", "growth on neck"])
def test_polyp_mass_lesion_growth_are_not_expanded_to_a_neoplasm(question):
    expanded = expand_query(question)
    assert "neoplasm" not in expanded, expanded
    assert "carcinoma" not in expanded, expanded


def test_no_entry_for_polyp_mass_lesion_growth():
    for word in ("polyp", "polyps", "mass", "lesion", "growth", "papilloma", "sarcoma"):
        assert word not in SYNONYMS, word
    # a nevus is a mole: its entry names the tabular's kind of nevus (D22 "Melanocytic nevi"), never a behaviour
    assert not {"neoplasm", "benign", "malignant", "carcinoma"} & set(SYNONYMS.get("nevus", "").split())


def test_whole_word_matching_keeps_lookalike_words_apart():
    # 'neurofibromatosis' (Q85.0-) is not a neurofibroma; 'fibroadenoma' is not 'adenoma' + 'fibroma'
    assert "benign neoplasm" not in expand_query("neurofibromatosis type 1")
    fibroadenoma = expand_query("fibroadenoma of breast")
    assert "adenomatous" not in fibroadenoma and fibroadenoma.count("benign neoplasm") == 1
    # 'sarcoma' is a title word (C46 "Kaposi's sarcoma"), so only the -sarcoma compounds have entries
    assert expand_query("kaposi sarcoma of skin") == "kaposi sarcoma of skin"
    assert "malignant neoplasm" in expand_query("liposarcoma of right thigh")


# --- anatomy: value is how titles say it, key is how they do not ---------------------------------------------


@pytest.mark.parametrize("key", ANATOMY)
def test_anatomy_value_appears_in_titles(key):
    value = SYNONYMS[key]
    assert len(_codes_whose_title_says(value)) >= 3, (key, value)


@pytest.mark.parametrize("key", ANATOMY)
def test_anatomy_key_is_absent_from_titles(key):
    """'colon' is the one title word here (C18, D12, K63.5 say 'colon'; K57 says 'large intestine')."""
    if key == "colon":
        assert _codes_whose_title_says("colon") and _codes_whose_title_says("diverticulitis of large intestine")
        return
    # "distal radius" and its kin are title words only of the physeal arrest codes (M89.1-), "proximal tibia"
    # also of the osteochondroses (M92.5-); the fracture titles say "lower end of radius"
    assert all(c.startswith(("M89.1", "M92.5")) for c in _codes_whose_title_says(key)), (
        key, _codes_whose_title_says(key)[:5])


def test_anatomy_keys_do_not_clash_with_earlier_synonyms():
    earlier = set(VOCAB["synonyms"]) - set(MORPHOLOGY) - set(ANATOMY)
    assert {"belly", "stomach", "throat", "kidney", "renal"} <= earlier
    assert not (set(ANATOMY) & earlier) and not (set(MORPHOLOGY) & earlier)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("diverticulitis of colon w/o perforation or abscess", "large intestine"),
        ("small bowel diverticulosis", "small intestine"),
        ("broken collarbone right, initial", "clavicle"),
        ("fx kneecap left", "patella"),
        ("shin bone fracture right", "tibia"),
        ("broken thigh bone left", "femur"),
        ("cancer of the voice box", "larynx"),
        ("foreign body in windpipe", "trachea"),
        ("belly button hernia", "umbilical"),
        ("fracture breastbone", "sternum"),
        ("shoulder blade fracture rt", "scapula"),
        ("broken tailbone", "coccyx"),
        ("perforated eardrum left", "tympanic membrane"),
        ("big toe fracture", "great toe"),
        ("armpit abscess", "axilla"),
        ("blocked tear duct", "lacrimal"),
        ("heel bone fracture", "calcaneus"),
    ],
)
def test_anatomy_question_gets_tabular_words(question, words):
    assert words in expand_query(question)


def test_belly_button_keeps_the_earlier_belly_entry_and_adds_umbilical():
    expanded = expand_query("belly button hernia")
    assert "abdominal" in expanded and "umbilical" in expanded


def test_lay_words_with_two_readings_are_left_alone():
    # bare 'pinky' may be a finger or a toe; bare 'shin', 'heel', 'thigh', 'wrist' are title words or soft tissue
    assert "little finger" not in expand_query("broken pinky") and "toe" not in expand_query("broken pinky")
    assert "little finger" in expand_query("broken pinky finger")
    assert "lesser toe" in expand_query("pinky toe fracture")
    for question in ("shin laceration", "heel ulcer", "thigh contusion", "wrist sprain"):
        assert expand_query(question) == question
