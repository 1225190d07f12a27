"""Untrusted text (model answers, source titles and snippets, versions) renders as text and runs nothing."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ScriptedChatModel, Widget, no_leaks, shot, sse, words

PAYLOADS = [
    "<script>window.__pwned = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.__pwned='img'; alert('img')\">",
    "<svg onload=\"window.__pwned='svg'; alert('svg')\"><circle r=5></circle></svg>",
    "<iframe src=\"javascript:alert('iframe')\"></iframe>",
    "<a href=\"javascript:alert('a')\">raw anchor</a>",
    "<style>*{display:none!important}</style>",
    "[click me](javascript:alert('md'))",
    "[upper](JaVaScRiPt:alert('md2'))",
    "[data](data:text/html,<script>alert('data')</script>)",
    "![tracking pixel](http://evil.example/x.png)",
    "![rel](/evil.example/y.png)",
    "[safe link](https://www.cms.gov/medicare/coding)",
    "**bold <b onmouseover=alert('b')>x</b>**",
]
ANSWER = "Here is the answer [1].\n\n" + "\n".join(f"- {p}" for p in PAYLOADS)

CHECK = """(() => {
  const r = document.querySelector('casepilot-widget').shadowRoot;
  const log = r.querySelector('.log');
  const bad = r.querySelectorAll('script, img, svg:not(.icon), iframe, style, object, embed, link, meta, [onerror], [onload], [onmouseover]');
  const hrefs = [...r.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  return {bad: bad.length, hrefs, pwned: window.__pwned === undefined ? null : String(window.__pwned),
          text: log.textContent};
})()"""


def footer_from_the_stream_only(page):
    """The widget also fills its footer from the server's /readyz (the versions of whatever index the server
    has loaded), and that answer may land before or after the stream's ``meta``: a test about the versions
    in ``meta`` gets a /readyz that names none."""
    page.route("**/readyz", lambda r: r.fulfill(status=200, content_type="application/json", body="{}"))


def _assert_inert(page, watch):
    page.wait_for_timeout(300)  # time for an onerror/onload to fire, were there any
    res = page.evaluate(CHECK)
    assert res["pwned"] is None
    assert res["bad"] == 0
    assert all(h.startswith(("http://", "https://")) for h in res["hrefs"]), res["hrefs"]
    assert not any("evil.example" in h for h in res["hrefs"] if "/x.png" in h)
    assert watch.dialogs == []
    assert not [u for u in watch.requests if "evil.example" in u]
    return res


def test_malicious_model_answer_through_the_real_api(scripted_site, page):
    page, watch = page
    base = scripted_site(ScriptedChatModel(tokens=words(ANSWER), delay_s=0.01))
    with no_leaks(page, watch):
        page.goto(base + "/")
        w = Widget(page)
        w.ask("What is CPT code 99213?")
        msg = w.wait_state("done")
        res = _assert_inert(page, watch)
        text = res["text"]
        # The markup shows as text; links that are not http(s) are dropped; images are not loaded.
        assert "<script>window.__pwned" in text and "<img src=x onerror" in text and "<svg onload" in text
        assert msg.locator(".body a", has_text="safe link").get_attribute("href") == "https://www.cms.gov/medicare/coding"
        assert msg.locator(".body a", has_text="safe link").get_attribute("rel") == "noopener noreferrer nofollow ugc"
        assert msg.locator(".body .blocked-link", has_text="click me").count() == 1
        assert msg.locator(".body .blocked-link", has_text="upper").count() == 1
        assert msg.locator(".body .img-alt", has_text="tracking pixel").count() == 1
        assert msg.locator(".body strong").count() >= 1
        # The page still works after all that.
        msg.locator(".actions .copy").click()
        shot(page, "widget-desktop-xss.png")


def test_malicious_sources_versions_and_citations(site, page):
    """Everything the stream carries is untrusted: meta, citation fields, token text, done."""
    page, watch = page
    evil_cite = {
        "n": 1, "id": "<img src=x onerror=alert('id')>",
        "title": "<img src=x onerror=\"window.__pwned='title'\">Evil title",
        "source": "<script>window.__pwned='source'</script>", "kind": "<svg onload=alert('kind')>",
        "snippet": "<svg onload=\"window.__pwned='snippet'\"></svg> snippet ![p](http://evil.example/s.png)",
        "url": "javascript:window.__pwned='url'",
    }
    ok_cite = {"n": 2, "id": "ok", "title": "Good source", "source": "corpus", "kind": "guideline",
               "snippet": "fine", "url": "https://www.cms.gov/"}
    answer = "See [1] and [2]. <img src=x onerror=alert(1)> ![x](http://evil.example/t.png)"
    body = sse(
        ("meta", {"conversation_id": "c-1", "intent": "x",
                  "code_sets": {"<img src=x onerror=alert('v')>": "<script>alert('v2')</script>"}}),
        ("citation", evil_cite), ("citation", ok_cite),
        ("token", {"text": answer}),
        ("done", {"answer": answer, "citations": [evil_cite, ok_cite],
                  "codes": [{"code": "<img src=x onerror=alert('code')>", "system": "<b>x</b>", "verified": False}],
                  "notices": ["<script>alert('notice')</script>"], "timings_ms": {}}),
    )
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=body))
    footer_from_the_stream_only(page)
    with no_leaks(page, watch):
        page.goto(site + "/")
        w = Widget(page)
        w.ask("anything")
        msg = w.wait_state("done")
        msg.locator(".body .cite").first.click()
        item = msg.locator('.sources li[data-n="1"]')
        assert item.is_visible()
        assert "Evil title" in item.inner_text() and "<img" in item.inner_text()
        assert item.locator("a").count() == 0  # javascript: URL gives no link
        assert msg.locator('.sources li[data-n="2"] a').get_attribute("href") == "https://www.cms.gov/"
        assert "<script>alert('v2')</script>" in w.locator("footer").inner_text()
        res = _assert_inert(page, watch)
        assert "<script>alert('notice')</script>" in res["text"]


def test_sse_parser_handles_crlf_cr_comments_and_multiline_data(site, page):
    """The stream parser copes with CRLF, comments (pings) and multi-line data."""
    page, watch = page
    parts = [
        ": ping\r\n\r\n",
        "event: meta\r\ndata: {\"conversation_id\": \"c2\", \"intent\": \"x\", \"code_sets\": {\"icd10cm\": \"2026\"}}\r\n\r\n",
        "event: token\ndata: {\"text\":\n",
        "data: \"Multi-line ok \\u00e9\\u4e2d.\"}\n\n",
        "event: done\rdata: {\"answer\": \"Multi-line ok \\u00e9\\u4e2d.\", \"citations\": [], \"codes\": []}\r\r",
    ]
    body = "".join(parts)
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=body))
    footer_from_the_stream_only(page)
    page.goto(site + "/")
    w = Widget(page)
    w.ask("x")
    msg = w.wait_state("done")
    assert msg.locator(".body").inner_text().strip() == "Multi-line ok é中."
    assert "icd10cm 2026" in w.locator("footer").inner_text()


def _answer_page(site, page, answer: str):
    """Open the demo page with a synthetic stream that answers ``answer`` to any question."""
    body = sse(("meta", {"conversation_id": "c-3", "intent": "x", "code_sets": {}}), ("token", {"text": answer}),
               ("done", {"answer": answer, "citations": [], "codes": [], "timings_ms": {}}))
    page.route("**/v1/chat", lambda r: r.fulfill(status=200, content_type="text/event-stream", body=body))
    footer_from_the_stream_only(page)
    page.goto(site + "/")
    return Widget(page)


LINKS = """(() => [...document.querySelector('casepilot-widget').shadowRoot.querySelectorAll('.msg.assistant .body a')]
  .map(a => { const n = a.nextSibling; return {label: a.textContent, href: a.getAttribute('href'), rel: a.rel,
    target: a.target, tag: n && n.nodeType === 1 && n.classList.contains('link-host') ? n.textContent : null}; }))()"""


def test_link_labels_cannot_pose_as_another_host(site, page):
    """A label that is not the link's host is followed by the real host; a label that names it is left alone."""
    page, watch = page
    answer = ("See [cms.gov](https://evil.example/phish), [CMS manual](https://www.cms.gov/manual), "
              "[https://cms.gov@evil.example/](https://cms.gov@evil.example/), [cm\u0455.gov](https://cm\u0455.gov/), "
              "[www.cms.gov](https://cms.gov/), [CMS.gov](https://www.cms.gov/a?b=1) and "
              "[https://www.cms.gov/medicare](https://www.cms.gov/medicare).")
    with no_leaks(page, watch):
        w = _answer_page(site, page, answer)
        w.ask("links?")
        w.wait_state("done")
        links = page.evaluate(LINKS)
    assert [(x["label"], x["tag"]) for x in links] == [
        ("cms.gov", " (evil.example)"),
        ("CMS manual", " (www.cms.gov)"),
        ("https://cms.gov@evil.example/", " (evil.example)"),
        ("cm\u0455.gov", " (xn--cm-foc.gov)"),  # a look-alike letter shows as punycode
        ("www.cms.gov", None), ("CMS.gov", None), ("https://www.cms.gov/medicare", None),
    ]
    assert links[0]["href"] == "https://evil.example/phish"
    assert all(x["rel"] == "noopener noreferrer nofollow ugc" and x["target"] == "_blank" for x in links)
    body = w.last().locator(".body").inner_text()
    assert "See cms.gov (evil.example), CMS manual (www.cms.gov)," in body
    shot(page, "widget-desktop-link-hosts.png")


RENDER_TIMING = """() => {
  window.__cp = {};
  const f = window.fetch;
  window.fetch = function (url) {
    const p = f.apply(this, arguments);
    if (String(url).indexOf('/v1/chat') >= 0) p.then(() => { window.__cp.response = performance.now(); });
    return p;
  };
  document.addEventListener('DOMContentLoaded', () => {
    const wait = setInterval(() => {
      const host = document.querySelector('casepilot-widget');
      if (!host) return;
      clearInterval(wait);
      new MutationObserver(() => {
        const m = host.shadowRoot.querySelector('.msg.assistant[data-state="done"]');
        if (m && !window.__cp.done) window.__cp.done = performance.now();
      }).observe(host.shadowRoot, {subtree: true, attributes: true, attributeFilter: ['data-state']});
    }, 5);
  });
}"""


@pytest.mark.parametrize("hostile", [
    pytest.param("[" * 20_000, id="20k-open-brackets"),
    pytest.param("[a](" * 20_000, id="20k-link-starts"),
    pytest.param("![a](" * 5_000, id="5k-image-starts"),
    pytest.param("[" + "a" * 20_000 + "](", id="long-label"),
    pytest.param("x" + " " * 20_000 + "y", id="20k-spaces"),
])
def test_hostile_text_renders_in_linear_time(site, page, hostile):
    """The time from the response to the rendered answer, measured in the page, stays small and the text intact."""
    page, watch = page
    page.add_init_script(f"({RENDER_TIMING})()")
    w = _answer_page(site, page, hostile)
    w.ask("x")
    msg = w.wait_state("done")
    t = page.evaluate("window.__cp")
    assert t.get("response") and t.get("done"), t
    assert t["done"] - t["response"] < 250, f"rendering took {t['done'] - t['response']:.0f} ms"
    assert msg.locator(".body").evaluate("b => b.textContent") == hostile
