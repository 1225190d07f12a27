"""The chat engine: route, retrieve, answer, verify, as a stream of events.

Events are ``(name, payload)`` pairs in the order of the HTTP contract (DESIGN.md): ``meta``, then
``citation`` before the first ``token`` that cites it, ``token``s, and ``done``. The CLI prints the
``done`` payload; the API turns the stream into Server-Sent Events.
"""

from __future__ import annotations

import time
import uuid
from typing import Iterator

from casepilot import router as rt
from casepilot.answer.evidence import Evidence
from casepilot.answer.grounded import Draft, GroundedAnswerer
from casepilot.codestore import CodeStore
from casepilot.passages import PassageStore
from casepilot.retrieval import Retriever
from casepilot.settings import Settings
from casepilot.verify import cited_numbers, verify_answer

Event = tuple[str, dict]


class ChatEngine:
    """Long-lived: holds the code store, the retriever (model + indexes) and the answerer."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None, llm=None):
        self.settings = settings
        self.store = CodeStore(settings.codestore_path)
        self.passages = PassageStore(settings.data_dir / "passages.sqlite")
        self.retriever = retriever or Retriever(settings)
        self.grounded = GroundedAnswerer(self.store, self.retriever, self.passages)
        self.llm = llm  # a casepilot.answer.llm.LLMAnswerer, or None for the grounded answerer

    def code_set_versions(self) -> dict[str, str]:
        return {s["name"]: s["version"] for s in self.store.sources() if s["version"]}

    def stream(self, message: str, history: list[dict] | None = None,
               conversation_id: str | None = None) -> Iterator[Event]:
        """Answer ``message`` as events; the last one is ``done`` (or ``error`` from the caller)."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        conversation_id = conversation_id or uuid.uuid4().hex
        route = rt.route(message, history or [], self.store)
        timings["route_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield "meta", {"conversation_id": conversation_id, "intent": route.intent,
                       "code_sets": self.code_set_versions(),
                       "answerer": "llm" if self.llm is not None else "grounded"}
        draft = self.grounded.answer(route, message, timings)
        if self.llm is not None:
            yield from self._llm_events(message, history or [], route, draft, timings, t0)
            return
        sent: set[int] = set()
        parts: list[str] = []
        codes: dict[str, dict] = {}
        first_token = None
        valid = draft.evidence.numbers()
        for i in range(len(draft.sentences)):
            v = verify_answer(draft.text_of(i), valid, self.store)
            for n in cited_numbers(v.answer):
                if n not in sent:
                    sent.add(n)
                    yield "citation", draft.evidence.items[n - 1].to_dict()
            for c in v.codes:
                key = f"{c['system']}:{c['code']}"
                codes[key] = c if not (key in codes and not codes[key]["verified"]) else codes[key]
            piece = v.answer if not parts else " " + v.answer
            parts.append(piece)
            if first_token is None:
                first_token = time.perf_counter()
            yield "token", {"text": piece}
        if not parts:
            piece = "I could not answer this from CasePilot's sources."
            parts.append(piece)
            first_token = time.perf_counter()
            yield "token", {"text": piece}
        timings["first_token_ms"] = round(((first_token or time.perf_counter()) - t0) * 1000, 1)
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield "done", self._done(draft, "".join(parts), list(codes.values()), timings, 0)

    def _done(self, draft: Draft, answer: str, codes: list[dict], timings: dict, invalid: int) -> dict:
        used = set(cited_numbers(answer))
        return {
            "answer": answer,
            "citations": [c.to_dict() for c in draft.evidence.items if c.n in used],
            "codes": codes,
            "intent": draft.intent,
            "answered": draft.answered,
            "notices": draft.notices,
            "searched": draft.searched,
            "invalid_citations_removed": invalid,
            "timings_ms": timings,
        }

    def _llm_events(self, message: str, history: list[dict], route: rt.Route, draft: Draft,
                    timings: dict, t0: float) -> Iterator[Event]:
        """The LLM writes from the grounded draft's evidence; its text goes through the same verification."""
        evidence: Evidence = draft.evidence
        if not evidence.items:
            # Nothing to ground on: the model is not asked; the grounded refusal stands.
            yield from self._emit_plain(draft, timings, t0)
            return
        for c in evidence.items:
            yield "citation", c.to_dict()
        parts: list[str] = []
        first = None
        for chunk in self.llm.stream(message, history, evidence):
            if first is None:
                first = time.perf_counter()
            parts.append(chunk)
            yield "token", {"text": chunk}
        text = "".join(parts)
        v = verify_answer(text, evidence.numbers(), self.store)
        timings["first_token_ms"] = round(((first or time.perf_counter()) - t0) * 1000, 1)
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        done = self._done(draft, v.answer, v.codes, timings, v.invalid_citations)
        done["citations"] = [c.to_dict() for c in evidence.items]
        yield "done", done

    def _emit_plain(self, draft: Draft, timings: dict, t0: float) -> Iterator[Event]:
        text = draft.text or "I could not answer this from CasePilot's sources."
        yield "token", {"text": text}
        timings["first_token_ms"] = timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield "done", self._done(draft, text, [], timings, 0)

    def answer(self, message: str, history: list[dict] | None = None, conversation_id: str | None = None) -> dict:
        """The ``done`` payload plus ``conversation_id`` (what ``"stream": false`` returns)."""
        cid = None
        done: dict = {}
        for name, payload in self.stream(message, history, conversation_id):
            if name == "meta":
                cid = payload["conversation_id"]
            elif name == "done":
                done = payload
        return {**done, "conversation_id": cid}
