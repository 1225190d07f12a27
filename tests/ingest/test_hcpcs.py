"""HCPCS Level II loader: the real CMS files in both layouts, and fixtures including bad files."""

from __future__ import annotations

import datetime
import sys
from datetime import date

import pytest

from casepilot import codes as cs
from casepilot.codestore import CodeStore
from casepilot.records import on_date
from ingest.hcpcs import HCPCSSource, version_of
from ingest.tabular import LayoutError
from tests.ingest.table_fixtures import (
    hcpcs_record, sample_hcpcs_records, sample_hcpcs_rows, shared, write_hcpcs_csv, write_hcpcs_fixed, zip_files,
)


DAY = date(2026, 1, 1)


def by_code(src: HCPCSSource) -> dict[tuple[str, str], object]:
    return {(r.system, r.code): r for r in src.records()}


# -- the real CMS files --------------------------------------------------------------------------

def test_real_fixed_width_2020():
    src = HCPCSSource(shared("HCPC2020_ANWEB_w_disclaimer.txt"))
    recs = by_code(src)
    assert not src.problems
    assert src.version == "HCPCS Level II 2020"
    assert sum(1 for s, _ in recs if s == cs.HCPCS) == 6710
    assert sum(1 for s, _ in recs if s == cs.MODIFIER) == 369
    ad = recs[(cs.MODIFIER, "AD")]  # a type 7 record plus a type 8 continuation
    assert ad.description == "Medical supervision by a physician: more than four concurrent anesthesia procedures"
    a0021 = recs[(cs.HCPCS, "A0021")]
    assert a0021.extra["coverage_code"] == "I" and a0021.extra["betos"] == "O1A"
    assert a0021.extra["pricing_indicators"] == ["00"] and a0021.extra["added"] == "1985-01-01"


def test_real_csv_2025_and_terminated_codes():
    src = HCPCSSource(shared("HCPC2025_OCT_ANWEB.csv"))
    recs = by_code(src)
    assert not src.problems
    assert src.version == "HCPCS Level II 2025-10"
    assert sum(1 for s, _ in recs if s == cs.HCPCS) == 8463
    assert sum(1 for s, _ in recs if s == cs.MODIFIER) == 383
    cp = on_date(recs[(cs.MODIFIER, "CP")], DAY)
    assert cp.extra["terminated"] == "2017-12-31" and "(terminated 2017-12-31)" in cp.title
    g2211 = recs[(cs.HCPCS, "G2211")]
    assert g2211.billable is True and g2211.extra["short_description"] == "Complex e/m visit add on"
    terminated = [on_date(r, DAY) for r in recs.values() if r.extra.get("termination_date")]
    assert terminated and all("terminat" in r.title for r in terminated)


def test_real_xlsx_matches_csv():
    csv_recs = by_code(HCPCSSource(shared("HCPC2025_OCT_ANWEB.csv")))
    xlsx = HCPCSSource(shared("HCPC2025_OCT_ANWEB.xlsx"))
    xlsx_recs = by_code(xlsx)
    assert not xlsx.problems
    assert set(xlsx_recs) == set(csv_recs)
    diffs = [k for k in csv_recs if csv_recs[k].to_dict() != xlsx_recs[k].to_dict()]
    assert diffs == []


def test_fixed_width_and_csv_agree_on_long_descriptions():
    old = by_code(HCPCSSource(shared("HCPC2020_ANWEB_w_disclaimer.txt")))
    new = by_code(HCPCSSource(shared("HCPC2025_OCT_ANWEB.csv")))
    for key in [(cs.MODIFIER, "QJ"), (cs.MODIFIER, "AD"), (cs.HCPCS, "A0021")]:
        assert old[key].description == new[key].description


def test_real_2026_modifier_excerpt_and_passages():
    src = HCPCSSource(shared("HCPC2026_OCT_ANWEB.excerpt.csv"))
    recs = list(src.records())
    docs = list(src.passages())
    assert len(recs) == 35 and all(r.system == cs.MODIFIER for r in recs)
    assert len(docs) == 35 and len({d.id for d in docs}) == 35
    assert {d.metadata["collection"] for d in docs} == {"hcpcs"}
    assert src.version == "HCPCS Level II 2026-10"


# -- fixtures ------------------------------------------------------------------------------------

def test_fixture_fixed_width(tmp_path):
    src = HCPCSSource(write_hcpcs_fixed(tmp_path / "HCPC2024_JUL_ANWEB.txt", sample_hcpcs_records()))
    recs = by_code(src)
    assert not src.problems and src.version == "HCPCS Level II 2024-07"
    assert recs[(cs.MODIFIER, "XS")].description.endswith("performed on a separate organ/structure")
    assert recs[(cs.HCPCS, "A9999")].description == "Test supply item for the fixture, caf\u00e9 grade"
    g = recs[(cs.HCPCS, "G9998")]
    assert g.description.endswith("because the long description is longer than eighty characters")
    old = on_date(recs[(cs.HCPCS, "G9997")], DAY)
    assert old.billable is False and old.extra["terminated"] == "2017-12-31" and "terminated" in old.title
    assert recs[(cs.MODIFIER, "A1")].billable is None and recs[(cs.MODIFIER, "A1")].level == "modifier"
    docs = list(src.passages())
    assert len(docs) == len(recs)
    assert any("Termination date: 2017-12-31" in d.page_content for d in docs)


def test_fixture_utf8_where_latin1_expected_and_bom(tmp_path):
    src = HCPCSSource(write_hcpcs_fixed(tmp_path / "HCPC2024_ANWEB.txt", sample_hcpcs_records(),
                                        encoding="utf-8", bom=True))
    recs = by_code(src)
    assert not src.problems
    assert recs[(cs.HCPCS, "A9999")].description.endswith("caf\u00e9 grade")  # no mojibake


def test_fixture_csv_bom_and_latin1(tmp_path):
    for enc, bom in (("utf-8", True), ("latin-1", False)):
        path = write_hcpcs_csv(tmp_path / f"HCPC2025_JAN_ANWEB_{enc}.csv", sample_hcpcs_rows(), encoding=enc, bom=bom)
        src = HCPCSSource(path)
        recs = by_code(src)
        assert not src.problems, src.problems
        assert recs[(cs.MODIFIER, "XE")].title == "Separate encounter, test text"
        assert recs[(cs.HCPCS, "A9999")].description == "Test supply item, na\u00efve grade"
        assert recs[(cs.HCPCS, "G9997")].extra["termination_date"] == "2017-12-31"


def test_fixture_zip_picks_the_anweb_table(tmp_path):
    xl = write_hcpcs_csv(tmp_path / "HCPC2025_JAN_ANWEB.csv", sample_hcpcs_rows())
    readme = tmp_path / "README.txt"
    readme.write_text("not a table")
    src = HCPCSSource(zip_files(tmp_path / "2025-Alpha-Numeric-HCPCS-File.zip", [readme, xl]))
    assert len(list(src.records())) == 3 and not src.problems


def test_truncated_record_is_one_clear_error(tmp_path):
    recs = sample_hcpcs_records()
    recs[3] = recs[3][:180]
    path = write_hcpcs_fixed(tmp_path / "HCPC.txt", recs)
    src = HCPCSSource(path)
    assert list(src.records()) == [] and list(src.passages()) == []
    assert len(src.problems) == 1
    msg = str(src.problems[0])
    assert "HCPC.txt line 6: record is 180 characters, the HCPCS fixed-width layout has 320" in msg
    with pytest.raises(LayoutError) as e:
        HCPCSSource(path).load()
    assert e.value.line == 6


def test_continuation_without_first_record(tmp_path):
    path = write_hcpcs_fixed(tmp_path / "HCPC.txt", [hcpcs_record("G9998", "4", "orphan text")], preamble="")
    with pytest.raises(LayoutError, match="line 1: continuation record for 'G9998'"):
        HCPCSSource(path).load()


def test_wrong_layout_and_wrong_encoding(tmp_path):
    ptp = tmp_path / "HCPC_wrong.txt"
    ptp.write_text("0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual\r\n" * 50)
    with pytest.raises(LayoutError, match="no HCPCS records in the first 40 lines"):
        HCPCSSource(ptp).load()
    utf16 = tmp_path / "HCPC_utf16.txt"
    utf16.write_bytes("\r\n".join(sample_hcpcs_records()).encode("utf-16"))
    with pytest.raises(LayoutError, match="UTF-16"):
        HCPCSSource(utf16).load()
    bad_csv = tmp_path / "HCPC_bad.csv"
    bad_csv.write_text("code,description\r\nA0021,Something\r\n")
    with pytest.raises(LayoutError, match="HCPC, SEQNUM, RECID"):
        HCPCSSource(bad_csv).load()


def test_csv_truncated_row(tmp_path):
    path = write_hcpcs_csv(tmp_path / "HCPC2025_JAN_ANWEB.csv", sample_hcpcs_rows())
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"Test terminated") + 4])
    with pytest.raises(LayoutError, match=r"line 4: row has \d columns, expected 48"):
        HCPCSSource(path).load()


def test_version_from_file_names():
    assert version_of("HCPC2025_OCT_ANWEB.xlsx") == "HCPCS Level II 2025-10"
    assert version_of("2025-Alpha.zip:HCPC2025_JAN_ANWEB_v2.txt") == "HCPCS Level II 2025-01"
    assert version_of("codes.txt") is None


# -- dates: decided when a code is looked up, not when the file is ingested -----------------------------

def test_termination_after_the_ingest_shows_when_looked_up_later(tmp_path):
    """A code the file says ends on 2026-06-30 is billable on that day and terminated the day after, whatever
    the day the file was ingested: the store keeps the date and the lookup decides."""
    recs = sample_hcpcs_records() + [hcpcs_record("G9996", "3", "Test service ending soon", short="Ending soon",
                                                  term="20260630", action="D")]
    src = HCPCSSource(write_hcpcs_fixed(tmp_path / "HCPC2026_APR_ANWEB.txt", recs))
    stored = by_code(src)[(cs.HCPCS, "G9996")]
    assert stored.billable is True and stored.extra["termination_date"] == "2026-06-30"
    assert "terminat" not in stored.title and "terminated" not in stored.extra  # no status decided at ingest
    store = CodeStore(tmp_path / "codes.sqlite", readonly=False)
    store.replace_source(src.name, src.system, src.version, src.fingerprint(), src.records())
    last_day = store.lookup("G9996", as_of=date(2026, 6, 30)).to_dict()
    assert last_day["billable"] is True and last_day["title"].endswith("(terminates 2026-06-30)")
    assert "terminated" not in last_day["extra"]
    later = store.lookup("g9996", as_of=date(2026, 7, 1)).to_dict()
    assert later["billable"] is False and later["title"].endswith("(terminated 2026-06-30)")
    assert later["extra"]["terminated"] == "2026-06-30"
    assert store.get(cs.HCPCS, "G9996", as_of=date(2026, 7, 1)).billable is False
    assert store.lookup("A9999", as_of=date(2026, 7, 1)).record.billable is True  # no termination date
    assert store.lookup("A1", as_of=date(2026, 7, 1)).record.billable is None  # modifiers: the notion does not apply


def test_fingerprint_is_the_file_not_the_month(tmp_path, monkeypatch):
    """An unchanged file keeps its fingerprint next month (no re-ingest); a changed file gets a new one."""
    path = write_hcpcs_fixed(tmp_path / "HCPC2024_JUL_ANWEB.txt", sample_hcpcs_records())
    first = HCPCSSource(path).fingerprint()

    class NextMonth(datetime.date):
        @classmethod
        def today(cls):
            return cls(2099, 2, 1)

    monkeypatch.setattr(datetime, "date", NextMonth)
    for mod in list(sys.modules.values()):  # a loader that asked the calendar would now see another month
        if getattr(mod, "__name__", "").startswith("ingest") and getattr(mod, "date", None) is date:
            monkeypatch.setattr(mod, "date", NextMonth)
    assert HCPCSSource(path).fingerprint() == first
    path.write_bytes(path.read_bytes().replace(b"Test supply item", b"Test supply ITEM"))
    assert HCPCSSource(path).fingerprint() != first


def test_an_answer_calls_a_terminated_code_terminated_not_a_heading(tmp_path):
    from casepilot import router as rt
    from casepilot.answer.grounded import Draft, GroundedAnswerer
    from casepilot.passages import PassageStore

    src = HCPCSSource(write_hcpcs_fixed(tmp_path / "HCPC2024_JUL_ANWEB.txt", sample_hcpcs_records()))
    store = CodeStore(tmp_path / "codes.sqlite", readonly=False)
    store.replace_source(src.name, src.system, src.version, src.fingerprint(), src.records())
    answerer = GroundedAnswerer(store, retriever=None, passages=PassageStore(tmp_path / "passages.sqlite", readonly=False))
    d = Draft(rt.CODE_LOOKUP)
    answerer._one_code(d, rt.resolve_mentions("G9997", store)[0], "What is G9997?")
    assert "G9997 was terminated on 2017-12-31" in d.text and "heading" not in d.text
