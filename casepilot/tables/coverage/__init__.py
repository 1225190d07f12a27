"""Medicare coverage from the loaded Medicare Coverage Database (MCD) tables: crosswalks, pair verdicts, NCDs.

Every answer names the article (or NCD), its version, dates, status and the table rows it rests on; the date of
service is passed in (``as_of``). The modules, by concept:

- ``schema``: the MCD tables ``ingest/mcd.py`` writes; ``labels``: download addresses, document URLs, wording;
- ``store``: the read-only connection per thread and which datasets are loaded (``NotLoaded``);
- ``status``: a document's status on a date (current, retired, ended, not yet effective, draft);
- ``jurisdiction``: the states or MAC a question is scoped to;
- ``inputs``, ``results``: what a lookup takes and returns;
- ``verdict``: the pair verdict of one article and of several, as pure functions;
- ``articles``: reading an article's status, jurisdiction, groups and ICD-10-CM lists;
- ``lookups``: crosswalk, check and article by id; ``ncds``: NCDs; ``search``: documents by title words;
- ``messages``: the one-paragraph summaries.

The names below are the package's public face: ``from casepilot.tables import coverage as cov``.
"""

from casepilot.tables.coverage.articles import codeset_flags
from casepilot.tables.coverage.inputs import diagnosis_code, procedure_code
from casepilot.tables.coverage.labels import VERDICT_LABELS, not_loaded_message
from casepilot.tables.coverage.lookups import article, check, crosswalk, is_listed
from casepilot.tables.coverage.messages import doc_line, others_text
from casepilot.tables.coverage.ncds import ncd
from casepilot.tables.coverage.results import LIST_LIMIT, Article, CoverageResult, NcdResult, Row
from casepilot.tables.coverage.search import find_documents, title_words
from casepilot.tables.coverage.store import NotLoaded, loaded, reading
from casepilot.tables.coverage.verdict import article_verdict, codes_text, combine

__all__ = [
    "LIST_LIMIT", "VERDICT_LABELS", "Article", "CoverageResult", "NcdResult", "NotLoaded", "Row", "article",
    "article_verdict", "check", "codes_text", "codeset_flags", "combine", "crosswalk", "diagnosis_code", "doc_line",
    "find_documents", "is_listed", "loaded", "ncd", "not_loaded_message", "others_text", "procedure_code", "reading",
    "title_words",
]
