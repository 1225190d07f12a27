"""``/v1/coverage``: Medicare coverage from the loaded MCD files (crosswalk, pair verdict, NCD), cited to rows."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SettingsDep
from api.errors import ApiError
from api.schemas import error_responses
from casepilot.tables import coverage as cov
from casepilot.tables import tables_path

router = APIRouter(prefix="/v1/coverage", tags=["coverage"])

STATE = Query(None, max_length=40, description="A state (TX, Texas; NY covers its regions) or a 5-digit MAC "
              "contract number: only that jurisdiction's articles answer.", examples=["DC"])
AS_OF = Query(None, description="Date of service (default today): decides which documents are in effect.")
ARTICLE = Query(None, max_length=8, pattern=r"^[Aa]\d{5}$", description="Only this article, e.g. A52420.")


class CoverageRow(BaseModel):
    """A row of an MCD table a result rests on."""

    table: str = Field(description="The CSV of the download, e.g. article_x_icd10_covered.csv.")
    file: str = Field(description="Where it was read: outer zip, inner zip and CSV.")
    line: int = Field(description="Line where the record starts (0: a group paragraph).")
    row: str = Field(description="The row's values.")
    document: str = Field(description="Article or NCD and version, e.g. A52420 version 64.")


class CoverageArticle(BaseModel):
    """One article version: status, jurisdiction, code groups and ICD-10-CM lists (codes with asterisk notes)."""

    public_id: str
    article_id: int
    version: int
    title: str
    type: str
    effective: str | None
    end: str | None
    status: str = Field(description="current, retired, ended, not_yet_effective or draft.")
    status_text: str
    current: bool
    url: str
    contractors: list[dict[str, Any]]
    states: list[str]
    jurisdiction_known: bool
    in_jurisdiction: bool | None
    lcds: list[str]
    code_groups: list[int] = Field(description="The code groups that list the code asked about.")
    hcpc_groups: dict[str, list[str]]
    paragraphs: dict[str, str] = Field(description="Group paragraphs as text: 'hcpc:2', 'covered:1', 'asterisk:1'.")
    covered: dict[str, list[dict[str, Any]]]
    noncovered: dict[str, list[dict[str, Any]]]
    pairing: str = Field(description="single_group, same_number, not_decided, no_covered_list or no_code.")
    verdict: str | None = None
    reason: str = ""
    rows: list[CoverageRow]


class CoverageResult(BaseModel):
    """A crosswalk (type crosswalk) or a pair verdict (type check) from the loaded MCD article tables."""

    kind: Literal["coverage"] = "coverage"
    type: Literal["crosswalk", "check", "article"]
    code: str
    dx: str = ""
    state: str = ""
    jurisdiction: str = ""
    as_of: str
    status: Literal["found", "not_listed"]
    verdict: Literal["supported", "not_supported", "not_addressed", "not_decided"] | None = None
    verdict_label: str | None = None
    reason: str = ""
    message: str
    edition: str = Field("", description="The download's 'data as of' date.")
    articles: list[CoverageArticle] = Field(description="Current articles of the jurisdiction: the answer.")
    other_articles: list[CoverageArticle] = Field(description="Listing the code but retired, not yet in effect, "
                                                  "draft, or another jurisdiction's: shown, never the answer.")
    codeset_flags: dict[str, str] = Field(description="ICD-10-CM codes the loaded code set does not hold, and why.")
    codeset_version: str = ""
    rows: list[CoverageRow]
    citations: list[dict[str, Any]]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "coverage", "type": "check", "code": "20610", "dx": "M17.11", "as_of": "2026-11-29",
        "status": "found", "verdict": "not_decided", "verdict_label": "not decided",
        "reason": "A52420 lists M17.11 as covered in group 1 (code group 1 with J7318 … J7332), while 20610 is in "
                  "code group 2 and the article has no covered group 2 ...",
        "message": "20610 with M17.11: not decided. ...", "articles": [], "other_articles": [], "codeset_flags": {},
        "rows": [], "citations": []}]})


class NcdResult(BaseModel):
    """A national coverage determination: title, manual section, dates, coverage level, text, retired or not."""

    kind: Literal["coverage"] = "coverage"
    type: Literal["ncd"] = "ncd"
    ref: str
    as_of: str
    status: Literal["found"]
    ncd: dict[str, Any] = Field(description="id, version, section, title, effective, implemented, terminated, "
                                "status, retired, coverage_level(_text), item_service, indications_limitations, "
                                "cross_reference, other (text; *_html keep the original), url.")
    versions: list[dict[str, Any]]
    message: str
    edition: str = ""
    rows: list[CoverageRow]
    citations: list[dict[str, Any]]


def _store(request: Request):
    engine = getattr(request.app.state, "engine", None)
    return engine.store if engine is not None else None


async def _run(fn, *args, **kw):
    try:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kw))
    except cov.NotLoaded as e:
        raise ApiError(503, "mcd_not_loaded", str(e)) from None
    except LookupError as e:  # the state list is missing
        raise ApiError(422, "jurisdiction_unavailable", str(e)) from None
    except ValueError as e:
        raise ApiError(422, "invalid_request", str(e)) from None


@router.get("/crosswalk", response_model=CoverageResult, summary="Articles naming a CPT/HCPCS code and their ICD-10-CM lists",
            responses=error_responses(403, 422, 429, 503))
async def crosswalk(request: Request, settings: SettingsDep,
                    code: str = Query(max_length=16, examples=["J7321"]), state: str | None = STATE,
                    as_of: date | None = AS_OF, article: str | None = ARTICLE):
    """Every current article of the jurisdiction that lists ``code``: MAC, states, version, dates, status, the
    covered ICD-10-CM codes its tables pair with the code (asterisk notes), the noncovered codes and the group
    paragraphs. Retired, future-dated and other jurisdictions' articles come separately in ``other_articles``.
    503 ``mcd_not_loaded`` names the download and the ingest command."""
    res = await _run(cov.crosswalk, tables_path(settings.data_dir), code, as_of or date.today(), state=state,
                     store=_store(request), article=article)
    return res.to_dict()


@router.get("/check", response_model=CoverageResult, summary="Coverage verdict for a code with a diagnosis",
            responses=error_responses(403, 422, 429, 503))
async def check(request: Request, settings: SettingsDep,
                code: str = Query(max_length=16, examples=["20610"]),
                dx: str = Query(max_length=16, examples=["M17.11"]), state: str | None = STATE,
                as_of: date | None = AS_OF, article: str | None = ARTICLE):
    """``supported`` (covered in a group the tables pair with the code's group), ``not_supported`` (listed as
    noncovered), ``not_addressed`` (no current article of the jurisdiction lists the diagnosis for the code) or
    ``not_decided`` (the pairing is in the article's text, or articles disagree), with the reason and the
    article, version, dates and rows it rests on."""
    res = await _run(cov.check, tables_path(settings.data_dir), code, dx, as_of or date.today(), state=state,
                     store=_store(request), article=article)
    return res.to_dict()


@router.get("/ncd/{ref}", response_model=NcdResult, summary="A national coverage determination",
            responses=error_responses(403, 404, 422, 429, 503))
async def ncd(settings: SettingsDep,
              ref: str = Path(max_length=24, description="NCD id (330) or manual section (240.4.1).",
                              examples=["240.4.1"]),
              as_of: date | None = AS_OF):
    """Title, manual section, effective / implementation / termination dates, coverage level, the NCD text and
    whether it is retired (terminated, or RETIRED in its title) on ``as_of``."""
    res = await _run(cov.ncd, tables_path(settings.data_dir), ref, as_of or date.today())
    if res.status == "not_found":
        raise ApiError(404, "ncd_not_found", res.message)
    return res.to_dict()
