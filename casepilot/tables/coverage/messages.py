"""The one-paragraph summaries of coverage results (the ``message`` of a crosswalk or a pair check)."""

from __future__ import annotations

from casepilot.tables.coverage.labels import VERDICT_LABELS
from casepilot.tables.coverage.results import Article, CoverageResult


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


def check_message(res: CoverageResult) -> str:
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


def crosswalk_message(res: CoverageResult) -> str:
    where = f" for {res.jurisdiction}" if res.jurisdiction else ""
    if not res.articles:
        out = f"No current article{where} in the loaded MCD files lists {res.code}."
    else:
        out = f"{len(res.articles)} current article(s){where} list {res.code}: " + "; ".join(
            doc_line(a) for a in res.articles) + "."
    others = others_text(res)
    return out + (" " + others + "." if others else "")
