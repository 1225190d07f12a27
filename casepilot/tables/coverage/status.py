"""The status of an MCD document on a date of service, and MCD dates as ISO.

Shared by ``ingest/mcd.py`` and the coverage readers, so a document's status means the same thing everywhere.

>>> doc_status("A", "2026-04-01", None, None, "", "2026-11-29")
('current', 'in effect since 2026-04-01')
>>> doc_status("A", "2027-01-01", None, None, "", "2026-11-29")[0]
'not_yet_effective'
"""

from __future__ import annotations

import re
from datetime import date

_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})")


def mcd_date(raw: str | None) -> str | None:
    """The date part of an MCD timestamp as ISO: ``2026-04-01 00:00:00`` or ``04/01/2026`` -> ``2026-04-01``.

    Blank gives None; anything else raises ValueError.
    """
    s = (raw or "").strip()
    if not s:
        return None
    m = _MDY.match(s)
    if m:
        return date(int(m.group(3)), int(m.group(1)), int(m.group(2))).isoformat()
    return date.fromisoformat(s[:10]).isoformat()


def doc_status(status: str, eff: str | None, end: str | None, retired: str | None, display_id: str,
               as_of: str, planned_retire: str | None = None) -> tuple[str, str]:
    """(state, why) of an article or LCD version on ``as_of``: current, retired, ended, not_yet_effective or draft.

    A document is current only when approved (status A), final (no display_id), not retired and in effect.
    """
    if display_id:
        return "draft", f"a proposed or draft document ({display_id}), not a final one"
    if status == "R" or (retired and retired <= as_of) or (planned_retire and planned_retire <= as_of):
        when = retired or planned_retire
        return "retired", f"retired{f' on {when}' if when else ''}"
    if status and status != "A":
        return "draft", f"status {status!r}: not an approved final document"
    if end and end < as_of:
        return "ended", f"ended on {end}"
    if eff and eff > as_of:
        return "not_yet_effective", f"not yet in effect: effective {eff}"
    since = f"in effect since {eff}" if eff else "in effect (no effective date given)"
    if planned_retire:
        since += f"; scheduled to retire on {planned_retire}"
    return "current", since


def ncd_status(title: str, eff: str | None, term: str | None, impl: str | None, as_of: str) -> tuple[str, str]:
    """(state, why) of an NCD version: retired (title says RETIRED or terminated), not_yet_effective, or current."""
    if term and term <= as_of:
        return "retired", f"retired: terminated on {term}"
    if "RETIRED" in title.upper():
        return "retired", "retired (its title says RETIRED" + (f"; termination date {term})" if term else ")")
    if eff and eff > as_of:
        return "not_yet_effective", f"not yet in effect: effective {eff}"
    why = f"in effect since {eff}" if eff else "in effect (no effective date given)"
    if impl and impl > as_of:
        why += f"; implementation date {impl}"
    if term:
        why += f"; terminates on {term}"
    return "current", why
