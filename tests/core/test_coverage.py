"""Coverage verdicts over the MCD tables: the issue's done-when cases, jurisdiction, status, NCDs, code-set flags."""

from __future__ import annotations

from datetime import date

import pytest

from casepilot.codestore import CodeStore
from casepilot.records import CodeRecord
from casepilot.tables import coverage as cov
from casepilot.tables import tables_path
from casepilot.tables.coverage.status import doc_status, mcd_date, ncd_status
from ingest.mcd import load_table
from tests.ingest.mcd_fixtures import article_tables, lcd_tables, ncd_tables, write_download

DAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcd")
    tables = article_tables()
    # One retired article that still lists J7321 (the fixture's own row): shown, never the answer.
    tables["article.csv"].append({"article_id": "59999", "article_version": "2", "article_type": "6", "status": "R",
                                  "title": "Billing and Coding: Retired hyaluronan article", "display_id": "",
                                  "article_eff_date": "2019-01-01 00:00:00", "date_retired": "2024-01-01 00:00:00"})
    tables["article_x_hcpc_code.csv"].append({"article_id": "59999", "article_version": "2", "hcpc_code_id": "J7321",
                                              "hcpc_code_group": "1"})
    tables["article_x_icd10_covered.csv"].append({"article_id": "59999", "article_version": "2",
                                                  "icd10_code_id": "M17.11", "icd10_covered_group": "1"})
    for ds, t in (("article", tables), ("ncd", ncd_tables()), ("lcd", lcd_tables())):
        load_table(tmp / "data", write_download(tmp / "src", ds, t))
    return tables_path(tmp / "data")


def test_crosswalk_for_j7321_lists_a52420_with_its_covered_m17_codes(db):
    x = cov.crosswalk(db, "j7321", DAY)
    assert x.status == "found" and [a.public_id for a in x.articles] == ["A52420"]
    a = x.articles[0]
    assert (a.version, a.effective, a.status, a.code_groups, a.pairing) == (64, "2026-04-01", "current", [1],
                                                                             "same_number")
    covered = [e["code"] for e in a.paired_covered()[1]]
    assert covered[:9] == ["M17.0", "M17.11", "M17.12", "M17.2", "M17.31", "M17.32", "M17.4", "M17.5", "M17.9"]
    assert len(covered) == 17 and a.noncovered == {}
    assert a.contractors == [{"id": 314, "name": "Novitas Solutions, Inc.", "number": "12101", "type": ""}]
    assert a.states == ["DC"] and a.url.endswith("articleId=52420&ver=64")
    assert "Visco-3™" in a.paragraphs["hcpc:1"] and a.paragraphs["hcpc:2"] == "Injection procedure codes"
    assert [o.public_id for o in x.other] == ["A59999"] and x.other[0].status == "retired"
    assert {r.table for r in x.rows} >= {"article.csv", "article_x_hcpc_code.csv", "article_x_icd10_covered.csv"}
    assert x.edition == "2026-09-27"


def test_20610_with_m17_11_is_not_decided_and_says_why(db):
    v = cov.check(db, "20610", "M17.11", DAY)
    assert v.verdict == "not_decided"
    assert "A52420 lists M17.11 as covered in group 1" in v.reason
    assert "20610 is in code group 2" in v.reason and "no covered group 2" in v.reason
    assert "the pairing rests on the article's text" in v.reason and "J7318" in v.reason
    a = v.articles[0]
    assert (a.public_id, a.version, a.effective, a.pairing) == ("A52420", 64, "2026-04-01", "not_decided")
    rows = {(r.table, r.line) for r in v.rows}
    assert ("article_x_icd10_covered.csv", 3) in rows  # M17.11 is the 2nd data row of the covered file
    assert ("article_x_hcpc_code.csv", 18) in rows  # 20610 in group 2
    assert ("article.csv", 8) in rows  # A52420 v64: the 4th record; each record holds a line break in its description
    cites = v.to_dict()["citations"]
    assert any("icd10_code_id M17.11, icd10_covered_group 1" in c["row"] for c in cites)


def test_29877_with_m17_11_under_a52369_is_not_supported(db):
    v = cov.check(db, "29877", "M17.11", DAY, article="A52369")
    assert v.verdict == "not_supported" and [a.public_id for a in v.articles] == ["A52369"]
    assert "noncovered group 1" in v.reason and "nationally non-covered indications" in v.reason
    assert any(r.table == "article_x_icd10_noncovered.csv" and "M17.11" in r.row for r in v.rows)
    assert cov.check(db, "29877", "M25.561", DAY).verdict == "not_supported"
    assert cov.check(db, "29877", "E11.9", DAY).verdict == "not_addressed"


def test_paired_groups_support_and_jurisdiction_scopes_the_answer(db):
    assert cov.check(db, "J7321", "M17.11", DAY).verdict == "supported"
    assert cov.check(db, "J7321", "M17.11", DAY, state="DC").verdict == "supported"
    mn = cov.check(db, "J7321", "M17.11", DAY, state="Minnesota")
    assert mn.verdict == "not_addressed" and mn.jurisdiction == "Minnesota" and mn.articles == []
    assert "another jurisdiction's article, not the answer for Minnesota" in mn.message
    assert cov.check(db, "29877", "M17.11", DAY, state="MN").verdict == "not_supported"
    assert cov.check(db, "29877", "M17.11", DAY, state="06101").verdict == "not_supported"  # MAC contract number
    with pytest.raises(ValueError, match="not a state in the MCD state list"):
        cov.check(db, "J7321", "M17.11", DAY, state="Atlantis")


def test_not_yet_effective_and_retired_are_never_current(db):
    early = cov.check(db, "J7321", "M17.11", date(2026, 3, 1))
    assert early.verdict == "not_addressed" and early.articles == []
    assert {(o.public_id, o.status) for o in early.other} == {("A52420", "not_yet_effective"), ("A59999", "retired")}
    assert "not yet in effect: effective 2026-04-01" in early.message
    assert "retired on 2024-01-01" in early.message


def test_new_york_regions_and_bad_inputs(db):
    import sqlite3

    from casepilot.tables.coverage.jurisdiction import resolve_state

    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    assert resolve_state(con, "NY")[0] == {41, 63, 64, 65}
    assert resolve_state(con, "new york")[0] == {41, 63, 64, 65}
    assert resolve_state(con, "QN")[0] == {64, 41}  # Queens, and documents for the entire state
    con.close()
    with pytest.raises(ValueError, match="not a CPT/HCPCS code"):
        cov.crosswalk(db, "2061", DAY)
    with pytest.raises(ValueError, match="not an ICD-10-CM code"):
        cov.check(db, "20610", "17.11", DAY)


def test_ncds_with_dates_and_retired_status(db):
    n = cov.ncd(db, "240.4.1", DAY)
    assert n.status == "found" and n.ncd["id"] == 330 and n.ncd["retired"] is False
    assert (n.ncd["effective"], n.ncd["terminated"], n.ncd["coverage_level_text"]) == ("2009-03-03", None,
                                                                                      "full coverage")
    assert n.ncd["indications_limitations"].startswith("Indications:\n- Type I polysomnography")
    assert n.ncd["url"].endswith("NCDId=330&NCDver=1") and n.rows[0].table == "ncd_trkg.csv"
    r = cov.ncd(db, "NCD 30.4", DAY).ncd
    assert (r["retired"], r["terminated"], r["status_text"]) == (True, "2021-01-01", "retired: terminated on 2021-01-01")
    assert cov.ncd(db, "291", DAY).ncd["status_text"] == "retired (its title says RETIRED)"
    assert cov.ncd(db, "210.3", date(2026, 1, 1)).ncd["status"] == "not_yet_effective"
    assert cov.ncd(db, "210.3", DAY).ncd["status"] == "current"
    assert "coverage level 4" in cov.ncd(db, "140.9", DAY).ncd["coverage_level_text"]
    assert cov.ncd(db, "999.9", DAY).status == "not_found"
    with pytest.raises(ValueError, match="not an NCD id"):
        cov.ncd(db, "drop table", DAY)


def test_codes_not_in_the_loaded_code_set_are_flagged(db, tmp_path):
    store = CodeStore(tmp_path / "codes.sqlite", readonly=False)
    recs = [CodeRecord("icd10cm", c, d, "test title", billable=b, level="code" if b else "subcategory")
            for c, d, b in (("M1711", "M17.11", True), ("M171", "M17.1", False), ("M170", "M17.0", True))]
    store.replace_source("icd10cm", "icd10cm", "ICD-10-CM 2026", "fp", recs)
    x = cov.crosswalk(db, "J7321", DAY, store=store)
    assert "M17.11" not in x.codeset and "M17.0" not in x.codeset
    assert x.codeset["M17.12"] == "not in the loaded ICD-10-CM code set (ICD-10-CM 2026)"
    assert cov.check(db, "J7321", "M17.1", DAY, store=store).codeset == {
        "M17.1": "a heading in the loaded ICD-10-CM code set, not a billable code"}
    assert cov.crosswalk(db, "J7321", DAY).codeset == {}  # no code store: nothing to flag against


def test_nothing_loaded_says_what_to_download(tmp_path):
    with pytest.raises(cov.NotLoaded) as e:
        cov.check(tables_path(tmp_path), "20610", "M17.11", DAY)
    msg = str(e.value)
    assert "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_article.zip" in msg
    assert "casepilot ingest --source mcd PATH" in msg
    with pytest.raises(cov.NotLoaded, match="ncd.zip"):
        cov.ncd(tables_path(tmp_path), "240.4.1", DAY)


def test_find_documents_by_title(db):
    found = cov.find_documents(db, "Does Medicare cover knee arthroscopy for osteoarthritis?", DAY)
    assert [f["id"] for f in found][:2] == ["A52369", "A54061"]
    assert cov.find_documents(db, "sleep apnea testing", DAY)[0]["id"] == "240.4.1"


# -- the pure parts ---------------------------------------------------------------------------------------

def test_article_verdict_rules():
    v = cov.article_verdict
    groups = {1: ["J7321"], 2: ["20610"]}
    assert v("J7321", "M17.11", "A1", [1], groups, {1}, [{"kind": "covered", "grp": 1}], {})[0] == "supported"
    assert v("G0289", "M17.11", "A1", [1], {1: ["G0289"]}, {3}, [{"kind": "covered", "grp": 3}], {})[0] == "supported"
    assert v("20610", "M17.11", "A1", [2], groups, {1}, [{"kind": "covered", "grp": 1}], {})[0] == "not_decided"
    assert v("20610", "M17.11", "A1", [2], groups, {1, 2}, [{"kind": "covered", "grp": 1}], {})[0] == "not_addressed"
    assert v("29877", "M17.11", "A1", [1], {1: ["29877"]}, set(), [{"kind": "noncovered", "grp": 1}], {})[0] == \
        "not_supported"
    both = [{"kind": "covered", "grp": 1}, {"kind": "noncovered", "grp": 1}]
    assert v("J7321", "M17.11", "A1", [1], groups, {1}, both, {})[0] == "not_decided"
    none = v("J7321", "E11.9", "A1", [1], groups, {1}, [], {})
    assert none == ("not_addressed", "A1 lists J7321 (code group 1) but lists E11.9 in neither its covered nor its "
                                     "noncovered ICD-10-CM codes")


def test_combine_and_statuses():
    assert cov.combine([("supported", "a", "m1"), ("not_supported", "b", "m1")], True)[0] == "not_decided"
    assert cov.combine([("supported", "a", "m1"), ("not_addressed", "b", "m2")], False)[0] == "not_decided"
    assert cov.combine([("supported", "a", "m1"), ("not_addressed", "b", "m1")], True) == ("supported", "a")
    assert doc_status("A", "2026-04-01", None, None, "", "2026-11-29")[0] == "current"
    assert doc_status("A", "2026-04-01", None, None, "DA12345", "2026-11-29")[0] == "draft"
    assert doc_status("A", "2026-04-01", "2026-06-30", None, "", "2026-11-29") == ("ended", "ended on 2026-06-30")
    assert doc_status("A", "2026-04-01", None, None, "", "2026-11-29", "2026-10-01")[0] == "retired"
    assert doc_status("P", "2026-04-01", None, None, "", "2026-11-29")[0] == "draft"
    assert ncd_status("X", "2023-04-10", "2021-01-01", None, "2026-11-29")[0] == "retired"
    assert mcd_date("2026-08-28 11:49:28.133") == "2026-08-28" and mcd_date("04/01/2026") == "2026-04-01"
    assert mcd_date("") is None
    with pytest.raises(ValueError):
        mcd_date("soon")


@pytest.mark.parametrize("question, intent", [
    ("Which ICD-10-CM codes support medical necessity for 20610 under the hyaluronan article?", "coverage"),
    ("Is M17.11 covered for J7321 in Texas?", "coverage"),
    ("Does Medicare cover knee arthroscopy for osteoarthritis?", "coverage"),
    ("What does NCD 220.6 say?", "coverage"),
    ("Does E11.22 support 99213?", "coverage"),
    ("What is article A52420?", "coverage"),
    ("what does 96372 cover", "code_lookup"),  # what the code means
    ("Does my documentation support 99215?", "code_lookup"),  # an E/M level, not coverage
    ("doc wants 99215 but the note only supports 99213 mdm - ok?", "code_lookup"),  # two levels: documentation
    ("difference between LCD and NCD?", "guideline"),
    ("Can 20610 and 99213 be billed together?", "pair_check"),
    ("When do I use modifier GZ for medical necessity denials?", "code_lookup"),
])
def test_coverage_questions_route_to_the_mcd_tables(question, intent):
    from casepilot import router as rt

    assert rt.route(question, [], None).intent == intent


def test_article_ids_are_not_codes():
    from casepilot.codes import find_mentions

    assert [m.raw for m in find_mentions("article A52420, LCD L33767, L89.154 and A0425")] == ["L89.154", "A0425"]


def test_a_question_naming_an_article_by_its_title_is_answered_from_it(tmp_path):
    from casepilot.answer.coverage import ask

    t = article_tables()  # the fixture's own row: A52863 (pain management injections) also lists 20610
    t["article_x_hcpc_code.csv"].append({"article_id": "52863", "article_version": "1", "hcpc_code_id": "20610",
                                         "hcpc_code_group": "1"})
    load_table(tmp_path / "data", write_download(tmp_path, "article", t))
    db = tables_path(tmp_path / "data")
    assert len(cov.crosswalk(db, "20610", DAY).articles) == 2

    def mentions(q):
        from casepilot import router as rt

        return rt.route(q, [], None).codes

    q = "Which ICD-10-CM codes support medical necessity for 20610 under the hyaluronan article?"
    ans = ask(q, mentions(q), db, DAY)
    assert [a["public_id"] for a in ans.verdict["articles"]] == ["A52420"]
    q = "Is M17.11 covered for 20610?"  # no title named: both articles, and they differ
    ans = ask(q, mentions(q), db, DAY)
    assert ans.verdict["verdict"] == "not_decided" and len(ans.verdict["articles"]) == 2
    assert "depends on the jurisdiction" in ans.verdict["reason"]
