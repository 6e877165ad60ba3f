"""Kept for the engine until it imports `axiomcheck.results` (where these now live)."""

from .results import SCHEMA_VERSION, STATUSES, Report, Result, plain  # noqa: F401
