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
    "PICC line placement, tip in SVC",  # procedure words no ICD-10-CM title uses
    "endotracheal intubation",
    "open reduction internal fixation of the femur shaft with an IM nail",
    "PCI of one coronary artery with a drug eluting stent",
    "total hip lt, uncemented prosthesis, open",  # coders' shorthand for the arthroplasty
    "rt brachiobasilic AV fistula",  # a dialysis access made, not a fistula found
    "dx LP in the ED",  # "dx" before a procedure is diagnostic, not a diagnosis
    "dx lap, nothing found, no biopsy",
    "bedside chest tube on the right",
    "tap of ascites, 2 L off",
    "port inserted in the right chest",  # a device put in
    "Watchman implant",
    "PICC placed R basilic vein, tip confirmed in SVC",  # a confirmed position is no finding
])
def test_procedures(text):
    assert is_procedure(text)
    assert infer_system(f"What is the code for {text}?") == "icd10pcs"


@pytest.mark.parametrize("text", [
    "puncture wound of left hand",  # "puncture" alone names 1,239 injuries
    "strain of rectus abdominis muscle",  # index anatomy ("use ...") is not a procedure
    "type 2 diabetes with the kidney complication",  # ends like "fundoplication", names none
    "Type 2 diabetes with diabetic CKD",
    "Visit for suture removal only",  # the reason for the visit: a Z code
    "Screening colonoscopy on an average-risk patient",
    "Hypertension with end stage renal disease on dialysis",
    "type 2 diabetes out of control",  # "control" names a state here, not the root operation
    "SVD at 39 wks single liveborn no compl",  # the delivery's outcome: the mother's or newborn's record
    "dx of pneumonia, right lower lobe",
    "chest tube site infection",  # a complication at the site of one
    "s/p chest tube, pneumothorax resolved",
    "av fistula thrombosis",
    "hx of breast ca, mastectomy yrs ago, no current tx",  # a procedure long ago is history
    "hx CABG x3, stable",  # anything "hx" is history
    "radical prostatectomy in 2019, no evidence of disease",  # done in a past year
    "core needle biopsy of the left breast mass shows invasive ductal carcinoma",  # what the biopsy found
    "alcoholic cirrhosis with tense ascites needing paracentesis",  # a procedure the condition calls for
    "postherpetic neuralgia, ophthalmic division of the trigeminal nerve",  # a nerve's branch, no Division
    "gerd, egd neg for esophagitis",  # what a scope found (not) is the diagnosis
    "L BKA (acquired)",  # an acquired absence
])
def test_conditions_and_reasons_for_a_visit(text):
    assert not is_procedure(text)
    assert infer_system(text) == "icd10cm"


def test_procedure_words_come_from_the_index_and_exclude_cm_words():
    words = procedure_words()
    assert {"thoracentesis", "tonsillectomy"} <= words
    assert "puncture" not in words and "fracture" not in words


@pytest.mark.parametrize("text", [
    "right above knee amputation",  # "amputation": ICD-10-CM uses it beside "traumatic" (97%); here it is not
    "open reduction of left radius fracture with plate",  # the index's "Reduction, Fracture" (term + sub-term)
    "phaco left eye",  # a truncation one procedure word completes (Phacoemulsification)
    "hysteroscopic tubal occlusion",  # the adjective of an index procedure (hysteroscopy)
    "low transverse c-section",  # the vocabulary's diagnosis wording ("cesarean delivery") must not hide it
    "ablation of an atrial focus",  # "Ablation" only refers on ("see Destruction"): still procedure vocabulary
    "SVD, manually assisted, no episiotomy",  # "Delivery, Manually assisted" (a sub-term that is no "see")
    "TAH, open, no BSO",  # what is denied goes, what was done stays
])
def test_procedures_found_through_the_index_structure(text):
    assert is_procedure(text)


@pytest.mark.parametrize("text", [
    "traumatic amputation of right thumb",
    "status post right below knee amputation",  # a status: Z89
    "acquired absence of left leg below knee",
    "puncture wound of right foot",  # "wound" is beside "puncture" in 95% of ICD-10-CM titles
    "microscopic hematuria",  # "-scopic" only counts for an index procedure's adjective
    "closed fracture of left radius, initial encounter",
    "difficult intubation during anesthesia",  # T88.4, a complication
    "pregnant with a scar from a previous c-section",
    # a procedure named as a circumstance of the condition
    "GERD with esophagitis seen on EGD, no bleeding",
    "primary hyperparathyroidism, referred to ENT for parathyroidectomy",
    "age-related nuclear cataract right eye, scheduling phaco OD",  # a procedure still to come
    "term newborn born via C-section, transient tachypnea of newborn",  # the baby's birth, not the mother's surgery
    "bleeding after tonsillectomy",
    "presence of right total knee",  # a status: Z96.651
    # a procedure that caused the condition or found it, and what the provider concluded
    "hypothyroidism as a result of a total thyroidectomy done 2 years ago",
    "EGD showed reflux esophagitis; provider documents GERD with esophagitis",
    "K was 2.9, doctor assessed hypokalemia and gave oral potassium replacement",
    # index terms whose codes all lie in sections CasePilot does not hold (Rehabilitation, Substance Abuse)
    "Provider assessment says mixed hyperlipidemia",
    "seen for medication management of generalized anxiety disorder",
    "bitten by a dog on the right hand, puncture wounds",  # the guard word in the plural
    "she's been hypothyroid ever since her thyroidectomy",  # the procedure that caused it
    "PAD L leg, claudication, native vessels - never had a bypass",  # a procedure the text denies
    "ruptured appendix with localized peritonitis, no abscess",  # a body part alone names no procedure
    "laceration of the left hand, no foreign body, seen in ED for repair",  # the visit's purpose after the condition
    "periprosthetic joint infection L total knee, initial",  # a 7th-character encounter, spelled out
])
def test_conditions_and_statuses_stay_conditions(text):
    assert not is_procedure(text)


def test_guarded_terms_come_from_the_titles():
    from casepilot.procedures import procedure_terms

    guarded = procedure_terms()[2]
    assert guarded["amputation"] == {"traumatic"}
    assert {"foreign", "body"} <= guarded["puncture"]


@pytest.mark.parametrize("text", [
    "ex lap, segment of necrotic ileum resected, stapled anastomosis",  # op-note verbs no CM title uses
    "TAVR via transfemoral approach",
    "external cephalic version for breech",
    "lap nissen fundoplication",  # -plication, as -plasty and -pexy
])
def test_op_note_words_name_a_procedure(text):
    assert is_procedure(text)


def test_a_repaired_spelling_names_a_procedure_by_its_words_only():
    assert is_procedure("rt thoracentesis therapeutic", words_only=True)
    # "anticoags" repaired to "anticoag" is no truncation of "anticoagulant" administration
    assert not is_procedure("LT use of anticoag (eliquis)", words_only=True)


def test_a_visit_reason_the_spelling_repair_reveals_goes_to_icd10cm():
    # the typo hid "screening"; the raw words still say "colonscopy", a procedure
    assert infer_system("scrrening colonscopy, avg risk", "screening colonoscopy, avg risk") == "icd10cm"
    assert infer_system("pt here for Mirena IUD insertion") == "icd10cm"
    assert infer_system("on transplant list for heart") == "icd10cm"
    assert infer_system("lap chole", "lap chole") == "icd10pcs"


def test_dx_before_a_procedure_names_no_diagnosis_code_set():
    from casepilot.router import named_system

    assert named_system("dx LP") is None and named_system("dx lap for pelvic pain") is None
    assert named_system("dx code for htn") == "icd10cm"
