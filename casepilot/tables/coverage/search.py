"""Finding current articles and NCDs by the words of their titles (a coverage question without a code)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from casepilot.tables.coverage.inputs import day_text
from casepilot.tables.coverage.labels import ARTICLE_URL, NCD_URL
from casepilot.tables.coverage.status import doc_status, ncd_status
from casepilot.tables.coverage.store import loads, reading

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
    day = day_text(as_of)
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
