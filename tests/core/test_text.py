import pytest

from casepilot.text import expand_query, negated_terms, tokens


def test_abbreviations_are_expanded():
    q = expand_query("T2DM with CKD")
    assert "type 2 diabetes mellitus" in q and "chronic kidney disease" in q
    assert "chronic obstructive pulmonary disease" in expand_query("COPD exacerbation")
    assert "non-ST elevation myocardial infarction" in expand_query("NSTEMI")


def test_lowercase_short_words_are_not_abbreviations():
    assert expand_query("pe teacher") == "pe teacher"


def test_procedure_vocabulary():
    assert "percutaneous endoscopic" in expand_query("laparoscopic appendectomy")


def test_tokens_split_hyphens_and_drop_stopwords():
    assert tokens("Gastro-esophageal reflux of the ICD code") == ["gastro", "esophageal", "reflux"]
    assert tokens("w/o complications") == ["without", "complications"]


def test_negations():
    assert negated_terms("diabetes without complications, no fever") == {"complications", "fever"}


@pytest.mark.parametrize("text, absent", [
    # an "or" list continues the negated phrase; a comma without one ends it
    ("Diverticulitis of large intestine without perforation or abscess without bleeding",
     {"perforation", "abscess", "bleeding"}),
    ("no perforation, abscess or bleeding", {"perforation", "abscess", "bleeding"}),
    # a serial comma before the "or" continues the list; a long clause does not
    ("no perforation, abscess, or bleeding", {"perforation", "abscess", "bleeding"}),
    ("no fever, chills, aches, or cough", {"fever", "chills", "aches", "cough"}),
    ("no fever, pt has a cough today and more, or not", {"fever"}),
    # the CMS short descriptions' "w" (with) ends a denial as "with" does
    ("Dvrtclos of lg int w/o perforation or abscess w bleeding", {"perforation", "abscess"}),
    # "nothing about", "deny": what the record leaves out
    ("first episode, nothing about recurrence", {"recurrence"}),
    ("pt and wife deny any wearing-off", {"wearing", "off"}),
    ("retinopathy, no macular edema, right eye", {"macular", "edema"}),
    # how the absence was recorded is not what is absent
    ("peripheral angiopathy, no gangrene mentioned", {"gangrene"}),
    ("Parkinson's disease without dyskinesia, without mention of fluctuations", {"dyskinesia", "fluctuations"}),
    # a clause word ends the phrase: the heart failure is present
    ("no chest pain but with heart failure", {"chest", "pain"}),
    ("type 2 diabetes with heart failure", set()),
])
def test_negated_phrase_scope(text, absent):
    assert negated_terms(text) == absent


def test_a_synonym_marked_pcs_false_is_not_applied_to_a_pcs_search():
    from casepilot.text import NOT_FOR_PCS, expand_query

    assert "colon" in NOT_FOR_PCS
    # ICD-10-CM says "large intestine" where coders say "colon"; ICD-10-PCS names "Sigmoid Colon" itself
    assert "large intestine" in expand_query("diverticulitis of the sigmoid colon")
    assert "large intestine" not in expand_query("biopsy of sigmoid colon", pcs=True)
    assert "patella" in expand_query("kneecap fracture repair", pcs=True)  # other synonyms still apply


def test_punctuation_inside_a_phrase_does_not_hide_it_from_the_vocabulary():
    from casepilot.text import expand_query

    assert "clostridium difficile" in expand_query("Recurrent C. diff colitis")
    assert "clostridium difficile" in expand_query("recurrent c diff colitis")
    assert "clostridium" not in expand_query("vitamin C, diffuse rash")  # word boundaries still hold


def test_negation_stops_where_the_appended_vocabulary_starts():
    from casepilot.text import question_negations

    # "colon" appends "large intestine" after "... without bleeding": the intestine is not denied
    # (the bleeding is denied in the titles' word too: "hemorrhage")
    assert question_negations("Diverticulitis of the colon without perforation, abscess or bleeding") == {
        "perforation", "abscess", "bleeding", "hemorrhage"}
    # a value that itself negates still counts: "uncomplicated" is "without complications"
    assert "complications" in question_negations("DM2 uncomplicated")


@pytest.mark.parametrize("text,expected", [
    ("prenatal visit at 10 weeks", ["first trimester"]),
    ("pregnant, 14 wks, nausea", ["second trimester"]),  # 14 weeks 0 days begins the second (chapter 15)
    ("G2P1 at 28 weeks", ["third trimester"]),
    ("pregnant, 20 weeks, second trimester", []),  # stated: nothing to add
    ("pregnant with cough for 3 weeks", []),  # a duration, not the gestation
    ("knee pain for 10 weeks", []),  # no pregnancy
])
def test_gestational_weeks_name_the_trimester(text, expected):
    from casepilot.text import trimester_of

    assert trimester_of(text) == expected


def test_contractions_negate_and_the_encounter_ends_a_denial():
    from casepilot.text import expand_query, negated_terms

    assert negated_terms("radiculopathy, provider doesn't mention any disc herniation") == {"disc", "herniation"}
    assert negated_terms("scalp lac w/o FB init") == {"fb"}  # the initial encounter is not denied
    # a lone capital after a number is a unit, elsewhere the side
    assert "left" not in expand_query("thoracentesis, 1.2 L out") and "right" in expand_query("R hemiparesis")


def test_a_condition_caused_by_a_procedure_reads_postprocedural():
    from casepilot.text import expand_query

    assert expand_query("hypothyroidism as a result of a total thyroidectomy").endswith("postprocedural")
    assert expand_query("bleeding after tonsillectomy").endswith("postprocedural")
    assert expand_query("hypothyroid ever since her thyroidectomy").endswith("postprocedural")
    # a status or a finding is not a complication
    for q in ("s/p appendectomy", "status post appendectomy", "GERD seen on EGD"):
        assert "postprocedural" not in expand_query(q)


def test_ordinals_are_spelled_out_and_a_past_transplant_is_a_status():
    from casepilot.text import expand_query

    assert expand_query("2nd degree burn R forearm").startswith("second degree burn right forearm")
    assert expand_query("history of kidney transplant, stable").endswith("status")
    assert "status" not in expand_query("kidney transplant rejection")


def test_status_post_names_what_the_procedure_left():
    from casepilot.text import expand_query

    knee = expand_query("s/p R TKA (status)")
    assert "presence" in knee and "acquired absence" not in knee.split("knee")[0]
    assert expand_query("s/p appendectomy").startswith("status post acquired absence appendectomy")
    # nothing said of what was done: both wordings stay
    assert expand_query("s/p fall").startswith("status post presence acquired absence")


def test_lt_before_use_or_a_drug_is_long_term():
    from casepilot.text import expand_query

    assert expand_query("LT use of methotrexate").startswith("long term use of methotrexate")
    assert expand_query("lt knee pain").startswith("left knee pain")


def test_a_non_prefix_denies_its_own_word_only():
    from casepilot.text import negated_terms, question_negations
    assert question_negations("dressing change, non-surgical wound") == {"surgical"}
    assert negated_terms("Non-pressure chronic ulcer of left calf") == {"pressure"}


def test_status_post_in_an_aftercare_visit_is_the_aftercare_not_a_status():
    # "s/p lap chole" alone is an acquired absence; at a post-op visit it is what the aftercare follows (Z48.8-)
    assert "absence" in expand_query("s/p lap chole")
    for q in ("post-op visit s/p lap chole", "suture removal, s/p excision of a lesion of the back"):
        out = expand_query(q)
        assert "surgical aftercare" in out and "absence" not in out and "presence" not in out


def test_a_cm_only_synonym_is_left_out_of_searches_without_the_icd10_code_sets():
    from casepilot.text import expand_query

    # "visit" is the Z codes' "encounter" (Z23 "Encounter for immunization") ...
    assert "encounter" in expand_query("flu vax only visit").split()
    # ... but not a word to add to a CPT or guidance search ("established patient office visit")
    assert "encounter" not in expand_query("established patient office visit, moderate MDM", cpt=True).split()


def test_an_abbreviation_with_its_stage_typed_onto_it_is_spelled_out():
    from casepilot.text import expand_query, spell_out

    assert spell_out("CKD3b") == "chronic kidney disease 3b"
    assert spell_out("CKD5 on dialysis").startswith("chronic kidney disease 5 ")
    # not an abbreviation the vocabulary knows, or a one-letter one ("L5" is a vertebra, not the left side)
    assert spell_out("L5 radiculopathy") == "L5 radiculopathy" and spell_out("G3P2") == "G3P2"
    assert "left" not in expand_query("L4-L5 disc")


def test_an_ambiguous_abbreviation_may_be_settled_by_another_ones_reading():
    from casepilot.text import expand_query

    assert "left eye" in expand_query("POAG OS, mod stage")  # POAG reads "glaucoma": the eye context of OS
    assert "left eye" not in expand_query("pt OS tired")


def test_a_vertebral_level_names_its_region():
    from casepilot.text import expand_query

    assert expand_query("herniated disc at L4-L5 with radiculopathy").endswith(" lumbar")
    assert expand_query("L5-S1 disc herniation").endswith(" lumbosacral")
    assert expand_query("C7-T1 stenosis").endswith(" cervicothoracic")
    # a region already said is not said twice; a lone level needs a spine word ("T4" is also a thyroid test)
    assert expand_query("lumbar fusion L4-L5").count("lumbar") == 1
    assert "thoracic" not in expand_query("low T4 and fatigue") and "thoracic" in expand_query("T12 compression fx")
    assert "sacral" not in expand_query("S1 S2 heart sounds normal")


def test_a_pregnant_patients_age_is_named_as_the_tabular_names_it():
    from casepilot.text import expand_query

    # O09.5 "Pregnancy for a female 35 years and older at expected date of delivery"; O09.6 "less than 16 years old"
    assert expand_query("prenatal visit, 37 y/o first pregnancy").endswith("elderly primigravida")
    assert expand_query("prenatal visit for a 15 year old, G2").endswith("young multigravida")
    assert "elderly" not in expand_query("38 year old with chest pain")  # no pregnancy, no maternal age


def test_both_of_a_paired_part_is_bilateral():
    from casepilot.text import expand_query

    assert "bilateral" in expand_query("both ear canals impacted with wax").split()
    assert "bilateral" in expand_query("OA of both knees").split()
    assert "bilateral" not in expand_query("can I bill both codes").split()


def test_a_small_object_in_a_body_part_is_a_foreign_body():
    from casepilot.text import expand_query

    assert "foreign body" in expand_query("4yo w/ bead in L ear canal")
    assert "foreign body" in expand_query("swallowed coin lodged in esophagus")
    assert "foreign body" not in expand_query("coin lesion in the right upper lobe on CT")


def test_a_spinal_level_fracture_names_a_vertebra_and_a_limb_part_s_cellulitis_the_limb():
    from casepilot.text import expand_query

    assert "vertebra" in expand_query("new T12 compression fracture, osteoporosis")
    assert "vertebra" not in expand_query("C5 radiculopathy")
    assert "upper limb" in expand_query("cellulitis R hand dorsum")
    assert "lower limb" in expand_query("cellulitis right foot")
    assert "limb" not in expand_query("abscess of right hand")  # L02.51- names the hand itself


def test_amp_is_an_amputation_only_beside_a_limb():
    assert "below knee amputation" in expand_query("L below knee amp for wet gangrene")
    assert "amputation" not in expand_query("pushed an amp of D50")


@pytest.mark.parametrize("text, expected", [
    ("EOB says CO-97 on our 20610", ["CARC 97"]),
    ("CO 50 denial on the echo", ["CARC 50"]),
    ("pr-1, PR 2 and OA-23 on the remit", ["CARC 1", "CARC 2", "CARC 23"]),
    ("CARC #16 with N290", ["CARC 16"]),
    # carbon dioxide, osteoarthritis, a PR interval: no denial
    ("co 45 on the remit", ["CARC 45"]),
    ("CO2 retention", []), ("CO 2 narcosis", []), ("co 2 monitoring", []), ("OA 2 knees", []), ("PR 0.2 s", []),
])
def test_a_denial_quoted_from_a_remittance_names_its_reason_code(text, expected):
    from casepilot.text import remittance_codes_of
    assert remittance_codes_of(text) == expected
    assert all(e.lower().split()[1] in expand_query(text).lower().split() for e in expected)


def test_a_synonym_value_inside_a_longer_word_is_still_appended():
    """"presyncope" holds "syncope" as letters, not as a word: the Index's R55 term must still be added."""
    from casepilot.text import expand_query

    assert "syncope" in expand_query("final impression presyncope").split()
    assert expand_query("syncope and collapse").split().count("syncope") == 1


@pytest.mark.parametrize("question,denied,kept", [
    # the patient's own history denied: the condition is denied (I35.-, not the rheumatic I06.-)
    ("severe calcific aortic stenosis, moderate regurgitation. No hx rheumatic fever, degenerative", {"rheumatic"}, set()),
    ("CAD of native coronary arteries, no hx CABG, stable angina", {"cabg"}, set()),
    # a family's history says nothing of the patient's own colon (Z12.11 stays the screening code)
    ("50 yo, no personal or family hx of polyps or colon ca, routine screening colonoscopy", set(), {"colon"}),
    ("screening colonoscopy, no family hx of colon ca", set(), {"colon"}),
])
def test_no_history_of_a_condition_denies_it_unless_the_history_is_the_familys(question, denied, kept):
    from casepilot.text import question_negations
    out = question_negations(question)
    assert denied <= out and not kept & out, out
