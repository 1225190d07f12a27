"""Streaming, stop, errors and retry, and API keys: the real app with a scripted model at the model boundary."""

from __future__ import annotations

import time

from tests.browser.conftest import ScriptedChatModel, Widget, open_host_page, shot, sse, words

Q = "What is CPT code 99213?"
SLOW = words("CPT 99213 is an office or other outpatient visit for an established patient [1]. "
             "It needs a low level of medical decision making or 20 minutes of total time [1]. "
             "Check the documentation before billing it [1].")


def _body_len(page) -> int:
    return page.evaluate("""(() => { const m = document.querySelector('casepilot-widget').shadowRoot
        .querySelectorAll('.msg.assistant .body'); return m.length ? m[m.length-1].textContent.length : 0; })()""")


def test_tokens_render_as_they_arrive(scripted_site, page):
    page, watch = page
    base = scripted_site(ScriptedChatModel(tokens=SLOW, delay_s=0.12))
    page.goto(base + "/")
    w = Widget(page)
    w.ask(Q)
    page.wait_for_function("""(() => { const r = document.querySelector('casepilot-widget').shadowRoot;
        const m = r.querySelector('.msg.assistant'); return m && m.dataset.state === 'streaming'
        && m.querySelector('.body').textContent.length > 5; })()""")
    first = _body_len(page)
    assert w.locator(".stop").is_visible() and not w.locator(".send").is_visible()
    # A citation arrives before the text that cites it, so markers are live links while streaming.
    page.wait_for_function("""(() => { const m = document.querySelector('casepilot-widget').shadowRoot
        .querySelector('.msg.assistant'); return m.dataset.state === 'streaming' && m.querySelector('.body .cite'); })()""")
    assert w.last().locator(".sources .toggle").is_visible()
    assert _body_len(page) > first
    shot(page, "widget-desktop-streaming.png")
    msg = w.wait_state("done")
    assert "established patient" in msg.locator(".body").inner_text()
    assert w.locator(".send").is_visible() and not w.locator(".stop").is_visible()
    assert msg.locator(".body .cite").count() >= 1


def test_stop_cancels_the_stream(scripted_site, page):
    page, watch = page
    model = ScriptedChatModel(tokens=SLOW * 3, delay_s=0.25)
    state = model.state
    base = scripted_site(model)
    page.goto(base + "/")
    w = Widget(page)
    w.ask(Q)
    page.wait_for_function("""(() => { const m = document.querySelector('casepilot-widget').shadowRoot
        .querySelector('.msg.assistant .body'); return m && m.textContent.length > 10; })()""")
    w.locator(".stop").click()
    msg = w.wait_state("stopped", timeout=5000)
    partial = _body_len(page)
    assert partial > 0
    assert "Stopped." in msg.inner_text()
    # The server stops generating: the model's stream is closed within a few seconds.
    deadline = time.monotonic() + 5
    while "closed_at" not in state and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "closed_at" in state
    emitted = state["emitted"]
    assert emitted < len(SLOW * 3)
    time.sleep(0.6)
    assert _body_len(page) == partial
    assert w.locator(".send").is_visible() and not w.locator(".stop").is_visible()
    # Focus stays usable: the question box has it.
    assert page.evaluate("document.querySelector('casepilot-widget').shadowRoot.activeElement.id") == "cp-input"


def test_error_event_shows_message_and_retry_works(scripted_site, page):
    page, watch = page
    model = ScriptedChatModel(tokens=SLOW, fail_after=3)
    base = scripted_site(model)
    page.goto(base + "/")
    w = Widget(page)
    w.ask(Q)
    msg = w.wait_state("error")
    alert = msg.locator(".error[role=alert]")
    assert alert.is_visible()
    text = alert.inner_text()
    assert "language model failed" in text and "llm_failed" in text
    assert "Traceback" not in text and "99213" not in text.split("(")[0]
    shot(page, "widget-desktop-error.png")
    model.fail_after = None  # the provider recovers
    msg.locator(".retry").click()
    done = w.wait_state("done")
    assert w.answers().count() == 1
    assert "established patient" in done.locator(".body").inner_text()


def test_network_error_http_error_and_cut_off_stream(site, page):
    page, watch = page
    page.goto(site + "/")
    w = Widget(page)
    page.route("**/v1/chat", lambda r: r.abort("connectionrefused"))
    w.ask(Q)
    msg = w.wait_state("error")
    assert "Could not reach CasePilot" in msg.locator(".error").inner_text()
    page.unroute("**/v1/chat")
    msg.locator(".retry").click()
    assert "99213" in w.wait_state("done").locator(".body").inner_text()

    # An HTTP error in the API's error shape.
    page.route("**/v1/chat", lambda r: r.fulfill(
        status=429, headers={"Retry-After": "7", "Access-Control-Allow-Origin": "*"}, content_type="application/json",
        body='{"error": {"code": "rate_limited", "message": "Too many requests; retry after 7 s."}}'))
    w.ask("and with modifier 25?")
    msg = w.wait_state("error")
    assert "Try again in 7 s" in msg.inner_text() and "rate_limited" in msg.inner_text()
    page.unroute("**/v1/chat")
    # A key's daily quota used up: not "too many at once" with a wait of hours in seconds.
    page.route("**/v1/chat", lambda r: r.fulfill(
        status=429, headers={"Retry-After": "30000", "Access-Control-Allow-Origin": "*"},
        content_type="application/json", body='{"error": {"code": "quota_exceeded", "message": "This API key has '
        'used its daily quota of 500 requests; it resets at 00:00 UTC, in 30000 s.", "limit": 500}}'))
    w.ask("and with modifier 57?")
    msg = w.wait_state("error")
    assert "used today's questions" in msg.inner_text() and "30000" not in msg.inner_text()
    page.unroute("**/v1/chat")

    # A stream that ends without `done`.
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=sse(
        ("meta", {"conversation_id": "c1", "intent": "x", "code_sets": {}}), ("token", {"text": "Half an answ"}))))
    w.ask("again?")
    msg = w.wait_state("error")
    assert "cut off" in msg.inner_text() and "Half an answ" in msg.locator(".body").inner_text()
    page.unroute("**/v1/chat")
    msg.locator(".retry").click()
    w.wait_state("done")


def test_unverified_codes_are_marked(scripted_site, page):
    page, watch = page
    base = scripted_site(ScriptedChatModel(tokens=words("Report 99213 for the visit [1]. Never 99999 [1].")))
    page.goto(base + "/")
    w = Widget(page)
    w.ask(Q)
    msg = w.wait_state("done")
    bad = msg.locator(".body .code.unverified")
    assert bad.count() == 1 and bad.inner_text().startswith("99999")
    assert msg.locator(".body .unverified-mark").is_visible()
    assert msg.locator(".codes li.unverified").inner_text().endswith("unverified")
    good = msg.locator(".body .code:not(.unverified)", has_text="99213")
    assert good.count() >= 1
    colors = page.evaluate("""(() => { const r = document.querySelector('casepilot-widget').shadowRoot;
        const s = e => getComputedStyle(e).backgroundColor;
        return [s(r.querySelector('.body .code.unverified')), s(r.querySelector('.body .code:not(.unverified)'))]; })()""")
    assert colors[0] != colors[1]
    shot(page, "widget-desktop-unverified.png")


def test_api_keys_and_origins(scripted_site, new_page, host_pages):
    site_origin, copycat = host_pages.origin("localhost"), host_pages.origin("127.0.0.1")
    base = scripted_site(None, api_keys=f"pk_live={site_origin}")
    # Allowed origin with its key: works across origins.
    page, watch = new_page()
    open_host_page(page, host_pages, base, path="/keyed.html", key="pk_live")
    w = Widget(page)
    w.ask(Q)
    assert "99213" in w.wait_state("done").locator(".body").inner_text()
    assert page.evaluate("location.origin") == site_origin
    # The same key reused on another site: refused, and the widget says so.
    page2, _ = new_page()
    open_host_page(page2, host_pages, base, path="/keyed.html", host="127.0.0.1", key="pk_live")
    w2 = Widget(page2)
    w2.ask(Q)
    msg = w2.wait_state("error")
    assert "not be allowed" in msg.locator(".error").inner_text()
    # A wrong key on the allowed site: refused too.
    page3, _ = new_page()
    open_host_page(page3, host_pages, base, path="/wrong-key.html", key="nope")
    w3 = Widget(page3)
    w3.ask(Q)
    assert w3.wait_state("error").locator(".error").is_visible()
    # The server's side of it: 403 in the error shape and no CORS grant.
    r = page.request.post(base + "/v1/chat", headers={"Origin": copycat, "X-CasePilot-Key": "pk_live"},
                          data={"message": Q})
    assert r.status == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in r.headers
