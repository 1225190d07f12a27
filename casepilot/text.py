"""Text normalisation for retrieval: tokens, clinical abbreviations and code-set vocabulary.

Coders write "T2DM with CKD 3", the tabular says "Type 2 diabetes mellitus with diabetic chronic
kidney disease"; PCS says "percutaneous endoscopic" where surgeons say "laparoscopic". Expanding
queries with this vocabulary is what lets BM25 and the dense model meet the official wording.

>>> expand_query("T2DM with CKD")
'type 2 diabetes mellitus with chronic kidney disease renal'
"""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    "a an the of and or to in on at for by is are be as it its this that what which code codes icd icd-10 "
    "icd10 cm pcs cpt hcpcs do i you how can should when where who me my please tell find give "
    "patient pt dx diagnosis".split()
)

# Abbreviation -> expansion (whole-token, case-insensitive). Only unambiguous clinical shorthand.
ABBREVIATIONS: dict[str, str] = {
    "t2dm": "type 2 diabetes mellitus",
    "t1dm": "type 1 diabetes mellitus",
    "dm2": "type 2 diabetes mellitus",
    "dm1": "type 1 diabetes mellitus",
    "dm": "diabetes mellitus",
    "iddm": "type 1 diabetes mellitus",
    "niddm": "type 2 diabetes mellitus",
    "ckd": "chronic kidney disease",
    "esrd": "end stage renal disease",
    "aki": "acute kidney failure",
    "copd": "chronic obstructive pulmonary disease",
    "gerd": "gastro-esophageal reflux disease",
    "gord": "gastro-esophageal reflux disease",
    "nstemi": "non-ST elevation myocardial infarction",
    "stemi": "ST elevation myocardial infarction",
    "mi": "myocardial infarction",
    "ami": "acute myocardial infarction",
    "chf": "congestive heart failure",
    "hf": "heart failure",
    "hfref": "heart failure with reduced ejection fraction systolic",
    "hfpef": "heart failure with preserved ejection fraction diastolic",
    "htn": "hypertension",
    "hld": "hyperlipidemia",
    "cad": "coronary artery disease atherosclerotic heart disease",
    "ashd": "atherosclerotic heart disease",
    "afib": "atrial fibrillation",
    "a-fib": "atrial fibrillation",
    "af": "atrial fibrillation",
    "dvt": "deep vein thrombosis",
    "pe": "pulmonary embolism",
    "uti": "urinary tract infection",
    "uri": "upper respiratory infection",
    "osa": "obstructive sleep apnea",
    "bph": "benign prostatic hyperplasia",
    "ra": "rheumatoid arthritis",
    "oa": "osteoarthritis",
    "tia": "transient ischemic attack",
    "cva": "cerebral infarction stroke",
    "ards": "acute respiratory distress syndrome",
    "pna": "pneumonia",
    "cap": "community acquired pneumonia",
    "sob": "shortness of breath",
    "ibs": "irritable bowel syndrome",
    "ibd": "inflammatory bowel disease",
    "uc": "ulcerative colitis",
    "adhd": "attention-deficit hyperactivity disorder",
    "ptsd": "post-traumatic stress disorder",
    "ocd": "obsessive-compulsive disorder",
    "mdd": "major depressive disorder",
    "gad": "generalized anxiety disorder",
    "hiv": "human immunodeficiency virus HIV",
    "hbp": "hypertension",
    "lbp": "low back pain",
    "ms": "multiple sclerosis",
    "als": "amyotrophic lateral sclerosis",
    "pvd": "peripheral vascular disease",
    "pad": "peripheral arterial disease",
    "cabg": "coronary artery bypass",
    "tka": "total knee replacement",
    "tha": "total hip replacement",
    "orif": "open reduction internal fixation",
    "lap": "laparoscopic",
    "appy": "appendectomy",
    "chole": "cholecystectomy",
    "egd": "esophagogastroduodenoscopy",
    "bmi": "body mass index",
    "nos": "unspecified",
    "w/": "with",
    "w/o": "without",
    "wo": "without",
    "fx": "fracture",
    "hx": "history",
    "sx": "symptoms",
    "rt": "right",
    "lt": "left",
    "bilat": "bilateral",
    "yo": "year old",
    "ca": "malignant neoplasm cancer",
}

AMBIGUOUS = frozenset("ms pe ra oa uc ca cap pad af hf dm ami mi lap sob gad als nos wo hbp lbp".split())

# Plain-language or procedural words -> the code sets' own vocabulary (appended, not replaced).
SYNONYMS: dict[str, str] = {
    "laparoscopic": "percutaneous endoscopic",
    "laparoscopically": "percutaneous endoscopic",
    "arthroscopic": "percutaneous endoscopic",
    "thoracoscopic": "percutaneous endoscopic",
    "endoscopic": "via natural or artificial opening endoscopic",
    "removal": "excision resection",
    "cancer": "malignant neoplasm",
    "tumor": "neoplasm",
    "tumour": "neoplasm",
    "kidney": "renal",
    "renal": "kidney",
    "heart attack": "myocardial infarction",
    "stroke": "cerebral infarction",
    "high blood pressure": "hypertension",
    "sugar": "diabetes",
    "broken": "fracture",
    "flu": "influenza",
    "belly": "abdominal",
    "stomach": "gastric",
    "throat": "pharyngitis",
    "pink eye": "conjunctivitis",
    "reflux": "gastro-esophageal reflux",
    "gallbladder": "gallbladder cholecystectomy",
    "appendix": "appendix appendectomy",
    "knee replacement": "replacement knee joint",
    "hip replacement": "replacement hip joint",
    "no complications": "without complications",
    "uncomplicated": "without complications",
    "no abnormal findings": "without abnormal findings",
    "normal findings": "without abnormal findings",
    "routine": "general",
    "checkup": "general examination",
    "check-up": "general examination",
    "physical": "general examination",
    "shot": "vaccination",
    "vaccine": "vaccination immunization",
    "obese": "obesity",
    "overweight": "overweight",
    "depression": "depressive",
    "depressed": "depressive",
    "anxious": "anxiety",
    "diabetic": "diabetes",
    "hypertension": "hypertensive",
}

_TOKEN = re.compile(r"w/o|w/|e/m|[a-z0-9]+(?:-[a-z0-9]+)*")


def tokens(text: str, stop: bool = True) -> list[str]:
    """Lower-case word tokens; hyphenated words also yield their parts (gastro-esophageal -> gastro, esophageal)."""
    out: list[str] = []
    for t in _TOKEN.findall(text.lower()):
        if "-" in t:
            out.extend(p for p in t.split("-") if p)
        elif t == "e/m":
            out.append("em")
        elif t not in ("w/", "w/o"):
            out.append(t)
        else:
            out.append("with" if t == "w/" else "without")
    return [t for t in out if not (stop and t in STOPWORDS)]


def expand_query(text: str) -> str:
    """Spell out abbreviations and append code-set vocabulary for plain words (pure, idempotent enough)."""
    text = re.sub(r"\bE/M\b", "E/M evaluation and management", text, flags=re.I)
    words = re.findall(r"w/o|w/|[Ee]/[Mm]|[A-Za-z0-9][A-Za-z0-9\-]*|[^\sA-Za-z0-9]+", text)
    out = []
    for w in words:
        exp = ABBREVIATIONS.get(w.lower())
        # Lower-case "ms", "pe", "ra", "cap" are too often ordinary words: expand those only in capitals.
        if exp and (w.isupper() or w.lower() not in AMBIGUOUS):
            out.append(exp)
        else:
            out.append(w)
    expanded = " ".join(out)
    low = expanded.lower()
    extra = [v for k, v in SYNONYMS.items() if re.search(rf"\b{re.escape(k)}\b", low) and v not in low]
    return " ".join([expanded, *extra]).strip()


def negated_terms(text: str) -> set[str]:
    """Words the question says are absent: "without complication", "no fever" -> {"complication", "fever"}."""
    out: set[str] = set()
    for m in re.finditer(r"\b(?:without|w/o|no|not|denies)\s+([a-z]+)", text.lower()):
        out.add(m.group(1))
    return out


_RANGE = re.compile(r"\b(\d{1,2})\s*(?:through|thru|to|-)\s*(?:stage\s+|grade\s+|type\s+)?(\d{1,2})\b", re.I)


def small_numbers(text: str) -> set[int]:
    """Stage, grade and type numbers a text names, ranges spelled out: "stage 1 through stage 4" -> {1, 2, 3, 4}.

    >>> sorted(small_numbers("with stage 1 through stage 4 chronic kidney disease"))
    [1, 2, 3, 4]
    """
    out: set[int] = set()
    for m in _RANGE.finditer(text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo < hi <= lo + 10:
            out.update(range(lo, hi + 1))
    out.update(int(n) for n in re.findall(r"\b(\d{1,2})\b", text))
    return out
