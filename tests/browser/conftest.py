"""Browser fixtures: Debian's Chromium driven by Playwright against live uvicorn servers.

No browser download: Playwright launches ``/usr/bin/chromium`` (override with CASEPILOT_CHROMIUM).
Without Chromium or Playwright the tests skip with the reason, except under CI (env ``CI`` set),
where they fail so a CI run cannot pass without them.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.api.conftest import ScriptedChatModel, engine_with, live_server, words  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("CASEPILOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CASEPILOT_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install playwright (no `playwright install` needed)"
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    """Skip (or, under CI, fail) before any server or index is built."""
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for this package; stopped after it, because Playwright's sync API keeps an event loop
    running in the main thread (later tests calling asyncio.run would fail)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


class PageWatch:
    """What a page did: dialogs, requests, console errors, page errors."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def _dialog(self, d):
        self.dialogs.append(d.message)
        d.dismiss()

    def hosts(self) -> set[str]:
        from urllib.parse import urlsplit

        return {urlsplit(u).hostname for u in self.requests if u.startswith("http")}


@pytest.fixture
def new_page(browser):
    """Factory: a fresh context and page (desktop by default); returns (page, watch)."""
    contexts = []

    def make(viewport=(1280, 820), **kw):
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **kw)
        # Anything meant for the outside world is cut off and recorded.
        ctx.route(lambda url: "evil.example" in url, lambda route: route.abort())
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        return page, PageWatch(page)

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def site(slice_index, engine):
    """The real app over the slice index with the grounded answerer."""
    from api.app import create_app

    with live_server(create_app(slice_index, engine=engine)) as base:
        yield base


@pytest.fixture
def scripted_site(slice_index, engine, tmp_path):
    """Factory: a live app whose engine answers with a ScriptedChatModel (real retrieval and verification)."""
    from api.app import create_app

    stack = []

    def make(model, **settings_kw):
        settings = slice_index.model_copy(update=settings_kw)
        cm = live_server(create_app(settings, engine=engine_with(engine, settings, model)))
        base = cm.__enter__()
        stack.append(cm)
        return base

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def host_page(base: str, **attrs) -> str:
    """A third-party page embedding the widget with one script tag, as the README says."""
    tag = " ".join(f'data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'><title>Host</title>"
        "<style>body{font-family:serif;color:rgb(10, 20, 30)} button{background:rgb(200, 0, 0)}</style>"
        "</head><body><h1 id=h>Third-party page</h1><button id=hb>host</button>"
        f'<script src="{base}/widget.js" data-api="{base}" {tag} async></script></body></html>'
    )


class HostPages:
    """Third-party pages on their own loopback server (route-fulfilled pages count as public to Chromium's
    private-network rules, which then block the widget on 127.0.0.1). ``localhost:P`` and ``127.0.0.1:P``
    are two origins of this server, both different from the API's."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        pages = self.pages = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def origin(self, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}"

    def add(self, path: str, html: str, host: str = "localhost") -> str:
        self.pages[path] = html
        return self.origin(host) + path


@pytest.fixture(scope="session")
def host_pages():
    hp = HostPages()
    yield hp
    hp.server.shutdown()


def open_host_page(page, host_pages: HostPages, base: str, path: str = "/page.html", host: str = "localhost",
                   **attrs) -> str:
    """Serve ``host_page`` on the third-party server and open it; returns its URL."""
    url = host_pages.add(path, host_page(base, **attrs), host)
    page.goto(url)
    page.locator("casepilot-widget .launcher").wait_for()
    return url


def sse(*events) -> str:
    """A Server-Sent Events body from (name, payload) pairs."""
    return "".join(f"event: {n}\r\ndata: {json.dumps(p)}\r\n\r\n" for n, p in events)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


class Widget:
    """The widget as a user sees it (Playwright's CSS selectors pierce the open shadow root)."""

    def __init__(self, page):
        self.page = page
        self.root = page.locator("casepilot-widget")

    def __getattr__(self, name):
        return getattr(self.root, name)

    @property
    def launcher(self):
        return self.root.locator(".launcher")

    @property
    def panel(self):
        return self.root.locator(".panel")

    @property
    def input(self):
        return self.root.locator("textarea")

    def open(self):
        if not self.panel.is_visible():
            self.launcher.click()
        self.input.wait_for(state="visible")

    def ask(self, text: str):
        self.open()
        self.input.fill(text)
        self.input.press("Enter")

    def answers(self):
        return self.root.locator(".msg.assistant")

    def last(self):
        return self.answers().last

    def wait_state(self, state: str, timeout: float = 60_000):
        self.page.wait_for_function(
            """s => { const r = document.querySelector('casepilot-widget').shadowRoot;
                      const m = r.querySelectorAll('.msg.assistant'); return m.length && m[m.length-1].dataset.state === s; }""",
            arg=state, timeout=timeout)
        return self.last()


@contextmanager
def no_leaks(page, watch):
    """Assert nothing from the outside world was requested and no script of ours was hijacked."""
    yield
    assert not any("evil.example" in u for u in watch.requests), [u for u in watch.requests if "evil" in u]
    assert watch.dialogs == []


__all__ = ["ARTIFACTS", "HostPages", "ScriptedChatModel", "Widget", "host_page", "no_leaks", "open_host_page",
           "shot", "sse", "words"]
