"""The offline grounded answerer: answers composed only of code records and source sentences, each cited.

It never writes a fact of its own: every sentence is a code record field, an instructional note or a
sentence extracted from a retrieved passage, and carries the [n] of where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from casepilot import codes as cs
from casepilot import router as rt
from casepilot.answer.evidence import Evidence, best_sentences
from casepilot.codestore import CodeNotFound, CodeStore
from casepilot.passages import PassageStore
from casepilot.records import NOTE_LABELS, CodeRecord, Lookup
from casepilot.retrieval import KNOWLEDGE_COLLECTIONS, Hit, Retriever
from casepilot.text import expand_query, tokens

INSTRUCTION_NOTES = ("code_first", "use_additional_code", "code_also")
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

    def say(self, text: str, *docs: Document) -> None:
        if any(t == text for t, _ in self.sentences):
            return  # the same sentence reached twice (a code's summary and the guidance that repeats it)
        nums = [self.evidence.cite(d) for d in docs]
        self.sentences.append((text, nums))

    def text_of(self, i: int) -> str:
        """Sentence ``i`` with its citations; text holding several sentences cites each of them."""
        text, nums = self.sentences[i]
        cites = "".join(f"[{n}]" for n in dict.fromkeys(nums))
        if not cites:
            return text
        return " ".join(_cite(part, cites) for part in _SPLIT.split(text.strip()) if part.strip())

    @property
    def text(self) -> str:
        return " ".join(self.text_of(i) for i in range(len(self.sentences)))


_SPLIT = re.compile(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])")


def _cite(sentence: str, cites: str) -> str:
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".!?:" else ""
    body = body[:-1] if end else body
    return f"{body} {cites}{end or '.'}"


def _label(system: str) -> str:
    return cs.SYSTEM_LABELS.get(system, system)


def _flat(text: str) -> str:
    return " ".join(text.replace("\n", "; ").split()).replace(":;", ":")


class GroundedAnswerer:
    """Composes answers from the code store and retrieved passages; no model, no network."""

    def __init__(self, store: CodeStore, retriever: Retriever, passages: PassageStore, tables: Path | None = None):
        self.store = store
        self.retriever = retriever
        self.passages = passages
        self.tables = tables  # tables.sqlite of the NCCI/MUE/fee-schedule files the user loaded

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
        if route.intent in (rt.CODE_LOOKUP, rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            return self.codes(route, question, timings)
        if route.intent == rt.DESCRIPTION_TO_CODE:
            return self.describe(route, question, timings)
        return self.guideline(route, question, timings)

    def codes(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        d = Draft(route.intent)
        if route.intent in (rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            self._table_verdict(d, route)
        answered = any(r.records for r in route.codes[:3]) or d.verdict is not None
        for r in route.codes[:3]:
            if r.records:
                self._one_code(d, r, question)
            else:
                answered = self._unknown_code(d, r) or answered
        d.answered = answered
        if route.inherited:
            d.notices.append("This follow-up was answered about the code(s) of the earlier question.")
        return d

    def extend(self, route: rt.Route, question: str, d: Draft, timings: dict | None = None) -> None:
        """The slower second part of a code answer (guidance that names the code), added to ``d``.

        Split from ``answer`` so the code-record sentences can stream before retrieval runs.
        """
        if route.intent in (rt.CODE_LOOKUP, rt.PAIR_CHECK, rt.UNITS, rt.GLOBAL_PERIOD):
            self._related_guidance(d, route, question, timings)

    def _table_verdict(self, d: Draft, route: rt.Route) -> None:
        """The deterministic answer from the CMS tables, cited to the rows it rests on."""
        from casepilot import edits

        codes = route.procedures()
        db = self.tables or Path("/nonexistent")
        if route.intent == rt.PAIR_CHECK:
            v = edits.check_pair(db, codes[0], codes[1])
            d.searched.append(f"NCCI PTP tables: {codes[0]} with {codes[1]}")
        elif route.intent == rt.UNITS:
            v = edits.mue_for(db, codes[0])
            d.searched.append(f"MUE tables: {codes[0]}")
        else:
            v = edits.global_period(db, codes[0])
            d.searched.append(f"fee-schedule RVU file: {codes[0]}")
        d.verdict = v.to_dict()
        if v.status == "not_loaded":
            d.notices.append(v.message)
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

    def _one_code(self, d: Draft, r: rt.Resolved, question: str) -> None:
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
            self._summary_code(d, look, doc, question)
            return
        d.say(f'{display} ({label}) means "{rec.title}"', doc)
        if rec.billable:
            d.say(f"{display} is billable: it is valid for reporting on a claim", doc)
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
        self._notes(d, look, doc)
        d.say(f"Code set: {rec.version}", doc)

    def _notes(self, d: Draft, look: Lookup, doc: Document) -> None:
        """Own notes, then inherited ones; instructions to code something else come first in each."""
        by_level = {cs.display_code(a.code, a.system): a for a in look.ancestors}
        for inherited, notes in ((False, look.record.notes), (True, look.inherited)):
            grouped: dict[tuple[str, str], list[str]] = {}
            for n in notes:
                grouped.setdefault((n.level, n.type), []).append(_flat(n.text))
            for (level, kind), texts in sorted(grouped.items(), key=lambda kv: NOTE_ORDER.index(kv[0][1])):
                src = self.record_doc(by_level[level]) if inherited and level in by_level else doc
                where = f"inherited from {level}" if inherited else f"at {level}"
                d.say(f"{NOTE_LABELS[kind]} ({where}): {'; '.join(texts)}", src)

    def _summary_code(self, d: Draft, look: Lookup, doc: Document, question: str) -> None:
        rec = look.record
        label = _label(rec.system)
        display = cs.display_code(rec.code, rec.system)
        d.say(f"{label} {display}: {rec.title}", doc)
        picked = best_sentences(question + " " + rec.title, [doc], limit=5, per_doc=5)
        for _, s in picked:
            if not self._has_unknown_code(s):
                d.say(s, doc)
        if rec.system == cs.CPT and not rec.licensed:
            d.notices.append(
                "CPT summaries are CasePilot's own plain-language words, not the AMA descriptor; "
                "load your licensed CPT file (casepilot ingest --source cpt PATH) to see official text."
            )
        if rec.version:
            d.say(f"Source: {rec.version}", doc)

    def _unknown_code(self, d: Draft, r: rt.Resolved) -> bool:
        """Say the code is unknown and why; True when the sources still say something about it."""
        raw = r.mention.raw.upper()
        reason = cs.why_malformed(r.mention.raw)
        d.searched.append(f"code store: {raw}")
        if reason:
            d.notices.append(f"{raw} is not a valid code: {reason}.")
            return False
        systems = ", ".join(_label(s) for s in r.mention.systems)
        d.notices.append(f"{raw} was not found in CasePilot's code store (looked in: {systems}).")
        # Deleted and replaced codes are discussed in the guidance: say what it says about this one.
        said = False
        for h in self.retriever.search(raw, list(KNOWLEDGE_COLLECTIONS), k=4):
            if re.search(rf"\b{re.escape(r.mention.raw)}\b", h.doc.page_content, re.I):
                for _, sent in best_sentences(raw, [h.doc], limit=2, per_doc=2):
                    if r.mention.raw.upper() in sent.upper():
                        d.say(sent, h.doc)
                        said = True
                break
        for near in self.store.nearest(r.mention.raw, r.mention.systems)[:5]:
            nd = cs.display_code(near.code, near.system)
            d.say(f'A nearby valid code is {nd} ({_label(near.system)}): "{near.title}"', self.record_doc(near))
        # Nearby codes are a hint, not an answer about the code that was asked.
        return said

    def _related_guidance(self, d: Draft, route: rt.Route, question: str, timings: dict | None) -> None:
        """One or two sentences of the project's guidance that names the code (never unrelated text)."""
        wanted = {r.record.code for r in route.codes if r.records}
        wanted |= {c[:3] for c in wanted if len(c) > 3 and c[0].isalpha()}
        if not wanted:
            return
        colls = [c for c in KNOWLEDGE_COLLECTIONS if c != "corpus_code_summary" and c != "corpus_modifier"]
        hits = self.retriever.search(question, colls, k=4, timings=timings)
        d.searched.append("guidance: " + ", ".join(colls))
        docs = [h.doc for h in hits if wanted & set(str(h.doc.metadata.get("codes", "")).split(","))
                or any(w in h.doc.page_content for w in wanted if len(w) >= 3)]
        for di, s in best_sentences(question, docs[:2], limit=2, per_doc=1):
            if not self._has_unknown_code(s):
                d.say(s, docs[di])

    def _has_unknown_code(self, sentence: str) -> bool:
        return any(not r.records for r in rt.resolve_mentions(sentence, self.store))

    # -- description -> code -------------------------------------------------------------------
    def describe(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        d = Draft(route.intent)
        system = route.system or infer_system(question)
        colls = {
            cs.ICD10CM: ["icd10cm"], cs.ICD10PCS: ["icd10pcs"],
            cs.CPT: ["cpt_licensed", "corpus_code_summary"], cs.HCPCS: ["hcpcs", "corpus_code_summary"],
        }[system]
        query = strip_question(question)
        hits = self.retriever.search(query, colls, k=5, timings=timings)
        d.searched.append(f"{_label(system)} descriptions ({', '.join(colls)}) for: {query}")
        if (not hits or not confident(query, hits[0])) and route.intent == rt.DESCRIPTION_TO_CODE \
                and rt.asks_about_rules(question):
            # "How do I code a sequela?" asks for the rule, not a code.
            guided = self.guideline(rt.Route(rt.GUIDELINE, route.codes, route.system), question, timings)
            if guided.answered:
                return guided
        if not hits or not confident(query, hits[0]):
            d.answered = False
            # Candidates are only worth showing when they share something real with the question.
            close = [h for h in hits[:3] if relevance(query, h) >= 0.34]
            if close:
                d.notices.append(
                    f"No {_label(system)} code clearly matches this description; check the closest candidates "
                    "below against the tabular, or add detail (type, site, laterality, acuity)."
                )
            else:
                d.notices.append(f"No {_label(system)} code matches this description in CasePilot's sources.")
            for h in close:
                rec = self._hit_record(h)
                if rec:
                    d.say(f'Closest candidate (not a confirmed match): {cs.display_code(rec.code, rec.system)} '
                          f'"{rec.title}"', h.doc)
            return d
        top = hits[0]
        rec = self._hit_record(top)
        if rec is None:  # a corpus passage rather than a code record
            return self.guideline(route, question, timings)
        look = self.store.lookup(rec.code, rec.system)
        display = cs.display_code(rec.code, rec.system)
        d.say(f'The best match in {_label(rec.system)} is {display} "{rec.title}"', top.doc)
        if rec.billable is False and look.billable_below:
            below = ", ".join(f'{c.display} ("{c.title}")' for c in look.billable_below[:4])
            d.say(f"{display} is a heading, not billable; choose the specific code, such as {below}", top.doc)
        elif rec.billable:
            d.say(f"{display} is billable", top.doc)
        for n in [*look.record.notes, *look.inherited]:
            # chapter-wide instructions (tobacco exposure, ...) are generic: the lookup shows them
            if n.type in INSTRUCTION_NOTES and not n.level.startswith("Chapter"):
                d.say(f"{NOTE_LABELS[n.type]} ({n.level}): {_flat(n.text)}", top.doc)
        others = []
        for h in hits[1:4]:
            o = self._hit_record(h)
            if o and o.code != rec.code and o.billable is not False:
                others.append((o, h))
        for o, h in others:
            d.say(f'Also consider {cs.display_code(o.code, o.system)} "{o.title}"', h.doc)
        d.say(f"Code set: {rec.version}", top.doc)
        return d

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
    def guideline(self, route: rt.Route, question: str, timings: dict | None) -> Draft:
        d = Draft(route.intent)
        colls = list(KNOWLEDGE_COLLECTIONS)
        hits = self.retriever.search(question, colls, k=6, timings=timings)
        d.searched.append("guidance: " + ", ".join(c for c in colls if c in self.retriever.available))
        relevant = [h for h in hits if relevance(question, h) >= 0.34]
        if not relevant and route.intent == rt.GUIDELINE:
            # "NSTEMI", "type 1 diabetes with hypoglycemia": a bare description is a code search.
            coded = self.describe(route, question, timings)
            if coded.answered:
                return coded
            d.searched.extend(coded.searched)
        if not relevant:
            d.answered = False
            d.notices.append("CasePilot's sources do not answer this question.")
            if hits:
                d.notices.append("Closest passages searched: " + "; ".join(h.doc.metadata.get("title", h.id)
                                                                           for h in hits[:3]))
            return d
        docs = [h.doc for h in relevant[:3]]
        for di, s in best_sentences(question, docs, limit=5, per_doc=3):
            if not self._has_unknown_code(s):
                d.say(s, docs[di])
        if not d.sentences:
            d.answered = False
            d.notices.append("CasePilot's sources do not answer this question.")
        return d


_PREFIX = re.compile(
    r"^\s*(what('?s| is| are)?|which|find|give me|tell me)?\s*(is\s+)?(the\s+)?(correct\s+|right\s+|best\s+)?"
    r"(icd[- ]?10[- ]?(cm|pcs)?|cpt|hcpcs|diagnosis|dx|procedure)?\s*(diagnosis\s+|procedure\s+)?codes?\s*"
    r"(?:(?:for|to use for|of)\s+)?(?:(?:a|an|the)\s+)?", re.I)


def strip_question(question: str) -> str:
    """The description inside "What is the ICD-10-CM code for X?" -> "X"."""
    q = _PREFIX.sub("", question.strip(), count=1).rstrip(" ?.!")
    return q or question.strip()


_PROCEDURE = re.compile(r"\b\w+(ectomy|otomy|ostomy|plasty|scopy|pexy|rrhaphy)\b|\b(excision|resection|"
                        r"repair|replacement|insertion|removal|bypass|transplant\w*|laparoscopic|open approach|"
                        r"percutaneous|drainage|biopsy)\b", re.I)


def infer_system(question: str) -> str:
    """ICD-10-CM unless the description names a procedure (then ICD-10-PCS)."""
    return cs.ICD10PCS if _PROCEDURE.search(question) and "diagnos" not in question.lower() else cs.ICD10CM


# Words that say how conditions relate, not what they are: no evidence of relevance on their own.
_FUNCTION_WORDS = frozenset("with without no not other unspecified type due also use using used".split())


def relevance(question: str, hit: Hit) -> float:
    """How much of the question a passage covers: share of question words found in it, or its cosine."""
    q = set(tokens(expand_query(question))) - _FUNCTION_WORDS
    if not q:
        return 0.0
    words = set(tokens(hit.doc.page_content))
    return max(len(q & words) / len(q), hit.signals.get("cosine", 0.0) - 0.1)


def confident(query: str, top: Hit) -> bool:
    """A description->code match is stated as one only with an exact title, or strong word and vector agreement."""
    if top.signals.get("exact_title"):
        return True
    q = set(tokens(expand_query(query)))
    title = set(tokens(top.doc.metadata.get("title", "") + " " + top.doc.page_content.split("\n", 1)[0]))
    matched = q & title - _FUNCTION_WORDS
    coverage = len(q & title) / (len(q) or 1)
    # One shared word ("sequela") is no match for a description.
    return top.signals.get("cosine", 0.0) >= 0.55 or (coverage >= 0.6 and len(matched) >= 2)
