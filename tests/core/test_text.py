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
