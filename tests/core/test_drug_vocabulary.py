"""The drug block of casepilot/data/vocabulary.toml: drug names reach the ICD-10-CM class words.

T36-T50 titles name the Table of Drugs class ("Poisoning by 4-Aminophenol derivatives"), coders name the drug
("Tylenol overdose"). Each entry of the DRUGS block says which Table of Drugs row it follows and which tabular
title carries its words; these tests hold every entry to that title, and check through expand_query that a
coder's question gets the class words and the intent words (poisoning, adverse effect, underdosing).
"""

from __future__ import annotations

import re
import tomllib

import pytest
import simple_icd_10_cm as cm

from casepilot.text import SYNONYMS, VOCABULARY_PATH, expand_query, tokens

DRUG_BANNER = "# DRUGS: drug name -> its ICD-10-CM Table of Drugs class"
INTENT_BANNER = "# INTENT: poisoning / adverse effect / underdosing"
TEXT = VOCABULARY_PATH.read_text(encoding="utf-8")
VOCAB = tomllib.loads(TEXT)


def _block_keys(start: str, end: str | None = None) -> list[tuple[str, str]]:
    """(section, key) of every [section.key] header between the banner line ``start`` and ``end``."""
    lines = TEXT.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next((i for i, line in enumerate(lines) if end and line.startswith(end)), len(lines))
    out = []
    for line in lines[first:last]:
        if line.startswith("["):
            (section, inner), = tomllib.loads(line + "\n").items()
            (key, _), = inner.items()
            out.append((section, key))
    return out


DRUG_HEADERS = _block_keys(DRUG_BANNER)
INTENT_HEADERS = _block_keys(INTENT_BANNER, DRUG_BANNER)
DRUGS = [key for _, key in DRUG_HEADERS]
INTENTS = [key for _, key in INTENT_HEADERS]
ROW = re.compile(r"Table of Drugs and Chemicals \(CMS/CDC FY\d{4}\), row '([^']+)' -> (T\d\d\.[0-9A-Z]{1,2}-)")
TITLE = re.compile(r"tabular (T\d\d\.[0-9A-Z]{1,2}) title '([^']+)'")

# What the sixth character of a T36-T50 code says, as the intent entries must word it.
INTENT_WORDS = {"poisoning", "adverse effect", "underdosing", "intentional self-harm", "accidental (unintentional)"}


def _category(code: str) -> int:
    return int(code[1:3])


def _words(text: str) -> set[str]:
    return set(tokens(text, stop=False))


def _accidental_initial(table_code: str) -> str:
    """The Table column code's 'poisoning, accidental, initial encounter' code: T39.1X- -> T39.1X1A, T58.0- -> T58.01XA."""
    code = table_code.rstrip("-") + "1"
    bare = code.replace(".", "")
    bare = bare + "X" * (6 - len(bare)) + "A"
    return f"{bare[:3]}.{bare[3:]}"


# --- shape of the block -----------------------------------------------------------------------------------


def test_drug_block_is_last_and_holds_only_synonyms():
    assert DRUG_HEADERS, f"no entries after the banner {DRUG_BANNER!r}"
    assert {section for section, _ in DRUG_HEADERS} == {"synonyms"}
    assert {section for section, _ in INTENT_HEADERS} == {"synonyms"}
    # the file's last synonyms are the drug block, in order (expand_query appends values in file order)
    assert list(SYNONYMS)[-len(DRUGS):] == DRUGS


def test_drug_block_size():
    """About 150 common drug names: enough to cover the usual outpatient drugs and poisoning agents."""
    assert 100 <= len(DRUGS) <= 200, len(DRUGS)
    assert len(set(DRUGS)) == len(DRUGS)
    assert not set(DRUGS) & set(INTENTS)


@pytest.mark.parametrize("key", DRUGS)
def test_drug_entry_names_its_table_row_and_the_title_it_copies(key):
    entry = VOCAB["synonyms"][key]
    row = ROW.search(entry["source"])
    assert row, f"[synonyms.{key}] source should name its Table of Drugs row: {entry['source']!r}"
    title = TITLE.search(entry["source"])
    assert title, f"[synonyms.{key}] source should name the tabular title it copies: {entry['source']!r}"
    table_code, code, quoted = row.group(2), title.group(1), title.group(2)
    assert cm.is_valid_item(code), code
    assert cm.get_description(code) == quoted, f"[synonyms.{key}] quotes {quoted!r} for {code}"
    # The Table column code is the tabular code (or its X-placeholder child): "T39.1X-" under "T39.1".
    assert table_code.rstrip("-").startswith(code), (table_code, code)
    # Drugs, medicaments and biologicals are T36-T50; the few household substances are toxic effects, T51-T65.
    assert 36 <= _category(code) <= 65, code


@pytest.mark.parametrize("key", DRUGS)
def test_drug_value_is_worded_as_the_tabular_title(key):
    """Every class word appears in the named title, and in the codes a coder ends up with (the accidental
    poisoning, initial encounter code of the Table column), so the appended words can meet them."""
    entry = VOCAB["synonyms"][key]
    code = TITLE.search(entry["source"]).group(1)
    value = _words(entry["value"])
    assert value and value <= _words(cm.get_description(code)), (key, entry["value"], cm.get_description(code))
    leaf = _accidental_initial(ROW.search(entry["source"]).group(2))
    assert cm.is_valid_item(leaf), leaf
    assert value <= _words(cm.get_description(leaf)), (key, entry["value"], cm.get_description(leaf))


@pytest.mark.parametrize("key", DRUGS)
def test_drug_name_in_a_question_gets_its_class_words(key):
    value = SYNONYMS[key]
    for question in (f"accidental overdose of {key}, initial encounter",
                     f"Adverse effect of {key.title()} taken as prescribed"):
        expanded = expand_query(question)
        assert value in expanded, (question, expanded)


@pytest.mark.parametrize("key", INTENTS)
def test_intent_entry_uses_the_sixth_character_wording(key):
    entry = VOCAB["synonyms"][key]
    assert entry["value"] in INTENT_WORDS, (key, entry["value"])
    titles = [cm.get_description(c).lower() for c in ("T39.1X1A", "T39.1X2A", "T39.1X5A", "T39.1X6A")]
    assert any(entry["value"] in t for t in titles), entry["value"]
    assert entry["value"] in expand_query(f"pt {key} meds")


# --- what a coder's question turns into -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("accidental overdose of Tylenol, initial", ["4-aminophenol derivatives", "poisoning"]),
        ("angioedema from lisinopril taken as prescribed", ["angiotensin-converting-enzyme inhibitors", "adverse effect"]),
        ("took too little of his Eliquis", ["anticoagulants", "underdosing"]),
        ("pt OD'd on xanax on purpose, initial", ["benzodiazepines", "poisoning", "intentional self-harm"]),
        ("OD on oxycodone, undetermined", ["other opioids", "poisoning"]),
        ("hives from amoxicillin, side effect", ["penicillins", "adverse effect", "urticaria"]),
        ("missed doses of keppra", ["other antiepileptic and sedative-hypnotic drugs", "underdosing"]),
        ("suicide attempt with sertraline", ["selective serotonin reuptake inhibitors", "intentional self-harm"]),
        ("reaction to cipro, tendon rupture", ["fluoroquinolone antibiotics", "adverse effect"]),
        ("toddler ate grandma's metoprolol by accident", ["beta-adrenoreceptor antagonists", "accidental (unintentional)"]),
    ],
)
def test_question_gets_class_and_intent_words(question, expected):
    expanded = expand_query(question)
    for words in expected:
        assert words in expanded, (question, words, expanded)


def test_class_words_match_the_target_code_title():
    """The words appended for 'Tylenol' cover the class part of the code a coder wants."""
    expanded = set(tokens(expand_query("accidental overdose of tylenol, initial encounter")))
    # every content word of the target title except the parenthesised "(unintentional)"
    assert set(tokens("Poisoning by 4-Aminophenol derivatives, accidental, initial encounter")) <= expanded
    assert not set(tokens(cm.get_description("T39.1X1A"))) <= set(tokens(expand_query("accidental overdose, initial")))


def test_bare_od_stays_an_eye():
    """'OD' alone is the right eye in eye questions; only 'OD on' / "OD'd" mean an overdose."""
    assert "poisoning" not in expand_query("primary open-angle glaucoma OD, mild stage")
    assert "poisoning" in expand_query("OD on heroin")


def test_drug_keys_match_whole_words_only():
    # 'meth' must not fire inside 'methadone', 'cipro' is not 'ciprofloxacin''s prefix match, and the title's
    # own plural does not re-trigger the singular entry.
    assert "methamphetamines" not in expand_query("methadone maintenance")
    assert expand_query("poisoning by penicillins") == "poisoning by penicillins"
    assert "fluoroquinolone antibiotics" in expand_query("ciprofloxacin")
