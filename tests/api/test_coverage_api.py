"""``/v1/coverage``: crosswalk, pair verdict and NCD over MCD fixture downloads, through the ASGI transport."""

from __future__ import annotations

import pytest

from casepilot.settings import Settings
from ingest.mcd import load_table
from tests.api.conftest import get_all
from tests.ingest.mcd_fixtures import article_tables, ncd_tables, write_download


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]["message"]


@pytest.fixture(scope="module")
def loaded_app(tmp_path_factory):
    from api.app import create_app

    tmp = tmp_path_factory.mktemp("mcd-api")
    for ds, tables in (("article", article_tables()), ("ncd", ncd_tables())):
        load_table(tmp / "data", write_download(tmp / "src", ds, tables))
    return create_app(Settings(data_dir=tmp / "data"))


def test_check_and_crosswalk(loaded_app):
    undecided, nonc, x, dc, mn = get_all(
        loaded_app, "/v1/coverage/check?code=20610&dx=M17.11&as_of=2026-11-29",
        "/v1/coverage/check?code=29877&dx=m1711&article=A52369&as_of=2026-11-29",
        "/v1/coverage/crosswalk?code=J7321&as_of=2026-11-29",
        "/v1/coverage/check?code=J7321&dx=M17.11&state=DC&as_of=2026-11-29",
        "/v1/coverage/check?code=J7321&dx=M17.11&state=MN&as_of=2026-11-29")
    body = undecided.json()
    assert undecided.status_code == 200 and body["verdict"] == "not_decided" and body["verdict_label"] == "not decided"
    assert "no covered group 2" in body["reason"] and body["articles"][0]["public_id"] == "A52420"
    assert body["articles"][0]["pairing"] == "not_decided"
    assert any(r["table"] == "article_x_icd10_covered.csv" and "M17.11" in r["row"] for r in body["rows"])
    assert nonc.json()["verdict"] == "not_supported" and nonc.json()["dx"] == "M17.11"
    xb = x.json()
    assert xb["type"] == "crosswalk" and [a["public_id"] for a in xb["articles"]] == ["A52420"]
    assert [e["code"] for e in xb["articles"][0]["covered"]["1"]][:2] == ["M17.0", "M17.11"]
    assert dc.json()["verdict"] == "supported" and dc.json()["jurisdiction"] == "District of Columbia"
    mb = mn.json()
    assert mb["verdict"] == "not_addressed" and mb["articles"] == [] and mb["other_articles"][0]["public_id"] == "A52420"
    assert mb["other_articles"][0]["in_jurisdiction"] is False


def test_ncd_by_section_and_id(loaded_app):
    sect, retired, missing, bad = get_all(loaded_app, "/v1/coverage/ncd/240.4.1?as_of=2026-11-29",
                                       "/v1/coverage/ncd/20?as_of=2026-11-29", "/v1/coverage/ncd/999.9",
                                       "/v1/coverage/ncd/x;y")
    n = sect.json()["ncd"]
    assert sect.status_code == 200 and n["title"] == "Sleep Testing for Obstructive Sleep Apnea (OSA)"
    assert (n["effective"], n["retired"], n["coverage_level_text"]) == ("2009-03-03", False, "full coverage")
    r = retired.json()["ncd"]
    assert (r["section"], r["retired"], r["terminated"]) == ("30.4", True, "2021-01-01")
    assert "999.9" in _error(missing, 404, "ncd_not_found")
    _error(bad, 422, "invalid_request")


def test_bad_input_is_422_in_the_error_shape(loaded_app):
    code, dx, state, article = get_all(loaded_app, "/v1/coverage/check?code=2061&dx=M17.11",
                                    "/v1/coverage/check?code=20610&dx=17.11",
                                    "/v1/coverage/crosswalk?code=J7321&state=Atlantis",
                                    "/v1/coverage/crosswalk?code=J7321&article=L33767")
    assert "not a CPT/HCPCS code" in _error(code, 422, "invalid_request")
    assert "not an ICD-10-CM code" in _error(dx, 422, "invalid_request")
    assert "not a state" in _error(state, 422, "invalid_request")
    _error(article, 422, "invalid_request")


def test_no_mcd_loaded_is_503_with_the_download(tmp_path):
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path))
    check, ncd = get_all(app, "/v1/coverage/check?code=20610&dx=M17.11", "/v1/coverage/ncd/240.4.1")
    msg = _error(check, 503, "mcd_not_loaded")
    assert "exports/current_article.zip" in msg and "casepilot ingest --source mcd PATH" in msg
    assert "exports/ncd.zip" in _error(ncd, 503, "mcd_not_loaded")


def test_openapi_documents_the_routes(tmp_path):
    from api.app import create_app

    (spec,) = get_all(create_app(Settings(data_dir=tmp_path)), "/openapi.json")
    paths = spec.json()["paths"]
    for p in ("/v1/coverage/crosswalk", "/v1/coverage/check", "/v1/coverage/ncd/{ref}"):
        assert p in paths
    check = paths["/v1/coverage/check"]["get"]
    assert check["responses"]["503"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert check["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/CoverageResult")
    assert "not_decided" in str(spec.json()["components"]["schemas"]["CoverageResult"])
