"""Designed vs observed: read the mesh's request metrics and show where traffic leaves the
design. ``compare`` is pure; ``prometheus`` is the HTTP edge; ``observe`` joins them."""

from __future__ import annotations

from .compare import DEFAULT_TOLERANCE, LANE_TAG, Cell, Comparison, Sample, compare
from .prometheus import Prometheus, PrometheusError, read_token, redact
from .query import requests_query, samples_from_answer, window_seconds
from .run import Observation, observe
from .synthetic import (
    DropsContext,
    ExtraCall,
    MissingVersion,
    UnusedCall,
    ambient_samples,
    openmetrics,
    synthetic_samples,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "LANE_TAG",
    "Cell",
    "Comparison",
    "DropsContext",
    "ExtraCall",
    "MissingVersion",
    "Observation",
    "Prometheus",
    "PrometheusError",
    "Sample",
    "UnusedCall",
    "ambient_samples",
    "compare",
    "observe",
    "openmetrics",
    "read_token",
    "redact",
    "requests_query",
    "samples_from_answer",
    "synthetic_samples",
    "window_seconds",
]
