"""Defaults the settings derive from each other."""

from __future__ import annotations

from casepilot.settings import Settings


def test_chat_concurrency_follows_the_answerer_unless_set(monkeypatch):
    monkeypatch.delenv("CASEPILOT_CHAT_CONCURRENCY", raising=False)
    monkeypatch.delenv("CASEPILOT_LLM", raising=False)
    # grounded: CPU-bound steps, two at a time; a model's steps mostly wait, so more overlap
    assert Settings().chat_concurrency == 2
    assert Settings(llm="openai:gpt-4.1-mini").chat_concurrency == 8
    monkeypatch.setenv("CASEPILOT_CHAT_CONCURRENCY", "5")
    assert Settings().chat_concurrency == 5 and Settings(llm="ollama:llama3").chat_concurrency == 5
