"""The widget in modules (issue 14, item 6) in Chromium: the one-line classic embed imports the ES modules, across
origins too (the keyed setup, where the access middleware grants nothing off /v1), and the request limits are
the server's (GET /widget-config), with safe defaults when it does not answer."""

from __future__ import annotations

import json
from pathlib import Path

from tests.browser.conftest import ScriptedChatModel, Widget, open_host_page, sse, words

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
MODULES = sorted(p.name for p in (STATIC / "widget").glob("*.js"))
LONG_ANSWER = words("CPT 99213 is an office or other outpatient visit for an established patient [1]. " * 12)


def _watch(page):
    """(chat request bodies, {path: response} of the widget's files) as the page makes them."""
    bodies, files = [], {}
    page.on("request", lambda r: bodies.append(r.post_data) if r.url.endswith("/v1/chat") and r.method == "POST"
            else None)
    page.on("response", lambda r: files.__setitem__(r.url.split("/", 3)[3], r) if "/widget" in r.url else None)
    return bodies, files


def _maxlength(page, value: str):
    page.wait_for_function("v => { const h = document.querySelector('casepilot-widget');"
                           " return h && h.shadowRoot.querySelector('textarea').getAttribute('maxlength') === v; }",
                           arg=value, timeout=10_000)


def test_the_modules_load_as_javascript_from_the_loader(site, page):
    page, watch = page
    _, files = _watch(page)
    with page.expect_response(lambda r: r.url.endswith("/widget-config")):
        page.goto(site + "/")
    w = Widget(page)
    w.launcher.wait_for()
    loaded = sorted(p.split("/", 1)[1] for p in files if p.startswith("widget/"))
    assert loaded == MODULES  # every module, each from /widget/ beside the loader
    for path, r in files.items():
        if path.endswith(".js"):
            assert r.status == 200, path
            assert r.headers["content-type"].split(";")[0] in ("application/javascript", "text/javascript"), path
    assert "widget-config" in files and files["widget-config"].status == 200
    # The module script is what mounted the widget: no global names it, no script of ours in the page but the loader.
    assert page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))") == ["/widget.js"]
    assert not watch.errors, watch.errors


def test_cross_origin_embed_with_keys_loads_and_answers(scripted_site, new_page, host_pages):
    """The page is on another origin (localhost:P, the API on 127.0.0.1:Q) and access is by key: the middleware
    grants no CORS off /v1, so the modules and the config carry their own ``*``."""
    site_origin = host_pages.origin("localhost")
    base = scripted_site(None, api_keys=f"pk_mod={site_origin}")
    page, watch = new_page()
    bodies, files = _watch(page)
    url = open_host_page(page, host_pages, base, path="/modules-keyed.html", key="pk_mod", title="Coding help")
    assert page.evaluate("location.origin") == site_origin != base
    w = Widget(page)
    assert w.launcher.inner_text().strip() == "Ask Coding help"
    w.ask("What is CPT code 99213?")
    msg = w.wait_state("done")
    assert "99213" in msg.locator(".body").inner_text()
    assert msg.locator(".codes li.verified").count() >= 1
    for m in MODULES:
        r = files[f"widget/{m}"]
        assert r.status == 200 and r.headers["access-control-allow-origin"] == "*", m
    assert files["widget-config"].headers["access-control-allow-origin"] == "*"
    # (The footer's /readyz is refused across origins when access is by key, as before: the stream's meta fills it.)
    assert not [e for e in watch.errors if "/widget" in e or "module" in e.lower()], watch.errors
    assert "Code sets:" in w.locator("footer").inner_text()
    assert url.startswith(site_origin) and len(bodies) == 1


def test_limits_come_from_the_server(scripted_site, new_page, host_pages):
    """Lower limits on the server: the widget cuts the question, the history's turns and each turn to them, and
    every request is answered (the server would refuse one over its limits with a 422)."""
    base = scripted_site(ScriptedChatModel(tokens=LONG_ANSWER), max_message_chars=60, max_history_turns=3,
                         max_turn_chars=50)
    page, watch = new_page()
    bodies, _ = _watch(page)
    open_host_page(page, host_pages, base, path="/limits.html", code="99213")
    _maxlength(page, "60")
    w = Widget(page)
    long_question = "What is CPT code 99213 and when is it billed instead of 99214? " * 4
    for q in (long_question, "and with modifier 25?", "and for a new patient?"):
        w.ask(q)
        w.wait_state("done")
    sent = [json.loads(b) for b in bodies]
    assert len(sent) == 3 and w.answers().count() == 3
    assert sent[0]["message"] == long_question.strip()[:60]
    context = {"role": "user", "content": "My question is about CPT 99213."}
    for body in sent:
        assert len(body["message"]) <= 60
        assert len(body["history"]) <= 3 and body["history"][0] == context  # the page's code stays first
        assert all(len(t["content"]) <= 50 for t in body["history"])
    assert [t["role"] for t in sent[2]["history"]] == ["user", "user", "assistant"]  # context + the latest two
    assert sent[2]["history"][1]["content"] == "and with modifier 25?"
    assert sent[2]["history"][2]["content"].startswith("CPT 99213 is an office")


def test_history_fits_the_servers_body_limit(scripted_site, new_page, host_pages):
    """Turns may be long (the server's default is 20,000 characters each): the oldest go until the body fits."""
    base = scripted_site(ScriptedChatModel(tokens=LONG_ANSWER), max_body_bytes=1800, max_message_chars=3999)
    page, watch = new_page()
    bodies, _ = _watch(page)
    open_host_page(page, host_pages, base, path="/body-limit.html")
    _maxlength(page, "3999")  # the server's limits have arrived
    w = Widget(page)
    for q in ("What is CPT code 99213?", "and with modifier 25?", "and for a new patient?"):
        w.ask(q)
        w.wait_state("done")
    sizes = [len(b.encode()) for b in bodies]
    assert len(sizes) == 3 and all(s <= 1800 for s in sizes), sizes
    histories = [json.loads(b)["history"] for b in bodies]
    assert [t["role"] for t in histories[1]] == ["user", "assistant"]  # one answer of ~1,000 bytes fits
    # two do not: the oldest exchange went, the latest is whole
    assert [t["content"] for t in histories[2]][:1] == ["and with modifier 25?"], histories[2]
    assert [t["role"] for t in histories[2]] == ["user", "assistant"]


def test_defaults_when_the_config_cannot_be_read(site, new_page):
    """A server without /widget-config (an older one) or a broken answer: the old safe limits, and it still works."""
    done = sse(("meta", {"conversation_id": "c-d", "intent": "x", "code_sets": {}}), ("token", {"text": "Ok."}),
               ("done", {"answer": "Ok.", "citations": [], "codes": [], "timings_ms": {}}))
    for name, handler in (("gone", lambda r: r.abort("connectionrefused")),
                          ("bad", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(
                              {"max_message_chars": "lots", "max_history_turns": -1, "max_turn_chars": 1.5}))),
                          ("404", lambda r: r.fulfill(status=404, content_type="application/json", body="{}"))):
        page, watch = new_page()
        page.route("**/widget-config", handler)
        page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=done))
        bodies, _ = _watch(page)
        with page.expect_event("requestfailed" if name == "gone" else "requestfinished",
                               lambda r: r.url.endswith("/widget-config")):
            page.goto(site + "/")
        w = Widget(page)
        w.ask("x" * 4100)
        w.wait_state("done")
        assert w.input.get_attribute("maxlength") == "4000", name
        assert len(json.loads(bodies[0])["message"]) == 4000, name
