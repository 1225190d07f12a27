"""``GET /v1/codes/{code}``: exact lookup in any common spelling, with every note that applies."""

from __future__ import annotations

from datetime import date
from typing import Literal

import anyio
from fastapi import APIRouter, Path, Query

from api.deps import LookupLimiterDep, StoreDep
from api.errors import ApiError
from api.schemas import CodeRecordOut, error_responses
from casepilot import codes as cs
from casepilot.codestore import CodeNotFound

router = APIRouter(prefix="/v1/codes", tags=["codes"])

System = Literal["icd10cm", "icd10pcs", "cpt", "hcpcs", "modifier"]


@router.get("/{code}", response_model=CodeRecordOut, summary="Look up one code",
            responses=error_responses(403, 404, 422, 429, 503))
async def get_code(
    store: StoreDep,
    limiter: LookupLimiterDep,
    code: str = Path(max_length=32, description="Any spelling: E11.22, e1122, 99213, G2211, 0DTJ4ZZ.",
                     examples=["E11.22"]),
    system: System | None = Query(None, description="Restrict to one code set."),
    as_of: date | None = Query(None, description="Date of service (default today): a code past its termination "
                               "date comes back terminated and not billable.", examples=["2026-11-29"]),
):
    """Meaning, billable status, parent/children, own and inherited notes, version and source, as they stand on
    ``as_of``."""
    try:
        look = await anyio.to_thread.run_sync(store.lookup, code, system, as_of or date.today(), limiter=limiter)
    except ValueError as e:
        raise ApiError(422, "malformed_code", str(e)) from None
    except CodeNotFound as e:
        sugg = [{"system": r.system, "code": cs.display_code(r.code, r.system), "title": r.title}
                for r in e.suggestions]
        raise ApiError(404, "code_not_found", str(e), suggestions=sugg) from None
    return look.to_dict()
