"""Coverage lookups by code: the crosswalk of a CPT/HCPCS code, the verdict for a code with a diagnosis, one
article. The date of service is passed in (``as_of``); the code store is optional and only flags ICD-10-CM codes
the loaded code set does not hold."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from casepilot import codes as cs
from casepilot.tables.coverage.articles import (article_file, codeset_flags, collect, dotted, list_rows, read_article,
                                                read_groups, read_lists)
from casepilot.tables.coverage.inputs import DOC_ID, day_text, diagnosis_code, procedure_code
from casepilot.tables.coverage.jurisdiction import scope
from casepilot.tables.coverage.messages import check_message, crosswalk_message, doc_line
from casepilot.tables.coverage.results import LIST_LIMIT, CoverageResult, Row
from casepilot.tables.coverage.store import opened, reading
from casepilot.tables.coverage.verdict import article_verdict, combine


def is_listed(db_path: Path | str, code: str) -> bool:
    """Whether any loaded article lists ``code`` as a CPT/HCPCS code (tells J7321 from an undotted diagnosis)."""
    with reading(db_path) as con:
        if con is None:
            return False
        try:
            return con.execute("SELECT 1 FROM mcd_hcpc WHERE code = ? LIMIT 1",
                               (cs.normalize(code),)).fetchone() is not None
        except sqlite3.OperationalError:
            return False


def article(db_path: Path | str, public_id: str, as_of: date | str, state: str | None = None,
            store: Any = None) -> CoverageResult:
    """One article (``A52420``, latest version): its status, jurisdiction, code groups and ICD-10-CM lists."""
    m = DOC_ID.match(public_id.strip().upper())
    if not m or m.group(1) != "A":
        raise ValueError(f"{public_id!r} is not an article id (e.g. A52420)")
    aid = int(m.group(2))
    day = day_text(as_of)
    with opened(db_path, "article") as (con, info):
        res = CoverageResult("article", "", state=state or "", as_of=day, edition=info.get("edition") or "")
        ids, contractor, res.jurisdiction = scope(con, state)
        ver = con.execute("SELECT MAX(version) FROM mcd_article WHERE article_id = ?", (aid,)).fetchone()[0]
        file = article_file(con)
        a = read_article(con, aid, ver, day, ids, contractor, file) if ver is not None else None
        if a is None:
            res.status = "not_listed"
            res.message = f"Article {public_id.upper()} is not in the loaded MCD article files ({res.edition})."
            return res
        read_groups(con, a, [], file)
        read_lists(con, a)
        for g, codes in a.hcpc_groups.items():
            line = con.execute("SELECT MIN(line) FROM mcd_hcpc WHERE article_id = ? AND version = ? AND grp = ?",
                               (aid, ver, g)).fetchone()[0]
            a.rows.append(Row("article_x_hcpc_code.csv", f"{file}:article_x_hcpc_code.csv", line or 0,
                              f"article_id {aid}, article_version {ver}, hcpc_code_group {g}: "
                              f"{', '.join(codes[:LIST_LIMIT])}", a.label()))
        list_rows(a, file)
        (res.articles if a.current and a.in_jurisdiction is not False else res.other).append(a)
        res.rows = list(a.rows)
        codes = [e["code"] for lst in (a.covered, a.noncovered) for es in lst.values() for e in es]
        res.codeset, res.codeset_version = codeset_flags(store, codes)
        res.message = f"{doc_line(a)}."
        return res


def crosswalk(db_path: Path | str, code: str, as_of: date | str, state: str | None = None, store: Any = None,
              article: str | None = None) -> CoverageResult:
    """Articles that list ``code`` with their covered and noncovered ICD-10-CM codes; NotLoaded, ValueError."""
    c = procedure_code(code)
    day = day_text(as_of)
    with opened(db_path, "article") as (con, info):
        res = CoverageResult("crosswalk", c, state=state or "", as_of=day, edition=info.get("edition") or "")
        res.articles, res.other, res.jurisdiction = collect(con, c, day, state, article_file(con), article)
        file = article_file(con)
        for a in res.articles + res.other:
            read_lists(con, a)
            list_rows(a, file)
        for a in res.articles:
            res.rows.extend(a.rows)
        codes = [e["code"] for a in res.articles for lst in (a.covered, a.noncovered) for es in lst.values() for e in es]
        res.codeset, res.codeset_version = codeset_flags(store, codes)
        if not res.articles:
            res.status = "not_listed"
        res.message = crosswalk_message(res)
        return res


def check(db_path: Path | str, code: str, dx: str, as_of: date | str, state: str | None = None, store: Any = None,
          article: str | None = None) -> CoverageResult:
    """The coverage verdict for ``code`` with diagnosis ``dx`` (optionally in a state or MAC); NotLoaded, ValueError."""
    c = procedure_code(code)
    dkey, dshown = diagnosis_code(dx)
    day = day_text(as_of)
    with opened(db_path, "article") as (con, info):
        res = CoverageResult("check", c, dshown, state or "", as_of=day, edition=info.get("edition") or "")
        file = article_file(con)
        res.articles, res.other, res.jurisdiction = collect(con, c, day, state, file, article)
        verdicts = []
        for a in res.articles + res.other:
            rows = con.execute("SELECT * FROM mcd_icd WHERE article_id = ? AND version = ? AND icd = ?",
                               (a.article_id, a.version, dkey)).fetchall()
            covered = {r[0] for r in con.execute("SELECT grp FROM mcd_icd_groups WHERE article_id = ? AND version = ? "
                                                 "AND kind = 'covered'", (a.article_id, a.version))}
            a.covered_groups = sorted(covered)
            a.verdict, a.reason = article_verdict(c, dshown, a.public_id, a.code_groups, a.hcpc_groups, covered,
                                                  [dict(r) for r in rows], a.paragraphs)
            for r in rows:
                table = f"article_x_icd10_{r['kind']}.csv"
                a.rows.append(Row(table, f"{file}:{table}", r["line"],
                                  f"article_id {a.article_id}, article_version {a.version}, icd10_code_id {dotted(r['icd'])}, "
                                  f"icd10_{r['kind']}_group {r['grp']}" + (", asterisk Y" if r["asterisk"] == "Y" else "")
                                  + (f", description {r['description']}" if r["description"] else ""), a.label()))
                if r["kind"] in ("covered", "noncovered") and a.paragraphs.get(f"{r['kind']}:{r['grp']}"):
                    a.rows.append(Row(f"article_x_icd10_{r['kind']}_group.csv",
                                      f"{file}:article_x_icd10_{r['kind']}_group.csv", 0,
                                      f"icd10_{r['kind']}_group {r['grp']}, paragraph "
                                      f"{a.paragraphs[r['kind'] + ':' + str(r['grp'])][:300]}", a.label()))
            if a in res.articles:
                key = ",".join(sorted(c2["number"] or str(c2["id"]) for c2 in a.contractors)) or a.public_id
                verdicts.append((a.verdict, a.reason, key))
        if verdicts:
            res.verdict, res.reason = combine(verdicts, bool(res.jurisdiction))
        else:
            res.status = "not_listed"
            res.verdict = "not_addressed"
            where = f" for {res.jurisdiction}" if res.jurisdiction else ""
            res.reason = f"no current article{where} lists {c}, so the loaded MCD files do not address {dshown} with it"
        for a in res.articles:
            res.rows.extend(a.rows)
        res.codeset, res.codeset_version = codeset_flags(store, [dshown])
        res.message = check_message(res)
        return res
