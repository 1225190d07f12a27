"""What the dense model embeds for ICD-10-CM: a 7th-character extension shares its stem's vector."""

from ingest.icd10cm import ICD10CMSource


def _by_code():
    return {p.metadata["code"]: p for p in ICD10CMSource(categories=("S52", "E08")).passages()}


def test_an_extension_embeds_its_stem_and_keeps_its_own_passage():
    p = _by_code()
    # S52.521A / D / S: three passages, one text to embed (the stem's), each still titled and searched on its own
    assert p["S52521A"].metadata["embed_text"] == p["S52521"].metadata["embed_text"] == p["S52521S"].metadata["embed_text"]
    assert "initial encounter" in p["S52521A"].page_content and "sequela" in p["S52521S"].page_content
    assert "initial encounter" not in p["S52521A"].metadata["embed_text"]


def test_codes_that_are_not_extensions_embed_their_own_title():
    p = _by_code()
    assert p["E0810"].metadata["embed_text"].startswith("Diabetes mellitus due to underlying condition with ketoacidosis")
    assert p["E0810"].metadata["embed_text"] != p["E081"].metadata["embed_text"]
    # the stems cut the texts to embed: the category's 7th-character codes add none of their own
    texts = {d.metadata["embed_text"] for d in p.values()}
    assert len(texts) < len(p) / 3


def test_a_code_that_only_adds_a_side_and_encounter_inherits_its_headings_inclusion_terms():
    p = {d.metadata["code"]: d for d in ICD10CMSource(categories=("S93", "I50")).passages()}
    # S93.49 lists "Sprain of talofibular ligament"; S93.491A is that sprain on the right, first encounter
    assert "Sprain of talofibular ligament" in p["S93491A"].metadata["inherited"].splitlines()
    # ranked on only: not shown as the code's own note, not in its BM25 text
    assert "talofibular" not in p["S93491A"].page_content and "talofibular" not in p["S93491A"].metadata.get("context", "")
    assert "Sprain of ankle NOS" in p["S93401A"].metadata["inherited"].splitlines()
    # I50.32 "Chronic diastolic ..." says more than I50.3 "Diastolic ...": chronic is no side or encounter
    assert "inherited" not in p["I5032"].metadata
