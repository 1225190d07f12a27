"""The retrieval vocabulary (casepilot/data/vocabulary.toml) is well-formed, checkable and does what it says.

Each entry of STOPWORDS, ABBREVIATIONS, AMBIGUOUS and SYNONYMS lives in the data file with its value, the
reason it exists and a source. These tests hold the file to that shape, check that the words an
ICD-10-CM-facing expansion adds really occur in ICD-10-CM tabular text (or the project corpus), and run
one behaviour check per entry through the public functions of casepilot.text.
"""

from __future__ import annotations

import re

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from casepilot import text
from casepilot.text import (
    ABBREVIATIONS,
    AMBIGUOUS,
    STRICT,
    STOPWORDS,
    SYNONYMS,
    VOCABULARY_PATH,
    VocabularyError,
    expand_query,
    load_vocabulary,
    tokens,
)

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpus"
VOCAB = load_vocabulary()
SECTIONS = ("stopwords", "abbreviations", "ambiguous", "synonyms")
ENTRIES = [(section, key, entry) for section in SECTIONS for key, entry in VOCAB[section].items()]


def _ids(section: str) -> list[str]:
    return [f"{section}:{k}" for k in VOCAB[section]]


# --- shape of the file ------------------------------------------------------------------------------------


def test_file_has_the_four_sections_and_the_module_uses_it():
    assert tuple(VOCAB) == SECTIONS
    assert STOPWORDS == frozenset(VOCAB["stopwords"]) and isinstance(STOPWORDS, frozenset)
    assert AMBIGUOUS == frozenset(VOCAB["ambiguous"]) and isinstance(AMBIGUOUS, frozenset)
    # Order matters for SYNONYMS (appended in order), so compare item lists, not dicts.
    assert list(ABBREVIATIONS.items()) == [(k, e["value"]) for k, e in VOCAB["abbreviations"].items()]
    assert list(SYNONYMS.items()) == [(k, e["value"]) for k, e in VOCAB["synonyms"].items()]


def test_every_entry_has_a_non_empty_value_reason_and_source():
    bad = [
        f"[{section}.{key}] {field}"
        for section, key, entry in ENTRIES
        for field in ("value", "reason", "source")
        if not isinstance(entry.get(field), str) or not entry[field].strip()
    ]
    assert not bad, bad


def test_no_duplicate_keys():
    """Each entry is declared once as a [section.key] header (tomllib would refuse an exact duplicate; this also
    catches keys that differ only in case or spacing, and entries written some other way)."""
    headers = []
    for line in VOCABULARY_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            parsed = tomllib.loads(line + "\n")  # normalises quoting: [abbreviations."w/o"] -> ("abbreviations", "w/o")
            (section, inner), = parsed.items()
            (key, _), = inner.items()
            headers.append((section, key.strip().lower()))
    dupes = [h for h, n in Counter(headers).items() if n > 1]
    assert not dupes, dupes
    assert len(headers) == len(ENTRIES), "every entry should be written as its own [section.key] table"


def test_keys_are_lower_case():
    bad = [f"[{section}.{key}]" for section, key, _ in ENTRIES if key != key.strip().lower() or not key]
    assert not bad, bad


def test_every_ambiguous_key_is_an_abbreviation():
    assert set(AMBIGUOUS) <= set(ABBREVIATIONS), sorted(set(AMBIGUOUS) - set(ABBREVIATIONS))


def test_expansions_are_not_empty_after_tokenisation():
    bad = [f"[{s}.{k}] {e['value']!r}" for s in ("abbreviations", "synonyms") for k, e in VOCAB[s].items()
           if not tokens(e["value"])]
    assert not bad, bad


def test_check_titles_is_only_turned_off_with_a_reason():
    for section, key, entry in ENTRIES:
        if "check_titles" in entry:
            assert section in ("abbreviations", "synonyms"), f"[{section}.{key}]: check_titles has no meaning here"
            assert entry["check_titles"] is False, f"[{section}.{key}]: write check_titles only to turn it off"
            assert "PCS" in entry["reason"] or "CPT" in entry["reason"], \
                f"[{section}.{key}]: the reason should say which PCS/CPT vocabulary the entry targets"


# --- expansion words exist in ICD-10-CM text --------------------------------------------------------------


@pytest.fixture(scope="module")
def icd10cm_and_corpus_words() -> frozenset[str]:
    """Every token of ICD-10-CM tabular titles, inclusion terms and Includes notes (the text a code passage is
    built from), plus every token of the project corpus. Built once: it takes a few seconds."""
    import simple_icd_10_cm as cm

    words: set[str] = set()
    for code in cm.get_all_codes(True):
        for phrase in [cm.get_description(code), *cm.get_inclusion_term(code), *cm.get_includes(code)]:
            words.update(tokens(phrase, stop=False))
    for path in CORPUS.rglob("*.md"):
        words.update(tokens(path.read_text(encoding="utf-8"), stop=False))
    assert len(words) > 5000, "ICD-10-CM titles or the corpus did not load"
    return frozenset(words)


def test_icd10cm_facing_expansions_use_words_the_code_set_or_corpus_contains(icd10cm_and_corpus_words):
    """A word no ICD-10-CM text or corpus document contains cannot help retrieval; it is a typo or a wrong
    expansion. Entries aimed at PCS or CPT wording opt out with check_titles = false."""
    missing = {
        f"[{section}.{key}]": [w for w in tokens(entry["value"]) if w not in icd10cm_and_corpus_words]
        for section in ("abbreviations", "synonyms")
        for key, entry in VOCAB[section].items()
        if entry.get("check_titles", True)
    }
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, missing


# --- one behaviour check per entry ------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(VOCAB["abbreviations"]), ids=_ids("abbreviations"))
def test_abbreviation_is_expanded(key):
    value = ABBREVIATIONS[key]
    if key in STRICT:
        # capitals alone do not settle it: only beside its context ("cerumen impaction AD")
        assert value in expand_query(VOCAB["ambiguous"][key]["example"])
        assert value not in expand_query(f"the {key.upper()} here") and value not in expand_query(key)
    elif key in AMBIGUOUS:
        assert value in expand_query(key.upper())
        assert value not in expand_query(key), "capitals-only abbreviation expanded in lower case"
    else:
        assert value in expand_query(key)
        assert value in expand_query(f"see {key} here")
        assert value in expand_query(f"see {key.upper()} here")  # "W/O" in capitals too
    entry = VOCAB["abbreviations"][key]
    if "unless" in entry:
        # one never read beside its ``unless`` words ("perf appy" is the appendicitis) needs an example that has
        # them, and is not expanded there
        assert entry.get("unless_example"), f"[abbreviations.{key}]: an unless pattern needs an unless_example"
        assert key in entry["unless_example"] and value not in expand_query(entry["unless_example"])


@pytest.mark.parametrize("key", list(VOCAB["ambiguous"]), ids=_ids("ambiguous"))
def test_ambiguous_abbreviation_is_left_alone_in_lower_case(key):
    if VOCAB["ambiguous"][key].get("cms_when_unread"):
        # unread, it keeps CMS's short-description reading beside it ("mod": "mod moderate"), never its own
        from casepilot.abbreviations import learned

        assert expand_query(f"the {key} here") == f"the {key} {learned()[key]} here"
        assert VOCAB["abbreviations"][key]["value"] not in expand_query(f"the {key} here")
        return
    assert expand_query(f"the {key} here") == f"the {key} here"
    if key in STRICT:
        entry = VOCAB["ambiguous"][key]
        assert entry.get("context") and entry.get("example"), f"[ambiguous.{key}]: strict needs a context and an example"
        assert expand_query(entry["example"].replace(key.upper(), key)) == entry["example"].replace(key.upper(), key)
        if "lower_with" in entry:
            # ... unless lower case stands beside as many distinct context words as it asks ("cp nos, trop neg ekg")
            assert entry.get("lower_example") and key in entry["lower_example"].split()
            assert ABBREVIATIONS[key] in expand_query(entry["lower_example"])
    else:
        assert ABBREVIATIONS[key] in expand_query(f"the {key.upper()} here")


def test_context_is_only_on_ambiguous_entries_and_settles_the_lower_case_reading():
    for section, entries in VOCAB.items():
        for key, entry in entries.items():
            if "context" in entry:
                assert section in ("ambiguous", "synonyms"), \
                    f"[{section}.{key}]: context means something only for ambiguous and synonym entries"
                re.compile(entry["context"])
    assert ABBREVIATIONS["ca"] in expand_query("papillary thyroid ca") and ABBREVIATIONS["ca"] in expand_query("h/o breast ca")
    assert expand_query("low ca, ca 8.1") == "low ca , ca 8 . 1"


@pytest.mark.parametrize("key", list(VOCAB["synonyms"]), ids=_ids("synonyms"))
def test_synonym_adds_code_set_vocabulary(key):
    entry = VOCAB["synonyms"][key]
    if "context" in entry:
        # a synonym read only beside its context needs an example that has it, and adds nothing without it
        assert entry.get("example"), f"[synonyms.{key}]: a context needs an example"
        assert SYNONYMS[key] in expand_query(entry["example"])
        assert SYNONYMS[key] not in expand_query(f"see {key} here")
        return
    assert SYNONYMS[key] in expand_query(key)
    assert SYNONYMS[key] in expand_query(f"see {key} here")
    if "unless" in entry:
        # ... and one never read beside its ``unless`` words needs an example that has them, and adds nothing there
        assert entry.get("unless_example"), f"[synonyms.{key}]: an unless pattern needs an unless_example"
        assert key in entry["unless_example"] and SYNONYMS[key] not in expand_query(entry["unless_example"])


def test_poorly_controlled_is_hyperglycemia_for_a_diabetes_only():
    assert "hyperglycemia" in expand_query("DM2 poorly controlled, A1c 10.2")
    assert "hyperglycemia" not in expand_query("epilepsy, poorly controlled on two drugs")


@pytest.mark.parametrize("key", list(VOCAB["stopwords"]), ids=_ids("stopwords"))
def test_stopword_is_dropped(key):
    if "-" in key:
        # tokens() splits hyphenated words before dropping stopwords, so a hyphenated stopword can never match
        # as a whole; the entry must say so rather than pretend to work.
        assert "never matches" in VOCAB["stopwords"][key]["reason"]
        return
    assert tokens(f"fracture {key} femur") == ["fracture", "femur"]
    assert tokens(f"fracture {key} femur", stop=False) == ["fracture", key, "femur"]


# --- malformed files fail loudly, naming the file and the entry -------------------------------------------

GOOD = """
[stopwords.the]
value = "article"
reason = "r"
source = "s"

[abbreviations.ckd]
value = "chronic kidney disease"
reason = "r"
source = "s"

[ambiguous.ckd]
value = "v"
reason = "r"
source = "s"

[synonyms.kidney]
value = "renal"
reason = "r"
source = "s"
"""


def _load(tmp_path: Path, content: str) -> dict:
    path = tmp_path / "vocabulary.toml"
    path.write_text(content, encoding="utf-8")
    return load_vocabulary(path)


def test_a_minimal_file_loads(tmp_path):
    vocab = _load(tmp_path, GOOD)
    assert vocab["abbreviations"]["ckd"]["value"] == "chronic kidney disease"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD.replace('reason = "r"\nsource = "s"\n\n[ambiguous', 'source = "s"\n\n[ambiguous'),
         ["abbreviations.'ckd'", "'reason'"]),
        (GOOD.replace('value = "renal"', 'value = "  "'), ["synonyms.'kidney'", "'value'"]),
        (GOOD.replace("[stopwords.the]", "[stopwords.The]"), ["stopwords.'The'", "lower case"]),
        (GOOD.replace("[ambiguous.ckd]", "[ambiguous.ms]"), ["[ambiguous]", "'ms'"]),
        (GOOD.replace('value = "article"', 'value = "article"\ncheck_title = false'),
         ["stopwords.'the'", "'check_title'"]),
        (GOOD + '\n[synonyms.kidney]\nvalue = "x"\nreason = "r"\nsource = "s"\n', ["invalid TOML", "kidney"]),
        (GOOD.replace("[synonyms.kidney]", "[synonyms.kidney"), ["invalid TOML"]),
        (GOOD.split("[synonyms.kidney]")[0], ["[synonyms]", "missing"]),
    ],
    ids=["missing-reason", "blank-value", "upper-case-key", "ambiguous-without-abbreviation", "unknown-field",
         "duplicate-key", "broken-toml", "missing-section"],
)
def test_malformed_file_names_file_and_entry(tmp_path, content, expected):
    with pytest.raises(VocabularyError) as err:
        _load(tmp_path, content)
    message = str(err.value)
    assert str(tmp_path / "vocabulary.toml") in message
    for part in expected:
        assert part in message, message


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VocabularyError, match="nowhere.toml"):
        load_vocabulary(tmp_path / "nowhere.toml")


def test_module_loads_the_packaged_file():
    assert text.VOCABULARY_PATH == Path(text.__file__).resolve().parent / "data" / "vocabulary.toml"
    assert VOCABULARY_PATH.is_file()
