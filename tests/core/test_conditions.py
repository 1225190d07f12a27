"""The conditions a description states and the ones a found code leaves unsaid (casepilot/answer/conditions.py)."""

from casepilot.answer.conditions import clauses, generic_code_first, unsaid_clauses
from casepilot.answer.decision import word_bag


def test_clauses_split_at_lists_and_link_words():
    assert clauses("dog bite L forearm, lac w/o FB; first visit") == ["dog bite L forearm", "lac", "o FB", "first visit"]
    assert clauses("polyneuropathy due to amyloidosis") == ["polyneuropathy", "amyloidosis"]


def test_a_clause_is_unsaid_only_when_none_of_its_words_is_covered():
    said = word_bag("Adverse effect of angiotensin-converting-enzyme inhibitors, initial encounter")
    assert unsaid_clauses("chronic dry cough from lisinopril, taken as prescribed", said) == ["chronic dry cough"]
    # a denied condition is none; side and encounter words are detail of the code found, not a condition
    assert unsaid_clauses("CKD stage 3b, no hypertension documented", word_bag("Chronic kidney disease, stage 3b")) == []
    assert unsaid_clauses("cough from lisinopril, left, initial", said) == ["cough"]
    assert unsaid_clauses("rx, ok", said) == []  # nothing of four letters or two words


def test_only_a_code_first_note_without_codes_of_its_own_asks_for_a_kind_of_condition():
    assert generic_code_first("underlying disease, such as:\namyloidosis (E85.-)") == "underlying disease"
    assert generic_code_first("underlying condition") == "underlying condition"
    assert generic_code_first("any associated:\ndiabetic CKD (E11.22)\nhypertensive CKD (I12.-, I13.-)") is None
    assert generic_code_first("heart failure due to hypertension (I11.0)") is None


def test_w_slash_and_because_split_clauses():
    assert clauses("afib w/ rvr bc pt stopped his metoprolol") == ["afib", "rvr", "pt stopped his metoprolol"]


def test_every_sequencing_rule_cites_a_corpus_passage_that_exists():
    from casepilot.answer.conditions import sequencing_rule, sequencing_rules
    from casepilot.settings import Settings
    from ingest.corpus import CorpusSource

    ids = {d.id for d in CorpusSource(Settings().corpus_dir).passages()}
    for rule in sequencing_rules():
        assert rule.passage in ids, rule
        assert "{code}" in rule.first
    assert sequencing_rule("Underdosing of insulin and oral hypoglycemic [antidiabetic] drugs, initial encounter")
    assert sequencing_rule("Adverse effect of penicillins") is None
