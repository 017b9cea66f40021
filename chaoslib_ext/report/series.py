"""What the HTML report plots: metrics over time in buckets, and TTFT / ITL quantile curves per phase.

Buckets are 1 s wide, wider when a run is long (at most :data:`MAX_BUCKETS`): TTFT p50/p99 and error
rate over the requests that started in a bucket, output tokens/s over the token events in it.
A CDF is the exact quantiles of the phase at :data:`CDF_LEVELS` (denser in the tail).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaoslib_ext.metrics import SampleTable, Window
from chaoslib_ext.metrics.gaps import GapIndex

__all__ = ["CDF_LEVELS", "MAX_BUCKETS", "bucket_grid", "cdfs", "timeseries"]

MAX_BUCKETS = 600
CDF_LEVELS = np.unique(np.concatenate((np.linspace(0, 99, 199), np.linspace(99, 100, 21))))


def bucket_grid(start: float, end: float) -> tuple[float, float, int]:
    """(start, width, count) of the time buckets of [start, end)."""
    width = max(1.0, (end - start) / MAX_BUCKETS)
    return start, width, max(1, int(np.ceil((end - start) / width)))


def timeseries(table: SampleTable, index: GapIndex, start: float, end: float) -> dict[str, Any]:
    """Per bucket of [start, end): TTFT p50/p99 (ms), output tokens/s, requests/s and error rate
    (the tokens per bucket were counted when ``index`` was built on :func:`bucket_grid`)."""
    _, width, n = bucket_grid(start, end)
    edges = start + width * np.arange(n + 1)
    tokens = index.bucket_tokens
    bucket = np.floor((table.start_at - start) / width).astype(np.int64)
    inside = (bucket >= 0) & (bucket < n)
    requests = np.bincount(bucket[inside], minlength=n).astype(float)
    failed = np.bincount(bucket[inside & ~table.ok], minlength=n).astype(float)
    ttft_p50, ttft_p99 = _bucket_percentiles(bucket, table.ttft_ms, inside & table.ok, n)
    span = np.minimum(edges[1:], end) - edges[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        error_rate = np.where(requests > 0, failed / requests, np.nan)
    return {
        "bucket_s": width,
        "at": (edges[:-1] - start).tolist(),
        "ttft_p50_ms": _list(ttft_p50),
        "ttft_p99_ms": _list(ttft_p99),
        "output_tps": _list(tokens / span),
        "request_rps": _list(requests / span),
        "error_rate": _list(error_rate),
    }


def _bucket_percentiles(bucket: np.ndarray, values: np.ndarray, use: np.ndarray, n: int) -> tuple[Any, Any]:
    p50, p99 = np.full(n, np.nan), np.full(n, np.nan)
    use = use & ~np.isnan(values)
    order = np.argsort(bucket[use], kind="stable")
    b, v = bucket[use][order], values[use][order]
    bounds = np.searchsorted(b, np.arange(n + 1))
    for i in range(n):
        if bounds[i + 1] > bounds[i]:
            p50[i], p99[i] = np.percentile(v[bounds[i] : bounds[i + 1]], [50, 99])
    return p50, p99


def cdfs(table: SampleTable, index: GapIndex, windows: dict[str, Window]) -> dict[str, dict[str, list[float] | None]]:
    """Per phase, the TTFT (exact) and ITL (within 0.8 %, from the gap histogram) quantiles in ms at
    :data:`CDF_LEVELS` percent."""
    out: dict[str, dict[str, list[float] | None]] = {}
    ok = table.ok & ~np.isnan(table.ttft_ms)
    for phase, window in windows.items():
        ttft = table.ttft_ms[window.contains(table.start_at) & ok]
        out[phase] = {"ttft_ms": _quantiles(ttft), "itl_ms": index.quantiles(window, list(CDF_LEVELS))}
    return out


def _quantiles(values: np.ndarray) -> list[float] | None:
    if values.size == 0:
        return None
    return [float(x) for x in np.percentile(values, CDF_LEVELS, overwrite_input=True)]


def _list(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(x) else round(float(x), 4) for x in values]
