"""Coverage answers for chat: which MCD lookup a question asks for, and its result as cited sentences.

``sentences`` is pure: a crosswalk, pair check, article, NCD or "not loaded" result in, ``(text, documents,
bullet)`` out, each document a table row the sentence rests on (the NCCI verdict's shape). ``ask`` reads the
tables for a routed question; the date of service comes in from the caller.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot.tables import coverage as cov
from casepilot.tables.coverage.store import reading

Sentence = tuple[str, list[Document], bool]
_NCD = re.compile(r"\bNCDs?\s*#?\s*(\d{1,4}(?:\.\d{1,3}){0,3})\b", re.I)
_ARTICLE = re.compile(r"\b(A\d{5})\b", re.I)
_STATE_ABBR = re.compile(r"\b(?:in|for|under)\s+([A-Z]{2})\b")


@dataclass
class CoverageAnswer:
    """What the grounded answerer adds to a draft: the verdict for ``done`` and the cited sentences."""

    verdict: dict
    sentences: list[Sentence] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)


def _doc(row: cov.Row, edition: str, url: str | None = None) -> Document:
    key = hashlib.sha1(f"{row.file}:{row.line}:{row.row}".encode()).hexdigest()[:12]
    return Document(page_content=row.row, id=f"mcd:{row.table}:{row.line}:{key}",
                    metadata={"title": f"MCD {row.table}, {row.document}" + (f", line {row.line}" if row.line else ""),
                              "source": f"{row.file}" + (f" (data as of {edition})" if edition else ""),
                              "kind": "table", "url": url})


def _fact(text: str, title: str, source: str, url: str | None = None) -> Document:
    """A verdict or lookup summary as evidence (what an LLM explaining it reads)."""
    key = hashlib.sha1(text.encode()).hexdigest()[:12]
    return Document(page_content=text, id=f"mcd:verdict:{key}",
                    metadata={"title": title, "source": source, "kind": "table", "url": url})


def not_loaded(message: str, dataset: str) -> CoverageAnswer:
    doc = Document(page_content=message, id=f"table:not-loaded:mcd-{dataset}",
                   metadata={"title": "Medicare Coverage Database files (not loaded)",
                             "source": "tables loaded with casepilot ingest --source", "kind": "table"})
    return CoverageAnswer({"kind": "coverage", "type": "not_loaded", "status": "not_loaded", "dataset": dataset,
                           "message": message, "citations": []}, [(message, [doc], False)])


def _codes(entries: list[dict], flags: dict[str, str], limit: int = cov.LIST_LIMIT) -> str:
    shown = []
    for e in entries[:limit]:
        mark = "*" if e.get("asterisk") else ""
        shown.append(e["code"] + mark + (" (flagged: not in the loaded code set)" if e["code"] in flags else ""))
    more = f" and {len(entries) - limit} more" if len(entries) > limit else ""
    return ", ".join(shown) + more


def excerpt(text: str, limit: int = 400) -> str:
    """``text`` cut at the last sentence end before ``limit`` characters (or at a word, with "…")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = max(text.rfind(". ", 0, limit), text.rfind("; ", 0, limit))
    return text[:cut + 1] if cut > limit // 3 else text[:limit].rsplit(" ", 1)[0] + " …"


def _article_sentences(a: cov.Article, edition: str, flags: dict[str, str], code: str = "") -> list[Sentence]:
    """One article: what it is, which code group lists the code, and its ICD-10-CM lists with their rows."""
    docs = {r.table: _doc(r, edition, a.url) for r in a.rows if r.table in ("article.csv", "article_x_hcpc_code.csv")}
    list_docs = {r.row.split(": ")[0].split(", ")[-1]: _doc(r, edition, a.url) for r in a.rows
                 if r.table.startswith("article_x_icd10_") and ": " in r.row}  # "icd10_covered_group 1" -> doc
    head = cov.doc_line(a)
    out: list[Sentence] = []
    if code:
        out.append((f"{head} lists {code} in code group {', '.join(map(str, a.code_groups))}",
                    [d for d in (docs.get("article.csv"), docs.get("article_x_hcpc_code.csv")) if d], False))
    else:
        out.append((head, [docs["article.csv"]] if "article.csv" in docs else [], False))
        for r in a.rows:
            if r.table == "article_x_hcpc_code.csv" and ": " in r.row:
                g = int(r.row.split("hcpc_code_group ")[1].split(":")[0])
                para = a.paragraphs.get(f"hcpc:{g}", "")
                out.append((f"CPT/HCPCS code group {g}: {r.row.split(': ', 1)[1]}"
                            + (f". Group note: {excerpt(para)}" if para else ""), [_doc(r, edition, a.url)], True))

    def group_lines(kind: str, lists: dict[int, list[dict]], what: str) -> None:
        for g, entries in lists.items():
            doc = list_docs.get(f"icd10_{kind}_group {g}")
            para = a.paragraphs.get(f"{kind}:{g}", "")
            out.append((f"{what}, group {g}: {_codes(entries, flags)}" + (f". Group note: {excerpt(para)}" if para
                                                                            else ""), [doc] if doc else [], True))
            if any(e.get("asterisk") for e in entries) and a.paragraphs.get(f"asterisk:{g}"):
                out.append((f"Asterisk (*) note, group {g}: {excerpt(a.paragraphs[f'asterisk:{g}'])}",
                            [doc] if doc else [], True))

    pairing = a.pairing if code else "single_group"
    if pairing in ("single_group", "same_number"):
        paired = a.paired_covered() if code else a.covered
        group_lines("covered", paired, "Covered ICD-10-CM codes (support medical necessity)"
                    + (f" for {code}" if code else ""))
        rest = {g: v for g, v in a.covered.items() if g not in paired}
        if rest:
            out.append((f"{a.public_id} also lists covered group(s) {', '.join(map(str, rest))}, which its tables "
                        f"pair with other code groups, not with {code}'s group", [], False))
    elif pairing == "not_decided":
        for g in a.covered:
            others = cov.codes_text(a.hcpc_groups.get(g, []))
            out.append((f"{a.public_id} pairs none of its covered groups with {code}'s code group "
                        f"{', '.join(map(str, a.code_groups))}: covered group {g} goes with code group {g}"
                        + (f" ({others})" if others else "") + f"; whether it supports {code} is decided in the "
                        "article's text (not decided from the tables)", [docs["article_x_hcpc_code.csv"]]
                        if "article_x_hcpc_code.csv" in docs else [], False))
        group_lines("covered", a.covered, "Covered ICD-10-CM codes listed in the article")
    else:
        out.append((f"{a.public_id} lists no covered ICD-10-CM codes", [docs["article.csv"]] if "article.csv" in docs
                    else [], False))
    group_lines("noncovered", a.noncovered, "Noncovered ICD-10-CM codes (do not support medical necessity)")
    return out


def sentences(result: Any) -> list[Sentence]:
    """The cited sentences of a coverage result (pure)."""
    if isinstance(result, cov.NcdResult):
        return _ncd_sentences(result)
    res: cov.CoverageResult = result
    src = "Medicare Coverage Database tables loaded with casepilot ingest --source mcd"
    out: list[Sentence] = []
    if res.type == "check":
        rows = [_doc(r, res.edition, next((a.url for a in res.articles if a.label() == r.document), None))
                for r in res.rows]
        summary = _fact(res.message, f"Coverage verdict: {res.code} with {res.dx}", src)
        label = cov.VERDICT_LABELS[res.verdict or "not_addressed"]
        where = f" in {res.jurisdiction}" if res.jurisdiction else ""
        reason = res.reason[0].upper() + res.reason[1:]
        out.append((f"Coverage verdict for {res.code} with {res.dx}{where}: {label}. {reason}",
                    [summary, *rows[:6]], False))
    elif not res.articles:
        out.append((res.message, [_fact(res.message, f"MCD crosswalk: {res.code}", src)], False))
    for a in res.articles:
        out.extend(_article_sentences(a, res.edition, res.codeset, res.code if res.type != "article" else ""))
    others = cov.others_text(res)
    if others and (res.type == "check" or res.articles):
        out.append((others, [_fact(others, f"MCD articles listing {res.code} that do not apply", src)], False))
    for code, why in list(res.codeset.items())[:10]:
        out.append((f"{code} is {why}: check the article against the current code set before billing",
                    [_fact(f"{code}: {why}", "ICD-10-CM code set check", res.codeset_version or "code store")], False))
    return out


def _ncd_sentences(res: cov.NcdResult) -> list[Sentence]:
    if res.status != "found":
        return [(res.message, [_fact(res.message, f"NCD {res.ref}", "NCD file loaded with casepilot ingest")], False)]
    n = res.ncd
    row = _doc(res.rows[0], res.edition, n["url"])
    out: list[Sentence] = [(res.message, [row], False)]
    for label, key in (("Item/service", "item_service"), ("Indications and limitations", "indications_limitations"),
                       ("Cross reference", "cross_reference"), ("Other", "other")):
        text = " ".join((n.get(key) or "").split())
        if text:
            body = excerpt(text, 600)
            doc = _fact(n.get(key) or "", f"NCD {n['section']} {label.lower()}", f"ncd_trkg.csv (data as of "
                        f"{res.edition})", n["url"])
            out.append((f"{label}: {body}", [doc], False))
    if n.get("benefit_categories"):
        out.append((f"Benefit category: {n['benefit_categories']}", [row], False))
    return out


# -- reading a question ----------------------------------------------------------------------------------

def state_in(question: str, db: Path | str) -> str | None:
    """The state a question names ('in Texas', 'in TX'), when the loaded state list knows it."""
    with reading(db) as con:
        if con is None:
            return None
        try:
            rows = con.execute("SELECT DISTINCT abbrev, description FROM mcd_state").fetchall()
        except sqlite3.OperationalError:  # no MCD tables in this file
            return None
    names = sorted({r[1].split(" - ")[0].strip() for r in rows}, key=len, reverse=True)
    for name in names:
        if re.search(rf"\b{re.escape(name)}\b", question, re.I):
            return name
    abbrevs = {r[0] for r in rows}
    m = _STATE_ABBR.search(question)
    return m.group(1) if m and m.group(1) in abbrevs else None


def _split(mentions: list[Any], db: Path | str) -> tuple[list[str], list[str]]:
    """(procedure codes, diagnosis codes) of the question's code mentions."""
    procs, dxs = [], []
    for r in mentions:
        m = r.mention
        systems = {r.record.system} if r.records else set(m.systems)
        if cs.MODIFIER in systems and len(systems) == 1:
            continue
        if "." in m.raw or systems == {cs.ICD10CM}:
            dxs.append(m.code)
        elif systems & {cs.CPT, cs.HCPCS} and not systems & {cs.ICD10CM}:
            procs.append(m.code)
        elif systems & {cs.CPT, cs.HCPCS}:  # J7321 or M1711: a listed procedure code, else a diagnosis
            (procs if cov.is_listed(db, m.code) or dxs else dxs).append(m.code)
    return procs, dxs


def ask(question: str, mentions: list[Any], db: Path | str, as_of: date, store: Any = None) -> CoverageAnswer:
    """Answer a coverage question from the MCD tables: NCD by section, pair verdict, crosswalk, article, or
    the documents whose titles match; "not loaded" with the download when the tables are missing."""
    m = _NCD.search(question)
    try:
        if m:
            res = cov.ncd(db, m.group(1), as_of)
            return CoverageAnswer(res.to_dict(), sentences(res), [f"MCD NCD file: {m.group(1)}"])
        procs, dxs = _split(mentions, db)
        state = state_in(question, db)
        art = _ARTICLE.search(question)
        article = art.group(1).upper() if art else None
        if procs:
            run = (partial(cov.check, db, procs[0], dxs[0]) if dxs else partial(cov.crosswalk, db, procs[0]))
            res = run(as_of, state=state, store=store, article=article)
            named = _named_article(question, res) if article is None else None
            if named:  # "... under the hyaluronan article": the one article whose title the question names
                res = run(as_of, state=state, store=store, article=named)
            searched = f"MCD articles: {procs[0]} with {dxs[0]}" if dxs else f"MCD articles listing {procs[0]}"
        elif article:
            res = cov.article(db, article, as_of, store=store)
            searched = f"MCD article {article}"
        else:
            return _by_title(question, db, as_of, store, dxs)
    except cov.NotLoaded as e:
        return not_loaded(str(e), "ncd" if m else "article")
    except (ValueError, LookupError) as e:
        text = f"The coverage lookup could not run: {e}."
        return CoverageAnswer({"kind": "coverage", "type": "error", "status": "bad_input", "message": text,
                               "citations": []}, [(text, [], False)])
    return CoverageAnswer(res.to_dict(), sentences(res), [searched])


def names_document(question: str) -> bool:
    """Whether the question names an NCD by section or an article by id (the coverage tables alone answer it)."""
    return bool(_NCD.search(question) or _ARTICLE.search(question))


def _named_article(question: str, res: cov.CoverageResult) -> str | None:
    """The one current article (of several) whose title shares a word with the question, if exactly one does."""
    if len(res.articles) < 2:
        return None
    words = cov.title_words(re.sub(r"\b[A-Z0-9.]{5,8}\b", " ", question))
    hits = [a for a in res.articles if words & cov.title_words(a.title)]
    return hits[0].public_id if len(hits) == 1 else None


def _by_title(question: str, db: Path | str, as_of: date, store: Any, dxs: list[str]) -> CoverageAnswer:
    """No procedure code: the current articles and NCDs whose titles match the question."""
    if not cov.loaded(db):
        raise cov.NotLoaded(cov.not_loaded_message("article"))
    found = cov.find_documents(db, question, as_of)
    searched = ["MCD article and NCD titles"]
    src = "Medicare Coverage Database tables loaded with casepilot ingest --source mcd"
    out: list[Sentence] = []
    if dxs:
        text = (f"A coverage verdict needs the procedure code as well as {cs.format_code(dxs[0], cs.ICD10CM)}: ask "
                "with the CPT/HCPCS code (for example \"Is M17.11 covered for J7321?\")")
        out.append((text, [], False))
    if not found:
        text = "No current article or NCD title in the loaded MCD files matches this question; name a CPT/HCPCS code"
        out.append((text, [_fact(text, "MCD titles searched", src)], False))
        return CoverageAnswer({"kind": "coverage", "type": "search", "status": "not_found", "documents": [],
                               "message": text, "citations": []}, out, searched)
    best = next((f for f in found if f["kind"] == "article"), None)
    verdict: dict = {"kind": "coverage", "type": "search", "status": "found", "documents": found,
                     "message": "; ".join(f"{f['id']} {f['title']}" for f in found), "citations": []}
    if best is not None:
        res = cov.article(db, best["id"], as_of, store=store)
        out.append((f"The closest current article is {best['id']}:", [], False))
        out.extend(sentences(res))
        verdict["article"] = res.to_dict()
    rest = [f for f in found if f is not best]
    if rest:
        out.append(("Other current Medicare Coverage Database documents that match:" if best else
                    "These current Medicare Coverage Database documents match the question:", [], False))
    for f in rest:
        text = (f"{'NCD ' + f['id'] if f['kind'] == 'ncd' else f['id']} \"{f['title']}\" (version {f['version']}, "
                f"{f['status']})")
        out.append((text, [_fact(text, f"MCD {f['kind']} {f['id']}", src, f["url"])], True))
    return CoverageAnswer(verdict, out, searched)
