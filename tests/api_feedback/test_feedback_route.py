"""POST /v1/feedback in process: stored as JSON lines, no free text unless enabled, 422 on bad input."""

from __future__ import annotations

import json

import httpx
import pytest

from casepilot.settings import Settings


def _post(settings: Settings, body, headers=None) -> httpx.Response:
    """In-process request (TestClient runs the app in its own event-loop thread)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app(settings, engine=None), base_url="http://testserver")
    return client.post("/v1/feedback", json=body, headers=headers or {})


def _records(settings: Settings) -> list[dict]:
    path = settings.data_dir / "feedback.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_recorded_without_text_by_default(tmp_path):
    s = Settings(data_dir=tmp_path)
    r = _post(s, {"conversation_id": "abc123", "rating": "up", "message_index": 0,
                  "comment": "Patient John Doe MRN 12345", "question": "q text", "answer": "a text"})
    assert r.status_code == 201
    assert r.json() == {"status": "recorded", "text_stored": False}
    (rec,) = _records(s)
    assert rec["conversation_id"] == "abc123" and rec["rating"] == "up" and rec["message_index"] == 0
    assert rec["has_comment"] and rec["has_question"] and rec["has_answer"]
    raw = (tmp_path / "feedback.jsonl").read_text()
    assert "John" not in raw and "q text" not in raw and "a text" not in raw
    assert rec["ts"].endswith("+00:00")


def test_text_kept_when_enabled_and_lines_append(tmp_path):
    s = Settings(data_dir=tmp_path, feedback_store_text=True)
    assert _post(s, {"conversation_id": "c1", "rating": "down", "comment": "wrong code"}).status_code == 201
    assert _post(s, {"conversation_id": "c1", "rating": "up", "message_index": 1},
                 headers={"Origin": "https://site.example"}).json()["text_stored"] is False
    recs = _records(s)
    assert [r["rating"] for r in recs] == ["down", "up"]
    assert recs[0]["comment"] == "wrong code" and recs[0]["message_index"] is None
    assert recs[1]["origin"] == "https://site.example"


@pytest.mark.parametrize("body", [
    {},
    {"conversation_id": "c1"},
    {"conversation_id": "c1", "rating": "meh"},
    {"conversation_id": "", "rating": "up"},
    {"conversation_id": "../../etc/passwd", "rating": "up"},
    {"conversation_id": "c" * 65, "rating": "up"},
    {"conversation_id": "c1", "rating": "up", "message_index": -1},
    {"conversation_id": "c1", "rating": "up", "comment": "x" * 2001},
    {"conversation_id": "c1", "rating": "up", "extra": 1},
    ["not", "an", "object"],
])
def test_bad_input_is_422_in_the_error_shape(tmp_path, body):
    s = Settings(data_dir=tmp_path)
    r = _post(s, body)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and err["message"]
    assert "x" * 50 not in r.text  # the input is not echoed
    assert _records(s) == []


def test_keys_guard_feedback_too(tmp_path):
    s = Settings(data_dir=tmp_path, api_keys="k1=https://site.example")
    body = {"conversation_id": "c1", "rating": "up"}
    assert _post(s, body).status_code == 403
    assert _post(s, body, {"X-CasePilot-Key": "k1", "Origin": "https://evil.example"}).status_code == 403
    r = _post(s, body, {"X-CasePilot-Key": "k1", "Origin": "https://site.example"})
    assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "https://site.example"
    assert len(_records(s)) == 1
