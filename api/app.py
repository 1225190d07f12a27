"""The FastAPI app factory: one warmed ChatEngine per process, the routers, security and static widget.

Slightly over 300 lines on purpose: one concept, assembling the app in ``create_app`` (lifespan, middleware,
routers, offline /docs, the widget's files); the widget's routes answer CORS from the app's own access policy.

``casepilot serve`` runs ``uvicorn api.app:create_app --factory``. There is deliberately no GZip
middleware: it buffers event streams.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from api.errors import error_response, install_error_handlers
from api.logs import configure_logging, install_route_redaction
from api.routes import chat, codes, health, ncci, search
from api.ratelimit import Limiter, RateLimitMiddleware
from api.schemas import error_responses
from api.security import AccessMiddleware, AccessPolicy, BodyLimitMiddleware, GuardMiddleware
from api.shutdown import Shutdown, watch_server_exit
from casepilot.access import norm_origin
from casepilot.egress import disable_tracing
from casepilot.retrieval import Retriever
from casepilot.service import chat_model
from casepilot.settings import Settings, get_settings, prepare_offline_environment
from casepilot.status import dense_progress

log = logging.getLogger("casepilot.api")

# How often the server looks at stage.json while the vectors are being built behind it.
DENSE_POLL_S = 2.0

STATIC_DIR = Path(__file__).resolve().parent / "static"
DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """Cited answers to US medical coding questions, offline by default.

* `POST /v1/chat` streams Server-Sent Events (`meta`, `citation`, `token`, `done` or `error`).
* Every answer is verified: each code-shaped token is looked up (unknown ones are marked and returned with
  `verified: false`); each `[n]` must point at a citation that was sent.
* Errors are always `{"error": {"code", "message", ...}}`.
* When `CASEPILOT_API_KEYS` is set, `/v1/*` needs a key (header `X-CasePilot-Key` or query `key`) used
  from one of its allowed origins.
"""


def build_engine(settings: Settings):
    """The ChatEngine of the settings (with the LLM answerer when ``CASEPILOT_LLM`` is set), or None.

    While the vectors are incomplete (after ``casepilot ingest --lexical-only``) its retriever is lexical.
    """
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import data_present

    if not data_present(settings):
        log.warning("no index in %s: run `casepilot ingest`; /v1 answers 503 until then", settings.data_dir)
        return None
    llm = chat_model(settings)
    progress = dense_progress(settings)
    if not progress["full"]:
        log.info("vectors %s/%s: answering with exact lookups and BM25 until the dense build is done",
                 progress["done"], progress["total"])
        return ChatEngine(settings, retriever=Retriever(settings, dense=False), llm=llm)
    return ChatEngine(settings, llm=llm)


def hybrid_engine(settings: Settings, lexical):
    """A full (BM25 + dense) engine to replace the lexical one, sharing its loaded model; warmed."""
    from casepilot.engine import ChatEngine

    eng = ChatEngine(settings, retriever=Retriever(settings, embedder=lexical.retriever.embedder), llm=lexical.llm)
    warm(eng, full=False)
    return eng


async def _watch_dense(app: FastAPI, settings: Settings) -> None:
    """While the engine is lexical, watch stage.json; once every vector is in, swap in a hybrid engine."""
    failures = 0
    while True:
        await asyncio.sleep(DENSE_POLL_S * (1 + min(failures, 15)))
        eng = app.state.engine
        if eng is None or getattr(eng.retriever, "dense_live", True):
            return
        try:
            progress = await anyio.to_thread.run_sync(dense_progress, settings)
            if not progress["full"] or progress["build"] == "running":
                continue
            new = await anyio.to_thread.run_sync(hybrid_engine, settings, eng)
        except Exception as e:  # keep answering lexically; try again a little later
            failures += 1
            log.error("loading the dense vectors failed: %s", type(e).__name__)
            continue
        app.state.engine = new
        log.info("dense vectors complete (%s passages): hybrid retrieval is live", progress["total"])
        return


def warm(engine, full: bool = True) -> None:
    """Load the model and indexes (and run one answer), so the first user's answer is fast."""
    engine.retriever.warm()
    if full and engine.llm is None:
        engine.answer("What is ICD-10-CM E11.22?")


def _docs_assets_dir() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "static"
    return path if (path / "swagger-ui-bundle.js").exists() else None


def create_app(settings: Settings | None = None, engine=None) -> FastAPI:
    """The API. ``engine`` lets tests share one loaded ChatEngine; otherwise the lifespan builds one."""
    settings = settings or get_settings()
    limiter = Limiter.from_settings(settings) if Limiter.needed(settings) else None
    prepare_offline_environment()
    configure_logging(settings.log_bodies)
    disable_tracing(settings.allow_tracing)  # an inherited LANGSMITH_TRACING=true would send prompts out

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        eng = engine
        if eng is None:
            eng = await anyio.to_thread.run_sync(build_engine, settings)
        if eng is not None:
            try:
                await anyio.to_thread.run_sync(warm, eng, engine is None)
            except Exception as e:  # a down Chroma server: /readyz says so, lookups still work
                log.error("warm-up failed: %s", type(e).__name__)
        app.state.engine = eng
        watcher = None
        if eng is not None and not getattr(eng.retriever, "dense_live", True):
            watcher = asyncio.create_task(_watch_dense(app, settings))
        # SIGTERM: open chat streams end with an `error` event (shutting_down); see api/shutdown.py.
        exit_watch = asyncio.create_task(watch_server_exit(app.state.shutdown))
        try:
            yield
        finally:
            app.state.shutdown.set()
            exit_watch.cancel()
            if watcher is not None:
                watcher.cancel()
            await anyio.to_thread.run_sync(_flush_feedback, settings)
            if limiter is not None:
                await limiter.aclose()

    assets = _docs_assets_dir()
    app = FastAPI(
        title="CasePilot API", version=health.VERSION, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,
        openapi_tags=[{"name": "chat"}, {"name": "codes"}, {"name": "search"}, {"name": "ncci"},
                      {"name": "health"}, {"name": "widget"}],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.limiter = anyio.CapacityLimiter(settings.chat_concurrency)
    app.state.shutdown = Shutdown()
    install_error_handlers(app)

    for r in (chat.router, codes.router, search.router, ncci.router, health.router):
        app.include_router(r)
    app.include_router(importlib.import_module("api.routes.coverage").router)
    if importlib.util.find_spec("api.routes.feedback") is not None:
        try:
            app.include_router(importlib.import_module("api.routes.feedback").router)
        except (ImportError, AttributeError) as e:
            log.warning("feedback routes not loaded: %s", type(e).__name__)

    _docs(app, assets)
    _widget(app)

    # Added last = outermost: access first, then rate limit, then the body limit before any parsing.
    app.add_middleware(GuardMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if limiter is not None:  # a rate limit or a key's quota, counted where CASEPILOT_RATELIMIT_STORAGE says
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(AccessMiddleware, policy=AccessPolicy.from_settings(settings))
    install_route_redaction(app)  # access logs show /v1/codes/{code}, never the code typed
    return app


def _flush_feedback(settings: Settings) -> None:
    """At shutdown: wait for feedback writes in flight and fold the database's WAL into its file."""
    module = importlib.import_module("api.routes.feedback") if importlib.util.find_spec("api.routes.feedback") else None
    flush = getattr(module, "flush", None)
    if flush is not None:
        try:
            flush(settings)
        except (OSError, sqlite3.Error) as e:
            log.error("flushing feedback failed: %s", type(e).__name__)


def _docs(app: FastAPI, assets: Path | None) -> None:
    """Swagger UI from local files (``fastapi-offline``'s copy): /docs works without a network."""
    from starlette.staticfiles import StaticFiles

    if assets is not None:
        app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse("<p>Swagger UI files are not installed (pip install fastapi-offline); "
                                "the schema is at <a href='/openapi.json'>/openapi.json</a>.</p>")
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="CasePilot API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )


# The widget's ES modules (api/static/widget/), each served as written at /widget/<name> (no bundler, no build
# step). One route per file: the access log names them, and any other path under /widget/ is a 404 not echoed.
WIDGET_MODULES = ("config.js", "dom.js", "main.js", "markdown.js", "sse.js", "state.js", "styles.js", "view.js")
JS_MEDIA_TYPE = "application/javascript; charset=utf-8"


class WidgetConfig(BaseModel):
    """The limits of ``POST /v1/chat`` (the settings' own values), so the widget sends nothing the server refuses."""

    max_message_chars: int = Field(description="Longest question (CASEPILOT_MAX_MESSAGE_CHARS).")
    max_history_turns: int = Field(description="Most history turns in one request (CASEPILOT_MAX_HISTORY_TURNS).")
    max_turn_chars: int = Field(description="Longest history turn (CASEPILOT_MAX_TURN_CHARS).")
    max_body_bytes: int = Field(description="Largest request body in bytes (CASEPILOT_MAX_BODY_BYTES).")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"max_message_chars": 4000, "max_history_turns": 40, "max_turn_chars": 20000, "max_body_bytes": 256000},
    ]})


def _widget(app: FastAPI) -> None:
    """The embeddable widget (a classic loader, /widget.js, and its ES modules), its limits and its demo page.

    The modules and /widget-config are public, like /widget.js, and any page may read them: a module script (and
    a fetch) from another origin needs a CORS grant where a classic script does not, and a site that may not
    use the API must still get the widget that tells its users so. The access middleware (api/security.py)
    grants allowed origins when no keys are set; ``_public_cors`` adds ``*`` for every other origin, so a
    response carries exactly one Access-Control-Allow-Origin.
    """
    policy = AccessPolicy.from_settings(app.state.settings)

    def _public_cors(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if not origin:
            return {}
        if not policy.keys and (policy.open_origins is None or norm_origin(origin) in policy.open_origins):
            return {}  # AccessMiddleware's own grant
        return {"Access-Control-Allow-Origin": "*"}

    def _file(name: str, media_type: str, cache: str, request: Request | None = None, cors: bool = False):
        path = STATIC_DIR / name
        if not path.is_file():
            return error_response(404, "not_found", f"api/static/{name} is not built in this installation.")
        headers = {"Cache-Control": cache, **(_public_cors(request) if cors and request is not None else {})}
        response = FileResponse(path, media_type=media_type, headers=headers, stat_result=path.stat())
        match = request.headers.get("if-none-match") if request is not None else None
        if match and response.headers["etag"] in [t.strip().removeprefix("W/") for t in match.split(",")]:
            return Response(status_code=304, headers={"ETag": response.headers["etag"], **headers})
        return response

    @app.get("/widget.js", tags=["widget"], summary="The embeddable chat widget", response_class=Response,
             responses={200: {"content": {"application/javascript": {"schema": {"type": "string"}}}},
                        **error_responses(404)})
    async def widget_js(request: Request):
        """A classic script to embed with `<script src=".../widget.js">` on any allowed site; it imports the
        widget's modules (`/widget/main.js` and the modules it imports) from the same origin."""
        return _file("widget.js", JS_MEDIA_TYPE, "public, max-age=300", request)

    def _module(name: str):
        async def widget_module(request: Request):
            # no-cache: revalidated (ETag, 304) on every load, so a page never runs modules of two versions
            return _file(f"widget/{name}", JS_MEDIA_TYPE, "no-cache", request, cors=True)
        return widget_module

    for module in WIDGET_MODULES:
        app.add_api_route(f"/widget/{module}", _module(module), methods=["GET"], include_in_schema=False,
                          response_class=Response)

    @app.get("/widget-config", tags=["widget"], summary="The widget's limits", response_model=WidgetConfig)
    async def widget_config(request: Request):
        """The chat limits the widget keeps to: question length, history turns, turn length and body size.

        Not under `/v1/`: it needs no key and counts against no rate limit or quota.
        """
        s = request.app.state.settings
        body = WidgetConfig(max_message_chars=s.max_message_chars, max_history_turns=s.max_history_turns,
                            max_turn_chars=s.max_turn_chars, max_body_bytes=s.max_body_bytes)
        return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-cache", **_public_cors(request)})

    @app.get("/", tags=["widget"], summary="Demo page embedding the widget", response_class=HTMLResponse,
             responses=error_responses(404))
    async def index():
        """A page that embeds the widget, for trying CasePilot in a browser."""
        return _file("index.html", "text/html; charset=utf-8", "no-cache")
