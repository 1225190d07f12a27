"""The widget's pure functions, imported as the ES modules they are (same origin, in Chromium): code chips from the
server's list, the "unchecked" shape while an answer streams, and the history kept within the server's limits."""

from __future__ import annotations

import pytest

RENDER = """async ([base, text, codes]) => {
  const md = await import(base + '/widget/markdown.js');
  const div = document.createElement('div');
  md.renderMarkdown(text, div, {text, codes: codes === null ? null : md.codeIndex(codes), base,
                                cite: n => document.createTextNode('[' + n + ']')});
  return {chips: [...div.querySelectorAll('.code')].map(e => [e.firstChild.textContent, e.className]),
          text: div.textContent};
}"""

HISTORY = """async ([base, context, past, question, limits]) => {
  const st = await import(base + '/widget/state.js');
  return st.requestHistory(context, past, question, limits);
}"""


@pytest.fixture
def widget_page(site, page):
    page, _ = page
    page.goto(site + "/")
    return page, site


def _render(widget_page, text, codes, same_text=True):
    page, site = widget_page
    out = page.evaluate(RENDER, [site, text, codes])
    if same_text:
        assert out["text"] == text  # a chip wraps its code and changes no text
    return out["chips"]


def test_after_done_only_the_servers_codes_are_chips(widget_page):
    codes = [{"code": "E11.22", "system": "icd10cm", "verified": True, "supported": True},
             {"code": "25", "system": "modifier", "verified": True},
             {"code": "J44.9", "system": "icd10cm", "verified": False},
             {"code": "<img src=x onerror=alert(1)>", "verified": False}]
    text = ("Use E1122 or e11.22, not XE11.22 or E11.221; modifier 25 for 25 minutes; **J44.9** and "
            "E11.22-E11.22. Not 99213 (unlisted), not <img src=x onerror=alert(1)>. Last: E11.22.")
    assert _render(widget_page, text, codes, same_text=False) == [
        ["E1122", "code verified"],  # the server reads E1122 as E11.22
        ["e11.22", "code verified"],  # and any case
        ["J44.9", "code unverified"],
        ["E11.22", "code verified"], ["E11.22", "code verified"],  # both ends of a range
        ["E11.22", "code verified"],  # before a full stop
    ]  # not glued (XE11.22), not a longer code (E11.221), no modifier (25), nothing unlisted or not a code


def test_while_streaming_code_shapes_are_unchecked_never_verdicts(widget_page):
    text = "Report E11.22, U07.1, 99213, 0DTJ4ZZ, J0135 and 0001U; not WARNING, 1234567, A1C, ABC99213 or E11.2X9Z1."
    chips = _render(widget_page, text, None)
    assert chips == [[c, "code unchecked"] for c in ("E11.22", "U07.1", "99213", "0DTJ4ZZ", "J0135", "0001U")]


def test_no_codes_listed_no_chips(widget_page):
    assert _render(widget_page, "E11.22 and 99213.", []) == []


CTX = [{"role": "user", "content": "My question is about CPT 99213."}]
PAST = [{"role": r, "content": f"{r} {i}"} for i in range(6) for r in ("user", "assistant")]
LIMITS = {"maxMessageChars": 4000, "maxHistoryTurns": 5, "maxTurnChars": 4000, "maxBodyBytes": 256000}


@pytest.mark.parametrize("limits, context, expected", [
    pytest.param({}, CTX, CTX + PAST[-4:], id="context-and-the-latest"),
    pytest.param({}, [], PAST[-5:], id="no-context"),
    pytest.param({"maxHistoryTurns": 1}, CTX, CTX, id="room-for-the-context-only"),
    pytest.param({"maxHistoryTurns": 0}, CTX, [], id="no-history-at-all"),
    pytest.param({"maxTurnChars": 4}, [], [{**t, "content": t["content"][:4]} for t in PAST[-5:]], id="turns-cut"),
    pytest.param({"maxBodyBytes": 300}, CTX, CTX + PAST[-2:], id="oldest-dropped-to-fit-the-body"),
    pytest.param({"maxBodyBytes": 10}, CTX, CTX, id="the-context-stays-even-over"),
])
def test_history_within_the_limits(widget_page, limits, context, expected):
    page, site = widget_page
    got = page.evaluate(HISTORY, [site, context, PAST, "and with modifier 25?", {**LIMITS, **limits}])
    assert got == expected
