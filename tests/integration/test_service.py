"""The search and chat-model construction the CLI and the API share (casepilot/service.py)."""

import pytest

from casepilot import service

pytestmark = pytest.mark.slow


def test_search_resolves_named_codes_exactly_and_ranks_the_rest(engine):
    found = service.search(engine.store, engine.retriever, "E11.22 type 2 diabetes with ckd", "icd10cm", k=3)
    assert found.exact == [{"system": "icd10cm", "code": "E11.22",
                            "title": "Type 2 diabetes mellitus with diabetic chronic kidney disease"}]
    assert len(found.hits) == 3 and all(h.collection == "icd10cm" for h in found.hits)
    assert found.dense_skipped is False
    out = found.to_dict()
    assert set(out) == {"exact", "hits"} and out["hits"][0]["title"].startswith("ICD-10-CM")


def test_no_chat_model_unless_configured(slice_index):
    assert service.chat_model(slice_index) is None
