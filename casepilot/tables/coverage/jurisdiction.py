"""Jurisdiction: the states (or the MAC contract number) a coverage question is scoped to."""

from __future__ import annotations

import re
import sqlite3


def _base(description: str) -> str:
    """'New York - Downstate' -> 'new york': sub-state regions belong to their state."""
    return description.split(" - ")[0].strip().lower()


def resolve_state(con: sqlite3.Connection, query: str) -> tuple[set[int], str]:
    """State ids a query names ('TX', 'Texas', 'NY' = all New York regions) and a label; ValueError if none.

    A region ('New York - Queens') also matches documents for the entire state.
    """
    q = " ".join(query.split())
    rows = [dict(r) for r in con.execute("SELECT DISTINCT state_id, abbrev, description FROM mcd_state")]
    if not rows:
        raise LookupError("the MCD state list (state_lookup.csv) is not loaded, so documents cannot be scoped to a "
                          "state; load the full current_article.zip")
    hit = [r for r in rows if r["abbrev"].upper() == q.upper() or r["description"].lower() == q.lower()]
    by_base = [r for r in rows if _base(r["description"]) == q.lower()]
    if not hit and not by_base:
        raise ValueError(f"{query!r} is not a state in the MCD state list; use a two-letter abbreviation (TX) or a "
                         "name (Texas)")
    whole = by_base or [r for r in hit if "entire state" in r["description"].lower()]
    if whole:
        base = _base(whole[0]["description"])
        ids = {r["state_id"] for r in rows if _base(r["description"]) == base}
        return ids, whole[0]["description"].split(" - ")[0].strip()
    base = _base(hit[0]["description"])
    entire = {r["state_id"] for r in rows if _base(r["description"]) == base and "entire" in r["description"].lower()}
    return {r["state_id"] for r in hit} | entire, hit[0]["description"]


def scope(con: sqlite3.Connection, state: str | None) -> tuple[set[int] | None, str | None, str]:
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
