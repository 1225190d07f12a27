"""The chat engine: route, retrieve, answer, verify, as a stream of events.

Events are ``(name, payload)`` pairs in the order of the HTTP contract (DESIGN.md): ``meta``, then
``citation`` before the first ``token`` that cites it, ``token``s, and ``done``. The CLI prints the
``done`` payload; the API turns the stream into Server-Sent Events.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Callable, Iterator

from casepilot import router as rt
from casepilot.answer.evidence import Evidence
from casepilot.answer.grounded import Draft, GroundedAnswerer
from casepilot.codestore import CodeStore
from casepilot.tables import loaded_tables, tables_path
from casepilot.passages import PassageStore
from casepilot.retrieval import DENSE_DOWN_NOTICE, Retriever
from casepilot.settings import Settings
from casepilot.status import retrieval_modes
from casepilot.verify import cited_numbers, verify_answer

Event = tuple[str, dict]


class ChatEngine:
    """Long-lived: holds the code store, the retriever (model + indexes) and the answerer."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None, llm=None):
        self.settings = settings
        self.store = CodeStore(settings.codestore_path)
        self.passages = PassageStore(settings.data_dir / "passages.sqlite")
        self.retriever = retriever or Retriever(settings)
        self.grounded = GroundedAnswerer(self.store, self.retriever, self.passages,
                                         tables=tables_path(settings.data_dir))
        self.llm = llm  # a casepilot.answer.llm.LLMAnswerer, or None for the grounded answerer

    def code_set_versions(self) -> dict[str, str]:
        """Every loaded source and table with its version: named in each answer's ``meta`` event."""
        out = {s["name"]: s["version"] for s in self.store.sources() if s["version"]}
        for t in loaded_tables(tables_path(self.settings.data_dir)):
            name = f"{t.get('kind')}:{t.get('setting')}" if t.get("setting") else str(t.get("kind"))
            out[name] = str(t.get("version") or t.get("effective") or "")
        return out

    def stream(self, message: str, history: list[dict] | None = None,
               conversation_id: str | None = None, cancel: threading.Event | None = None) -> Iterator[Event]:
        """Answer ``message`` as events; the last one is ``done`` (or ``error`` from the caller).

        ``cancel`` (set by the caller when its client went away or the server shuts down) stops a model
        that is streaming or silent within a fraction of a second (``casepilot.answer.llm.Cancelled``).
        """
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        conversation_id = conversation_id or uuid.uuid4().hex
        route = rt.route(message, history or [], self.store)
        timings["route_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        yield "meta", {"conversation_id": conversation_id, "intent": route.intent,
                       "code_sets": self.code_set_versions(),
                       "answerer": "llm" if self.llm is not None else "grounded",
                       # which retrieval modes answer: {"lexical": true, "dense": false, "dense_progress": 0.41}
                       "retrieval": retrieval_modes(self.settings, self.retriever)}
        self._dense_skipped()  # forget what an earlier request on this worker thread left
        draft = self.grounded.answer(route, message, timings)
        self._note_dense_down(draft)

        def extend() -> None:
            self._dense_skipped()
            self.grounded.extend(route, message, draft, timings)
            self._note_dense_down(draft)

        if self.llm is not None:
            extend()
            yield from self._llm_events(message, history or [], route, draft, timings, t0, cancel)
            return
        yield from self._grounded_events(draft, timings, t0, extend=extend)

    def _dense_skipped(self) -> bool:
        take = getattr(self.retriever, "take_dense_skipped", None)
        return bool(take()) if take is not None else False

    def _note_dense_down(self, draft: Draft) -> None:
        """A search in this thread fell back to BM25 because the vector store is down: the answer says so."""
        if self._dense_skipped() and DENSE_DOWN_NOTICE not in draft.notices:
            draft.notices.append(DENSE_DOWN_NOTICE)

    def _grounded_events(self, draft: Draft, timings: dict, t0: float,
                         extend: Callable[[], None] | None = None) -> Iterator[Event]:
        """The grounded draft, sentence by sentence, each verified before it is sent.

        ``extend`` adds the draft's slower sentences; it runs once the first ones are on their way.
        """
        sent: set[int] = set()
        parts: list[str] = []
        codes: dict[str, dict] = {}
        first_token = None
        i = 0
        while True:
            if i >= len(draft.sentences):
                if extend is None:
                    break
                extend, more = None, extend
                more()
                continue
            v = verify_answer(draft.text_of(i), draft.evidence.numbers(), self.store, draft.declared_invalid,
                              evidence_text=draft.evidence.text, declared=draft.evidence.declared_modifiers)
            sep = draft.sep(i) if parts else draft.sep(i).lstrip("\n")
            i += 1
            for n in cited_numbers(v.answer):
                if n not in sent:
                    sent.add(n)
                    yield "citation", draft.evidence.items[n - 1].to_dict()
            for c in v.codes:
                key = f"{c['system']}:{c['code']}"
                codes[key] = merge_code(codes.get(key), c)
            piece = sep + v.answer
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
            # answer / partial / decline, from the calibrated relevance score (the score is None when no
            # relevance decision was needed: a plain code lookup)
            "decision": draft.label,
            "decision_score": round(draft.decision.score, 4) if draft.decision is not None else None,
            "decision_features": draft.decision.features if draft.decision is not None else {},
            "notices": list(dict.fromkeys(draft.notices)),  # the same notice from two codes once
            "searched": draft.searched,
            "invalid_citations_removed": invalid,
            "verdict": draft.verdict,
            "timings_ms": timings,
        }

    def _llm_events(self, message: str, history: list[dict], route: rt.Route, draft: Draft,
                    timings: dict, t0: float, cancel: threading.Event | None = None) -> Iterator[Event]:
        """The LLM writes from the grounded draft's evidence; its text is verified as it streams.

        Text is released word by word once verified (unknown codes marked, citations to no evidence
        removed), each citation event before the first token that cites it. If the model fails, times
        out or says nothing before its first token, the grounded answer is sent instead with a notice
        (``llm_fallback``); after its first token, the failure propagates as ``LLMError``.
        """
        from casepilot.answer.llm import LLMEmpty, LLMError

        evidence: Evidence = draft.evidence
        if not evidence.items or draft.label == "decline":
            # Nothing to ground on, or evidence too weak to answer: the model is not asked; the decline stands.
            yield from self._emit_plain(draft, timings, t0)
            return
        rel = _Release(evidence, self.store)
        raw = ""
        first = None
        try:
            for chunk in self.llm.stream(message, history, evidence, cancel=cancel):
                raw += chunk
                cut = max(raw.rfind(" "), raw.rfind("\n"))
                if cut > 0:
                    for ev in rel.release(raw[:cut]):
                        if first is None and ev[0] == "token":
                            first = time.perf_counter()
                        yield ev
            if not raw.strip():
                raise LLMEmpty(LLMEmpty.public_message)
        except LLMError as e:
            if rel.emitted or not self.settings.llm_fallback:
                raise
            draft.notices.append(f"The language model did not answer ({e.code}); "
                                 "this is CasePilot's grounded answer from the same sources.")
            timings["llm_fallback"] = 1
            for name, payload in self._grounded_events(draft, timings, t0):
                if name == "done":
                    payload["answerer"] = "grounded_fallback"
                yield name, payload
            return
        final = verify_answer(raw.strip(), evidence.numbers(), self.store, draft.declared_invalid,
                              evidence_text=evidence.text, declared=evidence.declared_modifiers)
        for ev in rel.release(raw):
            if first is None and ev[0] == "token":
                first = time.perf_counter()
            yield ev
        timings["first_token_ms"] = round(((first or time.perf_counter()) - t0) * 1000, 1)
        timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        done = self._done(draft, final.answer, final.codes, timings, final.invalid_citations)
        done["answerer"] = "llm"
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


def merge_code(seen: dict | None, new: dict) -> dict:
    """One entry per code across sentences: verified and supported only if every mention is."""
    if seen is None:
        return new
    out = {**seen, "verified": seen["verified"] and new["verified"]}
    if seen.get("supported") is None or new.get("supported") is None:
        out["supported"] = seen.get("supported") if new.get("supported") is None else new.get("supported")
    else:
        out["supported"] = seen["supported"] and new["supported"]
    return out


class _Release:
    """Verifies a growing LLM answer and releases only the new, verified text (plus its citations)."""

    def __init__(self, evidence: Evidence, store: CodeStore):
        self.evidence = evidence
        self.valid = evidence.numbers()
        self.store = store
        self.sent: set[int] = set()
        self.emitted = ""

    def release(self, text: str) -> list[Event]:
        verified = verify_answer(text.strip(), self.valid, self.store).answer.rstrip()
        if not verified.startswith(self.emitted):
            return []  # an edit reached back into sent text (rare): ``done.answer`` is authoritative
        delta = verified[len(self.emitted):]
        if not delta:
            return []
        out: list[Event] = []
        for n in cited_numbers(delta):
            if n not in self.sent:
                self.sent.add(n)
                out.append(("citation", self.evidence.items[n - 1].to_dict()))
        self.emitted = verified
        out.append(("token", {"text": delta}))
        return out

