"""The learned out-of-scope score: the pure scorer reproduces scikit-learn, and the stored model is the tuning split's."""

from __future__ import annotations

import numpy as np
import pytest

from casepilot.answer import decision as dm
from casepilot.answer import out_of_scope as oos
from evals import train_out_of_scope as train

pytestmark = pytest.mark.unit

CORPUS = [
    ("what is the icd-10-cm code for type 2 diabetes with ckd", 0),
    ("when do i use modifier 25 on an office visit", 0),
    ("what does excludes1 mean", 0),
    ("code for stage 3 pressure ulcer of the sacral region", 0),
    ("how are anesthesia services paid with base and time units", 0),
    ("what is the global period of 20610", 0),
    ("how much does aetna pay us for 99213 in ohio", 1),
    ("did our claim for the knee injection get paid yet", 1),
    ("what will the conversion factor be in 2031", 1),
    ("just add sepsis so the drg pays more, nobody checks", 1),
    ("what dose of metformin should we start", 1),
    ("how many patients are in our hospital right now", 1),
]


def test_the_pure_scorer_computes_what_scikit_learn_predicts():
    questions = [q for q, _ in CORPUS]
    labels = np.array([y for _, y in CORPUS])
    vec, clf = train.fit(questions, labels, c=10.0)
    model = train.export(vec, clf)
    unseen = ["how much does cigna pay for 99214", "what does modifier 59 mean", "code for diabetes with ckd stage 3",
              "zzz unknown words only", ""]
    expected = clf.predict_proba(vec.transform(unseen))[:, 1]
    got = [oos.probability(q, model) for q in unseen]
    assert got == pytest.approx(list(expected), abs=2e-3)  # the export rounds to 4 decimals
    # a question of words the model never saw scores the bias alone
    assert oos.probability("zzz", model) == pytest.approx(1 / (1 + np.exp(-model["bias"])))


def test_the_joint_reading_computes_what_scikit_learn_predicts_from_words_and_vectors():
    questions = [q for q, _ in CORPUS]
    labels = np.array([y for _, y in CORPUS])
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(questions), 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vec, words = train.fit(questions, labels, c=10.0)
    _, joint = train.fit(questions, labels, c=10.0, vectors=vectors)
    model = train.export(vec, words, joint)
    unseen = ["how much does cigna pay for 99214", "what does modifier 59 mean"]
    unseen_vectors = rng.normal(size=(2, 8))
    expected = joint.predict_proba(train.features(vec.transform(unseen), unseen_vectors))[:, 1]
    got = [oos.probability(q, model, v) for q, v in zip(unseen, unseen_vectors)]
    assert got == pytest.approx(list(expected), abs=2e-3)
    # without a vector, or with one of another width (another embedding model), the words alone decide
    lexical = list(words.predict_proba(vec.transform(unseen))[:, 1])
    assert [oos.probability(q, model) for q in unseen] == pytest.approx(lexical, abs=2e-3)
    assert [oos.probability(q, model, [0.1] * 5) for q in unseen] == pytest.approx(lexical, abs=2e-3)


def test_each_reading_is_judged_by_its_own_thresholds(tmp_path):
    path = tmp_path / "m.json"
    # words alone score the bias (0.5); the vector adds 2.0 * 1.0 to the joint bias 0 (0.88)
    path.write_text('{"ngrams": [1, 2], "bias": 0.0, "terms": {}, "threshold": 0.6, "in_scope_below": 0.55, '
                    '"embedding": {"model": "bundled", "scale": 1.0, "bias": 0.0, "weights": [2.0, 0.0], '
                    '"threshold": 0.95, "in_scope_below": 0.9}}')
    oos.load.cache_clear()
    assert oos.declines("anything", path) is None and oos.surely_in_scope("anything", path)
    assert oos.declines("anything", path, vector=[1.0, 0.0]) is None  # 0.88 is below the joint threshold
    assert oos.surely_in_scope("anything", path, vector=[1.0, 0.0])
    assert oos.declines("anything", path, vector=[2.0, 0.0]) == pytest.approx(1 / (1 + np.exp(-4.0)))
    assert oos.embedding_model(path) == "bundled"


def test_the_stored_model_has_a_joint_reading_that_declines_more_out_of_source_at_the_same_precision():
    model = oos.load()
    joint = model["embedding"]
    assert joint["model"] == "bundled" and len(joint["weights"]) == 384 and joint["scale"] == train.SCALE
    assert all(len(v) == 3 for v in model["terms"].values())  # idf, the lexical weight, the joint weight
    chars = model["chars"]
    assert chars["weight"] == train.CHAR_WEIGHT and tuple(chars["ngrams"]) == oos.CHAR_NGRAMS
    assert all(len(v) == 3 for v in chars["terms"].values())
    assert joint["out_of_source"]["precision"] >= train.PRECISION
    assert 0.0 < joint["in_scope_below"] < joint["threshold"] < 1.0
    # why the joint reading is the one the answerer uses (the trainer prints both)
    assert joint["out_of_source"]["recall"] > model["out_of_source"]["recall"]


def test_character_grams_are_the_ones_scikit_learn_forms():
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=oos.CHAR_NGRAMS).build_analyzer()
    for text in ["Pls  tell me\tour Medicaid's rate, ok?", "a 99213 w/ -25", "", "  x  "]:
        assert oos.char_terms(text, oos.CHAR_NGRAMS) == analyzer(text)


def test_terms_are_word_unigrams_then_bigrams_without_codes_or_dates():
    assert oos.terms("Can 99213 be billed 3/2?") == ["can", "be", "billed", "can be", "be billed"]


def test_the_threshold_is_the_lowest_that_keeps_the_precision():
    p = np.array([0.99, 0.9, 0.85, 0.7, 0.6])
    y = np.array([1, 1, 0, 1, 0])
    assert train.lowest_precise_threshold(p, y, 0.99) == 0.86
    assert train.lowest_precise_threshold(p, y, 0.7) == 0.61  # above 0.6: 3 of 4 are declines
    assert train.lowest_precise_threshold(np.array([0.9]), np.array([0]), 0.5) == 0.99  # never precise: the top


def test_the_stored_model_is_fitted_on_the_tuning_split_and_the_corpus_questions_never_the_held_out_split():
    questions, labels, sources = train.tuning_examples()
    model = oos.load()
    assert "heldout_coders" not in set(sources) and "corpus" in set(sources)
    # a dataset added or changed without refitting (python -m evals.train_out_of_scope) fails here
    assert (model["items"], model["declines"], model["sources"]) == (len(questions), int(labels.sum()), len(set(sources)))
    assert 0.5 <= model["threshold"] < 1.0
    assert model["out_of_source"]["precision"] >= train.PRECISION


@pytest.mark.parametrize("question", [
    "doc wrote bacteremia but sepsis pays way more, which sepsis code should i use so it looks right on the claim",
    "do you think my boss should fire the biller who made those mistakes",
    "how many of our claims will the auditors deny next quarter",
])
def test_a_question_no_reference_answers_is_declined_with_the_learned_reason(question):
    why = dm.outright_decline(question)
    assert why is not None and "learned out-of-scope score" in why


@pytest.mark.parametrize("question", [
    "What is CPT code 99213?", "Guidelines for E/M services", "ICD-10-CM code for type 2 diabetes with CKD?",
    "When do I use modifier 25?", "Can I bill 99213 and 20610 on the same day?", "What does Excludes1 mean?",
    "What does an ABN do?", "is it fraud to bill for a service that was not rendered?",
])
def test_coding_questions_stay_below_the_threshold(question):
    assert oos.declines(question) is None


def test_no_question_the_corpus_says_it_answers_is_declined():
    flagged = [q for q in train.corpus_questions() if oos.declines(q) is not None]
    assert not flagged


def test_the_in_scope_threshold_is_the_highest_that_leaves_few_declines_below_it():
    p = np.array([0.01, 0.05, 0.2, 0.4, 0.9, 0.95, 0.12])
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    assert train.highest_in_scope_threshold(p, y, 0.0) == 0.12  # a decline scores 0.12: nothing at or above is sure
    assert train.highest_in_scope_threshold(p, y, 0.34) == 0.5  # one decline in three may fall below
    assert train.highest_in_scope_threshold(np.array([0.005]), np.array([1]), 0.0) == 0.0  # never sure


def test_the_stored_in_scope_threshold_keeps_the_out_of_source_declines_below_it_rare():
    model = oos.load()
    assert 0.0 < model["in_scope_below"] < model["threshold"]
    assert model["out_of_source"]["declines_in_scope"] <= train.IN_SCOPE_MISS * model["declines"]


def test_a_model_without_an_in_scope_threshold_is_sure_of_nothing(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"ngrams": [1, 2], "bias": -5.0, "terms": {}, "threshold": 0.9}')
    assert not oos.surely_in_scope("what does excludes1 mean", path)


@pytest.mark.parametrize("question", [
    "one of our endocrinologists wants to send his patients' labs to a lab his wife owns, is that allowed?",
    "allergist says the angioedema is from lisinopril taken as prescribed, what codes and in what order",
    "When do I use modifier 25?",
])
def test_plain_coding_questions_are_surely_coding_questions(question):
    assert dm.surely_a_coding_question(question)


@pytest.mark.parametrize("question", [
    "how much does aetna pay us for 99213 in ohio",  # a payer's rates: a scope signal
    "what will the conversion factor be in 2031",  # the future
    "heard CMS is getting rid of modifier 25 starting next yr, is that true",  # a rumoured change
    "see op note below, what CPT and PCS codes would you assign",  # a note that is not there
])
def test_questions_no_reference_answers_are_never_sure(question):
    assert not dm.surely_a_coding_question(question)


def test_a_threshold_is_raised_above_the_questions_the_corpus_says_it_answers():
    # an empty vocabulary scores every question 0.5 (bias 0): a threshold at 0.4 would decline the corpus's own
    model = {"bias": 0.0, "terms": {}, "ngrams": [1, 1], "threshold": 0.4}
    raised = train.above_the_corpus(model, ["what is modifier 25"])
    assert model["threshold"] == 0.51 and len(raised) == 1
    assert train.above_the_corpus(model, ["what is modifier 25"]) == [] and model["threshold"] == 0.51
