"""The router: what a question asks and which codes it is about, before any retrieval.

Pure over its inputs: the code store is passed in only to tell real codes from look-alikes.

Slightly over 300 lines on purpose: one decision, the intent, read from patterns that overlap (a code, a rule
word, a question form); a table of intents with their examples is issue 10's restructuring (item 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from casepilot import codes as cs
from casepilot.codestore import CodeStore
from casepilot.procedures import diagnostic_procedure_words
from casepilot.records import CodeRecord
from casepilot.text import remittance_codes_of

CODE_LOOKUP = "code_lookup"
DESCRIPTION_TO_CODE = "description_to_code"
PAIR_CHECK = "pair_check"
UNITS = "units"
GLOBAL_PERIOD = "global_period"
GUIDELINE = "guideline"
COVERAGE = "coverage"

_PAIR = re.compile(
    r"\b(together|same (day|date|session|encounter)|bundl\w*|ncci|ptp|unbundl\w*|billed with|bill(ed)? both|"
    r"column [12]|pair)\b", re.I)
# "Can I bill 99213 with 20610", "report 11102 and 11104": billing both, not comparing them.
_BILL_BOTH = re.compile(r"\b(bill|billed|billing|report|reported|code|coded|submit)\b.*(?:\b(and|with)\b|\w\s*[+&]\s*\w)", re.I)
_UNITS = re.compile(r"\b(mue|medically unlikely|units?|how many times|max(imum)? (units|times))\b", re.I)
# Minutes stated with a units question ("25 min 97110 + 13 min 97140, how many units") ask to convert time to units
# (the time rule for timed codes), not for the code's MUE, unless the MUE or a maximum is named
_MINUTES_TO_UNITS = re.compile(r"\b\d+\s*(?:min|mins|minutes)\b|\b8[- ]?min(?:ute)?s?\s+rule\b", re.I)
_TABLE_LIMIT = re.compile(r"\b(mue|medically unlikely|max(imum)?)\b", re.I)
_GLOBAL = re.compile(r"\bglobal (period|days|surgery package)\b|\bpost-?op(erative)? (period|days)\b", re.I)
# Medicare coverage (the MCD tables): words that ask whether a code is covered, never a bare "cover"
# ("what does 96372 cover" asks what the code means). "Supports" only between two codes ("does M17.11 support
# 20610"): "does my note support 99215" asks about E/M levels.
_COVERAGE = re.compile(r"\b(covered|non-?covered|coverage|medical(ly)? necess\w*|lcds?|ncds?|articles?|"
                       r"crosswalks?|medicare (cover|pay)s?)\b", re.I)
_SUPPORTS = re.compile(r"\bsupport(s|ed|ing)?\b", re.I)
# Without a code: a named NCD, article or LCD, or "does Medicare cover ...".
_COVERAGE_DOC = re.compile(r"\bncds?\s*#?\s*\d{1,4}(\.\d{1,3})*\b|\b(article\s+)?A\d{5}\b|\bL3\d{4}\b|"
                           r"^\W*(does|will|would|is)\s+medicare\s+(cover|pay for)\b|\bcrosswalk", re.I)
# "Need the external cause code: he fell off a ladder ...": the description after the lead-in is what to code (the
# description answerer strips the lead-in)
NEED_CODE_LEAD = re.compile(r"^\W*(?:i\s+)?(?:need|want|looking for|give me)\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,3}codes?"
                            r"\s*[:-]\s*", re.I)
_DESCRIBE = re.compile(
    r"\b(icd[- ]?10[- ]?(cm|pcs)?|cpt|hcpcs|diagnosis|dx|procedure)?\s*codes?\s+(for|to use for|of)\b|"
    r"\bwhat (icd|cpt|hcpcs|code|diagnosis code)\b|\bhow (do|should|would) (i|you|we) code\b|\bcode (a|an|the)\b|"
    # "what's the PCS for laparoscopic left adrenalectomy": the code set named in place of "code"
    r"\b(?:what(?:'?s| is)|which is) the (?:icd[- ]?10[- ]?)?(?:pcs|cm|cpt|hcpcs|dx|icd[- ]?10)\s+(?:for|of)\b|"
    + NEED_CODE_LEAD.pattern,
    re.I)
_SYSTEM_WORDS = [
    (cs.ICD10PCS, re.compile(r"\b(icd[- ]?10[- ]?pcs|pcs|inpatient procedure|root operation)\b", re.I)),
    (cs.ICD10CM, re.compile(r"\b(icd[- ]?10(?:[- ]?cm)?|diagnos[ie]s|dx)\b", re.I)),
    (cs.HCPCS, re.compile(r"\bhcpcs\b", re.I)),
    (cs.CPT, re.compile(r"\bcpt\b", re.I)),
]
_QUESTION_WORDS = (r"\b(what|how|when|why|which|who|can|could|should|does|do|is|are|may|must|explain|"
                   r"tell|describe|define|list)\b")
_QUESTION = re.compile(r"\?|" + _QUESTION_WORDS, re.I)
# A question's form: a question mark, "what/how/why" anywhere, or another question word opening the message
# or one of its clauses. An "is" or a "which" inside a description ("patient is left-handed", "fracture
# which is healing") is not one.
_WH = re.compile(r"\b(what|whats|how|hows|why)\b", re.I)
_OPENS_QUESTION = re.compile(r"(?:^|[,.;:!]\s+|\s[-–]\s+)\W*" + _QUESTION_WORDS, re.I)


def _asks(message: str) -> bool:
    """Whether the message is phrased as a question, rather than as a bare clinical description."""
    return "?" in message or bool(_WH.search(message) or _OPENS_QUESTION.search(message))


_TOPIC = re.compile(r"\b(guidelines?|rules?|modifiers?|meaning|means|difference|definition|policy|policies|coverage|"
                    # "time" as in E/M by time; "seen in ED first time" tells the encounter
                    r"documentation|ncci|mue|global|billing|compliance|audit\w*|e/m|mdm|"
                    r"(?<!first )(?<!1st )(?<!second )(?<!2nd )(?<!last )(?<!this )time|excludes\w*|lcd|ncd|"
                    r"(?:7th|seventh) char\w*|"
                    r"convention\w*|sequenc\w*|medicare|payer|claim\w*|units?|reimburse\w*)\b|"
                    # the notice in capitals; "no abn findings" is a note's "abnormal"
                    r"\b(?-i:ABNs?)\b", re.I)
_ASKS_CODE = re.compile(r"\b(which|what)\b.*\bcodes?\b"
                        # "E11.621 is already coded - what goes with it for the ulcer?"
                        r"|\bwhat (?:else )?(?:goes|go|do (?:i|we) (?:add|pair|use)|should (?:i|we) add)\s+with\b"
                        # "How is this coded?", "how do i code this", "how should these be coded"
                        r"|\bhow (?:is|are|do|does|should|would|can|to) (?:i |we |you )?(?:this|these|that|it|them|they)?\s*"
                        r"(?:be |get |gets )?(?:coded|code)\b(?!\s+(?:set|book|first|also)\b)"
                        # "Need dx codes", "dx codes pls", "what's the main dx" ("the principal dx": _FIRST_CODE)
                        r"|\b(?:dx|diagnosis|icd[- ]?10(?:[- ]?cm)?)\s+codes\b"
                        r"|\b(?:what|which)(?:'?s| is| are)?\s+(?:the\s+)?main\s+(?:dx|diagnosis)\b"
                        # "episiotomy at delivery whats the pcs": the code set named at the end stands for its code
                        r"|\b(?:what|which)(?:'?s| is| are|s)?\s+(?:the\s+)?(?:icd[- ]?10[- ]?)?(?:pcs|cpt)(?:\s+codes?)?\W*$",
                        re.I)
# whether the record must link conditions or a query is needed before a code is used: a documentation rule
_NEEDS_LINK = re.compile(r"\b(?:do|does|would|will)\s+(?:i|we|you|they|the\s+\w+)\s+(?:really\s+)?need\b[^?]*?"
                         r"\b(?:link\w*|quer(?:y|ies)|connect\w*|tie|relate)\b"
                         # "... never says they're related, can I still use I12.9": the same rule, asked the other way
                         r"|\b(?:never|not|doesn'?t|didn'?t|does not|did not|no)\s+(?:[\w']+\s+){0,3}?"
                         r"(?:link\w*|relat\w*|connect\w*|tie[sd]?)\b[^?]*\b(?:can|may|should|do|could|must)\s+(?:i|we)\b", re.I)
# "can I pick up E87.1 off the labs": whether a finding the provider never named may be coded, a documentation rule
_FROM_FINDINGS = re.compile(r"\b(?:can|may|should|could)\s+(?:i|we|you|(?:our|the|a)\s+(?:[\w-]+\s+)?(?:coders?|auditors?|"
                            r"team|staff|cdi|specialists?|reviewers?))\b[^?]{0,60}\b(?:off|from|based on|per|using)\s+(?:the\s+|a\s+)?"
                            r"(?:labs?|lab values?|lab results?|bmp|cbc|cmp|x-?rays?|imaging|echo|ekg|ecg|"
                            r"path(?:ology)? report|radiology report"
                            # "... Z59.0- based on the case manager's note": another clinician's note (BMI, stage, SDOH)
                            r"|(?:case manager|social worker|sw|nurse|nursing|rn|lpn|dietitian|dietician|nutritionist|"
                            r"therapist|medical assistant|scribe|cdi)(?:'s|s)?\s+(?:notes?|documentation|assessment|"
                            r"screening|intake))\b", re.I)
# "dm2 w/ hyperglycemia, uncontrolled per MD - dx code?": a description that ends by asking for its code
# ("... what dx", "... what's the ICD-10?": the code set or "dx" alone asks for the code too)
_ENDS_ASKING_CODE = re.compile(r"(?:\b(dx|diagnosis|icd[- ]?10[- ]?(cm|pcs)?|pcs|cpt|hcpcs)?\s*codes?|"
                               r"\b(?:what(?:'?s| is)?(?: the)?|which) (?:dx|icd[- ]?10(?:[- ]?(?:cm|pcs))?)|"
                               # "... no symptoms - first listed dx?": the diagnosis to list first is a code
                               r"\b(?:first[- ]listed|1st[- ]listed|primary) (?:dx|diagnosis)(?: codes?)?|"
                               # "... ileocolic anastomosis. pcs for the colon resection?"
                               r"(?:^|[.;:,-]\s*)(?:the\s+)?(?:pcs|icd[- ]?10(?:[- ]?(?:cm|pcs))?|dx)(?:\s+codes?)?\s+for\s+(?:the\s+)?"
                               r"[\w/ -]{2,40}\?\s*$|"
                               # "... Xray shows it healing. ICD-10 for today?"
                               r"\b(?:icd[- ]?10(?:[- ]?cm)?|dx|codes?) for (?:today|this (?:visit|encounter|one)|that|it))"
                               r"\s*\?*\s*$|"
                               # "lap chole, gallbladder removed completely - pcs?": the code set alone, asked after a dash
                               r"(?:\s[-–:]+|[.;,])\s*(?:pcs|icd[- ]?10(?:[- ]?(?:cm|pcs))?|dx)\s*\?+\s*$|"
                               # "... BMI 42.3 in the vitals. what do i report"
                               r"(?:^|[.;,:-]\s*)(?:so\s+)?what\s+(?:do|should|would|can)\s+(?:i|we)\s+(?:report|code|use)\s*\?*\s*$|"
                               # "... diagnostic only. inpatient pcs?", "tonsillectomy only. what pcs"
                               r"(?:\s[-–:]+|[.;,])\s*(?:(?:what(?:'?s)?|which|inpatient|inpt|the)\s+){1,2}"
                               r"(?:pcs|icd[- ]?10(?:[- ]?(?:cm|pcs))?|dx)(?:\s+codes?)?\s*\?*\s*$", re.I)
# "... whats the code (nihss not documented)": an aside after the question is not where the question ends
_TRAILING_ASIDE = re.compile(r"\s*\([^()]*\)[\s?.!]*$")


def _ends_asking_code(text: str) -> bool:
    """The message ends by asking for a code, an aside in parentheses after it set apart."""
    if _ENDS_ASKING_CODE.search(text):
        return True
    bare = _TRAILING_ASIDE.sub("", text)
    return bare != text and bool(_ENDS_ASKING_CODE.search(bare))


# "notes" as ICD-10-CM's instructional notes, not the record a description is quoted from ("Psych note: ...")
_ABOUT_RULES = re.compile(r"\b(guidelines?|rules?|modifiers?|mean|means|meaning|difference|sequenc\w*|convention\w*|"
                          # "... new or established?", "how do i bill both": the patient's status and how to bill are rules
                          r"new (?:or|vs\.?|versus) est\w*|how (?:do|should|can|would) (?:i|we) bill (?:both|them|it|this|that)|"
                          r"excludes\w*|(?<!'s )notes?(?!\s*[:-])|how many|when)\b", re.I)
# a diagnosis called uncertain, and asking whether to code one ("do I code", "can we report")
_UNCERTAIN = r"\b(?:suspected|probable|likely|possible|questionable|presumed|rule[- ]out|r/o)\b"
_MAY_I_CODE = r"\b(?:do|should|can|may) (?:i|we) (?:still |just )?(?:code|report|assign)\b"
# "do I code the pneumonia or just the symptoms?", "should we report both": a yes/no question about what to code,
# a rule, not a description ("what do I code", "how do I code" ask for the code).
_YES_NO_CODE = re.compile(r"(?<!\bwhat )(?<!\bhow )(?<!\bwhich )\b(do|should|can|must|may) (i|we|you) (also |still |just |ever )?"
                          r"(code|report|assign) (the|both|it|them|symptoms?|signs?)\b"
                          # "am I allowed to use the hypertensive CKD code or does he have to say 'due to'"
                          r"|\b(?:am|are) (?:i|we) allowed to (?:use|code|report|assign|bill|put)\b"
                          # "... says 'likely viral pneumonia' - code it or not", "can it be coded?"
                          r"|\b(code|report) (it|them|this|that) or (not|no)\b"
                          r"|\b(can|should|do|may|must) (it|they|this|that) be (coded|reported)\b"
                          # "office note says 'suspected strep' ... do I code strep throat?": whether an uncertain
                          # diagnosis is coded at all, the uncertainty told before the question or after it ("... can
                          # i code the diverticulitis since he says probable?")
                          rf"|{_UNCERTAIN}[^?]*{_MAY_I_CODE}|{_MAY_I_CODE}[^?]*{_UNCERTAIN}", re.I)
# "is the closure included in the exc code?", "one line w/ 3 units or separate?": how services go on a claim (bundled,
# separately reportable, on one line or several) is a billing rule, whatever diagnosis the case names
_BILLING_MECHANICS = re.compile(r"\b(?:is|are)\s+(?:the\s+|a\s+|an\s+|that\s+|this\s+)?[\w/-]+(?:\s+[\w/-]+){0,3}?\s+"
                                r"(?:included|bundled|inclusive|separately\s+(?:billable|reportable|payable)|part\s+of\s+the)\b"
                                r"|\b(?:one|1|single|same|separate|two|2|multiple|different)\s+(?:claim\s+)?(?:lines?|line items?)\b",
                                re.I)
# "... 99393 and the ear infection too, how do i bill both", "do i use 90471 or the counseling admin codes", "doc found a
# murmur. still Z00.129?": the codes named are the case; what is asked is a rule about them, which the guidance answers
_RULE_ABOUT_CODES = re.compile(r"\bhow (?:do|should|can|would) (?:i|we) (?:bill|code|report) (?:both|them|it|this|that|these)\b"
                               r"|\bstill\s+(?:a\s+|the\s+)?[a-z]?\d[\w.]*\s*\?"
                               # "scc excised last yr, no tx now. do i still use the C44 code?": whether the code
                               # still applies to the changed case
                               r"|\b(?:do|should|can|would|could) (?:i|we|you) still (?:use|code|report|bill|assign|put) "
                               r"(?:the\s+|a\s+|an\s+)?[a-z]?\d[\w.]*", re.I)
# "do i use 90471 or the counseling admin codes": a choice between a procedure code and others, which the guidance
# on those services settles (a diagnosis category's own notes answer "do i use I21 again or something else")
_CHOICE_OF_PROCEDURE = re.compile(r"\b(?:do|should|can|would) (?:i|we) (?:use|bill|report|code)\b[^?.]*\bor\b", re.I)
# "99214 + 30 min of therapy, which add on": the add-on that goes with the code named, which the guidance on the
# service the question names in words (psychotherapy) gives, not the named code's own service (the office visit)
_WHICH_ADD_ON = re.compile(r"\b(?:which|what)(?:'?s|\s+is)?\s+(?:the\s+)?(?:add[- ]?on|addon)s?\b", re.I)


def asks_which_add_on(message: str) -> bool:
    """The message asks which add-on code goes with a service ("... same visit, what's the add on code").

    >>> asks_which_add_on("99214 + 30 min of psychotherapy, which add on"), asks_which_add_on("is 99417 an add-on")
    (True, False)
    """
    return bool(_WHICH_ADD_ON.search(message))


def asks_rule_about_codes(message: str, procedures: bool) -> bool:
    """The codes the message names are its case and the question a rule about them ("... 99393 and the ear infection,
    how do i bill both"; with a procedure code, "do i use 90471 or the counseling codes").

    >>> asks_rule_about_codes("well child, murmur found. still Z00.129?", False), asks_rule_about_codes("what is 99393", True)
    (True, False)
    """
    return bool(_RULE_ABOUT_CODES.search(message)
                or (procedures and (_CHOICE_OF_PROCEDURE.search(message) or _WHICH_ADD_ON.search(message))))


# "what if it's RSV pneumonia instead?", "the CT showed an abscess too. does that change it?", "what changes": the
# follow-up changes the case the earlier description stated, so the code is searched again for the changed case
_CASE_CHANGE = re.compile(r"\bwhat if\b|\binstead\b|\brather than\b|\bwhat (?:changes|chnages|now)\b"
                          r"|\b(?:does|would|will|do|did) (?:that|this|it|these|those) change\b"
                          r"|\bchanges? (?:it|anything|the (?:code|dx|diagnosis))\b", re.I)
_FOLLOW_UP = re.compile(r"\b(it|its|this|that|these|those|them|same code|the code|with it|above|same level)\b|"
                        r"^\s*(and|what about|how about|ok and|also)\b", re.I)


@dataclass
class Resolved:
    """A code mention and what the store knows of it."""

    mention: cs.Mention
    records: list[CodeRecord]
    problem: str | None = None  # "malformed: ..." or "not found"

    @property
    def record(self) -> CodeRecord | None:
        return self.records[0] if self.records else None


@dataclass
class Route:
    """What the router decided; ``procedures()`` are the codes a table check is about."""

    intent: str
    codes: list[Resolved] = field(default_factory=list)
    system: str | None = None  # the code set the question names, if any
    inherited: bool = False  # codes came from earlier turns
    query: str = ""
    prior: str = ""  # the earlier user question the codes came from (what a follow-up continues)
    had: list[str] = field(default_factory=list)  # codes the asker says are on the claim already ("I have G30.1")

    def procedures(self) -> list[str]:
        return [r.mention.code for r in self.codes
                if (r.records and r.record.system in (cs.CPT, cs.HCPCS))
                or (not r.records and {cs.CPT, cs.HCPCS} & set(r.mention.systems))]


def asks_about_rules(text: str) -> bool:
    """A question form ("how do I ...?", "can I ...?"), as opposed to a bare clinical description."""
    return bool(_QUESTION.search(text))


# A rule, a modifier or a convention by name: what makes a question about a case a question about the rules.
_RULE = re.compile(r"\b(guidelines?|rules?|modifiers?|mod|conventions?|sequenc\w*|excludes ?[12]?|7th char(acter)?|"
                   r"seventh char(acter)?|global (period|days|package))\b"
                   # "... and did a shave bx, can i bill the E/M too": whether a visit is separately billable is a rule
                   r"|\bbill\w*\s+(?:the\s+|an?\s+)?(?:e/m|e&m|em|office visit|visit)\s+(?:too|also|as well|separately)\b"
                   # "... then put on a sugar tong splint. bill the splint code separately?": the same rule of a service
                   r"|\b(?:bill|report|charge)\w*\s+(?:the\s+|an?\s+|it\s+|that\s+|this\s+)?(?:[\w/&-]+\s+){0,3}?separately\b",
                   re.I)


# The last clause of a description that asks for its code and nothing else: "What is the code", "dx code?"
_CODE_ASK_TAIL = re.compile(r"^\W*(?:(?:what|which|whats)(?:'s|\s+is)?(?:\s+the)?(?:\s+correct|\s+right|\s+best)?\s+)?"
                            r"(?:(?:dx|diagnosis|icd[- ]?10(?:[- ]?cm)?)\s+)?codes?(?:\s+(?:is it|do i use|for (?:that|this|it)))?"
                            r"\W*$", re.I)


def ends_asking_code(text: str) -> bool:
    """The message describes something, then asks for its code alone ("... disc herniation. What is the code",
    "... uncontrolled per MD - dx code?"); "What is a combination code?" asks what a thing is.

    >>> ends_asking_code("Lumbar radiculopathy, no disc herniation. What is the code"), ends_asking_code("What is a combination code?")
    (True, False)
    """
    if NEED_CODE_LEAD.match(text):  # "Need the external cause code: <description>": the same ask, put first
        return True
    body = re.sub(r"[?!.\s]+$", "", text)
    for sep in (".", ";", ",", " - ", ":"):
        if sep in body:
            head, tail = body.rsplit(sep, 1)
            if len(head.split()) >= 2 and _CODE_ASK_TAIL.match(tail):
                return True
    return False


# What a question about coding says: a code set, a code, billing or reporting words.
_CODING_WORDS = re.compile(r"\b(codes?|coding|coded|icd[- ]?10(?:[- ]?(?:cm|pcs))?|icd|pcs|cpt|hcpcs|dx|diagnos[ie]s|bill\w*|"
                           r"report\w*|sequenc\w*|modifiers?|mod|assign\w*|claims?|document\w*|query)\b", re.I)


def poses_other_question(text: str) -> bool:
    """A clause of the message asks something that is no coding question ("is it cancer?", "should I give motrin or
    tylenol"): what a description's closest code cannot answer.

    >>> poses_other_question("dark mole, is it cancer?"), poses_other_question("nurse visit - flu shot only")
    (True, False)
    >>> poses_other_question("Lumbar radiculopathy, no disc herniation. What is the code")
    False
    """
    for clause in re.split(r"(?<=[?!.;])\s+|\s[-–]\s", text):
        if (clause.rstrip().endswith("?") or _OPENS_QUESTION.search(clause)) and not _CODING_WORDS.search(clause):
            return True
    return False


def asks_for_a_code(text: str) -> bool:
    """The message asks which code ("what is the T code for ...", "which dx"), whatever else it says.

    >>> asks_for_a_code("adverse effect of lisinopril; what is the T code for it?"), asks_for_a_code("NEC vs NOS")
    (True, False)
    """
    return bool(_ASKS_CODE.search(text) or _FIRST_CODE.search(text) or _ends_asking_code(text))


# "... Which code is sequenced first?": the answer is the code listed first, which the description's search finds
_FIRST_CODE = re.compile(r"\b(?:which|what)\s+(?:code|dx|diagnosis)\s+(?:code\s+)?(?:is\s+|gets\s+|should\s+be\s+|do\s+i\s+)?"
                         r"(?:sequenced|listed|coded|reported|goes|go|put)\s+(?:1st|first)\b"
                         # "what is the first code on the chart", "what's the principal dx", "codes, in order?",
                         # "how do i code & sequence this": the codes, first one first, not the rule
                         r"|\b(?:what|which)(?:'?s| is| are)?\s+(?:the\s+)?(?:1st|first|principal|primary|first[- ]listed)\s+"
                         r"(?:code|dx|diagnosis)\b"
                         r"|\bcodes?\W{0,3}\s*(?:assignments?\s+)?(?:in order|(?:and|&|\+|n)\s+(?:the\s+)?(?:order|sequence|sequencing|which (?:one )?first))\b"
                         r"|\bcode\s*(?:&|and|\+|n)\s*sequence\s+(?:this|these|it|them)\b", re.I)


def asks_first_code(text: str) -> bool:
    """The question asks which code is listed first, a code rather than the rule ("Which code is sequenced first?").

    >>> asks_first_code("sepsis due to UTI, E. coli in both cultures. Which code is sequenced first?")
    True
    >>> asks_first_code("what are the sequencing rules for sepsis")
    False
    """
    return bool(_FIRST_CODE.search(text))


_INSTEAD_OF = re.compile(r"\b(?:instead of|rather than)\s+(?:an?\s+|the\s+)?((?:[\w/'-]+\s*){1,3}?)(?=[?.,;!]|$)", re.I)


def changed_case(prior: str, message: str) -> str:
    """The earlier description with a follow-up's change to it: what the case now is, to search a code for.

    Words the follow-up says the case is no longer ("... instead of bronchiolitis") leave the earlier description.

    >>> changed_case("code for RSV bronchiolitis in a 6 mo old?", "what if it's RSV pneumonia instead of bronchiolitis?")
    "code for RSV in a 6 mo old? what if it's RSV pneumonia ?"
    """
    dropped = [w for m in _INSTEAD_OF.finditer(message) for w in m.group(1).split()]
    message = _INSTEAD_OF.sub(" ", message)
    for w in dropped:
        prior = re.sub(rf"\b{re.escape(w)}\b\s*", "", prior, flags=re.I)
    return " ".join(f"{prior} {message}".split())


def asks_whether_to_code(text: str) -> bool:
    """A yes/no question whether to code something at all ("r/o ACS ... can i code the ACS?"): a rule, which a
    code found for the words would not answer.

    >>> asks_whether_to_code("chart says 'chest pain, r/o ACS'. can i code the ACS?"), asks_whether_to_code("code for ACS")
    (True, False)
    """
    return bool(_YES_NO_CODE.search(text))


def asks_documentation_rule(text: str) -> bool:
    """Whether what the record says supports a code: a link the provider never wrote, a finding from the labs or
    another clinician's note ("can I take the BMI from the dietitian's note?").

    >>> asks_documentation_rule("can i code E87.1 off the labs"), asks_documentation_rule("hyponatremia code")
    (True, False)
    """
    return bool(_NEEDS_LINK.search(text) or _FROM_FINDINGS.search(text))


def asks_billing_mechanics(text: str) -> bool:
    """How services go on a claim: bundled or separately reportable, on one line or several.

    >>> asks_billing_mechanics("is the closure included in the exc code?"), asks_billing_mechanics("BCC lt forearm")
    (True, False)
    """
    return bool(_BILLING_MECHANICS.search(text))


def names_a_rule(text: str) -> bool:
    """The question names a rule, a modifier or a convention ("what modifier on the E/M"), not only a condition;
    how services go on a claim ("is the closure included in the exc code?") is one."""
    return bool(_RULE.search(text)) or asks_billing_mechanics(text)


# "which side mod?", "what modifier on the E/M", "modifier?", "do I need a modifier": the answer is a modifier.
_ASKS_MODIFIER = re.compile(
    r"\b(?:which|what)\s+(?:[\w/-]+\s+){0,3}?(?:modifiers?|mods?)\b(?!\s+(?:indicator|\d))"
    r"|\b(?:modifiers?|mods?)\s*(?:needed|required|\?)"
    r"|\b(?:need|use|add|append)\s+(?:a|an|the|any)?\s*(?:[\w/-]+\s+){0,2}?(?:modifiers?|mods?)\b(?!\s+(?:indicator|\d))",
    re.I)


def asks_for_a_modifier(text: str) -> bool:
    """The question's answer is a modifier ("which side mod?", "what modifier on 20610"), not what one means.

    >>> asks_for_a_modifier("injection on the right knee only - which side mod?"), asks_for_a_modifier("what does mod 95 mean")
    (True, False)
    """
    return bool(_ASKS_MODIFIER.search(text))


def named_system(text: str) -> str | None:
    text = diagnostic_procedure_words(text)  # "dx LP" is a diagnostic lumbar puncture, no diagnosis code
    for system, rx in _SYSTEM_WORDS:
        if rx.search(text):
            return system
    return None


# What a drug or solution follows in a note ("given D50", "pushed an amp of D50", "bolus of D10"): a bare three-
# character token right after it names what was given, whatever ICD-10-CM category its letters spell.
_GIVEN = re.compile(r"\b(?:given|gave|giving|received|administered|pushed|push|ivp|iv|bolus(?:\s+of)?|"
                    r"amps?(?:\s+of)?|an\s+amp\s+of|started\s+on)\s*$", re.I)


# A remittance's remark code ("CO-16 w/ RARC M51", "remark code N115") names why a claim was adjusted, not the
# ICD-10-CM category its letters spell.
_REMARK = re.compile(r"\b(?:rarcs?|remark(?:\s+codes?)?)\s*(?:code\s*)?#?:?\s*$", re.I)


def resolve_mentions(text: str, store: CodeStore | None, system_hint: str | None = None,
                     labels: frozenset[str] = frozenset()) -> list[Resolved]:
    """Code mentions in ``text`` with their records; look-alikes (vitamin B12, a year) are dropped.

    ``labels``: modifiers the text's sources declare, which stand bare (see ``codes.find_mentions``)."""
    out: list[Resolved] = []
    seen: set[str] = set()
    for m in cs.find_mentions(text, labels):
        if len(m.code) <= 3 and _GIVEN.search(text[:m.start]):
            continue  # "given D50", "amp of D10": a solution given, not the category the letters spell
        if _REMARK.search(text[:m.start]):
            continue
        key = m.code + "/" + ",".join(m.systems)
        if key in seen:
            continue
        seen.add(key)
        systems = list(m.systems)
        if system_hint in systems:
            systems.remove(system_hint)
            systems.insert(0, system_hint)
        recs = store.find(m.raw, systems) if store is not None else []
        if recs:
            out.append(Resolved(m, recs))
            continue
        # Only keep unknown tokens that look deliberately like codes: dotted ICD, 5-digit CPT,
        # PCS, HCPCS, explicit modifiers. Three-character look-alikes ("B12") are not codes here.
        strong = "." in m.raw or m.explicit_modifier or len(m.code) >= 5
        if strong:
            out.append(Resolved(m, [], "not found"))
    return out


def _dx_and_procedure(resolved: list[Resolved]) -> bool:
    """Whether the codes pair a diagnosis with a procedure: "does E11.9 support 82947" asks a coverage crosswalk;
    "the note only supports 99213, not 99215" is about documentation."""
    kinds = [{r.record.system} if r.records else set(r.mention.systems) for r in resolved]
    return any(cs.ICD10CM in k for k in kinds) and any(k & {cs.CPT, cs.HCPCS} and cs.ICD10CM not in k for k in kinds)


def _within_heading(message: str, resolved: list[Resolved]) -> bool:
    """A question that names ICD-10-CM headings only and asks which code below them fits its description."""
    if not _ASKS_CODE.search(message) or _ABOUT_RULES.search(message):
        return False
    if not all(r.records and r.record.system == cs.ICD10CM and r.record.billable is False for r in resolved):
        return False
    rest = message
    for r in resolved:
        rest = rest.replace(r.mention.raw, " ")
    words = [w for w in re.findall(r"[a-z]{3,}", rest.lower()) if w not in _FILLER]
    return len(words) >= 2


_FILLER = frozenset("which what code codes the for with and use should would icd does this that".split())


# "I already have T78.3XXA for the swelling", "I have G30.1 first", "besides Z79.4": a code the asker has
_ALREADY_HAVE = re.compile(r"(?:\bi(?:'ve)?\s+(?:already\s+)?(?:have|got|coded|used|assigned|put)|\balready\s+(?:have|coded|got)|"
                           r"\bbesides|\bin addition to|\bother than|\balong with)\b[^.?!;]{0,40}$", re.I)


# ... or said after the code: "N18.4 is already on the claim - what's the code for the anemia?"
_ALREADY_AFTER = re.compile(r"\W{0,3}(?:(?:is|are|was|were|'s)\s+)?already\s+(?:on\s+the\s+claim|coded|billed|assigned|"
                            r"reported|listed|captured|there|in)\b"
                            r"|\W{0,3}(?:is|are|was|were|'s)\s+(?:on\s+the\s+claim|coded|billed|assigned|reported)\b", re.I)


def already_had(message: str, resolved: list[Resolved]) -> list[str]:
    """The codes the message says the asker has already ("I have P07.16 for the weight -- which code for the
    gestational age?"): what the answer is not.

    >>> from casepilot.codes import find_mentions
    >>> q = "I have G30.1 first -- what's the dementia code?"
    >>> already_had(q, [Resolved(m, []) for m in find_mentions(q)])
    ['G301']
    >>> q = "anemia due to CKD 4. N18.4 is already on the claim - what's the code for the anemia?"
    >>> already_had(q, [Resolved(m, []) for m in find_mentions(q)])
    ['N184']
    """
    return [r.mention.code for r in resolved
            if _ALREADY_HAVE.search(message[max(0, r.mention.start - 60):r.mention.start])
            or _ALREADY_AFTER.match(message, r.mention.end)]


def _last_user_message(history: list[dict]) -> str:
    """The conversation's last user message: the earlier question a follow-up continues."""
    return next((t.get("content", "") for t in reversed(history) if t.get("role") == "user"), "")


def route(message: str, history: list[dict] | None, store: CodeStore | None) -> Route:
    """Decide the intent and the codes of ``message``; a follow-up inherits the conversation's codes."""
    system = named_system(message)
    resolved = resolve_mentions(message, store, system)
    inherited = False
    prior = ""
    if not resolved and history:
        for turn in reversed(history):
            if turn.get("role") not in ("user", "assistant"):
                continue
            prior_codes = [r for r in resolve_mentions(turn.get("content", ""), store) if r.records]
            if prior_codes and turn.get("role") == "assistant" and _CASE_CHANGE.search(message) \
                    and prior_codes[0].record.system in (cs.ICD10CM, cs.ICD10PCS):
                asked = _last_user_message(history)
                if asked and not resolve_mentions(asked, store):
                    # the earlier question described a case and the answer gave its diagnosis or procedure code; this
                    # one changes the case ("what if it's RSV pneumonia instead?"): a description again, read with the
                    # earlier one (a modifier or a CPT summary answered a rule: "what if it's a major surgery instead?")
                    # (in the code set the earlier answer was in: "NICU transfer ..." is no PCS question)
                    return Route(DESCRIPTION_TO_CODE, [], system or prior_codes[0].record.system, True, message, asked)
            if prior_codes:
                # Follow-ups ("what else should I code with it?") keep talking about the same codes.
                if _FOLLOW_UP.search(message) or len(message.split()) <= 8 or turn.get("role") == "user":
                    resolved = prior_codes[:3] if turn.get("role") == "user" else prior_codes[:1]
                    inherited = True
                    prior = _last_user_message(history)
                break
    if not resolved and not prior and history and (_FOLLOW_UP.search(message) or _CASE_CHANGE.search(message)) \
            and not any(resolve_mentions(t.get("content", ""), store) for t in history):
        # "ok and what if the pt passes away before the 30 days are up?" after a question on TCM: a follow-up to a
        # conversation that named no code continues the earlier question's subject, which it does not repeat
        prior = _last_user_message(history)
        inherited = bool(prior)
    # NCCI and MUE tables list CPT/HCPCS codes that CasePilot may hold no summary for: a
    # procedure-shaped code counts for table questions whether or not the code store knows it.
    # (Two diagnosis codes "together" is an Excludes1 question: the code lookup shows those notes.)
    procedures = Route("", resolved).procedures()
    if len(procedures) >= 2 and (_PAIR.search(message) or _BILL_BOTH.search(message)):
        intent = PAIR_CHECK
    elif procedures and _UNITS.search(message):
        intent = GUIDELINE if _MINUTES_TO_UNITS.search(message) and not _TABLE_LIMIT.search(message) else UNITS
    elif procedures and _GLOBAL.search(message):
        intent = GLOBAL_PERIOD
    elif remittance_codes_of(message):
        # "EOB says CO-97 on our 20610, what does that mean": the denial is what is asked; the code is the claim line
        intent = GUIDELINE
    elif _COVERAGE_DOC.search(cs.without_identifiers(message)) or (
            (coded := [r for r in resolved if r.mention.systems != (cs.MODIFIER,)])
            and (_COVERAGE.search(message) or (_SUPPORTS.search(message) and _dx_and_procedure(coded)))):
        intent = COVERAGE
    elif resolved and asks_documentation_rule(message):
        # "do I need the doctor to link HTN and CKD to use I12?": a rule about documentation, which the guidance
        # answers (the presumed causal relationship), with the code's own record beside it
        intent = GUIDELINE
    elif resolved and asks_for_a_modifier(message) and not any(r.mention.systems == (cs.MODIFIER,) for r in resolved):
        # "E/M plus 11200 the same visit - what modifier goes on the E/M?": the answer is a modifier, which the
        # modifier guidance names; the code's own summary is no answer to it
        intent = GUIDELINE
    elif resolved and (had := already_had(message, resolved)) and len(had) == len(resolved) \
            and asks_for_a_code(message):
        # "I already have T78.3XXA for the swelling -- which T code do I add for the drug?": the codes named are
        # the asker's; the answer is another code for the description
        return Route(DESCRIPTION_TO_CODE, resolved, system, inherited, message, prior, had)
    elif resolved and asks_rule_about_codes(message, bool(procedures)) \
            and not any(r.mention.systems == (cs.MODIFIER,) for r in resolved):
        intent = GUIDELINE
    elif resolved and _within_heading(message, resolved):
        # "acute diastolic heart failure - which I50 code?": a description to code inside that heading.
        intent = DESCRIPTION_TO_CODE
    elif resolved:
        intent = CODE_LOOKUP
    elif asks_for_a_modifier(message):
        # "What HCPCS modifier shows the ABN is on file?": the answer is a modifier, from the modifier guidance,
        # whatever code set or procedure the question names
        intent = GUIDELINE
    elif _YES_NO_CODE.search(message) or asks_billing_mechanics(message):
        intent = GUIDELINE
    elif _DESCRIBE.search(message) or (not _ABOUT_RULES.search(message) and (
            (system and _ASKS_CODE.search(message)) or _ends_asking_code(message))):
        # "Which ICD-10-CM code is used for an encounter for immunization?": the named code set
        # and "code" ask for a code of that set, not for guidance about it.
        intent = DESCRIPTION_TO_CODE
    elif _asks(message) or _TOPIC.search(message):
        # "What does NEC mean in ICD-10-CM?" asks about the rules; when the guidance has nothing
        # relevant, the answerer still tries the description as a code search.
        intent = GUIDELINE
    else:
        # "type 1 diabetes with hypoglycemia without coma": a bare clinical description wants a code.
        intent = DESCRIPTION_TO_CODE
    return Route(intent, resolved, system, inherited, message, prior)
