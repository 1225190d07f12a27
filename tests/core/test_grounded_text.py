import pytest
from langchain_core.documents import Document

from casepilot.answer.evidence import Evidence, best_sentences, sentences
from casepilot.answer.grounded import Draft, _asks_for_another, _leads_with_code_summary, infer_system, relevance, strip_question
from casepilot.retrieval import Hit
from casepilot.text import SENTENCE_ABBREVIATIONS
from casepilot.history import history_ask


def test_strip_question():
    assert strip_question("What is the ICD-10-CM code for type 2 diabetes with CKD?") == "type 2 diabetes with CKD"
    assert strip_question("ICD-10-CM code for acute bronchitis") == "acute bronchitis"
    assert strip_question("diabetic foot ulcer") == "diabetic foot ulcer"
    # a frame that asks for the sequence is no part of the description
    assert strip_question("Pt has HTN and CKD 3b. Which code goes first?") == "Pt has HTN and CKD 3b"
    assert strip_question("HTN, CHF, CKD 4 - codes & sequence?") == "HTN, CHF, CKD 4"


def test_relevance_reads_stems_and_skips_narration():
    hit = Hit("icd10cm:I130", 1.0, Document(page_content="I13.0 Hypertensive heart and chronic kidney disease with heart "
                                                         "failure and stage 1 through stage 4 chronic kidney disease"))
    # "HTN" spelled out is "hypertension", said by "Hypertensive"; "pt has", "provider" narrate
    assert relevance("Pt has HTN, heart failure and CKD stage 3b, provider doesnt link them", hit) >= 0.5
    assert relevance("fractured left wrist", hit) == 0.0


def test_infer_system():
    assert infer_system("laparoscopic appendectomy") == "icd10pcs"
    assert infer_system("acute appendicitis") == "icd10cm"
    # the procedure a stay is for, after the diagnosis, leaves the question a diagnosis question
    assert infer_system("L fem neck fx, closed, admitted for hemiarthroplasty") == "icd10cm"
    assert infer_system("pt admitted for lap chole") == "icd10pcs"
    # ... in claim style too: "adm for", or a line that ends with what the stay is for
    assert infer_system("primary OA L hip - for THA") == "icd10cm"
    assert infer_system("infrarenal AAA 5.8cm, unruptured, for EVAR") == "icd10cm"
    assert infer_system("cervical insufficiency 15wk, adm for cerclage") == "icd10cm"
    # a procedure before "for <reason>" is still the procedure asked about
    assert infer_system("total thyroidectomy, open, for multinodular goiter") == "icd10pcs"
    # the question names what it asks the code of: a condition, whatever procedure the story mentions
    assert infer_system("persistent afib, failed a cardioversion, on eliquis. what's the afib code") == "icd10cm"
    assert infer_system("CABG x1 LIMA to LAD, on pump - just the bypass code") == "icd10pcs"
    assert infer_system("dual chamber pacer, just the generator code") == "icd10pcs"
    # a condition told first and what was done to it in a clause of its own: the diagnosis is asked about
    assert infer_system("melanoma in situ of the left upper arm, excised with 5 mm margins") == "icd10cm"
    assert infer_system("benign lipoma of the subcutaneous tissue of the upper back, excised") == "icd10cm"
    # ... but not a body part, nor a clause after a procedure named first
    assert infer_system("appendix, removed laparoscopically") == "icd10pcs"
    assert infer_system("left upper arm skin lesion, excised") == "icd10pcs"
    assert infer_system("I&D of subcutaneous abscess on the back, incised through skin, drained, packed") == "icd10pcs"
    # a procedure done in the office, a clinic or urgent care: the diagnosis is asked (PCS codes inpatient procedures)
    assert infer_system("punched a wall, displaced fx 5th metacarpal neck R, closed reduction + splint today in clinic") \
        == "icd10cm"
    assert infer_system("2 wk old w/ tongue tie, poor latch, frenotomy done in office") == "icd10cm"
    # the procedure ahead, told after the condition
    assert infer_system("old distal radius fx R, healed in bad position = malunion, planning corrective osteotomy") \
        == "icd10cm"
    assert infer_system("MVC, open comminuted displaced fx R tibial shaft, Gustilo type II, to OR for I&D and IMN") \
        == "icd10cm"
    # what went wrong with a device or graft in place is a complication (T82-T85), unless its procedure comes first
    assert infer_system("painful L TKA, xrays show aseptic loosening of tibial component, planning revision") == "icd10cm"
    assert infer_system("exit site infection of tunneled HD cath R chest, erythema + purulent drainage") == "icd10cm"
    assert infer_system("revision of loosened L THA, acetabular liner exchange") == "icd10pcs"
    assert infer_system("thrombectomy of clotted L forearm AV graft, open") == "icd10pcs"
    assert infer_system("failed L TKA with instability, for revision") == "icd10cm"
    # ... but "failed" and "failure" only beside the device, and ICD-10 is no defibrillator
    assert infer_system("heart failure leads to admission, CABG x3") == "icd10pcs"
    assert infer_system("lap chole after failed abx tx, icd-10?") == "icd10pcs"
    # "perf appy" is the appendicitis, "lap appy" the appendectomy
    assert infer_system("perf appy w/ localized peritonitis, no abscess") == "icd10cm"
    assert infer_system("lap appy") == "icd10pcs"


def test_sentences_split_prose_bullets_and_tables():
    text = "First sentence here. Second one follows.\n\n- a bullet item\n| a | b |\n|---|---|\n| 1 | 2 |"
    assert sentences(text) == ["First sentence here.", "Second one follows.", "a bullet item", "a; b.", "1; 2."]


def test_a_labelled_bullet_is_one_statement():
    # a term and its definition stay together; an unlabelled bullet and a long labelled one split as prose
    text = ("- **090**: major procedures. The 90 days after surgery are included.\n- plain bullet. Two parts.\n"
            "- **Long**: " + "word " * 70 + ". More.")
    out = sentences(text)
    assert out[0] == "090: major procedures. The 90 days after surgery are included."
    assert out[1:3] == ["plain bullet.", "Two parts."]
    assert len(out) == 5


def test_best_sentences_prefers_overlap():
    docs = [Document("## H\nModifier 25 applies to a separate E/M. Unrelated words entirely here.", id="a")]
    picked = best_sentences("when is modifier 25 used for a separate E/M", docs, limit=1)
    assert picked == [(0, "Modifier 25 applies to a separate E/M.")]


def test_every_sentence_of_a_draft_cites():
    d = Draft("x")
    doc = Document("t", id="p1", metadata={"title": "T"})
    d.say("One sentence. Another sentence inside the same note", doc)
    d.say("One sentence. Another sentence inside the same note", doc)  # duplicates are dropped
    assert d.text == "One sentence [1]. Another sentence inside the same note [1]."
    ev = Evidence()
    assert ev.cite(doc) == 1 and ev.cite(doc) == 1 and ev.numbers() == {1}


def test_a_latin_abbreviation_ends_no_sentence():
    # the ICD-10-CM chapter 4 note: the citation went after "(i.e" and split the code list from its sentence
    note = "Appropriate codes in this chapter (i.e. E05.8, E07.0) may be used. Also e.g. E16 and E34.- apply."
    assert sentences(note) == ["Appropriate codes in this chapter (i.e. E05.8, E07.0) may be used.",
                               "Also e.g. E16 and E34.- apply."]
    d = Draft("x")
    d.say(note, Document("t", id="p1", metadata={"title": "T"}))
    assert d.text == ("Appropriate codes in this chapter (i.e. E05.8, E07.0) may be used [1]. "
                      "Also e.g. E16 and E34.- apply [1].")



@pytest.mark.parametrize("abbreviation", sorted(SENTENCE_ABBREVIATIONS))
def test_the_splitter_and_the_citation_check_read_one_list_of_abbreviations(abbreviation):
    # one list: an abbreviation the answer's splitter skipped but the citation check cut at (or the reverse) put a
    # sentence without [n] into a cited answer
    from casepilot.verify import sentence_spans

    for written in (abbreviation, abbreviation.capitalize()):
        text = f"See the note ({written}. E05.8) first. Then code it."
        assert sentences(text) == [f"See the note ({written}. E05.8) first.", "Then code it."]
        assert [text[a:b].strip() for a, b in sentence_spans(text) if text[a:b].strip()] == sentences(text)

def test_a_comparison_is_answered_by_the_sentence_that_defines_each_side():
    from casepilot.answer.grounded import compared_items, defining_sentences
    section = ("POA indicator values\n- Y (yes): the condition was present at the time of inpatient admission.\n"
               "- U (unknown): the documentation is insufficient to determine whether the condition was present.\n"
               "- W (clinically undetermined): the provider is unable to clinically determine it.\n"
               "U is not a substitute for a query.")
    items = compared_items("diff between POA indicator U and W?")
    assert items == ["U", "W"]
    got = defining_sentences(section, items)
    assert [s.split(" ", 1)[0] for s in got] == ["U", "W"] and "insufficient" in got[0]
    assert defining_sentences(section, ["U", "Z"]) == []  # one side undefined: no comparison answer
    assert compared_items("stage 3 pressure ulcer of sacral region") == []


def test_a_question_asking_for_a_modifier_leads_with_a_document_that_declares_one():
    from casepilot.answer.grounded import modifier_documents_first
    from casepilot.retrieval import Hit

    def doc(pid, **meta):
        return (pid, [Hit(pid, 1.0, Document(page_content="x", metadata={"doc_id": pid, **meta}))])

    ranked = [doc("px", codes="20610,20611"), doc("gl", doc_codes="99213"), doc("mod", doc_codes="LT,RT")]
    assert [k for k, _ in modifier_documents_first(ranked)] == ["mod", "px", "gl"]
    no_modifier = ranked[:2]
    assert modifier_documents_first(no_modifier) == no_modifier
    # a diagnosis guideline naming RT and LT among its ICD-10-CM codes is no modifier document
    laterality = doc("lat", doc_codes="H25.13,S72.001A,RT,LT,50")
    assert [k for k, _ in modifier_documents_first([laterality, *ranked])][0] == "mod"
    # a document whose best hit is a declared question's card (no codes of its own) declares its modifiers through
    # its other hits: "attending saw the pt with a resident, what modifier" stays on the teaching physician rules
    teaching = ("tp", [Hit("tp?q0", 1.0, Document(page_content="x", metadata={"doc_id": "tp"})),
                       Hit("tp", 0.9, Document(page_content="x", metadata={"doc_id": "tp", "doc_codes": "GC,GE,99213"}))])
    assert [k for k, _ in modifier_documents_first([teaching, *ranked])][0] == "tp"


def test_a_draft_leading_with_a_cpt_summary_is_told_apart():
    # describe falls back to the guidance; a CPT summary leading it answers another code set's question
    cpt = Document("CT of the abdomen and pelvis without contrast.", id="corpus:ct#74176",
                   metadata={"kind": "code_summary", "title": "CPT 74176"})
    rule = Document("Calculus of kidney and ureter is N20.2.", id="corpus:gl#stones", metadata={"kind": "guideline"})
    d = Draft("guideline")
    d.say("CPT 74176: a CT of the abdomen and pelvis", cpt, rule)
    assert _leads_with_code_summary(d)
    g = Draft("guideline")
    g.say("Stones in both the kidney and the ureter are N20.2", rule, cpt)
    assert not _leads_with_code_summary(g) and not _leads_with_code_summary(Draft("guideline"))


def test_a_code_asked_for_another_thing_than_the_history():
    q = "hx PE 2021, tx completed, now on eliquis long term. z code for the eliquis?"
    assert _asks_for_another(q, history_ask(q))
    q2 = "personal history of colon polyps, what z code for the history?"
    assert not _asks_for_another(q2, history_ask(q2))
    q3 = "hx of breast ca, no current tx. code for the breast cancer history"
    assert not _asks_for_another(q3, history_ask(q3))


def test_a_one_character_value_asked_about_picks_its_sentence():
    from langchain_core.documents import Document

    from casepilot.answer.evidence import best_sentences

    doc = Document(page_content="POA indicator values\nY means the condition was present at the time of inpatient admission. "
                                "N means it was not present at the time of admission. U means the documentation is "
                                "insufficient to determine it. W (clinically undetermined) means the provider cannot "
                                "clinically determine it.")
    picked = [s for _, s in best_sentences("what is POA indicator W", [doc], limit=1, per_doc=1)]
    assert picked and picked[0].startswith("W (clinically undetermined)")
    # without a value asked about, the opening sentence leads as before
    assert best_sentences("POA indicator values", [doc], limit=1, per_doc=1)[0][1].startswith("Y means")


def test_two_drafts_joined_cite_anew_and_keep_the_lesser_decision():
    from casepilot.answer.decision import Decision
    from casepilot.answer.grounded import _joined

    code = Document(page_content="E11.22 Type 2 diabetes mellitus with diabetic chronic kidney disease", id="icd10cm:E1122")
    rule = Document(page_content="Diabetes is coded by type.", id="corpus:gl-icd10cm-diabetes#s1")
    first, then = Draft("guideline"), Draft("guideline")
    first.say("The closest match is E11.22.", code)
    first.notices.append("closest match")
    first.decision = Decision("partial", 0.4)
    then.say("Diabetes is coded by type.", rule)
    then.say("E11.22 again.", code, bullet=True)
    then.decision = Decision("answer", 0.9)
    out = _joined(first, then)
    assert out.sentences == [("The closest match is E11.22.", [1]), ("Diabetes is coded by type.", [2]),
                             ("E11.22 again.", [1])]
    assert [c.id for c in out.evidence.items] == ["icd10cm:E1122", "corpus:gl-icd10cm-diabetes#s1"]
    assert out.bullets == {2} and out.notices == ["closest match"] and out.decision.label == "partial"


def test_a_question_naming_pcs_leads_with_a_document_that_is_no_cpt_summary():
    from casepilot.answer.grounded import non_cpt_documents_first
    from casepilot.retrieval import Hit

    def doc(pid, collection, file):
        return (pid, [Hit(pid, 1.0, Document(page_content="x", metadata={"doc_id": pid, "collection": collection,
                                                                         "file": file}))])

    mohs = doc("px-mohs", "corpus_code_summary", "cpt-procedures/mohs.md")
    card = doc("px-skin", "corpus_question", "cpt-procedures/skin.md")
    pcs = doc("pcs-guideline:B3.4b", "icd10pcs_reference", "")
    assert [k for k, _ in non_cpt_documents_first([mohs, card, pcs])] == ["pcs-guideline:B3.4b", "px-mohs", "px-skin"]
    assert non_cpt_documents_first([mohs, card]) == [mohs, card]  # nothing else: the order stands

