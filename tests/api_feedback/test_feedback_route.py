"""POST /v1/feedback in process: stored in SQLite (WAL), no free text unless enabled, 422 on bad input, a
retention bound, and several processes writing at once lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import httpx
import pytest

from api import feedback_store
from casepilot.settings import Settings


def _post(settings: Settings, body, headers=None) -> httpx.Response:
    """In-process request (TestClient runs the app in its own event-loop thread)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    client = TestClient(create_app(settings, engine=None), base_url="http://testserver")
    return client.post("/v1/feedback", json=body, headers=headers or {})


def _records(settings: Settings) -> list[dict]:
    return feedback_store.rows(settings.data_dir)


def test_recorded_without_text_by_default(tmp_path):
    s = Settings(data_dir=tmp_path)
    r = _post(s, {"conversation_id": "abc123", "rating": "up", "message_index": 0,
                  "comment": "Patient John Doe MRN 12345", "question": "q text", "answer": "a text"})
    assert r.status_code == 201
    assert r.json() == {"status": "recorded", "text_stored": False}
    (rec,) = _records(s)
    assert rec["conversation_id"] == "abc123" and rec["rating"] == "up" and rec["message_index"] == 0
    assert rec["has_comment"] and rec["has_question"] and rec["has_answer"]
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("feedback.sqlite*"))
    assert raw and b"John" not in raw and b"q text" not in raw and b"a text" not in raw
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


def test_rows_past_the_retention_are_dropped(tmp_path):
    old = {"ts": "2020-01-01T00:00:00+00:00", "conversation_id": "old", "rating": "up"}
    feedback_store.add(tmp_path, old, retention_days=0)  # 0 keeps everything
    assert [r["conversation_id"] for r in feedback_store.rows(tmp_path)] == ["old"]
    s = Settings(data_dir=tmp_path, feedback_retention_days=30)
    assert _post(s, {"conversation_id": "new", "rating": "down"}).status_code == 201
    assert [r["conversation_id"] for r in _records(s)] == ["new"]


def _write_many(data_dir: str, worker: int, n: int) -> None:
    for i in range(n):
        feedback_store.add(Path(data_dir), {"ts": "2026-11-29T00:00:00+00:00", "conversation_id": f"w{worker}-{i}",
                                            "rating": "up"}, retention_days=0)


def test_several_processes_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    ids = [r["conversation_id"] for r in feedback_store.rows(tmp_path)]
    assert len(ids) == 160 and len(set(ids)) == 160
