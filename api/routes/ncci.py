"""``GET /v1/ncci/ptp`` and ``GET /v1/ncci/mue/{code}``: deterministic checks on the loaded CMS tables."""

from __future__ import annotations

from datetime import date

import anyio
from fastapi import APIRouter, Path, Query

from api.deps import LookupLimiterDep, SettingsDep
from api.errors import ApiError
from api.schemas import NcciResult, error_responses
from casepilot.tables import tables_path
from casepilot.tables.mue import mue_for
from casepilot.tables.ptp import check_pair

router = APIRouter(prefix="/v1/ncci", tags=["ncci"])


@router.get("/ptp", response_model=NcciResult, summary="NCCI PTP edit for a pair of codes",
            responses=error_responses(403, 422, 429))
async def ptp(
    settings: SettingsDep,
    limiter: LookupLimiterDep,
    code1: str = Query(max_length=16, examples=["99213"]),
    code2: str = Query(max_length=16, examples=["11055"]),
    as_of: date | None = Query(None, description="Date of service (default today)."),
):
    """Which code is column 1, whether the edit is in force, and whether a modifier may bypass it."""
    try:
        v = await anyio.to_thread.run_sync(check_pair, tables_path(settings.data_dir), code1, code2,
                                           as_of or date.today(), limiter=limiter)
    except ValueError as e:
        raise ApiError(422, "malformed_code", str(e)) from None
    return v.to_dict()


@router.get("/mue/{code}", response_model=NcciResult, summary="Medically Unlikely Edit of a code",
            responses=error_responses(403, 422, 429))
async def mue(settings: SettingsDep, limiter: LookupLimiterDep, code: str = Path(max_length=16, examples=["99213"])):
    """The units-of-service limit in every loaded MUE table, with the row it comes from."""
    try:
        v = await anyio.to_thread.run_sync(mue_for, tables_path(settings.data_dir), code, limiter=limiter)
    except ValueError as e:
        raise ApiError(422, "malformed_code", str(e)) from None
    return v.to_dict()
