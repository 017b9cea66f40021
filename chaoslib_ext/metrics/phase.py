"""The metrics of one window, defined as vLLM's ``bench serve`` defines them (docs/design.md).

Per window: requests are counted by their start time (TTFT, TPOT, E2EL, errors; in the baseline before
a fault only those that also ended before it), inter-token gaps by the time of their later token,
throughput by completion time (requests) and token time (tokens).
Percentiles are exact: linear interpolation on the raw values, as ``numpy.percentile``.
P99 jitter is P99 - P50 of the metric in the window.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from chaoslib_ext.metrics.arrivals import arrival_metrics
from chaoslib_ext.metrics.gaps import GapIndex
from chaoslib_ext.metrics.goodput import GoodputSLO
from chaoslib_ext.metrics.lengths import length_metrics
from chaoslib_ext.metrics.record import DISTRIBUTIONS, SCALARS, STATS, PhaseMetrics, RetryMetrics
from chaoslib_ext.metrics.stats import distribution
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.errors import ERROR_CLASSES
from chaoslib_ext.samples.table import SampleTable

__all__ = ["DISTRIBUTIONS", "SCALARS", "STATS", "distribution", "window_metrics"]


def window_metrics(
    table: SampleTable, window: Window, goodput: GoodputSLO | None = None, index: GapIndex | None = None
) -> PhaseMetrics:
    """Every metric of ``window``; rates are None when the window is empty, distributions when no sample.
    ``index``: the gaps already indexed for windows including this one (one pass serves them all)."""
    duration = window.duration_s
    started = window.requests(table.start_at, table.end_at)
    ok = started & table.ok
    requests = int(started.sum())
    failed = requests - int(ok.sum())
    finished_ok = window.contains(table.end_at) & table.ok
    if index is None or not index.covers(window):
        index = GapIndex(table, [window])
    tokens_in = index.tokens_in(window)

    def rate(count: float) -> float | None:
        return count / duration if duration > 0 else None

    return PhaseMetrics(
        start_at=window.intervals[0][0] if window.intervals else None,
        end_at=window.intervals[-1][1] if window.intervals else None,
        duration_s=duration,
        requests=requests,
        completed=requests - failed,
        failed=failed,
        error_rate=failed / requests if requests else None,
        request_throughput_rps=rate(float(finished_ok.sum())),
        output_throughput_tps=rate(tokens_in),
        goodput_rps=rate(float(_meets(table, goodput)[finished_ok].sum())) if goodput else None,
        ttft_ms=distribution(table.ttft_ms[ok]),
        itl_ms=index.distribution(window),
        tpot_ms=distribution(table.tpot_ms[ok]),
        e2el_ms=distribution(table.e2el_ms[ok]),
        arrivals=arrival_metrics(table, window),
        lengths=length_metrics(table, window),
        errors=error_counts(table, started & ~table.ok),
        retries=retry_metrics(table, started),
    )


def retry_metrics(table: SampleTable, started: npt.NDArray[np.bool_]) -> RetryMetrics | None:
    """The retries among ``started``; None for a load that never retried (no retry policy)."""
    if not table.retries_seen:
        return None
    retry = started & (table.attempt > 0)
    return RetryMetrics(
        first_attempts=int((started & (table.attempt == 0)).sum()),
        count=int(retry.sum()),
        recovered=int((retry & table.ok).sum()),
        exhausted=int((retry & ~table.ok & ~table.retried).sum()),
    )


def error_counts(table: SampleTable, failed: npt.NDArray[np.bool_]) -> dict[str, int]:
    """Failed requests by class, the classes in ERROR_CLASSES' order and then the statuses."""
    kinds, counts = np.unique(table.error_classes[failed].astype(str), return_counts=True)
    found = {str(k): int(n) for k, n in zip(kinds, counts, strict=True)}
    order = {k: i for i, k in enumerate(ERROR_CLASSES)}

    def rank(kind: str) -> tuple[int, str]:  # a status sits where its class (http_4xx, http_5xx) does
        return order.get(kind, order.get(f"{kind[:6]}xx", len(order))), kind

    return dict(sorted(found.items(), key=lambda kv: rank(kv[0])))


def _meets(table: SampleTable, slo: GoodputSLO) -> npt.NDArray[np.bool_]:
    good = table.ok.copy()
    with np.errstate(invalid="ignore"):
        if slo.ttft_ms is not None:
            good &= table.ttft_ms <= slo.ttft_ms
        if slo.tpot_ms is not None:
            good &= ~(table.tpot_ms > slo.tpot_ms)  # a one-token request has no TPOT and passes
        if slo.e2el_ms is not None:
            good &= table.e2el_ms <= slo.e2el_ms
    return good
