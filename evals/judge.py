"""Optional LLM-judge metrics (correctness, faithfulness) through a LangChain chat model.

Off by default and never needed in CI. The judge sees the question, the expected facts, the answer and
the numbered evidence, and returns two scores in [0, 1] as JSON; an unparseable reply scores None.
"""

from __future__ import annotations

import json
import re

from evals.datasets import EvalItem

PROMPT = """You grade answers of a medical coding assistant. Reply with JSON only:
{{"correctness": <0..1>, "faithfulness": <0..1>}}
correctness: does the answer correctly answer the question (the expected facts and codes are a guide)?
faithfulness: is every statement of the answer supported by the numbered evidence?

Question: {question}
Expected codes: {codes}
Expected facts: {facts}

Answer:
{answer}

Evidence:
{evidence}
"""


def parse_scores(text: str) -> dict[str, float | None]:
    """The two scores from a judge reply, clipped to [0, 1].

    >>> parse_scores('Sure: {"correctness": 1, "faithfulness": 0.5}')
    {'correctness': 1.0, 'faithfulness': 0.5}
    """
    m = re.search(r"\{.*\}", text or "", re.S)
    try:
        data = json.loads(m.group(0)) if m else {}
    except json.JSONDecodeError:
        data = {}
    out = {}
    for k in ("correctness", "faithfulness"):
        try:
            out[k] = min(1.0, max(0.0, float(data[k])))
        except (KeyError, TypeError, ValueError):
            out[k] = None
    return out


class LLMJudge:
    """Wraps any LangChain chat model (``init_chat_model`` string, or a model object in tests)."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def from_string(cls, spec: str, base_url: str | None = None, api_key: str | None = None) -> "LLMJudge":
        from langchain.chat_models import init_chat_model

        kw = {"temperature": 0}
        if base_url:
            kw["base_url"] = base_url
        if api_key:
            kw["api_key"] = api_key
        return cls(init_chat_model(spec, **kw))

    def score(self, item: EvalItem, answer: str, passages: dict[int, str]) -> dict[str, float | None]:
        evidence = "\n".join(f"[{n}] {t[:1200]}" for n, t in sorted(passages.items())) or "(none)"
        prompt = PROMPT.format(question=item.question, codes=", ".join(item.expected_codes) or "-",
                               facts="; ".join(" / ".join(g) for g in item.expected_facts) or "-",
                               answer=answer, evidence=evidence)
        try:
            reply = self.model.invoke(prompt)
        except Exception as e:  # a judge outage marks the item unjudged rather than failing the run
            return {"correctness": None, "faithfulness": None, "error": type(e).__name__}
        return parse_scores(getattr(reply, "content", str(reply)))
