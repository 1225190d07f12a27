"""National coverage determinations (NCDs) by id or manual section, with their status on a date of service."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from casepilot.tables.coverage.inputs import day_text
from casepilot.tables.coverage.labels import COVERAGE_LEVELS, NCD_URL
from casepilot.tables.coverage.results import NcdResult, Row
from casepilot.tables.coverage.status import ncd_status
from casepilot.tables.coverage.store import opened

NCD_REF = re.compile(r"^(?:ncd\s*)?(\d{1,4}(?:\.\d{1,3}){0,3})$", re.I)


def ncd(db_path: Path | str, ref: str, as_of: date | str) -> NcdResult:
    """An NCD by id (``330``) or manual section (``240.4.1``, ``NCD 220.6``); NotLoaded, ValueError."""
    m = NCD_REF.match(ref.strip())
    if not m:
        raise ValueError(f"{ref!r} is not an NCD id (e.g. 330) or manual section (e.g. 240.4.1)")
    key = m.group(1)
    day = day_text(as_of)
    with opened(db_path, "ncd") as (con, info):
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
