"""The widget in modules (issue 14, item 6): the /widget.js loader, its ES modules under /widget/, and /widget-config.

Through the ASGI transport over an app with no index (nothing here needs one): the files are served as written
with a JavaScript media type, each module says what it holds, the module graph is closed (relative imports of
served files only), every page may load them (exactly one CORS grant, whatever the access settings), and the
limits come from the one settings object.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.conftest import asgi_client, error_shape, get_all, run
from tests.conftest import make_settings

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
MODULES = sorted(p.name for p in (STATIC / "widget").glob("*.js"))
GOOD = "https://a.example"
OTHER = "https://b.example"


@pytest.fixture
def app_factory(tmp_path):
    from api.app import create_app

    def make(**kw):
        return create_app(make_settings(tmp_path / "empty", **kw))
    return make


def test_every_module_file_has_a_route_and_every_route_a_file():
    from api.app import WIDGET_MODULES

    assert MODULES and sorted(WIDGET_MODULES) == MODULES


def test_modules_served_as_written_with_a_javascript_media_type(app_factory):
    app = app_factory()
    paths = ["/widget.js", *(f"/widget/{m}" for m in MODULES)]
    for path, r in zip(paths, get_all(app, *paths)):
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] in ("application/javascript", "text/javascript"), path
        assert r.content == (STATIC / path.lstrip("/")).read_bytes(), path  # no build step, no rewriting
        if path != "/widget.js":
            assert r.headers["cache-control"] == "no-cache" and r.headers["etag"], path


def test_a_module_revalidates_with_304(app_factory):
    app = app_factory()

    async def go():
        async with asgi_client(app) as c:
            first = await c.get("/widget/main.js", headers={"Origin": OTHER})
            again = await c.get("/widget/main.js", headers={"Origin": OTHER, "If-None-Match": first.headers["etag"]})
            stale = await c.get("/widget/main.js", headers={"If-None-Match": '"other"'})
            return first, again, stale

    first, again, stale = run(go())
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    assert again.headers.get_list("access-control-allow-origin") == ["*"]
    assert stale.status_code == 200 and stale.content == first.content


def test_unknown_widget_paths_are_404_in_the_error_shape(app_factory):
    for r in get_all(app_factory(), "/widget/evil.js", "/widget/../widget.js.map", "/widget/"):
        error_shape(r, 404, "not_found")


def test_each_module_starts_with_a_one_line_comment_saying_what_it_holds():
    for name in MODULES:
        first, second = (STATIC / "widget" / name).read_text(encoding="utf-8").split("\n")[:2]
        assert first.startswith("// ") and len(first) > 30, name
        assert not second.startswith("//"), f"{name}: the header is one line"


def test_the_module_graph_is_closed_and_text_only():
    """Every import is a relative path to a served module (no bare names, nothing from another host); no file
    writes markup or names a URL of the outside world."""
    imports = re.compile(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["'];?$|^\s*import\s+["']([^"']+)["']""", re.M)
    reached = {"main.js"}
    for name in MODULES:
        text = (STATIC / "widget" / name).read_text(encoding="utf-8")
        for m in imports.finditer(text):
            spec = m.group(1) or m.group(2)
            assert spec.startswith("./") and spec[2:] in MODULES, (name, spec)
            reached.add(spec[2:])
        assert "import(" not in text, name  # only the loader imports dynamically
    assert reached == set(MODULES), set(MODULES) - reached  # no module is dead weight
    for path in [STATIC / "widget.js", *(STATIC / "widget" / m for m in MODULES)]:
        text = path.read_text(encoding="utf-8")
        assert "innerHTML" not in text.replace("no innerHTML", ""), path.name
        assert "insertAdjacentHTML" not in text and "document.write" not in text and "eval(" not in text, path.name
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "https://" not in text.replace("https://HOST", ""), path.name
    loader = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert 'import(new URL("widget/main.js", src)' in loader  # beside the loader, on its origin


# (settings, origin, the one grant expected on the widget's public files)
CORS_CASES = [
    pytest.param({}, OTHER, "*", id="open"),
    pytest.param({"allowed_origins": GOOD}, GOOD, GOOD, id="restricted-allowed"),
    pytest.param({"allowed_origins": GOOD}, OTHER, "*", id="restricted-other"),
    pytest.param({"api_keys": f"pk_site={GOOD}"}, GOOD, "*", id="keys-allowed"),
    pytest.param({"api_keys": f"pk_site={GOOD}"}, OTHER, "*", id="keys-other"),
]


@pytest.mark.parametrize("settings, origin, grant", CORS_CASES)
def test_any_page_may_load_the_modules_and_the_config_with_exactly_one_grant(app_factory, settings, origin, grant):
    """A module script from another origin needs CORS (a classic script does not). The access middleware grants
    allowed origins when no keys are set; the widget's routes add ``*`` for the rest, never a second header."""
    app = app_factory(**settings)
    paths = [*(f"/widget/{m}" for m in MODULES), "/widget-config"]
    for path, r in zip(paths, get_all(app, *paths, headers={"Origin": origin})):
        assert r.status_code == 200, path
        assert r.headers.get_list("access-control-allow-origin") == [grant], path
    for path, r in zip(paths, get_all(app, *paths)):  # no Origin (same origin, curl): no grant needed
        assert "access-control-allow-origin" not in r.headers, path


def test_other_paths_keep_their_grants(app_factory):
    """The widget's grant is for its own public files: /readyz and /v1 stay as the access settings say."""
    app = app_factory(api_keys=f"pk_site={GOOD}")
    readyz, codes = get_all(app, "/readyz", "/v1/codes/E11.22", headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in readyz.headers
    error_shape(codes, 403, "invalid_api_key")
    assert "access-control-allow-origin" not in codes.headers


def test_widget_config_is_the_settings_limits(app_factory):
    app = app_factory(max_message_chars=123, max_history_turns=7, max_turn_chars=456, max_body_bytes=9000)
    (r,) = get_all(app, "/widget-config")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {"max_message_chars": 123, "max_history_turns": 7, "max_turn_chars": 456, "max_body_bytes": 9000}
    assert r.headers["cache-control"] == "no-cache"
    default = get_all(app_factory(), "/widget-config")[0].json()
    from casepilot.settings import Settings

    fields = Settings.model_fields
    assert default == {k: fields[k].default for k in default}


def test_widget_config_needs_no_key_and_spends_no_quota(app_factory):
    """Off /v1/: a page load asks for it, so it must not use up a key's daily questions or the rate limit."""
    app = app_factory(api_keys=f"pk_site={GOOD};quota=1", rate_limit_per_minute=1)

    async def go():
        async with asgi_client(app) as c:
            configs = [await c.get("/widget-config", headers={"Origin": GOOD}) for _ in range(3)]
            return configs

    assert [r.status_code for r in run(go())] == [200, 200, 200]


def test_widget_config_is_documented(app_factory):
    (spec,) = get_all(app_factory(), "/openapi.json")
    paths = spec.json()["paths"]
    op = paths["/widget-config"]["get"]
    assert op["tags"] == ["widget"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/WidgetConfig")
    assert not any(p.startswith("/widget/") for p in paths)  # the module files are not API operations


def test_access_log_names_the_widget_files_and_nothing_typed_under_them(app_factory):
    from api.logs import redact_path

    app_factory()  # registers the app's routes with the redaction
    for m in MODULES:
        assert redact_path(f"/widget/{m}") == f"/widget/{m}"
    assert redact_path("/widget-config?key=x") == "/widget-config?[redacted]"
    assert redact_path("/widget/JOHN-DOE.js") == "/[redacted]"
