"""The coverage verdict card: verdict, article, dates, jurisdiction and the rows behind it, from the server's
``done.verdict`` (a real answer over MCD fixture files), rendered as text only."""

from __future__ import annotations

from pathlib import Path

from casepilot.tables import coverage as cov
from casepilot.tables import tables_path
from ingest.registry import load_table_for
from tests.browser.conftest import Widget, shot, sse
from tests.ingest.mcd_fixtures import article_tables, write_download

CARD = "casepilot-widget .msg.assistant .cov"


def test_a_real_coverage_answer_shows_its_verdict_card(site, page, slice_index, tmp_path):
    page, watch = page
    tables = tables_path(slice_index.data_dir)
    assert not tables.exists()
    try:
        load_table_for("mcd", write_download(tmp_path, "article", article_tables()), slice_index)
        page.goto(site + "/")
        w = Widget(page)
        w.ask("Is M17.11 covered for 20610?")
        w.wait_state("done")
        card = page.locator(CARD)
        card.wait_for()
        assert card.get_attribute("class") == "cov not_decided" and card.get_attribute("role") == "region"
        assert card.locator("h3").inner_text() == "Medicare coverage: 20610 with M17.11"
        assert card.locator(".verdict").inner_text() == "not decided"
        assert "no covered group 2" in card.locator(".reason").inner_text()
        art = card.locator(".articles li[data-id=A52420]")
        assert "Hyaluronans Intra-articular Injections of" in art.inner_text()
        assert "in effect since 2026-04-01" in art.locator(".dates").inner_text()
        assert art.locator(".where").inner_text() == "Novitas Solutions, Inc. (12101), states DC"
        assert art.locator("a").get_attribute("href").endswith("articleId=52420&ver=64")
        card.locator(".rows summary").click()
        rows = card.locator(".rows li").all_inner_texts()
        assert any(r.startswith("article_x_icd10_covered.csv line 3: ") and "M17.11" in r for r in rows)
        assert any(r.startswith("article_x_hcpc_code.csv line 18: ") and "20610" in r for r in rows)
        assert not watch.errors, watch.errors
        shot(page, "widget-coverage-card.png")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(tables) + suffix).unlink(missing_ok=True)


def test_card_text_from_the_tables_is_never_markup(site, page, tmp_path):
    """A hostile title or row from a downloaded file shows as text; other jurisdictions' articles are set apart."""
    from ingest.mcd import load_table

    page, watch = page
    t = article_tables()
    for r in t["article.csv"]:
        if r["article_id"] == "52420":
            r["title"] = "Hyaluronans &lt;img src=x onerror=alert(1)&gt; <b>bold</b>"
    load_table(tmp_path / "data", write_download(tmp_path, "article", t))
    verdict = cov.check(tables_path(tmp_path / "data"), "J7321", "M17.11", "2026-11-29", state="MN").to_dict()
    done = {"answer": "Not addressed [1].", "citations": [], "codes": [], "verdict": verdict, "timings_ms": {}}
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=sse(
        ("meta", {"conversation_id": "c-cov", "intent": "coverage", "code_sets": {}}),
        ("token", {"text": "Not addressed."}), ("done", done))))
    page.goto(site + "/")
    w = Widget(page)
    w.ask("Is M17.11 covered for J7321 in Minnesota?")
    w.wait_state("done")
    card = page.locator(CARD)
    assert card.locator(".verdict").inner_text() == "not addressed"
    assert "in Minnesota" in card.locator("p").first.inner_text()
    others = card.locator(".others").inner_text()
    assert others == "Not the answer here: A52420 (another jurisdiction)"
    assert card.locator("img").count() == 0 and card.locator("b").count() == 0
    assert watch.dialogs == [] and not watch.errors
