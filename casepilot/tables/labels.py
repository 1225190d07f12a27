"""CMS wording for the NCCI PTP, MUE and fee-schedule tables: settings, indicator meanings, where to download.

The meanings are CMS's own (the NCCI policy manual, the MUE and RVU file record layouts), shortened; the
readers attach them to the codes a table holds so a verdict says what an indicator means.
"""

from __future__ import annotations

SETTING_LABELS = {
    "practitioner": "practitioner", "hospital": "outpatient hospital", "dme": "DME supplier", "": "",
}
TABLE_LABELS = {"ncci-ptp": "NCCI PTP edits", "mue": "MUE table", "pfs": "Physician Fee Schedule RVU file"}

# -- NCCI PTP ------------------------------------------------------------------------------------

MODIFIER_INDICATORS = {
    "0": "modifier indicator 0: no modifier bypasses this edit; the column 2 code is not paid with the column 1 code",
    "1": "modifier indicator 1: an NCCI-associated modifier (such as 59, XE, XS, XP, XU or an anatomic modifier) "
         "may bypass the edit when it is clinically appropriate and documented",
    "9": "modifier indicator 9: the edit was deleted retroactively / does not apply; no modifier is needed",
}

# -- MUE -----------------------------------------------------------------------------------------

MAI_TEXT = {
    "1": "1 Line Edit: units above the MUE on one claim line are denied",
    "2": "2 Date of Service Edit: Policy: units per day above the MUE are denied; the limit is absolute policy",
    "3": "3 Date of Service Edit: Clinical: units per day above the MUE are denied; appeal with documentation "
         "of medical necessity",
}

# -- physician fee schedule (RVU file) -----------------------------------------------------------

PFS_STATUS = {
    "A": "Active: paid separately under the fee schedule if covered",
    "B": "Bundled: payment is always bundled into other services",
    "C": "Contractors price the code",
    "D": "Deleted code",
    "E": "Excluded from the fee schedule by regulation",
    "F": "Deleted/discontinued code (no grace period)",
    "G": "Not valid for Medicare purposes; another code is used (grace period)",
    "H": "Deleted modifier component",
    "I": "Not valid for Medicare purposes; another code is used (no grace period)",
    "J": "Anesthesia service: no RVUs or payment amounts",
    "M": "Measurement code, for reporting only",
    "N": "Non-covered service",
    "P": "Bundled/excluded: no separate payment under the fee schedule",
    "R": "Restricted coverage: special coverage instructions apply; contractor priced if covered",
    "T": "Injection: paid only if no other fee-schedule service is billed the same day",
    "X": "Statutory exclusion: not in the fee schedule",
}
GLOBAL_DAYS = {
    "000": "0-day global: endoscopic or minor procedure; pre- and post-operative work on the day of the procedure",
    "010": "10-day global: minor procedure with a 10-day postoperative period",
    "090": "90-day global: major surgery with a 1-day preoperative and 90-day postoperative period",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "the global concept does not apply",
    "YYY": "the contractor decides whether the global concept applies and sets the period",
    "ZZZ": "add-on/related code: always within the global period of the other service",
}
PFS_INDICATORS = {
    "mult_proc": ("Multiple procedure (modifier 51)", {
        "0": "no multiple-procedure reduction", "1": "standard reduction rules (pre-1995 status D)",
        "2": "standard multiple-procedure payment reduction applies",
        "3": "special rules for multiple endoscopic procedures", "4": "diagnostic imaging reduction",
        "5": "therapy services reduction", "6": "diagnostic cardiovascular reduction",
        "7": "diagnostic ophthalmology reduction", "9": "concept does not apply"}),
    "bilateral": ("Bilateral surgery (modifier 50)", {
        "0": "150% bilateral adjustment does not apply", "1": "150% bilateral adjustment applies",
        "2": "RVUs already based on a bilateral procedure; no adjustment",
        "3": "each side paid at 100% (usual bilateral adjustment does not apply)", "9": "concept does not apply"}),
    "assistant": ("Assistant at surgery (modifiers 80/81/82/AS)", {
        "0": "assistant paid only with documentation of medical necessity",
        "1": "statutory restriction: assistant at surgery may not be paid",
        "2": "assistant at surgery may be paid", "9": "concept does not apply"}),
    "co_surgeon": ("Co-surgeons (modifier 62)", {
        "0": "co-surgeons not permitted", "1": "co-surgeons paid with supporting documentation",
        "2": "co-surgeons permitted, no documentation needed if the two-specialty rule is met",
        "9": "concept does not apply"}),
    "team_surgeon": ("Team surgery (modifier 66)", {
        "0": "team surgeons not permitted", "1": "team surgeons paid with documentation; by report",
        "2": "team surgeons permitted; by report", "9": "concept does not apply"}),
}

# -- where to get them ---------------------------------------------------------------------------

DOWNLOADS = {
    "ncci-ptp": (
        "the CMS Medicare NCCI PTP edit files (\"Practitioner PTP Edits\" and \"Hospital PTP Edits\", files named "
        "ccipra-v…-f1…f4 and ccioph-v…) from https://www.cms.gov/medicare-medicaid-coordination/"
        "national-correct-coding-initiative-ncci/ncci-medicare/medicare-ncci-procedure-procedure-ptp-edits"
    ),
    "mue": (
        "the CMS Medicare NCCI MUE tables (files named MCR_MUE_PractitionerServices_Eff_…, "
        "MCR_MUE_OutpatientHospitalServices_Eff_… and MCR_MUE_DMESupplierServices_Eff_…) from the Medically "
        "Unlikely Edits page under https://www.cms.gov/medicare-medicaid-coordination/"
        "national-correct-coding-initiative-ncci/ncci-medicare"
    ),
    "pfs": (
        "the CMS Physician Fee Schedule relative value file (RVU25A…D zip, member PPRRVU…csv, .xlsx or .txt) "
        "from https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
    ),
}


def not_loaded_message(kind: str, detail: str = "") -> str:
    """What to download and the command that loads it.

    >>> not_loaded_message("mue").endswith("casepilot ingest --source mue PATH")
    True
    >>> not_loaded_message("mue").startswith("The MUE table is not loaded"), not_loaded_message("ncci-ptp")[:30]
    (True, 'The NCCI PTP edits are not loa')
    """
    what = TABLE_LABELS[kind] + (f" ({detail})" if detail else "")
    verb = "are" if TABLE_LABELS[kind].endswith("s") else "is"  # "the MUE table is", "the NCCI PTP edits are"
    return (f"The {what} {verb} not loaded. Download {DOWNLOADS[kind]} and run: "
            f"casepilot ingest --source {kind} PATH")
