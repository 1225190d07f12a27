"""Hybrid retrieval: BM25 and dense (Chroma) per collection, fused on normalised scores.

Measured on ICD-10-CM (benchmarks/bench_foundation.py): BM25 wins on official wording, the dense
model on reworded questions, and plain rank fusion lands between them. So the fusion keeps each
list's *scores* (max-normalised, which preserves how far behind the leader a hit is), adds an
exact-title signal, prefers billable codes slightly and penalises codes whose title contains a
word the question negates.

Over 300 lines on purpose: one concept, ranking passages for a question. The ``Retriever`` (BM25, Chroma, the
speller), the code features the ranker reads (``query_facts``, ``code_features``) and the final code order
(``_order_codes_by_ranker`` and the clashes it honours) are one ranking: a feature added in one place is read in
the others, and the ranker's trainer (evals/train_ranker.py) imports them together.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
import tomllib
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Iterable
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from casepilot.abbreviations import learned
from casepilot.breaker import CLOSED, CircuitBreaker
from casepilot.embeddings import MiniLMEmbeddings, QueryVectors, default_export_dir
from casepilot.contrasts import contradicts, leaves_open
from casepilot.fusion import max_normalized, weighted_fusion
from casepilot.lexical import LexicalIndex
from casepilot.passages import PassageStore
from casepilot.ranker import Ranker, default_ranker
from casepilot.settings import Settings
from casepilot.spelling import Speller, english_words, official_vocabulary
from casepilot.dominance import dominance_of, title_dominance, without_handedness
from casepilot.measures import age_group, measure_mismatch, question_measures, title_ranges
from casepilot.text import (ABBREVIATIONS, NARRATION, POLARITY, RULE_OUT_WORDS, STOPWORDS, SYNONYMS, asserted_and_denied, expand_query, measured_values, negated_terms,
                             own_word_forms, question_negations, rules_out, small_numbers, spell_out, stated_numbers, stem, tokens, value_ranges,
                             with_stems)
from casepilot.vectorstore import VectorStoreUnavailable, get_collection, make_client, stored_embedding
from casepilot.vectorstore import query as dense_query
from casepilot.vectorstore import similarities as dense_similarities
from casepilot.vectorstore import exact_nearest, unit_vectors

log = logging.getLogger(__name__)

# Collections up to this size are searched exactly, from their vectors held in memory (``_nearest``).
EXACT_SEARCH_MAX = 20_000
CODE_COLLECTIONS = ("icd10cm", "icd10pcs", "hcpcs", "cpt_licensed")
KNOWLEDGE_COLLECTIONS = (
    "corpus_document", "corpus_question", "corpus_code_summary", "corpus_modifier", "corpus_guideline", "corpus_policy", "corpus_coverage",
    "icd10pcs_reference", "docs",
)
DENSE_DOWN_NOTICE = ("Semantic search is unavailable right now (the vector store does not answer): this answer "
                     "comes from exact lookups and keyword (BM25) search only.")
_MISSING = object()

SYSTEM_COLLECTIONS = {
    "icd10cm": ("icd10cm",),
    "icd10pcs": ("icd10pcs",),
    "cpt": ("cpt_licensed", "corpus_code_summary"),
    "hcpcs": ("hcpcs", "corpus_code_summary"),
    "modifier": ("corpus_modifier", "hcpcs"),
    "corpus": KNOWLEDGE_COLLECTIONS,
}


@dataclass
class Hit:
    id: str
    score: float
    doc: Document
    signals: dict[str, float] = field(default_factory=dict)

    @property
    def collection(self) -> str:
        return self.doc.metadata.get("collection", "")

    def to_dict(self, snippet_chars: int = 300) -> dict:
        m = self.doc.metadata
        return {
            "id": self.id, "score": round(self.score, 4), "collection": self.collection,
            "title": m.get("title", ""), "code": m.get("display") or m.get("codes") or None,
            "source": m.get("source", ""), "snippet": self.doc.page_content[:snippet_chars],
            "signals": {k: round(v, 4) for k, v in self.signals.items()},
        }


@dataclass
class Weights:
    """Fusion of guidance passages (code passages are scored by casepilot.ranker)."""

    bm25: float = 0.45
    dense: float = 0.55
    title_named: float = 0.3
    depth: int = 40  # candidates taken from each of BM25 and dense


_SIDES = {"right", "left", "bilateral"}
# Heading words that name no topic on their own ("ICD-10-PCS", "versus"): left out of the title-named signal.
_GENERIC = {"10", "versus", "vs", "and", "the", "overview", "guidelines", "guideline", "official", "rules", "rule"}
_UNSTATED_DETAIL = _SIDES | {"other"}
# ICD-10-CM I.C.19.c.1: a fracture not stated as open or closed is coded as closed, one not stated as displaced
# or nondisplaced as displaced. So a fracture title that says "open" or "nondisplaced" asserts detail the
# question did not give, as a side does. (Only fracture titles: "open bite" and "open wound" are injuries.)
# ("Open reduction", ORIF spelled out, says how the fracture was reduced, not that it was open.)
# States a title may assert that the question must say, with the words that say them (the tabular's inclusion
# terms for G40.-1 "intractable": pharmacoresistant, treatment resistant, refractory, poorly controlled)
_STATED_STATES = {
    "intractable": re.compile(r"\b(intractable|pharmaco-?resistant|(treatment|drug|medically)[- ]resistant|refractory|"
                              r"poorly controlled|uncontrolled|not controlled)\b", re.I),
    "recurrent": re.compile(r"\b(recurren\w*|recurring|recurs?|relaps\w*|repeat(ed)?|again|another episode|"
                            r"(2nd|3rd|[4-9]th|second|third) (episode|time|occurrence))\b", re.I),
}
_FRACTURE_DETAIL = {"open": re.compile(r"\bopen\b(?!\s+reduction)|\bcompound\b", re.I),
                    "nondisplaced": re.compile(r"\bnon[- ]?displaced\b|\bundisplaced\b|\bhairline\b", re.I),
                    # (the index's default fracture is traumatic: "pathological" and "stress" are details to state,
                    # by name or by their cause: "lt dist rad fx init" is no M84.434A "Pathological fracture, left radius")
                    "pathological": re.compile(r"\bpatholog\w*|\bosteoporo\w*|\bosteopeni\w*|\bfragility\b|"
                                               r"\binsufficiency\b|\bneoplas\w*|\bmetasta\w*|\bmets?\b|\btumou?r|"
                                               r"\bcancer|\bmalignan\w*|\bdisease\b|\bcyst\b|\bminimal trauma\b", re.I),
                    "stress": re.compile(r"\bstress\b|\bfatigue\b|\bmarch\b|\boveruse\b|\brepetitive\b", re.I)}


# A routine, preventive or administrative examination ("adult wellness exam", "well child 9yo", "routine gyn exam",
# "pre-employment physical"): its Z00-Z02 code is first-listed and what it finds is coded after it (Official Guidelines I.C.21.c.13).
_ROUTINE_EXAM = re.compile(r"\b(?:wellness|annual|routine|preventive|yearly|pre-?employment|sports?|school)\s+(?:\w+\s+)?"
                           r"(?:exam|examination|check-?up|physical)s?\b|\bwcc\b|\bwell[- ]?(?:child|baby|woman)\b", re.I)
_EXAM_TITLE = re.compile(r"^encounter for .*\bexamination\b", re.I)
# Words that name a malignancy (the spelled-out question: "CA" and "mets" are expanded, "SCC" is a carcinoma).
_MALIGNANCY = re.compile(r"\b(?:cancers?|ca|carcinom\w*|\w*carcinoma|malignan\w*|neoplasm\w*|tumou?rs?|mets|metasta\w*|"
                         r"leuk[ae]?mi\w*|lymphom\w*|myelom\w*|sarcom\w*|melanom\w*|\w+blastoma|\w+omas?|"
                         r"oncolog\w*|chemo\w*|radiation|malig|mass(?:es)?|lesions?|in situ)\b", re.I)
# Where a cancer has spread, as coders write it: "mets to the liver", "metastatic disease to bone", "brain mets".
# A secondary neoplasm code (C77-C79) names that site, whatever primary site the question also names.
_METS = r"(?:mets?|metastas[ie]s|metastatic(?: disease| cancer| carcinoma| lesions?| tumou?rs?)?|spread|secondar(?:y|ies))"
_METS_TO = re.compile(rf"\b{_METS}\b[^.;,?!]{{0,30}}?\b(?:to|in|into|involving)\s+(?:the\s+|both\s+|her\s+|his\s+|their\s+)?"
                      r"([a-z]+(?:\s*(?:\s|and|&)\s*[a-z]+){0,2})|"
                      r"\b([a-z]+)\s+(?:mets?|metastas[ie]s|secondaries)\b|"
                      # "biopsy of the liver lesions shows metastatic adenocarcinoma", "bone lesions, metastatic prostate ca"
                      r"\b([a-z]+)\s+(?:lesions?|nodules?|mass(?:es)?|tumou?rs?|foci|deposits?)\b"
                      r"(?:(?!\b(?:no|not|without|negative|neg|r/o|rule out|ruled out)\b)[^.;?!]){0,40}?\bmetasta\w*", re.I)
_NOT_A_SITE = frozenset({"multiple", "widespread", "diffuse", "new", "known", "extensive", "with", "and", "of", "w",
                         "distant", "has", "had", "for", "from", "pt", "patient", "now", "the", "no", "being", "seen",
                         "is", "was", "here", "today", "visit", "treatment", "tx"})
_SECONDARY_NEOPLASM = re.compile(r"C7[7-9]")
_SPINAL_LEVEL = re.compile(r"\b[CTL](?:[1-9]|1[0-2])\b")
_NAMES_MALIGNANCY = re.compile(r"(?<!other than )\bmalignan", re.I)
_PRIMARY_NEOPLASM = re.compile(r"C[0-6]|C7[0-6]")
# "being seen for the liver mets", "what code for the secondary": the visit is for the spread, coded first (I.C.2.b)
_ASKS_SECONDARY = re.compile(r"\b(?:for|of|treat\w*|managing|management of)\s+(?:the\s+|her\s+|his\s+)?(?:\w+\s+)?"
                             r"(?:mets|metastas[ie]s|secondar(?:y|ies))\b|\bsecondary (?:code|site|dx|cancer)\b", re.I)


# "which code for the liver lesion?" when the liver is where the cancer spread: the question asks for the secondary
_ASKS_SITE = re.compile(r"\b(?:for|of)\s+(?:the\s+|her\s+|his\s+)?(\w+)\s+(?:lesions?|disease|mass(?:es)?|tumou?rs?|"
                        r"nodules?|involvement|spread)\b", re.I)


_EITHER_WORD = re.compile(r"([a-z]+) and ([a-z]+)", re.I)


def asks_secondary(text: str) -> bool:
    """The question asks for the code of the spread (I.C.2.b): "being seen for the liver mets", "what code for the
    secondary", or "for the liver lesion" where the liver is a metastatic site it names.

    >>> asks_secondary("colon ca, visit is for the liver mets"), asks_secondary("liver mets from colon ca")
    (True, False)
    >>> asks_secondary("metastatic adenocarcinoma to the liver from the colon. Which code for the liver lesion?")
    True
    """
    if _ASKS_SECONDARY.search(text):
        return True
    sites = metastasis_sites(text)
    return bool(sites) and any(with_stems({m.group(1).lower()}) & sites for m in _ASKS_SITE.finditer(text))


def metastasis_sites(text: str) -> set[str]:
    """The words naming where a cancer has spread, with their stems (pure).

    >>> sorted(metastasis_sites("colon cancer with metastatic disease to the liver"))
    ['liver']
    >>> sorted(metastasis_sites("lung ca w brain mets")), metastasis_sites("colon cancer, no mets")
    (['brain'], set())
    >>> sorted(metastasis_sites("metastatic breast ca to bone and liver"))
    ['bone', 'liver']
    >>> metastasis_sites("biopsy of liver lesions shows metastatic adenocarcinoma"), metastasis_sites("breast mass, no metastatic disease")
    ({'liver'}, set())
    """
    words = {w.lower() for m in _METS_TO.finditer(text) for g in m.groups() if g for w in g.split()}
    return with_stems(words - _NOT_A_SITE - STOPWORDS)


# What the examination found: an abnormal finding ("BP elevated today", "failed vision screen") or nothing
# ("normal", "WNL"); the titles split "with abnormal findings" from "without abnormal findings".
_FOUND_ABNORMAL = re.compile(r"\b(?:abnormal|abn|elevated|high|low|failed|positive|found|incidental|newly)\b", re.I)
_FOUND_NORMAL = re.compile(r"\b(?:normal|nl|wnl|unremarkable|negative)\b|\bno (?:abnormal )?findings?\b", re.I)


# The question gives the reason for a visit ("came in for a flu shot", "here to start the pill"), and a title
# names an encounter for a reason (Z23 "Encounter for immunization", "Aftercare following ...",
# "Supervision of ..." in pregnancy): the reason for the visit is what is coded, not the condition named.
_VISIT = re.compile(r"\b(came|comes|coming) in\b|\bhere (?:only |just |solely |today )?(for|to)\b|\bin (?:only |just )?for\b|\bvisits?\b|\bencounter (for|to)\b|"
                    r"\bafter-?care\b|\b(suture|staple)s? removal\b|\bdressing change\b|"
                    r"\bpresents? (for|to)\b|\bseen (for|to)\b|\bappo?i?n?t(ment)?s? (for|to)\b|\bappt\b", re.I)
# How deep the BM25 list is read for "Encounter for / Aftercare / Supervision of" titles when a question gives a
# visit's reason, and how many of them join the candidates.
_VISIT_POOL, _VISIT_EXTRA = 5000, 8
_VISIT_TITLE = re.compile(r"^(encounter for|aftercare|supervision of)\b", re.I)
# "first visit for the injury", "follow-up visit": the 7th-character encounter of an injury, not a reason
_INJURY_VISIT = re.compile(r"\b(first|initial|follow[- ]?up|f/u|subsequent|return|later)\s+(visit|encounter)s?\b", re.I)


# One category can fill the BM25 depth on its own (M80 "osteoporosis with current pathological fracture" has
# 200 codes, all naming the fracture that "no current fracture" denies): the best hit of each other category
# in a list _FAMILY_POOL times deeper joins the candidates, so the ranker sees M81.0 too.
_FAMILY_POOL = 10


def diversified(ranked: list[tuple[str, float]], depth: int, extra: int) -> list[tuple[str, float]]:
    """The first ``depth`` of a ranked code list, then the best hit of up to ``extra`` categories (first three
    characters of the code) not among them (pure).

    >>> diversified([("icd10cm:M80001A", 9), ("icd10cm:M80002A", 8), ("icd10cm:M810", 5), ("icd10cm:M8100", 4)], 2, 5)
    [('icd10cm:M80001A', 9), ('icd10cm:M80002A', 8), ('icd10cm:M810', 5)]
    """
    def family(pid: str) -> str:
        return pid.partition(":")[2][:3]

    head = ranked[:depth]
    seen = {family(i) for i, _ in head}
    out = list(head)
    for i, sc in ranked[depth:]:
        if len(out) - len(head) >= extra:
            break
        if family(i) not in seen:
            seen.add(family(i))
            out.append((i, sc))
    return out


# I.C.20: external cause codes (chapter 20, V00-Y99) are never the first-listed diagnosis. A question that names
# an injury and does not ask for the external cause wants the injury code first.
_DRUG_EFFECT = re.compile(r"^T(3[6-9]|[45][0-9]|6[0-5])")
_EXTERNAL_CAUSE = re.compile(r"^[VWXY][0-9]")
_SUPPLEMENTARY_CAUSE = re.compile(r"^Y9[239]")
_ASKS_SUPPLEMENTARY = re.compile(r"\bplace of occurrence|\bwhere (it|the injury) happened|\bactivit(y|ies)\b|\bstatus\b|"
                                 r"\bY9[239]", re.I)
_INJURY_WORDS = re.compile(r"\b(fracture\w*|fx|bite|bitten|laceration|lac|wound|burn\w*|sprain\w*|strain|contusion|"
                           r"bruise\w*|dislocation|abrasion|puncture|concussion|injur\w*|amputation|crush\w*)\b", re.I)
_ASKS_EXTERNAL = re.compile(r"(?<!\bnot )(?<!\bnot the )(?<!\bno )\bexternal cause|\bplace of occurrence|\bactivity code|\bhow (it|the injury|they) "
                            r"happened|\b[vwxy]-?codes?\b|\be-?codes?\b", re.I)


# B95-B97 name the infectious agent "as the cause of diseases classified elsewhere": the block's note makes them
# supplementary codes, after the disease ("UTI, urine culture E. coli": N39.0, then B96.20), unless the question
# asks for the organism's code.
_AGENT_CAUSE = re.compile(r"^B9[5-7]")
_ASKS_AGENT = re.compile(r"\b(organism|bacteri\w*|agent|bug|pathogen)'?s? codes?\b|\bcodes? (for|of) the (organism|"
                         r"bacteri\w*|agent|bug|pathogen)\b|\bas the cause\b|\bB9[5-7]", re.I)


# Chapter 15 codes (O00-O9A) are for the mother's record of a pregnancy, chapter 16 (P00-P96) for the newborn's
# (I.C.15.a, I.C.16.a): a question that says nothing of either wants neither ("UTI, E. coli": not O86.20 "following
# delivery", not P39.3 "neonatal").
_MATERNAL = re.compile(r"\b(pregnan\w*|prenatal|antenatal|gestation\w*|obstetric\w*|hyperemesis|pre-?eclampsia|pre-?e|"
                       r"eclampsia|gravid\w*|primigravida|multigravida|g\d\s*p\d|deliver\w*|post-?partum|puerper\w*|labou?r|"
                       r"trimester|tri|ectopic|miscarriage|abortion|ab|placenta\w*|c-section|cesarean|lactat\w*|"
                       r"breast-?feeding|wks|weeks|ob|svd|vbac|pph|gdm|prom|pprom|iugr|fetal|fetus|molar|amniotic|"
                       r"chorio\w*|cerclage|antepartum|intrapartum|peripartum|episiotomy|twins?|triplets?|mother|maternal)\b", re.I)
# a Z code about a pregnancy or its outcome (Z32-Z39, Z03.7-) is the mother's record too
_MATERNAL_TITLE = re.compile(r"\b(pregnan\w*|post-?partum|puerper\w*|antenatal|prenatal|fetal|fetus|amniotic|placenta\w*|"
                             r"deliver\w*|lactat\w*|gestation\w*|obstetric\w*)", re.I)
_NEWBORN = re.compile(r"\b(newborns?|neonat\w*|infants?|bab(y|ies)|perinatal|preterm|premature|prematurity|nicu|nb|"
                      r"(day|days|week|weeks)[- ]old|birth\w*|born|gestational age|meconium|lga|sga|apgar)\b", re.I)


# "Z code for the underdosing", "which R code": the question names the chapter's letter. Not "a code", "I code",
# "E code" (the ICD-9 external causes), "V code" (ICD-9's supplementary codes, today's Z) or "L code" (HCPCS).
_NAMED_LETTER = re.compile(r"(?<![\w'’])([bcdfghjkmnopqrstwxyz])[- ]?codes?\b", re.I)


# "the dialysis status code", "history code", "screening code": kinds of code only chapter 21 (Z00-Z99) has
_Z_KIND = re.compile(r"\b(status|history|hx|screening|aftercare|follow[- ]?up|encounter|counseling)\s+(dx\s+)?codes?\b|"
                     # "... - whats the dialysis status (code)", "s/p R TKA (status)": the question's "code" is stripped
                     # (Y99 is the external cause status; "migraine ..., w/o status" denies a status migrainosus;
                     # "altered mental status" is a symptom, R41.82)
                     r"(?<!cause )(?<!\bno )(?<!w/o )(?<!\bwo )(?<!without )(?<!mental )\bstatus\W*$", re.I)


# A screening as the visit's purpose is a chapter 21 encounter code, first-listed even when the screening finds
# something (I.C.21.c.5); a screening's abnormal result is not ("positive PSA screen", "abnormal screening").
_SCREENING_VISIT = re.compile(r"(?<!positive )(?<!abnormal )(?<!failed )(?<!abn )\bscreening\b(?!\s+(?:test\s+)?(?:was\s+)?"
                              r"(?:positive|abnormal|showed|revealed))", re.I)


# Any word for a screening: what an "Encounter for screening ..." title (Z11-Z13) needs ("encounter for prostate
# adenocarcinoma" is a visit for the cancer, C61, not Z12.5 "Encounter for screening for malignant neoplasm of prostate")
_SCREEN_WORD = re.compile(r"\b(?:screen\w*|scrn\w*|scre+ning|scrr+e+n\w*|routine|annual|yearly|preventive)\b", re.I)


_CAREGIVER = re.compile(r"\b(?:care\s*givers?|care\s*takers?|parents?|mother|mom|father|dad|guardians?|family|wife|husband|"
                        r"spouse|daughter|son|aides?|nurses?|staff|facility|nursing home|home health)\b", re.I)


# A complication of care ("Postprocedural partial intestinal obstruction", "Intraoperative hemorrhage ...") needs a
# procedure spoken of: "partial SBO, cause not stated" is K56.600
_POSTPROCEDURAL_TITLE = re.compile(r"^(?:post-?procedural|post-?operative|intra-?operative)\b|\b(?:following|complicating|"
                                   r"during) (?:an? )?(?:procedure|surgery|operation)\b", re.I)
_PROCEDURAL = re.compile(r"\b(?:post-?op\w*|post-?procedur\w*|intra-?op\w*|peri-?op\w*|s/p|status post|surg\w*|"
                         r"procedures?|operations?|operative|op|\w+(?:ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy)|"
                         r"incisions?|complicat\w*|iatrogenic|ablat\w*|post-?irradiation|irradiat\w*|radioactive iodine|"
                         r"radiation (?:therapy|tx|treatment)|after (?:the |his |her |a |an )?(?:repair|resection|removal|"
                         r"placement|insertion|transplant\w*|implant\w*|fixation|fusion|bypass|graft\w*|stent\w*|"
                         r"cath\w*|biops\w*|delivery|c-section))\b", re.I)


# Words that put a condition in the past: what a "Personal history of" title (Z85-Z87, Z91.4-) needs.
_PAST = re.compile(r"\b(?:hx|history|h/o|s/p|status post|post|previous(?:ly)?|prior|past|former(?:ly)?|old|remote|"
                   r"resolved|remission|healed|completed|finished|treated|ago|no longer|no (?:current|active|evidence|"
                   r"recurrence|sign)|survivor|personal)\b", re.I)
# A malignancy excised or eradicated, with no treatment directed to it now and no evidence of it: its history (Z85),
# not the cancer (I.C.2.d) -- unless a treatment is said to go on ("s/p mastectomy, now on tamoxifen")
_ERADICATED = re.compile(r"\b(?:no (?:evidence|signs?) of (?:dz|disease|recurrence|malignancy|cancer|residual|active)|ned|"
                         r"no (?:current|active|further|ongoing) (?:tx|treatment|therapy|chemo\w*|radiation|dz|disease))\b", re.I)
_COMPLETED_TREATMENT = re.compile(r"\b(?:completed?|completion|finished|done with|s/p|status post|post-?op\w*|"
                                  r"after (?:\w+ ){0,2}(?:treatment|tx|surgery|resection|excision|chemo\w*|radiation|"
                                  r"therapy|removal)|treated|resolved|healed|remission|\w+ectomy|ago)\b", re.I)
# what a follow-up or finding after a treatment says (Z08, Z09, R97.21): the treatment must be over
_AFTER_TREATMENT_TITLE = re.compile(r"\b(?:after completed|following) treatment\b", re.I)
_TREATED_NOW = re.compile(r"\b(?:now on|currently on|still on|on (?:tamoxifen|anastrozole|letrozole|exemestane|lupron|"
                          r"leuprolide|chemo\w*|hormone therapy|adjuvant|immunotherapy)|receiving|undergoing)\b", re.I)
# What went wrong with care or a device: a complication code (T80-T88) needs one said. "hx CABG x3, stable" is the
# graft's presence (Z95.1), not its displacement (T82.212A)
_COMPLICATION = re.compile(
    r"\b(?:complicat\w*|malfunction\w*|displac\w*|dislodg\w*|break\w*|broke|broken|leak\w*|infect\w*|fail\w*|reject\w*|"
    r"erosion|eroded|obstruct\w*|occlu\w*|clot\w*|thromb\w*|stenosis|loose|loosen\w*|mechanical|perforat\w*|migrat\w*|"
    r"fractur\w*|fx|hemorrhag\w*|bleed\w*|pain\w*|fibrosis|embol\w*|expos\w*|protru\w*|dehisc\w*|adverse|reaction|wrong|"
    r"contracture|instability|dislocat\w*|hematoma|seroma|stricture|kink\w*|blocked|clogged|nonfunction\w*|not working|"
    r"stopped working|misplac\w*|malposition\w*|overdose|toxic\w*|fever|sepsis|septic|cellulitis|abscess|irritat\w*|"
    r"inflam\w*|shock|transfusion|incompatib\w*|retained|foreign body|air|hypotension|edema|swelling|burn\w*|gvhd|"
    r"graft.versus)", re.I)
_COMPLICATION_CODE = re.compile(r"^T8[0-8]")
# Known osteoporosis and a fracture, even after a minor fall: M80, not a traumatic fracture code (I.C.13.c)
_OSTEOPOROSIS = re.compile(r"\bosteopor\w*", re.I)
_FRACTURE_SAID = re.compile(r"\b(?:fx|fractur\w*)\b", re.I)
# Aftercare Z codes are not used for injuries: the injury's code with 7th character D is (I.C.21.c.7). Other orthopedic
# and surgical aftercare (Z47.8-, Z48.8-, and their headings) clash with a question that names an injury; removing a
# fixation device (Z47.2) or sutures (Z48.0-) and joint replacement aftercare do not.
_INJURY_NAMED = re.compile(r"\b(?:fx|fractur\w*|sprain\w*|dislocat\w*|lacerat\w*|lac)\b", re.I)
_INJURY_AFTERCARE = re.compile(r"^Z4[78](?:$|8)")
# An "Acquired absence of ..." title needs a part said to be gone: "cellulitis of the left leg below the knee" is no
# below-knee amputation (Z89.512)
_ABSENCE = re.compile(r"\b(?:amput\w*|absen\w*|missing|bkas?|akas?|loss of|lost|\w+ectomy|resect\w*|removed|removal|s/p|"
                      r"status post|post|hx|history|h/o)\b", re.I)
_PRIMARY_MALIGNANCY = re.compile(r"^C(?:[0-6]\d|7[0-6]|8\d|9[0-6])")
_EXPOSURE = re.compile(r"\b(?:contacts?|expos\w*|secondhand|second-hand|passive|sick contacts?|around|living with|lives with|"
                       r"works? (?:with|around|in)|occupational|environmental|inhal\w*|radon|asbestos|lead|mold|smoke)\b", re.I)
# An infectious agent the B95-B97 codes name, and the note that asks for one
_ORGANISM = re.compile(r"\b(?:e\.?\s*coli|escherichia coli|staph(?:ylococc(?:us|al))?(?: aureus)?|strep(?:tococc(?:us|al))?"
                       r"(?: group [ab])?|group [ab] strep\w*|pseudomonas(?: aeruginosa)?|klebsiella(?: pneumoniae)?|"
                       r"proteus(?: mirabilis)?|enterococc(?:us|al)(?: faecalis)?|mrsa|mssa|vre|h\.?\s*flu|"
                       r"haemophilus influenzae)\b", re.I)
_GESTATIONAL_DIABETES = re.compile(r"\bgestational diabet\w*|\bgdm(?:\s*a[12])?\b", re.I)
_SEPSIS = re.compile(r"\b(?:sepsis|septic\w*|septicemia|urosepsis|sirs)\b", re.I)
_AGENT_NOTE = re.compile(r"\bB95-B97\b|\bidentify (?:the )?infectious agent", re.I)
# A relative's condition is the patient's family history (Z80-Z84), never the patient's own disease or history;
# a "Family history of ..." title needs the question to speak of a relative.
_FAMILY_HISTORY = re.compile(r"\b(?:family|fam)\s+(?:medical\s+)?(?:history|hx)\b|\bfhx\b", re.I)
_KIN = re.compile(r"\b(?:family|fam|mother|father|mom|dad|sister|brother|sibling|siblings|parents?|grand(?:mother|father|parent)s?|"
                  r"aunt|uncle|cousin|son|daughter|twin)\b", re.I)


def explicit_letters(text: str) -> set[str]:
    """The chapter letters a question names in so many words ("what's the T code"), not a kind of code.

    >>> explicit_letters("what's the T code for the adverse effect"), explicit_letters("cancer + receptor status?")
    ({'T'}, set())
    """
    return {m.group(1).upper() for m in _NAMED_LETTER.finditer(text)}


def named_letters(text: str) -> set[str]:
    """The ICD-10-CM chapter letters a question names ("Z code" -> {"Z"}), or a kind of code only one chapter has.

    >>> named_letters("Z code for the underdosing?"), named_letters("do i code it? it's code E11")
    ({'Z'}, set())
    >>> named_letters("ESRD on HD - whats the dialysis status code"), named_letters("altered mental status")
    ({'Z'}, set())
    """
    z_kind = _Z_KIND.search(text) or _SCREENING_VISIT.search(text)
    return {m.group(1).upper() for m in _NAMED_LETTER.finditer(text)} | ({"Z"} if z_kind else set())


# An external cause (V00-Y99) tells how an injury or a poisoning came about: a question that names no injury and no
# such event ("here for cycle 3 of chemo") wants none ("cycle" is no pedal cycle, V12.3).
_EVENT = re.compile(r"\b(fell|falls?|falling|slipped|tripped|accident\w*|collision|crash\w*|mvc|mva|motor vehicle|assault\w*|"
                    r"struck|hit|bitten|bite|stung|sting|drown\w*|expos\w*|poison\w*|overdose|toxic|external cause|"
                    r"place of occurrence|activity|alcohol level|shot|gunshot|stab\w*|fire|flame|smoke|lightning|"
                    r"pedestrian|passenger|driver|cyclist|rider|ladder|stairs|sports?|playing|misadventure|"
                    r"adverse effect|underdos\w*|self[- ]harm|suicid\w*|homicid\w*|legal intervention|war|terroris\w*|"
                    r"dog|cat|horse|insect|snake|spider|bee|wasp|[vwxy][- ]?codes?|e[- ]?codes?|y9[0-9])\b", re.I)


# A poisoning, adverse effect, underdosing or toxic effect (T36-T65) is something a drug or substance did: a
# question that only names a drug the patient is on ("hypothyroid, on synthroid") wants none of them.
_DRUG_EVENT = re.compile(r"\b(poison\w*|overdos\w*|ods?|toxic\w*|adverse|side effects?|reactions?|allerg\w*|underdos\w*|"
                         r"intoxicat\w*|ingest\w*|swallow\w*|took|taking|double|wrong|skipp\w*|missed|stopped|ran out|"
                         r"noncomplian\w*|induced|from|due|d/t|caused|secondary|after|expos\w*|inhal\w*|bites?|bitten|"
                         r"stings?|stung|envenom\w*|venom\w*|fumes?|gas|carbon monoxide|lead|t[- ]?codes?|got into)\b", re.I)


def injury_first(text: str) -> bool:
    """Whether a question names an injury and does not ask for its external cause.

    >>> injury_first("dog bite to the left hand, initial - injury code"), injury_first("external cause code for a dog bite")
    (True, False)
    """
    return bool(_INJURY_WORDS.search(text)) and not _ASKS_EXTERNAL.search(text)


@lru_cache(maxsize=1)
def _first_listed_rules() -> tuple[tuple[str, re.Pattern], ...]:
    """casepilot/data/sequencing.toml [first_listed]: (title start, what the question must say), read once."""
    data = tomllib.loads((Path(__file__).resolve().parent / "data" / "sequencing.toml").read_text(encoding="utf-8"))
    return tuple((e["title"], re.compile(e["asked"], re.I)) for e in data.get("first_listed", {}).values())


def first_listed_titles(text: str) -> tuple[str, ...]:
    """The title starts of the codes listed first for the visit's reason ``text`` gives (I.C.2.e.2: an encounter
    solely for chemotherapy is Z51.11, the cancer follows). Each rule's pattern reads the treatment as the reason.

    >>> first_listed_titles("pt here for cycle 3 of chemo, breast ca"), first_listed_titles("neutropenia due to chemo")
    (('Encounter for antineoplastic chemotherapy',), ())
    """
    return tuple(title for title, asked in _first_listed_rules() if asked.search(text))


def gives_visit_reason(text: str) -> bool:
    """Whether a question gives the reason for a visit (not an injury's encounter).

    >>> gives_visit_reason("Patient came in just for a flu shot"), gives_visit_reason("fell, first visit for the injury")
    (True, False)
    """
    return bool(_VISIT.search(_INJURY_VISIT.sub(" ", text)))

_ENCOUNTERS = (
    ("sequela", re.compile(r"\b(sequela|late effects?)\b", re.I)),
    ("subsequent", re.compile(r"\bsubsequent encounter|\bsubsequent\b|\bfollow[- ]?up\b|\bf/u\b|\bhealing\b", re.I)),
    ("initial", re.compile(r"\binitial encounter|\binitial\b|\bfirst (visit|encounter)\b", re.I)),
)


def encounter_of(text: str) -> str | None:
    """The 7th-character encounter a text names (initial, subsequent, sequela), if exactly one.

    >>> encounter_of("Fracture of left wrist, subsequent encounter for fracture with routine healing")
    'subsequent'
    """
    found = [name for name, rx in _ENCOUNTERS if rx.search(text)]
    return found[0] if len(found) == 1 else None


@dataclass
class _Query:
    """What one search reads from the question once, for every candidate code passage."""

    words: set[str]  # expanded question words
    ages: set[str]  # "child" or "adult" from a stated age ("5 wk old", "80yo"): a side of the adult-child contrast
    numbers: set[int]
    values: set[float]  # measurements with a decimal point ("BMI 42.3")
    measures: dict[str, set[float]]  # measurements with a unit ("LOC 2 hrs", "25% TBSA"), casepilot/measures.py
    side: set[str]
    side_sites: dict[str, set[str]]  # with two sides stated, the words (stems) each side is said of
    encounter: str | None
    negated: set[str]
    unstated: set[str]
    fracture_unstated: set[str]  # fracture detail the question leaves to the default (closed, displaced)
    states: set[str]  # the _STATED_STATES the question says ("intractable", "recurrent")
    mets_to: set[str]  # where it says a cancer has spread ("liver mets"), with stems
    asks_secondary: bool  # the visit or the code asked for is the spread's ("seen for the liver mets")
    spinal_level: bool  # it names a vertebra's level ("L1", "T12")
    dominance: str | None  # "dominant"/"nondominant" side, by the guideline's handedness rule
    visit: bool  # the question gives the reason for a visit
    injury_first: bool  # it names an injury and does not ask for the external cause
    asks_supplementary: bool  # it asks for the place, activity or status code of an external cause
    asks_agent: bool  # it asks for the infectious agent's code (B95-B97) itself
    maternal: bool  # it speaks of a pregnancy, delivery or the puerperium (chapter 15)
    malignancy: bool  # it names a malignancy in some form (cancer, carcinoma, mets, leukemia, "-oma", ...)
    newborn: bool  # it speaks of a newborn (chapter 16)
    letters: set[str]  # chapter letters it names ("Z code")
    family: bool | None  # True: a family member's history (Z80-Z84); False: no relative is spoken of
    past: bool  # it speaks of a past condition (history, s/p, prior, resolved, in remission)
    eradicated: bool  # a malignancy gone: no evidence of disease and no treatment now (I.C.2.d)
    completed: bool  # it says a treatment is over ("s/p", "finished chemo", "NED"): a "follow-up ... after completed
    # treatment" title (Z08, Z09) needs it
    complication: bool  # it says what went wrong with care or a device (a leak, a displacement, an infection, pain)
    osteoporosis: bool  # it names osteoporosis: a fracture is then the disease's (M80), not an injury's (I.C.13.c)
    injury_named: bool  # it names a fracture, sprain, dislocation or laceration
    fracture_said: bool  # it names a fracture
    absence: bool  # it says a part was removed or lost (amputation, BKA, s/p ...ectomy, missing)
    exposure: bool  # it speaks of a contact or an exposure (Z20, Z77)
    organism: set[str]  # the words naming an infectious agent ("e", "coli"): what a B95-B97 code adds
    sepsis: bool  # it states sepsis (A40-A41)
    gestational_diabetes: bool  # it states gestational diabetes (O24.4-)
    event: bool  # it names an injury or how one came about (what an external cause code tells)
    drug_event: bool  # it says a drug or substance did something (what a T36-T65 code tells)
    screening: bool  # it asks for a screening visit (Z11-Z13)
    screen: bool  # it says "screening" at all (or "scrn"), whatever the screen found
    caregiver: bool  # it speaks of someone who cares for the patient (a "Caregiver's ..." title, Z91.A-)
    procedural: bool  # it speaks of a procedure or an operation (what a "Postprocedural ..." title needs)
    routine_exam: bool  # the visit is a routine, preventive or administrative examination (Z00-Z02)
    first_listed: tuple[str, ...]  # titles listed first for the visit's reason the question gives (sequencing.toml)
    findings: bool | None  # what the examination found: True abnormal, False normal, None not said
    own: dict[str, set[str]]  # the question's own words -> their forms after expansion, and the forms' stems
    stems: set[str]  # the expanded words and their stems


def exam_findings(text: str) -> bool | None:
    """What an examination found, as the text says: True an abnormal finding, False nothing abnormal, None unsaid.

    >>> exam_findings("Adult wellness exam - BP elevated today"), exam_findings("routine gyn exam w/ pap, normal")
    (True, False)
    >>> exam_findings("well child 9yo"), exam_findings("wellness exam, no abnormal findings")
    (None, False)
    """
    normal = bool(_FOUND_NORMAL.search(text))
    abnormal = bool(_FOUND_ABNORMAL.search(_FOUND_NORMAL.sub(" ", text)))
    return None if normal == abnormal else abnormal


_LEFT_NOT_A_SIDE = re.compile(r"\bleft\s+(?:over|behind|alone|untreated|in place|in situ|in|to)\b", re.I)
# "right wrist only, left is normal", "right knee is fine": the side said to be unaffected is not the one coded
_SIDE_UNAFFECTED = re.compile(
    r"\b(?:right|left|rt|lt|r|l)\b(?:\s+(?!is\b|was\b|are\b)[a-z]+){0,2}\s+(?:is|was|are|looks?|side)\s+"
    r"(?:(?:totally|completely|entirely|all)\s+)?(?:normal|fine|ok|okay|unaffected|spared|negative|unremarkable|clear|intact)\b"
    r"|\b(?:right|left|rt|lt)\s+(?:side\s+)?(?:normal|unaffected|negative|spared|wnl)\b"
    # "right eye only, left eye normal", "R knee unremarkable": one word (the part) between the side and the finding;
    # not "normal-tension glaucoma" or "normal pressure hydrocephalus", which are conditions
    r"|\b(?:right|left|rt|lt|r|l)\s+(?!is\b|was\b|are\b|no\b|not\b)[a-z]+\s+(?:normal|unaffected|spared|wnl|unremarkable)\b"
    r"(?![\s-]*(?:tension|pressure)\b)", re.I)


_CLAUSE = re.compile(r"[.,;:\n()]")
# What ends the words a side is said of: a denial, or a word saying the side is unaffected (as _SIDE_UNAFFECTED reads)
_SIDE_DENIALS = POLARITY | frozenset("negative normal unaffected spared intact wnl denies clear".split())


def side_sites(text: str, span: int = 3) -> dict[str, set[str]]:
    """The words (stems) each side is said of: up to ``span`` words after "left" or "right", to the next side
    or the end of the clause.

    >>> sorted(side_sites("acute embolic stroke left middle cerebral artery territory, right hemiparesis")["left"])
    ['arteri', 'cerebr', 'middl']
    """
    out: dict[str, set[str]] = {}
    for clause in _CLAUSE.split(text):  # "right eye only, left eye normal": a side is said within its clause
        toks = tokens(clause)
        for i, t in enumerate(toks):
            if t in ("left", "right"):
                # ("left eye no retinopathy": what follows a denial is what the side lacks, not what it has)
                after = list(itertools.takewhile(lambda w: w not in _SIDES and w not in _SIDE_DENIALS,
                                                 toks[i + 1:i + 1 + span]))
                out.setdefault(t, set()).update(stem(w) for w in after)
    return out


def query_facts(query: str, expanded: str | None = None) -> _Query:
    """What the ranker's code features read from a question, once per search (pure)."""
    expanded = expand_query(query) if expanded is None else expanded
    qwords = set(tokens(expanded))
    # "left hemiparesis, pt is right-handed": the handedness names no affected side (the question is expanded
    # again only when it mentions handedness)
    # ... nor does "left" in "left over from a stroke", "left in place", "left untreated"
    sided = _SIDE_UNAFFECTED.sub(" ", _LEFT_NOT_A_SIDE.sub(" ", query))
    unhanded = without_handedness(sided)
    side = _SIDES & (qwords if unhanded == query else set(tokens(expand_query(unhanded))))
    return _Query(
        # the expansion states numbers the question abbreviates: "DM2" is "type 2 diabetes mellitus"
        words=qwords, ages=age_group(query), numbers=stated_numbers(query) | stated_numbers(expanded), values=measured_values(query), measures=question_measures(query), side=side,
        # (read from the question's own words, spelled out: the vocabulary appended to an expansion says no side)
        side_sites=side_sites(spell_out(unhanded)) if {"left", "right"} <= side else {},
        encounter=encounter_of(expanded),
        negated=question_negations(query),
        # a sequela is a late effect the question must state: a shorter title ("..., sequela") is no better match
        unstated=(_UNSTATED_DETAIL - qwords if not side else {"other"} - qwords)
        # likewise a subsequent encounter: one the question does not state is the initial (active treatment)
        | ({"sequela", "subsequent"} if encounter_of(expanded) is None else set()),
        fracture_unstated={w for w, rx in _FRACTURE_DETAIL.items() if not rx.search(expanded)},
        mets_to=metastasis_sites(query), asks_secondary=asks_secondary(query),
        spinal_level=bool(_SPINAL_LEVEL.search(query)),
        # a state said in words or by its truncation ("MDD rec mod": the search completes "rec" to "recurrent")
        states={w for w, rx in _STATED_STATES.items() if rx.search(query) or rx.search(expanded)
                or any(len(t) >= 3 and w.startswith(t) for t in qwords)},
        dominance=dominance_of(sided), visit=gives_visit_reason(query), injury_first=injury_first(query),
        asks_supplementary=bool(_ASKS_SUPPLEMENTARY.search(query)), asks_agent=bool(_ASKS_AGENT.search(query)),
        maternal=bool(_MATERNAL.search(expanded) or _MATERNAL.search(query)),
        malignancy=bool(_MALIGNANCY.search(expanded) or _MALIGNANCY.search(query)),
        newborn=bool(_NEWBORN.search(expanded) or _NEWBORN.search(query)), letters=named_letters(query),
        family=True if _FAMILY_HISTORY.search(expanded) else (None if _KIN.search(query) else False),
        past=bool(_PAST.search(query) or _PAST.search(expanded)),
        eradicated=bool(_ERADICATED.search(query)) and not _TREATED_NOW.search(query),
        completed=bool(_COMPLETED_TREATMENT.search(query) or _ERADICATED.search(query)),
        complication=bool(_COMPLICATION.search(query) or _COMPLICATION.search(expanded)),
        osteoporosis=bool(_OSTEOPOROSIS.search(query) or _OSTEOPOROSIS.search(expanded)),
        injury_named=bool(_INJURY_NAMED.search(query)),
        fracture_said=bool(_FRACTURE_SAID.search(query)),
        absence=bool(_ABSENCE.search(query) or _ABSENCE.search(expanded)),
        exposure=bool(_EXPOSURE.search(query) or _EXPOSURE.search(expanded)),
        organism={w for m in _ORGANISM.finditer(query) for w in tokens(m.group(0))},
        sepsis=bool(_SEPSIS.search(query) or _SEPSIS.search(expanded)),
        gestational_diabetes=bool(_GESTATIONAL_DIABETES.search(query) or _GESTATIONAL_DIABETES.search(expanded)),
        event=bool(_INJURY_WORDS.search(expanded) or _EVENT.search(expanded)),
        drug_event=bool(_DRUG_EVENT.search(expanded)), screening=bool(_SCREENING_VISIT.search(query)),
        screen=bool(_SCREEN_WORD.search(query)),  # (not the expansion: "mammogram" appends "screening mammogram")
        caregiver=bool(_CAREGIVER.search(query)),
        procedural=bool(_PROCEDURAL.search(query) or _PROCEDURAL.search(expanded)),
        routine_exam=bool(_ROUTINE_EXAM.search(query)), findings=exam_findings(query),
        first_listed=first_listed_titles(query),
        # each word the question itself uses, with the words it expands to ("stg" -> "stage")
        own={w: with_stems(forms) for w, forms in own_word_forms(query).items()
             if w not in NARRATION | POLARITY | (RULE_OUT_WORDS if rules_out(query) else frozenset())},
        stems=with_stems(qwords),
    )


def _q_cover(q: _Query, asserted: set[str], t_negated: set[str], both: frozenset[str] = frozenset()) -> float:
    """Share of the question's own words a title covers, each with its polarity.

    A word the question negates ("no perforation") is covered by a title that says it is absent, and also
    by one that does not mention it: the tabular's default ("Unspecified acute appendicitis") carries no
    complication. Only a title asserting it ("with perforation") leaves it uncovered, also where it denies a
    part of it (``both``: words the title asserts and denies): "no heart failure" is not covered by
    "Hypertensive heart ... without heart failure" (I13.10).
    """
    return sum(
        1 for word, forms in q.own.items()
        if ((not forms & both and (forms & t_negated or not forms & asserted)) if word in q.negated
            else forms & asserted)
    ) / len(q.own)


def _t_cover(title_words: set[str], q_stems: set[str]) -> float:
    """Share of a title's words the question says, as is or by stem."""
    return sum(1 for w in title_words if w in q_stems or stem(w) in q_stems) / len(title_words)


def _note_lines(text: str, label: str) -> list[str]:
    """The texts of a code passage's note lines with one label (ingest/icd10cm.py writes one "Label: text" each)."""
    head = label + ":"
    return [line[len(head):].strip() for line in text.splitlines() if line.startswith(head)]


def includes_terms(text: str) -> list[str]:
    """The terms of a code passage's own "Includes" notes: I10 "Includes: high blood pressure", the code's other
    names as much as its inclusion terms are."""
    return _note_lines(text, "Includes")


def essential_words(text: str) -> set[str]:
    """A title's words outside parentheses: what it says without its nonessential modifiers (pure).

    >>> sorted(essential_words("Hypertension (arterial) (benign) (essential)"))
    ['hypertension']
    """
    return set(tokens(re.sub(r"\([^()]*\)", " ", text)))


_NOS = re.compile(r"\bNOS\s*$")


def _says_no_more(q: _Query, term: str) -> bool:
    """Whether every word of the question's own is one of ``term``'s (by its forms and stems): a NOS inclusion
    term with its code's title says all the question does."""
    words = with_stems(set(tokens(term)))
    return all(forms & words for forms in q.own.values())


def inclusion_terms(text: str) -> list[str]:
    """The inclusion terms a code passage lists (ingest/icd10cm.py writes one "Inclusion terms:" line each)."""
    return _note_lines(text, "Inclusion terms")


_NOTE_CONDITION = re.compile(r"([^()]+?)\s*\(([A-Z][0-9][0-9A-Z]?[^()]*)\)")


def note_conditions(text: str) -> list[str]:
    """The conditions a "Code first" note lists, each the words before its codes (pure).

    >>> note_conditions("the underlying physiological condition, such as: Alzheimer's (G30.-) cerebral lipidosis (E75.4)")
    ["Alzheimer's", 'cerebral lipidosis']
    """
    return [m.group(1).rsplit(":", 1)[-1].strip(" ,;") for m in _NOTE_CONDITION.finditer(text)]


def stated_conditions(notes: Iterable[str], q: _Query) -> set[str]:
    """The words of each condition a "Code first" note lists that the question states in full ("late onset
    alzheimers w mild dementia" states "Alzheimer's" of F02's note)."""
    out: set[str] = set()
    for phrase in (c for text in notes for c in note_conditions(text)):
        words = {w for w in tokens(phrase) if len(w) > 1}
        if words and all(w in q.stems or stem(w) in q.stems for w in words):
            out |= words
    return out


def code_features(title: str, context: str, q: _Query, aliases: Iterable[str] = (),
                  agent_by_note: bool = False, etiology: set[str] = frozenset()) -> dict[str, float]:
    """The ranker's features of one code passage (pure; BM25 and dense come from the search): how much of
    the question its title covers, and where it clashes with what the question states (another stage, side
    or encounter, a negated branch).

    ``aliases``: the code's inclusion terms, the tabular's other names for it ("Plantar fasciitis" under M72.2
    "Plantar fascial fibromatosis"); the question's coverage is the best of the title and each of them.
    ``agent_by_note``: the code's notes ask for an additional code for the infectious agent (B95-B97), so the
    organism the question names ("UTI due to E. coli") is said by that code, not missing from this title.
    ``etiology``: for a manifestation ("... in diseases classified elsewhere"), the words of the underlying
    conditions its "Code first" note lists that the question states: said by the pair of codes, as the organism is.
    """
    sig: dict[str, float] = {}
    own_title = title.split(" ", 2)[-1]  # "ICD-10-CM E11.22 Type 2 ..." -> the title's own words
    if etiology:
        # the underlying condition the question states is what "in other diseases classified elsewhere" stands for
        own_title = _IN_DISEASES_ELSEWHERE.sub(" ", own_title)
    short = short_description(context)
    title_words = set(tokens(own_title))
    # What the title (or its CMS short description) states is absent ("without gangrene") and what it
    # asserts; a question word counts as covered only with the same polarity.
    t_negated = set(title_negations(own_title)) | title_negations(short)
    # ... and what a heading above it denies, which every code under it inherits: I66.02 "Occlusion and stenosis of
    # left middle cerebral artery" sits under I66 "..., not resulting in cerebral infarction" (words its own title
    # states are its own: "not elsewhere classified" above a title naming the site denies no site)
    t_negated |= heading_denials(context) - title_words
    # ``both``: words it asserts and denies ("Hypertensive heart ... without heart failure"): no question word they
    # cover that the question denies ("no heart failure" is no I13.10), and they count as asserted against a denial
    both = asserted_and_denied(own_title) | asserted_and_denied(short)
    asserted = (title_words | set(tokens(short))) - t_negated
    if agent_by_note:
        asserted |= q.organism
    asserted |= etiology
    # An inclusion term that ends "NOS" (not otherwise specified) names the code only for a question that says no
    # more than it does: "metastatic disease to the liver" is no "Metastatic disease NOS" (C79.9), it is C78.7
    alias_numbers = set().union(*(small_numbers(a) for a in aliases)) if q.numbers and aliases else set()
    aliases = [a for a in aliases if not _NOS.search(a) or _says_no_more(q, f"{a} {own_title}")]
    # each alias: its words, what it denies, and its words without the nonessential (parenthesised) ones
    alias_words = [(ws, negated_terms(a), essential_words(a) or ws) for a in aliases if (ws := set(tokens(a)))]
    # Coverage compares words by their stems too: "homeless ... at a shelter" is covered by "Sheltered
    # homelessness". An inclusion term names the same code, so it covers with the title: "pernicious anemia,
    # B12" is D51.0's, whose title says "B12" and whose inclusion term says "pernicious". What the title denies
    # ("without heart failure") no inclusion term asserts back.
    if q.own:
        negated = with_stems(t_negated)
        title_asserted = with_stems(asserted)
        sig["q_cover"] = max([_q_cover(q, title_asserted, negated, both)] +
                             [_q_cover(q, title_asserted | (with_stems(ws - neg) - negated), negated | with_stems(neg), both)
                              for ws, neg, _ in alias_words])
    if title_words:
        # Words in parentheses are nonessential modifiers (ICD-10-CM I.A.7): a question that leaves them out
        # still says the whole title ("hypertension" says I10's "Hypertension (arterial) (benign) (essential)")
        # "And" in a title means "and/or" (I.A.14): "Syncope and collapse" is all said by "syncope", as "Cough
        # syncope" is not (two single words only: in longer titles "and" may join what both sides qualify)
        pair = _EITHER_WORD.fullmatch(own_title.strip())
        either = [{w.lower()} for w in pair.groups()] if pair else []
        sig["t_cover"] = max(_t_cover(ws, q.stems) for ws in
                             [essential_words(own_title) or title_words, *(ess for _, _, ess in alias_words), *either])
    tnums = small_numbers(own_title)
    tside = _SIDES & title_words
    # The tabular's convention: detail the question does not state (a side, "other")
    # points to the unspecified code, so codes that assert it rank a little lower.
    extra = q.unstated & title_words
    # "Sprain of other ligament of ankle" and the question states its inclusion term ("talofibular ligament"):
    # the tabular's own name for the "other" it leaves open, so "other" is no detail the question did not give
    if "other" in extra and any(_t_cover(ws, q.stems) == 1.0 for ws, _, _ in alias_words):
        extra.discard("other")
    if "fracture" in title_words:
        extra |= q.fracture_unstated & title_words
    # "in remission" is a state the record must state (F17.211, F33.4-, C91.11); "not having achieved remission"
    # denies it and is no extra detail
    if "remission" in asserted and "remission" not in q.words:
        extra.add("remission")
    # likewise "intractable" (G40, G43: "not intractable" is the default, I.C.6.d) and "recurrent" (A04.71,
    # F33): a state the record must state, in its own words or the tabular's synonyms for it
    extra |= (asserted & _STATED_STATES.keys()) - q.states
    if extra:
        sig["unstated_detail"] = float(len(extra))
        if extra & {"sequela", "subsequent"}:
            sig["unstated_encounter"] = 1.0
    # "stable angina" and I25.110 "... with unstable angina pectoris": opposite branches (casepilot/contrasts.py);
    # so are a state the question says ("neurologist documents intractable") and a title denying it ("not intractable")
    if contradicts(q.words | q.ages, title_words) or t_negated & (q.states - q.negated):
        sig["contrast"] = 1.0
    ranges = value_ranges(own_title) if q.values else []
    # "LOC approx 2 hrs", "25% TBSA": a title's range of that unit holds the measurement or it is another code
    # (S06.5X3 "of 1 hour to 5 hours 59 minutes", not S06.5X1 "30 minutes or less"); its digits are no stages
    measured = measure_mismatch(q.measures, title_ranges(own_title)) if q.measures else None
    if measured is not None:
        if measured:
            sig["number_mismatch"] = 1.0
    elif ranges:
        # "BMI 42.3": the title's range holds the measurement or it is another code (Z68.41 "40.0-44.9", not
        # Z68.45 "70 or greater"); its digits are no stage numbers
        if not any(lo <= v <= hi for v in q.values for lo, hi in ranges):
            sig["number_mismatch"] = 1.0
    elif q.numbers:
        # "CKD stage 3" must not land on "stage 5": a title naming other stages/types loses;
        # "unstageable" or "deep tissue damage" also answer "which stage" with another answer.
        title_lower = title.lower()
        staged_otherwise = not tnums and ("unstageable" in title_lower or "deep tissue" in title_lower)
        if (tnums and not (q.numbers & tnums)) or staged_otherwise:
            sig["number_mismatch"] = 1.0
    # "stage 3 pressure ulcer": the question states the detail that an "unspecified stage" title
    # leaves open, so the specific code is the better match.
    # Likewise an acuity, a severity or another axis of casepilot/contrasts.py: "chronic hepatitis C" states what
    # B19.20 "Unspecified viral hepatitis C" leaves open.
    # (A number an inclusion term states is no detail left open: Q90.9 "Down syndrome, unspecified" includes
    # "Trisomy 21 NOS", so "Down syndrome (trisomy 21), karyotype not documented" states nothing it leaves open.)
    # (And a spinal level, "L1": S32.000 "... of unspecified lumbar vertebra" leaves open what it states.)
    if "unspecified" in title_words and (
            (q.numbers and not tnums and not q.numbers <= alias_numbers)
            or (q.side and not tside) or leaves_open(q.words - q.negated, title_words)
            or (q.spinal_level and "vertebra" in title_words)):
        sig["stated_unspecified"] = 1.0
    # The question states a side or an encounter and the title states another one.
    if q.side and tside and not (q.side & tside):
        sig["side_mismatch"] = 1.0
    elif q.side_sites and len(tside) == 1:
        # "stroke L MCA ... right hemiparesis": each side belongs to what it is said of; a title of the right
        # middle cerebral artery shares more words with what "left" was said of than with what "right" was
        (own,) = tside
        other = "left" if own == "right" else "right"
        said = {stem(w) for w in title_words - _SIDES}
        if len(said & q.side_sites.get(other, set())) > len(said & q.side_sites.get(own, set())):
            sig["side_mismatch"] = 1.0
    # "left hemiparesis" in a right-handed patient is the non-dominant side (I.C.6.a)
    tdom = title_dominance(own_title)
    if q.dominance and tdom and tdom != q.dominance:
        sig["side_mismatch"] = 1.0
    tenc = encounter_of(title)
    if q.encounter and tenc and q.encounter != tenc:
        sig["encounter_mismatch"] = 1.0
    # "with heart failure": a title "without heart failure" is the other branch. (What it denies is read up to an
    # "of": "Laceration without foreign body of left forearm" denies the foreign body, not the forearm.)
    if (tight_denials(own_title) | tight_denials(short) | heading_denials(context)) & (q.words - q.negated):
        sig["title_negates"] = 1.0
    # "no gangrene" in the question: a title that asserts gangrene is the wrong branch, one that says
    # "without gangrene" is the right one.
    # (a word the title also asserts counts: "no heart failure" and "Hypertensive heart ... without heart failure";
    # exact words only: "displacement not documented" leaves the displacement to the fracture default)
    if q.negated & (asserted | both) & title_words:
        sig["negation_penalty"] = 1.0
    if q.negated & t_negated:
        sig["negation_agrees"] = 1.0
    if q.visit and _VISIT_TITLE.search(own_title):
        sig["visit_reason"] = 1.0
    code = title.split(" ", 2)[1] if title.count(" ") >= 2 else ""  # "ICD-10-CM W54.0XXA Bitten ..." -> the code
    bare = code.replace(".", "")
    if q.first_listed and own_title.startswith(q.first_listed):
        sig["reason_first"] = 1.0
    if q.routine_exam and code[:3] in ("Z00", "Z01", "Z02") and _EXAM_TITLE.search(own_title):
        sig["routine_exam"] = 1.0
        low = own_title.lower()
        if q.findings is not None and "abnormal findings" in low and ("without abnormal" in low) == q.findings:
            sig["findings_mismatch"] = 1.0
    if q.injury_first and _EXTERNAL_CAUSE.match(code):
        sig["external_cause"] = 1.0
    # Place of occurrence, activity and status (Y92, Y93, Y99) accompany the external cause that says how the
    # injury happened (I.C.20.b-k): unless asked for, they follow it ("fell out of bed at home": W06, then Y92).
    if not q.asks_supplementary and _SUPPLEMENTARY_CAUSE.match(code):
        sig["supplementary_cause"] = 1.0
    if not q.asks_agent and _AGENT_CAUSE.match(code):
        sig["supplementary_cause"] = 1.0
    if title.startswith("ICD-10-CM"):
        # another patient's record (a mother's, a newborn's) or no event an external cause could tell
        # a malignant neoplasm (C00-C96) for a question that names none: "RLL PNA" is a pneumonia of the right
        # lower lobe, not C34.31 "Malignant neoplasm of lower lobe, right bronchus or lung"
        if ((code[:1] == "O" and not q.maternal) or (code[:1] == "P" and not q.newborn)
                or (code[:1] == "C" and not q.malignancy)
                # (likewise the follow-up or history of a malignancy, "Z08 ... after completed treatment for malignant
                # neoplasm", for "f/u after completed treatment of pneumonia"; a screening for one, Z12, needs none)
                or (code[:3] in ("Z08", "Z80", "Z85") and not q.malignancy and _NAMES_MALIGNANCY.search(own_title))
                # (a hormone receptor status, Z17, is coded beside a malignancy: "w/u neg" is no "receptor negative")
                or (code[:3] == "Z17" and not q.malignancy)
                # ("UTI d/t E coli" is no Z20.01 "Contact with and (suspected) exposure to ... E. coli": a contact or
                # exposure code needs the question to speak of one)
                or (code[:3] in ("Z20", "Z77") and not q.exposure)
                # ("skipping his meds, can't afford them" is the patient's own underdosing, Z91.12-: a "Caregiver's ..."
                # title, Z91.A-, needs someone who gives the patient the drugs)
                or (own_title.startswith("Caregiver") and not q.caregiver)
                or (_POSTPROCEDURAL_TITLE.search(own_title) is not None and not q.procedural)
                # (a screening encounter, Z11-Z13, needs a screening spoken of)
                or (code[:3] in ("Z11", "Z12", "Z13") and "screening" in own_title.lower() and not q.screen)
                # (gestational diabetes takes no long-term drug use code: O24.4- says insulin or oral drugs itself,
                # guideline I.C.15.g)
                or (bare[:4] in ("Z794", "Z798") and q.gestational_diabetes)
                # ("UTI due to E. coli" is no A41.51 "Sepsis due to E. coli": a sepsis code needs sepsis stated)
                or (code[:3] in ("A40", "A41") and not q.sepsis)
                # ("f/u visit, ankle sprain" is no Z39.2 "Encounter for routine postpartum follow-up"; Z38 "Liveborn
                # infant ... delivered" is the newborn's record, as are the P codes)
                # (and "SVD at 39 wks, single liveborn" is the mother's delivery, O80: Z38 is the newborn's record,
                # for a question that speaks of the baby)
                or (code[:3] == "Z38" and q.maternal and not q.newborn)
                or (code[:1] == "Z" and not q.maternal and code[:3] != "Z38"
                    and (bare[:4] == "Z037" or (code[:2] == "Z3" and code[:3] not in ("Z30", "Z31"))
                         or _MATERNAL_TITLE.search(own_title)))
                or (_EXTERNAL_CAUSE.match(code) and not q.event) or (_DRUG_EFFECT.match(code) and not q.drug_event)
                or (_COMPLICATION_CODE.match(code) and not q.complication)
                or (q.osteoporosis and code[:1] == "S" and ("fracture" in title_words or q.fracture_said))
                # ... nor a fatigue fracture or a collapsed vertebra NEC (M48.4-, M48.5-: Excludes1 M80.-)
                or (q.osteoporosis and q.fracture_said and bare[:4] in ("M484", "M485"))
                or (q.injury_named and _INJURY_AFTERCARE.match(bare) and not q.osteoporosis)
                or (own_title.lower().startswith("acquired absence") and not q.absence)):
            sig["record_mismatch"] = 1.0
        if q.letters and code[:1] not in q.letters:
            sig["letter_mismatch"] = 1.0
        # "colon cancer with mets to the liver": the secondary code names the liver (C78.7), not the colon (C78.5)
        # nor an unspecified site (C79.9)
        if q.mets_to and _SECONDARY_NEOPLASM.match(code) and not q.mets_to & with_stems(title_words):
            sig["site_mismatch"] = 1.0
        # ... and when the visit is for the spread, the primary site's code follows it
        # (nor any other code: "Crohn's disease of large intestine" shares the colon's words, not the visit's reason)
        if q.mets_to and q.asks_secondary and not _SECONDARY_NEOPLASM.match(code):
            sig["site_mismatch"] = 1.0
        family_title = own_title.lower().startswith("family history")
        # (a screening beside a family history, "screening colonoscopy, fam hx colon ca": the screening is coded
        # first and the history added, so a title without the history is no clash)
        if (q.family is True and not family_title and not q.screening) or (q.family is False and family_title):
            sig["history_mismatch"] = 1.0
        # a "Personal history of ..." title needs a past the question states: "liver mets from known colon ca" is a
        # cancer now (C18-C20 with C78.7), not Z85.038
        if own_title.lower().startswith("personal history") and not q.past:
            sig["history_mismatch"] = 1.0
        # ... and a primary malignancy gone ("prostatectomy in 2019, no current tx, no evidence of disease") is its
        # history: the cancer's own code (C00-C76, C80-C96; a secondary site may still be there) clashes
        if q.eradicated and _PRIMARY_MALIGNANCY.match(code):
            sig["history_mismatch"] = 1.0
        # a follow-up "after completed treatment" (Z08, Z09; I.C.21.c.8), or a finding "following treatment" (R97.21),
        # needs the treatment over: "f/u for prostate ca on active surveillance" is the cancer itself
        if _AFTER_TREATMENT_TITLE.search(own_title) and not q.completed:
            sig["history_mismatch"] = 1.0
    return sig


@lru_cache(maxsize=200_000)
def heading_denials(context: str) -> frozenset[str]:
    """The words the headings above a code deny ("Under: ..., not resulting in cerebral infarction"), from the
    code passage's BM25 context (ingest/icd10cm.py), leaving out the "not elsewhere classified" residual label.
    (Cached: read for every candidate code of every search.)"""
    return frozenset(w for line in context.splitlines() if line.startswith("Under:")
                     for w in tight_denials(_NEC.sub(" ", line[6:])))


@lru_cache(maxsize=200_000)
def title_negations(title: str) -> frozenset[str]:
    """``negated_terms`` of a code title (cached: every search reads it for each candidate code's title)."""
    return frozenset(negated_terms(title))


@lru_cache(maxsize=200_000)
def tight_denials(title: str) -> frozenset[str]:
    """What a code title denies, each denied phrase read up to an "of" or "in" that says where or in what state:
    "Laceration without foreign body of left forearm" denies the foreign body, "... without complications in
    remission" the complications ("without mention of", "loss of consciousness", "not resulting in" keep theirs).

    >>> sorted(tight_denials("Laceration without foreign body of left forearm, initial encounter"))
    ['body', 'foreign']
    """
    return frozenset(negated_terms(_OF_WHERE.sub(", ", title)))


_NEC = re.compile(r"\bnot elsewhere classified\b", re.I)
_OF_WHERE = re.compile(r"(?<!mention)(?<!loss)(?<!resulting)\s+(?:of|in)\s+", re.I)


def short_description(context: str) -> str:
    """The CMS short description a code passage's BM25 context carries (ingest/icd10cm.py), or ""."""
    return next((line.split(":", 1)[1] for line in context.splitlines() if line.startswith("Short description:")), "")


# What the question states and the code's title contradicts: another stage, side, encounter or chapter letter. (A negated
# branch is not among them: negated_terms reads a phrase's scope by heuristics, "without complications in
# remission" would deny the remission, and as a hard rule such misreadings lost more tuning items than the
# clashes won.)
STATED_CLASHES = ("number_mismatch", "side_mismatch", "encounter_mismatch", "letter_mismatch", "history_mismatch",
                  "contrast", "findings_mismatch", "site_mismatch")


def _order_codes_by_ranker(hits: list[Hit]) -> None:
    """Code passages take the ranker's order but keep the fused scores' scale: the best-ranked code gets the
    best fused score among codes, and so on. A search that mixes codes and guidance then interleaves
    them as the fused scores would, whatever the scale of the learned weights."""
    coded = [h for h in hits if "ranker" in h.signals]
    scores = sorted((h.score for h in coded), reverse=True)
    # A code that contradicts what the question states (STATED_CLASHES) is another code, whatever else it
    # shares: it ranks below every code that agrees with the question (the learned weights of these clashes
    # are small, because generated training queries rarely state them).
    # An external cause code (V00-Y99) is never first-listed (I.C.20): when the question names the injury and
    # does not ask how it happened, it follows the injury codes ("dog bite of hand": S61.45-, then W54.0).
    # A pregnancy or newborn code for a question that speaks of neither belongs to another patient's record.
    order = sorted(coded, key=lambda h: (sum(h.signals.get(k, 0.0) for k in STATED_CLASHES),
                                         h.signals.get("record_mismatch", 0.0), h.signals.get("external_cause", 0.0), h.signals.get("supplementary_cause", 0.0),
                                         -h.signals["ranker"], h.id))
    _denied_branch_yields(order)
    _signal_leads(order, "routine_exam")
    _signal_leads(order, "reason_first")
    _initial_encounter_leads(order)
    for rank, (h, score) in enumerate(zip(order, scores)):
        h.score = score - rank * 1e-9  # equal fused scores must not undo the ranker's order


# How close (in ranker score) a code of the same category must be to take the lead from one asserting what the
# question denies. The clash is not a hard order (see STATED_CLASHES): only a near sibling overtakes.
DENIED_BRANCH_MARGIN = 0.3
# How much less like the question (cosine) a code may be and still take the lead from an "unspecified" title whose
# open detail the question states (B18.2 beside B19.20 for "chronic hepatitis C": 0.04 to 0.11 in the tuning items)
UNSPECIFIED_YIELD_COSINE = 0.15


def _initial_encounter_leads(order: list[Hit]) -> None:
    """A sequela or subsequent encounter the question never states gives way to the same code's initial encounter
    when the search found it: "dog bit him on the L forearm, irrigated & closed" is S51.852A, not S51.852S (the
    sequela matched more words, the 7th character is no word match). In place."""
    # (a fracture's healing state, "P" malunion, "K" nonunion, is said by the question in other words: "healed w/
    # malunion" states no encounter yet is no initial one)
    if not order or not order[0].signals.get("unstated_encounter") or order[0].id[-1:] not in ("S", "D"):
        return
    initial = order[0].id[:-1] + "A"
    at = next((i for i, h in enumerate(order) if h.id == initial and not any(h.signals.get(k) for k in STATED_CLASHES)), None)
    if at:
        order.insert(0, order.pop(at))


def _signal_leads(order: list[Hit], signal: str) -> None:
    """The best code carrying ``signal`` and clashing with nothing the question states moves first. In place.

    "reason_first": an encounter solely for a treatment lists the treatment's code first (sequencing.toml
    [first_listed]): for "here for IV chemo for her lung ca" Z51.11 leads and the cancer follows (I.C.2.e.2).
    "routine_exam": a routine examination's code is first-listed and what it found follows (I.C.21.c.13): for
    "adult wellness exam, BP elevated" the best Z00-Z02 code leads, R03.0 next."""
    first = next((i for i, h in enumerate(order) if h.signals.get(signal)
                  and not any(h.signals.get(k) for k in STATED_CLASHES)), None)
    if first:
        order.insert(0, order.pop(first))


def _denied_branch_yields(order: list[Hit]) -> None:
    """"Parkinson's, no dyskinesia": when the first code asserts what the question denies (G20.B1 "with dyskinesia")
    and a code of the same category that does not (G20.A1 "without dyskinesia"), or one of another category that
    covers more of the question, scores within ``DENIED_BRANCH_MARGIN``, that one leads. Likewise when the first code
    denies what the question states, or is an "unspecified" title for a question that states what it leaves open.
    In place."""
    # (and the other way round: the first code denies what the question states, K26.3 "... without hemorrhage" for
    # "ulcer w/ active bleeding", or its heading does, I66 "..., not resulting in cerebral infarction" for a stroke)
    # (and an "unspecified" title for a question that states what it leaves open: B19.20 "Unspecified viral hepatitis C
    # ..." for "chronic hepatitis C", beside B18.2 "Chronic viral hepatitis C")
    clash = next((k for k in ("negation_penalty", "title_negates", "stated_unspecified")
                  if order and order[0].signals.get(k)), None)
    if clash is None:
        return
    top = order[0]
    cat = str(top.doc.metadata.get("code", ""))[:3]
    top_words = _title_words(top) if clash == "stated_unspecified" else set()
    for i, h in enumerate(order[1:], 1):
        # a sibling, or a code of another category that covers more of the question ("severe preeclampsia, no
        # pre-existing HTN": O14.13 beside O11.3 "Pre-existing hypertension with pre-eclampsia")
        near = (str(h.doc.metadata.get("code", ""))[:3] == cat
                or h.signals.get("q_cover", 0.0) > top.signals.get("q_cover", 0.0)
                or (clash != "negation_penalty" and h.signals.get("q_cover", 0.0) >= top.signals.get("q_cover", 0.0)))
        # (an "unspecified" title yields only to a code of the same condition, a word of its title beyond "unspecified",
        # whose own words the question says as fully and that is as close in meaning: "CAP RLL, no organism" keeps
        # J18.9, whose title lacks the lobe, before J85.1 "Abscess of lung with pneumonia" and Q33.1 "Accessory lobe of
        # lung")
        if clash == "stated_unspecified" and (
                h.signals.get("t_cover", 0.0) < top.signals.get("t_cover", 0.0)
                or h.signals.get("cosine", 0.0) < top.signals.get("cosine", 0.0) - UNSPECIFIED_YIELD_COSINE
                or not top_words & _title_words(h)):
            continue
        if (near and not h.signals.get("negation_penalty") and not h.signals.get("title_negates")
                and not h.signals.get("stated_unspecified") and not h.signals.get("record_mismatch")
                and not any(h.signals.get(k) for k in STATED_CLASHES)
                and top.signals["ranker"] - h.signals["ranker"] <= DENIED_BRANCH_MARGIN):
            order.insert(0, order.pop(i))
            return


def _title_words(h: Hit) -> set[str]:
    """The words of a code passage's title that name something ("B19.20 Unspecified viral hepatitis C ..." -> viral,
    hepatitis, ...), without the code and the tabular's residual words."""
    return {w for w in tokens(h.doc.page_content.split("\n", 1)[0])
            if len(w) > 1 and not any(ch.isdigit() for ch in w)} - _RESIDUAL_WORDS


_RESIDUAL_WORDS = frozenset({"unspecified", "other", "specified", "without", "with", "and", "or", "of", "due", "to",
                             "not", "elsewhere", "classified", "type", "site", "organism"})


_ELSEWHERE = re.compile(r"classified elsewhere", re.I)
_IN_DISEASES_ELSEWHERE = re.compile(r"\b(?:in|due to)\s+(?:other\s+)?(?:diseases?|conditions?)\s+classified elsewhere\b", re.I)


def _norm_title(text: str) -> str:
    return " ".join(tokens(text, stop=False))


def heading_quoted(heading: str, quoted_keys: list[str]) -> bool:
    """Whether a question (its normalised forms, space-padded) quotes a heading's name whole: the words after
    "CPT 90945 —" (or the whole heading), three words at least.

    >>> keys = [f" {_norm_title('What is the CPT code for dialysis other than hemodialysis, single physician evaluation?')} "]
    >>> heading_quoted("CPT 90945 — Dialysis other than hemodialysis, single physician evaluation", keys)
    True
    >>> heading_quoted("CPT 90935 — Hemodialysis with a single physician evaluation", keys)
    False
    """
    name = _norm_title(heading.split(" — ", 1)[-1])
    return len(name.split()) >= 3 and any(f" {name} " in k for k in quoted_keys)


class Retriever:
    """Loads BM25 indexes and Chroma collections once; ``search`` is thread-safe."""

    def __init__(self, settings: Settings, embedder: MiniLMEmbeddings | None = None, weights: Weights | None = None,
                 ranker: Ranker | None = None, dense: bool = True):
        self.settings = settings
        # False while the vectors are still being built (staged start): BM25 and exact lookups only,
        # Chroma is never opened, and answers say dense retrieval was not live.
        self.dense_live = dense
        # The settings' embedder; each collection is queried with the one that made its vectors (QueryVectors).
        self.export_dir = default_export_dir(settings.data_dir)
        self.embedder = embedder or MiniLMEmbeddings(settings.embed_model, settings.embed_batch_size,
                                                     settings.embed_backend, self.export_dir)
        self.weights = weights or Weights()
        self.ranker = ranker or default_ranker()  # scores code passages (casepilot/ranker.py)
        self.passages = PassageStore(settings.data_dir / "passages.sqlite")
        self._client = None
        self._collections: dict[str, object] = {}
        self._lexical: dict[str, LexicalIndex | None] = {}
        self._unit: dict[str, tuple[str, list[str], np.ndarray]] = {}  # name -> (revision, ids, unit vectors)
        self._titles: dict[str, dict[str, str]] = {}
        self._visit_titles: dict[str, frozenset[str]] = {}
        self._df: tuple[int, dict[str, int]] | None = None
        self._vocab: set[str] | None = None
        self._speller: Speller | None = None
        self._lock = threading.Lock()
        # Every call to Chroma goes through this breaker (``_dense``): after failed calls it is skipped
        # for ``chroma_breaker_reset_s`` (searches fall back to BM25 at once), then one call probes it.
        self.breaker = CircuitBreaker(settings.chroma_breaker_failures, settings.chroma_breaker_reset_s)
        self._client_lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._last_check = True
        self._local = threading.local()  # per thread: did a search skip the dense side (take_dense_skipped)

    # -- resources ---------------------------------------------------------------------------
    @property
    def available(self) -> list[str]:
        """Collections that hold passages."""
        return [c for c, (_, n) in self.passages.revisions().items() if n]

    def client(self):
        """The Chroma client (built once; a server client has query-side timeouts on every call)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(self.settings, read_timeout_s=self.settings.chroma_timeout_s)
        return self._client

    def _dense(self, fn):
        """``fn()`` (a Chroma call) under the breaker: ``VectorStoreUnavailable`` at once while it is open,
        or when the call fails (every server call has a timeout, so that is within seconds)."""
        if not self.breaker.allow():
            raise VectorStoreUnavailable(f"the vector store is not answering; retry in {self.breaker.retry_after()} s")
        try:
            out = fn()
        except Exception as e:
            self.breaker.failure()
            self._collections.clear()  # handles may be stale once the server is back (a restart)
            log.warning("vector store call failed (%s); breaker %s", type(e).__name__, self.breaker.state)
            if isinstance(e, VectorStoreUnavailable):
                raise
            raise VectorStoreUnavailable("the vector store did not answer") from e
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.success()
        return out

    def _collection(self, name: str):
        if not self.dense_live or not self.settings.embeds(name):  # lexical-only: no vectors by design
            return None
        coll = self._collections.get(name, _MISSING)
        if coll is _MISSING:
            coll = self._dense(lambda: get_collection(self.client(), name))
            self._collections[name] = coll
        return coll

    def _nearest(self, name: str, coll, vector: np.ndarray, k: int,
                 revisions: dict[str, tuple[str, int]]) -> list[tuple[str, float]]:
        """The ``k`` passages of ``name`` nearest to ``vector`` (a Chroma call: run it under ``_dense``);
        ``revisions``: the passage store's, read once by the caller.

        A small collection (the corpus: hundreds of passages) is searched exactly. Chroma's approximate
        search missed up to 4 of the true 40 nearest guidance passages for one question in four, and which
        ones differed from process to process, so answers near the decision threshold flipped between runs.
        Its vectors are read once per revision of the passage store (a re-ingest reloads them).
        """
        revision, count = revisions.get(name, ("", 0))
        if count > EXACT_SEARCH_MAX:
            return dense_query(coll, vector, k, count)
        cached = self._unit.get(name)
        if cached is None or cached[0] != revision:
            ids, unit = unit_vectors(coll)
            if len(ids) != count:  # an ingest is writing this collection: no snapshot to keep yet
                return dense_query(coll, vector, k)
            cached = self._unit[name] = (revision, ids, unit)
        return exact_nearest(cached[1], cached[2], vector, k)

    def query_embeddings(self) -> list[str]:
        """Model/backend of the vectors of each collection searched so far (queries are embedded the same way)."""
        return sorted({str(stored_embedding(c, self.embedder.model_name)) for c in list(self._collections.values())
                       if c is not None})

    def dense_available(self) -> bool:
        """True when dense retrieval is in use and its breaker is closed (the vector store answers)."""
        return self.dense_live and self.breaker.state == CLOSED

    def check_dense(self) -> bool:
        """One bounded heartbeat to the vector store (for /readyz), through the breaker.

        At most one check runs at a time: concurrent callers get the last answer rather than another
        thread blocked on a silent server. While the breaker is open the answer is False without a call.
        """
        if not self._check_lock.acquire(blocking=False):
            return self._last_check and self.breaker.state == CLOSED
        try:
            try:
                self._dense(lambda: self.client().heartbeat())
                ok = True
            except VectorStoreUnavailable:
                ok = False
            self._last_check = ok
            return ok
        finally:
            self._check_lock.release()

    def take_dense_skipped(self) -> bool:
        """Whether a search in this thread skipped the dense side (vector store down) since the last call."""
        skipped = getattr(self._local, "skipped", False)
        self._local.skipped = False
        return skipped

    def lexical(self, name: str) -> LexicalIndex | None:
        with self._lock:
            if name not in self._lexical:
                self._lexical[name] = LexicalIndex.load(self.settings.data_dir / "bm25" / name)
            return self._lexical[name]

    def titles(self, name: str) -> dict[str, str]:
        """Normalised first line of each passage -> id, for the exact-title signal (code collections)."""
        with self._lock:
            if name not in self._titles:
                table: dict[str, str] = {}
                # Billable codes first: when a heading and its code share a title (Z87.8 and Z87.898),
                # the exact match is the code a claim can carry.
                for pid, text, billable in sorted(self.passages.titles(name), key=lambda r: (not r[2], r[0])):
                    first = text.split("\n", 1)[0]
                    # "E11.22 Type 2 diabetes ..." -> the title without its code
                    title = first.split(" ", 1)[1] if " " in first else first
                    table.setdefault(_norm_title(title), pid)
                self._titles[name] = table
            return self._titles[name]

    def visit_titles(self, name: str) -> frozenset[str]:
        """Ids of the passages titled as a visit's reason ("Encounter for immunization", "Aftercare ...")."""
        with self._lock:
            found = self._visit_titles.get(name)
        if found is None:
            found = frozenset(pid for title, pid in self.titles(name).items() if _VISIT_TITLE.search(title))
            with self._lock:
                self._visit_titles[name] = found
        return found

    def idf(self, word: str) -> float:
        """Inverse document frequency of ``word`` over the guidance passages (rare words weigh more)."""
        if self._df is None:
            df: dict[str, int] = {}
            n = 0
            for name in KNOWLEDGE_COLLECTIONS:
                if name not in self.available:
                    continue
                for text in self.passages.texts(name)[1]:
                    n += 1
                    for w in set(tokens(text)):
                        df[w] = df.get(w, 0) + 1
            self._df = (n, df)
        n, df = self._df
        return float(np.log((n + 1) / (df.get(word, 0) + 0.5)))

    def known(self, word: str) -> bool:
        """True when any index (code titles, guidance) holds ``word``: unknown words point outside the sources."""
        if self._vocab is None:
            vocab: set[str] = set()
            for name in self.available:
                lex = self.lexical(name)
                if lex is not None:
                    vocab.update(lex.vocab)
            self._vocab = vocab
        return word in self._vocab

    def speller(self) -> Speller:
        """A speller over every index's words, weighted by how many passages use each, and the words of the
        installed ICD-10-PCS data (spelling.official_vocabulary): the PCS code titles the indexes hold never
        say "gastrectomy" or "basket", so without them a correct procedure word was "corrected" to another."""
        if self._speller is None:
            df: dict[str, int] = {}
            for lex in [self.lexical(name) for name in self.available]:
                if lex is not None:
                    for word, n in lex.document_frequencies().items():
                        df[word] = df.get(word, 0) + n
            weights, whole = official_vocabulary()
            for word, n in weights.items():
                df[word] = df.get(word, 0) + n
            # built twice at worst by racing threads: same result
            # the vocabulary's own keys ("ultram", "keflex", "hives", "cysto") are words it expands, never typos; so are
            # the CMS short descriptions' abbreviations, which the expansion reads its own way ("endo" is endocrine, not
            # a truncated "endoscopic": "new pt endo clinic, graves dz")
            keys = frozenset(w for key in [*SYNONYMS, *ABBREVIATIONS, *learned()] for w in key.split() if w.isalpha())
            self._speller = Speller(df, keep=STOPWORDS | whole | keys, vouched=frozenset(weights),
                                    english=english_words())
        return self._speller

    def spell(self, query: str) -> str:
        """``query`` with typos corrected and truncations completed against the indexes' words."""
        return self.speller().fix(query)

    def warm(self, collections: list[str] | None = None) -> None:
        """Load the model and indexes now (the API does this at start-up so the first answer is fast)."""
        from casepilot.procedures import procedure_words

        vec = QueryVectors("warm up", self.embedder, self.export_dir)  # the model(s) the collections were built with
        procedure_words()  # read from the PCS index once (~1 s), not on the first description question
        self.speller()
        dense_ok = True
        revisions = self.passages.revisions()
        for c in collections or self.available:
            self.lexical(c)
            if c in CODE_COLLECTIONS:
                self.titles(c)
            if not dense_ok:
                continue
            try:
                coll = self._collection(c)
                if coll is not None:
                    qv = vec(coll)
                    # loads the HNSW index (seconds on a cold start) or a small collection's vectors
                    self._dense(lambda: self._nearest(c, coll, qv, 1, revisions))
            except VectorStoreUnavailable as e:
                # A down or silent server: start anyway (lookups and BM25 answer); the breaker probes it later.
                log.error("vector store not answering at start-up (%s): BM25 only until it does", e)
                dense_ok = False

    # -- search ------------------------------------------------------------------------------
    def _manifestation_notes(self, ids: list[str], docs: dict[str, Document]) -> dict[str, list[str]]:
        """For each ICD-10-CM candidate titled "... in diseases classified elsewhere", the "Code first" notes of
        it and of its headings (F02.A0's is F02's: "Alzheimer's (G30.-) ..."), read in one store call."""
        wanted: dict[str, list[str]] = {}
        for i in ids:
            m = docs[i].metadata if i in docs else {}
            if m.get("system") == "icd10cm" and _ELSEWHERE.search(str(m.get("title", ""))):
                code = str(m.get("code", ""))
                wanted[i] = [f"icd10cm:{code[:n]}" for n in range(3, len(code))]
        if not wanted:
            return {}
        found = self.passages.get(sorted({h for hs in wanted.values() for h in hs}))
        out = {}
        for i, heads in wanted.items():
            texts = [docs[i].page_content] + [found[h].page_content for h in heads if h in found]
            out[i] = [line.split(":", 1)[1] for t in texts for line in t.splitlines() if line.startswith("Code first:")]
        return out

    def search(self, query: str, collections: list[str] | None = None, k: int = 8,
               timings: dict | None = None) -> list[Hit]:
        """The best ``k`` passages for ``query`` across ``collections`` (all available by default)."""
        if k <= 0:
            raise ValueError(f"k must be > 0, but got {k}")
        w = self.weights
        # the passage store's collections, read once: which hold passages, and each one's revision (``_nearest``)
        revisions = self.passages.revisions()
        available = [c for c, (_, n) in revisions.items() if n]
        names = [c for c in (collections or available) if c in set(available)]
        if not names:
            return []
        t0 = time.perf_counter()
        query = self.spell(query)
        # a search without the ICD-10 code sets (CPT, HCPCS, guidance) leaves out ICD-10-CM-only wording (cpt = false)
        expanded = expand_query(query, cpt=not {"icd10cm", "icd10pcs"} & set(names))
        qvec = QueryVectors(expanded, self.embedder, self.export_dir)  # embedded when a collection is searched
        t1 = time.perf_counter()
        bm25: list[tuple[str, float]] = []
        dense: list[tuple[str, float]] = []
        dense_ok = self.dense_live
        for name in names:
            lex = self.lexical(name)
            if lex is not None:
                if name in CODE_COLLECTIONS:
                    found = diversified(lex.search(expanded, w.depth * _FAMILY_POOL), w.depth, w.depth // 2)
                else:
                    found = lex.search(expanded, w.depth)
                if name == "icd10cm" and gives_visit_reason(query):
                    # "came in for a flu shot": the reason for the visit is coded (Z23 "Encounter for
                    # immunization"), but its few words lose to the many titles that name the condition
                    # (influenza). The best "Encounter for / Aftercare / Supervision of" titles join the
                    # candidates; the ranker's visit_reason signal decides between them and the rest.
                    # (half of them from categories the best ones leave out: "here for chemo for her lung ca" fills
                    # the list with Z12 "Encounter for screening for malignant neoplasm ..." titles before Z51.11)
                    have, visit = {i for i, _ in found}, self.visit_titles(name)
                    found += diversified([(i, s) for i, s in lex.search(expanded, _VISIT_POOL)
                                          if i in visit and i not in have], _VISIT_EXTRA // 2, _VISIT_EXTRA // 2)
                bm25.extend(found)
            if not dense_ok:
                continue
            try:
                coll = self._collection(name)
                if coll is not None:
                    qv = qvec(coll)  # outside the breaker: a model failure is not the vector store's
                    near = self._dense(lambda: self._nearest(name, coll, qv, w.depth, revisions))
                    dense.extend(near)
                    if name in CODE_COLLECTIONS:
                        # A code only BM25 found has a dense score too: without it, "0" would read as "unlike
                        # the question" to the ranker and the decision (a missing value is not a low one).
                        seen = {i for i, _ in near}
                        rest = [i for i, _ in found if i not in seen] if lex is not None else []
                        dense.extend(self._dense(lambda: dense_similarities(coll, qv, rest)))
            except VectorStoreUnavailable:
                if not self.settings.chroma_fallback:
                    raise
                # Lookups and BM25 keep answering; the caller says semantic search was unavailable.
                dense_ok, dense = False, []
                self._local.skipped = True
        t2 = time.perf_counter()
        b = max_normalized(bm25)
        d = max_normalized(dense)
        base = dict(weighted_fusion([bm25, dense], [w.bm25, w.dense]))
        raw_dense = dict(dense)
        ids = list(dict.fromkeys([i for i, _ in bm25] + [i for i, _ in dense]))
        docs = self.passages.get(ids)
        exact = set()
        # The question as written, and with its abbreviations spelled out ("HA" -> "headache").
        keys = list(dict.fromkeys([_norm_title(query), _norm_title(expanded)]))
        for name in names:
            if name in CODE_COLLECTIONS:
                titles = self.titles(name)
                # A title with ", unspecified" added ("Nausea with vomiting, unspecified"), or a heading's own
                # title ("Paracoccidioidomycosis") means the unspecified code (B41.9): the tabular's NOS
                # convention.
                hit = next((h for key in keys if (h := titles.get(key + " unspecified") or titles.get(key))), None)
                if hit:
                    exact.add(hit)
                    if hit not in docs:
                        docs.update(self.passages.get([hit]))
                        ids.append(hit)
        q = query_facts(query, expanded)
        qall = set(tokens(query)) | q.words
        quoted_keys = [f" {k} " for k in keys]
        elsewhere = self._manifestation_notes(ids, docs)
        hits = []
        for i in ids:
            doc = docs.get(i)
            if doc is None:
                continue
            m = doc.metadata
            sig = {"bm25": b.get(i, 0.0), "dense": d.get(i, 0.0), "cosine": raw_dense.get(i, 0.0)}
            if m.get("collection") in CODE_COLLECTIONS:
                if i in exact:
                    sig["exact_title"] = 1.0
                if m.get("billable") is True:
                    sig["billable"] = 1.0
                # a code's other names: its inclusion terms and those of the headings it only refines by side or
                # encounter (ingest/icd10cm.py inherited_terms)
                # (a heading's "Includes" notes name what its whole family covers: not the heading's other names)
                aliases = (inclusion_terms(doc.page_content) + str(m.get("inherited") or "").splitlines()
                           + (includes_terms(doc.page_content) if m.get("billable") is True else []))
                sig.update(code_features(m.get("title", ""), str(m.get("context", "")), q, aliases,
                                         agent_by_note=bool(q.organism) and _AGENT_NOTE.search(doc.page_content) is not None,
                                         etiology=stated_conditions(elsewhere.get(i, ()), q)))
                sig["ranker"] = self.ranker.score(sig)
                score = base.get(i, 0.0)
            else:
                score = base.get(i, 0.0)
                # "What does the root operation Excision mean?": a passage whose heading the question
                # names in full is about exactly that.
                heading = set(tokens(m.get("heading") or m.get("title", "")))
                named = heading - _GENERIC
                if len(named) >= 2 and named <= qall:
                    score += w.title_named
                    sig["title_named"] = float(len(named))
                # "established patient ..., moderate MDM": a heading that states only the other branch
                # ("new patient ...") is another code, as far as a heading naming the question is the same one
                if contradicts(qall, heading):
                    score -= w.title_named
                    sig["contrast"] = 1.0
                # "What is the CPT code for dialysis other than hemodialysis, single physician evaluation?": the
                # question quotes a heading's name whole (after "CPT 90945 —"), which outranks a heading whose
                # words it only contains ("Hemodialysis with a single physician evaluation")
                if heading_quoted(m.get("heading") or "", quoted_keys):
                    score += w.title_named
                    sig["heading_quoted"] = 1.0
            hits.append(Hit(i, score, doc, sig))
        _order_codes_by_ranker(hits)
        hits.sort(key=lambda h: (-h.score, h.id))
        if "icd10pcs" in names and len(names) == 1:
            hits = self._pcs_index_first(query, hits)
        if timings is not None:
            timings["embed_ms"] = round((t1 - t0 + qvec.seconds) * 1000, 1)
            timings["retrieve_ms"] = round((t2 - t1 - qvec.seconds) * 1000, 1)
            timings["fuse_ms"] = round((time.perf_counter() - t2) * 1000, 1)
        return hits[:k]

    def _pcs_index_first(self, query: str, hits: list[Hit]) -> list[Hit]:
        """PCS codes the official Alphabetic Index leads to (casepilot.pcsindex) ahead of the fused list."""
        from casepilot.pcsindex import default_index

        cands = default_index().candidates(expand_query(query, pcs=True), k=5)
        if not cands:
            return hits
        found = self.passages.get([f"icd10pcs:{c.code}" for c in cands])
        top = hits[0].score if hits else 1.0
        first = []
        for rank, c in enumerate(cands):
            doc = found.get(f"icd10pcs:{c.code}")
            if doc is not None:
                first.append(Hit(doc.id or "", top + 1.0 - rank * 0.01, doc, {"pcs_index": 1.0, "index_score": c.score}))
        seen = {h.id for h in first}
        return first + [h for h in hits if h.id not in seen]

    def dense_only(self, query: str, collections: list[str], k: int = 8) -> list[str]:
        """Ids from Chroma alone (no expansion, no BM25): the baseline the benchmark compares against."""
        qvec = QueryVectors(query, self.embedder, self.export_dir)
        out: list[tuple[str, float]] = []
        for name in collections:
            coll = self._collection(name)
            if coll is not None:
                out.extend(dense_query(coll, qvec(coll), k))
        return [i for i, _ in sorted(out, key=lambda x: -x[1])[:k]]

    def bm25_only(self, query: str, collections: list[str], k: int = 8) -> list[str]:
        out: list[tuple[str, float]] = []
        for name in collections:
            lex = self.lexical(name)
            if lex is not None:
                out.extend(lex.search(query, k))
        return [i for i, _ in sorted(out, key=lambda x: -x[1])[:k]]


def data_present(settings: Settings) -> bool:
    return (Path(settings.data_dir) / "passages.sqlite").exists() and settings.codestore_path.exists()
