"""MCD downloads built at test time in the real layout (``../shared/data/mcd/LAYOUT.md``).

Values come from ``../shared/data/mcd/samples`` (real CMS values, column subsets: the tests skip without
them). The samples hold no article versions but those of A52369 (17) and A52420 (64), no contractor
links, no state abbreviations and no NCD text: those few values are written here and marked as the
fixture's own. No CPT descriptor text anywhere (descriptions of CPT rows stay blank).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mcd" / "samples"

HEADERS = {
    "article.csv": "article_id,article_version,article_type,title,article_pub_date,article_eff_date,article_end_date,"
                   "description,other_comments,sad_url,status,last_updated,history_exp,key_article,icd9_covered_para,"
                   "icd9_noncovered_para,revenue_para,thirty_percent,article_rev_end_date,source_article_id,"
                   "date_retired,keywords,icd10_doc,add_icd10_info,cms_cov_policy,display_id,reference_article",
    "article_x_hcpc_code.csv": "article_id,article_version,hcpc_code_id,hcpc_code_version,hcpc_code_group,range,"
                               "last_updated,long_description,short_description",
    "article_x_hcpc_code_group.csv": "article_id,article_version,hcpc_code_group,paragraph",
    "article_x_icd10_covered.csv": "article_id,article_version,icd10_code_id,icd10_code_version,icd10_covered_group,"
                                   "range,last_updated,sort_order,description,asterisk",
    "article_x_icd10_covered_group.csv": "article_id,article_version,icd10_covered_group,paragraph,last_updated,"
                                         "icd10_covered_ast",
    "article_x_icd10_noncovered.csv": "article_id,article_version,icd10_code_id,icd10_code_version,"
                                      "icd10_noncovered_group,range,last_updated,sort_order,description",
    "article_x_icd10_noncovered_group.csv": "article_id,article_version,icd10_noncovered_group,paragraph,last_updated",
    "article_x_contractor.csv": "article_id,article_version,article_type,contractor_id,contractor_type_id,"
                                "contractor_version,last_updated",
    "article_x_primary_jurisdiction.csv": "article_id,article_version,state_id,last_updated",
    "article_related_documents.csv": "article_id,article_version,related_num,r_article_id,r_article_version,r_lcd_id,"
                                     "r_lcd_version,r_contractor_id,last_updated",
    "article_future_retire.csv": "article_id,retire_dt",
    "contractor.csv": "contractor_id,contractor_type_id,contractor_version,contractor_bus_name,contractor_number,"
                      "dmerc_rgn,address1,address2,address3,city,state_id,zipcode,phone,fax,status,last_updated,url,"
                      "email,ignore,status_flag,cmd_name,cmd_title,contractor_subtype_id",
    "contractor_jurisdiction.csv": "contractor_id,contractor_type_id,contractor_version,state_id,last_updated,"
                                   "active_date,term_date",
    "state_lookup.csv": "state_id,state_abbrev,description",
    "update_period.csv": "period_id,begin_date,dis_end_date",
    "lcd.csv": "lcd_id,lcd_version,title,determination_number,orig_det_eff_date,ent_det_end_date,rev_eff_date,"
               "rev_end_date,indication,diagnoses_support,icd9_dont_support_para,icd9_dont_support_ast,"
               "diagnoses_dont_support,coding_guidelines,doc_reqs,appendices,util_guide,source_info,adv_meeting,"
               "comment_start_dt,comment_end_dt,notice_start_dt,rev_hist_num,history_exp,last_reviewed_on,status,"
               "last_updated,cms_cov_policy,display_id,draft_contact,revenue_para,thirty_percent,keywords,"
               "associated_info,notice_end_dt,date_retired,draft_released_date,source_lcd_id,add_icd10_info,icd10_doc,"
               "synopsis_changes,bibliography,summary_of_evidence,analysis_of_evidence,mcd_publish_date,issue,"
               "issue_change,mac_initiated",
    "lcd_related_documents.csv": "lcd_id,lcd_version,related_num,r_article_id,r_article_version,r_lcd_id,r_lcd_version,"
                                 "r_contractor_id,last_updated",
    "lcd_x_contractor.csv": "lcd_id,lcd_version,contractor_id,contractor_type_id,contractor_version,last_updated",
    "ncd_trkg.csv": "NCD_id,NCD_vrsn_num,natl_cvrg_type,cvrg_lvl_cd,NCD_mnl_sect,NCD_mnl_sect_title,NCD_efctv_dt,"
                    "NCD_impltn_dt,NCD_trmntn_dt,itm_srvc_desc,indctn_lmtn,xref_txt,othr_txt,trnsmtl_num,"
                    "trnsmtl_issnc_dt,trnsmtl_url,chg_rqst_num,pblctn_cd,rev_hstry,under_rvw,creatd_tmstmp,"
                    "last_updt_tmstmp,last_clrnc_tmstmp,NCD_lab,ncd_keyword,NCD_AMA",
    "ncd_trkg_bnft_xref.csv": "NCD_id,NCD_vrsn_num,bnft_ctgry_cd,creatd_tmstmp,last_updt_tmstmp",
    "ncd_bnft_ctgry_ref.csv": "bnft_ctgry_cd,bnft_ctgry_desc",
    "ncd_pblctn_ref.csv": "pblctn_cd,pblctn_num,pblctn_title",
}
INNER = {"article": "current_article_csv.zip", "lcd": "current_lcd_csv.zip", "ncd": "ncd_csv.zip"}
OUTER = {"article": "current_article.zip", "lcd": "current_lcd.zip", "ncd": "ncd.zip"}
KNOWN_VERSIONS = {"52369": "17", "52420": "64"}  # from article_x_hcpc_code.csv; other articles: version 1 (fixture)
# The fixture's own values (the samples have no article_x_contractor, contractor_jurisdiction or state_abbrev).
ARTICLE_CONTRACTORS = [("52369", "500", "8"), ("52369", "503", "11"), ("52420", "314", "12")]
CONTRACTOR_STATES = [("500", "8", "28"), ("503", "11", "28"), ("314", "12", "10")]
ABBREVIATIONS = {"1": "AK", "2": "AL", "4": "AS", "6": "CA", "9": "CT", "10": "DC", "12": "FL", "28": "MN", "29": "MO",
                 "41": "NY", "46": "PR", "54": "VI", "60": "MP", "61": "EM", "62": "WM", "63": "DN", "64": "QN",
                 "65": "UN", "66": "NF", "67": "SF"}
EDITION = "2026-09-27"
NCD_TEXT = {  # NCD 330 (240.4.1): fixture text with the HTML shapes of the real cells
    "itm_srvc_desc": "<p>Sleep testing <b>item</b> &amp; service description (fixture text).</p>",
    "indctn_lmtn": "<p>Indications:</p><ul><li>Type I polysomnography</li><li>Type II or III devices</li></ul>"
                   "<table><tr><td>Device</td><td>Covered</td></tr></table>",
}


def samples() -> Path:
    """The samples folder, or skip the test with the reason."""
    if not (SAMPLES / "article.csv").exists():
        pytest.skip(f"MCD samples are not in {SAMPLES.resolve()} (the shared data folder beside the repo)")
    return SAMPLES


def read_sample(name: str) -> list[dict]:
    with open(samples() / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def csv_bytes(name: str, rows: list[dict], encoding: str = "utf-8", header: str | None = None) -> bytes:
    """A CSV in the export's dialect: the exact header, RFC 4180 quoting, CRLF record ends."""
    cols = (header or HEADERS[name]).split(",")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
    return buf.getvalue().encode(encoding)


def article_tables() -> dict[str, list[dict]]:
    """The article download's tables from the samples (plus the fixture values above)."""
    ver = lambda aid: KNOWN_VERSIONS.get(aid, "1")  # noqa: E731
    t: dict[str, list[dict]] = {name: [] for name in HEADERS if name.startswith(("article", "contractor", "state",
                                                                                  "update"))}
    for r in read_sample("article.csv"):
        t["article.csv"].append({
            "article_id": r["article_id"], "article_version": ver(r["article_id"]), "article_type": r["article_type"],
            "title": r["title"], "article_eff_date": r["article_eff_date"], "article_end_date": r["article_end_date"],
            "status": r["status"], "display_id": r["display_id"], "last_updated": r["article_eff_date"],
            "description": f"<p>Article {r['article_id']}: fixture description with <b>HTML</b>,\r\nacross lines.</p>"})
    for i, r in enumerate(read_sample("article_x_hcpc_code.csv")):
        t["article_x_hcpc_code.csv"].append({**r, "range": "N", "hcpc_code_version": "1"})
    t["article_x_hcpc_code.csv"].append({"article_id": "52430", "article_version": "1", "hcpc_code_id": "XX000",
                                         "hcpc_code_group": "1", "range": "N", "short_description": "Not Applicable"})
    for r in read_sample("article_x_hcpc_code_group.csv"):
        t["article_x_hcpc_code_group.csv"].append({**r, "paragraph": f"<p>{r['paragraph']}</p>"})
    for i, r in enumerate(read_sample("article_x_icd10_covered.csv")):
        t["article_x_icd10_covered.csv"].append({**r, "range": "N", "sort_order": str(i), "asterisk": "N"})
    for r in read_sample("article_x_icd10_covered.codical_seed.csv"):  # A59915 is not in article.csv: orphans
        t["article_x_icd10_covered.csv"].append({
            "article_id": r["article_id"].lstrip("A"), "article_version": r["version"], "icd10_code_id": r["code"],
            "icd10_covered_group": r["group_number"], "range": "N", "description": r["description"]})
    for i, r in enumerate(read_sample("article_x_icd10_noncovered.csv")):
        t["article_x_icd10_noncovered.csv"].append({**r, "range": "N", "sort_order": str(i)})
    for r in read_sample("article_x_icd10_noncovered_group.csv"):
        t["article_x_icd10_noncovered_group.csv"].append({**r, "paragraph": f"<p>{r['paragraph']}</p>"})
    for r in read_sample("contractor.csv"):
        t["contractor.csv"].append({"contractor_id": r["contractor_id"], "contractor_type_id": r["contract_type_id"],
                                    "contractor_version": "1", "contractor_bus_name": r["contractor_name"],
                                    "contractor_number": r["contract_number"], "status": "A", "url": "http://"})
    for aid, cid, ctype in ARTICLE_CONTRACTORS:
        t["article_x_contractor.csv"].append({"article_id": aid, "article_version": ver(aid), "article_type": "6",
                                              "contractor_id": cid, "contractor_type_id": ctype,
                                              "contractor_version": "1"})
    for cid, ctype, sid in CONTRACTOR_STATES:
        t["contractor_jurisdiction.csv"].append({"contractor_id": cid, "contractor_type_id": ctype,
                                                 "contractor_version": "1", "state_id": sid,
                                                 "active_date": "2020-01-01 00:00:00"})
    for r in read_sample("state_lookup.csv"):
        t["state_lookup.csv"].append({"state_id": r["state_id"], "state_abbrev": ABBREVIATIONS[r["state_id"]],
                                      "description": r["state_name"]})
    t["update_period.csv"].append({"period_id": "1", "begin_date": "2026-09-21 00:00:00",
                                   "dis_end_date": f"{EDITION} 00:00:00"})
    return t


def ncd_tables() -> dict[str, list[dict]]:
    t: dict[str, list[dict]] = {"ncd_trkg.csv": [], "ncd_trkg_bnft_xref.csv": [],
                                "ncd_bnft_ctgry_ref.csv": [{"bnft_ctgry_cd": "1", "bnft_ctgry_desc":
                                                            "Durable Medical Equipment"}],
                                "ncd_pblctn_ref.csv": [{"pblctn_cd": "1", "pblctn_num": "100-3",
                                                        "pblctn_title": "Medicare National Coverage Determinations"}]}
    for r in read_sample("ncd_trkg.csv"):
        row = {**r, "natl_cvrg_type": "True", "pblctn_cd": "1", "under_rvw": "False", "NCD_AMA": "False",
               "trnsmtl_url": "http://"}
        if r["NCD_id"] == "330":
            row.update(NCD_TEXT)
            t["ncd_trkg_bnft_xref.csv"].append({"NCD_id": "330", "NCD_vrsn_num": r["NCD_vrsn_num"],
                                                "bnft_ctgry_cd": "1"})
        t["ncd_trkg.csv"].append(row)
    return t


def lcd_tables() -> dict[str, list[dict]]:
    """One LCD (L39995, which codical links to A59915); its title and dates are the fixture's own."""
    return {"lcd.csv": [{"lcd_id": "39995", "lcd_version": "1", "title": "Fixture LCD for A59915",
                         "orig_det_eff_date": "2026-01-01 00:00:00", "rev_eff_date": "2026-01-01 00:00:00",
                         "status": "A", "display_id": "", "indication": "<p>fixture</p>"}],
            "lcd_related_documents.csv": [], "lcd_x_contractor.csv": [],
            "contractor.csv": [], "state_lookup.csv": []}


def write_download(folder: Path, dataset: str, tables: dict[str, list[dict]], form: str = "outer",
                   encodings: dict[str, str] | None = None, raw: dict[str, bytes] | None = None) -> Path:
    """The download as CMS ships it: ``form`` = outer (zip in a zip, with readme and .mdb), inner (the
    ``*_csv.zip``) or folder (extracted CSVs). ``raw`` replaces a file's bytes (hostile files)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: csv_bytes(name, rows, (encodings or {}).get(name, "utf-8")) for name, rows in tables.items()}
    files.update(raw or {})
    if form == "folder":
        out = folder / dataset
        out.mkdir(exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
        return out
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr("readme_first.txt", "fixture")
    if form == "inner":
        path = folder / INNER[dataset]
        path.write_bytes(inner.getvalue())
        return path
    path = folder / OUTER[dataset]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(INNER[dataset], inner.getvalue())
        z.writestr(OUTER[dataset].replace(".zip", ".mdb"), b"\x00\x01Standard Jet DB fixture")
        z.writestr("readme_first.txt", "fixture")
    return path
