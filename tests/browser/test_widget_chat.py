"""The widget in Chromium against the real app (grounded answerer over the slice index)."""

from __future__ import annotations

import json

import pytest

from api import feedback_store
from tests.browser.conftest import Widget, no_leaks, open_host_page, shot

Q_99213 = "What is CPT code 99213?"


def _chat_bodies(page):
    """Record the JSON body of every POST /v1/chat the page sends."""
    bodies = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/v1/chat")
            and r.method == "POST" else None)
    return bodies


def test_demo_page_streams_answer_with_citations(site, page):
    page, watch = page
    bodies = _chat_bodies(page)
    with no_leaks(page, watch):
        page.goto(site + "/")
        w = Widget(page)
        w.launcher.wait_for()
        assert w.launcher.get_attribute("aria-expanded") == "false"
        shot(page, "widget-desktop-closed.png")
        w.open()
        assert w.launcher.get_attribute("aria-expanded") == "true"
        # Starter questions are offered before the first question.
        assert w.locator(".starters button").count() >= 2
        w.ask(Q_99213)
        streaming = w.last()
        assert streaming.get_attribute("data-state") in ("streaming", "done")
        msg = w.wait_state("done")
        text = msg.locator(".body").inner_text()
        assert "99213" in text
        # Citations arrived: markers in the text and a sources list behind a toggle.
        cites = msg.locator(".body .cite")
        assert cites.count() >= 1
        toggle = msg.locator(".sources .toggle")
        assert toggle.is_visible() and "sources" in toggle.inner_text().lower()
        # Codes stand out.
        assert msg.locator(".body .code", has_text="99213").count() >= 1
        assert msg.locator(".codes li.verified").count() >= 1
        # The aria-live region carries the answer for screen readers.
        live = w.locator("#cp-live").inner_text()
        assert "99213" in live
        # Footer names the code set versions (from the meta event).
        footer = w.locator("footer").inner_text()
        assert "Code sets:" in footer

        # Open a citation: the sources list opens and the source takes focus with title, source and snippet.
        first = cites.first
        n = first.get_attribute("data-n")
        first.click()
        item = msg.locator(f'.sources li[data-n="{n}"]')
        assert item.is_visible()
        assert item.locator(".src-title").inner_text().strip()
        assert item.locator(".src-snippet").inner_text().strip()
        assert toggle.get_attribute("aria-expanded") == "true"
        focused = page.evaluate("document.querySelector('casepilot-widget').shadowRoot.activeElement.dataset.n")
        assert focused == n
        shot(page, "widget-desktop.png")

        # Follow-up: the history goes along and a second answer arrives.
        w.ask("and with modifier 25?")
        msg2 = w.wait_state("done")
        assert w.answers().count() == 2
        assert msg2.locator(".body").inner_text().strip()
        assert len(bodies) == 2
        assert bodies[0]["history"] == []
        assert [t["role"] for t in bodies[1]["history"]] == ["user", "assistant"]
        assert bodies[1]["history"][0]["content"] == Q_99213
        assert bodies[1].get("conversation_id")
        shot(page, "widget-desktop-followup.png")

        # New chat clears the conversation and shows the starters again.
        w.locator("header .new").click()
        assert w.answers().count() == 0
        assert w.locator(".starters button").count() >= 2
        w.ask(Q_99213)
        w.wait_state("done")
        assert bodies[2]["history"] == [] and "conversation_id" not in bodies[2]
    assert not watch.errors, watch.errors
    assert watch.hosts() <= {"127.0.0.1"}, watch.hosts()


def test_mobile_375(site, new_page):
    page, watch = new_page(viewport=(375, 740), is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(site + "/")
    w = Widget(page)
    box = w.launcher.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    shot(page, "widget-mobile-closed.png")
    w.launcher.tap()
    w.input.wait_for(state="visible")
    panel = w.panel.bounding_box()
    assert panel["x"] == 0 and abs(panel["width"] - 375) < 1 and abs(panel["height"] - 740) < 1
    w.ask(Q_99213)
    msg = w.wait_state("done")
    assert "99213" in msg.locator(".body").inner_text()
    # Nothing overflows sideways.
    assert page.evaluate("document.querySelector('casepilot-widget').shadowRoot.querySelector('.log').scrollWidth") <= 375
    shot(page, "widget-mobile.png")
    # The panel covers the page, so Tab cycles inside it.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "CASEPILOT-WIDGET"
    w.locator("header .close").tap()
    assert not w.panel.is_visible() and w.launcher.is_visible()


def test_data_code_context_from_a_third_party_page(site, page, host_pages):
    page, watch = page
    bodies = _chat_bodies(page)
    open_host_page(page, host_pages, site, title="Coding help", code="99214")
    w = Widget(page)
    assert w.launcher.inner_text().strip() == "Have a question about CPT 99214?"
    w.open()
    assert "CPT 99214" in w.locator("header").inner_text()
    # the header shows the page's data-title (a link-parsing pattern once shadowed it)
    assert w.locator("#cp-title").inner_text().startswith("Coding help")
    w.ask("what is it used for?")
    msg = w.wait_state("done")
    assert "99214" in msg.locator(".body").inner_text()
    assert bodies[0]["history"][0] == {"role": "user", "content": "My question is about CPT 99214."}
    # Cross-origin: the page is on thirdparty.localhost, the API on 127.0.0.1 (CORS open without keys).
    assert page.evaluate("location.origin") == host_pages.origin()
    shot(page, "widget-desktop-code-context.png")


def test_keyboard_and_labels(site, page):
    page, watch = page
    page.goto(site + "/")
    w = Widget(page)
    w.launcher.wait_for()
    # Reach the launcher by keyboard and open it.
    for _ in range(10):
        page.keyboard.press("Tab")
        active = page.evaluate("(() => { const r = document.querySelector('casepilot-widget').shadowRoot;"
                               " return r.activeElement && r.activeElement.className; })()")
        if active == "launcher":
            break
    assert active == "launcher"
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('casepilot-widget').shadowRoot.activeElement.id") == "cp-input"
    # Every control has an accessible name; the panel is a labelled dialog; there are live regions.
    unnamed = page.evaluate("""(() => {
        const r = document.querySelector('casepilot-widget').shadowRoot;
        return [...r.querySelectorAll('button, textarea')].filter(el => {
            if (el.hidden || el.closest('[hidden]')) return false;
            const label = el.getAttribute('aria-label') || el.textContent.trim()
                || (el.id && r.querySelector('label[for="' + el.id + '"]'));
            return !label; }).map(el => el.outerHTML); })()""")
    assert unnamed == []
    assert w.panel.get_attribute("role") == "dialog" and w.panel.get_attribute("aria-labelledby") == "cp-title"
    assert w.locator("#cp-live").get_attribute("aria-live") == "polite"
    assert w.locator("#cp-status").get_attribute("role") == "status"
    page.keyboard.type(Q_99213)
    page.keyboard.press("Enter")
    w.wait_state("done")
    # Escape closes and gives focus back to the launcher.
    page.keyboard.press("Escape")
    assert not w.panel.is_visible()
    assert page.evaluate("document.querySelector('casepilot-widget').shadowRoot.activeElement.className") == "launcher"


def test_host_page_untouched(site, page, host_pages):
    page, watch = page
    page.goto(host_pages.add("/blank.html", "<!doctype html><html><head><style>body{font-family:serif;"
                             "color:rgb(10, 20, 30)} button{background:rgb(200, 0, 0)}</style></head>"
                             "<body><button id=hb>host</button></body></html>"))
    before = page.evaluate("Object.getOwnPropertyNames(window)")
    style_before = page.evaluate("getComputedStyle(document.body).cssText || [...getComputedStyle(document.body)]"
                                 ".map(p => p + getComputedStyle(document.body).getPropertyValue(p)).join(';')")
    assert page.evaluate("""base => new Promise(res => { const s = document.createElement('script');
        s.src = base + '/widget.js'; s.dataset.api = base; s.onload = () => res('ok'); s.onerror = () => res('error');
        setTimeout(() => res('timeout'), 10000); document.body.appendChild(s); })""", site) == "ok"
    Widget(page).launcher.wait_for()
    after = page.evaluate("Object.getOwnPropertyNames(window)")
    assert sorted(set(after) - set(before)) == []
    style_after = page.evaluate("getComputedStyle(document.body).cssText || [...getComputedStyle(document.body)]"
                                ".map(p => p + getComputedStyle(document.body).getPropertyValue(p)).join(';')")
    assert style_after == style_before
    assert page.evaluate("getComputedStyle(document.getElementById('hb')).backgroundColor") == "rgb(200, 0, 0)"
    # ...and the host's `button {}` rule does not reach the widget's buttons.
    bg = page.evaluate("getComputedStyle(document.querySelector('casepilot-widget').shadowRoot"
                       ".querySelector('.launcher')).backgroundColor")
    assert bg != "rgb(200, 0, 0)"
    assert page.evaluate("document.styleSheets.length") == 1


def test_feedback_and_copy(site, new_page, slice_index):
    page, watch = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(site + "/")
    w = Widget(page)
    w.ask(Q_99213)
    msg = w.wait_state("done")
    before = feedback_store.rows(slice_index.data_dir)
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as resp:
        msg.locator(".actions .up").click()
    assert resp.value.status == 201
    assert msg.locator(".actions .up").get_attribute("aria-pressed") == "true"
    rows = feedback_store.rows(slice_index.data_dir)
    assert len(rows) == len(before) + 1
    rec = rows[-1]
    assert rec["rating"] == "up" and rec["message_index"] == 0 and rec["conversation_id"]
    assert "99213" not in json.dumps(rec)  # no message text stored by default
    msg.locator(".actions .copy").click()
    page.wait_for_function("document.querySelector('casepilot-widget').shadowRoot"
                           ".querySelector('#cp-status').textContent.includes('copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "99213" in copied and "Sources:" in copied


@pytest.mark.parametrize("path", ["/widget.js", "/"])
def test_static_files_served(site, page, path):
    page, _ = page
    r = page.request.get(site + path)
    assert r.ok
    body = r.text()
    if path == "/widget.js":
        assert "innerHTML" not in body.replace("no innerHTML", "")
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in body.replace("https://HOST", "")
    else:
        assert '<script src="/widget.js"' in body and "http" not in body.split("<body>")[1].replace("https://HOST", "")
