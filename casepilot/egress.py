"""What may leave the process or reach the logs besides the answer: HTTP client loggers and LangChain tracing.

- The HTTP client loggers (``httpx``, ``httpcore``) print request URLs (a search's query string) at
  INFO and DEBUG, and the model clients (``openai``, ``ollama``) print whole prompts at DEBUG. They stay
  at WARNING unless ``CASEPILOT_LOG_BODIES=true``.
- LangSmith tracing switched on by an inherited environment (``LANGSMITH_TRACING=true``,
  ``LANGCHAIN_TRACING_V2=true``) would send every prompt, with the user's question, to a tracing
  server. It is turned off unless ``CASEPILOT_ALLOW_TRACING=true``.

``apply_egress_policy`` is idempotent; the API applies it at start-up and the LLM answerer again once
the provider's library is loaded (a library may set its own logger level when it is imported).
"""

from __future__ import annotations

import logging
import os

from casepilot.settings import Settings

BODY_LOGGERS = ("httpx", "httpcore", "openai", "ollama", "anthropic", "langsmith")
# The variables LangSmith and LangChain read to switch tracing on (both namespaces, old and new names).
TRACING_VARS = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING", "LANGCHAIN_TRACING_V2")


def quiet_body_loggers(log_bodies: bool) -> None:
    """Loggers that print URLs or prompts at INFO/DEBUG go to WARNING (unless bodies may be logged)."""
    if log_bodies:
        return
    for name in BODY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) included: it would inherit a DEBUG root
            logger.setLevel(logging.WARNING)


def disable_tracing(allow: bool) -> None:
    """Turn LangSmith/LangChain tracing off, whatever the environment says (unless ``allow``)."""
    if allow:
        return
    for name in TRACING_VARS:
        # The libraries' own switches (read by langsmith, and by any child process): set, not read.
        os.environ[name] = "false"
    try:
        import langsmith
        from langsmith import utils as ls_utils
    except ImportError:  # pragma: no cover - langsmith comes with langchain-core
        return
    ls_utils.get_env_var.cache_clear()  # langsmith caches what it read from the environment
    langsmith.configure(enabled=False)  # the global switch, for every thread


def apply_egress_policy(settings: Settings) -> None:
    quiet_body_loggers(settings.log_bodies)
    disable_tracing(settings.allow_tracing)
