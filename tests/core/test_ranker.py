"""The learned code ranker: scoring, the shipped weights, and the pairwise trainer."""

import json

import numpy as np
import pytest

from casepilot import ranker as rk
from evals.train_ranker import fit, hit_at_1


def test_score_is_the_weighted_sum_of_known_features():
    r = rk.Ranker({"bm25": 0.4, "dense": 0.6, "number_mismatch": -0.2})
    assert r.score({"bm25": 1.0, "dense": 0.5, "number_mismatch": 1.0, "cosine": 0.9}) == pytest.approx(0.5)


def test_weights_are_scaled_to_the_fusion_scale():
    assert rk.normalized({"bm25": 2.0, "dense": 2.0, "billable": 0.4}) == {"bm25": 0.5, "dense": 0.5, "billable": 0.1}
    with pytest.raises(ValueError):
        rk.normalized({"bm25": -1.0, "dense": 0.5})


def test_a_ranker_file_with_an_unknown_feature_is_refused(tmp_path):
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps({"weights": {"bm25": 0.5, "dense": 0.5, "colour": 1.0}}))
    with pytest.raises(ValueError, match="colour"):
        rk.read(path)


def test_shipped_ranker_is_learned_and_says_how():
    r = rk.default_ranker()
    assert set(r.weights) <= set(rk.FEATURES)
    if rk.RANKER_PATH.exists():  # the learned weights: trained on official pairs, chosen on tuning items only
        assert "official" in r.provenance["trained_on"] and "tuning" in r.provenance["tuned_on"]
        assert r.provenance["tuning_hit1"] >= r.provenance["hand_tuning_hit1"]
        assert r.weights["bm25"] + r.weights["dense"] == pytest.approx(1.0)


def test_trainer_learns_the_feature_that_separates_right_from_wrong():
    rng = np.random.default_rng(0)
    groups = []
    n = len(rk.FEATURES)
    k = rk.FEATURES.index("q_cover")
    for _ in range(60):
        x = rng.random((10, n)) * 0.1
        right = int(rng.integers(10))
        x[right, k] = 1.0  # only the right candidate covers the question
        groups.append((x, right))
    hand = np.array([rk.HAND_WEIGHTS[f] for f in rk.FEATURES])
    w = fit(groups, lam=0.001)
    assert w[k] > 0.5
    # every training target is billable by construction: that feature is not learned
    learned = rk.normalized(dict(zip(rk.FEATURES, map(float, w))))
    assert learned["billable"] == pytest.approx(rk.HAND_WEIGHTS["billable"])
    assert hit_at_1(groups, w) == 1.0 and hit_at_1(groups, hand) < 0.5


def test_codes_take_the_rankers_order_on_the_fused_scale():
    from langchain_core.documents import Document

    from casepilot.retrieval import Hit, _order_codes_by_ranker

    def hit(pid, score, ranker=None):
        sig = {} if ranker is None else {"ranker": ranker}
        return Hit(pid, score, Document(page_content=pid, id=pid), sig)

    hits = [hit("icd10cm:A", 0.9, ranker=0.1), hit("corpus:g", 0.7), hit("icd10cm:B", 0.5, ranker=2.0),
            hit("icd10cm:C", 0.2, ranker=1.0)]
    _order_codes_by_ranker(hits)
    by_id = {h.id: h.score for h in hits}
    assert by_id["corpus:g"] == 0.7  # guidance keeps its fused score
    assert by_id["icd10cm:B"] == pytest.approx(0.9) and by_id["icd10cm:C"] == pytest.approx(0.5)
    assert by_id["icd10cm:A"] == pytest.approx(0.2)  # the same three scores, in the ranker's order


def test_a_routine_examination_code_leads_and_its_findings_follow():
    """I.C.21.c.13: "adult wellness exam, BP elevated" is Z00.01 first, then R03.0, whatever the ranker says."""
    from langchain_core.documents import Document

    from casepilot.retrieval import Hit, _order_codes_by_ranker, query_facts

    def hit(pid, ranker, **sig):
        return Hit(pid, 0.5, Document(page_content=pid, id=pid), {"ranker": ranker, **sig})

    hits = [hit("icd10cm:R030", 1.7), hit("icd10cm:Z0000", 1.3, routine_exam=1.0, findings_mismatch=1.0),
            hit("icd10cm:Z0001", 1.2, routine_exam=1.0), hit("icd10cm:I10", 1.2)]
    _order_codes_by_ranker(hits)
    assert [h.id for h in sorted(hits, key=lambda h: -h.score)] == [
        "icd10cm:Z0001", "icd10cm:R030", "icd10cm:I10", "icd10cm:Z0000"]
    q = query_facts("Adult wellness exam - BP elevated today")
    assert q.routine_exam and q.findings is True
    assert not query_facts("routine prenatal visit, 10 weeks").routine_exam  # supervision of pregnancy, not an exam


def test_negation_pairs_phrase_the_without_branch_as_coders_write_it():
    from evals.train_ranker import NEGATIONS, negation_pairs

    rows = [
        ("E1151", "", "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene"),
        ("E1152", "", "Type 2 diabetes mellitus with diabetic peripheral angiopathy with gangrene"),
        ("K5730", "", "Diverticulosis of large intestine without perforation or abscess without bleeding"),  # no sibling
    ]
    pairs = negation_pairs(rows, n=10)
    assert [code for _, code, kind in pairs] == ["E1151"] and pairs[0][2] == "negated"
    query = pairs[0][0]
    assert "gangrene" in query
    assert any(t.format(x="gangrene") in query for t in NEGATIONS)
