"""Code chips show the server's verdict (``verified``, ``supported``) from the done event, never the widget's guess."""

from __future__ import annotations

from tests.browser.conftest import Widget, shot, sse

ANSWER = ("Report E11.22 for the diabetes [1]. Add N18.4 for the stage [1]. Never E11.99 [unverified code]. "
          "Z79.4 if insulin is used. CPT 99213 for the visit. J44.9 is mentioned.")
CODES = [
    {"code": "E11.22", "system": "icd10cm", "verified": True, "supported": True},
    {"code": "N18.4", "system": "icd10cm", "verified": True, "supported": False},
    {"code": "E11.99", "system": "icd10cm", "verified": False, "supported": False},
    {"code": "Z79.4", "system": "icd10cm", "verified": True},  # an older server: no supported field
    {"code": "99213", "system": "cpt", "verified": True, "supported": None},  # unknown
]
CITE = {"n": 1, "id": "p1", "title": "Diabetes with CKD", "source": "corpus", "kind": "guideline", "snippet": "E11.22"}

CHIPS = """sel => [...document.querySelector('casepilot-widget').shadowRoot.querySelectorAll(sel)].map(e => ({
  text: e.firstChild.textContent, full: e.innerText, cls: [...e.classList].sort().join(' '), title: e.title,
  bg: getComputedStyle(e).backgroundColor}))"""


def _ask_with_stream(site, page, *events):
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=sse(*events)))
    page.route("**/readyz", lambda r: r.fulfill(status=200, content_type="application/json", body="{}"))
    page.goto(site + "/")
    w = Widget(page)
    w.ask("What do I code for diabetes with CKD stage 4?")
    return w


def test_code_list_and_inline_chips_follow_the_servers_verdict(site, page):
    page, watch = page
    w = _ask_with_stream(site, page, ("meta", {"conversation_id": "c-v", "intent": "x", "code_sets": {}}),
                         ("citation", CITE), ("token", {"text": ANSWER}),
                         ("done", {"answer": ANSWER, "citations": [CITE], "codes": CODES, "timings_ms": {}}))
    msg = w.wait_state("done")
    items = {c["text"].split()[1]: c for c in page.evaluate(CHIPS, ".msg.assistant .codes li")}
    assert list(items) == ["E11.22", "N18.4", "E11.99", "Z79.4", "99213"]
    assert items["E11.22"]["cls"] == "verified" and items["E11.22"]["full"] == "\u2713 E11.22 (icd10cm)"
    assert items["N18.4"]["cls"] == "unsupported verified"
    assert items["N18.4"]["full"] == "\u26a0 N18.4 (icd10cm) not in the cited sources"
    assert "Not in the cited sources" in items["N18.4"]["title"]
    assert items["E11.99"]["cls"] == "unsupported unverified"
    assert items["E11.99"]["full"] == "\u26a0 E11.99 (icd10cm) not in the cited sources unverified"
    assert "Not verified" in items["E11.99"]["title"]
    for code in ("Z79.4", "99213"):  # supported unknown: no supported-mark either way
        assert items[code]["cls"] == "verified" and "not in" not in items[code]["full"], items[code]
    assert len({items[c]["bg"] for c in ("E11.22", "N18.4", "E11.99")}) == 3  # three verdicts, three looks

    inline = {c["text"]: c for c in page.evaluate(CHIPS, ".msg.assistant .body .code")}
    assert sorted(inline) == ["99213", "E11.22", "E11.99", "N18.4", "Z79.4"]
    assert "J44.9" in msg.locator(".body").inner_text()  # code-shaped, but the server did not list it: no chip
    assert inline["E11.22"]["cls"] == "code verified"
    assert inline["N18.4"]["cls"] == "code unsupported verified" and "Not in the cited sources" in inline["N18.4"]["title"]
    assert inline["E11.99"]["cls"] == "code unsupported unverified"
    assert inline["N18.4"]["bg"] != inline["E11.22"]["bg"] != inline["E11.99"]["bg"]
    shot(page, "widget-desktop-code-verdicts.png")


def test_codes_of_an_unfinished_answer_are_not_shown_as_checked(site, page):
    """Without a done event there is no verdict: code-shaped text is marked unchecked, not styled as verified."""
    page, watch = page
    text = "Report E11.22 for the diabetes. Never E11.99."
    w = _ask_with_stream(site, page, ("meta", {"conversation_id": "c-u", "intent": "x", "code_sets": {}}),
                         ("token", {"text": text}), ("error", {"code": "llm_failed", "message": "The model failed."}))
    w.wait_state("error")
    chips = page.evaluate(CHIPS, ".msg.assistant .body .code")
    assert [(c["text"], c["cls"]) for c in chips] == [("E11.22", "code unchecked"), ("E11.99", "code unchecked")]
    assert all(c["title"].startswith("Not checked") for c in chips)
    assert page.evaluate(CHIPS, ".msg.assistant .codes li") == []
