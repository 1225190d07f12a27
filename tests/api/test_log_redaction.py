"""Logs and egress (issue 13, finding 9): access-log paths, HTTP client loggers, LangChain tracing.

- a code typed into a path (``/v1/codes/JOHN%20DOE``) or any query string never reaches the access log;
- the httpx and openai loggers (URLs at INFO, prompts at DEBUG) stay at WARNING unless
  ``CASEPILOT_LOG_BODIES=true``;
- an inherited ``LANGSMITH_TRACING=true`` sends nothing out unless ``CASEPILOT_ALLOW_TRACING=true``.
"""

from __future__ import annotations

import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import api_settings, live_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NAME = "JOHN DOE"


def test_access_log_shows_route_templates_never_typed_codes_or_query_strings(slice_index, engine, caplog):
    from api.app import create_app

    caplog.set_level(logging.INFO, logger="uvicorn.access")
    with live_server(create_app(slice_index, engine=engine)) as base:
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get("/v1/codes/JOHN%20DOE").status_code in (404, 422)
            assert c.get("/v1/codes/MRN55501234").status_code in (404, 422)
            assert c.get("/v1/codes/E11.22", params={"key": "secret-key-123"}).status_code == 200
            c.get("/v1/ncci/mue/JANE99")
            c.get("/v1/codes/JOHN/DOE")  # matches no route: not echoed either
            c.get("/JOHN-DOE-page")
            assert c.get("/v1/search", params={"q": "JOHN DOE has diabetes"}).status_code == 200
            assert c.get("/healthz").status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    text = "\n".join(lines)
    assert '"GET /v1/codes/{code} HTTP/1.1" 4' in text and '"GET /v1/codes/{code}?[redacted] HTTP/1.1" 200' in text
    assert "/v1/ncci/mue/{code}" in text and "/v1/search?[redacted]" in text and "/healthz" in text
    for secret in ("JOHN", "DOE", "MRN55501234", "JANE99", "secret-key-123"):
        assert secret not in text, (secret, text)


def test_http_client_and_model_loggers_stay_at_warning_unless_bodies_may_be_logged(tmp_path, caplog):
    from api.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "data")  # no index: the server still answers /healthz

    for name in ("httpx", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as a fresh process has them: inherit the root
    caplog.set_level(logging.DEBUG)  # a deployment running its root logger at DEBUG
    app = create_app(settings)
    for name in ("httpx", "httpcore", "openai"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    with live_server(app) as base:
        httpx.get(f"{base}/healthz", params={"q": NAME}, timeout=30)  # httpx logs request URLs at INFO
    assert "JOHN" not in caplog.text

    logging.getLogger("openai").setLevel(logging.DEBUG)
    create_app(api_settings(settings, log_bodies=True))
    assert logging.getLogger("openai").level == logging.DEBUG  # left as the operator set it
    logging.getLogger("openai").setLevel(logging.WARNING)


class _Collector(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self):
        n = int(self.headers.get("content-length") or 0)
        if n:
            self.rfile.read(n)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def tracing_server(monkeypatch):
    """A stand-in LangSmith endpoint on loopback that records every request, and the environment of a shell
    that switched tracing on."""
    import langsmith
    from langsmith import utils as ls_utils

    _Collector.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from casepilot.egress import TRACING_VARS

    for name in TRACING_VARS:  # as a shell that never ran CasePilot has them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGCHAIN_TRACING_V2", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test-key")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(langsmith.run_trees, "_CLIENT", None, raising=False)
    ls_utils.get_env_var.cache_clear()
    langsmith.configure(enabled=None)
    try:
        yield _Collector.hits
    finally:
        langsmith.configure(enabled=False)
        server.shutdown()
        server.server_close()
        ls_utils.get_env_var.cache_clear()


def _ask_a_model() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tracers.langchain import wait_for_all_tracers

    GenericFakeChatModel(messages=iter([AIMessage("E11.22 [1]")])).invoke(f"Patient {NAME}: what is E11.22?")
    wait_for_all_tracers()
    # flush the client the tracer made, if any: get_cached_client() would make one, and a new client asks the
    # endpoint for its /info on its own thread, a request the tracing-off test then counted when it came early
    from langsmith import run_trees

    client = getattr(run_trees, "_CLIENT", None)
    if client is not None:
        client.flush()


def test_inherited_tracing_is_turned_off(tmp_path, tracing_server):
    from langsmith import utils as ls_utils

    from api.app import create_app
    from tests.conftest import make_settings

    assert ls_utils.tracing_is_enabled()  # what the shell asked for
    create_app(make_settings(tmp_path / "data"))
    assert not ls_utils.tracing_is_enabled()
    _ask_a_model()
    assert tracing_server == []


def test_tracing_stays_when_explicitly_allowed(tmp_path, tracing_server):
    """The same set-up with CASEPILOT_ALLOW_TRACING=true does reach the endpoint: the test above would see it."""
    from langsmith import utils as ls_utils

    from api.app import create_app
    from tests.conftest import make_settings

    create_app(make_settings(tmp_path / "data", allow_tracing=True))
    assert ls_utils.tracing_is_enabled()
    _ask_a_model()
    assert tracing_server, "tracing was allowed but nothing reached the endpoint"


def test_readme_chroma_run_line_turns_telemetry_off():
    readme = (REPO / "README.md").read_text()
    lines = [line for line in readme.splitlines() if re.search(r"chroma run --", line)]  # the commands
    assert lines and all("ANONYMIZED_TELEMETRY=False" in line for line in lines), lines
