"""Inter-token gaps and token events per window in one pass, with exact percentiles in bounded memory.

A long run has tens of millions of gaps; copying them per window does not fit a report's memory.
One pass over the table's token chunks labels every gap with the time *segment* its later token
falls in (segments are cut at every window boundary asked for), and keeps per segment: the gap
count and sum, the token events (weighted) and a histogram of gap values over 65,536 ordered bins
(the top 16 bits of the float32 value, order-preserving for negatives: a bin spans < 0.8 % of its
value). A window is a set of segments. An exact order statistic finds its bin from the summed
histograms, then a second pass reads only the gaps of that bin and sorts them; percentiles then
interpolate linearly between order statistics exactly as ``numpy.percentile`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from chaoslib_ext.metrics.record import Distribution
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.table import GapValues, SampleTable

__all__ = ["MAX_BUCKETS", "GapIndex", "bucket_grid"]

#: the most time buckets a run's series gets (1 s wide, wider for a long run)
MAX_BUCKETS = 600


def bucket_grid(start: float, end: float) -> tuple[float, float, int]:
    """(start, width, count) of the time buckets of [start, end)."""
    width = max(1.0, (end - start) / MAX_BUCKETS)
    return start, width, max(1, int(np.ceil((end - start) / width)))


BINS = 1 << 16
PERCENTS = (50, 90, 95, 99)


def _bins(values: GapValues) -> npt.NDArray[np.int64]:
    bits = values.astype(np.float32, copy=False).view(np.uint32)
    ordered = np.where(bits >> 31 == 1, ~bits, bits | np.uint32(0x80000000))
    return (ordered >> 16).astype(np.int64)


class GapIndex:
    def __init__(
        self, table: SampleTable, windows: Iterable[Window], buckets: tuple[float, float, int] | None = None
    ) -> None:
        """``buckets``: (start, width, count) to also count token events per time bucket (``bucket_tokens``)."""
        self.table = table
        self.bucket_tokens = np.zeros(buckets[2] if buckets else 0)
        windows = list(windows)
        edges = sorted({t for w in windows for interval in w.intervals for t in interval})
        self._windows = list(dict.fromkeys(windows))
        self._values: dict[Window, dict[int, float]] = {}  # exact values at the ranks each window needs
        self.edges = np.asarray(edges, dtype=np.float64)
        self._edge_set = set(edges)
        n = len(edges) + 1
        self.count = np.zeros(n, dtype=np.int64)
        self.sum = np.zeros(n)
        self.tokens = np.zeros(n)
        self.hist = np.zeros((n, BINS), dtype=np.int64)
        labels = []
        for chunk in table.token_chunks():
            seg = np.searchsorted(self.edges, chunk.gap_end_at, side="right")
            labels.append(seg.astype(np.uint8 if n < 256 else np.uint16))
            count = np.bincount(seg, minlength=n)
            self.count += count
            self.sum += np.bincount(seg, weights=chunk.gap_ms, minlength=n)
            first = np.searchsorted(self.edges, chunk.first_at, side="right")
            self.tokens += np.bincount(first, weights=chunk.first_weight, minlength=n)
            self.tokens += count if chunk.gap_weight is None else np.bincount(seg, chunk.gap_weight, minlength=n)
            self.hist += np.bincount(seg * BINS + _bins(chunk.gap_ms), minlength=n * BINS).reshape(n, BINS)
            if buckets:
                self._bucket(chunk.first_at, chunk.first_weight, *buckets)
                self._bucket(chunk.gap_end_at, chunk.gap_weight, *buckets)
        self.labels = np.concatenate(labels) if labels else np.zeros(0, dtype=np.uint8)

    def _bucket(
        self, at: npt.NDArray[np.float64], weight: npt.NDArray[np.float64] | None, start: float, width: float, n: int
    ) -> None:
        i = ((at - start) / width).astype(np.int64)  # truncation; times before start are cut below
        inside = (at >= start) & (i < n)
        w = None if weight is None else weight[inside]
        self.bucket_tokens += np.bincount(i[inside], weights=w, minlength=n)

    def covers(self, window: Window) -> bool:
        return all(t in self._edge_set for interval in window.intervals for t in interval)

    def segments(self, window: Window) -> npt.NDArray[np.bool_]:
        """Which segments lie inside ``window`` (its boundaries must be among the index's edges)."""
        if not len(self.edges):
            return np.zeros(1, dtype=np.bool_)
        mids = np.concatenate(([self.edges[0] - 1], (self.edges[:-1] + self.edges[1:]) / 2, [self.edges[-1] + 1]))
        return window.contains(mids)

    def tokens_in(self, window: Window) -> float:
        return float(self.tokens[self.segments(window)].sum())

    def distribution(self, window: Window) -> Distribution:
        """count, mean, min, p50, p90, p95, p99 and max of the gaps in ``window`` (None when it has none)."""
        inside = self.segments(window)
        n = int(self.count[inside].sum())
        if n == 0:
            return Distribution(0)
        if window not in self._values:
            self._resolve([w for w in {window, *self._windows} if w not in self._values])
        value = self._values[window]

        def rank(p: int) -> float:
            lo, hi = _neighbours(p, n)
            return float(value[lo] + ((n - 1) * p / 100.0 - lo) * (value[hi] - value[lo]))

        p50, p90, p95, p99 = (rank(p) for p in PERCENTS)
        return Distribution(
            n, float(self.sum[inside].sum()) / n, float(value[0]), p50, p90, p95, p99, float(value[n - 1])
        )

    def quantiles(self, window: Window, percents: Sequence[float]) -> list[float] | None:
        """Quantiles for plotting: located in the summed histogram, interpolated inside the bin (< 0.8 %)."""
        inside = self.segments(window)
        hist = self.hist[inside].sum(axis=0)
        n = int(hist.sum())
        if n == 0:
            return None
        cum = np.cumsum(hist)
        out = []
        for p in percents:
            r = (n - 1) * p / 100.0
            b = int(np.searchsorted(cum, r, side="right"))
            before = float(cum[b - 1]) if b > 0 else 0.0
            lo, hi = _edge(b), _edge(b + 1)
            out.append(lo + (hi - lo) * (r - before + 0.5) / max(float(hist[b]), 1.0))
        return out

    def _resolve(self, windows: list[Window]) -> None:
        """The exact values at the ranks :meth:`distribution` needs, for ``windows`` at once: the summed
        histograms say which bin holds each rank; one more pass picks the gaps of those bins only."""
        plans = []
        wanted = np.zeros((len(self.count), BINS), dtype=np.bool_)
        for window in windows:
            inside = self.segments(window)
            n = int(self.count[inside].sum())
            cum = np.cumsum(self.hist[inside].sum(axis=0))
            ranks = {0, n - 1} | {r for p in PERCENTS for r in _neighbours(p, n)} if n else set()
            where = {r: int(np.searchsorted(cum, r, side="right")) for r in ranks}
            wanted[np.ix_(inside, np.array(sorted(set(where.values())), dtype=np.int64))] = True
            plans.append((window, inside, cum, where))
        flat = wanted.ravel()
        segs, bins, values = [], [], []
        offset = 0
        for gaps in self.table.gap_values():
            seg = self.labels[offset : offset + gaps.size].astype(np.int64)
            offset += gaps.size
            gap_bins = _bins(gaps)
            take = flat[seg * BINS + gap_bins]
            segs.append(seg[take])
            bins.append(gap_bins[take])
            values.append(gaps[take])
        seg_all = np.concatenate(segs) if segs else np.zeros(0, dtype=np.int64)
        bin_all = np.concatenate(bins) if bins else np.zeros(0, dtype=np.int64)
        value_all = np.concatenate(values) if values else np.zeros(0)
        for window, inside, cum, where in plans:
            found: dict[int, float] = {}
            for r, b in where.items():
                in_bin = np.sort(value_all[inside[seg_all.astype(np.int64)] & (bin_all == b)])
                found[r] = float(in_bin[r - (int(cum[b - 1]) if b > 0 else 0)])
            self._values[window] = found


def _edge(b: int) -> float:
    """The smallest float32 value of bin ``b``."""
    ordered = np.uint32(min(b, BINS - 1) << 16) if b < BINS else np.uint32(0xFFFFFFFF)
    bits = ordered & np.uint32(0x7FFFFFFF) if ordered >> 31 == 1 else ~ordered
    return float(np.array([bits], dtype=np.uint32).view(np.float32)[0])


def _neighbours(p: float, n: int) -> tuple[int, int]:
    h = (n - 1) * p / 100.0
    lo = int(np.floor(h))
    return lo, min(lo + 1, n - 1)
