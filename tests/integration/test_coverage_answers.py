"""Coverage questions in chat: the MCD verdict cited to table rows, or how to load the files; the LLM path
explains the verdict and cannot change it."""

from pathlib import Path

import pytest

from casepilot.tables import tables_path
from ingest.registry import load_table_for
from tests.api.conftest import ScriptedChatModel, asgi_client, engine_with, run, words
from tests.ingest.mcd_fixtures import article_tables, ncd_tables, write_download

pytestmark = pytest.mark.slow


def _plain(done: dict) -> str:
    """The answer without verification marks (the slice's code store holds no M17 or J73 codes)."""
    return done["answer"].replace(" [unverified code]", "")


def _drop(tables: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(tables) + suffix).unlink(missing_ok=True)


def test_coverage_questions_in_chat(engine, slice_index, tmp_path):
    tables = tables_path(slice_index.data_dir)
    assert not tables.exists()
    try:
        before = engine.answer("Is M17.11 covered for 20610?")
        assert before["intent"] == "coverage" and before["verdict"]["status"] == "not_loaded"
        assert before["answer"].startswith("The Medicare Coverage Database billing-and-coding articles")
        assert "downloads.cms.gov/medicare-coverage-database/downloads/exports/current_article.zip" in before["answer"]
        assert "casepilot ingest --source mcd PATH" in before["answer"]

        for ds, t in (("article", article_tables()), ("ncd", ncd_tables())):
            load_table_for("mcd", write_download(tmp_path, ds, t), slice_index)

        done = engine.answer("Is M17.11 covered for 20610?")
        assert done["verdict"]["verdict"] == "not_decided" and done["verdict"]["kind"] == "coverage"
        assert _plain(done).startswith("Coverage verdict for 20610 with M17.11: not decided")
        assert "no covered group 2" in done["answer"]
        assert {"code": "M17.11", "system": "icd10cm", "verified": False, "supported": True} in done["codes"]
        rows = [c for c in done["citations"] if c["kind"] == "table"]
        assert any("article_x_icd10_covered.csv" in c["title"] and "M17.11" in c["snippet"] for c in rows)
        assert any(c["url"] and "articleId=52420" in c["url"] for c in rows)
        assert "A52420" in done["answer"] and "A52420 [unverified code]" not in done["answer"]

        knee = engine.answer("Is 29877 covered with M17.11?")
        assert knee["verdict"]["verdict"] == "not_supported" and "not supported" in knee["answer"]

        cross = engine.answer("Which ICD-10-CM codes support medical necessity for J7321?")
        assert cross["verdict"]["type"] == "crosswalk" and "M17.11" in cross["answer"]
        assert "Covered ICD-10-CM codes (support medical necessity) for J7321, group 1" in _plain(cross)

        ncd = engine.answer("What does NCD 30.4 say?")
        assert ncd["verdict"]["ncd"]["retired"] is True and "terminated on 2021-01-01" in ncd["answer"]

        topic = engine.answer("Does Medicare cover knee arthroscopy for osteoarthritis?")
        assert topic["intent"] == "coverage" and "A52369" in topic["answer"] and "M17.11" in topic["answer"]
        assert "mcd:article" in engine.code_set_versions()

        from api.app import create_app

        async def post():
            async with asgi_client(create_app(slice_index, engine=engine)) as c:
                return await c.post("/v1/chat", json={"message": "Is M17.11 covered for J7321 in Minnesota?",
                                                      "stream": False})
        r = run(post())
        assert r.status_code == 200 and r.json()["verdict"]["verdict"] == "not_addressed"
        assert "not the answer for Minnesota" in r.json()["answer"]
    finally:
        _drop(tables)


def test_the_llm_explains_the_verdict_and_cannot_change_it(engine, slice_index, tmp_path):
    tables = tables_path(slice_index.data_dir)
    try:
        load_table_for("mcd", write_download(tmp_path, "article", article_tables()), slice_index)
        model = ScriptedChatModel(tokens=words("Medicare supports M17.11 with 20610 [1]."))
        llm_engine = engine_with(engine, slice_index, model)
        done = llm_engine.answer("Is M17.11 covered for 20610?")
        assert done["answerer"] == "llm"
        assert done["verdict"]["verdict"] == "not_decided"  # the model's words change nothing
        prompt = str(model.state["prompt"][-1].content)
        assert "20610 with M17.11: not decided" in prompt  # the verdict is evidence the model reads
    finally:
        _drop(tables)


def test_a_coverage_question_without_a_code_is_answered_by_the_guidance_when_no_table_answers(engine, slice_index):
    assert not tables_path(slice_index.data_dir).exists()
    foot = engine.answer("Does Medicare pay for routine foot care such as nail trimming?")
    assert foot["intent"] == "coverage" and foot["decision"] == "answer"
    assert "routine foot care" in foot["answer"].lower() and "downloads.cms.gov" not in foot["answer"]
    assert any(c["kind"] != "table" for c in foot["citations"])
    # a named NCD is the tables' to answer: the download instructions stand
    ncd = engine.answer("What does NCD 30.4 say?")
    assert ncd["verdict"]["status"] == "not_loaded" and "downloads.cms.gov" in ncd["answer"]
