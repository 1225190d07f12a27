"""Origins (issue 13, finding 10; RELIABILITY row 14): no CORS grant to other origins off /v1 either, and
/readyz keeps the data directory and the Chroma URL from pages on other sites."""

from __future__ import annotations

import socket

import pytest

from tests.api.conftest import api_settings, asgi_client, run

pytestmark = pytest.mark.slow

EVIL = "https://evil.example"
GOOD = "https://a.example"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_restricted_origins_without_keys_grant_no_other_origin_anywhere(slice_index, engine):
    from api.app import create_app

    app = create_app(api_settings(slice_index, allowed_origins=GOOD), engine=engine)

    async def go():
        async with asgi_client(app) as c:
            out = {}
            for path in ("/readyz", "/healthz", "/widget.js", "/", "/openapi.json", "/v1/codes/E11.22"):
                out[path] = (await c.get(path, headers={"Origin": EVIL}), await c.get(path, headers={"Origin": GOOD}))
            pre = await c.options("/readyz", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"})
            return out, pre

    out, pre = run(go())
    for path, (evil, good) in out.items():
        assert "access-control-allow-origin" not in evil.headers, path  # neither echoed nor "*"
        assert good.headers.get("access-control-allow-origin") == GOOD, path
    assert out["/v1/codes/E11.22"][0].status_code == 403
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers


def test_open_origins_still_grant_every_origin_off_v1(slice_index, engine):
    from api.app import create_app

    app = create_app(slice_index, engine=engine)  # the local default: open, any origin

    async def go():
        async with asgi_client(app) as c:
            return await c.get("/readyz", headers={"Origin": EVIL})

    assert run(go()).headers.get("access-control-allow-origin") == "*"


def test_readyz_keeps_paths_and_the_chroma_url_from_other_origins(slice_index, engine, embedder, tmp_path):
    from api.app import create_app
    from casepilot.engine import ChatEngine
    from casepilot.retrieval import Retriever

    url = f"http://127.0.0.1:{_closed_port()}"
    with_chroma = api_settings(slice_index, chroma_url=url)
    down = create_app(with_chroma, engine=ChatEngine(with_chroma, retriever=Retriever(with_chroma, embedder=embedder)))
    empty_dir = tmp_path / "nothing-here"
    empty = create_app(api_settings(slice_index, data_dir=empty_dir))

    async def ask(app, headers):
        async with asgi_client(app) as c:
            return await c.get("/readyz", headers=headers)

    for app, secret in ((down, url), (empty, str(empty_dir))):
        cross = run(ask(app, {"Origin": EVIL}))
        assert cross.status_code == 503 and cross.json()["problems"]
        assert secret not in cross.text and str(slice_index.data_dir) not in cross.text
        assert "127.0.0.1" not in cross.text and str(tmp_path) not in cross.text
        operator = run(ask(app, {}))  # curl or a load balancer on the host: the details help
        assert operator.status_code == 503 and secret in operator.text
