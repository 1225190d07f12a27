"""Deterministic Medicare coverage answers from the loaded MCD tables: crosswalks, pair verdicts, NCDs.

Every answer names the article (or NCD), its version, dates, status and the table rows it rests on. The
date of service is passed in (``as_of``); the code store is optional and only flags ICD-10-CM codes that
the loaded code set does not hold. Pair verdicts follow the MCD's own tables (``article_verdict``):

>>> article_verdict("20610", "M17.11", "A52420", code_groups=[2], hcpc_groups={1: ["J7321"], 2: ["20610"]},
...                 covered_groups={1}, dx_rows=[{"kind": "covered", "grp": 1}], paragraphs={})[0]
'not_decided'
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterator

from casepilot import codes as cs
from casepilot.mcdstore import (ARTICLE_URL, COVERAGE_LEVELS, NCD_URL, doc_status, loads, ncd_status,
                                not_loaded_message, reading, resolve_state)

VERDICT_LABELS = {"supported": "supported", "not_supported": "not supported", "not_addressed": "not addressed",
                  "not_decided": "not decided"}
LIST_LIMIT = 60  # codes shown per group in a chat answer (the API returns them all)
_NCD_REF = re.compile(r"^(?:ncd\s*)?(\d{1,4}(?:\.\d{1,3}){0,3})$", re.I)
_DOC_ID = re.compile(r"^([AL])(\d{5})$")


@dataclass
class Row:
    """One row of an MCD table that an answer rests on."""

    table: str
    file: str
    line: int
    row: str
    document: str = ""  # A52420 v64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Article:
    """One article version as it applies to a code: status, jurisdiction, groups and ICD-10-CM lists."""

    article_id: int
    version: int
    public_id: str
    title: str
    type: str
    effective: str | None
    end: str | None
    status: str
    status_text: str
    url: str
    contractors: list[dict] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    jurisdiction_known: bool = False
    in_jurisdiction: bool | None = None  # None: no state asked
    lcds: list[str] = field(default_factory=list)
    code_groups: list[int] = field(default_factory=list)  # the code groups listing the code asked about
    hcpc_groups: dict[int, list[str]] = field(default_factory=dict)
    paragraphs: dict[str, str] = field(default_factory=dict)  # "hcpc:2" -> text
    covered: dict[int, list[dict]] = field(default_factory=dict)
    noncovered: dict[int, list[dict]] = field(default_factory=dict)
    covered_groups: list[int] = field(default_factory=list)  # numbers of its covered ICD-10-CM groups
    rows: list[Row] = field(default_factory=list)
    verdict: str | None = None
    reason: str = ""

    @property
    def current(self) -> bool:
        return self.status == "current"

    def label(self) -> str:
        return f"{self.public_id} version {self.version}"

    @property
    def pairing(self) -> str:
        """How the tables pair the code's group with covered groups: single_group, same_number, not_decided
        (covered groups exist, none for the code's group and no same-number group: the text decides), or
        no_covered_list."""
        if not self.covered_groups:
            return "no_covered_list"
        if len(self.hcpc_groups) <= 1:
            return "single_group"
        if any(g in self.covered_groups for g in self.code_groups):
            return "same_number"
        return "not_decided" if self.code_groups else "no_code"

    def paired_covered(self) -> dict[int, list[dict]]:
        """Covered groups the tables pair with the code: all when there is one code group, else same numbers."""
        if len(self.hcpc_groups) <= 1:
            return self.covered
        return {g: v for g, v in self.covered.items() if g in self.code_groups}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hcpc_groups"] = {str(k): v for k, v in self.hcpc_groups.items()}
        d["covered"] = {str(k): v for k, v in self.covered.items()}
        d["noncovered"] = {str(k): v for k, v in self.noncovered.items()}
        d["rows"] = [r.to_dict() for r in self.rows]
        d["current"] = self.current
        d["pairing"] = self.pairing
        return d


@dataclass
class CoverageResult:
    """A crosswalk (``dx`` empty) or a pair check; ``status`` is not_loaded, not_listed or found."""

    type: str  # crosswalk | check
    code: str
    dx: str = ""
    state: str = ""
    jurisdiction: str = ""
    as_of: str = ""
    status: str = "found"
    verdict: str | None = None  # check only
    reason: str = ""
    message: str = ""
    edition: str = ""
    articles: list[Article] = field(default_factory=list)  # current and in scope: what the answer rests on
    other: list[Article] = field(default_factory=list)  # listing the code, but retired, future or another MAC's
    rows: list[Row] = field(default_factory=list)
    codeset: dict[str, str] = field(default_factory=dict)  # ICD code -> why the loaded code set flags it
    codeset_version: str = ""

    def citation(self) -> list[dict]:
        return [{"table": f"MCD {r.table}", "version": f"{r.document} ({self.edition})" if self.edition else r.document,
                 "effective": None, "file": r.file, "line": r.line, "row": r.row} for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "coverage", "type": self.type, "code": self.code, "dx": self.dx, "state": self.state,
                "jurisdiction": self.jurisdiction, "as_of": self.as_of, "status": self.status,
                "verdict": self.verdict, "verdict_label": VERDICT_LABELS.get(self.verdict or "", None),
                "reason": self.reason, "message": self.message, "edition": self.edition,
                "articles": [a.to_dict() for a in self.articles], "other_articles": [a.to_dict() for a in self.other],
                "codeset_flags": self.codeset, "codeset_version": self.codeset_version,
                "rows": [r.to_dict() for r in self.rows], "citations": self.citation()}


@dataclass
class NcdResult:
    """A national coverage determination by NCD id or manual section; ``status`` not_loaded, not_found or found."""

    ref: str
    as_of: str
    status: str = "found"
    ncd: dict = field(default_factory=dict)
    versions: list[dict] = field(default_factory=list)
    message: str = ""
    edition: str = ""
    rows: list[Row] = field(default_factory=list)

    def citation(self) -> list[dict]:
        return [{"table": f"MCD {r.table}", "version": r.document, "effective": self.ncd.get("effective"),
                 "file": r.file, "line": r.line, "row": r.row, "url": self.ncd.get("url")} for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "coverage", "type": "ncd", "ref": self.ref, "as_of": self.as_of, "status": self.status,
                "ncd": self.ncd, "versions": self.versions, "message": self.message, "edition": self.edition,
                "rows": [r.to_dict() for r in self.rows], "citations": self.citation()}


class NotLoaded(LookupError):
    """The MCD dataset a question needs is not loaded; the message says what to download and run."""


# -- inputs ----------------------------------------------------------------------------------------------

def procedure_code(raw: str) -> str:
    code = cs.normalize(raw)
    if not re.fullmatch(r"[0-9A-Z]{5}", code):
        raise ValueError(f"{raw!r} is not a CPT/HCPCS code (5 letters or digits, e.g. 20610 or J7321)")
    return code


def diagnosis_code(raw: str) -> tuple[str, str]:
    """(key without dot, dotted display) of an ICD-10-CM code; ValueError otherwise."""
    code = cs.normalize(raw)
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}", code):
        raise ValueError(f"{raw!r} is not an ICD-10-CM code (e.g. M17.11)")
    return code, cs.format_code(code, cs.ICD10CM)


def _day(as_of: date | str) -> str:
    return as_of.isoformat() if isinstance(as_of, date) else str(as_of)


@contextmanager
def _opened(db_path: Path | str, dataset: str) -> Iterator[tuple[sqlite3.Connection, dict]]:
    """The tables file and the load record of ``dataset``; NotLoaded when it is not loaded."""
    with reading(db_path) as con:
        info = loads(con).get(dataset)
        if info is None:
            raise NotLoaded(not_loaded_message(dataset))
        yield con, info


# -- the pair verdict, as a pure function -----------------------------------------------------------------

def codes_text(codes: list[str], limit: int = 4) -> str:
    if len(codes) <= limit:
        return ", ".join(codes)
    return f"{', '.join(codes[:limit - 1])} … {codes[-1]} ({len(codes)} codes)"


def article_verdict(code: str, dx: str, public_id: str, code_groups: list[int], hcpc_groups: dict[int, list[str]],
                    covered_groups: set[int], dx_rows: list[dict], paragraphs: dict[str, str]) -> tuple[str, str]:
    """(verdict, reason) of one article for ``code`` + ``dx``.

    supported: covered in a group the tables pair with the code's group (the same number, or any group when
    the article has one code group); not_supported: listed as noncovered; not_addressed: the article lists
    the code, not the diagnosis for it; not_decided: covered only in groups the tables do not pair with the
    code (the pairing is in the article's text), or both covered and noncovered.
    """
    single = len(hcpc_groups) <= 1
    groups = ", ".join(str(g) for g in code_groups)
    cov = [r for r in dx_rows if r["kind"] == "covered"]
    non = [r for r in dx_rows if r["kind"] == "noncovered"]
    paired = [r for r in cov if single or r["grp"] in code_groups]

    def para(kind: str, g: int) -> str:
        text = paragraphs.get(f"{kind}:{g}", "")
        return f' ("{text[:160]}{"…" if len(text) > 160 else ""}")' if text else ""

    if non and paired:
        return "not_decided", (f"{public_id} lists {dx} both as covered (group {paired[0]['grp']}) and as noncovered "
                               f"(group {non[0]['grp']}) for the codes of {code}'s group; read the article")
    if non:
        g = non[0]["grp"]
        return "not_supported", (f"{public_id} lists {dx} among its ICD-10-CM codes that do not support medical "
                                 f"necessity (noncovered group {g}{para('noncovered', g)}), and it lists {code} "
                                 f"in code group {groups}")
    if paired:
        g = paired[0]["grp"]
        why = ("the article has one code group, so its covered groups apply to every code in it" if single
               else f"covered group {g} pairs with code group {g} by number")
        star = " (marked with an asterisk: read the group's asterisk note)" if paired[0].get("asterisk") else ""
        return "supported", (f"{public_id} lists {dx} as covered in group {g}{star} and {code} in code group "
                             f"{groups}; {why}")
    if cov:
        g = cov[0]["grp"]
        with_codes = f" with {codes_text(hcpc_groups[g])}" if hcpc_groups.get(g) else ""
        own = [cg for cg in code_groups if cg in covered_groups]
        if own:
            return "not_addressed", (f"{public_id} lists {dx} as covered only in group {g} (paired with code group "
                                     f"{g}{with_codes}); {code} is in code group {groups}, whose covered group does "
                                     f"not list {dx}")
        return "not_decided", (f"{public_id} lists {dx} as covered in group {g} (code group {g}{with_codes}), while "
                               f"{code} is in code group {groups}{para('hcpc', code_groups[0]) if code_groups else ''}"
                               f" and the article has no covered group {groups}: its tables do not pair {code} with "
                               "these diagnoses, so the pairing rests on the article's text; read its group "
                               "paragraphs before billing")
    if not covered_groups:
        return "not_addressed", (f"{public_id} lists {code} (code group {groups}) but no covered ICD-10-CM codes; "
                                 f"it does not list {dx} as noncovered either")
    return "not_addressed", (f"{public_id} lists {code} (code group {groups}) but lists {dx} in neither its covered "
                             "nor its noncovered ICD-10-CM codes")


def combine(verdicts: list[tuple[str, str, str]], scoped: bool) -> tuple[str, str]:
    """One verdict from several current articles' (verdict, reason, contractor key) in a jurisdiction."""
    kinds = {v for v, _, _ in verdicts}
    if len(kinds) == 1:
        v = verdicts[0][0]
        return v, "; ".join(r for _, r, _ in verdicts)
    if "supported" in kinds and "not_supported" in kinds:
        return "not_decided", "the articles disagree: " + "; ".join(r for _, r, _ in verdicts)
    if not scoped and len({c for _, _, c in verdicts}) > 1:
        return "not_decided", ("the answer depends on the jurisdiction (ask with a state): "
                               + "; ".join(r for _, r, _ in verdicts))
    for v in ("supported", "not_supported", "not_decided"):
        if v in kinds:
            return v, "; ".join(r for k, r, _ in verdicts if k == v)
    return "not_addressed", "; ".join(r for _, r, _ in verdicts)


# -- reading articles --------------------------------------------------------------------------------------

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


def _file(con: sqlite3.Connection) -> str:
    row = con.execute("SELECT file FROM table_sources WHERE kind = 'mcd' AND setting = 'article'").fetchone()
    return row[0] if row else ""


def _article(con: sqlite3.Connection, aid: int, ver: int, as_of: str, state_ids: set[int] | None,
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


def _groups(con: sqlite3.Connection, art: Article, hcpc_rows: list[sqlite3.Row], file: str) -> None:
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


def _dotted(key: str) -> str:
    return cs.format_code(key, cs.ICD10CM)


def _icd_entry(r: sqlite3.Row) -> dict:
    return {"code": _dotted(r["icd"]), "description": r["description"], "group": r["grp"], "range": r["range"],
            "asterisk": r["asterisk"] == "Y", "line": r["line"]}


def _lists(con: sqlite3.Connection, art: Article) -> None:
    rows = con.execute("SELECT * FROM mcd_icd WHERE article_id = ? AND version = ?", (art.article_id, art.version))
    for r in sorted(rows, key=lambda r: (r["kind"], r["grp"], r["sort_order"] if r["sort_order"] is not None else 1 << 30,
                                         r["icd"])):
        target = art.covered if r["kind"] == "covered" else art.noncovered
        entry = _icd_entry(r)
        if entry["asterisk"]:
            entry["asterisk_note"] = art.paragraphs.get(f"asterisk:{r['grp']}", "")
        target.setdefault(r["grp"], []).append(entry)
    art.covered_groups = sorted(art.covered)


def _scope(con: sqlite3.Connection, state: str | None) -> tuple[set[int] | None, str | None, str]:
    """(state ids, contractor number, label) of the jurisdiction asked; a 5-digit value is a MAC contract number."""
    if not state or not state.strip():
        return None, None, ""
    s = state.strip()
    if re.fullmatch(r"\d{5}", s):
        name = con.execute("SELECT name FROM mcd_contractor WHERE number = ?", (s,)).fetchone()
        if name is None:
            raise ValueError(f"{s!r} is not a MAC contract number in the loaded contractor list")
        return None, s, f"{name[0]} ({s})"
    ids, label = resolve_state(con, s)
    return ids, None, label


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


def _collect(con, code: str, as_of: str, state: str | None, file: str, article: str | None = None
             ) -> tuple[list[Article], list[Article], str]:
    ids, contractor, label = _scope(con, state)
    want = None
    if article:
        m = _DOC_ID.match(article.strip().upper())
        want = int(m.group(2)) if m else None
    current, other = [], []
    for (aid, ver), hrows in _articles_listing(con, code).items():
        if want is not None and aid != want:
            continue
        art = _article(con, aid, ver, as_of, ids, contractor, file)
        if art is None:
            continue
        _groups(con, art, hrows, file)
        (current if art.current and art.in_jurisdiction is not False else other).append(art)
    return current, other, label


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
    m = _DOC_ID.match(public_id.strip().upper())
    if not m or m.group(1) != "A":
        raise ValueError(f"{public_id!r} is not an article id (e.g. A52420)")
    aid = int(m.group(2))
    day = _day(as_of)
    with _opened(db_path, "article") as (con, info):
        res = CoverageResult("article", "", state=state or "", as_of=day, edition=info.get("edition") or "")
        ids, contractor, res.jurisdiction = _scope(con, state)
        ver = con.execute("SELECT MAX(version) FROM mcd_article WHERE article_id = ?", (aid,)).fetchone()[0]
        file = _file(con)
        a = _article(con, aid, ver, day, ids, contractor, file) if ver is not None else None
        if a is None:
            res.status = "not_listed"
            res.message = f"Article {public_id.upper()} is not in the loaded MCD article files ({res.edition})."
            return res
        _groups(con, a, [], file)
        _lists(con, a)
        for g, codes in a.hcpc_groups.items():
            line = con.execute("SELECT MIN(line) FROM mcd_hcpc WHERE article_id = ? AND version = ? AND grp = ?",
                               (aid, ver, g)).fetchone()[0]
            a.rows.append(Row("article_x_hcpc_code.csv", f"{file}:article_x_hcpc_code.csv", line or 0,
                              f"article_id {aid}, article_version {ver}, hcpc_code_group {g}: "
                              f"{', '.join(codes[:LIST_LIMIT])}", a.label()))
        _list_rows(a, file)
        (res.articles if a.current and a.in_jurisdiction is not False else res.other).append(a)
        res.rows = list(a.rows)
        codes = [e["code"] for lst in (a.covered, a.noncovered) for es in lst.values() for e in es]
        res.codeset, res.codeset_version = codeset_flags(store, codes)
        res.message = f"{doc_line(a)}."
        return res


def _list_rows(a: Article, file: str) -> None:
    """One cited row per ICD-10-CM group: its codes (the first LIST_LIMIT) and the line of its first row."""
    for kind, lists in (("covered", a.covered), ("noncovered", a.noncovered)):
        for g, entries in lists.items():
            codes = [e["code"] for e in entries]
            more = f" and {len(codes) - LIST_LIMIT} more" if len(codes) > LIST_LIMIT else ""
            a.rows.append(Row(f"article_x_icd10_{kind}.csv", f"{file}:article_x_icd10_{kind}.csv",
                              entries[0]["line"], f"article_id {a.article_id}, article_version {a.version}, "
                              f"icd10_{kind}_group {g}: {', '.join(codes[:LIST_LIMIT])}{more}", a.label()))


def crosswalk(db_path: Path | str, code: str, as_of: date | str, state: str | None = None, store: Any = None,
              article: str | None = None) -> CoverageResult:
    """Articles that list ``code`` with their covered and noncovered ICD-10-CM codes; NotLoaded, ValueError."""
    c = procedure_code(code)
    day = _day(as_of)
    with _opened(db_path, "article") as (con, info):
        res = CoverageResult("crosswalk", c, state=state or "", as_of=day, edition=info.get("edition") or "")
        res.articles, res.other, res.jurisdiction = _collect(con, c, day, state, _file(con), article)
        file = _file(con)
        for a in res.articles + res.other:
            _lists(con, a)
            _list_rows(a, file)
        for a in res.articles:
            res.rows.extend(a.rows)
        codes = [e["code"] for a in res.articles for lst in (a.covered, a.noncovered) for es in lst.values() for e in es]
        res.codeset, res.codeset_version = codeset_flags(store, codes)
        if not res.articles:
            res.status = "not_listed"
        res.message = _crosswalk_message(res)
        return res


def check(db_path: Path | str, code: str, dx: str, as_of: date | str, state: str | None = None, store: Any = None,
          article: str | None = None) -> CoverageResult:
    """The coverage verdict for ``code`` with diagnosis ``dx`` (optionally in a state or MAC); NotLoaded, ValueError."""
    c = procedure_code(code)
    dkey, dshown = diagnosis_code(dx)
    day = _day(as_of)
    with _opened(db_path, "article") as (con, info):
        res = CoverageResult("check", c, dshown, state or "", as_of=day, edition=info.get("edition") or "")
        file = _file(con)
        res.articles, res.other, res.jurisdiction = _collect(con, c, day, state, file, article)
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
                                  f"article_id {a.article_id}, article_version {a.version}, icd10_code_id {_dotted(r['icd'])}, "
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
        res.message = _check_message(res)
        return res


def doc_line(a: Article) -> str:
    """'A52420 "title" (version 64, in effect since ...; MAC, states ...)'; contract numbers stay in the data (a
    5-digit number in prose reads like a CPT code)."""
    macs = "; ".join(dict.fromkeys(c["name"] for c in a.contractors))
    where = (f"{macs or 'contractor not listed'}" + (f", states {', '.join(a.states)}" if a.states else "")
             if a.jurisdiction_known else "jurisdiction not in the loaded files")
    end = f", end date {a.end}" if a.end and a.status == "current" else ""
    return f"{a.public_id} \"{a.title}\" (version {a.version}, {a.status_text}{end}; {where})"


def others_text(res: CoverageResult) -> str:
    out = []
    for a in res.other:
        if not a.current:
            out.append(f"{a.public_id} version {a.version} also lists {res.code} but is {a.status_text}, so it is "
                       "not the current answer")
        elif a.in_jurisdiction is False:
            out.append(f"{doc_line(a)} lists {res.code}, but it is another jurisdiction's article, not the answer "
                       f"for {res.jurisdiction}")
    return ". ".join(out)


def _check_message(res: CoverageResult) -> str:
    label = VERDICT_LABELS[res.verdict or "not_addressed"]
    out = f"{res.code} with {res.dx}: {label}. {res.reason[0].upper() + res.reason[1:]}."
    if res.articles:
        out += " Rests on " + "; ".join(doc_line(a) for a in res.articles) + "."
    others = others_text(res)
    if others:
        out += " " + others + "."
    if res.dx in res.codeset:
        out += f" Note: {res.dx} is {res.codeset[res.dx]}."
    return out


def _crosswalk_message(res: CoverageResult) -> str:
    where = f" for {res.jurisdiction}" if res.jurisdiction else ""
    if not res.articles:
        out = f"No current article{where} in the loaded MCD files lists {res.code}."
    else:
        out = f"{len(res.articles)} current article(s){where} list {res.code}: " + "; ".join(
            doc_line(a) for a in res.articles) + "."
    others = others_text(res)
    return out + (" " + others + "." if others else "")


# -- NCDs ------------------------------------------------------------------------------------------------

def ncd(db_path: Path | str, ref: str, as_of: date | str) -> NcdResult:
    """An NCD by id (``330``) or manual section (``240.4.1``, ``NCD 220.6``); NotLoaded, ValueError."""
    m = _NCD_REF.match(ref.strip())
    if not m:
        raise ValueError(f"{ref!r} is not an NCD id (e.g. 330) or manual section (e.g. 240.4.1)")
    key = m.group(1)
    day = _day(as_of)
    with _opened(db_path, "ncd") as (con, info):
        res = NcdResult(ref, day, edition=info.get("edition") or "")
        rows = []
        if "." not in key:
            rows = con.execute("SELECT * FROM mcd_ncd WHERE ncd_id = ? ORDER BY version DESC", (int(key),)).fetchall()
        if not rows:
            rows = con.execute("SELECT * FROM mcd_ncd WHERE section = ? ORDER BY version DESC", (key,)).fetchall()
        if not rows:
            res.status = "not_found"
            res.message = f"No NCD with id or manual section {key} is in the loaded NCD file ({res.edition})."
            return res
        file = con.execute("SELECT file FROM table_sources WHERE kind = 'mcd' AND setting = 'ncd'").fetchone()
        r = rows[0]
        state, why = ncd_status(r["title"], r["eff_date"], r["term_date"], r["impl_date"], day)
        level = COVERAGE_LEVELS.get(r["coverage_level"], f"coverage level {r['coverage_level'] or 'not given'}")
        res.ncd = {"id": r["ncd_id"], "version": r["version"], "section": r["section"], "title": r["title"],
                   "effective": r["eff_date"], "implemented": r["impl_date"], "terminated": r["term_date"],
                   "status": state, "status_text": why, "retired": state == "retired",
                   "coverage_level": r["coverage_level"], "coverage_level_text": level,
                   "national_coverage": r["national"], "item_service": r["item_desc"],
                   "indications_limitations": r["indications"], "cross_reference": r["xref"], "other": r["other"],
                   "item_service_html": r["item_desc_html"], "indications_limitations_html": r["indications_html"],
                   "publication": r["publication"], "benefit_categories": r["benefits"],
                   "transmittal": r["transmittal"], "transmittal_url": r["transmittal_url"],
                   "url": NCD_URL.format(id=r["ncd_id"], version=r["version"])}
        res.versions = [{"version": x["version"], "effective": x["eff_date"], "terminated": x["term_date"]} for x in rows]
        doc = f"NCD {r['section']} (id {r['ncd_id']}) version {r['version']}"
        res.rows.append(Row("ncd_trkg.csv", f"{file[0] if file else ''}:ncd_trkg.csv", r["line"],
                            f"NCD_id {r['ncd_id']}, NCD_vrsn_num {r['version']}, NCD_mnl_sect {r['section']}, "
                            f"NCD_mnl_sect_title {r['title']}, NCD_efctv_dt {r['eff_date'] or ''}, "
                            f"NCD_trmntn_dt {r['term_date'] or ''}, cvrg_lvl_cd {r['coverage_level']}", doc))
        end = f", terminated {r['term_date']}" if r["term_date"] else ", no termination date"
        res.message = (f"NCD {r['section']} \"{r['title']}\" (NCD id {r['ncd_id']}, version {r['version']}): effective "
                       f"{r['eff_date'] or 'n/a'}{end}; {why}; {level}.")
        return res


# -- finding documents by words --------------------------------------------------------------------------

_GENERIC = frozenset(("medicare", "medical", "cover", "covered", "coverage", "does", "billing", "coding", "article",
                      "policy", "what", "which", "under", "with", "from", "that", "this", "code", "codes", "support",
                      "supports", "necessity", "necessary", "services", "service", "their", "there", "about",
                      "diagnosis", "diagnoses", "icd10"))


def title_words(text: str) -> set[str]:
    """The words of a title that tell documents apart (six-letter stems, generic words dropped)."""
    return {w[:6] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _GENERIC}


def find_documents(db_path: Path | str, text: str, as_of: date | str, limit: int = 3) -> list[dict]:
    """Current articles and NCDs whose titles share the most words with ``text`` (at least two, or the only one)."""
    want = title_words(text)
    if not want:
        return []
    day = _day(as_of)
    with reading(db_path) as con:
        if con is None:
            return []
        have = loads(con)
        found = []
        if "article" in have:
            for a in con.execute("SELECT article_id, MAX(version) AS version, title, status, eff_date, end_date, "
                                 "date_retired, display_id, retire_planned FROM mcd_article GROUP BY article_id"):
                score = len(want & title_words(a["title"]))
                state = doc_status(a["status"], a["eff_date"], a["end_date"], a["date_retired"], a["display_id"],
                                   day, a["retire_planned"])
                if score and state[0] == "current":
                    found.append({"kind": "article", "id": f"A{a['article_id']}", "version": a["version"],
                                  "title": a["title"], "score": score, "status": state[1],
                                  "url": ARTICLE_URL.format(id=a["article_id"], version=a["version"])})
        if "ncd" in have:
            for n in con.execute("SELECT ncd_id, MAX(version) AS version, section, title, eff_date, term_date, "
                                 "impl_date FROM mcd_ncd GROUP BY ncd_id"):
                score = len(want & title_words(n["title"]))
                if score:
                    state = ncd_status(n["title"], n["eff_date"], n["term_date"], n["impl_date"], day)
                    found.append({"kind": "ncd", "id": n["section"], "ncd_id": n["ncd_id"], "version": n["version"],
                                  "title": n["title"], "score": score, "status": state[1],
                                  "url": NCD_URL.format(id=n["ncd_id"], version=n["version"])})
        need = min(2, len(want))
        found = [f for f in found if f["score"] >= need]
        return sorted(found, key=lambda f: (-f["score"], f["kind"], str(f["id"])))[:limit]


def loaded(db_path: Path | str) -> dict[str, dict]:
    """The MCD datasets loaded (article, lcd, ncd) with their edition and load time."""
    with reading(db_path) as con:
        return loads(con)
