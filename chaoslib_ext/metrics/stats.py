"""Exact statistics of raw values: linear interpolation on every value, never a histogram's buckets."""

from __future__ import annotations

import numpy as np

from chaoslib_ext.metrics.record import Distribution
from chaoslib_ext.samples.table import GapValues

__all__ = ["distribution"]


def distribution(values: GapValues) -> Distribution:
    """count, mean, min, p50, p90, p95, p99, max of the non-NaN values (None when there are none)."""
    v = values[~np.isnan(values)]
    if v.size == 0:
        return Distribution(0)
    p50, p90, p95, p99 = np.percentile(v, [50, 90, 95, 99], overwrite_input=True)
    return Distribution(
        int(v.size), float(v.mean()), float(v.min()), float(p50), float(p90), float(p95), float(p99), float(v.max())
    )
