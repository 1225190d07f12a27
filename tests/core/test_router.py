"""Routing with a tiny real code store."""

import pytest

from casepilot import router as rt
from casepilot.codestore import CodeStore
from casepilot.records import CodeRecord


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "c.sqlite"
    s = CodeStore(path, readonly=False)
    s.replace_source("t", "icd10cm", "v", "fp", [
        CodeRecord("icd10cm", "E1122", "E11.22", "Type 2 diabetes mellitus with diabetic CKD", billable=True, source="t"),
        CodeRecord("icd10cm", "I10", "I10", "Essential (primary) hypertension", billable=True, source="t"),
        CodeRecord("icd10cm", "I50", "I50", "Heart failure", billable=False, level="category", source="t"),
        CodeRecord("icd10cm", "M51", "M51", "Disc disorders", billable=False, level="category", source="t"),
    ])
    s.replace_source("c", "corpus", "v", "fp", [
        CodeRecord("cpt", "99213", "99213", "office visit", source="c"),
        CodeRecord("cpt", "20610", "20610", "major joint injection", source="c"),
        CodeRecord("modifier", "25", "25", "separate E/M", source="c"),
    ])
    return CodeStore(path)


@pytest.mark.parametrize("q,intent", [
    ("What is ICD-10-CM E11.22?", rt.CODE_LOOKUP),
    ("e1122", rt.CODE_LOOKUP),
    ("When do I use modifier 25?", rt.CODE_LOOKUP),
    ("Can 99213 and 20610 be billed together?", rt.PAIR_CHECK),
    ("99213 with 11111 same day?", rt.PAIR_CHECK),  # unknown CPT still goes to the table check
    ("knee injection done w/ ultrasound guidance - can I bill 20610 + 76942?", rt.PAIR_CHECK),  # "+" between the codes
    ("How many units of 20610 can I bill per day?", rt.UNITS),
    # minutes stated with "how many units" ask for the time rule, not the MUE, unless the MUE or a maximum is named
    ("25 min 20610 + 13 min 99213, how many units medicare?", rt.GUIDELINE),
    ("8 minute rule: how many units of 20610", rt.GUIDELINE),
    ("what is the max units of 20610, we did 60 min", rt.UNITS),
    ("What is the global period of 20610?", rt.GLOBAL_PERIOD),
    ("ICD-10-CM code for type 2 diabetes with CKD?", rt.DESCRIPTION_TO_CODE),
    ("What is the code for essential hypertension", rt.DESCRIPTION_TO_CODE),
    ("What does Excludes1 mean?", rt.GUIDELINE),
    ("Guidelines for E/M services", rt.GUIDELINE),
    # the named code set and "which ... code" ask for a code of that set
    ("Which ICD-10-CM code is used for an encounter for immunization?", rt.DESCRIPTION_TO_CODE),
    ("what's the PCS for laparoscopic left adrenalectomy", rt.DESCRIPTION_TO_CODE),
    ("do I need the doctor to link HTN and CKD to use I12?", rt.GUIDELINE),
    ("provider lists HTN and CKD 3a but never says they're related, can I still use I12.9", rt.GUIDELINE),
    ("htn and ckd 4, md didnt document they are linked - do we still assign I12.9?", rt.GUIDELINE),
    ("sodium 129 on BMP but doc never says hyponatremia. can I code E11.22 off the labs", rt.GUIDELINE),
    # the codes the asker already has, said after them, are not what is asked for
    ("anemia in CKD stage 4. N18.4 is already on the claim - what's the code for the anemia?", rt.DESCRIPTION_TO_CODE),
    ("need the external cause code: slipped on ice in the parking lot, initial visit", rt.DESCRIPTION_TO_CODE),
    ("heel ulcer to the fat layer. E11.621 is coded - what goes with it for the ulcer?", rt.DESCRIPTION_TO_CODE),
    ("lap chole, gallbladder removed completely - pcs?", rt.DESCRIPTION_TO_CODE),
    ("what level of MDM do I need for 99214?", rt.CODE_LOOKUP),
    ("what's the PCS root operation for removing a kidney stone", rt.GUIDELINE),
    # a bare clinical description, however long, wants a code: an "is" inside it asks nothing
    ("Hemiplegia of the left side as a late effect of an old stroke; patient is left-handed", rt.DESCRIPTION_TO_CODE),
    ("lt hemiparesis after CVA, pt is R handed", rt.DESCRIPTION_TO_CODE),
    # ... while a question word opening a clause, or what/how anywhere, asks one
    ("pt admitted w/ sepsis due to UTI, which goes first", rt.GUIDELINE),
    # "first time" tells the encounter, not E/M time: a bare description
    ("broken ankle, lateral malleolus, left, closed, seen in ED first time", rt.DESCRIPTION_TO_CODE),
    ("reduced in the ED, now seeing ortho for the first time - 7th char A or D", rt.GUIDELINE),
    # the code set alone after a full stop asks for the code too
    ("op note: acute cholecystitis with stones, no obstruction. ICD-10-CM?", rt.DESCRIPTION_TO_CODE),
    ("f/u 2 wks after a closed L wrist fx, healing well. ICD-10 for today?", rt.DESCRIPTION_TO_CODE),
    # an account number shaped like an article id is no coverage article
    ("acct A77812 - what did her insurance pay on the 4/5 visit", rt.GUIDELINE),
    ("what does article A56902 say about covered diagnoses", rt.COVERAGE),
    # the codes the asker already has are not what the question asks
    ("newborn 32 completed wks, I have P07.16 for the weight -- which code for the gestational age?",
     rt.DESCRIPTION_TO_CODE),
    ("what does E11.22 mean? I have it on the claim with N18.31", rt.CODE_LOOKUP),
    # whether an uncertain diagnosis is coded at all is a rule, asked without a subject
    ("discharge note says 'probable CHF exacerbation' - code it or not", rt.GUIDELINE),
    ("op note says suspected appendicitis, can it be coded?", rt.GUIDELINE),
    ("office note says 'probable UTI, culture pending'. outpatient. do I code the UTI?", rt.GUIDELINE),
    ("office note says 'suspected strep, culture pending'. do I code strep throat?", rt.GUIDELINE),
    # ... with the uncertainty told after the question
    ("office note says 'probable diverticulitis, LLQ pain'. can i code the diverticulitis since he says probable?",
     rt.GUIDELINE),
    ("transvaginal cerclage at 14 weeks -- pcs?", rt.DESCRIPTION_TO_CODE),
    ("EGD w/ cold forceps biopsies of the duodenum, diagnostic only. inpatient pcs?", rt.DESCRIPTION_TO_CODE),
    ("tonsillectomy only, adenoids left in. what pcs", rt.DESCRIPTION_TO_CODE),
    ("provider documented morbid obesity due to excess calories, adult, BMI 42.3 in the vitals. what do i report",
     rt.DESCRIPTION_TO_CODE),
    ("pt was seen by one of our other derm docs in the same group about 2.5 yrs ago, first time w/ this doc. new or "
     "established?", rt.GUIDELINE),
    ("annual physical today + doc also worked up new knee pain, ordered xray and started meds. how do i bill both",
     rt.GUIDELINE),
    ("op note: open sigmoid colectomy with primary anastomosis. pcs for the colon resection?", rt.DESCRIPTION_TO_CODE),
    ("'code first' vs 'use additional code' notes what do they mean", rt.GUIDELINE),
    ("What does the ICD-10-PCS root operation Excision mean?", rt.GUIDELINE),
    # a description that ends by asking for its code
    ("dm2 w/ hyperglycemia, uncontrolled per MD - dx code?", rt.DESCRIPTION_TO_CODE),
    # a heading named with a description: which code below it
    ("acute diastolic heart failure - which I50 code?", rt.DESCRIPTION_TO_CODE),
    ("What is I50?", rt.CODE_LOOKUP),
    # a note quoted ("Psych note: ...") is no question about notes; "what dx" and "what's the ICD-10" ask for the code
    ("Psych note: major depressive disorder, recurrent, moderate. What's the ICD-10?", rt.DESCRIPTION_TO_CODE),
    ("Primary osteoarthritis of the right knee, steroid injection today. what dx", rt.DESCRIPTION_TO_CODE),
    ("what approach value is laparoscopic in PCS", rt.GUIDELINE),
    ("Should I code symptoms that are part of a confirmed diagnosis?", rt.GUIDELINE),
    # "abn" in lower case is a note's "abnormal"; the notice is written ABN
    ("WCC 5 yo no abn findings", rt.DESCRIPTION_TO_CODE),
    ("ABN for a screening", rt.GUIDELINE),
    # a yes/no question about what to code is about the rules; "what do I code" asks for the code
    ("Inpatient d/c summary says 'probable aspiration pneumonia'. Do I code the pneumonia or just the symptoms?",
     rt.GUIDELINE),
    ("pt w/ appendicitis also has RLQ pain and nausea, do I code the symptoms too", rt.GUIDELINE),
    ("Concussion without loss of consciousness, initial encounter. what do i code", rt.DESCRIPTION_TO_CODE),
    # a code named beside a question whose answer is a modifier: the modifier guidance answers, not the code's summary
    ("HTN f/u and the doc also injected the knee (20610) same visit - what modifier goes on the E/M?", rt.GUIDELINE),
    # ... and with no code named: the code set it names is the modifier's, not a code search's
    ("signed ABN for a screening PSA past frequency. What HCPCS modifier shows the ABN is on file?", rt.GUIDELINE),
    ("doc wrote HTN and CKD 3 in the problem list, nothing linking them. Am i allowed to use the hypertensive CKD code "
     "or does he have to say 'due to'", rt.GUIDELINE),
    # a denial quoted from a remittance is what is asked; the code beside it is the claim line
    ("EOB says CO-97 on our 20610. what does that mean in plain english", rt.GUIDELINE),
    ("getting PR-2 on every 99213, can we bill the pt for it", rt.GUIDELINE),
    ("CO2 retention, chronic hypercapnic resp failure - J96.12?", rt.CODE_LOOKUP),
    # an aside after the question is not where the question ends
    ("Impression: acute ischemic stroke, embolic occlusion of the L MCA. whats the code (nihss not documented)",
     rt.DESCRIPTION_TO_CODE),
    # the codes named are the case of a rule question: the guidance answers it, not their summaries
    ("est pt 99213 and mom also wanted the rash looked at, how do i bill both", rt.GUIDELINE),
    ("pt seen for knee pain, do i use 20610 or the E/M only", rt.GUIDELINE),
    ("doc says HTN is controlled now. still I10?", rt.GUIDELINE),
    # ... while a choice about a diagnosis category is answered by the category's own notes
    ("NSTEMI again 3 wks later, do i use I50 again or something else", rt.CODE_LOOKUP),
    # how services go on a claim (bundled, one line or several) is a billing rule, whatever diagnosis the case names
    ("exc 2.1cm bcc lt forearm w/ layered closure. is the closure included in the exc code?", rt.GUIDELINE),
    ("3 bccs excised today, lt cheek, rt shoulder, back. one line w/ 3 units or separate?", rt.GUIDELINE),
    # whether the code named still applies to the case as it now stands
    ("HF resolved per cardiology, no meds now. do i still code I50", rt.GUIDELINE),
    ("doc says the htn is gone after weight loss, off meds. can we still use the I10 code?", rt.GUIDELINE),
    ("what is I10", rt.CODE_LOOKUP),
    # whether another clinician's note may support the code is a documentation rule
    ("can we assign E11.22 based on the case manager's note if the doc never mentions it?", rt.GUIDELINE),
])
def test_intents(store, q, intent):
    assert rt.route(q, [], store).intent == intent


def test_named_system():
    assert rt.named_system("ICD-10-PCS code for appendectomy") == "icd10pcs"
    assert rt.named_system("what is the diagnosis code for flu") == "icd10cm"
    assert rt.named_system("CPT for a knee injection") == "cpt"


def test_follow_up_inherits_codes(store):
    hist = [{"role": "user", "content": "What is E11.22?"}, {"role": "assistant", "content": "It means ..."}]
    r = rt.route("what else should I code with it?", hist, store)
    assert r.inherited and [x.record.display for x in r.codes] == ["E11.22"]
    # a new question with its own code does not inherit
    assert not rt.route("and I10?", hist, store).inherited


def test_lookalikes_are_dropped_and_unknown_codes_kept(store):
    found = rt.resolve_mentions("vitamin B12 in 2026, E11.99 and 99213", store)
    assert [(f.mention.code, bool(f.records)) for f in found] == [("E1199", False), ("99213", True)]


def test_a_solution_given_is_no_code_though_its_letters_spell_a_category(store):
    # I50 is a category in the store; "given I50" names what was given (as "given D50" does dextrose)
    assert [f.mention.code for f in rt.resolve_mentions("ED pt, FSBS 42, given I50, improved. I10", store)] == ["I10"]
    assert [f.mention.code for f in rt.resolve_mentions("HF: which I50 code?", store)] == ["I50"]


def test_a_remark_code_is_no_code_though_its_letters_spell_a_category(store):
    # M51 is a category in the store; after "RARC" or "remark code" it names why a claim was adjusted
    assert rt.resolve_mentions("CO-16 w/ RARC M51 on a bunch of claims", store) == []
    assert [f.mention.code for f in rt.resolve_mentions("remark code M51 on the L4-5 disc claim, M51.16", store)] \
        == ["M5116"]
    assert [f.mention.code for f in rt.resolve_mentions("CO-16, RARC N290 on the M51 disc claim", store)] == ["M51"]
    assert [f.mention.code for f in rt.resolve_mentions("lumbar disc: which M51 code?", store)] == ["M51"]


def test_follow_up_that_names_what_differs_inherits_the_code_and_the_question(store):
    history = [{"role": "user", "content": "How much time is needed for 99213?"},
               {"role": "assistant", "content": "99213 needs 20 minutes of total time."}]
    r = rt.route("And for a new patient at the same level?", history, store)
    assert r.inherited and [c.mention.code for c in r.codes] == ["99213"]
    assert r.prior == "How much time is needed for 99213?"


@pytest.mark.parametrize("follow_up", [
    "what if it's uncontrolled instead?", "ok but the labs showed CKD too. does that change it?", "what changes",
])
def test_a_follow_up_that_changes_a_described_case_searches_the_changed_case(store, follow_up):
    history = [{"role": "user", "content": "type 2 diabetes with kidney disease code?"},
               {"role": "assistant", "content": "E11.22 Type 2 diabetes mellitus with diabetic CKD."}]
    r = rt.route(follow_up, history, store)
    assert r.intent == rt.DESCRIPTION_TO_CODE and r.inherited and not r.codes
    assert r.prior == "type 2 diabetes with kidney disease code?" and r.system == "icd10cm"


def test_a_follow_up_to_a_conversation_without_codes_continues_its_subject(store):
    # "ok and what if ..." after a question on TCM that named no code: the earlier question is the subject
    history = [{"role": "user", "content": "for TCM what does the 30 days mean, when do we bill it"},
               {"role": "assistant", "content": "TCM covers the 30-day period starting on the day of discharge."}]
    r = rt.route("ok and what if the pt passes away before the 30 days are up?", history, store)
    assert r.inherited and not r.codes and r.prior == "for TCM what does the 30 days mean, when do we bill it"
    # a new question of its own stands alone
    assert not rt.route("how are anesthesia services paid", history, store).inherited


def test_a_follow_up_on_a_code_the_asker_named_keeps_the_code(store):
    # the earlier question named the code: "what if ..." asks about that code, not a case to search again
    history = [{"role": "user", "content": "what is E11.22"}, {"role": "assistant", "content": "E11.22 is ..."}]
    r = rt.route("what if the ckd is stage 3?", history, store)
    assert r.intent != rt.DESCRIPTION_TO_CODE or r.codes


def test_the_changed_case_drops_what_the_follow_up_replaces():
    assert rt.changed_case("RSV bronchiolitis, 6 mo old", "what if it's RSV pneumonia instead of bronchiolitis?") \
        == "RSV , 6 mo old what if it's RSV pneumonia ?"


def test_a_rule_named_in_a_case_question():
    assert rt.names_a_rule("Pt in 90 day global for TKA came in for a sinus infection. what modifier on the E/M")
    assert not rt.names_a_rule("lightheaded when standing up, doctor diagnosed orthostatic hypotension. what is the code")
    assert not rt.names_a_rule("acute appendicitis with localized peritonitis per op note. What do I code")
    # whether a visit is billed besides a procedure is a rule, however the case is told
    assert rt.names_a_rule("derm saw pt for eczema flare and also did shave bx of a lesion, can i bill the E/M too")
    assert not rt.names_a_rule("eczema flare, shave bx of a lesion on the back")
    assert rt.names_a_rule("closed tx of distal radius fx, then a sugar tong splint. bill the splint code separately?")


def test_a_code_set_named_at_the_end_asks_for_its_code():
    assert rt.asks_for_a_code("episiotomy at delivery whats the pcs")
    assert not rt.asks_for_a_code("what is the PCS root operation for a biopsy")


def test_which_add_on_goes_with_a_procedure_code_is_a_rule_about_it():
    assert rt.asks_rule_about_codes("psychiatrist did a 99214 med mgmt + 30 min of therapy same visit, which add on", True)
    assert not rt.asks_rule_about_codes("what is 90833", True)
    assert rt.asks_rule_about_codes("psych NP did a 99214 and 30 min of psychotherapy, what's the add on code", True)


@pytest.mark.parametrize("message,other", [
    ("pt has a dark mole w/ irregular border, is it cancer?", True),
    ("my kid has a fever of 102, should I give motrin or tylenol", True),
    ("nurse visit - flu shot only", False),
    ("45 yo M here for annual physical, exam and labs nml", False),
    ("Lumbar radiculopathy, no disc herniation. What is the code", False),
    ("is this dx code right for dm2 w ckd?", False),  # a question about coding
    ("pt is left handed, hemiparesis after stroke", False),  # "is" inside a description asks nothing
])
def test_a_question_beside_the_description_that_no_code_answers(message, other):
    assert rt.poses_other_question(message) is other


@pytest.mark.parametrize("text, asks", [
    ("injection done on the right knee only - which side mod?", True),
    ("E/M the day before major surgery, what modifier", True),
    ("unrelated procedure during global - modifier?", True),
    ("do I need to add a modifier to 99213", True),
    ("what does mod 95 mean", False),
    ("What does NCCI modifier indicator 0 mean?", False),
    ("when do i use modifier 25 on an E/M", False),
    ("hypertension with CKD stage 3, what code", False),
])
def test_asks_for_a_modifier(text, asks):
    assert rt.asks_for_a_modifier(text) is asks


def test_which_code_is_sequenced_first_asks_for_a_code():
    assert rt.asks_first_code("UTI, urine cx grew E. coli -- which code is sequenced 1st?")
    assert rt.asks_first_code("what dx goes first")
    assert not rt.asks_first_code("how do the sequencing rules for sepsis work")


@pytest.mark.parametrize("text, code, first", [
    # a description that ends by asking how it is coded asks for its codes ...
    ("HTN, no CKD, acute on chronic systolic HF. How is this coded?", True, False),
    ("ESRD on HD, also HTN. Need dx codes for the problem list", True, False),
    # ... and, when it asks for them in order, for the first one
    ("sepsis d/t E. coli UTI. What's the principal dx and what else?", True, True),
    ("chemo visit, L breast ca. Codes, in order?", True, True),
    ("septic shock from MRSA pna. how do i code & sequence this?", True, True),
    ("HTN, CKD 4 and chronic systolic HF, not linked. What is the correct code assignment and sequencing?", True, True),
    ("healthy newborn, born by c-section. what is the first code on the chart?", True, True),
    # what a principal diagnosis is, or how a note works, asks a rule
    ("what is a principal diagnosis", False, False),
    ("how does the code first note work", False, False),
    ("how is the principal dx defined for inpatients", False, False),
])
def test_asking_how_a_description_is_coded_asks_for_its_codes(text, code, first):
    assert rt.asks_for_a_code(text) is code
    assert rt.asks_first_code(text) is first


def test_whether_to_code_an_uncertain_diagnosis_is_asked_either_way_round():
    assert rt.asks_whether_to_code("'suspected strep, culture pending'. do I code strep throat?")
    assert rt.asks_whether_to_code("LLQ pain, CT pending. can i code the diverticulitis since the doc says it's probable?")
    assert not rt.asks_whether_to_code("can i code diverticulitis of the sigmoid with abscess")


def test_a_finding_the_provider_never_named_is_a_documentation_rule_whoever_would_code_it():
    assert rt.asks_documentation_rule("can our retro coder pick up N18.3x from the lab values?")
    assert rt.asks_documentation_rule("can the CDI team code the BMI from the dietitian's note")
    assert not rt.asks_documentation_rule("our retro coder found CKD 3a in the note, which code")
