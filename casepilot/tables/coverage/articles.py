"""Reading articles from the MCD tables: the versions that list a code, their status, jurisdiction, code
groups and ICD-10-CM lists, each with the table rows it was read from."""

from __future__ import annotations

import sqlite3
from typing import Any

from casepilot import codes as cs
from casepilot.tables.coverage.inputs import DOC_ID
from casepilot.tables.coverage.jurisdiction import scope
from casepilot.tables.coverage.labels import ARTICLE_URL
from casepilot.tables.coverage.results import LIST_LIMIT, Article, Row
from casepilot.tables.coverage.status import doc_status


def _articles_listing(con: sqlite3.Connection, code: str) -> dict[tuple[int, int], list[sqlite3.Row]]:
    """The latest version of each article that lists ``code``: (id, version) -> its mcd_hcpc rows."""
    rows = con.execute("SELECT * FROM mcd_hcpc WHERE code = ? ORDER BY article_id, version, grp", (code,)).fetchall()
    latest: dict[int, int] = {}
    for r in rows:
        latest[r["article_id"]] = max(latest.get(r["article_id"], 0), r["version"])
    out: dict[tuple[int, int], list[sqlite3.Row]] = {}
    for r in rows:
        if latest[r["article_id"]] == r["version"]:
            out.setdefault((r["article_id"], r["version"]), []).append(r)
    return out


def article_file(con: sqlite3.Connection) -> str:
    row = con.execute("SELECT file FROM table_sources WHERE kind = 'mcd' AND setting = 'article'").fetchone()
    return row[0] if row else ""


def read_article(con: sqlite3.Connection, aid: int, ver: int, as_of: str, state_ids: set[int] | None,
             contractor: str | None, file: str) -> Article | None:
    a = con.execute("SELECT * FROM mcd_article WHERE article_id = ? AND version = ?", (aid, ver)).fetchone()
    if a is None:
        return None
    state, why = doc_status(a["status"], a["eff_date"], a["end_date"] or a["rev_end_date"], a["date_retired"],
                            a["display_id"], as_of, a["retire_planned"])
    art = Article(aid, ver, f"A{aid}", a["title"], a["type_text"] or str(a["type"] or ""), a["eff_date"],
                  a["end_date"] or a["rev_end_date"], state, why, ARTICLE_URL.format(id=aid, version=ver))
    art.rows.append(Row("article.csv", f"{file}:article.csv", a["line"],
                        f"article_id {aid}, article_version {ver}, title {a['title']}, article_eff_date "
                        f"{a['eff_date'] or ''}, article_end_date {a['end_date'] or ''}, status {a['status']}",
                        art.label()))
    ids: set[int] = set()
    for c in con.execute(
            "SELECT DISTINCT x.contractor_id, x.contractor_type_id, x.contractor_version, k.name, k.number, "
            "k.type_text FROM mcd_article_contractor x LEFT JOIN mcd_contractor k ON k.contractor_id = "
            "x.contractor_id AND k.contractor_type_id = x.contractor_type_id AND k.contractor_version = "
            "x.contractor_version WHERE x.article_id = ? AND x.version = ?", (aid, ver)):
        art.contractors.append({"id": c[0], "name": c[3] or f"contractor {c[0]}", "number": c[4] or "",
                                "type": c[5] or ""})
        ids |= {r[0] for r in con.execute(
            "SELECT state_id FROM mcd_contractor_state WHERE contractor_id = ? AND contractor_type_id = ? AND "
            "contractor_version = ? AND (term_date IS NULL OR term_date > ?)", (c[0], c[1], c[2], as_of))}
    ids |= {r[0] for r in con.execute("SELECT state_id FROM mcd_article_state WHERE article_id = ? AND version = ?",
                                      (aid, ver))}
    art.contractors = list({(c["id"], c["number"]): c for c in art.contractors}.values())
    art.jurisdiction_known = bool(art.contractors or ids)
    if ids:
        marks = ",".join("?" * len(ids))
        art.states = sorted({r[0] or r[1] for r in con.execute(
            f"SELECT abbrev, description FROM mcd_state WHERE state_id IN ({marks})", sorted(ids))})
    if state_ids is not None:
        art.in_jurisdiction = bool(ids & state_ids)
    if contractor is not None:
        art.in_jurisdiction = any(c["number"] == contractor for c in art.contractors)
    art.lcds = [f"L{r[0]}" for r in con.execute(
        "SELECT lcd_id FROM mcd_article_lcd WHERE article_id = ? AND version = ? ORDER BY lcd_id", (aid, ver))]
    return art


def read_groups(con: sqlite3.Connection, art: Article, hcpc_rows: list[sqlite3.Row], file: str) -> None:
    """The article's code groups, group paragraphs and the rows listing the code."""
    for r in con.execute("SELECT code, grp FROM mcd_hcpc WHERE article_id = ? AND version = ? ORDER BY grp, code",
                         (art.article_id, art.version)):
        art.hcpc_groups.setdefault(r[1], []).append(r[0])
    art.code_groups = sorted({r["grp"] for r in hcpc_rows})
    for r in hcpc_rows:
        art.rows.append(Row("article_x_hcpc_code.csv", f"{file}:article_x_hcpc_code.csv", r["line"],
                            f"article_id {art.article_id}, article_version {art.version}, hcpc_code_id {r['code']}, "
                            f"hcpc_code_group {r['grp']}", art.label()))
    for r in con.execute("SELECT * FROM mcd_group WHERE article_id = ? AND version = ?", (art.article_id, art.version)):
        art.paragraphs[f"{r['kind']}:{r['grp']}"] = r["paragraph"]
        if r["asterisk_note"]:
            art.paragraphs[f"asterisk:{r['grp']}"] = r["asterisk_note"]
        if r["kind"] == "hcpc" and r["grp"] in art.code_groups:
            art.rows.append(Row(r["file"], f"{file}:{r['file']}", r["line"], f"hcpc_code_group {r['grp']}, paragraph "
                                f"{r['paragraph'][:300]}", art.label()))


def dotted(key: str) -> str:
    return cs.format_code(key, cs.ICD10CM)


def _icd_entry(r: sqlite3.Row) -> dict:
    return {"code": dotted(r["icd"]), "description": r["description"], "group": r["grp"], "range": r["range"],
            "asterisk": r["asterisk"] == "Y", "line": r["line"]}


def read_lists(con: sqlite3.Connection, art: Article) -> None:
    rows = con.execute("SELECT * FROM mcd_icd WHERE article_id = ? AND version = ?", (art.article_id, art.version))
    for r in sorted(rows, key=lambda r: (r["kind"], r["grp"], r["sort_order"] if r["sort_order"] is not None else 1 << 30,
                                         r["icd"])):
        target = art.covered if r["kind"] == "covered" else art.noncovered
        entry = _icd_entry(r)
        if entry["asterisk"]:
            entry["asterisk_note"] = art.paragraphs.get(f"asterisk:{r['grp']}", "")
        target.setdefault(r["grp"], []).append(entry)
    art.covered_groups = sorted(art.covered)


def codeset_flags(store: Any, codes: list[str]) -> tuple[dict[str, str], str]:
    """ICD-10-CM codes the loaded code set does not hold (or holds as headings), with why; and its version."""
    sources = [s for s in store.sources() if s.get("system") == cs.ICD10CM] if store is not None else []
    if not sources:  # no ICD-10-CM code set loaded: nothing to check against
        return {}, ""
    version = next((s["version"] for s in sources if s.get("version")), "")
    out = {}
    for code in dict.fromkeys(codes):
        rec = store.get(cs.ICD10CM, cs.normalize(code))
        if rec is None:
            out[code] = f"not in the loaded ICD-10-CM code set ({version})"
        elif rec.billable is False:
            out[code] = "a heading in the loaded ICD-10-CM code set, not a billable code"
    return out, version


def collect(con, code: str, as_of: str, state: str | None, file: str, article: str | None = None
            ) -> tuple[list[Article], list[Article], str]:
    ids, contractor, label = scope(con, state)
    want = None
    if article:
        m = DOC_ID.match(article.strip().upper())
        want = int(m.group(2)) if m else None
    current, other = [], []
    for (aid, ver), hrows in _articles_listing(con, code).items():
        if want is not None and aid != want:
            continue
        art = read_article(con, aid, ver, as_of, ids, contractor, file)
        if art is None:
            continue
        read_groups(con, art, hrows, file)
        (current if art.current and art.in_jurisdiction is not False else other).append(art)
    return current, other, label


def list_rows(a: Article, file: str) -> None:
    """One cited row per ICD-10-CM group: its codes (the first LIST_LIMIT) and the line of its first row."""
    for kind, lists in (("covered", a.covered), ("noncovered", a.noncovered)):
        for g, entries in lists.items():
            codes = [e["code"] for e in entries]
            more = f" and {len(codes) - LIST_LIMIT} more" if len(codes) > LIST_LIMIT else ""
            a.rows.append(Row(f"article_x_icd10_{kind}.csv", f"{file}:article_x_icd10_{kind}.csv",
                              entries[0]["line"], f"article_id {a.article_id}, article_version {a.version}, "
                              f"icd10_{kind}_group {g}: {', '.join(codes[:LIST_LIMIT])}{more}", a.label()))
