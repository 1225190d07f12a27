"""Request, response, event and error models of the HTTP API (the OpenAPI schema is built from them).

Over 300 lines on purpose: one concept, the API's wire format, as declarative models with their examples; the
error models and ``error_responses`` are used by every route.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# -- errors ------------------------------------------------------------------------------------


class CodeSuggestion(BaseModel):
    system: str
    code: str
    title: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. code_not_found, message_too_long.")
    message: str = Field(description="A short human message; never echoes the question.")
    suggestions: list[CodeSuggestion] | None = Field(None, description="Nearest valid codes (code_not_found).")
    limit: int | None = Field(None, description="The limit that was exceeded (413/422 on limits).")
    details: list[dict[str, Any]] | None = Field(None, description="Which fields failed validation.")
    retry_after: int | None = Field(None, description="Seconds to wait before asking again (503s; also the "
                                    "Retry-After header).")


class ErrorResponse(BaseModel):
    """The one error shape of every non-2xx JSON response."""

    error: ErrorBody

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "error": {"code": "code_not_found", "message": "E11.99 was not found in the code store",
                  "suggestions": [{"system": "icd10cm", "code": "E11.9",
                                   "title": "Type 2 diabetes mellitus without complications"}]}}]})


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all in the one error shape."""
    text = {
        403: "Missing or wrong API key, or a page origin the key does not allow.",
        404: "Not found.",
        413: "Request body larger than the limit.",
        422: "Invalid input (malformed code, over-long message or history, bad parameter).",
        429: "Too many requests; see Retry-After.",
        502: "The language model failed.",
        503: "The index is not loaded, the vector store is unreachable (with Retry-After), every chat slot is "
             "taken (`busy`, with Retry-After) or the server is shutting down (`shutting_down`).",
        504: "The language model did not answer in time.",
    }
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error.")} for s in statuses}


# -- chat --------------------------------------------------------------------------------------


class ChatTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(description="The turn's text (at most CASEPILOT_MAX_TURN_CHARS, default 20000).")


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, description="The question (at most CASEPILOT_MAX_MESSAGE_CHARS, default 4000).")
    history: list[ChatTurn] = Field(
        default_factory=list,
        description="Earlier turns, oldest first (at most CASEPILOT_MAX_HISTORY_TURNS, default 40). "
                    "A follow-up without a code inherits the codes of these turns.")
    stream: bool = Field(True, description="true: Server-Sent Events; false: one JSON object (the done payload).")
    conversation_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="Echoed in meta; a new one is made when absent.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"message": "What is ICD-10-CM E11.22?", "stream": True},
        {"message": "What else should I code with it?",
         "history": [{"role": "user", "content": "What is ICD-10-CM E11.22?"}], "stream": False},
    ]})


class Citation(BaseModel):
    n: int
    id: str
    title: str
    source: str
    kind: str
    snippet: str
    url: str | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "n": 1, "id": "icd10cm:E1122", "title": "ICD-10-CM E11.22 Type 2 diabetes mellitus with diabetic chronic "
        "kidney disease", "source": "ICD-10-CM April 1, 2026", "kind": "icd10cm",
        "snippet": "E11.22 Type 2 diabetes mellitus with diabetic chronic kidney disease ...", "url": None}]})


class CodeCheck(BaseModel):
    code: str
    system: str | None
    verified: bool = Field(description="false: the code is not in the code store (marked in the answer text, "
                           "unless the answer itself says the code does not exist: then `declared_invalid`).")
    declared_invalid: bool = False
    supported: bool | None = Field(
        default=None, description="true: every sentence that names the code cites evidence showing it; false: "
        "some sentence names it without such a citation (shown as 'not in the cited sources'); null: not checked.")


class MetaEvent(BaseModel):
    conversation_id: str
    intent: str
    code_sets: dict[str, str]
    answerer: str


class TokenEvent(BaseModel):
    text: str


class ErrorEvent(BaseModel):
    code: str = Field(description="llm_failed, llm_timeout, llm_empty, index_unavailable, shutting_down or "
                      "internal_error.")
    message: str
    retry_after: int | None = Field(None, description="Seconds after which asking again may work "
                                    "(index_unavailable, shutting_down).")


class ChatDone(BaseModel):
    answer: str
    citations: list[Citation]
    codes: list[CodeCheck]
    intent: str
    answered: bool = True
    decision: str = Field("answer", description="answer, partial or decline: from the calibrated relevance score "
                          "between the question and its evidence (casepilot/data/decision.json).")
    decision_score: float | None = Field(None, description="The calibrated score behind `decision` (0..1); "
                                         "null for answers that need no relevance decision (a plain code lookup).")
    notices: list[str] = Field(default_factory=list)
    searched: list[str] = Field(default_factory=list)
    invalid_citations_removed: int = Field(0, description="[n] markers that pointed at no evidence, removed.")
    timings_ms: dict[str, float]
    answerer: str | None = None

    model_config = ConfigDict(extra="allow")


class ChatResponse(ChatDone):
    """What ``"stream": false`` returns: the ``done`` payload plus the conversation id."""

    conversation_id: str

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "conversation_id": "3f2a9c0d5e1b4a7c9d8e6f5a4b3c2d1e",
        "answer": 'E11.22 (ICD-10-CM) means "Type 2 diabetes mellitus with diabetic chronic kidney disease" [1]. '
                  "E11.22 is billable: it is valid for reporting on a claim [1].",
        "citations": [{"n": 1, "id": "icd10cm:E1122", "title": "ICD-10-CM E11.22 ...", "source":
                       "ICD-10-CM April 1, 2026", "kind": "icd10cm", "snippet": "...", "url": None}],
        "codes": [{"code": "E11.22", "system": "icd10cm", "verified": True}],
        "intent": "code_lookup", "answered": True, "notices": [], "searched": ["code store: ICD-10-CM E11.22"],
        "invalid_citations_removed": 0, "timings_ms": {"route_ms": 1.2, "first_token_ms": 40.1, "total_ms": 42.0},
    }]})


SSE_DESCRIPTION = """Server-Sent Events, in this order:

* `meta` once: `{"conversation_id", "intent", "code_sets", "answerer"}`
* `citation` (`{"n", "id", "title", "source", "kind", "snippet", "url"}`) before the first token that cites it
* `token` (`{"text"}`) many times: append in order
* `done` once: the `ChatDone` object (final, verified answer text, citations, codes, timings)
* or `error` (`{"code", "message"}`) as the last event when answering fails

Comment lines (`: ping`) keep idle streams alive.
"""

SSE_EXAMPLE = (
    'event: meta\ndata: {"conversation_id": "3f2a...", "intent": "code_lookup", "code_sets": {"icd10cm": '
    '"ICD-10-CM April 1, 2026"}, "answerer": "grounded"}\n\n'
    'event: citation\ndata: {"n": 1, "id": "icd10cm:E1122", "title": "ICD-10-CM E11.22 ...", ...}\n\n'
    'event: token\ndata: {"text": "E11.22 (ICD-10-CM) means \\"Type 2 diabetes mellitus with diabetic '
    'chronic kidney disease\\" [1]."}\n\n'
    'event: done\ndata: {"answer": "...", "citations": [...], "codes": [...], "timings_ms": {...}}\n\n'
)

# -- codes, search, health, NCCI -----------------------------------------------------------------


class CodeNote(BaseModel):
    type: str
    text: str
    level: str
    inherited: bool

    model_config = ConfigDict(extra="allow")


class CodeRecordOut(BaseModel):
    system: str
    code: str
    title: str
    description: str
    billable: bool | None
    level: str
    parent: str | None
    children: list[str]
    notes: list[CodeNote]
    billable_below: list[dict[str, Any]]
    alternates: list[dict[str, Any]]
    version: str
    source: str
    licensed: bool
    extra: dict[str, Any]

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "system": "icd10cm", "code": "E11.22",
        "title": "Type 2 diabetes mellitus with diabetic chronic kidney disease", "description": "",
        "billable": True, "level": "code", "parent": "E11.2", "children": [],
        "notes": [{"type": "use_additional_code", "text": "Use additional code to identify stage of chronic kidney "
                   "disease (N18.1-N18.6)", "level": "E11.22", "inherited": False}],
        "billable_below": [], "alternates": [], "version": "ICD-10-CM April 1, 2026",
        "source": "icd10cm", "licensed": False, "extra": {}}]})


class ExactMatch(BaseModel):
    system: str
    code: str
    title: str


class SearchHit(BaseModel):
    id: str
    score: float
    collection: str
    title: str
    code: str | list[str] | None = None
    source: str
    snippet: str
    signals: dict[str, float] = Field(default_factory=dict)

    model_config = ConfigDict(extra="allow")


class SearchResponse(BaseModel):
    query: str
    system: str | None
    k: int
    exact: list[ExactMatch]
    hits: list[SearchHit]
    dense: bool = Field(True, description="False when the hits come from BM25 alone (vectors not built yet, or the "
                        "vector store not answering: then `notices` says so).")
    notices: list[str] = Field(default_factory=list)

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": "type 2 diabetes with ckd", "system": "icd10cm", "k": 3, "exact": [],
        "hits": [{"id": "icd10cm:E1122", "score": 1.31, "collection": "icd10cm",
                  "title": "Type 2 diabetes mellitus with diabetic chronic kidney disease", "code": "E11.22",
                  "source": "ICD-10-CM April 1, 2026", "snippet": "E11.22 Type 2 diabetes ...",
                  "signals": {"bm25": 1.0, "dense": 0.93}}]}]})


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class CollectionVectors(BaseModel):
    """How many passages of one collection have their dense vector."""

    done: int
    total: int
    fraction: float
    rate: float | None = Field(None, description="Passages embedded per second, while this one is being built.")
    eta_s: float | None = Field(None, description="Seconds until this collection is done (0 when it is).")


class VectorsProgress(BaseModel):
    """The dense vectors behind the lexical stage: built in the background after `ingest --lexical-only`."""

    done: int | None = None
    total: int | None = None
    fraction: float = Field(..., description="done / total, 0 to 1.")
    rate: float | None = Field(None, description="Passages embedded per second while the build runs.")
    eta_s: float | None = Field(None, description="Seconds until every vector is in (0 when done).")
    build: str = Field(..., description="pending, running, stopped, done or failed.")
    pid: int | None = Field(None, description="The build's process while it runs.")
    message: str = ""
    collections: dict[str, CollectionVectors] = Field(default_factory=dict)


class RateLimitStorage(BaseModel):
    """Where rate limits and daily quotas are counted right now (CASEPILOT_RATELIMIT_STORAGE); never a URL."""

    enabled: bool = Field(..., description="False when no rate limit or key quota is configured (nothing is "
                          "counted).")
    storage: Literal["memory", "redis"] = Field(..., description="memory (each process) or redis (shared by "
                                                "every worker), as configured.")
    fallback: bool = Field(False, description="True while the configured Redis does not answer and limits fail "
                           "open to this process's own memory counters; false again once a call answers. "
                           "Reported only: it never makes /readyz 503.")


class Ready(BaseModel):
    """Readiness. ``ready`` (status 200): lookups, lexical search and guidance answer. ``full``: dense
    retrieval is live too. A load balancer routes on the status; a deployment that wants hybrid
    retrieval from the first question waits for ``full``."""

    ready: bool
    full: bool = Field(False, description="True when every retrieval mode is live (BM25 and dense vectors).")
    stage: str = Field("none", description="none (no index), lexical (exact lookups and BM25; vectors being "
                       "built) or full.")
    answerer: str
    code_sets: dict[str, str] = Field(default_factory=dict)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    collections: dict[str, int] = Field(default_factory=dict)
    vectors: VectorsProgress | None = Field(None, description="Progress of the dense vectors.")
    tables: list[dict[str, Any]] = Field(default_factory=list)
    ratelimit: RateLimitStorage | None = Field(None, description="Where limits and quotas are counted now.")
    problems: list[str] = Field(default_factory=list)
    error: ErrorBody | None = Field(None, description="Present (with status 503) when not ready.")


class NcciResult(BaseModel):
    """A PTP pair verdict or an MUE verdict from the loaded CMS tables, with the rows it rests on."""

    status: str
    message: str
    citations: list[dict[str, Any]]

    model_config = ConfigDict(extra="allow")
