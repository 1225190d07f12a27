"""The ``coverage`` eval dataset: skipped with its reason when no MCD file is loaded; with MCD fixture files
loaded, the grounded coverage answers meet every item's facts."""

from __future__ import annotations

from datetime import date

import pytest

from casepilot import router as rt
from casepilot.answer.grounded import GroundedAnswerer
from casepilot.codestore import CodeStore
from casepilot.tables import tables_path
from casepilot.passages import PassageStore
from casepilot.settings import Settings
from casepilot.verify import verify_answer
from evals.datasets import load_items
from evals.runner import Runner, loaded_sources, score
from ingest.mcd import load_table
from tests.ingest.mcd_fixtures import article_tables, ncd_tables, write_download


class CoverageOnly:
    """The grounded answerer's coverage path with verification, as the eval runner calls an engine."""

    def __init__(self, data):
        self.store = CodeStore(data / "codes.sqlite", readonly=False)
        self.answerer = GroundedAnswerer(self.store, None, PassageStore(data / "passages.sqlite"),
                                         tables=tables_path(data))

    def answer(self, message: str, history=None) -> dict:
        route = rt.route(message, history or [], self.store)
        d = self.answerer.coverage(route, message, as_of=date(2026, 11, 29))
        v = verify_answer(d.text, d.evidence.numbers(), self.store, evidence_text=d.evidence.text)
        return {"answer": v.answer, "citations": [c.to_dict() for c in d.evidence.items], "codes": v.codes,
                "answered": d.answered, "notices": d.notices, "intent": route.intent, "verdict": d.verdict}


def test_coverage_items_are_skipped_without_mcd(tmp_path):
    items = load_items(["coverage"])
    assert len(items) >= 7 and all(i.requires == ["mcd"] and i.intent == "coverage" for i in items)
    runner = Runner(engine=CoverageOnly(tmp_path), loaded=loaded_sources(Settings(data_dir=tmp_path)))
    res = runner.run_one(items[0])
    assert res["skipped"] == "needs mcd (not loaded: casepilot ingest --source mcd PATH)"


@pytest.mark.parametrize("item", load_items(["coverage"]), ids=lambda i: i.id)
def test_coverage_items_pass_on_the_fixture_files(tmp_path, item):
    for ds, t in (("article", article_tables()), ("ncd", ncd_tables())):
        load_table(tmp_path, write_download(tmp_path / "src", ds, t))
    assert "mcd" in loaded_sources(Settings(data_dir=tmp_path))
    engine = CoverageOnly(tmp_path)
    assert rt.route(item.question, [], engine.store).intent == item.intent
    done = engine.answer(item.question)
    passages = {c["n"]: c["snippet"] for c in done["citations"]}
    s = score(item, done, passages)
    assert s["correct"] == 1.0 and s["fact_recall"] == 1.0, (done["answer"], s)
    assert s["citation_validity"] == 1.0
