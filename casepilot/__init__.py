"""CasePilot: a medical coding assistant that answers with citations, offline by default."""

__version__ = "0.1.0"
