"""Typed error of the KPI functions: the input cannot be scored, and the message says why."""

from __future__ import annotations


class MetricInputError(ValueError):
    """Series given to a metric that cannot be scored (length mismatch, too short, no variation).

    A subclass of ValueError so callers that already guard numeric input keep working.
    """
