"""What the HTML report plots: metrics over time in buckets, and TTFT / ITL quantile curves per phase.

Buckets are 1 s wide, wider when a run is long (at most ``metrics.gaps.MAX_BUCKETS``): TTFT p50/p99
and error rate over the requests that started in a bucket, output tokens/s over the token events in it.
A CDF is the exact quantiles of the phase at :data:`CDF_LEVELS` (denser in the tail).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaoslib_ext.metrics import Window
from chaoslib_ext.metrics.gaps import GapIndex, bucket_grid
from chaoslib_ext.samples.table import SampleTable

__all__ = ["CDF_LEVELS", "Cdfs", "TimeSeries", "cdfs", "timeseries"]

Floats = npt.NDArray[np.float64]
#: per phase, per metric (ttft_ms, itl_ms), the quantiles at CDF_LEVELS; None when the phase had none
Cdfs = dict[str, dict[str, list[float] | None]]


@dataclass(frozen=True)
class TimeSeries:
    """Per time bucket, ``at`` seconds after measuring began: each list has one value (or None) a bucket."""

    bucket_s: float
    at: list[float]
    ttft_p50_ms: list[float | None]
    ttft_p99_ms: list[float | None]
    output_tps: list[float | None]
    request_rps: list[float | None]
    error_rate: list[float | None]


CDF_LEVELS = np.unique(np.concatenate((np.linspace(0, 99, 199), np.linspace(99, 100, 21))))


def timeseries(table: SampleTable, index: GapIndex, start: float, end: float) -> TimeSeries:
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
    return TimeSeries(
        bucket_s=width,
        at=[float(x) for x in edges[:-1] - start],
        ttft_p50_ms=_list(ttft_p50),
        ttft_p99_ms=_list(ttft_p99),
        output_tps=_list(tokens / span),
        request_rps=_list(requests / span),
        error_rate=_list(error_rate),
    )


def _bucket_percentiles(
    bucket: npt.NDArray[np.int64], values: Floats, use: npt.NDArray[np.bool_], n: int
) -> tuple[Floats, Floats]:
    p50, p99 = np.full(n, np.nan), np.full(n, np.nan)
    use = use & ~np.isnan(values)
    order = np.argsort(bucket[use], kind="stable")
    b, v = bucket[use][order], values[use][order]
    bounds = np.searchsorted(b, np.arange(n + 1))
    for i in range(n):
        if bounds[i + 1] > bounds[i]:
            p50[i], p99[i] = np.percentile(v[bounds[i] : bounds[i + 1]], [50, 99])
    return p50, p99


def cdfs(table: SampleTable, index: GapIndex, windows: dict[str, Window]) -> Cdfs:
    """Per phase, the TTFT (exact) and ITL (within 0.8 %, from the gap histogram) quantiles in ms at
    :data:`CDF_LEVELS` percent."""
    out: Cdfs = {}
    ok = table.ok & ~np.isnan(table.ttft_ms)
    for phase, window in windows.items():
        ttft = table.ttft_ms[window.requests(table.start_at, table.end_at) & ok]
        out[phase] = {"ttft_ms": _quantiles(ttft), "itl_ms": index.quantiles(window, list(CDF_LEVELS))}
    return out


def _quantiles(values: Floats) -> list[float] | None:
    if values.size == 0:
        return None
    return [float(x) for x in np.percentile(values, CDF_LEVELS, overwrite_input=True)]


def _list(values: Floats) -> list[float | None]:
    return [None if np.isnan(x) else round(float(x), 4) for x in values]
