"""What ``chaosllm compare`` can compare, which way is better, and the default thresholds.

A metric key is a distribution and a percentile (``ttft_ms.p99``, ``itl_ms.p50``, ``e2el_ms.p99.9``),
a jitter (``ttft_jitter_ms`` = P99 - P50), a rate (``output_throughput_tps``,
``request_throughput_rps``) or ``error_rate``. Latencies and rates compare as relative changes
(B / A - 1); ``error_rate`` as a difference in fraction of requests (B - A).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from chaoslib_ext.compare.bootstrap import Counts, weighted_percentiles

if TYPE_CHECKING:
    from chaoslib_ext.compare.arms import PhaseRequests

__all__ = ["DEFAULT_METRICS", "METRIC_HELP", "Metric", "parse_metric", "replicates"]

DISTS = ("ttft_ms", "itl_ms", "tpot_ms", "e2el_ms")
RATES = ("output_throughput_tps", "request_throughput_rps")
JITTERS = {"ttft_jitter_ms": "ttft_ms", "itl_jitter_ms": "itl_ms"}
DEFAULT_METRICS = ("ttft_ms.p50", "ttft_ms.p99", "itl_ms.p50", "itl_ms.p99", "output_throughput_tps", "error_rate")
METRIC_HELP = (
    "ttft_ms|itl_ms|tpot_ms|e2el_ms .pNN (e.g. ttft_ms.p99), ttft_jitter_ms, itl_jitter_ms, "
    "output_throughput_tps, request_throughput_rps, error_rate"
)
#: default smallest change that counts: relative for latencies and rates, absolute for error_rate
DEFAULT_THRESHOLDS = {"latency": 0.05, "jitter": 0.10, "rate": 0.05, "error_rate": 0.01}
_PERCENTILE = re.compile(r"^(?P<dist>[a-z_]+_ms)\.p(?P<q>\d{1,2}(\.\d+)?)$")


@dataclass(frozen=True)
class Metric:
    key: str
    kind: str  # latency, jitter, rate, error_rate
    higher_is_better: bool
    dist: str | None = None  # for latency and jitter
    q: float | None = None  # for latency

    @property
    def relative(self) -> bool:
        return self.kind != "error_rate"

    @property
    def default_threshold(self) -> float:
        return DEFAULT_THRESHOLDS[self.kind]


def parse_metric(key: str) -> Metric:
    """The metric ``key`` names; raises ValueError naming the accepted forms."""
    m = _PERCENTILE.match(key)
    if m and m["dist"] in DISTS and 0 <= float(m["q"]) <= 100:
        return Metric(key, "latency", False, m["dist"], float(m["q"]))
    if key in JITTERS:
        return Metric(key, "jitter", False, JITTERS[key])
    if key in RATES:
        return Metric(key, "rate", True)
    if key == "error_rate":
        return Metric(key, "error_rate", False)
    raise ValueError(f"unknown metric {key!r} (accepted: {METRIC_HELP})")


def replicates(
    phase: PhaseRequests, metrics: list[Metric], weights: Counts, duration_s: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """Each metric of ``phase`` under every row of request ``weights`` ((rows, requests)), a row's rates
    over its ``duration_s``."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    wanted: dict[str, set[float]] = {}
    for m in metrics:
        if m.kind == "latency" and m.dist and m.q is not None:
            wanted.setdefault(m.dist, set()).add(m.q)
        elif m.kind == "jitter" and m.dist:
            wanted.setdefault(m.dist, set()).update((50.0, 99.0))
    percentiles = {dist: _percentiles(phase, dist, tuple(sorted(qs)), weights) for dist, qs in wanted.items()}
    w = weights.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # a resample that drew no time: NaN, left out
        _scalars(phase, metrics, w, duration_s, percentiles, out)
    return out


def _scalars(
    phase: PhaseRequests,
    metrics: list[Metric],
    w: npt.NDArray[np.float64],
    duration_s: npt.NDArray[np.float64],
    percentiles: dict[str, dict[float, npt.NDArray[np.float64]]],
    out: dict[str, npt.NDArray[np.float64]],
) -> None:
    for m in metrics:
        if m.kind == "latency" and m.dist and m.q is not None:
            out[m.key] = percentiles[m.dist][m.q]
        elif m.kind == "jitter" and m.dist:
            out[m.key] = percentiles[m.dist][99.0] - percentiles[m.dist][50.0]
        elif m.key == "output_throughput_tps":
            out[m.key] = w @ phase.tokens / duration_s
        elif m.key == "request_throughput_rps":
            out[m.key] = w @ phase.ok.astype(np.float64) / duration_s
        else:
            out[m.key] = (w @ (~phase.ok).astype(np.float64)) / w.sum(axis=1)


def _percentiles(
    phase: PhaseRequests, dist: str, qs: tuple[float, ...], weights: Counts
) -> dict[float, npt.NDArray[np.float64]]:
    values = phase.dists[dist]
    result = np.full((weights.shape[0], len(qs)), np.nan)
    for rows, counts in values.chunks(weights):
        result[rows] = weighted_percentiles(values.values, counts, qs)
    return {q: result[:, j] for j, q in enumerate(qs)}
