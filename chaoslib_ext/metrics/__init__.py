"""Metrics from raw samples, per phase of the fault timeline (vLLM ``bench serve`` definitions)."""

from chaoslib_ext.metrics.phase import DISTRIBUTIONS, SCALARS, STATS, distribution, window_metrics
from chaoslib_ext.metrics.windows import PHASES, FaultInterval, Window, phase_windows

__all__ = [
    "DISTRIBUTIONS",
    "PHASES",
    "SCALARS",
    "STATS",
    "FaultInterval",
    "Window",
    "distribution",
    "phase_windows",
    "window_metrics",
]
