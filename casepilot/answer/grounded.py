"""The offline grounded answerer: answers composed only of code records and source sentences, each cited.

It never writes a fact of its own: every sentence is a code record field, an instructional note or a
sentence extracted from a retrieved passage, and carries the [n] of where it came from.

Over 300 lines, and knowingly so: every intent's answer path (lookup, description, guidance, pair, coverage,
follow-up) lives in this one class and shares its Draft, evidence and decision helpers. Putting each intent in its
own module is the answer-path restructuring that issue 10 (item 5) asks for; it is not done yet.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot import router as rt
from casepilot.answer.decision import (ANSWER, DECLINE, PARTIAL, Decision, content_words, covered, decide,
                                      decide_description, describe_features, features, outright_decline,
                                      scope_keys, scope_signals, surely_a_coding_question, word_bag)
from casepilot.answer.choice import code_first_targets, default_child, note_groups, stated_choices
from casepilot.answer.conditions import generic_code_first, sequencing_rule, unsaid_clauses
from casepilot.answer import out_of_scope
from casepilot.answer.evidence import Evidence, best_sentences, declared_modifiers, sentences
from casepilot.answer.units import unit_sentence
from casepilot.codestore import CodeNotFound, CodeStore
from casepilot.passages import PassageStore
from casepilot.phi import without_patient_details
from casepilot.records import NOTE_LABELS, CodeRecord, Lookup, Note
from casepilot.procedures import is_procedure, is_visit_reason
from casepilot.spelling import official_vocabulary
from casepilot.stated import stated_diagnosis
from casepilot.retrieval import (KNOWLEDGE_COLLECTIONS, Hit, Retriever, explicit_letters, first_listed_titles,
                                 gives_visit_reason, inclusion_terms, short_description)
from casepilot.history import FAMILY, HistoryAsk, covering, excluded_here, history_ask, in_range, parse_ranges
from casepilot.text import (NARRATION, NOT_ABBREVIATION, POLARITY, expand_query, names_remittance_code, negated_terms, own_word_forms,
                            question_negations, remittance_codes_of, small_numbers, stated_numbers, status_of, stem, tokens, trimester_of, with_stems)

log = logging.getLogger(__name__)
INSTRUCTION_NOTES = ("code_first", "use_additional_code", "code_also")
# Notes that offer a set of codes to add (read against the question: casepilot/answer/choice.py)
ADDED_CODE_NOTES = ("use_additional_code", "code_also")
_DRUG_OR_CAUSE = re.compile(r"T(3[6-9]|[45]\d|6[0-5])|[V-Y]")
# Title words that name no topic ("ICD-10-PCS ... including ... versus")
# "which PCS root operation is a below knee amputation", "removing a kidney stone - what root operation?"
_ROOT_OP_ASK = re.compile(r"\broot op(?:eration)?s?\b", re.I)
_ROOT_OP_WORDS = re.compile(r"\b(?:which|what|icd[- ]?10[- ]?pcs|pcs|root op(?:eration)?s?|is|are|would|should|be|do|does|"
                            r"i|we|use|used|code|coded|for|as|the|it|in|this)\b|\?", re.I)
_GENERIC_TITLE = frozenset("10 including versus vs and or the of in for to what how".split())
# Passages that stand for a whole corpus document: its card and the questions it declares.
DOC_LEVEL = ("corpus_document", "corpus_question")
# Collections whose passages state things (a document's card and declared questions only point at them).
SECTION_COLLECTIONS = tuple(c for c in KNOWLEDGE_COLLECTIONS if c not in DOC_LEVEL)
# Code sets CasePilot holds in full: a code missing from them does not exist (CPT and HCPCS may be partial).
FULL_CODE_SETS = (cs.ICD10CM, cs.ICD10PCS)
# The order a coder acts on notes: what else to code, what may not be coded together, then the rest.
NOTE_ORDER = (*INSTRUCTION_NOTES, "excludes1", "excludes2", "includes", "inclusion_term", "seven_chr_note",
              "seven_chr_def", "note")


@dataclass
class Draft:
    """An answer before verification: sentences with their citation numbers."""

    intent: str
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)
    evidence: Evidence = field(default_factory=Evidence)
    searched: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    answered: bool = True
    verdict: dict | None = None  # the NCCI/MUE/fee-schedule verdict, when the question asked for one
    bullets: set[int] = field(default_factory=set)  # sentences shown as list items
    decision: Decision | None = None  # answer / partial / decline, with its score
    declared_invalid: set[str] = field(default_factory=set)  # codes the answer itself says do not exist

    def say(self, text: str, *docs: Document, bullet: bool = False) -> None:
        if any(t == text for t, _ in self.sentences):
            return  # the same sentence reached twice (a code's summary and the guidance that repeats it)
        nums = [self.evidence.cite(d) for d in docs]
        if bullet:
            self.bullets.add(len(self.sentences))
        self.sentences.append((text, nums))

    def text_of(self, i: int) -> str:
        """Sentence ``i`` with its citations; text holding several sentences cites each of them."""
        text, nums = self.sentences[i]
        cites = "".join(f"[{n}]" for n in dict.fromkeys(nums))
        if not cites:
            return text if text.rstrip().endswith((".", "!", "?", ":")) else text.rstrip() + "."
        return " ".join(_cite(part, cites) for part in _SPLIT.split(text.strip()) if part.strip())

    def sep(self, i: int) -> str:
        """What goes before sentence ``i``: list items on their own lines, prose after a list in a new paragraph."""
        if i in self.bullets:
            return "- " if i == 0 else "\n- "
        if i == 0:
            return ""
        return "\n\n" if i - 1 in self.bullets else " "

    @property
    def text(self) -> str:
        return "".join(self.sep(i) + self.text_of(i) for i in range(len(self.sentences)))

    @property
    def label(self) -> str:
        if self.decision is not None:
            return self.decision.label
        return ANSWER if self.answered else DECLINE


_SPLIT = re.compile(r"(?<=[a-z0-9)][.!?])" + NOT_ABBREVIATION + r"\s+(?=[A-Z])")


def _cite(sentence: str, cites: str) -> str:
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".!?:" else ""
    body = body[:-1] if end else body
    return f"{body} {cites}{end or '.'}"


def _label(system: str) -> str:
    return cs.SYSTEM_LABELS.get(system, system)


def _names_history(ask: HistoryAsk, top: Hit) -> bool:
    """Whether the title search already found a history code that names the condition in full
    ("Z86.010 Personal history of colon polyps"): the tabular's own wording beats a range."""
    title = str(top.doc.metadata.get("title", ""))
    own = title.split(" ", 2)[-1].lower()
    if not own.startswith(f"{ask.kind} history"):
        return False
    words = set(tokens(own)) | set(tokens(short_description(str(top.doc.metadata.get("context", "")))))
    # ("CAD" reads as coronary, artery, disease: "disease" alone names no condition, Z84.81 "Family history of
    # carrier of genetic disease" is no history of CAD)
    return all((forms - _GENERIC_CONDITION) & words for forms in own_word_forms(ask.condition).values())


# Words of a "Code first" note that name no kind of condition ("underlying disease", "the nature of the adverse effect").
_GENERIC_ASK = frozenset(tokens(
    "underlying disease diseases condition conditions disorder disorders nature adverse effect effects associated "
    "any if applicable known cause causes causal etiology etiologic first code codes such as"))


def history_asked(query: str) -> HistoryAsk | None:
    """The history the question asks the code of, unless the code it asks for is another thing's."""
    ask = history_ask(query)
    return None if ask is None or _asks_for_another(query, ask) else ask


def _history_named_first(ask: HistoryAsk | None, hits: list[Hit]) -> list[Hit]:
    """A found history code that names the asked condition in full leads ("Z86.0101 Personal history of
    adenomatous and serrated colon polyps" for "personal history of adenomatous colon polyps")."""
    if ask is None:
        return hits
    for i, h in enumerate(hits[:5]):
        if _names_history(ask, h):
            return [h, *hits[:i], *hits[i + 1:]]
    return hits


# What a question ends by asking the code of: "z code for the eliquis?" -> "eliquis"
_ASKED_FOR = re.compile(r"\bcodes?\s+(?:for|of)\s+(?:the|her|his|their|this|that|a|an)?\s*([\w' /-]{2,40}?)\W*$", re.I)
_HISTORY_WORD = re.compile(r"\b(hx|history|h/o|previous|prior|past|personal)\b", re.I)

def _asks_for_another(query: str, ask: HistoryAsk) -> bool:
    """"hx PE, now on eliquis long term. z code for the eliquis?": the code asked for is another thing's than the
    history's condition, so the history is no answer."""
    target = _ASKED_FOR.search(query)
    return bool(target and not _HISTORY_WORD.search(target.group(1))
                and not set(tokens(expand_query(target.group(1)))) & set(tokens(expand_query(ask.condition))))


_GENERIC_CONDITION = frozenset("disease diseases disorder disorders condition conditions syndrome".split())


# Which official source led to a PCS code (casepilot/pcsindex.py, casepilot/pcsgems.py), as an answer names it.
_PCS_VIA = {"index": "the ICD-10-PCS Alphabetic Index", "gems": "the CMS ICD-9-CM to ICD-10-PCS GEMs",
            "index+gems": "the ICD-10-PCS Alphabetic Index and the CMS GEMs"}


def _pcs_index_doc(top, rec: CodeRecord) -> Document:
    """The citable passage for how the Alphabetic Index (or the GEMs) led to a PCS candidate."""
    return Document(
        page_content=top.why, id=f"pcs-index:{top.index_term}:{top.code}",
        metadata={"title": f"ICD-10-PCS {'GEMs' if top.source == 'gems' else 'Alphabetic Index'}: {top.index_term}",
                  "kind": "pcs_index", "source": f"{rec.version}: Alphabetic Index, GEMs and tables"})


def _below(heading: CodeRecord, code: str) -> bool:
    """Whether ``code`` sits below ``heading``: its category's code begins it, a block's range ("J00J06") holds it.

    >>> _below(CodeRecord("icd10cm", "J00J06", "J00-J06", "t", level="block"), "J069")
    True
    >>> _below(CodeRecord("icd10cm", "J00J06", "J00-J06", "t", level="block"), "J22"), _below(CodeRecord("icd10cm", "Z0012", "Z00.12", "t"), "Z00129")
    (False, True)
    """
    if heading.level == "block" and len(heading.code) == 6:
        return in_range(code, heading.code[:3], heading.code[3:])
    return code.startswith(heading.code)


def _flat(text: str) -> str:
    return " ".join(text.replace("\n", "; ").split()).replace(":;", ":")


def _joined(first: Draft, then: Draft) -> Draft:
    """One answer of two drafts: ``first``'s sentences, then ``then``'s, each cited anew; the lesser decision."""
    out = Draft(first.intent, searched=list(dict.fromkeys([*first.searched, *then.searched])),
                notices=list(dict.fromkeys([*first.notices, *then.notices])),
                declared_invalid=first.declared_invalid | then.declared_invalid,
                verdict=first.verdict if first.verdict is not None else then.verdict)  # a table's verdict stays
    for part in (first, then):
        for i, (text, nums) in enumerate(part.sentences):
            docs = [part.evidence.docs[part.evidence.items[n - 1].id] for n in nums]
            out.say(text, *docs, bullet=i in part.bullets)
    order = {DECLINE: 0, PARTIAL: 1, ANSWER: 2}
    out.decision = min((x.decision for x in (first, then) if x.decision is not None),
                       key=lambda x: order[x.label], default=None)
    return out


class GroundedAnswerer:
    """Composes answers from the code store and retrieved passages; no model, no network."""

    def __init__(self, store: CodeStore, retriever: Retriever, passages: PassageStore, tables: Path | None = None):
        self.store = store
        self.retriever = retriever
        self.passages = passages
        self.tables = tables  # tables.sqlite of the NCCI/MUE/fee-schedule files the user loaded
        # one sentence vector per question text, however many times a request asks whether it is in scope
        self._embedded = lru_cache(maxsize=256)(lambda text: tuple(self.retriever.embedder.embed_query(text)))

    # -- is it a coding question at all --------------------------------------------------------
    def _scope_vector(self, question: str) -> tuple[float, ...] | None:
        """The question's sentence vector for the learned out-of-scope score's joint reading, or None (its lexical
        reading): no retriever, the score was fitted on another model's vectors, vectors are still being built (the
        embedder is busy), or the model failed."""
        r = self.retriever  # (None: an answerer over tables alone, as the coverage checks build it)
        if r is None or not r.dense_live or out_of_scope.embedding_model() != r.embedder.model_name:
            return None
        try:
            return self._embedded(question)
        except Exception as e:  # noqa: BLE001 - the words alone still decide
            log.warning("out-of-scope score without the question vector (%s)", type(e).__name__)
            return None

    def _outright(self, question: str) -> str | None:
        """decision.outright_decline with the question's vector."""
        return outright_decline(question, self._scope_vector(question))

    def _surely_coding(self, question: str) -> bool:
        """decision.surely_a_coding_question with the question's vector."""
        return surely_a_coding_question(question, self._scope_vector(question))

    # -- evidence helpers --------------------------------------------------------------------
    def record_doc(self, rec: CodeRecord) -> Document:
        """The passage a record is cited by: its own indexed passage, else the record itself."""
        pid = rec.extra.get("passage_id") or f"{rec.system}:{rec.code}"
        found = self.passages.get([pid]).get(pid)
        if found is not None:
            return found
        display = cs.display_code(rec.code, rec.system)
        return Document(
            page_content=f"{display} {rec.title}\n{rec.description}", id=pid,
            metadata={"title": f"{_label(rec.system)} {display} {rec.title}", "source": rec.version or rec.source,
                      "collection": rec.system, "kind": rec.system},
        )

    # -- intents -----------------------------------------------------------------------------
    def answer(self, route: rt.Route, question: str, timings: dict | None = None) -> Draft:
        if route.intent == rt.COVERAGE:
            return self.coverage(route, question)
        if route.intent in (rt.CODE_LOOKUP, rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            return self.codes(route, question, timings)
        if route.intent == rt.DESCRIPTION_TO_CODE:
            return self.describe(route, question, timings)
        return self.guideline(route, question, timings)

    def codes(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        d = Draft(route.intent)
        scoped = scope_signals(question)
        if route.intent in (rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            # "97140 on one claim, 97530 on a 2nd a week later: will the edit still catch it?" asks how to get past
            # the table, not what it says
            if self._declined_outright(d, question):
                return d
            # "whats cigna paying out of network for 97110 ... per unit", "will humana deny it?": a payer's rates or
            # the future, whatever table the words name ("can our clinic bill 99213 with 20610" names the asker's
            # clinic as context only: the table answers it)
            # (or the asker's own claim: "pull the EOB and tell me which line they bundled")
            if (scoped["payer"] or scoped["future"] or scoped["own_data"]) and (scope := self._scope_decision(question)) is not None:
                d.searched.append("code store: " + ", ".join(r.mention.raw.upper() for r in route.codes[:3]))
                self._decline(d, scope, [])
                return d
            self._table_verdict(d, route)
        known = [r for r in route.codes[:3] if r.records]
        signals = any(scoped.values())
        # (a follow-up about the earlier code is decided the same way when it asks what no reference holds: "ok
        # what about aetna in NJ for the same code?")
        if route.intent == rt.CODE_LOOKUP and (not route.inherited or signals) and (known or signals):
            # "How much does Aetna pay for 99213 in Ohio?": the code is known, the question is not
            # about what the sources hold of it. Decide on the code's own passages. A code CasePilot does not
            # hold ("UHC's approval rate for 70553 under our contract") is declined on the same signals.
            decision = self._code_decision(question, known) if known else self._scope_decision(question)
            if decision is not None and decision.label == DECLINE:
                d.searched.extend(f"code store: {_label(r.record.system)} {cs.display_code(r.record.code, r.record.system)}"
                                  if r.records else f"code store: {r.mention.raw.upper()} (not held)"
                                  for r in route.codes[:3])
                if why := self._outright(question):
                    # the code was found; what the question asks of it is what no reference holds: say so
                    d.searched.append(why.removeprefix("nothing: "))
                docs = [self.record_doc(r.record) for r in known]
                self._decline(d, decision, [Hit(doc.id or "", 0.0, doc) for doc in docs])
                return d
            d.decision = decision
        if route.inherited and len(known) == 1:
            # "And for a new patient at the same level?" after a question on 99214: the sibling code
            # that differs in exactly what the follow-up names (99204).
            variant = self._variant(known[0], question)
            if variant is not None:
                d.notices.append(f"Read as the earlier question about {cs.display_code(variant.record.code, variant.record.system)} "
                                 f"instead of {cs.display_code(known[0].record.code, known[0].record.system)}.")
                known = [variant]
                route = rt.Route(route.intent, [variant], route.system, True, route.query, route.prior)
        if route.inherited and len(known) == 1 and rt.asks_for_a_code(question):
            # "stage is 3a - what's the 2nd code?" after E11.22: the code its notes' sets add for what the
            # follow-up states is the answer, said first
            self._added_code_first(d, known[0], question)
        if route.inherited and route.prior:
            question = f"{route.prior} {question}"  # a follow-up continues the earlier question
        answered = bool(known) or d.verdict is not None
        limit = 5
        if route.intent == rt.PAIR_CHECK:
            # Two codes on one day: what a coder weighs is each code's global period and the
            # modifiers that separate them, not every detail of each summary.
            question, limit = question + " global period same day modifier separately", 2
        if route.intent == rt.PAIR_CHECK:
            self._pair_statements(d, [r for r in route.codes[:3] if r.records])
        for r in route.codes[:3]:
            if r.records:
                self._one_code(d, r, question, limit)
            else:
                answered = self._unknown_code(d, r) or answered
        d.answered = answered
        if route.intent in (rt.UNITS, rt.GLOBAL_PERIOD, rt.PAIR_CHECK) and d.verdict is not None \
                and d.verdict.get("status") == "not_loaded" and asks_beyond_the_table(question):
            # "MUE for 96375 - per line or per day? does splitting lines w 59 get around it", "how long is the global
            # period and what's in it?": how the edits and the global package work is in the guidance whether or not
            # the table is loaded; said after the table's notice and the code
            rule = self.guideline(rt.Route(rt.GUIDELINE, route.codes, route.system, False, route.query), question,
                                  timings)
            if rule.answered and rule.decision is not None and rule.decision.label != DECLINE:
                rule.decision = None  # the code's own answer stands; the rule adds to it
                return _joined(d, rule)
        if not answered:
            d.decision = Decision(DECLINE, 0.0)
        if route.inherited:
            d.notices.append("This follow-up was answered about the code(s) of the earlier question.")
        return d

    def _variant(self, r: rt.Resolved, follow_up: str) -> rt.Resolved | None:
        """The code of ``r``'s family (its corpus document, PCS table or CM category: CodeStore.family) whose
        title adds what the follow-up names and keeps the rest ("converted to open" after 0FT44ZZ: 0FT40ZZ)."""
        base = set(tokens(r.record.title))
        denied = negated_terms(r.record.title)  # "Laceration without foreign body ...": said, but as absent
        # (a number counts: "staged 4 now" after a stage 2 ulcer; "she's" leaves an "s" that "Galeazzi's" shares)
        asked = {w for w in tokens(expand_query(follow_up)) if len(w) > 2 or w.isdigit()} - {
            "same", "level", "code", "instead", "about"}
        if _OBSTETRIC.search(r.record.title):
            # "what if she's 32 weeks" after a second-trimester code: the weeks name the trimester, which the
            # follow-up alone (no pregnancy word) does not
            asked |= set(tokens(" ".join(trimester_of(f"pregnancy, {follow_up}"))))
        best, best_score = None, 0.0
        # the family first (category, table, document), then for ICD-10-CM the block's other categories: "what
        # if it's recurrent" after F32.1 is F33.1
        for near, family in ((True, self.store.family(r.record)), (False, self.store.block_family(r.record))):
            for sib in family:
                words = set(tokens(sib.title))
                # what the earlier code denied and this one has ("glass stuck in it" after "without foreign body")
                flipped = (asked & words & denied) - negated_terms(sib.title)
                new = ((asked & words) - base) | flipped
                if not new:
                    continue  # the follow-up must name what differs
                # what the earlier code said and the sibling drops costs, but its "unspecified" is what the
                # follow-up now specifies ("severe features" after O14.93: O14.13 keeps "third trimester")
                lost = base - words - {"unspecified", "other"}
                if not near and len(lost) > 2:
                    continue  # another category is the same condition told otherwise, not another condition
                score = (2 * len(asked & words) + len(base & words) + len(flipped) - 0.5 * len(words - base - asked)
                         - 0.5 * len(lost))
                if score > best_score:
                    best, best_score = sib, score
            if best is not None:
                break
        if best is None:
            return None
        mention = cs.Mention(best.code, best.code, 0, 0, (best.system,))
        return rt.Resolved(mention, [best])

    def _scope_decision(self, question: str) -> Decision | None:
        """A decline when the question asks what no coding reference holds (a payer's rates, the asker's
        own data, the future); None otherwise."""
        signals = scope_signals(question)
        if not any(signals.values()):
            return None
        decision = self._covered_decision(question)
        return decision if decision.label == DECLINE else None

    def _code_decision(self, question: str, known: list[rt.Resolved]) -> Decision | None:
        """None when the question asks only what the code is; else the decision on the code's passages."""
        if not content_words(question):
            return None
        # The code itself is the evidence and it is known: how the question words it ("define", "can I
        # bill", "code first note") says nothing against answering. Only what a reference cannot hold
        # (a payer's rates, the asker's own data, the future) can turn the answer into a decline.
        return self._covered_decision(question)

    def _covered_decision(self, question: str) -> Decision:
        """The calibrated decision with the evidence taken as covering the question: scope signals only."""
        if self._outright(question):
            return Decision(DECLINE, 0.0, scope_signals(question))
        feats = features(question, [], 1.0, "", self.retriever.idf, self.retriever.known)
        feats.update(cover=1.0, cover_top=1.0, title_cover=1.0, cosine=1.0)
        return decide(feats)

    def extend(self, route: rt.Route, question: str, d: Draft, timings: dict | None = None) -> None:
        """The slower second part of a code answer (guidance that names the code), added to ``d``.

        Split from ``answer`` so the code-record sentences can stream before retrieval runs.
        """
        if route.intent in (rt.CODE_LOOKUP, rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            self._related_guidance(d, route, question, timings)

    def _table_verdict(self, d: Draft, route: rt.Route) -> None:
        """The deterministic answer from the CMS tables, cited to the rows it rests on."""
        from datetime import date

        from casepilot.tables import mue, pfs, ptp

        codes = route.procedures()
        db = self.tables or Path("/nonexistent")
        if route.intent == rt.PAIR_CHECK:
            v = ptp.check_pair(db, codes[0], codes[1], date.today())
            d.searched.append(f"NCCI PTP tables: {codes[0]} with {codes[1]}")
        elif route.intent == rt.UNITS:
            v = mue.mue_for(db, codes[0])
            d.searched.append(f"MUE tables: {codes[0]}")
        else:
            v = pfs.global_period(db, codes[0])
            d.searched.append(f"fee-schedule RVU file: {codes[0]}")
        d.verdict = v.to_dict()
        if v.status == "not_loaded":
            # Said first, in the answer itself: the verdict the question asked for cannot be given.
            d.say(v.message, Document(page_content=v.message, id=f"table:not-loaded:{route.intent}",
                                      metadata={"title": d.searched[-1] + " (not loaded)",
                                                "source": "tables loaded with casepilot ingest --source",
                                                "kind": "table"}))
            return
        docs = [Document(page_content=c["row"], id=f"table:{c['table']}:{c.get('file', '')}:{c.get('line', '')}",
                         metadata={"title": f"{c['table']} {c.get('version', '')}, line {c.get('line', '')}",
                                   "source": f"{c.get('file', '')} (effective {c.get('effective') or 'n/a'})",
                                   "kind": "table"})
                for c in v.citation()]
        if not docs:  # "no edit" is still an answer from the table that was searched
            docs = [Document(page_content=v.message, id=f"table:{d.searched[-1]}",
                             metadata={"title": d.searched[-1], "source": "tables loaded with casepilot ingest --source",
                                       "kind": "table"})]
        d.say(v.message, *docs)

    def coverage(self, route: rt.Route, question: str, as_of=None) -> Draft:
        """The Medicare coverage answer from the loaded MCD tables, cited to their rows (casepilot.answer.coverage)."""
        from datetime import date

        from casepilot.answer import coverage as mcd_answer

        d = Draft(route.intent)
        # "how much will Medicare pay for 99213 in 2031": no coverage table answers what the question asks
        if self._declined_outright(d, question):
            return d
        if (scope := self._scope_decision(question)) is not None:
            # "how much did Medicare pay us for 93306 last year", "will Medicare pay it this time?": the asker's
            # own claims, or the future; no coverage table holds either
            d.searched.append("Medicare Coverage Database files: not searched (the question asks what no coverage "
                              "table holds)")
            self._decline(d, scope, [])
            return d
        ans = mcd_answer.ask(question, route.codes, self.tables or Path("/nonexistent"), as_of or date.today(),
                             self.store)
        if (not route.codes and ans.verdict.get("status") in ("not_loaded", "not_found")
                and not mcd_answer.names_document(question)):
            # "does Medicare pay for hearing aids", "... a screening mammogram every year": no code and no NCD or
            # article named, and no coverage table that answers it. The guidance does when it covers the topic
            # (statutory exclusions, preventive frequencies) with a full answer; otherwise the table's answer stands
            # (a partial guidance answer here was about another service: hearing aids met the lab panels).
            g = self.guideline(route, question, None)
            if g.answered and g.decision is not None and g.decision.label == ANSWER:
                g.searched.append("Medicare Coverage Database files: " + (
                    "not loaded" if ans.verdict.get("status") == "not_loaded" else "no title matches"))
                return g
        d.verdict, d.searched = ans.verdict, list(ans.searched)
        for text, docs, bullet in ans.sentences:
            d.say(text, *docs, bullet=bullet)
        for r in route.codes[:2]:  # what the codes are, from the code store
            if r.records:
                rec = r.record
                d.say(f'{cs.display_code(rec.code, rec.system)} ({_label(rec.system)}): "{rec.title}"',
                      self.record_doc(rec))
        return d

    def _added_code_first(self, d: Draft, r: rt.Resolved, follow_up: str) -> None:
        """Lead a follow-up's answer with the one code that the earlier code's "Use additional code" or "Code
        also" sets name for what the follow-up states, with the note it comes from."""
        look = self.store.lookup(r.record.code, r.record.system)
        by_level = {cs.display_code(a.code, a.system): a for a in look.ancestors}
        picks = self._note_codes(follow_up, look)
        if len(picks) == 1:
            pick, n = picks[0]
            src = self.record_doc(by_level[n.level]) if n.level in by_level else self.record_doc(look.record)
            d.say(f'{cs.display_code(pick.code, pick.system)} "{pick.title}" is the code that '
                  f"{cs.display_code(r.record.code, r.record.system)}'s {NOTE_LABELS[n.type]} note asks for, "
                  f"for what the question states", self.record_doc(pick), src)

    def _one_code(self, d: Draft, r: rt.Resolved, question: str, limit: int = 5) -> None:
        try:
            look = self.store.lookup(r.mention.raw, r.record.system)
        except (ValueError, CodeNotFound):
            return
        rec = look.record
        doc = self.record_doc(rec)
        display = cs.display_code(rec.code, rec.system)
        label = _label(rec.system)
        d.searched.append(f"code store: {label} {display}")
        if rec.extra.get("summary_only") or rec.system in (cs.MODIFIER,) or (rec.system == cs.CPT and not rec.licensed):
            self._summary_code(d, look, doc, question, limit)
            return
        if rec.billable is False:
            # "burns 25% TBSA, 10% third degree - need the T31 code": the code below it that the question states
            # is the answer, said first
            picks = stated_choices(question, self.store.billable_in(rec.system, rec.code, rec.code), [rec.title])
            if len(picks) == 1:
                d.say(f'{cs.display_code(picks[0].code, picks[0].system)} "{picks[0].title}" is the billable code '
                      f"below {display} for the details the question gives", self.record_doc(picks[0]), doc)
        d.say(f'{display} ({label}) means "{rec.title}"', doc)
        if rec.billable:
            d.say(f"{display} is billable: it is valid for reporting on a claim", doc)
        elif rec.extra.get("terminated"):
            # decided on the day of the question from the record's own dates (casepilot/records.py::on_date)
            d.say(f"{display} was terminated on {rec.extra['terminated']}: it is not valid for dates of service "
                  "after that day", doc)
        elif rec.billable is False:
            below = ", ".join(f"{c.display} ({c.title})" for c in look.billable_below[:5])
            more = " and more" if len(look.billable_below) > 5 else ""
            text = f"{display} is not billable: it is a {rec.level} heading, so a claim needs a more specific code"
            d.say(f"{text} below it, such as {below}{more}" if below else text, doc)

        if rec.licensed:
            d.notices.append("The descriptor comes from your licensed CPT file.")
            for alt in look.alternates:
                if alt.system == rec.system and alt.extra.get("summary_only"):
                    self._summary_code(d, Lookup(alt), self.record_doc(alt), question)
        self._notes(d, look, doc, question)
        d.say(f"Code set: {rec.version}", doc)

    def _notes(self, d: Draft, look: Lookup, doc: Document, question: str = "") -> None:
        """Own notes, then inherited ones; instructions to code something else come first in each. A "Use
        additional code" or "Code also" set is read against the ``question`` ("stage is 3a - what's the 2nd
        code?" after E11.22: N18.31)."""
        by_level = {cs.display_code(a.code, a.system): a for a in look.ancestors}
        picks = self._note_codes(question, look) if question else []
        for inherited, notes in ((False, look.record.notes), (True, look.inherited)):
            grouped: dict[tuple[str, str], list[str]] = {}
            for n in notes:
                grouped.setdefault((n.level, n.type), []).append(_flat(n.text))
            for (level, kind), texts in sorted(grouped.items(), key=lambda kv: NOTE_ORDER.index(kv[0][1])):
                src = self.record_doc(by_level[level]) if inherited and level in by_level else doc
                where = f"inherited from {level}" if inherited else f"at {level}"
                d.say(f"{NOTE_LABELS[kind]} ({where}): {'; '.join(texts)}", src)
                for pick in (p for p, n in picks if (n.level, n.type) == (level, kind)):
                    self._say_pick(d, pick, src)

    def _summary_code(self, d: Draft, look: Lookup, doc: Document, question: str, limit: int = 5) -> None:
        rec = look.record
        label = _label(rec.system)
        display = cs.display_code(rec.code, rec.system)
        d.say(f"{label} {display}: {rec.title}", doc)
        picked = best_sentences(question + " " + rec.title, [doc], limit=limit, per_doc=limit)
        for _, s in picked:
            if not self._has_unknown_code(s):
                d.say(s, doc)
        if rec.system == cs.CPT and not rec.licensed:
            d.notices.append(
                "CPT summaries are CasePilot's own plain-language words, not the AMA descriptor; "
                "load your licensed CPT file (casepilot ingest --source cpt PATH) to see official text."
            )

    def _codeset_doc(self, system: str) -> Document:
        """The code set itself as evidence: what an "is not a valid code" sentence cites."""
        label = _label(system)
        version = next((s["version"] for s in self.store.sources() if s.get("system") == system and s.get("version")), "")
        count = self.store.count(system)
        what = (f"{label} {version}: the complete code set, {count:,} codes and headings" if system in FULL_CODE_SETS
                else f"{label}: the {count:,} codes CasePilot holds")
        return Document(page_content=what, id=f"codeset:{system}",
                        metadata={"title": f"{label} code set searched", "source": version or "CasePilot code store",
                                  "kind": "code_set"})

    def _unknown_code(self, d: Draft, r: rt.Resolved) -> bool:
        """Say first that the code is not valid (or not known here) and why; True when the guidance says more."""
        raw = r.mention.raw.upper()
        reason = cs.why_malformed(r.mention.raw)
        d.searched.append(f"code store: {raw}")
        d.declared_invalid.add(r.mention.code)
        systems = [s for s in r.mention.systems if s != cs.MODIFIER] or list(r.mention.systems)
        if reason:
            d.say(f"{raw} is not a valid code: {reason}")
            return False
        full = [s for s in systems if s in FULL_CODE_SETS]
        partial = [s for s in systems if s not in FULL_CODE_SETS]
        said = False
        if full and partial:
            # "G0378" reads as ICD-10-CM G03.78 (no such code) or as HCPCS G0378, a set CasePilot holds only in part:
            # no code set can be said to lack it, so say what was checked and what was not
            d.say(f"{raw} is not a valid {' or '.join(_label(s) for s in full)} code, and it is not among the "
                  f"{' or '.join(_label(s) for s in partial)} codes CasePilot knows",
                  *[self._codeset_doc(s) for s in systems])
            _load_notices(d, partial)
            full = []  # nearby ICD-10-CM codes are no hint about a code that may be HCPCS
        elif full:
            labels = " or ".join(_label(s) for s in full)
            d.say(f"{raw} is not a valid {labels} code: it was not found in the complete code set CasePilot holds",
                  *[self._codeset_doc(s) for s in full])
            # CasePilot holds every code of these sets, so "no such code" is an answer, not a decline.
            said = True
        else:
            labels = " or ".join(_label(s) for s in systems)
            d.say(f"{raw} is not among the {labels} codes CasePilot knows", *[self._codeset_doc(s) for s in systems])
            _load_notices(d, systems)
        # Deleted and replaced codes are discussed in the guidance: say what it says about this one.
        for h in self.retriever.search(raw, list(SECTION_COLLECTIONS), k=4):
            if re.search(rf"\b{re.escape(r.mention.raw)}\b", h.doc.page_content, re.I):
                for _, sent in best_sentences(raw, [h.doc], limit=2, per_doc=2):
                    if r.mention.raw.upper() in sent.upper():
                        d.say(sent, h.doc)
                        said = True
                break
        if full:
            # Within a complete code set the nearest valid codes (same category) are a real hint.
            near = self.store.nearest(r.mention.raw, full)[:5]
            if near:
                d.say("The nearest valid codes are:")
                for n in near:
                    nd = cs.display_code(n.code, n.system)
                    d.say(f'{nd} ({_label(n.system)}): "{n.title}"', self.record_doc(n), bullet=True)
        # Nearby codes are a hint, not an answer about the code that was asked.
        return said

    def _related_guidance(self, d: Draft, route: rt.Route, question: str, timings: dict | None) -> None:
        """One or two sentences of the project's guidance that names the code (never unrelated text)."""
        wanted = {r.record.code for r in route.codes if r.records}
        wanted |= {c[:3] for c in wanted if len(c) > 3 and c[0].isalpha()}
        if not wanted:
            return
        if d.label == DECLINE and d.verdict is None:
            return  # a declined question gets no "related" guidance appended
        colls = [c for c in SECTION_COLLECTIONS if c not in ("corpus_code_summary", "corpus_modifier")]
        if route.intent == rt.PAIR_CHECK:
            self._pair_guidance(d, route, question, timings)
        hits = self.retriever.search(question, colls, k=4, timings=timings)
        d.searched.append("guidance: " + ", ".join(colls))
        docs = [h.doc for h in hits if wanted & set(str(h.doc.metadata.get("codes", "")).split(","))
                or any(w in h.doc.page_content for w in wanted if len(w) >= 3)]
        for di, s in best_sentences(question, docs[:2], limit=2, per_doc=1):
            if not self._has_unknown_code(s):
                d.say(s, docs[di])

    def _pair_statements(self, d: Draft, known: list[rt.Resolved]) -> None:
        """What each code's own passage says about the other code of the pair ("It replaces 43235; do not
        report both."), said first: the sources' direct word on the pair, whether or not a table is loaded."""
        for r in known:
            doc = self.record_doc(r.record)
            others = [o.record.code for o in known if o.record.code != r.record.code]
            for s in sentences(doc.page_content):
                if any(re.search(rf"(?<![\w.]){re.escape(o)}(?![\w])", s) for o in others) \
                        and not self._has_unknown_code(s):
                    # out of its passage, "It" needs its code: "43239 replaces 43235; do not report both"
                    d.say(re.sub(r"^(?:It|This code)\b", cs.display_code(r.record.code, r.record.system), s), doc)

    def _pair_guidance(self, d: Draft, route: rt.Route, question: str, timings: dict | None) -> None:
        """The rule that applies to the kind of pair: an E/M visit with a procedure on the same day is
        included in the procedure unless significant and separately identifiable (CPT and NCCI: modifier 25)."""
        recs = [r.record for r in route.codes if r.records]
        em = [r for r in recs if r.system == cs.CPT and cs.is_em(r.code)]
        procs = [r for r in recs if r not in em]
        if not (em and procs):
            return
        query = "significant separately identifiable E/M service on the same day as a minor procedure modifier 25"
        hits = self.retriever.search(query, ["corpus_modifier", "corpus_guideline", "corpus_policy"], k=6,
                                     timings=timings)
        ranked = rank_documents(hits)
        docs = [hs[0].doc for _, hs in ranked[:2]]
        for di, s in best_sentences(query, docs, limit=3, per_doc=2):
            if not self._has_unknown_code(s):
                d.say(s, docs[di])

    def _has_unknown_code(self, sentence: str) -> bool:
        return any(not r.records for r in rt.resolve_mentions(sentence, self.store))

    # -- description -> code -------------------------------------------------------------------
    def describe(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        """Description -> code; a case narrative that matches nothing as a whole is searched by the diagnosis it
        states ("... Final dx: atypical chest pain": casepilot.stated), which is what the code is assigned to."""
        if route.inherited and route.prior and not route.codes:
            # "what if it's RSV pneumonia instead?" after "code for RSV bronchiolitis in a 6 mo old": the case as changed
            question = rt.changed_case(route.prior, question)
            d = self._describe(route, question, timings)
            d.notices.append(f'Read with the earlier question, as: "{question}".')
            return d
        d = self._describe(route, question, timings)
        # A closest match from the whole story stays: replaced by a sure match on the stated diagnosis, the case lost
        # its other conditions and its insulin or stage codes more often than it gained the first code (tuning)
        if d.answered or route.had:
            return d
        # (and only for a message that wants a code, asking nothing a reference cannot hold: "Final dx: X. prognosis?"
        # is declined whatever X is; the cheap reading first, the scope checks only for a narrative that has a clause)
        stated = stated_diagnosis(question) if route.intent == rt.DESCRIPTION_TO_CODE or rt.asks_for_a_code(question) \
            else None
        if stated is None or any(scope_signals(question).values()) or self._outright(question):
            return d
        clause = strip_question(stated)
        system = route.system or infer_system(clause, self.retriever.spell(clause))
        sub = self._describe(rt.Route(route.intent, [], system), clause, timings)
        if not sub.answered or sub.decision is None or sub.decision.label == DECLINE:
            d.searched.extend(s for s in sub.searched if s not in d.searched)
            return d
        sub.searched[:0] = [s for s in d.searched if s not in sub.searched]
        sub.notices.insert(0, f'Matched on the diagnosis the case states ("{clause}"), not on the whole narrative; '
                              "code the rest of the case (external cause, other conditions) on its own.")
        return sub

    def _describe(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        d = Draft(route.intent)
        query = self.retriever.spell(strip_question(question))
        # the spelling repaired against the indexes' words names a procedure too ("thoracentisis")
        # the codes the asker already has name the code set of the one asked for ("E11.621 is already coded - what
        # goes with it for the ulcer?" wants the L97 code, however the description words the debridement)
        had = {r.record.system for r in route.codes if r.mention.code in route.had and r.records}
        system = route.system or (had.pop() if len(had) == 1 and had <= {cs.ICD10CM, cs.ICD10PCS} else None) \
            or infer_system(question, query)
        colls = {
            cs.ICD10CM: ["icd10cm"], cs.ICD10PCS: ["icd10pcs"],
            cs.CPT: ["cpt_licensed", "corpus_code_summary"], cs.HCPCS: ["hcpcs", "corpus_code_summary"],
        }[system]
        if system == cs.ICD10CM:
            query = without_procedure_purpose(query)
        scope = self._scope_decision(question)
        if scope is not None:
            # "our chargemaster price for a lap chole": the procedure is known, what is asked of it is not
            d.searched.append(f"{_label(system)} descriptions for: {query}")
            self._decline(d, scope, [])
            return d
        if system == cs.ICD10PCS and self._pcs_from_index(d, query):
            return d
        if route.had:
            # the codes the asker already has are not the answer, nor words to search for
            for r in route.codes:
                if r.mention.code in route.had:
                    query = query.replace(r.mention.raw, " ")
        within = [r.record.code for r in route.codes if r.records and r.record.billable is False
                  and r.mention.code not in route.had]
        if within:
            # "which I50 code": only codes below the named headings
            query = " ".join(query.replace(r.mention.raw, " ") for r in route.codes[:1]) if route.codes else query
            hits = [h for h in self.retriever.search(query, colls, k=60, timings=timings)
                    if any(str(h.doc.metadata.get("code", "")).startswith(c) for c in within)][:5]
        elif route.had:
            hits = [h for h in self.retriever.search(query, colls, k=8, timings=timings)
                    if str(h.doc.metadata.get("code", "")).upper().replace(".", "") not in route.had][:5]
        else:
            hits = self.retriever.search(query, colls, k=5, timings=timings)
        d.searched.append(f"{_label(system)} descriptions ({', '.join(colls)}) for: {query}"
                          + (f" (below {', '.join(within)})" if within else ""))
        if system == cs.ICD10CM and not within:
            ask = history_asked(query)
            hits = _history_named_first(ask, hits)
            if self._history_from_ranges(d, query, ask, hits, timings):
                return d
        decision = describe_decision(query, hits, rt.poses_other_question(question))
        if route.intent == rt.DESCRIPTION_TO_CODE and (decision.label == DECLINE or (
                not words_agree(decision) and rt.asks_about_rules(question) and not rt.ends_asking_code(question))):
            # "How do I code a sequela?" asks for the rule, not a code ("..., what is the code" asks for one);
            # "what's the code for urosepsis", "pcs excision vs resection": no code matches, and the guidance may
            # say why or answer the topic.
            guided = self.guideline(rt.Route(rt.GUIDELINE, route.codes, route.system), question, timings)
            # ... but a CPT or HCPCS code's summary is no answer to a question that names ICD-10-CM or PCS ("CT:
            # stone in the L ureter. Which ICD-10 code covers it?" is N20.x, not CT 74176); "obs pt admitted and
            # discharged the same date, codes?" names no code set, and the E/M summary answers it
            if guided.answered and not (route.system in (cs.ICD10CM, cs.ICD10PCS) and _leads_with_code_summary(guided)) \
                    and not _in_scope_only(guided.decision):
                return guided
        if decision.label == DECLINE and route.intent == rt.DESCRIPTION_TO_CODE and hits \
                and relevance(query, hits[0]) >= _CLOSE_ENOUGH and self._surely_coding(question):
            # a plain description ("new pt endo clinic, graves dz, no storm documented") whose closest code the
            # model doubts: given as the closest match, with the notice, rather than declined
            decision = _in_part_for_a_coding_question(decision)
        d.decision = decision
        if decision.label == DECLINE:
            d.answered = False
            # Candidates are only worth showing when they share something real with the question.
            close = [h for h in hits[:3] if relevance(query, h) >= _CLOSE_ENOUGH]
            if close:
                d.notices.append(
                    f"No {_label(system)} code clearly matches this description; check the closest candidates "
                    "below against the tabular, or add detail (type, site, laterality, acuity)."
                )
            else:
                d.notices.append(f"No {_label(system)} code matches this description in CasePilot's sources.")
                # the answer itself says so and what was searched, not only a notice
                d.say(f"No {_label(system)} code matches this description in CasePilot's sources")
            for h in close:
                rec = self._hit_record(h)
                if rec:
                    d.say(f'Closest candidate (not a confirmed match): {cs.display_code(rec.code, rec.system)} '
                          f'"{rec.title}"', h.doc)
            d.say("Searched: " + "; ".join(d.searched))
            return d
        first_by = hits[0]
        code_first, cite_first = None, []
        # "what's the T code for the adverse effect": the question asks for a code of one chapter, and the first
        # hit is one; the tabular's sequence (the reaction first) is not what it asks
        first_rec = self._hit_record(hits[0])
        asked_letter = first_rec is not None and first_rec.code[:1] in explicit_letters(question)
        # (nor when the asker has the other codes already: "I have G30.1 first -- what's the dementia code?")
        if not asked_letter and not route.had:
            hits, code_first = self._code_first(query, hits)
            if code_first is None:
                hits, code_first = self._code_first(query, hits, ("excludes1", "excludes2"))
            if code_first is None:
                hits, code_first, cite_first = self._condition_first(query, hits, colls, timings)
        top = hits[0]
        rec = self._hit_record(top)
        if rec is None:  # a corpus passage rather than a code record
            return self.guideline(route, question, timings)
        lead = "best match"
        if decision.label == PARTIAL:
            # a likely code, not a sure one: said as such, with what would settle it
            lead = "closest match"
            d.notices.append(f"CasePilot is not sure this {_label(rec.system)} code matches the description; check it "
                             "and the alternatives against the tabular, or add detail (type, site, laterality, acuity).")
        look = self.store.lookup(rec.code, rec.system)
        display = cs.display_code(rec.code, rec.system)
        child = default_child(query, rec, look.billable_below) if rec.billable is False else None
        found_below = None
        if rec.billable is False and child is None:
            # "melanoma of the skin of the left lower leg": the heading C43 covered the question's words best, and
            # a billable code below it that the search found close behind (C43.72, left lower limb) says which
            found_below, child = self._found_below(query, rec, hits[1:5])
        if child is not None:
            # A heading matched best: the tabular's default below it (the child the question's words
            # name, else "unspecified", else "other") is the code a claim can carry.
            heading, rec = rec, child
            look = self.store.lookup(rec.code, rec.system)
            top_doc = self.record_doc(rec)
            d.say(f'The {lead} in {_label(rec.system)} is {cs.display_code(rec.code, rec.system)} "{rec.title}"',
                  top_doc, top.doc)
            if found_below is not None:
                d.say(f"{display} \"{heading.title}\" is a heading; of the billable codes below it, "
                      f"{cs.display_code(rec.code, rec.system)} is the one the search found for the question's words",
                      top.doc, found_below.doc)
            else:
                d.say(f"{display} \"{heading.title}\" is a heading; with no more detail than the question gives, "
                      f"the code below it is {cs.display_code(rec.code, rec.system)}", top.doc)
            display = cs.display_code(rec.code, rec.system)
            d.say(f"{display} is billable", top_doc)
            top = Hit(top_doc.id or "", top.score, top_doc, top.signals)
        else:
            d.say(f'The {lead} in {_label(rec.system)} is {display} "{rec.title}"', top.doc)
        if child is not None:
            pass
        elif rec.billable is False and look.billable_below:
            below = ", ".join(f'{c.display} ("{c.title}")' for c in look.billable_below[:4])
            d.say(f"{display} is a heading, not billable; choose the specific code, such as {below}", top.doc)
        elif rec.billable:
            d.say(f"{display} is billable", top.doc)
        if code_first is not None and (was := self._hit_record(first_by)) is not None:
            d.say(f"{display} comes first: {code_first}", first_by.doc, *cite_first)
            chosen_first = was.code
        else:
            chosen_first = None
        chosen = {rec.code}
        picks = self._note_codes(query, look)
        by_level = {cs.display_code(a.code, a.system): a for a in look.ancestors}
        for n in [*look.record.notes, *look.inherited]:
            # chapter-wide instructions (tobacco exposure, ...) are generic: the lookup shows them
            if n.type in INSTRUCTION_NOTES and not n.level.startswith("Chapter"):
                # an inherited note cites the heading that carries it, where a reader (and the check
                # that a cited passage shows each code) finds its text
                src = self.record_doc(by_level[n.level]) if n.level in by_level else top.doc
                d.say(f"{NOTE_LABELS[n.type]} ({n.level}): {_flat(n.text)}", src)
                for pick in (p for p, m in picks if m is n and p.code not in chosen):
                    chosen.add(pick.code)
                    self._say_pick(d, pick, src)
        if chosen_first is not None and was.system == rec.system:
            # the code that now comes second keeps its own "Use additional code" sets ("couldn't afford refills"
            # beside an underdosing code: Z91.120)
            was_look = self.store.lookup(was.code, was.system)
            was_levels = {cs.display_code(a.code, a.system): a for a in was_look.ancestors}
            for pick, n in self._note_codes(query, was_look):
                if pick.code not in chosen | {was.code}:
                    chosen.add(pick.code)
                    src = self.record_doc(was_levels[n.level]) if n.level in was_levels else first_by.doc
                    d.say(f"With {cs.display_code(was.code, was.system)}, its {NOTE_LABELS[n.type]} note "
                          f"({n.level}) and the question's details point to "
                          f'{cs.display_code(pick.code, pick.system)} "{pick.title}"', self.record_doc(pick), src)
        if rec.system == cs.ICD10CM:
            said = [rec.title, *(a.title for a in look.ancestors), *inclusion_terms(top.doc.page_content),
                    *(c.title for code in chosen - {rec.code} if (c := self.store.get(rec.system, code)))]
            if chosen_first is not None:
                said.append(was.title)
            for clause, h, other in self._other_conditions(query, said, chosen | {chosen_first or ""}, colls, timings):
                chosen.add(other.code)
                d.say(f'The question also states "{clause}": {cs.display_code(other.code, other.system)} '
                      f'"{other.title}"', h.doc)
        others = []
        for h in hits[1:4]:
            o = self._hit_record(h)
            # Alternatives only when they share the question's substance, not one word of it.
            if o and o.code not in chosen | {chosen_first} and o.billable is not False and relevance(query, h) >= 0.5:
                others.append((o, h))
        for o, h in others:
            d.say(f'Also consider {cs.display_code(o.code, o.system)} "{o.title}"', h.doc)
        return d

    def _note_picks(self, query: str, system: str, text: str, said: list[str], most: int = 200) -> list[CodeRecord]:
        """For each set of codes a "Use additional code" or "Code also" note offers, the one the question's words
        select ("CKD 3b" for "stage of chronic kidney disease (N18.1-N18.4, N18.9)": N18.32); a set wider than
        ``most`` codes ("any associated condition") selects nothing, nor do the words ``said`` (the titles of the
        code and its headings) already account for."""
        out = []
        for group in note_groups(text):
            cands = [c for lo, hi in group for c in self.store.billable_in(system, lo, hi, most + 1)]
            if len(cands) <= most:
                out.extend(stated_choices(query, cands, said))
        return out

    def _note_codes(self, query: str, look: Lookup) -> list[tuple[CodeRecord, Note]]:
        """The codes the question states from each "Use additional code" or "Code also" set among a code's own and
        inherited notes (chapter-wide ones aside), with the note that offers each."""
        said = [look.record.title, *(a.title for a in look.ancestors)]
        return [(pick, n) for n in [*look.record.notes, *look.inherited]
                if n.type in ADDED_CODE_NOTES and not n.level.startswith("Chapter")
                for pick in self._note_picks(query, look.record.system, n.text, said)]

    def _say_pick(self, d: Draft, pick: CodeRecord, note_doc: Document) -> None:
        """Name a code a note's set offers for the question, citing it and the note."""
        d.say(f"Of those, the question's details point to {cs.display_code(pick.code, pick.system)} "
              f'"{pick.title}"', self.record_doc(pick), note_doc)

    def _found_below(self, query: str, heading: CodeRecord, hits: list[Hit]) -> tuple[Hit | None, CodeRecord | None]:
        """The first of ``hits`` that is a billable code below ``heading`` and shares the question's substance
        (as an "Also consider" must), with its record; (None, None) if there is none."""
        return next(((h, o) for h in hits if (o := self._hit_record(h)) is not None and o.billable
                     and o.system == heading.system and _below(heading, o.code)
                     and relevance(query, h) >= 0.5), (None, None))

    def _code_first(self, query: str, hits: list[Hit], types: tuple[str, ...] = ("code_first",)) -> tuple[list[Hit], str | None]:
        """The ranked codes in the tabular's sequence: when the first one's "Code first" note names a condition
        the question states beyond that code's title ("hypertension" for N18.6's "hypertensive chronic kidney
        disease (I12.-, I13.-)"), the code for it comes first (I.A.13, I.C.9.a.2): a close candidate that has it,
        else the billable code under the note's heading that the question's words select ("htn, acute on chronic
        diastolic CHF and CKD 3b": I50's note names I13.-, and I13.0 says heart failure with stage 1-4 CKD).
        With ``types`` the Excludes notes, the same reading sends a question to the code an exclusion names for
        exactly what it states (J44.1 excludes "COPD with acute bronchitis (J44.0)"; I.A.12).
        Returns the hits and why ('the "Code first" note of N18.6 "..." names ...') when it reordered them."""
        rec = self._hit_record(hits[0]) if hits else None
        if rec is None or rec.system != cs.ICD10CM:
            return hits, None
        look = self.store.lookup(rec.code, rec.system)
        denied = with_stems(set(tokens(expand_query(" ".join(question_negations(query))))))
        # the question's words as typed and as spelled out ("COPD" in a note's "[COPD]" and "chronic obstructive ...")
        said = with_stems(set(tokens(expand_query(query))) | set(tokens(query))) - denied
        # what the code and its headings already say ("chronic kidney disease" is N18's) is no extra condition
        own = with_stems({w for t in [rec.title, *(a.title for a in look.ancestors)] for w in tokens(t)})
        title_own = with_stems(set(tokens(rec.title)))
        named = []  # (how much the condition says beyond the code, its wording, its codes)
        notes = [n for n in [*look.record.notes, *look.inherited] if n.type in types and not n.level.startswith("Chapter")]
        for phrase, prefixes in code_first_targets(n.text for n in notes):
            # (the "s" of "Alzheimer's" is no word of its own)
            extra = {w for w in tokens(phrase) if w not in own and stem(w) not in own and len(w) > 1} - _FUNCTION_WORDS
            if any(w in denied or stem(w) in denied for w in tokens(phrase)):
                continue  # "nail not involved": a note about "open wound of finger involving nail" does not apply
            # an excluded condition is another condition: the question states the words it shares with the code's
            # own title too ("tachy-brady syndrome" says no "sinus" of I49.5's "sinus bradycardia"), not only
            # what the code's title leaves out; a heading's words ("tibia" of S82.1) may stay unsaid
            whole = extra if types == ("code_first",) else extra | (
                {w for w in tokens(phrase) if w in title_own or stem(w) in title_own} - _FUNCTION_WORDS)
            if extra and all(w in said or stem(w) in said for w in whole):
                named.append((len(extra), phrase, prefixes))
        named.sort(key=lambda t: -t[0])  # the condition that states most of the question first
        label = '"Code first" note' if types == ("code_first",) else "Excludes note"
        because = f'the {label} of {cs.display_code(rec.code, rec.system)} "{rec.title}"'
        def why(phrase: str, code: str) -> str:
            if types == ("code_first",):
                return f"{because} names {phrase}"
            return f'{because} sends "{phrase}" to {cs.display_code(code, rec.system)}'

        for _, phrase, prefixes in named:
            for i, h in enumerate(hits[1:3], start=1):
                # (not one asserting what the question denies: "HTN, CKD 3b, no heart failure" is no I13.1-)
                if (str(h.doc.metadata.get("code", "")).startswith(prefixes) and relevance(query, h) >= 0.5
                        and not h.signals.get("negation_penalty")):
                    return [h, *hits[:i], *hits[i + 1:]], why(phrase, str(h.doc.metadata.get("code", "")))
            for prefix in prefixes:
                heading = self.store.get(rec.system, prefix)
                if heading is None:
                    continue
                pick = heading if heading.billable else default_child(
                    query, heading, self.store.billable_descendants(heading))
                if pick is None or pick.code == rec.code:
                    continue
                h = Hit(pick.extra.get("passage_id") or f"{pick.system}:{pick.code}", hits[0].score,
                        self.record_doc(pick))
                # (the question may state much else, the manifestation's detail above all: "late onset alzheimers
                # w mild dementia, no behavioral disturbance" says most of G30.1 "Alzheimer's disease with late onset")
                if relevance(query, h) >= 0.5 or title_said(query, pick.title) >= 0.75:
                    return [h, *hits], why(phrase, pick.code)
        return hits, None

    def _condition_first(self, query: str, hits: list[Hit], colls: list[str],
                         timings: dict | None) -> tuple[list[Hit], str | None, list[Document]]:
        """The tabular's sequence when the first code's "Code first" note names no code but a kind of condition
        ("for adverse effects, the nature of the adverse effect", "underlying disease") and the question states
        one in words the code leaves unsaid: "chronic dry cough from lisinopril" codes R05.3 before T46.4X5A
        (I.C.19.e.5.a, I.A.13). The clause is searched on its own and must be a sure match of another category.
        A sequencing rule the tabular states in no note (casepilot/data/sequencing.toml: an underdosing code is
        never first-listed) works the same way, citing the corpus passage that states it.
        Returns the hits, what the note or rule asks for, and the passage to cite beside the code."""
        rec = self._hit_record(hits[0]) if hits else None
        if rec is None or rec.system != cs.ICD10CM:
            return hits, None, []
        look = self.store.lookup(rec.code, rec.system)
        title = rec.title.lower()
        asks = next((p for n in [*look.record.notes, *look.inherited]
                     if n.type == "code_first" and not n.level.startswith("Chapter")
                     and (p := generic_code_first(n.text))
                     # ", for adverse effects, ...": only a code of that kind
                     and not ((m := re.match(r"for (\w+ \w+),", p)) and m.group(1).rstrip("s") not in title)), None)
        cite: list[Document] = []
        kind: set[str] = set()  # what the note names the condition as ("malignant neoplasm"), beyond generic words
        if asks is not None:
            asked = re.sub(r"^for [^,]+,\s*", "", asks)
            kind = set(tokens(asked)) - _GENERIC_ASK
            asks = f'the "Code first" note of {cs.display_code(rec.code, rec.system)} "{rec.title}" asks for ' + asked
        elif (rule := sequencing_rule(rec.title)) is not None:
            cite = list(self.passages.get([rule.passage]).values())
            asks = rule.first.format(code=f'{cs.display_code(rec.code, rec.system)} "{rec.title}"') if cite else None
        if asks is None:
            return hits, None, []
        said = word_bag(" ".join([rec.title, *(a.title for a in look.ancestors), *inclusion_terms(hits[0].doc.page_content)]))
        unsaid = unsaid_clauses(query, said)
        searches = unsaid[:2]
        if kind and unsaid:
            # "invasive ductal carcinoma, R breast, upper outer quadrant" for Z17.0's "malignant neoplasm": the
            # condition is all the clauses together, not the side alone
            searches.append(" ".join(unsaid[:4]))
        for clause in searches:
            found = self.retriever.search(clause, colls, k=5, timings=timings)
            other = self._hit_record(found[0]) if found else None
            # another condition, not a drug, toxic or external cause code (T36-T65, V00-Y99), and of the kind the
            # note names ("Fibroadenosis of right breast" is no malignant neoplasm)
            if (other is not None and other.code[:3] != rec.code[:3] and not _DRUG_OR_CAUSE.match(other.code)
                    and kind <= with_stems(set(tokens(other.title)))
                    and (sure := describe_decision(clause, found)).label == ANSWER and words_agree(sure)):
                # ", for adverse effects, the nature of the adverse effect": what it asks for
                return [found[0], *hits], asks, cite
        return hits, None, []

    def _other_conditions(self, query: str, said: list[str], chosen: set[str], colls: list[str],
                          timings: dict | None) -> list[tuple[str, Hit, CodeRecord]]:
        """The conditions a description lists beside the one coded ("htn, hld"; "persistent afib, on eliquis long
        term"): each clause that no chosen code's words cover, searched on its own, with the billable code it
        surely matches in a category none of the chosen codes is in (I.B.9: code each condition a description
        states; a clause matched only partly is left to the coder)."""
        out: list[tuple[str, Hit, CodeRecord]] = []
        categories = {c[:3] for c in chosen if c}
        for clause in unsaid_clauses(query, word_bag(" ".join(said)))[:2]:
            found = self.retriever.search(clause, colls, k=5, timings=timings)
            other = self._hit_record(found[0]) if found else None
            if (other is None or not other.billable or other.code[:3] in categories
                    or (sure := describe_decision(clause, found)).label != ANSWER or not words_agree(sure)):
                continue
            categories.add(other.code[:3])
            out.append((clause, found[0], other))
        return out

    def _pcs_from_index(self, d: Draft, query: str) -> bool:
        """PCS the way coders work: Alphabetic Index → table and body part → the axes the question states.

        False when no index term matches (the caller then searches the code titles).
        """
        from casepilot.pcsindex import default_index

        d.searched.append(f"ICD-10-PCS Alphabetic Index for: {query}")
        cands = [(c, rec) for c in default_index().candidates(expand_query(query, pcs=True), k=6)
                 if (rec := self.store.get(cs.ICD10PCS, c.code)) is not None]
        if not cands:
            return False
        top, rec = cands[0]
        tied = [(c, r) for c, r in cands if c.score >= top.score - 1e-6]
        if len(tied) > 1:
            # The index and the question leave an axis open (device, qualifier): show the choices.
            d.say(f"The ICD-10-PCS Alphabetic Index leads to {len(tied)} codes that the question does not "
                  "settle between; the operative report decides")
            for c, r in tied:
                d.say(f'{r.code} "{r.title}" ({c.why})', self.record_doc(r), bullet=True)
            d.decision = Decision(PARTIAL, 0.5)
            return True
        # the index, the CMS ICD-9-CM -> ICD-10-PCS GEMs, or both led here (casepilot/pcsgems.py)
        index_doc = _pcs_index_doc(top, rec)
        doc = self.record_doc(rec)
        d.say(f'The best match in ICD-10-PCS is {rec.code} "{rec.title}"', doc, index_doc)
        d.say(f"How it was reached in {_PCS_VIA.get(top.source, _PCS_VIA['index'])}: {top.why}", index_doc)
        if "not stated" in top.why:
            d.notices.append("The question does not state every axis (approach, device, qualifier): "
                             "check the candidates against the operative report.")
        for c, other in cands[1:4]:
            if c.score >= top.score - 2:
                d.say(f'Also consider {other.code} "{other.title}"', self.record_doc(other), bullet=True)
        d.decision = Decision(ANSWER, 1.0)
        return True

    def _history_ranges(self, kind: str) -> dict[str, list[tuple[str, str]]]:
        """The history codes of one kind (family / personal) with their "Conditions classifiable to" ranges."""
        cache = self.__dict__.setdefault("_history_cache", {})
        if kind not in cache:
            prefix = "family history" if kind == FAMILY else "personal history"
            cache[kind] = {r.code: spans for r in self.store.with_note(cs.ICD10CM, "classifiable to")
                           if r.title.lower().startswith(prefix)
                           and (spans := [s for n in r.notes for s in parse_ranges(n.text)])}
        return cache[kind]

    def _history_from_ranges(self, d: Draft, query: str, ask: HistoryAsk | None, found: list[Hit],
                             timings: dict | None) -> bool:
        """History of a condition, the way the tabular words it: code the condition, then take the history code
        whose "Conditions classifiable to" range holds it ("family history of colon cancer": C18.9 is in
        Z80.0's C15-C26). False when the question asks no history, the condition is not coded with
        confidence, or no range holds it (the caller then searches the titles: "Z86.010 Personal history of
        colon polyps" names its condition)."""
        if ask is None or (found and _names_history(ask, found[0])):
            return False
        if ask.kind != FAMILY and status_of(query):
            return False  # "history of kidney transplant": what a past procedure left is a status (Z94.0)
        hits = [h for h in self.retriever.search(ask.condition, ["icd10cm"], k=10, timings=timings)
                if not str(h.doc.metadata.get("code", "")).upper().startswith("Z")][:5]
        sure = describe_decision(ask.condition, hits)
        cond = self._hit_record(hits[0]) if hits and sure.label != DECLINE else None
        ranges = self._history_ranges(ask.kind)
        holders = covering(cond.code, ranges) if cond is not None else []
        if not holders:
            return False
        hist = self.store.get(cs.ICD10CM, holders[0])
        if hist is None:
            return False
        look = self.store.lookup(hist.code, cs.ICD10CM)
        named = [str(h.doc.metadata.get("code", "")) for h in found[:3]] + [cond.code]
        if any(excluded_here(n.text, named) for n in [*look.record.notes, *look.inherited]
               if n.type in ("excludes1", "excludes2")):
            # "history of MI": Z86.7 excludes old myocardial infarction (I25.2), which the title search found
            return False
        d.searched.append(f"ICD-10-CM {ask.kind} history codes (\"Conditions classifiable to\") for: {ask.condition}")
        holder, holder_doc = hist, self.record_doc(hist)  # the code whose range holds the condition
        if hist.billable is False:
            hist = default_child(ask.condition, holder, look.billable_below)
            if hist is None:
                return False
        doc = self.record_doc(hist) if hist is not holder else holder_doc
        display, cond_display = cs.display_code(hist.code, cs.ICD10CM), cs.display_code(cond.code, cs.ICD10CM)
        lead = "best match" if sure.label == ANSWER else "closest match"
        d.say(f'The {lead} in ICD-10-CM is {display} "{hist.title}"', doc)
        spans = ", ".join(cs.display_code(lo, cs.ICD10CM) if lo == hi else
                          f"{cs.display_code(lo, cs.ICD10CM)}-{cs.display_code(hi, cs.ICD10CM)}"
                          for lo, hi in ranges[holder.code])
        d.say(f'{cs.display_code(holder.code, cs.ICD10CM)} "{holder.title}" is for conditions classifiable to '
              f'{spans}, and {ask.condition} is {cond_display} "{cond.title}"', holder_doc, hits[0].doc)
        if hist is not holder:
            d.say(f"{cs.display_code(holder.code, cs.ICD10CM)} is a heading; the code below it for this "
                  f"history is {display}", holder_doc)
        d.say(f"{display} is billable", doc)
        if sure.label == PARTIAL:
            d.notices.append(f"CasePilot is not sure {cond_display} is the condition meant; the history code "
                             "depends on it, so check both against the tabular.")
        d.decision = Decision(sure.label, sure.score, sure.features)
        return True

    def _hit_record(self, h: Hit) -> CodeRecord | None:
        m = h.doc.metadata
        code, system = m.get("code"), m.get("system")
        if code and system:
            return self.store.get(system, code)
        codes = str(m.get("codes", "")).split(",")
        if len(codes) == 1 and codes[0]:
            found = self.store.find(codes[0])
            return found[0] if found else None
        return None

    # -- guidance ----------------------------------------------------------------------------
    def decide(self, question: str, hits: list[Hit]) -> Decision:
        """The calibrated answer/partial/decline decision for ``question`` on the evidence ``hits`` (best first)."""
        texts = [_searchable(h.doc) for h in hits[:3]]
        top = hits[0] if hits else None
        return decide(features(
            question, texts, top.signals.get("cosine", 0.0) if top else 0.0,
            _heading(top) if top else "",
            self.retriever.idf, self.retriever.known))

    def _root_operation_of(self, d: Draft, question: str) -> bool:
        """"Which root operation is a below knee amputation?": the Alphabetic Index reads the procedure, and
        the answer is the root operation of the code it leads to, with the official definition. False when the
        question asks no root operation for a procedure (or names the root operation itself: "what does
        Excision mean" is the definition's own passage)."""
        from casepilot.pcsindex import default_index, root_passage_id

        if not _ROOT_OP_ASK.search(question):
            return False
        index = default_index()
        if set(tokens(question)) & {w for k in index.root_ops for w in k.split()}:
            return False
        procedure = " ".join(_ROOT_OP_WORDS.sub(" ", question).split()).strip(" ?.-/")
        if not procedure or not is_procedure(procedure):
            return False
        found = [(c, rec) for c in index.candidates(expand_query(procedure, pcs=True), k=3)
                 if (rec := self.store.get(cs.ICD10PCS, c.code)) is not None]
        if not found:
            return self._index_root_operation(d, procedure)
        top, rec = found[0]
        root_id = root_passage_id(rec.code)
        root = self.passages.get([root_id]).get(root_id)
        if root is None:
            return False
        name = re.sub(r" \(.*\)$", "", root.metadata.get("title", "")).rsplit(" ", 1)[-1]  # "Delivery (Obstetrics)"
        definition = _root_definition(root)
        index_doc = _pcs_index_doc(top, rec)
        d.say(f"In ICD-10-PCS, {procedure} is coded with the root operation {name} (third character "
              f"{rec.code[2]}), following {_PCS_VIA.get(top.source, _PCS_VIA['index'])} ({top.why})", root, index_doc)
        d.say(f"{name}: {definition}", root)
        d.say(f'For example, {rec.code} "{rec.title}"; the body part, approach, device and qualifier come from '
              "the operative report", self.record_doc(rec))
        d.decision = Decision(ANSWER, 1.0)
        return True

    def _index_root_operation(self, d: Draft, procedure: str) -> bool:
        """"What root operation is a thrombectomy?": the Index sends the term to a root operation with no body part
        ("Thrombectomy see Extirpation"); the answer is that root operation and its definition."""
        from casepilot.pcsindex import default_index

        term = re.sub(r"^(?:an?|the)\s+", "", procedure.strip(), flags=re.I)
        ops = default_index().root_operations_of(term)
        roots = [(sub, name, self.passages.get([f"pcs-root:{op}"]).get(f"pcs-root:{op}"), op) for sub, name, op in ops]
        if not roots or any(doc is None for _, _, doc, _ in roots):
            return False
        for sub, name, doc, op in roots:
            definition = _root_definition(doc)
            which = f"{sub.lower()} {term}" if sub else term
            d.say(f"In ICD-10-PCS, the Alphabetic Index sends {which} to the root operation {name} (third character "
                  f"{op} in the Medical and Surgical section): {definition}", doc)
        d.say("The body part, approach, device and qualifier then come from the operative report", roots[0][2])
        d.decision = Decision(ANSWER, 1.0)
        return True

    def guideline(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        """Guidance at topic level: the best document answers, its summary first when the question is broad."""
        d = Draft(route.intent)
        if self._declined_outright(d, question):
            return d
        if self._root_operation_of(d, question):
            d.searched.append(f"ICD-10-PCS Alphabetic Index for: {question}")
            return d
        coded = None
        if route.intent == rt.GUIDELINE and rt.asks_for_a_code(question) and (
                not rt.names_a_rule(question) or rt.asks_first_code(question)) \
                and not (route.codes and rt.asks_rule_about_codes(question, bool(route.procedures()))) \
                and not rt.asks_documentation_rule(question):
            # "..., what is the T code for the adverse effect?": a description that asks for its code is
            # answered by a sure code match first, by the guidance when that is sure, else by the closest code.
            coded = self.describe(route, question, timings)
            if coded.answered and coded.decision is not None and (
                    coded.decision.label == ANSWER or (rt.asks_first_code(question) and coded.decision.label == PARTIAL)):
                return coded
        colls = list(KNOWLEDGE_COLLECTIONS)
        # a pasted chart header ("pt Mary Jones dob 3/3/44 - who signs the ABN?") is no topic to search for
        query = " ".join(without_patient_details(question).split()) or question
        # "99393 ... and the ear infection too, how do i bill both": a code in a rule question stands for its service,
        # whose name (the record's title) is what the guidance on that service says
        # (only there: a question that names its rule, "which modifier", or asks of a table, is searched by its own
        # words; the services' names would pull their own summaries over the rule)
        named = [r.records[0].title for r in route.codes if r.records and r.mention.systems != (cs.MODIFIER,)] \
            if rt.asks_rule_about_codes(question, bool(route.procedures())) and not rt.names_a_rule(question) \
            and not rt.asks_which_add_on(question) else []
        query = " ".join([query, *list(dict.fromkeys(named))[:3]])
        hits = self.retriever.search(query, colls, k=12, timings=timings)
        d.searched.append("guidance: " + ", ".join(c for c in colls if c in self.retriever.available))
        if quoted := remittance_codes_of(question):
            # a denial quoted by its reason code ("CO-109, why?") is answered by a section on that code or not at
            # all: another reason code's section would be a confident wrong answer (so is an overview's outline)
            def on_code(found: list[Hit]) -> list[Hit]:
                return [h for h in found if h.collection not in DOC_LEVEL
                        and any(names_remittance_code(h.doc.page_content, c) for c in quoted)]
            hits = on_code(hits) or on_code(self.retriever.search(" ".join(quoted), colls, k=12, timings=timings))
            if not hits:
                d.searched[-1] += " (no passage on " + ", ".join(quoted) + ")"
                self._decline(d, None, [])
                return d
        asks_modifier = rt.asks_for_a_modifier(question)
        if asks_modifier:
            hits = without_side_modifiers_unless_a_side(without_modifiers_said_as_words(hits, question), question)
        ranked = rank_documents(hits)
        if asks_modifier:
            ranked = modifier_documents_first(ranked)
        elif route.system == cs.ICD10PCS or (rt.asks_whether_to_code(question) and not route.procedures()):
            # (whether to code a diagnosis at all, "r/o PE ... can i code the PE?", is a rule of the diagnosis
            # guidance, not of the CT summary the case's study names)
            ranked = non_cpt_documents_first(ranked)
        best = ranked[0][1] if ranked else []
        # (what the evidence must cover: the question with the services its codes name, as searched)
        decision = self.decide(self.retriever.spell(question if not named else query), best) if best else None
        if quoted and decision is not None and decision.label == DECLINE \
                and not any(decision.features.get(k) for k in scope_keys()):
            # the section on the quoted reason code is found as a code record is, by its number: the words around
            # it ("EOB says ... in plain english") need no cover; what the section does not say is flagged
            # (unless a scope signal declined it: "pull the count of Humana's CO-50 denials" asks for a payer's data)
            decision = Decision(PARTIAL, decision.score, decision.features)
        if coded is not None and coded.answered and (decision is None or decision.label != ANSWER):
            return coded
        if (decision is None or decision.label == DECLINE) and route.intent == rt.GUIDELINE \
                and not rt.names_a_rule(question) and not rt.asks_whether_to_code(question):
            # "NSTEMI", "type 1 diabetes with hypoglycemia": a bare description is a code search. A question
            # about a rule ("... what modifier on the E/M") is not, whatever procedure it mentions, nor is one whether
            # to code a condition at all ("r/o rotator cuff tear ... can i code the RC tear?"): its code is no answer.
            coded = coded or self.describe(route, question, timings)
            if coded.answered:
                return coded
            d.searched.extend(s for s in coded.searched if s not in d.searched)
        if decision is not None and decision.label == DECLINE and self._surely_coding(question):
            # "one of our endocrinologists wants to send his patients' labs to a lab his wife owns, allowed?": the
            # case's own words leave the passage's cover low, yet the question is plainly a coding one; the closest
            # passages (there are some: the decision was made on them) are answered in part, flagged so
            decision = _in_part_for_a_coding_question(decision)
        if decision is None or decision.label == DECLINE:
            # the asker's own data, a payer's rates, the future: topics near the words are no help (as in
            # describe), and their titles ("HCPCS Level II") would read as codes
            scoped = any(scope_signals(question).values())
            self._decline(d, decision, [] if scoped else [hs[0] for _, hs in ranked[:3]])
            return d
        d.decision = decision
        self._units_from_minutes(d, question, best)
        self._compose(d, question, hits, ranked)
        if route.system in (cs.ICD10CM, cs.ICD10PCS) and _leads_with_code_summary(d) and not rt.asks_for_a_code(question) \
                and not rt.names_a_rule(question):
            # "... Dual chamber PPM placed day 2. Principal dx?" names ICD-10-CM and no rule: a sure code match answers
            # it rather than the pacemaker insertion's summary ("lipid panel as screening, no dx of hyperlipidemia -
            # medicare frequency??" keeps the lipid panel's summary: no code matches it surely)
            coded = coded or self.describe(route, question, timings)
            if coded.answered and coded.decision is not None and coded.decision.label == ANSWER:
                return coded
        if route.system in (cs.ICD10CM, cs.ICD10PCS) and _leads_with_code_summary(d) and rt.asks_for_a_code(question):
            # "acute appendicitis with perforation ... ICD-10-CM?": a CPT summary (I&D 10061) answers another code
            # set's question; the code search does, or nothing does
            coded = coded or self.describe(route, question, timings)
            if coded.answered:
                return coded
            d = Draft(route.intent, searched=[*d.searched, *(s for s in coded.searched if s not in d.searched)])
            self._decline(d, None, [])
            return d
        if not d.sentences:
            self._decline(d, decision, [hs[0] for _, hs in ranked[:3]])
            return d
        if coded is None and route.intent == rt.GUIDELINE and not route.codes and rt.asks_for_a_code(question) \
                and rt.names_a_rule(question) and not rt.asks_for_a_modifier(question) \
                and not rt.asks_billing_mechanics(question) and route.system in (None, cs.ICD10CM):
            # "6 wk fu R Colles fracture (closed) ... which 7th character and code": the rule it names answers half;
            # the case's code, when the search is sure of it, is the other half, said first
            coded = self.describe(route, question, timings)
            if coded.answered and coded.decision is not None and (
                    coded.decision.label == ANSWER or (coded.decision.label == PARTIAL and words_agree(coded.decision))):
                coded.decision = None if coded.decision.label == ANSWER else coded.decision
                return _joined(coded, d)
            coded = None
        if decision.label == PARTIAL:
            d.notices.append("CasePilot's sources answer this question only in part; check the cited passages.")
        elif coded is not None and coded.answered and coded.label == PARTIAL:
            # A case that asks for its codes ("... diabetic nephropathy, CKD 3b. what codes do I use?") and a rule
            # that applies to it: the rule alone names categories (E08-E13), the case's closest codes alone miss
            # the rule. Both, the case's codes first, as the closest match they are.
            return _joined(coded, d)
        return d

    def _compose(self, d: Draft, question: str, hits: list[Hit], ranked: list[tuple[str, list[Hit]]]) -> None:
        """Lead with one sentence that answers, then the details.

        The lead is the passage whose heading the question names ("root operation Excision"), else the
        best document's summary when the document matched as a whole (its card or one of its declared
        questions), else the best section's best sentence. A broad question (the document matched
        better than any one section) gets the document's sections as a list.
        """
        best = ranked[0][1]
        whole = [h for h in best if h.collection in DOC_LEVEL]
        sections = [h for h in best if h.collection not in DOC_LEVEL]
        # A passage whose heading the question names in full ("root operation Excision") leads when its
        # heading covers more of the question's rare words than the best document's title does.
        card = self._card(best[0].doc.metadata.get("doc_id")) if whole else None
        cover = self._title_cover
        named = max((h for h in hits if h.signals.get("title_named") and h.collection not in DOC_LEVEL),
                    key=lambda h: (cover(question, _heading(h)), h.score), default=None)
        compared = False  # named was chosen against the card's title already
        if named is None and card is not None:
            # "here only to receive chemotherapy ... first-listed code for the encounter?": a section of the best
            # document whose heading ("Admission or encounter solely for chemotherapy ...") names more of the
            # question than the document's title ("Neoplasms") is what the question asks, not the overview.
            # Read with the question's own words: an expansion ("cancer" → "malignant neoplasm") would count
            # one word twice.
            top = max(sections, key=lambda h: (cover(question, _heading(h), own=True), h.score), default=None)
            if top is not None and cover(question, _heading(top), own=True) > \
                    cover(question, card.metadata.get("title", ""), own=True):
                named, compared = top, True
        if named is not None and card is not None and not compared:
            # ties go to the more specific title: the one the question names more of
            asked = {stem(w) for w in content_words(question)}

            def key(title: str) -> tuple[float, float]:
                words = set(tokens(title)) - _GENERIC_TITLE
                return cover(question, title), len({stem(w) for w in words} & asked) / (len(words) or 1)
            if key(card.metadata.get("title", "")) >= key(_heading(named)):
                named = None
        broad = named is None and card is not None and best[0].collection in DOC_LEVEL
        outline = self._sections(card, sections) if broad else []  # the overview's sections, fetched once
        titled: set[str] = set()  # sections whose code a sentence has named already
        if named is not None:
            # a section chosen over the overview answers in its own words: a little more of it leads
            n = 3 if compared else 2
            for _, s in best_sentences(question, [named.doc], limit=n, per_doc=n):
                if not self._has_unknown_code(s):
                    d.say(subject_first(s, named.doc, titled), named.doc)
        elif card is not None and card.metadata.get("summary"):
            if broad and (lead := self._answering_sentence(card, question, outline)):
                # "what's the code for urosepsis": the one sentence that says what the overview does not leads
                d.say(lead[1], lead[0])
            d.say(card.metadata["summary"], card)
        if broad:
            self._outline(d, question, outline)
        else:
            docs = [h.doc for h in sections if named is None or h.id != named.id][:3]
            for di, s in best_sentences(question, docs, limit=4 if d.sentences else 5, per_doc=2):
                if not self._has_unknown_code(s):
                    d.say(subject_first(s, docs[di], titled), docs[di])
        # A second document close behind answers another part of the question ("E/M and a procedure").
        if len(ranked) > 1 and ranked[1][1][0].score >= 0.85 * best[0].score:
            other = [h.doc for h in ranked[1][1] if h.collection not in DOC_LEVEL][:2]
            for di, s in best_sentences(question, other, limit=2, per_doc=1):
                if not self._has_unknown_code(s):
                    d.say(s, other[di])

    def _title_cover(self, question: str, title: str, own: bool = False) -> float:
        """IDF-weighted share of the question's content words that ``title`` names; ``own``: only the words the
        question itself says, not those its expansion adds (0.0 when it says none)."""
        words = content_words(question)
        if own:
            said = set(tokens(question))
            words = [w for w in words if w in said]
            if not words:
                return 0.0
        return covered(words, word_bag(title), self.retriever.idf)

    def _card(self, doc_id: str | None) -> Document | None:
        if not doc_id:
            return None
        return self.passages.get([f"corpus:{doc_id}"]).get(f"corpus:{doc_id}")

    def _sections(self, card: Document, retrieved: list[Hit]) -> list[Document]:
        """A document's section passages, those the search found first."""
        anchors = [a for a in str(card.metadata.get("sections", "")).split(" | ") if a]
        doc_id = card.metadata.get("doc_id")
        ids = list(dict.fromkeys([h.id for h in retrieved if h.id.startswith(f"corpus:{doc_id}#")] +
                                 [f"corpus:{doc_id}#{a}" for a in anchors]))
        found = self.passages.get(ids)
        return [found[pid] for pid in ids if pid in found]

    def _answering_sentence(self, card: Document, question: str, sections: list[Document]) -> tuple[Document, str] | None:
        """The first sentence of the document's sections that says every word the question itself uses and the
        overview (title and summary) does not ("urosepsis"); None when the overview says them all."""
        said = set(tokens(question))
        overview = word_bag(f"{card.metadata.get('title', '')} {card.metadata.get('summary', '')}")
        forms = own_word_forms(question)  # "ED" also reads as "emergency department"
        missing = [w for w in content_words(question) if w in said and w not in overview and stem(w) not in overview
                   and (len(w) > 2 or len(forms.get(w, ())) > 1)]
        if not missing:
            return None

        def says(bag: set[str], w: str) -> bool:
            return any(f in bag or stem(f) in bag for f in forms.get(w, {w}))
        best, best_n = None, 0
        for doc in sections:
            body = doc.page_content.split("\n", 1)[1] if "\n" in doc.page_content else doc.page_content
            for sentence in sentences(body):
                bag = word_bag(sentence)
                n = sum(1 for w in missing if says(bag, w))
                if len(sentence.split()) >= 5 and n > best_n and not self._has_unknown_code(sentence):
                    best, best_n = (doc, sentence), n
                    if n == len(missing):
                        return best
        # every word the overview leaves out, or most of them (at least two): "dx made in the ED before the
        # inpatient order" is the sentence on conditions that arise in the emergency department before the order
        return best if best is not None and best_n >= 2 and best_n * 2 >= len(missing) else None

    def _outline(self, d: Draft, question: str, sections: list[Document]) -> None:
        """The document's sections as a list (those the search found first), each with its best sentence."""
        led = {s for s, _ in d.sentences}
        compared = compared_items(question)
        shown = 0
        for doc in sections:
            if shown >= 6:
                break
            heading = doc.metadata.get("heading", "")
            head = f"{heading}: " if heading and heading != "Overview" else ""
            each = defining_sentences(doc.page_content, compared)
            if each:
                # "diff between POA indicator U and W": the section that defines each side answers with both
                for i, sentence in enumerate(each):
                    d.say(head + sentence if i == 0 else sentence, doc, bullet=True)
                shown += 1
                continue
            picked = best_sentences(question, [doc], limit=1, per_doc=1)
            first = picked[0][1] if picked else ""
            if not first or len(first.split()) < 4 or self._has_unknown_code(first) or first in led:
                continue
            d.say(head + first, doc, bullet=True)
            shown += 1

    def _units_from_minutes(self, d: Draft, question: str, hits: list[Hit]) -> None:
        """Lead with the units the question's stated minutes come to ("25 min ther ex + 13 min manual, how many
        units?"), from a passage of the best document that states the 8-minute rule's conversion, cited for it (a
        question on another service's time, "99417 for 75 minutes", is not answered by the therapy rule)."""
        for h in hits:
            sentence = unit_sentence(question, h.doc.page_content)
            if sentence:
                d.say(sentence, h.doc)
                return

    def _declined_outright(self, d: Draft, question: str) -> bool:
        """Decline ``d`` when the question is no coding question at all (decision.outright_decline), saying why."""
        why = self._outright(question)
        if why is None:
            return False
        d.searched.append(why)
        self._decline(d, Decision(DECLINE, 0.0, scope_signals(question)), [])
        return True

    def _decline(self, d: Draft, decision: Decision | None, closest: list[Hit]) -> None:
        """Say the sources do not answer, what was searched and the closest topics they do cover."""
        d.answered = False
        d.decision = decision or Decision(DECLINE, 0.0)
        if d.decision.label != DECLINE:
            d.decision = Decision(DECLINE, d.decision.score, d.decision.features)
        d.say("CasePilot's sources do not answer this question")
        d.say("Searched: " + "; ".join(d.searched))
        topics = list(dict.fromkeys(_topic(h.doc) for h in closest))
        if d.decision.features and not d.decision.features.get("cover"):
            topics = []  # nothing of the question is in the sources: "closest" topics would be noise
        if topics:
            d.say("Closest topics CasePilot covers: " + "; ".join(topics))
        d.notices.append("CasePilot's sources do not answer this question.")


_MEANING_LABEL = re.compile(r"^Meaning:\s*")


def subject_first(sentence: str, doc: Document, titled: set[str] | None = None) -> str:
    """The first sentence taken from a section about one code ("Modifier 93 — ...") names that code when it does
    not already: "Meaning: the service was delivered by telephone" reads "Modifier 93: the service was ...".
    ``titled`` holds the sections already named so (their later sentences are left as they are).

    >>> doc = Document(page_content="x", id="m93", metadata={"heading": "Modifier 93 — real-time telemedicine by audio only"})
    >>> subject_first("Meaning: the visit was audio only.", doc), subject_first("Use 93 for audio.", doc)
    ('Modifier 93: the visit was audio only.', 'Use 93 for audio.')
    """
    key = doc.id or str(doc.metadata.get("heading", ""))
    if titled is not None and key in titled:
        return sentence
    head = str(doc.metadata.get("heading", "")).split(" — ")[0].strip()
    named = {m.code for m in cs.find_mentions(head)}
    if not named:
        return sentence
    if titled is not None:
        titled.add(key)
    said = {m.code for m in cs.find_mentions(sentence)} | set(re.findall(r"\b\w+\b", sentence))
    return sentence if named & said else f"{head}: " + _MEANING_LABEL.sub("", sentence)


_COMPARED = re.compile(r"\b(?:between|btwn|b/w)\s+(?:[\w/-]+\s+){0,3}?([\w/-]+)\s+(?:and|&|vs\.?|versus|or)\s+([\w/-]+)|"
                       r"\b([\w/-]+)\s+(?:vs\.?|versus)\s+([\w/-]+)", re.I)


def compared_items(question: str) -> list[str]:
    """The two things a question compares ("diff between POA indicator U and W", "NEC vs NOS"), else [].

    >>> compared_items("diff between POA indicator U and W?"), compared_items("pcs excision vs resection")
    (['U', 'W'], ['excision', 'resection'])
    """
    m = _COMPARED.search(question)
    return [g for g in m.groups() if g] if m else []


def defining_sentences(text: str, items: list[str]) -> list[str]:
    """For each compared item, the first sentence of ``text`` that opens with it ("U (unknown): the documentation
    is insufficient ..."); [] unless every item has one. A one-letter item matches its capital only."""
    if len(items) < 2:
        return []
    found, said = [], [s for s in sentences(text) if len(s.split()) >= 4]
    for item in items:
        flags = 0 if len(item) == 1 else re.I
        opener = re.compile(rf"^\W*{re.escape(item)}\b", flags)
        hit = next((s for s in said if opener.match(s)), None)
        if hit is None:
            return []
        found.append(hit)
    return found


def _heading(h: Hit) -> str:
    """A passage's section heading, else its title."""
    return h.doc.metadata.get("heading") or h.doc.metadata.get("title", "")


def _root_definition(doc: Document) -> str:
    """A root operation passage's definition, without its explanation and examples."""
    return re.split(r" (?:Explanation|Examples?):", doc.page_content.split(": ", 1)[-1])[0]


def _searchable(doc: Document) -> str:
    m = doc.metadata
    return "\n".join(str(x) for x in (m.get("title", ""), m.get("context", ""), doc.page_content) if x)


def _topic(doc: Document) -> str:
    m = doc.metadata
    return str(m.get("title") or doc.id)


def rank_documents(hits: list[Hit]) -> list[tuple[str, list[Hit]]]:
    """Hits grouped by the document they come from, best document first (its best hit, plus a little per extra hit).

    Code records and PCS reference passages are documents of their own.
    """
    groups: dict[str, list[Hit]] = {}
    for h in hits:
        key = h.doc.metadata.get("doc_id") or h.id
        groups.setdefault(key, []).append(h)
    def strength(hs: list[Hit]) -> float:
        return hs[0].score + 0.05 * (len(hs) - 1)
    return sorted(groups.items(), key=lambda kv: -strength(kv[1]))


_OBSTETRIC = re.compile(r"\b(?:pregnancy|trimester|childbirth|puerperium)\b", re.I)


def without_modifiers_said_as_words(hits: list[Hit], question: str) -> list[Hit]:
    """For a question that asks which modifier: the sections on a modifier whose letters the question uses as a word
    of its own go ("CT head ... what mod" asks about a CT scan, not modifier CT); a modifier the question names as
    one ("is modifier CT right here") stays.

    >>> from langchain_core.documents import Document
    >>> h = lambda c: Hit(c, 1.0, Document(page_content="x", metadata={"collection": "corpus_modifier", "codes": c}))
    >>> [x.id for x in without_modifiers_said_as_words([h("CT"), h("26")], "rad reads CT head, what mod")]
    ['26']
    >>> [x.id for x in without_modifiers_said_as_words([h("CT"), h("26")], "does modifier CT apply to a CT head")]
    ['CT', '26']
    """
    named = {m.code for m in cs.find_mentions(question) if cs.MODIFIER in m.systems}
    words = set(re.findall(r"\b[A-Z][A-Z0-9]\b", question)) - named
    if not words:
        return hits
    return _without_modifier_sections(hits, lambda codes: codes in words)


# a side, or both: what makes RT, LT or 50 the answer to "which modifier"
_SIDE_SAID = re.compile(r"\b(?:right|left|rt|lt|r|l|bilat\w*|both|b/l|each side|sides?|lateral\w*|od|os|ou|50)\b", re.I)
_SIDE_MODIFIERS = frozenset({"RT", "LT", "50"})


def without_side_modifiers_unless_a_side(hits: list[Hit], question: str) -> list[Hit]:
    """For a question that asks which modifier and states no side: the sections on RT, LT and 50 go. "knee replacement
    3 wks ago, now a carpal tunnel release, unrelated. modifier?" asks about the global period (79); the RT section's
    example of a right carpal tunnel release matched its words.

    >>> from langchain_core.documents import Document
    >>> h = lambda c: Hit(c, 1.0, Document(page_content="x", metadata={"collection": "corpus_modifier", "codes": c}))
    >>> [x.id for x in without_side_modifiers_unless_a_side([h("RT"), h("79")], "carpal tunnel release, unrelated. modifier?")]
    ['79']
    >>> [x.id for x in without_side_modifiers_unless_a_side([h("RT"), h("79")], "R carpal tunnel release, which mod")]
    ['RT', '79']
    """
    if _SIDE_SAID.search(question):
        return hits
    return _without_modifier_sections(hits, lambda codes: set(codes.split(",")) <= _SIDE_MODIFIERS)


def _without_modifier_sections(hits: list[Hit], drop) -> list[Hit]:
    """``hits`` without the modifier sections whose declared codes (metadata "codes", e.g. "50,RT,LT") ``drop``
    accepts; all of them when nothing else would be left."""
    kept = [h for h in hits if not (h.collection == "corpus_modifier" and drop(str(h.doc.metadata.get("codes", ""))))]
    return kept or hits


def non_cpt_documents_first(ranked: list[tuple[str, list[Hit]]]) -> list[tuple[str, list[Hit]]]:
    """For a question that names ICD-10-PCS: the best document that is not a CPT or HCPCS code summary leads ("do I
    code the biopsy too in PCS?" is PCS guideline B3.4b, not the Mohs summary's biopsy paragraph)."""
    # (a summary's question cards and document passage come from its file under corpus/cpt-*/)
    return _first_to_front(ranked, lambda hs: not any(
        h.collection == "corpus_code_summary" or str(h.doc.metadata.get("file", "")).startswith("cpt-") for h in hs))


def _first_to_front(ranked: list[tuple[str, list[Hit]]], wanted) -> list[tuple[str, list[Hit]]]:
    """``ranked`` with its first document whose hits are ``wanted`` moved to the front (unchanged when none is)."""
    first = next((i for i, (_, hs) in enumerate(ranked) if wanted(hs)), 0)
    return [ranked[first], *ranked[:first], *ranked[first + 1:]]


def modifier_documents_first(ranked: list[tuple[str, list[Hit]]]) -> list[tuple[str, list[Hit]]]:
    """For a question whose answer is a modifier ("which side mod?"): the best document that declares a modifier
    leads, ahead of a procedure's summary that matched more of the question's words (20610 for "knee injection").
    """
    # (not a diagnosis guideline that names modifiers among its codes: "ICD-10-CM laterality" declares RT and LT,
    # but says how a diagnosis carries its side)
    # (any of the document's hits says what it declares: a declared question's card carries no codes of its own)
    return _first_to_front(ranked, lambda hs: any(
        declared_modifiers(h.doc.metadata)
        and not _DIAGNOSIS_DOC.search(h.doc.metadata.get("doc_codes") or h.doc.metadata.get("codes") or "") for h in hs))


# A dotted ICD-10-CM code among a document's declared codes ("H25.13"): the document is about diagnoses
_DIAGNOSIS_DOC = re.compile(r"(?:^|,)[A-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4}(?:,|$)")


_PREFIX = re.compile(
    r"^\s*(what('?s| is| are)?|which|find|give me|tell me)?\s*(is\s+)?(the\s+)?(correct\s+|right\s+|best\s+)?"
    r"(icd[- ]?10[- ]?(cm|pcs)?|cpt|hcpcs|diagnosis|dx|procedure)?\s*(diagnosis\s+|procedure\s+)?codes?\s*"
    r"(?:(?:is|are|should be|would be|do i use|do you use|do we use)\s+)?(?:(?:used|reported|assigned|billed)\s+)?"
    r"(?:(?:for|to use for|of)\s+)?(?:(?:a|an|the)\s+)?", re.I)


# "... no eye involvement. What ICD-10 code?", "... - dx code?": the question's frame after the description
_SUFFIX = re.compile(
    r"[\s.,;:!?-]*\b(?:(?:what|which)(?:'?s| is| are| would be)?\s+(?:the\s+)?(?:correct\s+|right\s+|best\s+)?)?"
    # "... which 7th character and code": the character is the code's, asked with it
    r"(?:(?:7th|seventh)\s+char(?:acter)?s?\s*(?:and|&|\+|/)\s*(?:the\s+)?)?"
    r"(?:icd[- ]?10(?:[- ]?(?:cm|pcs))?\s+|diagnosis\s+|dx\s+)?(?:codes?|dx)(?:\s+(?:for|is)\s+(?:this|that|it))?"
    r"[\s?.!]*$", re.I)


# "... CKD stage 3b. Which code goes first?", "... - codes & sequence?": a frame that asks for the sequence
_SEQUENCE_SUFFIX = re.compile(
    r"[\s.,;:!?-]*\b(?:(?:what|which)\s+(?:(?:icd[- ]?10\s+)?(?:code|one|dx|diagnosis)\s+)?(?:goes|comes|is listed|gets listed|"
    r"should (?:go|be listed|come))\s+first|how (?:do|should) (?:i|we|you) (?:sequence|order|list) (?:them|these|it|this)|"
    r"(?:codes?|dx)\s*(?:&|and|\+|w/|with)\s*(?:sequenc\w*|order)|(?:in )?what order)[\s?.!]*$", re.I)


def strip_question(question: str) -> str:
    """The description inside "What is the ICD-10-CM code for X?" or "X. What ICD-10 code?" -> "X".

    >>> strip_question("Shingles on the trunk, no eye involvement. What ICD-10 code?"), strip_question("What code?")
    ('Shingles on the trunk, no eye involvement', 'What code?')
    >>> strip_question("Need the external cause code: fell off a ladder at home")
    'fell off a ladder at home'
    >>> strip_question("HTN, diastolic CHF and CKD 3b. Which code goes first?"), strip_question("HTN + CKD 4 - codes & sequence?")
    ('HTN, diastolic CHF and CKD 3b', 'HTN + CKD 4')
    >>> strip_question("6 wk fu R Colles fx (closed), routine healing. which 7th character and code")
    '6 wk fu R Colles fx (closed), routine healing'
    """
    # ("Need the external cause code: he fell off a ladder ...": the lead-in before the description goes too)
    q = _PREFIX.sub("", rt.NEED_CODE_LEAD.sub("", question.strip(), count=1), count=1).rstrip(" ?.!")
    q = _SUFFIX.sub("", q) or q
    q = _SEQUENCE_SUFFIX.sub("", q).rstrip(" ?.!-,") or q
    return q or question.strip()


def _leads_with_code_summary(d: Draft) -> bool:
    """Whether the draft's first sentence cites a CPT/HCPCS code summary of the corpus first."""
    if not d.sentences or not d.sentences[0][1]:
        return False
    first = d.sentences[0][1][0]
    return any(c.n == first and c.kind == "code_summary" for c in d.evidence.items)


def infer_system(question: str, spelled: str | None = None) -> str:
    """ICD-10-CM unless the description (or its ``spelled`` repair) names a procedure (then ICD-10-PCS); see
    casepilot.procedures."""
    if spelled is not None and not is_procedure(spelled, words_only=True) and is_visit_reason(spelled):
        return cs.ICD10CM  # "scrrening colonscopy": the repaired spelling says what the typo hid, a screening
    named = is_procedure(strip_question(question)) or (spelled is not None and is_procedure(spelled, words_only=True))
    if named and (m := _REPORT_LEAD.match(question)):
        # "EGD: LA grade B reflux esophagitis", "CT abd: acute sigmoid diverticulitis": a study's findings, pasted after
        # its name, are the diagnosis asked about unless they name a procedure of their own
        rest = strip_question(question[m.end():])
        if (len([w for w in tokens(rest) if w not in _FUNCTION_WORDS]) >= 2 and not is_procedure(rest)
                and not _DONE_IN_IT.search(rest)):
            return cs.ICD10CM
    if named and (m := _ADMITTED_FOR.search(question)):
        # "L fem neck fx, closed, admitted for hemiarthroplasty": the procedure is what the stay is for; the
        # description before it is the diagnosis asked about
        rest = strip_question(question[:m.start()] + " " + question[m.end():])
        if len([w for w in tokens(rest) if w not in _FUNCTION_WORDS]) >= 3 and not is_procedure(rest):
            return cs.ICD10CM
    if named and _OUTPATIENT.search(question) and _says_a_condition(_OUTPATIENT.sub(" ", question)):
        # "displaced fx 5th metacarpal neck R, closed reduction + splint today in clinic": ICD-10-PCS codes
        # inpatient procedures; a condition treated in the office, clinic or urgent care is asked for its diagnosis
        return cs.ICD10CM
    if named and (m := _DONE_AFTER.search(question)):
        # "melanoma in situ of the left upper arm, excised with 5 mm margins": a condition told first, then what was
        # done to it in a clause of its own, is the diagnosis asked about ("I&D of abscess, drained, packed" and
        # "ORIF R radius fx, reduced open" name their procedure first)
        rest = strip_question(question[:m.start()])
        if len([w for w in tokens(rest) if w not in _FUNCTION_WORDS]) >= 2 and not is_procedure(rest) \
                and _says_a_condition(rest):
            return cs.ICD10CM
    if named and (m := _BIOPSY_RESULT.search(question)) and not _INPATIENT.search(question):
        # "shave bx nasal ala -> BCC nose", "core biopsy of the left breast: invasive ductal carcinoma": what a
        # biopsy found is the diagnosis asked about; an inpatient stay's biopsy is asked for its PCS code
        rest = strip_question(question[m.end():])
        if (len([w for w in tokens(rest) if w not in _FUNCTION_WORDS]) >= 2 and not is_procedure(rest)
                and _says_a_condition(rest)):
            return cs.ICD10CM
    if named and (m := _DEVICE_COMPLICATION.search(question)) and not is_procedure(question[:m.start()]):
        # "painful L TKA, xrays show aseptic loosening", "RV lead dislodged", "exit site infection of tunneled HD
        # cath": what went wrong with a device or graft already in place is a complication (T82-T85), whatever
        # procedure it calls for next; "revision of loosened L THA" names its procedure first
        return cs.ICD10CM
    if named and (m := _ASKED_SUBJECT.search(question)) and _names_a_condition(m.group(1)):
        # "afib, persistent, failed one cardioversion ... what's the afib code?": the question names what it asks
        # the code of, and that is a condition (no procedure, no word of the PCS tables), whatever else it tells
        return cs.ICD10CM
    return cs.ICD10PCS if named else cs.ICD10CM


def _load_notices(d: Draft, systems: list[str]) -> None:
    """How to load the rest of the code sets CasePilot holds only in part (CPT summaries, HCPCS without the CMS file)."""
    if cs.CPT in systems:
        d.notices.append("CasePilot summarises a few hundred CPT codes in its own words; a licensed CPT file "
                         "(casepilot ingest --source cpt PATH) adds the rest.")
    if cs.HCPCS in systems:
        d.notices.append("Load the CMS HCPCS Level II file (casepilot ingest --source hcpcs PATH) to check "
                         "every HCPCS code.")


# "EGD:", "colonoscopy findings -", "CT abd/pelvis:": the name of a study whose findings follow
_REPORT_LEAD = re.compile(r"^\s*(?:(?:pre|post)-?op\s+)?(?:egd|colonoscopy|colo|sigmoidoscopy|cysto(?:scopy)?|bronch(?:oscopy)?|"
                          r"ct|cta|mri|mra|us|ultrasound|x-?ray|xr|cxr|echo|tte|tee|ekg|ecg|eeg|emg|ercp|path(?:ology)?|"
                          r"bx|biopsy|scope|duplex|mammo(?:gram)?|dexa|pft|stress test|cath(?:eterization)?)\b"
                          r"[\w/ ]{0,20}?(?:\s+(?:report|results?|findings?|impression|showed|shows))?\s*[:\-–]\s*", re.I)
# what was done during the study ("injected epinephrine and placed 2 hemoclips"): then the study is the procedure asked
_DONE_IN_IT = re.compile(r"\b(?:placed|placement|injected|injection|removed|removal|excised|resected|biopsied|bx|biops\w*|"
                         r"dilated|dilation|clipped|clips?|hemoclips?|cauteriz\w*|ablated|inserted|repaired|snared|"
                         r"polypectomy|banded|banding|stented|retrieved|taken|performed|done|treated)\b", re.I)
# where a procedure was done outside a hospital stay: the office, a clinic, urgent care
_OUTPATIENT = re.compile(r"\b(?:in|at)\s+(?:the\s+|our\s+)?(?:clinic|office|urgent care|uc)\b|\bin-office\b|"
                         r"\b(?:urgent care|uc visit|office visit|office procedure)\b", re.I)
# ", excised with 5 mm margins", "; removed by shave": what was done to the condition, in a clause after it
_DONE_AFTER = re.compile(r"[,;]\s*(?:(?:then|and|was|were|it was|lesion was)\s+)*(?:excised|removed|resected|shaved|"
                         r"biopsied|bx'?e?d|destroyed|frozen|cauterized|lasered|curetted|drained|debrided)(?!\w)", re.I)
# a biopsy and what it found: "bx ... -> BCC", "biopsy of ...: invasive ductal carcinoma", "bx came back ..."
_BIOPSY_RESULT = re.compile(r"\b(?:bx|biops(?:y|ies))\b[^.;]{0,80}?(?:\s*(?:->|→|=>|:)|\s+(?:came back|comes back|"
                            r"returned|showed|shows|revealed|reveals|c/w|consistent with|positive for|path(?:ology)? "
                            r"(?:showed|shows|was|is|c/w)|dx)\b)", re.I)
_INPATIENT = re.compile(r"\b(?:inpatient|inpt|ip|admitted|admission|abstract|pcs|icd-?10-?pcs)\b", re.I)
# a device, implant or graft in place and what went wrong with it, either order, a few words apart
_DEVICE = (r"(?:tka|tha|tsa|arthroplasty|total (?:knee|hip|shoulder)|(?:knee|hip|shoulder) replacement|prosthe\w*|graft|av fistula|avf|avg|leads?|cath(?:eter)?s?|shunt|"
           r"pacemaker|pacer|ppm|aicd|icd(?![-\s]?(?:9|10|11)\b)|defib\w*|implants?|hardware|mesh|stents?|port|pump|stimulator|device)")
_WENT_WRONG = (r"(?:loosening|loosened|loose|periprosthetic|dislodg\w*|dislocat\w*|malfunction\w*|clotted|thrombosed|"
               r"occluded|exit site infection|infected|infection|erosion|eroded|migrat\w+|fractured|broken|"
               r"leak\w*|displace\w*|malposition\w*|mechanical complication)")
# ("failed" and "failure" only right beside the device: "heart failure leads to ...", "ICD placed after failed meds"
# say nothing of a device gone wrong)
_DEVICE_COMPLICATION = re.compile(rf"\b{_WENT_WRONG}\b(?:\W+\w+){{0,5}}?\W+{_DEVICE}\b|"
                                  rf"\b{_DEVICE}\b(?:\W+\w+){{0,4}}?\W+{_WENT_WRONG}\b|"
                                  rf"\bfailed\s+(?:(?:l|r|lt|rt|left|right)\s+)?{_DEVICE}\b|\b{_DEVICE}\s+failure\b", re.I)
# "what's the afib code", "code for the hypothyroidism": what the question asks the code of
_ASKED_SUBJECT = re.compile(r"\b(?:what(?:'?s| is) the|whats the|code for (?:the|her|his))\s+([a-z][a-z0-9 -]{1,30}?)"
                            r"(?:\s+(?:code|dx)\b|\s*[?.]*$)", re.I)
_GENERIC_SUBJECT = frozenset("icd icd10 icd-10 cm icd10cm pcs procedure cpt hcpcs dx diagnosis right correct best first primary "
                             "principal main secondary other z t external cause 7th character billing same final exact one "
                             "code codes".split())


def _says_a_condition(text: str) -> bool:
    """Whether ``text`` has a word the ICD-10-PCS vocabulary hardly uses ("melanoma", "lipoma", "hx"): a condition,
    where "R ovary" or "appendix" is only a body part a procedure acts on."""
    weights = official_vocabulary()[0]
    return any(weights.get(w, 0) <= 5 for w in tokens(text) if w not in _FUNCTION_WORDS and len(w) > 2)


def _names_a_condition(subject: str) -> bool:
    """Whether ``subject`` (what a question asks the code of) is a condition: no procedure, and none of its words
    used by the ICD-10-PCS tables and Index (a device or an operation: "generator", "fusion", "bypass")."""
    words = [w for w in tokens(subject) if w not in _FUNCTION_WORDS]
    if not words or set(words) & _GENERIC_SUBJECT or is_procedure(subject):
        return False
    weights = official_vocabulary()[0]
    return all(weights.get(w, 0) < 10 for w in words)


# "... admitted for kyphoplasty", "scheduled for a hemiarthroplasty": the purpose clause of a diagnosis question
_ADMITTED_FOR = re.compile(r"\b(?:admitted|adm|admit|scheduled|booked|planned|sent|going|taken|brought back)\s+(?:\w+\s+){0,2}?"
                           r"(?:for|to have|to get)\s+(?:an?\s+|the\s+|his\s+|her\s+)?[\w/-]+(?:\s+[\w/-]+){0,3}"
                           # "..., planning revision", "..., to OR for I&D and IMN": the procedure ahead, told after
                           r"|\b(?:planning|plan for|plan is)\s+(?:an?\s+|the\s+)?[\w/-]+(?:\s+[\w/-]+){0,2}"
                           r"|\bto\s+(?:the\s+)?(?:or|surgery)\s+for\s+[\w/&-]+(?:\s+[\w/&-]+){0,3}"
                           # a claim-style line that ends with what the stay is for: "primary OA L hip - for THA"
                           r"|(?:[,;]|\s-)\s*(?:(?:planned|scheduled)\s+)?for\s+(?:an?\s+|the\s+)?[\w/-]+(?:\s+[\w/-]+){0,3}"
                           r"\s*[?.!]*\s*$", re.I)


def without_procedure_purpose(query: str) -> str:
    """A diagnosis search's words without the procedure the stay is for: "displaced intertrochanteric fx L femur,
    admitted for IMN" searches the fracture, not the nail's words ("internal fixation device" led to T84.125A,
    a displaced device). Kept whole when the clause is the visit's reason (chemotherapy, a screening) or the rest
    says too little or names a procedure itself (infer_system reads the clause the same way)."""
    m = _ADMITTED_FOR.search(query)
    if m is None:
        return query
    clause = m.group(0)
    if not is_procedure(clause) or first_listed_titles(clause) or gives_visit_reason(clause):
        return query
    rest = " ".join((query[:m.start()] + " " + query[m.end():]).split())
    if len([w for w in tokens(rest) if w not in _FUNCTION_WORDS]) < 3 or is_procedure(rest):
        return query
    return rest


# Words that say how conditions relate, not what they are: no evidence of relevance on their own.
_FUNCTION_WORDS = frozenset("with without no not other unspecified type due also use using used".split())


def relevance(question: str, hit: Hit) -> float:
    """How much of the question a passage covers: share of question words found in it, or its cosine."""
    q = set(tokens(expand_query(question))) - _FUNCTION_WORDS - NARRATION  # "pt has", "provider documents"
    if not q:
        return 0.0
    # by stem too: "HTN" spelled out is "hypertension", which I13.0's "Hypertensive ..." says
    words = with_stems(set(tokens(hit.doc.page_content)))
    said = sum(1 for w in q if w in words or stem(w) in words)
    return max(said / len(q), hit.signals.get("cosine", 0.0) - 0.1)


def title_said(question: str, title: str) -> float:
    """Share of a title's words (generic ones aside) the question says, as is, spelled out or by stem.

    >>> title_said("late onset alzheimers w mild dementia", "Alzheimer's disease with late onset")
    0.75
    >>> title_said("diabetic foot ulcer left heel, pt is type 2", "Type 1 diabetes mellitus with foot ulcer")
    0.0
    >>> i13_0 = "Hypertensive heart and chronic kidney disease with heart failure and stage 1 through stage 4 chronic kidney disease"
    >>> title_said("htn, CHF, CKD 3b", i13_0), title_said("htn, CHF, ESRD stage 5", i13_0)
    (0.8, 0.0)
    """
    expanded = expand_query(question)
    said = with_stems(set(tokens(expanded)))
    words = {w for w in tokens(title) if len(w) > 1 or w.isdigit()} - _FUNCTION_WORDS
    # a range holds the number it does not spell: "stage 1 through stage 4" says the question's "CKD 3b"
    in_range = bool(small_numbers(title) & (stated_numbers(question) | stated_numbers(expanded)))
    if any(w.isdigit() and w not in said for w in words) and not in_range:
        return 0.0  # "Type 1 diabetes ..." for "pt is type 2": another code, whatever else it shares
    return sum(1 for w in words if w in said or stem(w) in said or (w.isdigit() and in_range)) / len(words) if words else 0.0


# Words that ask for what a table holds of a code, not a rule about it ("what is the MUE for 20610", "global days
# on 27447"): a question with three words besides these asks more than the table's number
_TABLE_ASK_WORDS = frozenset("code codes cpt hcpcs mue mues medically unlikely edit edits unit units max maximum allowed "
                             "limit global period days day value number".split())


def asks_beyond_the_table(question: str) -> bool:
    """The question asks a rule about a table's number (how MUEs are applied, what a global period includes), not
    only the number: phrased as a question, with three or more words of its own besides the code and table words.

    >>> asks_beyond_the_table("MUE for 96375 - is that per line or per day? how do i tell whether splitting lines w 76/59 gets around it")
    True
    >>> asks_beyond_the_table("what is the MUE for 20610"), asks_beyond_the_table("max units 96372?")
    (False, False)
    >>> asks_beyond_the_table("Can 20610 and 99213 be billed together?")
    False
    """
    if not rt.asks_about_rules(question):
        return False
    # (the codes are not words of its own: "Can 20610 and 99213 be billed together?" asks the table alone)
    return len([w for w in content_words(question) if w not in _TABLE_ASK_WORDS and len(w) > 2
                and not any(ch.isdigit() for ch in w)]) >= 3


# a candidate code shares enough with the question to be shown (as a candidate or the closest match)
_CLOSE_ENOUGH = 0.34


def _in_part_for_a_coding_question(decision: Decision) -> Decision:
    """``decision`` (a decline on weak evidence) turned into a partial answer because the question is surely a
    coding one; marked so that ``_in_scope_only`` can tell it from evidence that answers in part by itself."""
    return Decision(PARTIAL, decision.score, {**decision.features, "in_scope": 1.0})


def _in_scope_only(decision: Decision | None) -> bool:
    """Whether ``decision`` answers in part only because the question is surely a coding one (weak evidence)."""
    return decision is not None and bool(decision.features.get("in_scope"))


def words_agree(decision: Decision | None) -> bool:
    """Whether a description decision's first code covers the question's own words (or is its exact title)."""
    feats = decision.features if decision is not None else {}
    return bool(feats.get("words_agree") or feats.get("exact_title")) or (decision is not None and not feats
                                                                          and decision.label == ANSWER)


def describe_decision(query: str, hits: list[Hit], other_question: bool = True) -> Decision:
    """Answer, partial or decline for a description -> code search: the fitted model over the ranked codes'
    signals where the ranker scored them, else (corpus code summaries) the word-and-vector rule below.

    ``other_question``: the message also asks something no code answers (``router.poses_other_question``)."""
    if not hits:
        return Decision(DECLINE, 0.0)
    agree = confident(query, hits[0])
    if hits[0].signals.get("exact_title"):
        return Decision(ANSWER, 1.0, describe_features([h.signals for h in hits], agree))
    if "ranker" in hits[0].signals:
        ranked = [h for h in hits if "ranker" in h.signals]
        decision = decide_description(describe_features([h.signals for h in ranked], agree))
        if ranked[0].signals.get("reason_first") and len(ranked) > 1:
            # a code a guideline lists first for the visit's reason (Z51.11 for "here for chemo") leads by that rule,
            # not by the ranker: the answer is as sure as the code itself or the condition the visit treats, next
            treated_agree = confident(query, ranked[1])
            treated = decide_description(describe_features([h.signals for h in ranked[1:]], treated_agree))
            decision = max(decision, treated, key=lambda d: d.score)
            agree = agree or treated_agree
        if decision.label == PARTIAL and not agree and other_question:
            # A closest match whose title does not cover the question's own words is offered for a description
            # ("nurse visit - flu shot only" -> Z23), not for a message that asks something else: "my kid has a
            # fever, should I give motrin" shares words with poisoning titles and gets no code.
            return Decision(DECLINE, decision.score, decision.features)
        return decision
    return Decision(ANSWER, 1.0) if agree else Decision(DECLINE, 0.0)


def confident(query: str, top: Hit) -> bool:
    """A description->code match is stated as one only with an exact title, or strong word and vector agreement."""
    if top.signals.get("exact_title"):
        return True
    title = set(tokens(top.doc.metadata.get("title", "") + " " + top.doc.page_content.split("\n", 1)[0]))
    title |= set(tokens(short_description(str(top.doc.metadata.get("context", "")))))
    # the code's inclusion terms are its other names ("Pernicious anemia" under D51.0)
    title |= {w for term in inclusion_terms(top.doc.page_content) for w in tokens(term)}
    # Coverage counts the question's own words: "stg" is covered by "stage" (its expansion), and the
    # expansion words themselves do not enlarge the question.
    words = [w for w in dict.fromkeys(tokens(query)) if w not in NARRATION | POLARITY]
    hit = [w for w in words if ({w} | set(tokens(expand_query(w)))) & title]
    matched = set(hit) - _FUNCTION_WORDS
    coverage = len(hit) / (len(words) or 1)
    # One shared word ("sequela") is no match for a description.
    return top.signals.get("cosine", 0.0) >= 0.55 or (coverage >= 0.6 and len(matched) >= 2)
