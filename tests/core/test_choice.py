"""Choosing a code by what the question states (casepilot/answer/choice.py): a heading's default child, and the code a
note's set names."""

from casepilot.answer.choice import default_child, essential, note_groups, note_ranges, stated_choices
from casepilot.records import CodeRecord


def _rec(code: str, title: str) -> CodeRecord:
    return CodeRecord(system="icd10cm", code=code, display=code, title=title, description=title, billable=True,
                      level="code", version="", source="t")


CKD = [_rec("N181", "Chronic kidney disease, stage 1"), _rec("N1830", "Chronic kidney disease, stage 3 unspecified"),
       _rec("N1831", "Chronic kidney disease, stage 3a"), _rec("N1832", "Chronic kidney disease, stage 3b"),
       _rec("N184", "Chronic kidney disease, stage 4 (severe)"), _rec("N189", "Chronic kidney disease, unspecified")]
CONTROL = [_rec("Z7985", "Long-term (current) use of injectable non-insulin antidiabetic drugs"),
           _rec("Z794", "Long term (current) use of insulin"),
           _rec("Z7984", "Long term (current) use of oral hypoglycemic drugs")]
HF = [_rec("I5031", "Acute diastolic (congestive) heart failure"), _rec("I5032", "Chronic diastolic (congestive) heart failure"),
      _rec("I5033", "Acute on chronic diastolic (congestive) heart failure"),
      _rec("I5043", "Acute on chronic combined systolic (congestive) and diastolic (congestive) heart failure")]
SMOKE = [_rec("Z7722", "Contact with and (suspected) exposure to environmental tobacco smoke (acute) (chronic)"),
         _rec("Z87891", "Personal history of nicotine dependence"), _rec("Z720", "Tobacco use")]


def _codes(recs):
    return [r.code for r in recs]


def test_note_ranges_and_groups_read_codes_ranges_and_lead_ins():
    assert note_ranges("heart failure following surgery (I97.13-)") == [("I9713", "I9713")]
    assert note_ranges("code first the underlying disease") == []
    assert note_ranges("complicating abortion (O00-O07, O08.8)") == [("O00", "O07"), ("O088", "O088")]
    groups = note_groups("code to identify control using:\ninsulin (Z79.4)\noral drugs (Z79.84)\n"
                         "code to identify stage (N18.1-N18.4)")
    assert groups == [[("Z794", "Z794"), ("Z7984", "Z7984")], [("N181", "N184")]]


def test_essential_drops_nonessential_modifiers():
    assert essential("Long term (current) use of insulin") == "Long term  use of insulin"


def test_the_stated_stage_is_chosen_and_no_stage_chooses_nothing():
    assert _codes(stated_choices("htn w/ ckd 3b", CKD)) == ["N1832"]
    assert _codes(stated_choices("CKD stage 4", CKD, said=["Hypertensive chronic kidney disease"])) == ["N184"]
    assert stated_choices("hypertensive chronic kidney disease", CKD, said=["Hypertensive chronic kidney disease"]) == []


def test_every_code_stated_in_full_is_chosen_and_a_part_gives_way_to_the_whole():
    assert _codes(stated_choices("T2DM on insulin and oral hypoglycemic drugs", CONTROL)) == ["Z794", "Z7984"]
    # "acute diastolic" and "chronic diastolic" are parts of "acute on chronic diastolic"
    assert _codes(stated_choices("acute on chronic diastolic CHF", HF)) == ["I5033"]


AGENTS = [_rec("B9620", "Unspecified Escherichia coli [E. coli] as the cause of diseases classified elsewhere"),
          _rec("B9621", "Shiga toxin-producing Escherichia coli [E. coli] [STEC] O157 as the cause of diseases classified elsewhere"),
          _rec("B9629", "Other Escherichia coli [E. coli] as the cause of diseases classified elsewhere"),
          _rec("B961", "Klebsiella pneumoniae [K. pneumoniae] as the cause of diseases classified elsewhere"),
          _rec("B9689", "Other specified bacterial agents as the cause of diseases classified elsewhere")]


def test_an_organism_named_without_its_kind_is_the_unspecified_one():
    # "Unspecified" and "Other E. coli" say the same words: the record names no other kind (I.A.9)
    assert _codes(stated_choices("urine cx >100k e coli, doc says UTI", AGENTS)) == ["B9620"]
    assert _codes(stated_choices("UTI, culture grew klebsiella pneumoniae", AGENTS)) == ["B961"]
    assert _codes(stated_choices("UTI due to STEC O157 shiga toxin producing E. coli", AGENTS)) == ["B9621"]


def test_words_of_the_noted_code_or_a_modifier_choose_nothing():
    # "chronic" is a nonessential modifier of Z77.22; "insulin" is the noted code's own word
    assert stated_choices("acute on chronic diastolic CHF", SMOKE) == []
    assert stated_choices("insulin dependent", CONTROL, said=["Long term (current) use of insulin"]) == []
    assert stated_choices("on insulin", CONTROL[1:2]) == []  # one code: the note names it already


def test_what_the_noted_code_says_need_not_be_said_again():
    # "stage is 3a" after E11.22: "chronic kidney disease" is E11.22's, so "3a" alone names N18.31
    said = ["Type 2 diabetes mellitus with diabetic chronic kidney disease"]
    assert _codes(stated_choices("stage is 3a - what's the 2nd code?", CKD + [_rec("N186", "End stage renal disease")],
                                 said)) == ["N1831"]
    # a shared word that says nothing of its own ("3a" beside an unrelated long title) is still no choice
    assert stated_choices("3a", [_rec("Z7722", "Contact with and exposure to environmental tobacco smoke 3a"),
                                 _rec("Z720", "Tobacco use")]) == []


def test_the_encounter_a_question_states_chooses_the_7th_character():
    heading = _rec("S51812", "Laceration without foreign body of left forearm")
    kids = [_rec("S51812A", "Laceration without foreign body of left forearm, initial encounter"),
            _rec("S51812D", "Laceration without foreign body of left forearm, subsequent encounter"),
            _rec("S51812S", "Laceration without foreign body of left forearm, sequela")]
    assert default_child("dog bite L forearm, lac w/o FB, first visit", heading, kids).code == "S51812A"
    assert default_child("lac L forearm, f/u visit", heading, kids).code == "S51812D"
    # no encounter stated: the encounter of active treatment, as the ranker reads it (I.C.19.a)
    assert default_child("lac L forearm", heading, kids).code == "S51812A"
    assert default_child("lac L forearm, sequela", heading, kids).code == "S51812S"


def test_denying_what_the_siblings_add_states_the_uncomplicated_child():
    heading = _rec("F1023", "Alcohol dependence with withdrawal")
    kids = [_rec("F10230", "Alcohol dependence with withdrawal, uncomplicated"),
            _rec("F10231", "Alcohol dependence with withdrawal delirium"),
            _rec("F10232", "Alcohol dependence with withdrawal with perceptual disturbance"),
            _rec("F10239", "Alcohol dependence with withdrawal, unspecified")]
    q = "alcohol dependence with withdrawal, no delirium, no perceptual disturbances"
    assert default_child(q, heading, kids).code == "F10230"
    assert default_child("alcohol dependence with withdrawal", heading, kids).code == "F10239"  # nothing denied: NOS


# --- the default child of a heading (moved with default_child from grounded.py) ---


WELL_CHILD = _rec("Z0012", "Encounter for routine child health examination")
WELL_CHILD_KIDS = [_rec("Z00121", "Encounter for routine child health examination with abnormal findings"),
                   _rec("Z00129", "Encounter for routine child health examination without abnormal findings")]


HEMI = _rec("I6935", "Hemiplegia and hemiparesis following cerebral infarction")
HEMI_KIDS = [_rec(f"I6935{n}", f"Hemiplegia and hemiparesis following cerebral infarction affecting {side}")
             for n, side in (("1", "right dominant side"), ("2", "left dominant side"),
                             ("3", "right non-dominant side"), ("4", "left non-dominant side"),
                             ("9", "unspecified side"))]


HEADING = _rec("I210", "ST elevation (STEMI) myocardial infarction of anterior wall")
CHILDREN = [_rec("I2101", "ST elevation (STEMI) myocardial infarction involving left main coronary artery"),
            _rec("I2102", "ST elevation (STEMI) myocardial infarction involving left anterior descending coronary artery"),
            _rec("I2109", "ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall")]


def test_default_child_is_other_when_the_question_names_no_child():
    assert default_child("acute heart attack of the anterior wall", HEADING, CHILDREN).code == "I2109"


def test_default_child_is_the_one_the_question_names():
    assert default_child("STEMI of the anterior wall, left main", HEADING, CHILDREN).code == "I2101"


def test_default_child_prefers_unspecified():
    kids = [_rec("X1", "Thing, unspecified"), _rec("X2", "Thing, other")]
    assert default_child("thing", _rec("X", "Thing"), kids).code == "X1"


def test_default_child_never_names_another_stage_than_the_question():
    # "renal" (the vocabulary's kidney synonym) is in I12.0's own words; its stage 5 is not the question's 3a
    heading = _rec("I12", "Hypertensive chronic kidney disease")
    kids = [_rec("I120", "Hypertensive chronic kidney disease with stage 5 chronic kidney disease or end stage "
                         "renal disease"),
            _rec("I129", "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, "
                         "or unspecified chronic kidney disease")]
    assert default_child("HTN w/ CKD 3a", heading, kids).code == "I129"
    assert default_child("HTN with ESRD stage 5", heading, kids).code == "I120"


def test_open_reduction_states_no_open_fracture():
    # "discussing ORIF": how the fracture will be reduced, not an open fracture (7th character B)
    heading = _rec("S62022", "Displaced fracture of middle third of navicular [scaphoid] bone of left wrist")
    kids = [_rec("S62022A", "... initial encounter for closed fracture"),
            _rec("S62022B", "... initial encounter for open fracture"),
            _rec("S62022K", "... subsequent encounter for fracture with nonunion")]
    assert default_child("scaphoid fx L wrist, CT shows nonunion, discussing ORIF", heading, kids).code == "S62022K"
    assert default_child("open scaphoid fx L wrist, initial", heading, kids).code == "S62022B"


def test_a_fracture_stated_neither_open_nor_closed_is_closed_at_its_first_encounter():
    heading = _rec("S72142", "Displaced intertrochanteric fracture of left femur")
    kids = [_rec("S72142A", "... initial encounter for closed fracture"),
            _rec("S72142B", "... initial encounter for open fracture type I or II"),
            _rec("S72142D", "... subsequent encounter for closed fracture with routine healing")]
    assert default_child("displaced intertrochanteric fx L femur", heading, kids).code == "S72142A"
    assert default_child("open displaced intertrochanteric fx L femur", heading, kids).code == "S72142B"


def test_a_measurement_does_not_hide_the_stage():
    # "EF 25%" is a percent, not a stage: the stage the question states (3b) still rules out stage 5
    heading = _rec("I13", "Hypertensive heart and chronic kidney disease")
    kids = [_rec("I130", "Hypertensive heart and chronic kidney disease with heart failure and stage 1 through stage 4 "
                         "chronic kidney disease, or unspecified chronic kidney disease"),
            _rec("I132", "Hypertensive heart and chronic kidney disease with heart failure and with stage 5 chronic "
                         "kidney disease, or end stage renal disease")]
    assert default_child("acute on chronic systolic CHF, EF 25%. PMH HTN, CKD stage 3b", heading, kids).code == "I130"
    assert default_child("systolic CHF, EF 25%, HTN, ESRD on dialysis stage 5", heading, kids).code == "I132"


def test_default_child_with_unspecified_disorders_is_not_the_nos_default():
    # F17.21 "Nicotine dependence, cigarettes": nothing stated beyond the heading is the uncomplicated code;
    # "with unspecified nicotine-induced disorders" asserts a disorder the question does not state
    heading = _rec("F1721", "Nicotine dependence, cigarettes")
    kids = [_rec("F17210", "Nicotine dependence, cigarettes, uncomplicated"),
            _rec("F17211", "Nicotine dependence, cigarettes, in remission"),
            _rec("F17213", "Nicotine dependence, cigarettes, with withdrawal"),
            _rec("F17218", "Nicotine dependence, cigarettes, with other nicotine-induced disorders"),
            _rec("F17219", "Nicotine dependence, cigarettes, with unspecified nicotine-induced disorders")]
    assert default_child("tobacco dependence, cigs", heading, kids).code == "F17210"


def test_default_child_gives_up_when_ambiguous():
    kids = [_rec("X1", "Thing, left, acute"), _rec("X2", "Thing, left, chronic")]
    assert default_child("thing left", _rec("X", "Thing"), kids) is None


def test_default_child_named_by_the_question_asserts_nothing_more():
    # "chronic" names both I50.32 and I50.33; "acute on chronic" asserts an acuity the question does not state
    heading = _rec("I503", "Diastolic (congestive) heart failure")
    kids = [_rec("I5030", "Unspecified diastolic (congestive) heart failure"),
            _rec("I5031", "Acute diastolic (congestive) heart failure"),
            _rec("I5032", "Chronic diastolic (congestive) heart failure"),
            _rec("I5033", "Acute on chronic diastolic (congestive) heart failure")]
    assert default_child("chronic HFpEF, stable", heading, kids).code == "I5032"
    assert default_child("acute on chronic diastolic CHF", heading, kids).code == "I5033"


def test_default_child_reads_the_polarity_of_what_the_question_names():
    assert default_child("routine child health exam, no abnormal findings", WELL_CHILD, WELL_CHILD_KIDS).code == "Z00129"
    assert default_child("routine child health exam with abnormal findings", WELL_CHILD, WELL_CHILD_KIDS).code == "Z00121"


def test_default_child_is_the_without_branch_when_nothing_is_stated():
    # what the record does not state is not coded: the "without" child
    assert default_child("well child check", WELL_CHILD, WELL_CHILD_KIDS).code == "Z00129"


def test_default_child_follows_the_dominance_guideline():
    assert default_child("hemiparesis after stroke, left side, left-handed", HEMI, HEMI_KIDS).code == "I69352"
    assert default_child("hemiparesis after stroke, left side", HEMI, HEMI_KIDS).code == "I69354"
    assert default_child("hemiparesis after stroke", HEMI, HEMI_KIDS).code == "I69359"


def test_a_child_that_repeats_its_heading_is_the_default_when_no_other_is_stated():
    heading = _rec("Z824", "Family history of ischemic heart disease and other diseases of the circulatory system")
    kids = [_rec("Z8241", "Family history of sudden cardiac death"),
            _rec("Z8249", "Family history of ischemic heart disease and other diseases of the circulatory system")]
    assert default_child("coronary artery disease", heading, kids).code == "Z8249"
    assert default_child("sudden cardiac death", heading, kids).code == "Z8241"
    # two children that repeat the heading settle nothing
    assert default_child("coronary artery disease", heading, [kids[1], _rec("Z8248", kids[1].title)]) is None


def test_a_generic_word_does_not_name_the_history_of_an_abbreviated_condition():
    from langchain_core.documents import Document

    from casepilot.answer.grounded import _names_history
    from casepilot.history import history_ask
    from casepilot.retrieval import Hit

    def hit(title):
        return Hit("x", 1.0, Document(page_content=title, metadata={"title": f"ICD-10-CM X {title}"}))

    ask = history_ask("family hx of CAD")
    assert not _names_history(ask, hit("Family history of carrier of genetic disease"))
    assert _names_history(history_ask("family history of colon polyps"), hit("Family history of colon polyps"))


def test_how_the_question_asks_to_use_a_code_states_nothing_of_the_patient():
    tobacco = [_rec("Z7722", "Contact with and (suspected) exposure to environmental tobacco smoke (acute) (chronic)"),
               _rec("Z87891", "Personal history of nicotine dependence"), _rec("Z720", "Tobacco use")]
    assert stated_choices("do i need the doctor to link HTN and heart failure to use I11.0?", tobacco) == []
    assert _codes(stated_choices("htn with heart failure, tobacco use", tobacco)) == ["Z720"]


def test_an_unstated_encounter_defaults_to_initial_not_to_the_shortest_title():
    head = _rec("S06.0X", "Concussion")
    kids = [_rec(f"S06.0X1{x}", f"Concussion with loss of consciousness of 30 minutes or less, {enc}")
            for x, enc in (("A", "initial encounter"), ("D", "subsequent encounter"), ("S", "sequela"))]
    assert default_child("concussion, knocked out for about 5 minutes", head, kids).code == "S06.0X1A"
    # a stated encounter still chooses its own sibling
    assert default_child("concussion, loss of consciousness 5 minutes, sequela", head, kids).code == "S06.0X1S"


def test_a_denial_reads_the_childs_words_by_stem_and_a_plural_of_the_heading_is_no_own_word():
    # "nothing else complicating it" denies B02.8's "with other complications": the uncomplicated child
    zoster = _rec("B02", "Zoster [herpes zoster]")
    kids = [_rec("B028", "Zoster with other complications"), _rec("B029", "Zoster without complications")]
    assert default_child("shingles left flank, no eye involvement, nothing else complicating it", zoster, kids).code == "B029"
    # D50.8's "anemias" is the heading's "anemia": "iron def anemia, cause not specified" names no other anemia
    ida = _rec("D50", "Iron deficiency anemia")
    ida_kids = [_rec("D500", "Iron deficiency anemia secondary to blood loss (chronic)"),
                _rec("D508", "Other iron deficiency anemias"), _rec("D509", "Iron deficiency anemia, unspecified")]
    assert default_child("iron deficiency anemia, cause not specified yet", ida, ida_kids).code == "D509"
