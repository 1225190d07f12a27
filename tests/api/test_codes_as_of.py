"""``GET /v1/codes/{code}?as_of=``: a code as it stands on a date of service, through the ASGI transport.

The slice index holds no dated records, so this app's code store is a small HCPCS load (the fixture file's
G9997 ends on 2017-12-31) beside the session's retriever.
"""

from __future__ import annotations

import pytest

from casepilot.codestore import CodeStore
from ingest.hcpcs import HCPCSSource
from tests.api.conftest import api_settings, engine_with, error_shape, get_all
from tests.ingest.table_fixtures import sample_hcpcs_records, write_hcpcs_fixed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory, slice_index, engine):
    from api.app import create_app

    tmp = tmp_path_factory.mktemp("codes-as-of")
    src = HCPCSSource(write_hcpcs_fixed(tmp / "HCPC2026_APR_ANWEB.txt", sample_hcpcs_records()))
    CodeStore(tmp / "data" / "codes.sqlite", readonly=False).replace_source(
        src.name, src.system, src.version, src.fingerprint(), src.records())
    settings = api_settings(slice_index, data_dir=tmp / "data")
    return create_app(settings, engine=engine_with(engine, settings))


def test_as_of_decides_termination(app):
    today, last_day, day_after, still = get_all(
        app, "/v1/codes/G9997", "/v1/codes/g9997?as_of=2017-12-31", "/v1/codes/G9997?system=hcpcs&as_of=2018-01-01",
        "/v1/codes/A9999?as_of=2018-01-01")
    for r in (today, last_day, day_after, still):
        assert r.status_code == 200, r.text
    before = last_day.json()
    assert before["code"] == "G9997" and before["billable"] is True
    assert before["title"].endswith("(terminates 2017-12-31)") and "terminated" not in before["extra"]
    for r in (day_after, today):  # without as_of: today, years after the termination
        body = r.json()
        assert body["billable"] is False and body["title"].endswith("(terminated 2017-12-31)")
        assert body["extra"]["terminated"] == "2017-12-31"
    assert still.json()["billable"] is True  # no termination date: the date changes nothing


def test_bad_as_of_is_a_422(app):
    for r in get_all(app, "/v1/codes/G9997?as_of=2017-13-01", "/v1/codes/G9997?as_of=yesterday",
                  "/v1/codes/G9997?as_of="):
        err = error_shape(r, 422, "invalid_request")
        assert "as_of" in err["message"], err


def test_as_of_in_openapi(app):
    (r,) = get_all(app, "/openapi.json")
    params = {p["name"]: p for p in r.json()["paths"]["/v1/codes/{code}"]["get"]["parameters"]}
    assert params["as_of"]["required"] is False
    assert "date" in str(params["as_of"]["schema"])
