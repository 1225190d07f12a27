"""Procedure or condition, decided from the official PCS Alphabetic Index and ICD-10-CM titles."""

import pytest

from casepilot.answer.grounded import infer_system
from casepilot.procedures import is_procedure, procedure_words


@pytest.mark.parametrize("text", [
    "thoracentesis left side, therapeutic, needle",  # one-word index term no CM title uses
    "diagnostic lumbar puncture, CSF sent to lab",  # two-word index term ("Puncture, lumbar")
    "lap sleeve gastrectomy",  # surgical suffix
    "tonsillectomy (no adenoids)",
    "CABG x1, LIMA to LAD, open",  # an abbreviation that expands to a procedure
    "cataract extraction, right eye",  # an official root operation name CM titles rarely use
    "carpal tunnel release, left",
])
def test_procedures(text):
    assert is_procedure(text)
    assert infer_system(f"What is the code for {text}?") == "icd10pcs"


@pytest.mark.parametrize("text", [
    "puncture wound of left hand",  # "puncture" alone names 1,239 injuries
    "strain of rectus abdominis muscle",  # index anatomy ("use ...") is not a procedure
    "Type 2 diabetes with diabetic CKD",
    "Visit for suture removal only",  # the reason for the visit: a Z code
    "Screening colonoscopy on an average-risk patient",
    "Hypertension with end stage renal disease on dialysis",
    "type 2 diabetes out of control",  # "control" names a state here, not the root operation
])
def test_conditions_and_reasons_for_a_visit(text):
    assert not is_procedure(text)
    assert infer_system(text) == "icd10cm"


def test_procedure_words_come_from_the_index_and_exclude_cm_words():
    words = procedure_words()
    assert {"thoracentesis", "tonsillectomy"} <= words
    assert "puncture" not in words and "fracture" not in words
