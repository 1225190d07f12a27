"""The coverage verdict of one article for a code and a diagnosis, and of several articles together: pure.

Pair verdicts follow the MCD's own tables:

>>> article_verdict("20610", "M17.11", "A52420", code_groups=[2], hcpc_groups={1: ["J7321"], 2: ["20610"]},
...                 covered_groups={1}, dx_rows=[{"kind": "covered", "grp": 1}], paragraphs={})[0]
'not_decided'
"""

from __future__ import annotations


def codes_text(codes: list[str], limit: int = 4) -> str:
    if len(codes) <= limit:
        return ", ".join(codes)
    return f"{', '.join(codes[:limit - 1])} … {codes[-1]} ({len(codes)} codes)"


def article_verdict(code: str, dx: str, public_id: str, code_groups: list[int], hcpc_groups: dict[int, list[str]],
                    covered_groups: set[int], dx_rows: list[dict], paragraphs: dict[str, str]) -> tuple[str, str]:
    """(verdict, reason) of one article for ``code`` + ``dx``.

    supported: covered in a group the tables pair with the code's group (the same number, or any group when
    the article has one code group); not_supported: listed as noncovered; not_addressed: the article lists
    the code, not the diagnosis for it; not_decided: covered only in groups the tables do not pair with the
    code (the pairing is in the article's text), or both covered and noncovered.
    """
    single = len(hcpc_groups) <= 1
    groups = ", ".join(str(g) for g in code_groups)
    cov = [r for r in dx_rows if r["kind"] == "covered"]
    non = [r for r in dx_rows if r["kind"] == "noncovered"]
    paired = [r for r in cov if single or r["grp"] in code_groups]

    def para(kind: str, g: int) -> str:
        text = paragraphs.get(f"{kind}:{g}", "")
        return f' ("{text[:160]}{"…" if len(text) > 160 else ""}")' if text else ""

    if non and paired:
        return "not_decided", (f"{public_id} lists {dx} both as covered (group {paired[0]['grp']}) and as noncovered "
                               f"(group {non[0]['grp']}) for the codes of {code}'s group; read the article")
    if non:
        g = non[0]["grp"]
        return "not_supported", (f"{public_id} lists {dx} among its ICD-10-CM codes that do not support medical "
                                 f"necessity (noncovered group {g}{para('noncovered', g)}), and it lists {code} "
                                 f"in code group {groups}")
    if paired:
        g = paired[0]["grp"]
        why = ("the article has one code group, so its covered groups apply to every code in it" if single
               else f"covered group {g} pairs with code group {g} by number")
        star = " (marked with an asterisk: read the group's asterisk note)" if paired[0].get("asterisk") else ""
        return "supported", (f"{public_id} lists {dx} as covered in group {g}{star} and {code} in code group "
                             f"{groups}; {why}")
    if cov:
        g = cov[0]["grp"]
        with_codes = f" with {codes_text(hcpc_groups[g])}" if hcpc_groups.get(g) else ""
        own = [cg for cg in code_groups if cg in covered_groups]
        if own:
            return "not_addressed", (f"{public_id} lists {dx} as covered only in group {g} (paired with code group "
                                     f"{g}{with_codes}); {code} is in code group {groups}, whose covered group does "
                                     f"not list {dx}")
        return "not_decided", (f"{public_id} lists {dx} as covered in group {g} (code group {g}{with_codes}), while "
                               f"{code} is in code group {groups}{para('hcpc', code_groups[0]) if code_groups else ''}"
                               f" and the article has no covered group {groups}: its tables do not pair {code} with "
                               "these diagnoses, so the pairing rests on the article's text; read its group "
                               "paragraphs before billing")
    if not covered_groups:
        return "not_addressed", (f"{public_id} lists {code} (code group {groups}) but no covered ICD-10-CM codes; "
                                 f"it does not list {dx} as noncovered either")
    return "not_addressed", (f"{public_id} lists {code} (code group {groups}) but lists {dx} in neither its covered "
                             "nor its noncovered ICD-10-CM codes")


def combine(verdicts: list[tuple[str, str, str]], scoped: bool) -> tuple[str, str]:
    """One verdict from several current articles' (verdict, reason, contractor key) in a jurisdiction."""
    kinds = {v for v, _, _ in verdicts}
    if len(kinds) == 1:
        v = verdicts[0][0]
        return v, "; ".join(r for _, r, _ in verdicts)
    if "supported" in kinds and "not_supported" in kinds:
        return "not_decided", "the articles disagree: " + "; ".join(r for _, r, _ in verdicts)
    if not scoped and len({c for _, _, c in verdicts}) > 1:
        return "not_decided", ("the answer depends on the jurisdiction (ask with a state): "
                               + "; ".join(r for _, r, _ in verdicts))
    for v in ("supported", "not_supported", "not_decided"):
        if v in kinds:
            return v, "; ".join(r for k, r, _ in verdicts if k == v)
    return "not_addressed", "; ".join(r for _, r, _ in verdicts)
