"""The inputs of a coverage lookup: a CPT/HCPCS code, an ICD-10-CM code, a document id, a date of service."""

from __future__ import annotations

import re
from datetime import date

from casepilot import codes as cs

DOC_ID = re.compile(r"^([AL])(\d{5})$")


def procedure_code(raw: str) -> str:
    code = cs.normalize(raw)
    if not re.fullmatch(r"[0-9A-Z]{5}", code):
        raise ValueError(f"{raw!r} is not a CPT/HCPCS code (5 letters or digits, e.g. 20610 or J7321)")
    return code


def diagnosis_code(raw: str) -> tuple[str, str]:
    """(key without dot, dotted display) of an ICD-10-CM code; ValueError otherwise."""
    code = cs.normalize(raw)
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}", code):
        raise ValueError(f"{raw!r} is not an ICD-10-CM code (e.g. M17.11)")
    return code, cs.format_code(code, cs.ICD10CM)


def day_text(as_of: date | str) -> str:
    return as_of.isoformat() if isinstance(as_of, date) else str(as_of)
