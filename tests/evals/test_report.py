"""Summaries, thresholds and reports from hand-made results (no model, no index)."""

import json

from evals.cli import load_thresholds
from evals.datasets import EvalItem
from evals.judge import LLMJudge, parse_scores
from evals.report import load_run, write_run
from evals.runner import Runner, check_thresholds, implied_requirements, score, skip_reason, summarize


class Canned:
    """A fake answerer returning a fixed `done` payload."""

    def __init__(self, done):
        self.done = done

    def answer(self, message, history=None):
        return self.done


ITEM = EvalItem(id="x", question="What is E11.9?", intent="code_lookup", category="icd10cm_lookup",
                expected_codes=["E11.9"], expected_facts=[["without complications"]],
                expected_evidence=["icd10cm:E119"])
GOOD = {"answer": 'E11.9 means "Type 2 diabetes mellitus without complications" [1].', "answered": True,
        "citations": [{"n": 1, "id": "icd10cm:E119", "snippet": "E11.9 Type 2 diabetes mellitus without complications"}],
        "codes": [{"code": "E11.9", "system": "icd10cm", "verified": True}], "notices": [], "intent": "code_lookup"}
BAD = {"answer": "Maybe E11.99 [2].", "answered": True, "citations": [{"n": 1, "id": "other", "snippet": "x"}],
       "codes": [{"code": "E11.99", "system": "icd10cm", "verified": False}], "notices": []}


def test_score_good_and_bad():
    s = score(ITEM, GOOD, {1: GOOD["citations"][0]["snippet"]})
    assert s["correct"] == 1.0 and s["rr"] == 1.0 and s["code_top1"] == 1.0 and s["citation_support"] == 1.0
    b = score(ITEM, BAD, {1: "x"})
    assert b["correct"] == 0.0 and b["rr"] == 0.0 and b["citation_validity"] == 0.0 and b["codes_unverified"] == 1


def test_unanswerable_and_skips():
    item = EvalItem(id="u", question="weather?", intent="guideline", category="out_of_scope", answerable=False)
    assert score(item, {"answer": "", "answered": False}, {})["correct"] == 1.0
    tab = EvalItem(id="t", question="MUE for 20610?", intent="units", category="mue", requires=["mue"])
    assert "mue" in skip_reason(tab, set())
    assert skip_reason(tab, {"mue"}) is None


def test_a_lookup_of_hcpcs_codes_the_index_does_not_hold_needs_the_hcpcs_file():
    item = EvalItem(id="h", question="hcpcs J3301?", intent="code_lookup", category="lookup", expected_codes=["J3301"])
    knows = {"G0439"}.__contains__
    assert "hcpcs" in skip_reason(item, set(), knows) and skip_reason(item, {"hcpcs"}, knows) is None
    # a HCPCS code the corpus defines, another code set's code, or another intent: nothing implied
    for other in (item.model_copy(update={"expected_codes": ["G0439"]}),
                  item.model_copy(update={"expected_codes": ["E11.9"]}),
                  item.model_copy(update={"intent": "description_to_code"})):
        assert implied_requirements(other, knows) == [] and skip_reason(other, set(), knows) is None


def test_a_lookup_of_cpt_codes_without_a_summary_needs_the_licensed_cpt_file():
    item = EvalItem(id="c", question="97597 ?", intent="code_lookup", category="lookup", expected_codes=["97597"])
    knows = {"99213", "0591T"}.__contains__
    assert "cpt" in skip_reason(item, set(), knows) and skip_reason(item, {"cpt"}, knows) is None
    # a CPT code the corpus summarises (category III too), or codes of two sets: nothing implied
    for other in (item.model_copy(update={"expected_codes": ["99213"]}),
                  item.model_copy(update={"expected_codes": ["0591T"]}),
                  item.model_copy(update={"expected_codes": ["97597", "E11.9"]})):
        assert implied_requirements(other, knows) == [], other.expected_codes


def test_summary_thresholds_and_report(tmp_path):
    results = Runner(Canned(GOOD), Canned(BAD)).run([ITEM, ITEM.model_copy(update={"id": "y"})])
    summary = summarize(results, {"run": "t"})
    cp, base = summary["systems"]["casepilot"], summary["systems"]["baseline"]
    assert cp["accuracy"] == 1.0 and base["accuracy"] == 0.0 and base["hallucinated_code_rate"] == 1.0
    assert check_thresholds(summary, {"min": {"accuracy": 0.9}, "max": {"hallucinated_code_rate": 0.0}}) == []
    fails = check_thresholds(summary, {"min": {"accuracy": 0.9}}, system="baseline")
    assert fails and "accuracy" in fails[0]
    paths = write_run(tmp_path / "r1", results, summary)
    s2, r2 = load_run(tmp_path / "r1")
    assert s2 == json.loads(json.dumps(summary)) and len(r2) == 2
    page = write_run(tmp_path / "r2", results, summary, previous=s2)["html"].read_text()
    assert "previous CasePilot" in page and page.count("<svg") == 4
    assert "| Accuracy (item correct) | 1.000 | 0.000 |" in paths["markdown"].read_text()


def test_each_held_out_writer_is_reported_beside_the_pooled_held_out_split():
    items = [ITEM.model_copy(update={"id": "t", "tags": ["coders"]}),
             ITEM.model_copy(update={"id": "h1", "tags": ["heldout"]}),
             ITEM.model_copy(update={"id": "h2", "tags": ["heldout", "heldout_b"]})]
    results = Runner(Canned(GOOD), Canned(BAD)).run(items)
    results[1]["casepilot"]["scores"]["correct"] = 0.0  # the first writer's item fails
    splits = summarize(results, {"run": "t"})["splits"]
    assert splits["tuning"]["casepilot"]["items"] == 1 and splits["heldout"]["casepilot"]["items"] == 2
    assert splits["heldout"]["casepilot"]["accuracy"] == 0.5
    assert splits["heldout/heldout"]["casepilot"]["accuracy"] == 0.0
    assert splits["heldout/heldout_b"]["casepilot"]["accuracy"] == 1.0
    # with one held-out writer there is nothing to break down
    assert "heldout/heldout" not in summarize(results[:2], {"run": "t"})["splits"]


def test_thresholds_file_has_both_tables():
    for name in ("full", "ci"):
        t = load_thresholds(name)
        assert t["min"] and t["max"]


def test_judge_with_a_fake_model():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    judge = LLMJudge(FakeListChatModel(responses=['{"correctness": 0.9, "faithfulness": 2}', "no json"]))
    assert judge.score(ITEM, "E11.9 [1].", {1: "E11.9 ..."}) == {"correctness": 0.9, "faithfulness": 1.0}
    assert judge.score(ITEM, "x", {}) == {"correctness": None, "faithfulness": None}
    assert parse_scores('{"correctness": "a"}') == {"correctness": None, "faithfulness": None}
