"""``POST /v1/feedback``: thumbs up/down from the widget, stored in ``feedback.sqlite`` in the data directory
(api/feedback_store.py: SQLite in WAL mode, safe with several workers, bounded by a retention).

Free text (a comment, the question or the answer) may hold patient details, so it is kept only when
``CASEPILOT_FEEDBACK_STORE_TEXT=true``; otherwise a record says only that text was given.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api import feedback_store
from api.deps import SettingsDep
from api.schemas import error_responses

router = APIRouter(prefix="/v1", tags=["feedback"])
FILE_NAME = feedback_store.FILE_NAME


class FeedbackRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    message_index: int | None = Field(None, ge=0, le=10_000, description="Which answer of the conversation (0 = first).")
    comment: str | None = Field(None, max_length=2000, description="Stored only when feedback_store_text is on.")
    question: str | None = Field(None, max_length=20_000, description="Stored only when feedback_store_text is on.")
    answer: str | None = Field(None, max_length=20_000, description="Stored only when feedback_store_text is on.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"conversation_id": "3f2a9c0d", "rating": "up", "message_index": 0}]})


class FeedbackResponse(BaseModel):
    status: Literal["recorded"] = "recorded"
    text_stored: bool


def _record(req: FeedbackRequest, store_text: bool, origin: str | None) -> dict:
    rec: dict = {
        "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "conversation_id": req.conversation_id,
        "rating": req.rating,
        "message_index": req.message_index,
    }
    if origin:
        rec["origin"] = origin[:200]
    for name in ("comment", "question", "answer"):
        value = getattr(req, name)
        if value:
            if store_text:
                rec[name] = value
            else:
                rec[f"has_{name}"] = True
    return rec


def flush(settings) -> None:
    """At shutdown: wait for a write in flight and fold the WAL into the database file."""
    feedback_store.checkpoint(settings.data_dir)


@router.post("/feedback", status_code=201, response_model=FeedbackResponse, summary="Rate an answer",
             responses=error_responses(403, 413, 422, 429))
async def feedback(req: FeedbackRequest, request: Request, settings: SettingsDep):
    """Thumbs up or down on one answer; stored in `feedback.sqlite` in the data directory."""
    store_text = settings.feedback_store_text
    rec = _record(req, store_text, request.headers.get("origin"))
    await anyio.to_thread.run_sync(feedback_store.add, settings.data_dir, rec, settings.feedback_retention_days)
    return {"status": "recorded", "text_stored": store_text and any((req.comment, req.question, req.answer))}
