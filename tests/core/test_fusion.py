import pytest

from casepilot.fusion import max_normalized, rrf, weighted_fusion


def test_rrf_rewards_agreement():
    fused = rrf([["a", "b", "c"], ["b", "c", "a"]], k=60)
    assert fused[0][0] == "b"
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_rrf_weights_and_validation():
    assert rrf([["a"], ["b"]], weights=[1, 3])[0][0] == "b"
    with pytest.raises(ValueError):
        rrf([["a"]], k=0)
    with pytest.raises(ValueError):
        rrf([["a"], ["b"]], weights=[1])


def test_max_normalized():
    assert max_normalized([("a", 2.0), ("b", 4.0)]) == {"a": 0.5, "b": 1.0}
    assert max_normalized([]) == {}
    assert max_normalized([("a", 0.0), ("b", -1.0)]) == {"a": 0.0, "b": 0.0}


def test_weighted_fusion_keeps_score_gaps():
    bm25 = [("a", 10.0), ("b", 9.5)]
    dense = [("b", 0.9), ("a", 0.3)]
    fused = dict(weighted_fusion([bm25, dense], [0.5, 0.5]))
    assert fused["b"] > fused["a"]
    with pytest.raises(ValueError):
        weighted_fusion([bm25], [0.5, 0.5])
