"""Codes, search, NCCI, health, OpenAPI, /docs and the widget files, through the ASGI transport."""

from __future__ import annotations

import pytest

from tests.api.conftest import api_settings, asgi_client, error_shape, get_all, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(slice_index, engine):
    from api.app import create_app

    return create_app(slice_index, engine=engine)


def test_code_lookup_any_spelling(app):
    for r in get_all(app, "/v1/codes/E11.22", "/v1/codes/e1122", "/v1/codes/%20E11.22%20"):
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == "E11.22" and body["billable"] is True and body["system"] == "icd10cm"
        assert any(n["inherited"] for n in body["notes"])


def test_code_errors(app):
    nf, bad, path = get_all(app, "/v1/codes/E11.99", "/v1/codes/E11$22", "/v1/codes/E11.22?system=nope")
    err = error_shape(nf, 404, "code_not_found")
    assert any(s["code"] == "E11.9" for s in err["suggestions"])
    error_shape(bad, 422, "malformed_code")
    error_shape(path, 422, "invalid_request")


def test_search(app):
    ok, bad_sys, bad_k, empty = get_all(app, "/v1/search?q=type+2+diabetes+with+ckd&system=icd10cm&k=3",
                                     "/v1/search?q=x&system=nope", "/v1/search?q=x&k=0", "/v1/search?q=")
    body = ok.json()
    assert ok.status_code == 200 and len(body["hits"]) == 3
    assert body["hits"][0]["code"] == "E11.22" and body["hits"][0]["score"] > 0 and body["hits"][0]["snippet"]
    for r in (bad_sys, bad_k, empty):
        error_shape(r, 422, "invalid_request")
    (exact,) = get_all(app, "/v1/search?q=E11.22")
    assert exact.json()["exact"][0]["code"] == "E11.22"


def test_ncci(app):
    ptp, mue, bad1, bad2 = get_all(app, "/v1/ncci/ptp?code1=99213&code2=11055", "/v1/ncci/mue/99213",
                                "/v1/ncci/ptp?code1=9921&code2=99213", "/v1/ncci/mue/99")
    assert ptp.status_code == 200 and ptp.json()["status"] == "not_loaded" and "ingest" in ptp.json()["message"]
    assert mue.status_code == 200 and mue.json()["status"] == "not_loaded"
    error_shape(bad1, 422, "malformed_code")
    error_shape(bad2, 422, "malformed_code")


def test_health_and_ready(app, slice_index):
    h, ready = get_all(app, "/healthz", "/readyz")
    assert h.json()["status"] == "ok"
    body = ready.json()
    assert ready.status_code == 200 and body["ready"] is True and not body["problems"]
    assert "icd10cm" in body["code_sets"] and body["collections"]["icd10cm"] > 0


def test_not_ready_without_index(tmp_path):
    from api.app import create_app

    app = create_app(api_settings_from(tmp_path))
    ready, chat = get_all(app, "/readyz", "/v1/codes/E11.22")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    assert ready.json()["error"]["code"] == "not_ready"
    error_shape(chat, 503, "not_ready")


def api_settings_from(path):
    from casepilot.settings import Settings

    return Settings(data_dir=path)


def test_unknown_paths_and_methods_are_json_errors(app):
    nf, = get_all(app, "/nope")
    error_shape(nf, 404, "not_found")

    async def go():
        async with asgi_client(app) as c:
            return await c.get("/v1/chat"), await c.post("/v1/chat", content=b"{not json",
                                                          headers={"content-type": "application/json"})
    wrong_method, broken = run(go())
    error_shape(wrong_method, 405, "method_not_allowed")
    error_shape(broken, 422, "invalid_request")


def test_openapi_is_complete(app):
    (r,) = get_all(app, "/openapi.json")
    spec = r.json()
    for path in ("/v1/chat", "/v1/codes/{code}", "/v1/search", "/healthz", "/readyz", "/v1/ncci/ptp",
                 "/v1/ncci/mue/{code}"):
        assert path in spec["paths"], path
    comps = spec["components"]["schemas"]
    import api.schemas

    for name in ("ChatRequest", "ChatResponse", "ErrorResponse", "Citation", "CodeRecordOut", "SearchResponse"):
        assert name in comps, name
        schema = comps[name]
        assert schema.get("examples"), f"{name} has no example in the OpenAPI schema"
        for example in schema["examples"]:
            # each example is complete (every required field), names only real fields, and is valid
            assert set(schema.get("required", [])) <= set(example), (name, set(schema["required"]) - set(example))
            assert set(example) <= set(schema["properties"]), (name, set(example) - set(schema["properties"]))
            getattr(api.schemas, name).model_validate(example)
    chat = spec["paths"]["/v1/chat"]["post"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    for status in ("413", "422", "403"):
        ref = chat["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorResponse")


def test_docs_work_offline(app):
    docs, css, js = get_all(app, "/docs", "/docs-assets/swagger-ui.css", "/docs-assets/swagger-ui-bundle.js")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text.replace("https://swagger", "")
    assert css.status_code == 200 and js.status_code == 200


def test_widget_files_served_when_present_404_json_when_not(app, tmp_path, monkeypatch):
    import api.app as appmod

    (tmp_path / "widget.js").write_text("console.log('cp');")
    (tmp_path / "index.html").write_text("<!doctype html><script src='/widget.js'></script>")
    monkeypatch.setattr(appmod, "STATIC_DIR", tmp_path)
    js, page = get_all(app, "/widget.js", "/")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "cp" in js.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    monkeypatch.setattr(appmod, "STATIC_DIR", tmp_path / "missing")
    js, page = get_all(app, "/widget.js", "/")
    error_shape(js, 404, "not_found")
    error_shape(page, 404, "not_found")


def test_feedback_router_included_when_present(app, slice_index, engine, monkeypatch):
    import sys

    from api.app import create_app

    # api/routes/feedback.py is part of this tree, so the route is there and documented
    (r,) = get_all(app, "/openapi.json")
    assert "post" in r.json()["paths"]["/v1/feedback"]
    # an installation without the module (None in sys.modules: find_spec gives None, import fails)
    # still starts and serves, without the route
    monkeypatch.setitem(sys.modules, "api.routes.feedback", None)
    bare = create_app(slice_index, engine=engine)

    async def go():
        async with asgi_client(bare) as c:
            return (await c.get("/openapi.json"), await c.get("/v1/codes/E11.22"),
                    await c.post("/v1/feedback", json={"conversation_id": "abc123", "rating": "up", "message_index": 0}))
    spec, code, feedback = run(go())
    assert not any("feedback" in p for p in spec.json()["paths"])
    assert code.status_code == 200
    error_shape(feedback, 404, "not_found")


def test_settings_limits_are_configurable(slice_index, engine):
    from api.app import create_app

    app = create_app(api_settings(slice_index, max_message_chars=10), engine=engine)

    async def go():
        async with asgi_client(app) as c:
            return await c.post("/v1/chat", json={"message": "x" * 11, "stream": False})
    err = error_shape(run(go()), 422, "message_too_long")
    assert err["limit"] == 10 and "10" in err["message"]
