"""Schema fuzzing (RELIABILITY row 18; issue 13's proof): schemathesis makes requests, valid and invalid, from
the app's own OpenAPI document and sends them through the ASGI transport to the app over a small index
(lexical only: built in seconds, no model).

Every response must be a documented status with the documented content type and body, every error must be
in the error shape (``{"error": {"code", "message"}}``), a chat stream must end with ``done`` or ``error``,
and nothing may be a 5xx but a documented 503 (an MCD table not loaded, say). Bounded: a fixed number of
examples per operation, derandomized (the same requests every run), about two minutes on two loaded cores.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.component]  # builds a (lexical) index

EXAMPLES = 10  # per operation and mode (valid, invalid); chat answers take the longest
TERMINAL = ("done", "error")


@schemathesis.check
def no_5xx_but_the_documented_503(ctx, response, case):
    """503 is documented (an index or table not loaded, a vector store down, busy, shutting down); any other
    5xx is a server error. (status_code_conformance checks that the 503 is documented for the operation.)"""
    assert response.status_code < 500 or response.status_code == 503, f"server error {response.status_code}"
    return None


@schemathesis.check
def errors_in_the_error_shape(ctx, response, case):
    """A 4xx/5xx body is exactly ``{"error": {"code": str, "message": str, ...}}``."""
    if response.status_code < 400:
        return None
    body = json.loads(response.content)
    assert set(body) == {"error"}, f"error body keys: {sorted(body)}"
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], "error.code missing"
    assert isinstance(err.get("message"), str) and err["message"], "error.message missing"
    assert "Traceback" not in err["message"]
    return None


@schemathesis.check
def streams_end_with_a_terminal_event(ctx, response, case):
    """A chat stream read to its end (not cut short by schemathesis's event cap) ends with done or error."""
    if not response.headers.get("content-type", [""])[0].startswith("text/event-stream") or response.stream_cut_short:
        return None
    events = [line.split(":", 1)[1].strip() for line in response.content.decode().splitlines()
              if line.startswith("event:")]
    assert events and events[-1] in TERMINAL, f"stream ended with {events[-1:] or 'nothing'}"
    return None


CHECKS = [no_5xx_but_the_documented_503, status_code_conformance, content_type_conformance, response_schema_conformance,
          errors_in_the_error_shape, streams_end_with_a_terminal_event]


def _small_index(data):
    """A lexical-only index (no model, no vectors) over a few categories, one PCS table and the corpus."""
    from ingest.corpus import CorpusSource
    from ingest.icd10cm import ICD10CMSource
    from ingest.icd10pcs import ICD10PCSSource
    from ingest.pipeline import run_ingest
    from tests.conftest import make_settings

    settings = make_settings(data)
    sources = [ICD10CMSource(categories=("E11", "N18", "I10")), ICD10PCSSource(limit_tables=("0DT",)),
               CorpusSource(settings.corpus_dir)]
    assert run_ingest(settings, sources, dense=False).ok
    return settings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from api.app import create_app
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import Retriever

    settings = _small_index(tmp_path_factory.mktemp("fuzz") / "data")
    return create_app(settings, engine=ChatEngine(settings, retriever=Retriever(settings)))


def _fuzz(app, include: str | None = None, exclude: str | None = None) -> int:
    """Every operation (filtered by path), valid and invalid inputs; a list of every failure, not the first."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    if include:
        schema = schema.include(path=include)
    if exclude:
        schema = schema.exclude(path=exclude)
    failures, operations, calls = [], 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @BOUNDED
            def check(case):
                calls[operation.label] += 1
                case.call_and_validate(checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
                if mode is GenerationMode.POSITIVE:
                    raise
            except Exception as e:  # hypothesis re-raises the smallest failing case
                failures.append(f"{operation.label} ({mode.value}): {type(e).__name__}: {str(e)[:1500]}")
    assert not failures, "\n\n".join(failures)
    print(f"requests per operation: {dict(calls)}")
    assert len(calls) == operations and min(calls.values()) >= 1  # every operation was exercised
    return operations


BOUNDED = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


def test_every_endpoint_answers_in_its_documented_shape(app):
    # feedback writes into the data directory: fuzzed below against another one
    assert _fuzz(app, exclude="/v1/feedback") >= 10


def test_feedback_answers_in_its_documented_shape(tmp_path):
    from api.app import create_app
    from tests.conftest import make_settings

    assert _fuzz(create_app(make_settings(tmp_path / "data"), engine=None), include="/v1/feedback") == 1


def test_a_body_that_is_not_utf8_is_invalid_input_in_the_error_shape(tmp_path):
    """FastAPI answers 400 (undocumented) for a body it cannot decode; found by the fuzzing above."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import make_settings

    client = TestClient(create_app(make_settings(tmp_path / "data"), engine=None))
    r = client.post("/v1/feedback", content=b"\xff7", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json() == {"error": {"code": "invalid_request", "message": "body: not JSON text in UTF-8"}}
