"""The diagnosis a case narrative states (casepilot.stated): which clause is picked, and which is not."""

import pytest

from casepilot.stated import stated_diagnosis


@pytest.mark.parametrize("question,clause", [
    ("Observation stay 22 hrs. CC chest tightness. Serial troponins neg x3, stress test negative. Final dx: atypical "
     "chest pain, ACS ruled out. No other dx established.", "atypical chest pain, ACS ruled out"),
    ("Pt admitted w/ watery diarrhea x4 days, stool toxin positive. Attending documents C. difficile colitis, first "
     "episode, not recurrent. What ICD-10 code do I use?", "C. difficile colitis, first episode, not recurrent"),
    ("42 yo male fell off a ladder cleaning gutters at his house. X-ray: closed displaced transverse fracture of the "
     "right femoral shaft. Admitted for IM nailing.", "closed displaced transverse fracture of the right femoral shaft"),
    ("Patient felt lightheaded like she was about to pass out, never actually lost consciousness. Workup negative, "
     "final impression presyncope. what ICD-10 code", "presyncope"),
    # a labelled diagnosis outranks a study's findings told earlier
    ("CT abd: thickened sigmoid wall with fat stranding, pt febrile and tender in the LLQ. Assessment: acute sigmoid "
     "diverticulitis without abscess. code?", "acute sigmoid diverticulitis without abscess"),
])
def test_the_stated_diagnosis_is_the_clause_after_its_marker(question, clause):
    assert stated_diagnosis(question) == clause


@pytest.mark.parametrize("question", [
    # short: the description is the whole question already
    "Final dx: atypical chest pain",
    # no marker of a conclusion
    "55M w/ painful irreducible umbilical bulge, incarcerated, partial SBO, bowel viable, no gangrene, open repair",
    # what follows the marker goes on from what came before: no condition of its own
    "pt w/ known seizure d/o brought in after a sz at home. neuro note: not intractable, no status. code pls",
    "Pt admitted with sepsis that the attending says is from acute pyelonephritis. Blood and urine cultures pending.",
    # an uncertain diagnosis is not coded as one in outpatient care
    "ED visit for cough and fever three days, lungs with crackles on the right. Impression: probable pneumonia, "
    "CXR pending. code?",
])
def test_no_clause_when_none_is_a_stated_diagnosis(question):
    assert stated_diagnosis(question) is None
