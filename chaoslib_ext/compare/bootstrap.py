"""The bootstrap behind ``chaosllm compare``: requests resampled as units, statistics on each resample.

Each resample gives every request a Poisson(1) weight (the Poisson bootstrap): a request drawn twice
counts twice, with its TTFT, its tokens and every one of its inter-token gaps. Unlike a fixed-size
resample, the number of requests varies between resamples as it does between runs, so rates
(tokens/s, requests/s) get an honest spread too. Percentiles of a resample are exact: numpy's linear
interpolation on the values repeated by their weights, computed from cumulative weights without
materialising the repetition.

Requests that run at the same time are not independent: one stall of the server, the broker or the
machine delays every request in flight at once, and a tail percentile rests on a few such clusters.
So by default the weight is drawn per group of requests that started within the same second of a
run (``group_s``), every request of the group taking it; ``group_s = 0`` draws one per request.
On the sandbox, per-request weights made intervals of TTFT P99 too narrow: identical releases were
called different (see tests/benchmarks/compare_rates.py for the measured rates).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chaoslib_ext._jsonfile import JsonObject

__all__ = [
    "DEFAULT_GROUP_S",
    "DEFAULT_RESAMPLES",
    "Counts",
    "Interval",
    "WeightedValues",
    "interval",
    "poisson_weights",
    "weighted_percentiles",
]

DEFAULT_RESAMPLES = 2000
DEFAULT_GROUP_S = 1.0
Floats = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]
#: weights gathered per chunk of resamples, in cells: bounds the memory of a gap percentile (~100 MB)
_CHUNK_CELLS = 4_000_000


def poisson_weights(rng: np.random.Generator, resamples: int, units: int) -> Counts:
    """A (resamples, units) matrix of independent Poisson(1) weights."""
    return rng.poisson(1.0, size=(resamples, units)).astype(np.int64)


@dataclass(frozen=True)
class WeightedValues:
    """Values sorted ascending, each owned by a unit (a request): a unit's weight applies to all it owns."""

    values: Floats
    owner: npt.NDArray[np.intp]

    @classmethod
    def of(cls, values: npt.ArrayLike, owner: npt.ArrayLike) -> WeightedValues:
        v = np.asarray(values, dtype=np.float64)
        o = np.asarray(owner, dtype=np.intp)
        order = np.argsort(v, kind="stable")
        return cls(v[order], o[order])

    def chunks(self, weights: Counts) -> Iterator[tuple[slice[int, int, None], Counts]]:
        """(rows, weight of every value in those rows), a bounded chunk of resamples at a time."""
        rows_per_chunk = max(1, _CHUNK_CELLS // max(1, self.values.size))
        for first in range(0, weights.shape[0], rows_per_chunk):
            rows = slice(first, min(first + rows_per_chunk, weights.shape[0]))
            yield rows, weights[rows][:, self.owner]


def weighted_percentiles(values: Floats, counts: Counts, qs: tuple[float, ...]) -> Floats:
    """``numpy.percentile(np.repeat(values, row), qs)`` for every row of ``counts`` ((rows, n) over
    ``values`` sorted ascending), as a (rows, len(qs)) array; NaN for a row of total weight 0."""
    rows, n = counts.shape
    out = np.full((rows, len(qs)), np.nan)
    if n == 0:
        return out
    cum = np.cumsum(counts, axis=1)
    total = cum[:, -1]
    # Row r's cumulative counts shifted by r * stride make one increasing array for one searchsorted.
    stride = int(total.max()) + 1
    shifted = (cum + (np.arange(rows, dtype=np.int64) * stride)[:, None]).ravel()
    base = np.arange(rows, dtype=np.int64) * stride
    for j, q in enumerate(qs):
        h = (total - 1) * (q / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(total - 1, 0))
        i_lo = np.searchsorted(shifted, base + lo, side="right") - np.arange(rows) * n
        i_hi = np.searchsorted(shifted, base + hi, side="right") - np.arange(rows) * n
        ok = total > 0
        v_lo = values[np.minimum(i_lo, n - 1)]
        v_hi = values[np.minimum(i_hi, n - 1)]
        out[ok, j] = (v_lo + (h - lo) * (v_hi - v_lo))[ok]
    return out


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    estimate: float | None
    low: float | None
    high: float | None
    resamples: int  # resamples in which the statistic was defined

    def to_json(self) -> JsonObject:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "resamples": self.resamples}


def interval(estimate: float | None, replicates: Floats, confidence: float) -> Interval:
    """The percentile interval of ``replicates`` (NaN ones left out) at ``confidence`` (e.g. 0.95)."""
    finite = replicates[np.isfinite(replicates)]
    if estimate is None or not np.isfinite(estimate) or finite.size < max(20, replicates.size // 2):
        return Interval(None if estimate is None or not np.isfinite(estimate) else float(estimate), None, None, 0)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return Interval(float(estimate), float(low), float(high), int(finite.size))
