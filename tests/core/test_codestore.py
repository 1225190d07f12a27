"""The code store over real ICD-10-CM records (chapter 4), without embeddings."""

import pytest

from casepilot.codestore import CodeNotFound, CodeStore
from ingest.icd10cm import ICD10CMSource


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cs") / "codes.sqlite"
    src = ICD10CMSource(chapters=("4",))
    CodeStore(path, readonly=False).replace_source(src.name, src.system, src.version, src.fingerprint(), src.records())
    return CodeStore(path)


@pytest.mark.parametrize("spelling", ["e1122", "E11.22", " E11.22 ", "e11.22"])
def test_lookup_any_spelling(store, spelling):
    look = store.lookup(spelling)
    assert look.record.display == "E11.22"
    assert look.record.billable is True
    assert "chronic kidney disease" in look.record.title


def test_own_and_inherited_notes_with_levels(store):
    look = store.lookup("E11.22")
    own = {(n.type, n.level) for n in look.record.notes}
    assert ("use_additional_code", "E11.22") in own
    inherited = {(n.type, n.level) for n in look.inherited}
    assert ("excludes1", "E11") in inherited  # type 1 diabetes is excluded at the category
    assert ("use_additional_code", "E11") in inherited  # Z79.4 insulin use
    assert any(n.level == "Chapter 4" for n in look.inherited)
    d = look.to_dict()
    assert d["parent"] == "E11.2"
    assert any(n["inherited"] and n["level"] == "E11" for n in d["notes"])


def test_inclusion_terms_are_not_inherited(store):
    # E11.9 carries no inclusion terms of its own; its parent's (if any) must not show up as its own
    look = store.lookup("E11.65")
    assert all(n.type != "inclusion_term" for n in look.inherited)


def test_non_billable_category_lists_billable_codes(store):
    look = store.lookup("E11")
    assert look.record.billable is False
    below = [c.display for c in look.billable_below]
    assert "E11.9" in below and all(c.billable for c in look.billable_below)


def test_one_category_blocks_are_stored_once_under_the_chapter(store):
    look = store.lookup("E36")
    assert look.record.parent == "4"
    assert look.record.level == "category"


def test_unknown_code_suggests_nearest(store):
    with pytest.raises(CodeNotFound) as e:
        store.lookup("E11.99")
    sugg = [r.display for r in e.value.suggestions]
    assert 1 <= len(sugg) <= 5 and "E11.9" in sugg


def test_malformed_code_says_why(store):
    with pytest.raises(ValueError, match="only letters and digits"):
        store.lookup("E1#.2")


def test_same_code_from_two_sources_keeps_both(tmp_path):
    from casepilot.records import CodeRecord

    path = tmp_path / "c.sqlite"
    s = CodeStore(path, readonly=False)
    summary = CodeRecord("cpt", "99213", "99213", "our summary", source="corpus", extra={"summary_only": True})
    licensed = CodeRecord("cpt", "99213", "99213", "Test descriptor for code 99213", source="cpt-licensed",
                          licensed=True)
    s.replace_source("cpt-licensed", "cpt", "v", "fp", [licensed])
    s.replace_source("corpus", "corpus", "v", "fp", [summary])  # re-ingesting the corpus
    s.replace_source("corpus", "corpus", "v", "fp2", [summary])
    ro = CodeStore(path)
    look = ro.lookup("99213")
    assert look.record.licensed and look.record.title.startswith("Test descriptor")
    assert [a.source for a in look.alternates] == ["corpus"]
    s.drop_source("cpt-licensed")
    assert ro.lookup("99213").record.source == "corpus"


def test_an_older_store_is_rebuilt(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE codes (system TEXT, code TEXT, PRIMARY KEY (system, code))")
    con.commit()
    con.close()
    CodeStore(path, readonly=False)
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(codes)")]
    assert "licensed" in cols and "source" in cols


def test_family_is_every_other_billable_code_of_the_category(store):
    """The prefix range (which reads the key) finds what a scan of the whole system finds, and nothing of E10/E13."""
    rec = store.get("icd10cm", "E11.22")
    scanned = {r["code"] for r in store.con.execute(
        "SELECT code FROM codes WHERE system = 'icd10cm' AND billable = 1").fetchall() if r["code"].startswith("E11")}
    family = {r.code for r in store.family(rec)}
    assert family == scanned - {"E1122"} and {"E119", "E1165"} <= family


def test_block_family_is_the_billable_codes_of_the_blocks_other_categories(store):
    rec = store.get("icd10cm", "E11.22")
    fam = {r.code for r in store.block_family(rec)}
    cats = {c[:3] for c in fam}
    assert {"E10", "E13"} <= cats and "E11" not in cats and "E1022" in fam
    assert all(r.billable for r in store.block_family(rec))
