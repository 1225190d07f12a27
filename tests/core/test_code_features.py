"""The ranker's features of a code passage for a question: pure functions of the two texts."""

import pytest

from casepilot.retrieval import code_features, named_letters, query_facts


def features(question: str, title: str, short: str = "") -> dict[str, float]:
    context = f"Short description: {short}" if short else ""
    return code_features(f"ICD-10-CM X00 {title}", context, query_facts(question))


def test_a_title_asserting_what_the_question_denies_is_the_wrong_branch():
    q = "type 2 diabetes with peripheral angiopathy, no gangrene mentioned"
    with_ = features(q, "Type 2 diabetes mellitus with diabetic peripheral angiopathy with gangrene")
    without = features(q, "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene")
    assert with_.get("negation_penalty") == 1.0 and "negation_agrees" not in with_
    assert without.get("negation_agrees") == 1.0 and "negation_penalty" not in without
    # the denied word counts towards coverage only where the title denies it too
    assert without["q_cover"] > with_["q_cover"]


def test_a_title_denying_what_the_question_states_is_flagged():
    f = features("hypertensive heart disease with heart failure", "Hypertensive heart disease without heart failure")
    assert f.get("title_negates") == 1.0


def test_dominance_clash_counts_as_another_side():
    q = "left hemiparesis after a stroke, patient is left-handed"
    assert features(q, "Hemiplegia following cerebral infarction affecting left non-dominant side").get("side_mismatch")
    assert not features(q, "Hemiplegia following cerebral infarction affecting left dominant side").get("side_mismatch")


def test_with_two_sides_each_belongs_to_what_it_is_said_of():
    q = "Acute embolic stroke L MCA territory. Resid right hemiparesis at discharge"
    assert features(q, "Cerebral infarction due to embolism of right middle cerebral artery").get("side_mismatch")
    assert not features(q, "Cerebral infarction due to embolism of left middle cerebral artery").get("side_mismatch")
    # a title naming neither side's site is no clash; nor is either side where the question says one only
    assert not features(q, "Hemiplegia, unspecified affecting right dominant side").get("side_mismatch")
    assert not features("R knee pain and L hip pain", "Pain in right knee").get("side_mismatch")
    assert features("R knee pain and L hip pain", "Pain in left knee").get("side_mismatch")
    # a side is said within its clause, and the vocabulary an expansion appends says none
    q = "diabetic macular edema of the right eye only, left eye normal"
    assert not features(q, "Type 1 diabetes mellitus with diabetic macular edema, right eye").get("side_mismatch")
    # what follows a denial is what the side lacks
    q = "mild NPDR in the right eye, no macular edema; left eye no retinopathy. code for the right eye finding"
    title = "Type 2 diabetes mellitus with mild nonproliferative diabetic retinopathy without macular edema, right eye"
    assert not features(q, title).get("side_mismatch")


@pytest.mark.parametrize("question, expected", [
    ("patient came in just for a flu shot", 1.0),
    ("here to start birth control pills", 1.0),
    ("fell out of bed, first visit for the injury", None),  # an injury's encounter, not a visit's reason
    ("influenza with pneumonia", None),
])
def test_visit_reason_meets_encounter_titles(question, expected):
    assert features(question, "Encounter for immunization").get("visit_reason") == expected
    assert features(question, "Influenza due to unidentified influenza virus with pneumonia").get("visit_reason") is None


def test_a_hand_keeps_its_side():
    assert query_facts("cellulitis of left hand").side == {"left"}
    assert features("cellulitis of left hand", "Cellulitis of right hand").get("side_mismatch") == 1.0


def test_a_code_stating_another_stage_side_or_encounter_ranks_below_every_code_that_agrees():
    ranked = order([hit("I120", 1.9, number_mismatch=1.0), hit("I12", 1.8), hit("I129", 1.6),
                    hit("S52532D", 2.5, encounter_mismatch=1.0), hit("M1712", 2.4, side_mismatch=1.0)])
    assert ranked[:2] == ["I12", "I129"]  # the learned order among the codes that agree
    assert set(ranked[2:]) == {"I120", "S52532D", "M1712"}
    assert ranked[2:] == ["S52532D", "M1712", "I120"]  # and among those that clash once


def test_numbers_the_expansion_states_count_as_stated():
    # "DM2" is "type 2 diabetes mellitus": E11.22's "Type 2" is no stage clash with "CKD 3a"
    q = query_facts("DM2 with CKD 3a")
    assert q.numbers == {2, 3}
    assert "number_mismatch" not in code_features(
        "ICD-10-CM E11.22 Type 2 diabetes mellitus with diabetic chronic kidney disease", "", q)


def test_an_inclusion_term_covers_the_question_as_the_title_would():
    # M72.2 "Plantar fascial fibromatosis" lists "Plantar fasciitis": the coder's word is the tabular's alias
    q = query_facts("plantar fasciitis lt foot")
    bare = code_features("ICD-10-CM M72.2 Plantar fascial fibromatosis", "", q)
    aliased = code_features("ICD-10-CM M72.2 Plantar fascial fibromatosis", "", q, ["Plantar fasciitis"])
    assert aliased["q_cover"] > bare["q_cover"] and aliased["t_cover"] > bare["t_cover"]


def test_words_meet_their_title_by_stem():
    # "homeless ... at a shelter" is Z59.01 "Sheltered homelessness"; "unsheltered" is another word
    q = "patient is homeless and staying at a shelter"
    sheltered, unsheltered = features(q, "Sheltered homelessness"), features(q, "Unsheltered homelessness")
    assert sheltered["t_cover"] == 1.0 and sheltered["q_cover"] > unsheltered["q_cover"]


def test_an_inclusion_term_covers_together_with_the_title():
    # D51.0: the title says "B12", its inclusion term "pernicious"; the question says both
    q = query_facts("pernicious anemia on B12")
    title = "ICD-10-CM D51.0 Vitamin B12 deficiency anemia due to intrinsic factor deficiency"
    assert code_features(title, "", q, ["Pernicious anemia"])["q_cover"] == 1.0
    assert code_features(title, "", q)["q_cover"] < 1.0


def test_a_nos_inclusion_term_names_the_code_only_for_a_question_that_says_no_more():
    # C79.9 "Secondary malignant neoplasm of unspecified site" lists "Metastatic disease NOS": "metastatic disease"
    # is C79.9, "metastatic disease to the liver" says a site, so the NOS term is not the question's name
    title = "ICD-10-CM C79.9 Secondary malignant neoplasm of unspecified site"
    alias = ["Metastatic disease NOS"]
    bare = query_facts("metastatic disease")
    assert code_features(title, "", bare, alias)["q_cover"] > code_features(title, "", bare)["q_cover"]
    site = query_facts("metastatic disease to the liver")
    assert code_features(title, "", site, alias)["q_cover"] == code_features(title, "", site)["q_cover"]
    # the title together with the NOS term may say it all: "acute hep A w/o hepatic coma" is B15.9's
    hep = query_facts("acute hep A w/o hepatic coma")
    b159 = "ICD-10-CM B15.9 Hepatitis A without hepatic coma"
    assert code_features(b159, "", hep, ["Hepatitis A (acute)(viral) NOS"])["q_cover"] == 1.0


def test_an_inclusion_term_does_not_assert_what_the_title_denies():
    # I13.10 "... without heart failure" lists "Hypertensive heart disease ... NOS": its "heart" is no heart failure
    q = query_facts("hypertension, heart failure and CKD stage 4")
    title = ("ICD-10-CM I13.10 Hypertensive heart and chronic kidney disease without heart failure, with stage 1 "
             "through stage 4 chronic kidney disease, or unspecified chronic kidney disease")
    alias = "Hypertensive heart disease and hypertensive chronic kidney disease NOS"
    assert code_features(title, "", q, [alias])["q_cover"] == code_features(title, "", q)["q_cover"]


def test_inclusion_terms_are_read_from_the_passage():
    from casepilot.retrieval import inclusion_terms

    text = "M72.2 Plantar fascial fibromatosis\nInclusion terms: Plantar fasciitis\nExcludes1: x (Y00)"
    assert inclusion_terms(text) == ["Plantar fasciitis"]


@pytest.mark.parametrize("question, detail", [
    ("Colles fracture of the left wrist, follow up visit, healing normally", "open"),
    ("fracture of shaft of right clavicle, initial", "nondisplaced"),
    # an open reduction (ORIF) says how the fracture was fixed, not that the fracture was open
    ("f/u visit after ORIF of right intertrochanteric femur fx, healing as expected", "open"),
])
def test_a_fracture_title_asserting_what_the_default_leaves_out_ranks_lower(question, detail):
    # I.C.19.c.1: not stated open or closed is closed; not stated displaced or not is displaced
    f = features(question, f"Fracture of X, {detail} fracture" if detail == "open" else f"{detail.capitalize()} fracture of X")
    assert f.get("unstated_detail") == 1.0
    stated = features(f"{detail} {question}", f"Fracture of X, {detail} fracture" if detail == "open"
                      else f"{detail.capitalize()} fracture of X")
    assert not stated.get("unstated_detail")
    # "open bite" is an injury, not a fracture's open/closed axis
    assert not features("dog bite of right forearm", "Open bite of right forearm").get("unstated_detail")


def test_an_external_cause_code_follows_the_injury_the_question_names():
    # I.C.20: V00-Y99 are never first-listed; asked for, they are what the question wants
    q = query_facts("dog bite to the left hand, initial encounter - injury code")
    assert code_features("ICD-10-CM W54.0XXA Bitten by dog, initial encounter", "", q).get("external_cause") == 1.0
    assert not code_features("ICD-10-CM S61.452A Open bite of left hand, initial encounter", "", q).get("external_cause")
    asked = query_facts("external cause code for a fall from a ladder, initial encounter")
    assert not code_features("ICD-10-CM W11.XXXA Fall on and from ladder, initial encounter", "", asked).get("external_cause")


def test_place_activity_and_status_follow_the_cause_of_the_injury():
    # I.C.20: Y92/Y93/Y99 accompany the code that says how it happened; asked for, they are the answer
    q = query_facts("fell out of bed at home - external cause code for the fall")
    place = "ICD-10-CM Y92.012 Bathroom of single-family (private) house as the place of occurrence of the external cause"
    assert code_features(place, "", q).get("supplementary_cause") == 1.0
    assert not code_features("ICD-10-CM W06.XXXA Fall from bed, initial encounter", "", q).get("supplementary_cause")
    asked = query_facts("place of occurrence code for a fall in the bathroom at home")
    assert not code_features(place, "", asked).get("supplementary_cause")


def test_remission_is_detail_the_question_must_state():
    q = query_facts("tobacco dependence, cigs")
    assert code_features("ICD-10-CM F17.211 Nicotine dependence, cigarettes, in remission", "", q).get("unstated_detail")
    assert not code_features("ICD-10-CM F17.210 Nicotine dependence, cigarettes, uncomplicated", "", q).get("unstated_detail")
    # "not having achieved remission" denies it: no extra detail
    mm = query_facts("MM, not in remission")
    assert not code_features("ICD-10-CM C90.00 Multiple myeloma not having achieved remission", "", mm).get("unstated_detail")
    stated = query_facts("CLL in remission")
    assert not code_features("ICD-10-CM C91.11 Chronic lymphocytic leukemia of B-cell type in remission", "", stated).get(
        "unstated_detail")


@pytest.mark.parametrize("question, title, state_said", [
    # "not intractable" is the default an epilepsy or a migraine is coded to unless the record says otherwise
    ("sz d/o", "ICD-10-CM G40.919 Epilepsy, unspecified, intractable, without status epilepticus", False),
    ("epilepsy, refractory to 3 drugs", "ICD-10-CM G40.919 Epilepsy, unspecified, intractable, without status epilepticus",
     True),
    ("c diff colitis, 1st episode", "ICD-10-CM A04.71 Enterocolitis due to Clostridium difficile, recurrent", False),
    ("c diff colitis again, 2nd episode", "ICD-10-CM A04.71 Enterocolitis due to Clostridium difficile, recurrent", True),
    # a truncation the search completes says the state too
    ("MDD rec mod", "ICD-10-CM F33.1 Major depressive disorder, recurrent, moderate", True),
])
def test_intractable_and_recurrent_are_states_the_question_must_say(question, title, state_said):
    assert bool(code_features(title, "", query_facts(question)).get("unstated_detail")) is not state_said


def test_a_title_denying_a_state_the_question_says_is_the_other_branch():
    q = query_facts("migraine w/o aura, neurologist documents intractable, with status migrainosus")
    assert code_features("ICD-10-CM G43.001 Migraine without aura, not intractable, with status migrainosus", "", q).get(
        "contrast") == 1.0
    assert not code_features("ICD-10-CM G43.011 Migraine without aura, intractable, with status migrainosus", "", q).get(
        "contrast")
    # a question denying the state itself is no clash with the title that denies it too
    nq = query_facts("migraine w/o aura, not intractable")
    assert not code_features("ICD-10-CM G43.009 Migraine without aura, not intractable, without status migrainosus",
                             "", nq).get("contrast")


def test_an_unstated_encounter_is_the_initial_one():
    q = query_facts("partial thickness burn of right palm, treated in ED")
    assert code_features("ICD-10-CM T23.251D Burn of second degree of right palm, subsequent encounter", "", q).get(
        "unstated_detail")
    assert not code_features("ICD-10-CM T23.251A Burn of second degree of right palm, initial encounter", "", q).get(
        "unstated_detail")


def test_no_history_of_a_site_denies_the_history_not_the_site():
    q = query_facts("screening colonoscopy, no personal or family hx of colon ca")
    assert {"history", "family"} <= q.negated and "colon" not in q.negated


def test_not_the_external_cause_asks_for_the_injury():
    assert query_facts("dog bite R calf, what's the injury code (not the external cause code)").injury_first


def test_an_unspecified_title_leaves_open_the_acuity_the_question_states():
    q = query_facts("chronic hepatitis C, no coma")
    assert code_features("ICD-10-CM B19.20 Unspecified viral hepatitis C without hepatic coma", "", q).get(
        "stated_unspecified") == 1.0
    assert not code_features("ICD-10-CM B18.2 Chronic viral hepatitis C", "", q).get("stated_unspecified")
    # and the acute code is the other branch
    assert code_features("ICD-10-CM B17.10 Acute hepatitis C without hepatic coma", "", q).get("contrast") == 1.0


def test_an_acuity_the_question_denies_is_no_detail_an_unspecified_title_leaves_open():
    # "doesn't say acute or serous": the record leaves the kind open, as H66.91 "Otitis media, unspecified" does
    q = query_facts("otitis media of the right ear, doesn't say acute or serous")
    assert not code_features("ICD-10-CM H66.91 Otitis media, unspecified, right ear", "", q).get("stated_unspecified")
    assert code_features("ICD-10-CM H66.91 Otitis media, unspecified, right ear", "",
                         query_facts("acute otitis media of the right ear")).get("stated_unspecified") == 1.0


def test_a_number_an_inclusion_term_states_is_no_detail_an_unspecified_title_leaves_open():
    # Q90.9 includes "Trisomy 21 NOS": the 21 of "trisomy 21" is the syndrome's name, not a stage left open
    q = query_facts("Down syndrome (trisomy 21), karyotype not documented")
    title = "ICD-10-CM Q90.9 Down syndrome, unspecified"
    assert not code_features(title, "", q, ["Trisomy 21 NOS"]).get("stated_unspecified")
    assert code_features(title, "", q).get("stated_unspecified") == 1.0


def test_a_secondary_neoplasm_code_names_the_site_the_cancer_spread_to():
    q = query_facts("colon cancer with metastatic disease to the liver")
    assert code_features("ICD-10-CM C78.5 Secondary malignant neoplasm of large intestine and rectum", "", q).get(
        "site_mismatch") == 1.0
    assert code_features("ICD-10-CM C79.9 Secondary malignant neoplasm of unspecified site", "", q).get("site_mismatch")
    liver = "ICD-10-CM C78.7 Secondary malignant neoplasm of liver and intrahepatic bile duct"
    assert not code_features(liver, "", q).get("site_mismatch")
    # the primary keeps its place unless the visit is for the spread
    colon = "ICD-10-CM C18.9 Malignant neoplasm of colon, unspecified"
    assert not code_features(colon, "", q).get("site_mismatch")
    assert code_features(colon, "", query_facts("colon ca, here for tx of the liver mets")).get("site_mismatch") == 1.0
    # ... whatever else shares the words ("Crohn's disease of large intestine" for "sigmoid colon ca, visit for the
    # liver mets"), and "which code for the liver lesion" asks for the spread when the liver is where it went
    crohn = "ICD-10-CM K50.112 Crohn's disease of large intestine with intestinal obstruction"
    assert code_features(crohn, "", query_facts("sigmoid colon ca, this visit is for the liver mets")).get("site_mismatch")
    lesion = query_facts("biopsy confirms metastatic adenocarcinoma to the liver from the colon. code for the liver lesion?")
    assert code_features(colon, "", lesion).get("site_mismatch") == 1.0
    assert not code_features(liver, "", lesion).get("site_mismatch")
    assert not query_facts("liver lesion, code for the liver lesion").asks_secondary  # no spread stated


def test_a_screening_encounter_needs_a_screening_spoken_of():
    z125 = "ICD-10-CM Z12.5 Encounter for screening for malignant neoplasm of prostate"
    assert code_features(z125, "", query_facts("encounter for prostate adenocarcinoma, mets to spine")).get(
        "record_mismatch") == 1.0
    for q in ("pt wants his PSA checked - screening", "scrrening psa, no sx", "scrn psa"):
        assert not code_features(z125, "", query_facts(q)).get("record_mismatch"), q


def test_a_liveborn_infant_code_is_the_babys_record_not_the_mothers_delivery():
    z38 = "ICD-10-CM Z38.00 Single liveborn infant, delivered vaginally"
    assert code_features(z38, "", query_facts("SVD at 39 wks single liveborn no compl")).get("record_mismatch") == 1.0
    assert not code_features(z38, "", query_facts("newborn, single liveborn, born here vaginally")).get("record_mismatch")
    assert not code_features(z38, "", query_facts("single liveborn, vaginal del in hosp")).get("record_mismatch")


def test_a_caregivers_underdosing_needs_a_caregiver():
    caregiver = "ICD-10-CM Z91.A20 Caregiver's intentional underdosing of patient's medication regimen due to financial hardship"
    patient = "ICD-10-CM Z91.120 Patient's intentional underdosing of medication regimen due to financial hardship"
    own = query_facts("skipping doses of his meds because he can't afford them")
    assert code_features(caregiver, "", own).get("record_mismatch") == 1.0
    assert not code_features(patient, "", own).get("record_mismatch")
    assert not code_features(caregiver, "", query_facts("mom can't afford the kid's seizure meds, skipping doses")).get(
        "record_mismatch")


def test_a_pair_abbreviation_spelling_its_letters_out_needs_each_word():
    # "N/V": n is nausea, v vomiting; R11.0 "Nausea" covers half of it, R11.2 "Nausea with vomiting" all
    q = query_facts("N/V x2 days")
    assert code_features("ICD-10-CM R11.2 Nausea with vomiting, unspecified", "", q)["q_cover"] > \
        code_features("ICD-10-CM R11.0 Nausea", "", q)["q_cover"]


def test_how_a_description_is_told_is_no_word_to_cover():
    # "came in just for" tells the visit; the flu shot is the immunization encounter
    assert features("Patient came in just for a flu shot", "Encounter for immunization")["q_cover"] == 1.0


def test_a_detail_said_to_be_undocumented_is_covered_by_the_title_that_leaves_it_open():
    # "type not documented" denies a type: I48.91 "Unspecified atrial fibrillation" covers it, as it covers
    # "no complications"; read as a stated word, "type" was covered only by I48.3's "Type I atrial flutter"
    q = query_facts("afib, type not documented")
    assert "type" in q.negated
    # "not" only gives "type" its polarity: no word of its own for a title to cover
    assert code_features("ICD-10-CM I48.91 Unspecified atrial fibrillation", "", q)["q_cover"] == 1.0
    assert code_features("ICD-10-CM I48.3 Type I atrial flutter", "", q)["q_cover"] == pytest.approx(1 / 2)


def test_a_denial_word_needs_no_cover_of_its_own():
    # "no": what it denies is covered by a title that lacks it; the word itself is in no title
    q = query_facts("migraine without aura, no status migrainosus")
    assert q.negated >= {"aura", "status", "migrainosus"}
    title = "ICD-10-CM G43.009 Migraine without aura, not intractable, without status migrainosus"
    assert code_features(title, "", q)["q_cover"] == 1.0
    assert code_features("ICD-10-CM G43.001 Migraine without aura, not intractable, with status migrainosus", "", q)[
        "q_cover"] < 1.0


def test_a_letter_pair_abbreviation_is_covered_by_what_it_stands_for():
    # "s/p" is one abbreviation: its letters are covered by the status titles' words, "L" (capital) by "left"
    q = query_facts("s/p AKA L")
    assert code_features("ICD-10-CM Z89.612 Acquired absence of left leg above knee", "", q)["q_cover"] == 1.0
    assert code_features("ICD-10-CM Z89.611 Acquired absence of right leg above knee", "", q)["q_cover"] < 1.0


def test_an_infectious_agent_follows_the_disease_it_caused():
    # B95-B97 are supplementary codes (the block's note): after the UTI, unless the organism's code is asked for
    q = query_facts("UTI, urine cx E coli")
    agent = "ICD-10-CM B96.20 Unspecified Escherichia coli [E. coli] as the cause of diseases classified elsewhere"
    assert code_features(agent, "", q).get("supplementary_cause") == 1.0
    assert not code_features("ICD-10-CM N39.0 Urinary tract infection, site not specified", "", q).get("supplementary_cause")
    assert not code_features(agent, "", query_facts("organism code for E coli in a UTI")).get("supplementary_cause")


def test_pregnancy_and_newborn_codes_need_a_pregnancy_or_a_newborn():
    # I.C.15.a, I.C.16.a: chapter 15 is the mother's record, chapter 16 the newborn's
    plain, pregnant, newborn = (query_facts(q) for q in ("UTI, E coli", "UTI at 20 wks pregnant", "UTI in a 3 day old"))
    o, p = ("ICD-10-CM O86.20 Urinary tract infection following delivery, unspecified",
            "ICD-10-CM P39.3 Neonatal urinary tract infection")
    assert code_features(o, "", plain).get("record_mismatch") == code_features(p, "", plain).get("record_mismatch") == 1.0
    assert not code_features(o, "", pregnant).get("record_mismatch")
    assert not code_features(p, "", newborn).get("record_mismatch")
    assert not code_features("ICD-10-CM N39.0 Urinary tract infection, site not specified", "", plain).get("record_mismatch")


# titles of the code passages the ordering tests build (the "unspecified" yield reads the title's words)
_TITLES = {"B1920": "Unspecified viral hepatitis C without hepatic coma", "B182": "Chronic viral hepatitis C",
           "B1921": "Unspecified viral hepatitis C with hepatic coma", "J189": "Pneumonia, unspecified organism",
           "J851": "Abscess of lung with pneumonia", "Q331": "Accessory lobe of lung",
           "C3431": "Malignant neoplasm of lower lobe, right bronchus or lung"}


def hit(code, ranker, **sig):
    """A code passage hit with the ranker's score and the given signals."""
    from langchain_core.documents import Document

    from casepilot.retrieval import Hit

    doc = Document(page_content=f"{code} {_TITLES.get(code, '')}", id=code, metadata={"code": code})
    return Hit(code, 0.0, doc, {"ranker": ranker, **sig})


def order(hits):
    """The hits' codes in the order the search returns them after ``_order_codes_by_ranker``."""
    from casepilot.retrieval import _order_codes_by_ranker

    for i, h in enumerate(hits):  # fused scores in the order given
        h.score = 0.9 - 0.1 * i
    _order_codes_by_ranker(hits)
    return [h.id for h in sorted(hits, key=lambda h: -h.score)]


def test_a_near_sibling_that_keeps_the_denial_leads():
    # "Parkinson's, no dyskinesia": G20.B1 asserts it, G20.A1 (same category, close behind) does not
    assert order([hit("G20B1", 2.16, negation_penalty=1.0), hit("G20A1", 2.14), hit("I10", 2.0)])[0] == "G20A1"
    # far behind, or another category: the learned order stands
    assert order([hit("G20B1", 2.6, negation_penalty=1.0), hit("G20A1", 2.1), hit("I10", 2.0)])[0] == "G20B1"
    assert order([hit("G20B1", 2.16, negation_penalty=1.0), hit("I10", 2.14)])[0] == "G20B1"
    # another category that covers more of the question, close behind, leads ("severe preeclampsia, no pre-existing
    # HTN": O14.13 before O11.3 "Pre-existing hypertension with pre-eclampsia")
    assert order([hit("O113", 1.85, negation_penalty=1.0, q_cover=0.36), hit("O1413", 1.84, q_cover=0.55)])[0] == "O1413"


def test_a_title_denial_reads_the_denied_thing_not_where_it_is():
    # "Laceration without foreign body of left forearm" denies the foreign body, not the forearm the question states
    lac = features("lac L forearm, no FB, init", "Laceration without foreign body of left forearm, initial encounter")
    assert "title_negates" not in lac and lac.get("negation_agrees") == 1.0
    # "... without complications in remission" denies the complications, not the remission
    assert "title_negates" not in features("type 2 diabetes in remission", "Type 2 diabetes mellitus without complications in remission")
    # the ulcer's bleeding is what "without hemorrhage" denies
    assert features("acute duodenal ulcer w/ active bleeding, no perforation",
                    "Acute duodenal ulcer without hemorrhage or perforation").get("title_negates") == 1.0


def test_a_heading_denial_is_inherited():
    # I66.02's own title says no more than the artery; its heading says "not resulting in cerebral infarction"
    q = query_facts("acute ischemic stroke, embolic occlusion of the L MCA")
    context = "Under: Occlusion and stenosis of middle cerebral artery\n" \
              "Under: Occlusion and stenosis of cerebral arteries, not resulting in cerebral infarction"
    title = "ICD-10-CM I66.02 Occlusion and stenosis of left middle cerebral artery"
    assert code_features(title, context, q).get("title_negates") == 1.0
    assert "title_negates" not in code_features(title, "", q)
    # the residual "not elsewhere classified" of a heading denies nothing
    nec = "Under: Other disorders of the kidney and ureter, not elsewhere classified"
    assert "title_negates" not in code_features("ICD-10-CM N28.89 Other specified disorders of kidney and ureter", nec,
                                                query_facts("kidney disorder classified elsewhere"))


def test_a_first_code_denying_what_the_question_states_yields_to_a_near_one():
    # "ulcer w/ active bleeding": K26.3 "without hemorrhage" first, its sibling K26.0 close behind
    assert order([hit("K263", 2.06, title_negates=1.0), hit("K260", 1.96), hit("I10", 1.5)])[0] == "K260"
    # another category covering as much of the question (I66.02 under "not resulting in cerebral infarction")
    assert order([hit("I6602", 1.86, title_negates=1.0, q_cover=0.5), hit("I63412", 1.76, q_cover=0.5)])[0] == "I63412"
    # ... but not one that covers less, nor one far behind
    assert order([hit("I6602", 1.86, title_negates=1.0, q_cover=0.5), hit("I63412", 1.76, q_cover=0.4)])[0] == "I6602"
    assert order([hit("K263", 2.4, title_negates=1.0), hit("K260", 1.96)])[0] == "K263"
    # an "unspecified" title for a question that states what it leaves open ("chronic hepatitis C": B19.20 before B18.2)
    assert order([hit("B1920", 1.84, stated_unspecified=1.0, q_cover=0.43, t_cover=0.71, cosine=0.61),
                  hit("B182", 1.77, q_cover=0.43, t_cover=1.0, cosine=0.57)])[0] == "B182"
    # ... nor for another patient's record or a chapter the question does not speak of ("RLL PNA": C34.31)
    assert order([hit("J189", 1.63, stated_unspecified=1.0, q_cover=0.5, t_cover=0.67, cosine=0.68),
                  hit("C3431", 1.81, q_cover=0.5, t_cover=0.71, cosine=0.67, record_mismatch=1.0)])[0] == "J189"
    # ... nor for a code far from the question in meaning, or naming another condition ("RLL PNA": Q33.1 "Accessory
    # lobe of lung")
    assert order([hit("J189", 1.8, stated_unspecified=1.0, q_cover=0.75, t_cover=0.67, cosine=0.73),
                  hit("Q331", 1.56, q_cover=0.75, t_cover=0.67, cosine=0.46)])[0] == "J189"
    assert order([hit("J189", 1.63, stated_unspecified=1.0, q_cover=0.5, t_cover=0.67, cosine=0.68),
                  hit("Q331", 1.47, q_cover=0.5, t_cover=0.67, cosine=0.6)])[0] == "J189"
    # ... not for one whose title says more than the question ("CAP RLL": J85.1 "Abscess of lung with pneumonia")
    assert order([hit("J189", 1.8, stated_unspecified=1.0, q_cover=0.75, t_cover=0.67),
                  hit("J851", 1.64, q_cover=1.0, t_cover=0.5)])[0] == "J189"
    assert order([hit("B1920", 1.84, stated_unspecified=1.0, q_cover=0.43),
                  hit("B1921", 1.8, stated_unspecified=1.0, q_cover=0.43)])[0] == "B1920"


def test_a_denied_status_asks_for_no_status_code():
    assert named_letters("chronic migraine w/o aura, intractable, w/o status") == set()
    assert named_letters("seizure d/o, not intractable, no status") == set()
    assert named_letters("ESRD on HD - whats the dialysis status") == {"Z"}


def test_a_named_chapter_letter_is_a_stated_clash():
    q = query_facts("skipping doses of his meds because he can't afford them - Z code for the underdosing")
    assert code_features("ICD-10-CM T50.902S Underdosing of unspecified drugs, sequela", "", q).get("letter_mismatch") == 1.0
    z = "ICD-10-CM Z91.120 Patient's intentional underdosing of medication regimen due to financial hardship"
    assert not code_features(z, "", q).get("letter_mismatch")
    assert not code_features(z, "", query_facts("underdosing because of cost, what do i code")).get("letter_mismatch")


def test_a_measurement_falls_in_its_titles_range():
    q = query_facts("BMI 42.3 adult")
    assert not code_features("ICD-10-CM Z68.41 Body mass index [BMI] 40.0-44.9, adult", "", q).get("number_mismatch")
    assert code_features("ICD-10-CM Z68.45 Body mass index [BMI] 70 or greater, adult", "", q).get("number_mismatch") == 1.0
    assert code_features("ICD-10-CM Z68.1 Body mass index [BMI] 19.9 or less, adult", "", q).get("number_mismatch") == 1.0


@pytest.mark.parametrize("question,agrees,other", [
    ("traumatic SDH, LOC approx 2 hrs, init",
     "Traumatic subdural hemorrhage with loss of consciousness of 1 hour to 5 hours 59 minutes, initial encounter",
     "Traumatic subdural hemorrhage with loss of consciousness of 30 minutes or less, initial encounter"),
    ("burns 25% TBSA, 10% third degree", "Burns involving 20-29% of body surface with 10-19% third degree burns",
     "Burns involving 20-29% of body surface with 0% to 9% third degree burns"),
    ("peds BMI 70th percentile", "Body mass index [BMI] pediatric, 5th percentile to less than 85th percentile for age",
     "Body mass index [BMI] pediatric, 85th percentile to less than 95th percentile for age"),
])
def test_a_measurement_with_a_unit_falls_in_its_titles_range(question, agrees, other):
    # the digits are measurements, not stages: the title whose range holds them agrees, the other range clashes
    assert not features(question, agrees).get("number_mismatch")
    assert features(question, other).get("number_mismatch") == 1.0


def test_an_external_cause_needs_an_injury_or_an_event():
    cycle = "ICD-10-CM V12.3 Pedal cycle driver injured in collision with two- or three-wheeled motor vehicle in traffic accident"
    assert code_features(cycle, "", query_facts("here for cycle 3 of chemo infusion")).get("record_mismatch") == 1.0
    assert not code_features(cycle, "", query_facts("cyclist hit by a motorcycle")).get("record_mismatch")
    fall = "ICD-10-CM W06.XXXA Fall from bed, initial encounter"
    assert not code_features(fall, "", query_facts("fell out of bed at home, external cause")).get("record_mismatch")


def test_a_status_asked_for_is_a_z_code_unless_it_is_the_external_cause_status():
    from casepilot.retrieval import named_letters

    assert named_letters("ESRD on HD MWF - whats the dialysis status") == {"Z"}
    assert named_letters("s/p R TKA (status)") == {"Z"}
    assert named_letters("other external cause status") == set()


def test_an_ear_or_eye_side_abbreviation_is_read_beside_its_organ():
    # "AD" is the right ear beside an ear word; alone it is as often Alzheimer's disease
    q = query_facts("cerumen impaction AD")
    assert q.side == {"right"}
    right = code_features("ICD-10-CM H61.21 Impacted cerumen, right ear", "", q)
    assert right["q_cover"] == 1.0 and right["t_cover"] == 1.0 and not right.get("side_mismatch")
    assert code_features("ICD-10-CM H61.22 Impacted cerumen, left ear", "", q).get("side_mismatch") == 1.0
    assert not query_facts("dementia in AD, with agitation").side


def test_a_screening_visit_wants_the_encounter_code_not_the_disease():
    # I.C.21.c.5: the screening is first-listed, even when it finds something; an abnormal result is not one
    assert named_letters("pt wants his PSA checked, no urinary sx - screening") == {"Z"}
    assert named_letters("screening colonoscopy found a polyp") == {"Z"}
    assert named_letters("positive screening for hep C") == set()
    assert named_letters("abnormal screening mammogram") == set()
    q = query_facts("pt wants his PSA checked - screening")
    assert code_features("ICD-10-CM R97.20 Elevated prostate specific antigen [PSA]", "", q).get("letter_mismatch") == 1.0
    assert not code_features("ICD-10-CM Z12.5 Encounter for screening for malignant neoplasm of prostate", "", q).get(
        "letter_mismatch")


def test_an_abbreviation_read_in_its_context_is_covered_by_its_expansion():
    q = query_facts("lung ca screening")  # lower-case "ca" after a site is cancer
    assert {"malignant", "neoplasm"} <= q.own["ca"]
    assert "malignant" not in query_facts("low ca level").own["ca"]  # calcium


def test_a_relatives_condition_is_family_history_and_family_history_needs_a_relative():
    fam = query_facts("FHx breast ca, mother")
    assert code_features("ICD-10-CM C50.919 Malignant neoplasm of unspecified site of unspecified female breast", "",
                         fam).get("history_mismatch") == 1.0
    assert not code_features("ICD-10-CM Z80.3 Family history of malignant neoplasm of breast", "", fam).get(
        "history_mismatch")
    own = query_facts("hx of breast ca s/p mastectomy")  # no relative: the patient's own history
    assert code_features("ICD-10-CM Z80.3 Family history of malignant neoplasm of breast", "", own).get(
        "history_mismatch") == 1.0
    assert not code_features("ICD-10-CM Z85.3 Personal history of malignant neoplasm of breast", "", own).get(
        "history_mismatch")


def test_a_drug_the_patient_is_on_asks_for_no_poisoning_or_adverse_effect_code():
    on_drug = query_facts("hypothyroid unspec, on synthroid")
    t38 = "ICD-10-CM T38.1X6S Underdosing of thyroid hormones and substitutes, sequela"
    assert code_features(t38, "", on_drug).get("record_mismatch") == 1.0
    for q in ("accidental OD oxycodone, init", "chronic dry cough from lisinopril", "bee sting rt arm, accidental"):
        assert not code_features("ICD-10-CM T40.2X1A Poisoning by other opioids, accidental (unintentional), initial "
                                 "encounter", "", query_facts(q)).get("record_mismatch"), q


def test_a_sequela_is_detail_the_question_must_state():
    # "..., sequela" is shorter than "..., initial encounter" and covers as much: it still asserts a late effect
    assert features("rash from amoxicillin", "Adverse effect of penicillins, sequela").get("unstated_detail") == 1.0
    assert not features("rash from amoxicillin, initial", "Adverse effect of penicillins, initial encounter").get(
        "unstated_detail")
    assert not features("late effect of penicillin rash", "Adverse effect of penicillins, sequela").get("unstated_detail")


def test_a_title_on_the_opposite_branch_of_a_contrast_clashes():
    q = "cad native vessel w/ stable angina"
    assert features(q, "Atherosclerotic heart disease of native coronary artery with unstable angina pectoris")[
        "contrast"] == 1.0
    assert "contrast" not in features(q, "Atherosclerotic heart disease of native coronary artery with other forms of "
                                         "angina pectoris")


def test_a_screening_beside_a_family_history_is_no_history_clash():
    screening = "Encounter for screening for malignant neoplasm of colon"
    assert "history_mismatch" not in features("screening colonoscopy, fam hx colon ca (dad)", screening)
    # a family history asked alone still needs a family-history title
    assert features("fam hx colon ca", "Personal history of other malignant neoplasm of large intestine").get(
        "history_mismatch") == 1.0


def test_an_inclusion_term_the_question_states_explains_the_titles_other():
    q = query_facts("right ankle sprain of the anterior talofibular ligament, initial encounter")
    title = "ICD-10-CM S93.491A Sprain of other ligament of right ankle, initial encounter"
    assert code_features(title, "", q).get("unstated_detail") == 1.0
    aliased = code_features(title, "", q, ["Sprain of talofibular ligament"])
    assert "unstated_detail" not in aliased and aliased["t_cover"] == 1.0
    # an alias the question does not state leaves "other" unstated
    assert code_features(title, "", q, ["Sprain of internal collateral ligament"]).get("unstated_detail") == 1.0


def test_words_in_parentheses_need_not_be_stated():
    q = query_facts("hypertension")
    bare = code_features("ICD-10-CM I10 Essential (primary) hypertension", "", q)
    assert bare["t_cover"] == 0.5  # "essential" is the title's own word; "(primary)" is nonessential
    aliased = code_features("ICD-10-CM I10 Essential (primary) hypertension", "", q,
                            ["hypertension (arterial) (benign) (essential) (malignant) (primary) (systemic)"])
    assert aliased["t_cover"] == 1.0
    other = code_features("ICD-10-CM I67.4 Hypertensive encephalopathy", "", q)
    assert other["t_cover"] < aliased["t_cover"]


def test_never_had_negates_what_follows():
    q = query_facts("HIV+ asymptomatic, never had AIDS-defining illness")
    assert {"aids", "illness"} <= q.negated


def test_a_malignant_neoplasm_code_needs_a_question_that_names_a_malignancy():
    c34 = "ICD-10-CM C34.31 Malignant neoplasm of lower lobe, right bronchus or lung"
    # "RLL PNA": the right lower lobe, no cancer
    assert code_features(c34, "", query_facts("RLL PNA, organism unk")).get("record_mismatch") == 1.0
    for said in ("RLL lung ca", "mass in the right lower lobe", "adenocarcinoma RLL", "RLL mets"):
        assert not code_features(c34, "", query_facts(said)).get("record_mismatch"), said


def test_a_z_code_about_a_malignancy_is_another_record_for_a_question_naming_none():
    q = query_facts("f/u after completed treatment of pneumonia, resolved")
    z08 = "ICD-10-CM Z08 Encounter for follow-up examination after completed treatment for malignant neoplasm"
    z09 = ("ICD-10-CM Z09 Encounter for follow-up examination after completed treatment for conditions other than "
           "malignant neoplasm")
    assert code_features(z08, "", q).get("record_mismatch") == 1.0
    assert not code_features(z09, "", q).get("record_mismatch")
    assert not code_features(z08, "", query_facts("f/u after completed chemo for colon ca")).get("record_mismatch")


def test_a_screening_for_a_malignancy_needs_no_malignancy_named():
    q = query_facts("pt wants his PSA checked, no urinary sx - screening")
    z125 = "ICD-10-CM Z12.5 Encounter for screening for malignant neoplasm of prostate"
    assert not code_features(z125, "", q).get("record_mismatch")


def test_a_spinal_level_is_detail_an_unspecified_vertebra_leaves_open():
    q = query_facts("traumatic wedge compression fx L1, subsequent routine healing")
    title = "ICD-10-CM S32.000D Wedge compression fracture of unspecified lumbar vertebra, subsequent encounter"
    assert code_features(title, "", q).get("stated_unspecified") == 1.0
    assert not code_features(title, "", query_facts("lumbar wedge compression fx, subsequent")).get("stated_unspecified")


def test_a_z_code_about_a_pregnancy_needs_a_pregnancy_and_the_newborns_z38_stays():
    sprain = query_facts("f/u visit L ankle sprain, healing well")
    postpartum = "ICD-10-CM Z39.2 Encounter for routine postpartum follow-up"
    assert code_features(postpartum, "", sprain).get("record_mismatch") == 1.0
    assert code_features("ICD-10-CM Z03.71 Encounter for suspected problem with amniotic cavity and membrane ruled out",
                         "", query_facts("syncope, r/o arrhythmia")).get("record_mismatch") == 1.0
    assert not code_features(postpartum, "", query_facts("routine postpartum follow-up visit, 6 wks after delivery")).get(
        "record_mismatch")
    liveborn = "ICD-10-CM Z38.00 Single liveborn infant, delivered vaginally"
    assert not code_features(liveborn, "", query_facts("single liveborn, vaginal del in hosp")).get("record_mismatch")


def test_a_condition_to_rule_out_outside_a_stay_is_not_the_code():
    outpatient, stay = query_facts("syncope, r/o arrhythmia, office visit"), query_facts("admitted with syncope, r/o arrhythmia")
    arrhythmia = "ICD-10-CM I49.9 Cardiac arrhythmia, unspecified"
    syncope = "ICD-10-CM R55 Syncope and collapse"
    assert code_features(syncope, "", outpatient)["q_cover"] > code_features(arrhythmia, "", outpatient)["q_cover"]
    assert "arrhythmia" not in stay.negated and "arrhythmia" in outpatient.negated


def test_a_personal_history_title_needs_a_past_the_question_states():
    now = query_facts("liver mets from known colon ca - need the code for the mets")
    past = query_facts("hx of colon ca, resected 2019, no recurrence")
    title = "ICD-10-CM Z85.038 Personal history of other malignant neoplasm of large intestine"
    assert code_features(title, "", now).get("history_mismatch") == 1.0
    assert not code_features(title, "", past).get("history_mismatch")
    assert not code_features(title, "", query_facts("colon cancer in remission")).get("history_mismatch")


def test_a_malignancy_gone_is_its_history_not_the_cancer():
    """I.C.2.d: excised or eradicated, no treatment directed to it now, no evidence of it: Z85, not the C code."""
    cancer = "ICD-10-CM C61 Malignant neoplasm of prostate"
    secondary = "ICD-10-CM C79.51 Secondary malignant neoplasm of bone"
    gone = query_facts("prostatectomy for prostate ca in 2019, no current tx, no evidence of disease")
    assert code_features(cancer, "", gone).get("history_mismatch") == 1.0
    assert not code_features(secondary, "", gone).get("history_mismatch")  # a spread may still be there
    for still in ("prostate ca s/p prostatectomy, now on lupron, no evidence of disease",  # a treatment goes on
                  "prostate cancer, no evidence of mets"):  # the cancer itself is not said to be gone
        assert not code_features(cancer, "", query_facts(still)).get("history_mismatch")


def test_a_complication_of_care_needs_something_gone_wrong():
    """A T80-T88 code is a complication: "hx CABG x3, stable" is the graft's presence (Z95.1)."""
    title = "ICD-10-CM T82.212A Displacement of coronary artery bypass graft, initial encounter"
    assert code_features(title, "", query_facts("hx CABG x3, stable")).get("record_mismatch") == 1.0
    assert not code_features(title, "", query_facts("CABG graft displaced, initial")).get("record_mismatch")


def test_a_fracture_beside_osteoporosis_is_the_diseases():
    """I.C.13.c: known osteoporosis and a fracture, even after a minor fall, is M80, not a traumatic fracture code."""
    title = "ICD-10-CM S32.010A Wedge compression fracture of first lumbar vertebra, initial encounter for closed fracture"
    assert code_features(title, "", query_facts("bent over, L1 compression fx, osteoporotic")).get("record_mismatch")
    assert not code_features(title, "", query_facts("fell off a ladder, L1 compression fx")).get("record_mismatch")


def test_aftercare_codes_are_not_for_injuries():
    """I.C.21.c.7: an injury's aftercare is its code with 7th character D, not Z47.8-/Z48.8- (hardware or suture
    removal and joint replacement aftercare are other encounters)."""
    q = query_facts("post-op f/u s/p ORIF L femoral neck fx, healing as expected")
    assert code_features("ICD-10-CM Z47.89 Encounter for other orthopedic aftercare", "", q).get("record_mismatch")
    assert not code_features("ICD-10-CM Z47.2 Encounter for removal of internal fixation device", "", q).get(
        "record_mismatch")
    assert not code_features("ICD-10-CM Z47.89 Encounter for other orthopedic aftercare", "",
                             query_facts("aftercare after spinal fusion")).get("record_mismatch")


def test_an_acquired_absence_needs_a_part_said_to_be_gone():
    title = "ICD-10-CM Z89.512 Acquired absence of left leg below knee"
    assert code_features(title, "", query_facts("cellulitis L lower leg below knee, no abscess")).get("record_mismatch")
    assert not code_features(title, "", query_facts("s/p L below knee amp, status")).get("record_mismatch")


def test_a_contact_or_exposure_code_needs_a_contact_or_exposure():
    title = "ICD-10-CM Z20.01 Contact with and (suspected) exposure to intestinal infectious diseases due to Escherichia coli (E. coli)"
    assert code_features(title, "", query_facts("UTI d/t E coli")).get("record_mismatch") == 1.0
    assert not code_features(title, "", query_facts("exposed to E coli at daycare, no symptoms")).get("record_mismatch")


def test_a_hormone_receptor_status_needs_a_malignancy():
    title = "ICD-10-CM Z17.421 Hormone receptor negative with human epidermal growth factor receptor 2 positive status"
    assert code_features(title, "", query_facts("syncopal episode, w/u neg")).get("record_mismatch") == 1.0
    assert not code_features(title, "", query_facts("breast ca, triple neg workup, HER2+")).get("record_mismatch")


def test_left_over_names_no_side():
    q = query_facts("Right-sided hemiparesis left over from an ischemic stroke last year. Patient is right-handed.")
    assert q.side == {"right"}
    right = "ICD-10-CM I69.351 Hemiplegia and hemiparesis following cerebral infarction affecting right dominant side"
    left = "ICD-10-CM I69.354 Hemiplegia and hemiparesis following cerebral infarction affecting left non-dominant side"
    assert not code_features(right, "", q).get("side_mismatch") and code_features(left, "", q).get("side_mismatch")


def test_an_organism_is_the_additional_agent_codes_and_sepsis_must_be_stated():
    q = query_facts("UTI due to E. coli")
    uti = "ICD-10-CM N39.0 Urinary tract infection, site not specified"
    with_note = code_features(uti, "", q, agent_by_note=True)
    assert with_note["q_cover"] > code_features(uti, "", q)["q_cover"]  # E. coli is B96.20's to say
    sepsis = "ICD-10-CM A41.51 Sepsis due to Escherichia coli [E. coli]"
    assert code_features(sepsis, "", q).get("record_mismatch") == 1.0
    assert not code_features(sepsis, "", query_facts("sepsis due to e coli")).get("record_mismatch")


def test_gestational_diabetes_takes_no_long_term_drug_use_code():
    insulin = "ICD-10-CM Z79.4 Long term (current) use of insulin"
    assert code_features(insulin, "", query_facts("GDM A2 on insulin")).get("record_mismatch") == 1.0
    assert not code_features(insulin, "", query_facts("type 2 diabetes on insulin")).get("record_mismatch")
    # (a suspected maternal condition ruled out is the mother's record whatever its title names)
    z0375 = "ICD-10-CM Z03.75 Encounter for suspected cervical shortening ruled out"
    assert code_features(z0375, "", query_facts("syncope, r/o arrhythmia")).get("record_mismatch") == 1.0


def test_and_in_a_two_word_title_means_either():
    # I.A.14: "and" in a title means "and/or": "syncope" says all of R55 "Syncope and collapse", and only half of
    # R05.4 "Cough syncope", which adds what the question does not state
    q = query_facts("syncopal episode, w/u neg")
    assert code_features("ICD-10-CM R55 Syncope and collapse", "", q)["t_cover"] == 1.0
    assert code_features("ICD-10-CM R05.4 Cough syncope", "", q)["t_cover"] == 0.5
    # a longer title keeps every word: "and" may join what both sides qualify
    assert code_features("ICD-10-CM N70.03 Acute salpingitis and oophoritis", "",
                         query_facts("acute oophoritis"))["t_cover"] < 1.0


def test_a_manifestation_says_the_underlying_condition_its_code_first_note_lists():
    from casepilot.retrieval import stated_conditions
    note = ["the underlying physiological condition, such as: Alzheimer's (G30.-) cerebral lipidosis (E75.4) "
            "Parkinson's disease (G20.-)"]
    q = query_facts("late onset alzheimers w mild dementia")
    etiology = stated_conditions(note, q)
    assert etiology == {"alzheimer"}
    assert stated_conditions(note, query_facts("dementia, mild")) == set()
    f02 = "ICD-10-CM F02.A0 Dementia in other diseases classified elsewhere, mild"
    f03 = "ICD-10-CM F03.A0 Unspecified dementia, mild"
    with_note, without = code_features(f02, "", q, etiology=etiology), code_features(f02, "", q)
    # the pair of codes says the Alzheimer's, and "in other diseases classified elsewhere" stands for it
    assert with_note["q_cover"] > without["q_cover"]
    assert with_note["q_cover"] > code_features(f03, "", q)["q_cover"]
    assert not with_note.get("unstated_detail") and without.get("unstated_detail")


def test_a_complication_of_care_needs_a_procedure_spoken_of():
    post = "ICD-10-CM K91.31 Postprocedural partial intestinal obstruction"
    assert code_features(post, "", query_facts("partial SBO, cause not stated")).get("record_mismatch") == 1.0
    assert not code_features(post, "", query_facts("partial sbo after lap chole last month")).get("record_mismatch")
    assert not code_features(post, "", query_facts("postop partial small bowel obstruction")).get("record_mismatch")


def test_unspecified_as_to_a_detail_is_the_code_for_a_question_that_gives_none():
    # "cause not stated" and K56.600 "Partial intestinal obstruction, unspecified as to cause" agree
    sig = code_features("ICD-10-CM K56.600 Partial intestinal obstruction, unspecified as to cause", "",
                        query_facts("partial SBO, cause not stated"))
    assert sig.get("negation_agrees") == 1.0 and not sig.get("negation_penalty")


def test_a_screening_is_said_in_words_not_added_by_the_search():
    z1231 = "ICD-10-CM Z12.31 Encounter for screening mammogram for malignant neoplasm of breast"
    # "mammogram" alone is no screening: what a mammogram shows is coded by the finding (R92.0)
    assert code_features(z1231, "", query_facts("dx mammogram shows microcalcifications")).get("record_mismatch") == 1.0
    for q in ("routine mammo, no complaints", "annual mammogram", "screening mammo bilat"):
        assert not code_features(z1231, "", query_facts(q)).get("record_mismatch"), q


def test_the_side_said_to_be_unaffected_is_not_the_side_coded():
    assert query_facts("carpal tunnel syndrome in the right wrist only, left is normal").side == {"right"}
    assert query_facts("primary osteoarthritis of the left knee. right knee is fine.").side == {"left"}
    assert {"right", "left"} <= query_facts("osteoarthritis of both knees, right worse than left").side
    # the part named between the side and the finding: "left eye normal", "R knee unremarkable"
    assert query_facts("diabetic retinopathy right eye only, left eye normal").side == {"right"}
    assert query_facts("R knee unremarkable, L knee OA").side == {"left"}
    # a condition named "normal-tension" or "normal pressure" is no unaffected side
    assert query_facts("left eye normal-tension glaucoma").side == {"left"}
    assert query_facts("right eye normal tension glaucoma, mild stage").side == {"right"}


def test_a_title_that_asserts_part_of_what_it_denies_does_not_cover_that_denial():
    # "no heart failure": I13.10 says the heart disease and denies only its failure; I12.9 says no heart at all
    q = query_facts("HTN and CKD stage 3b, no heart failure")
    i1310 = code_features("ICD-10-CM I13.10 Hypertensive heart and chronic kidney disease without heart failure, with "
                          "stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease", "", q)
    i129 = code_features("ICD-10-CM I12.9 Hypertensive chronic kidney disease with stage 1 through stage 4 chronic "
                         "kidney disease, or unspecified chronic kidney disease", "", q)
    assert i1310.get("negation_penalty") == 1.0 and not i129.get("negation_penalty")
    assert i1310["q_cover"] < i129["q_cover"]
    # a question that states the heart failure is still denied by the "without" title, and covers its heart
    chf = code_features("ICD-10-CM I13.10 Hypertensive heart and chronic kidney disease without heart failure", "",
                        query_facts("htn, chf and ckd 3b"))
    assert chf.get("title_negates") == 1.0 and not chf.get("negation_penalty")


def test_nothing_else_denies_what_follows_but_nothing_alone_does_not():
    from casepilot.text import question_negations

    assert "complicating" in question_negations("shingles, no PHN, nothing else complicating it")
    # "nothing in the note says the HF is unrelated" denies no heart failure
    assert not question_negations("htn, chf, ckd 4. nothing in the note says the HF or CKD is unrelated") & {"hf", "ckd"}


def test_a_condition_to_rule_out_is_denied_in_the_tabulars_words_too():
    from casepilot.text import question_negations

    # outpatient "r/o MI": the myocardial infarction is not coded (IV.H), so I25.2 "Old myocardial infarction" clashes
    assert {"myocardial", "infarction"} <= question_negations("ED visit, chest pain, r/o MI, trops negative, sent home")
    assert not {"myocardial", "infarction"} & question_negations("admitted w chest pain, r/o MI")  # inpatient: II.H


def test_a_follow_up_after_completed_treatment_needs_the_treatment_over():
    z08 = "ICD-10-CM Z08 Encounter for follow-up examination after completed treatment for malignant neoplasm"
    r9721 = "ICD-10-CM R97.21 Rising PSA following treatment for malignant neoplasm of prostate"
    watching = query_facts("urology f/u: adenocarcinoma of the prostate, on active surveillance, PSA stable")
    assert code_features(z08, "", watching).get("history_mismatch") == 1.0
    assert code_features(r9721, "", watching).get("history_mismatch") == 1.0
    done = query_facts("f/u visit after completed chemo for breast ca, no evidence of disease")
    assert not code_features(z08, "", done).get("history_mismatch")
    assert not code_features(r9721, "", query_facts("rising PSA after prostatectomy for prostate ca")).get("history_mismatch")


def test_radioactive_iodine_ablation_is_a_procedure_a_postprocedural_title_may_follow():
    e890 = "ICD-10-CM E89.0 Postprocedural hypothyroidism"
    q = query_facts("hx Graves treated with radioactive iodine ablation, now hypothyroid")
    assert q.procedural and not code_features(e890, "", q).get("record_mismatch")
    assert code_features(e890, "", query_facts("hypothyroid, on levothyroxine")).get("record_mismatch") == 1.0


def test_a_biopsy_that_confirmed_a_finding_is_no_procedure_to_code():
    from casepilot.answer.grounded import infer_system

    assert infer_system("bx confirmed squamous cell ca on the left helix, pt scheduled for Mohs next wk. what code") == "icd10cm"
    assert infer_system("PICC placed R basilic vein, US guided, tip confirmed in SVC") == "icd10pcs"


def test_a_study_named_before_its_findings_asks_for_the_diagnosis():
    from casepilot.answer.grounded import infer_system

    assert infer_system("EGD: LA grade B reflux esophagitis, no bleeding seen") == "icd10cm"
    # what was done during the study makes it the procedure asked about
    assert infer_system("EGD: actively oozing duodenal ulcer, injected epinephrine and placed 2 hemoclips") == "icd10pcs"


def test_osteoporosis_with_a_vertebral_fracture_is_no_fatigue_fracture():
    q = query_facts("80yo F senile osteoporosis, L1 compression fx bending over, no trauma. first visit for the fx")
    m4846 = "ICD-10-CM M48.46XA Fatigue fracture of vertebra, lumbar region, initial encounter for fracture"
    assert code_features(m4846, "", q).get("record_mismatch") == 1.0
    assert not code_features(m4846, "", query_facts("stress fracture L4 vertebra in a runner")).get("record_mismatch")


@pytest.mark.parametrize("question, leads", [
    ("pt here for IV chemo for her lung ca, which dx goes first?", True),
    ("Admitted solely to receive cycle 3 of chemotherapy for DLBCL", True),
    ("seen for nausea after chemo yesterday", False),  # chemo is the cause here, not the visit's reason
    ("neutropenia due to chemo", False),
])
def test_an_encounter_solely_for_chemotherapy_lists_z51_11_first(question, leads):
    f = features(question, "Encounter for antineoplastic chemotherapy")
    assert bool(f.get("reason_first")) == leads
    hits = [hit("C3490", 1.47), hit("Z5111", 1.11, **({"reason_first": 1.0} if leads else {}))]
    assert order(hits)[0] == ("Z5111" if leads else "C3490")
    # a code that clashes with what the question states does not lead for it
    assert order([hit("C3490", 1.47), hit("Z5111", 1.11, reason_first=1.0, side_mismatch=1.0)])[0] == "C3490"


def test_each_first_listed_rule_names_a_code_title():
    import simple_icd_10_cm as cm

    from casepilot.retrieval import _first_listed_rules

    titles = {cm.get_description(c) for c in ("Z51.0", "Z51.11", "Z51.12")}
    assert {title for title, _ in _first_listed_rules()} == titles


def test_an_unstated_sequela_gives_way_to_the_initial_encounter_found():
    f = features("dog bit him on the L forearm, puncture wounds, irrigated and closed", "Open bite of left forearm, sequela")
    assert f.get("unstated_encounter") == 1.0
    assert not features("dog bite L forearm, sequela", "Open bite of left forearm, sequela").get("unstated_encounter")
    hits = [hit("S51852S", 0.97, unstated_encounter=1.0, unstated_detail=1.0), hit("S51852", 0.94), hit("S51852A", 0.82)]
    assert order(hits)[0] == "S51852A"
    # only the same code's initial encounter takes the lead, and only when the first code's encounter is unstated
    assert order([hit("S51852S", 0.97, unstated_encounter=1.0), hit("S51851A", 0.9)])[0] == "S51852S"
    assert order([hit("S51852S", 0.97), hit("S51852A", 0.82)])[0] == "S51852S"


def test_a_fracture_healing_state_keeps_its_lead_over_the_initial_encounter():
    # "healed w/ malunion": P (subsequent encounter ... with malunion) says what the question says in other words
    assert order([hit("S52531P", 0.87, unstated_encounter=1.0), hit("S52531A", 0.86)])[0] == "S52531P"
