"""Every metric on worked examples."""

import math

import pytest

from evals import metrics as m


def test_hit_at_k():
    retrieved = [["a", "b", "c"], ["x", "y"], ["q"]]
    relevant = [{"c"}, {"z"}, set()]  # the third has no relevant ids: left out
    assert m.hit_at_k(retrieved, relevant, k=1) == 0.0
    assert m.hit_at_k(retrieved, relevant, k=3) == 0.5
    assert m.hit_at_k([["a"]], [set()], k=1) is None
    with pytest.raises(ValueError):
        m.hit_at_k(retrieved, relevant, k=0)


def test_mrr():
    assert m.reciprocal_rank(["x", "y", "a"], {"a"}) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(["x"], {"a"}) == 0.0
    # (1 + 1/2 + 0) / 3
    assert m.mrr([["a"], ["x", "a"], ["x"]], [{"a"}, {"a"}, {"a"}]) == pytest.approx(0.5)


def test_ndcg_known_ideal_ordering():
    rel = {"a", "b"}
    assert m.ndcg_at_k(["a", "b", "x"], rel) == pytest.approx(1.0)  # the ideal ordering
    # relevant at ranks 2 and 3: (1/log2 3 + 1/log2 4) / (1 + 1/log2 3)
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k(["x", "a", "b"], rel) == pytest.approx(expected)
    assert m.ndcg_at_k(["x", "y"], rel) == 0.0
    assert m.ndcg_at_k(["a", "a"], {"a"}) == pytest.approx(1.0)  # a repeated id earns nothing twice
    assert m.ndcg_at_k(["x"] * 10 + ["a"], {"a"}, k=10) == 0.0  # beyond the cut-off
    assert m.mean_ndcg([["a"], ["x", "a"]], [{"a"}, {"a"}]) == pytest.approx((1 + 1 / math.log2(3)) / 2)


def test_code_accuracy():
    pred = [["E11.22", "N18.3"], ["N18.3", "e1122"], ["I10"], ["Z79.4"]]
    exp = [["E1122"], ["E11.22"], ["E11.9"], []]  # the last expects no code: left out
    assert m.code_accuracy(pred, exp) == {"top1": pytest.approx(1 / 3), "any": pytest.approx(2 / 3)}
    assert m.code_match([], ["E11.9"]) == {"top1": 0.0, "any": 0.0}


def test_hallucinated_code_rate():
    codes = [[{"code": "E11.9", "verified": True}], [{"code": "E11.99", "verified": False},
                                                     {"code": "I10", "verified": True}], []]
    assert m.hallucinated_code_rate(codes) == pytest.approx(1 / 3)
    assert m.hallucinated_code_rate([[], []]) is None


def test_fact_recall():
    answer = "E11.22 (ICD-10-CM) means \"Type 2 diabetes mellitus with diabetic CKD\" [1]. Use   additional code [2]."
    facts = [["type 2 diabetes mellitus"], ["use additional code"], ["Z79.4", "insulin"]]
    assert m.fact_recall(answer, facts) == pytest.approx(2 / 3)
    assert m.fact_recall(answer, []) is None
    assert m.fact_recall("Use additional code to identify any activity [1].", [["identify any activity."]]) == 1.0
    assert m.mean_fact_recall([answer, "nothing"], [facts, [["x"]]]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        m.mean_fact_recall([answer], [facts, facts])


def test_citation_validity_and_support():
    answer = "E11.9 means type 2 diabetes without complications [1]. Insulin is Z79.4 [2]. Orphan claim [7]."
    assert m.citation_validity(answer, {1, 2}) == pytest.approx(2 / 3)
    assert m.citation_validity("No citations.", {1}) is None
    passages = {1: "E11.9 Type 2 diabetes mellitus without complications",
                2: "Z79.4 Long term (current) use of insulin"}
    # sentence 3 cites a passage that does not exist: unsupported
    assert m.citation_support(answer, passages) == pytest.approx(2 / 3)
    assert m.cited_sentences("A [1][2]. B.") == [("A .", [1, 2])]


def test_refusal_scores():
    refused = [True, True, False, False, True]
    answerable = [False, True, False, True, False]
    assert m.refusal_scores(refused, answerable) == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3)}
    assert m.refusal_scores([False], [True]) == {"precision": None, "recall": None}
    with pytest.raises(ValueError):
        m.refusal_scores([True], [True, False])


def test_latency_percentiles():
    assert m.percentile([10, 20, 30, 40], 50) == 25.0
    assert m.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert m.latency([]) == {"p50_ms": None, "p95_ms": None}
    with pytest.raises(ValueError):
        m.percentile([1], 101)


def test_unequal_lengths_rejected():
    for f in (lambda: m.mrr([["a"]], []), lambda: m.code_accuracy([[]], [[], []]),
              lambda: m.hit_at_k([["a"]], [{"a"}, {"b"}], 1)):
        with pytest.raises(ValueError):
            f()
