"""A pasted chart header is read out of a rule question; the question's own words stay."""

import pytest

from casepilot import codes as cs
from casepilot.answer import decision as dm
from casepilot.phi import without_patient_details


def _said(text: str) -> str:
    return " ".join(without_patient_details(text).split())


@pytest.mark.parametrize("question, kept", [
    ("pt Mary Jones dob 3/3/44 - who signs the ABN, us or her?", "pt - who signs the ABN, us or her?"),
    ("POA for Tom Reyes acct 90023 - which indicator", "POA for - which indicator"),
    ("pt J. Whitfield mrn 0048813, d/c summary says 'probable pneumonia'", "pt , d/c summary says 'probable pneumonia'"),
    ("Alan Cho, dob 8/22/70, est pt. doc spent 42 min", ", , est pt. doc spent 42 min"),
    ("Leroy Watts 01/05/1970 iron deficiency anemia", "01/05/1970 iron deficiency anemia"),
    ("was it on Mrs. Hanley's H&P?", "was it on Mrs. H&P?"),
])
def test_a_pasted_name_and_its_identifiers_go(question, kept):
    assert _said(question) == kept


@pytest.mark.parametrize("question", [
    "pt fell in our ER before the admit order - POA Y or N?",  # lower case after "pt": the story, not a name
    "R hemiparesis d/t old CVA, pt R handed",  # a lone capital letter is a side, not an initial
    "Split/shared visit, NP and MD both saw pt. Under current Medicare rules who bills it?",  # a new sentence
    "annual physical, final read normal, tell me the code",  # "ph", "fin", "tel" label only a number
    "pt has Medicare Part B 3/4/2024 visit",  # a payer is no one's name
])
def test_the_questions_own_words_stay(question):
    assert _said(question) == " ".join(question.split())


def test_a_label_needs_a_number_and_a_whole_word():
    """"physical" holds no "ph" label and "final" no "fin": only a labelled value with a digit is an identifier."""
    assert cs.without_identifiers("annual physical, final read") == "annual physical, final read"
    assert " ".join(cs.without_identifiers("acct A77812 -- MRN: 448812 paid?").split()) == "-- paid?"


def test_coverage_reads_the_question_without_the_chart_header():
    """A known word in a name ("Jones", as in a Jones fracture) is no word the evidence missed: the header changes
    neither coverage nor the unknown share."""
    def feats(q):
        return dm.features(q, ["the patient signs the ABN"], 0.5, "", lambda w: 1.0, lambda w: True)
    bare, pasted = feats("who signs the ABN"), feats("pt Mary Jones dob 3/3/44 - who signs the ABN")
    assert (pasted["cover"], pasted["oov"]) == (bare["cover"], bare["oov"])
    assert feats("Mary Jones signs the ABN")["cover"] < bare["cover"]  # a name the question does not paste counts


def test_scope_signals_still_read_whose_record_is_asked_for():
    """"does Mrs Alvarez have CHF documented": the name is what makes it one patient's record."""
    q = "does mrs Alvarez (dob 7/19/49) have CHF documented anywhere this year?"
    f = dm.features(q, ["heart failure"], 0.5, "", lambda w: 1.0, lambda w: True)
    assert f["own_data"] == 1.0


@pytest.mark.parametrize("text, codes", [
    ("MUE denial on claim 7782019 - what does MAI 2 mean", []),  # a claim number is no PCS code
    ("auth # 4471902 for the MRI", []),
    ("claim 99213-25 denied, why", ["99213", "25"]),  # a CPT code after "claim" stays one
    ("what is 0210093", ["0210093"]),  # an all-digit PCS code with no label before it
])
def test_a_claim_number_is_no_code(text, codes):
    assert [m.code for m in cs.find_mentions(text)] == codes
