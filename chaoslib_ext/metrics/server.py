"""The server's own view of a phase, from the Prometheus metrics it exports, scraped during the run
(chaoslib_ext.scrape keeps every scrape's raw text in ``<run>/server_metrics/<source>.prom``).

What is read, under the names serving engines export it (the first name found wins):

    ttft_ms   histogram  vllm:time_to_first_token_seconds
    itl_ms    histogram  vllm:inter_token_latency_seconds, vllm:time_per_output_token_seconds (vLLM < 0.8)
    e2el_ms   histogram  vllm:e2e_request_latency_seconds
    waiting   gauge      vllm:num_requests_waiting, tgi_queue_size
    running   gauge      vllm:num_requests_running, tgi_batch_current_size

A phase's histogram is the difference between the scrape nearest its start and the scrape nearest its
end (per interval of the phase, per source, summed over sources). A counter that went down between two
scrapes was reset (a restarted server, a killed pod): the later value counts from zero. The mean is
exact (the histogram's sum over its count); p50 and p99 are bucket-bounded, interpolated within their
bucket as PromQL's ``histogram_quantile`` does. Gauges: the mean and the maximum of the phase's scrapes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = [
    "GAUGES",
    "HISTOGRAMS",
    "SERVER_PREFIX",
    "SERVER_STATS",
    "Hist",
    "HistogramStats",
    "Scrape",
    "ServerView",
    "ServerViewJson",
    "parse_scrape",
    "read_scrapes",
    "server_view",
]

SERVER_PREFIX = "server_metrics."
HISTOGRAMS = {
    "ttft_ms": ("vllm:time_to_first_token_seconds",),
    "itl_ms": ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
    "e2el_ms": ("vllm:e2e_request_latency_seconds",),
}
GAUGES = {
    "waiting": ("vllm:num_requests_waiting", "tgi_queue_size"),
    "running": ("vllm:num_requests_running", "tgi_batch_current_size"),
}
#: ``server_metrics.<histogram>.<stat>`` and ``server_metrics.<gauge>.<stat>``
SERVER_STATS = {**{h: ("count", "mean", "p50", "p99") for h in HISTOGRAMS}, **{g: ("mean", "max") for g in GAUGES}}
_MARK = re.compile(r"^# chaosllm-scrape at=(?P<at>[0-9.]+)(?: error=(?P<error>.*))?$", re.M)


@dataclass(frozen=True)
class Hist:
    """A histogram at one scrape (seconds): cumulative bucket counts by upper bound, its sum and count."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]
    total: float
    count: float

    def minus(self, earlier: Hist | None) -> Hist:
        """What happened between ``earlier`` and this one (a reset, or no earlier one: all of this one)."""
        if earlier is None or self.count < earlier.count or self.bounds != earlier.bounds:
            return self
        cumulative = tuple(a - b for a, b in zip(self.cumulative, earlier.cumulative, strict=True))
        return Hist(self.bounds, cumulative, self.total - earlier.total, self.count - earlier.count)

    def plus(self, other: Hist) -> Hist:
        if other.bounds != self.bounds:
            return self if self.count >= other.count else other  # mixed server versions: the larger one
        cumulative = tuple(a + b for a, b in zip(self.cumulative, other.cumulative, strict=True))
        return Hist(self.bounds, cumulative, self.total + other.total, self.count + other.count)


@dataclass(frozen=True)
class Scrape:
    at: float
    source: str
    histograms: dict[str, Hist] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def parse_scrape(text: str, at: float, source: str) -> Scrape:
    """The families we read (see the module) out of one scrape's text; label sets of a family summed."""
    histograms: dict[str, Hist] = {}
    gauges: dict[str, float] = {}
    found = {family.name: family for family in text_string_to_metric_families(text)}
    for ours, names in HISTOGRAMS.items():
        name = next((n for n in names if n in found), None)
        if name is not None:
            histograms[ours] = _histogram(found[name].samples)
    for ours, names in GAUGES.items():
        name = next((n for n in names if n in found), None)
        if name is not None:
            gauges[ours] = sum(s.value for s in found[name].samples)
    return Scrape(at, source, histograms, gauges)


def _histogram(samples: Sequence[Sample]) -> Hist:
    buckets: dict[float, float] = {}
    total = count = 0.0
    for s in samples:
        name, labels, value = s.name, s.labels, s.value
        if name.endswith("_bucket"):
            bound = float(labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
        elif name.endswith("_sum"):
            total += value
        elif name.endswith("_count"):
            count += value
    bounds = tuple(sorted(buckets))
    return Hist(bounds, tuple(buckets[b] for b in bounds), total, count)


def read_scrapes(directory: Path) -> list[Scrape]:
    """Every scrape kept under ``directory`` (one ``<source>.prom`` per source), oldest first."""
    scrapes: list[Scrape] = []
    for path in sorted(directory.glob("*.prom")) if directory.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        marks = list(_MARK.finditer(text))
        for i, m in enumerate(marks):
            body = text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
            if m["error"] is not None:
                scrapes.append(Scrape(float(m["at"]), path.stem, error=m["error"]))
                continue
            try:
                scrapes.append(parse_scrape(body, float(m["at"]), path.stem))
            except (ValueError, KeyError) as exc:  # a torn last block, a server's malformed line
                scrapes.append(Scrape(float(m["at"]), path.stem, error=f"unparsable: {exc}"))
    return sorted(scrapes, key=lambda s: (s.at, s.source))


class HistogramStatsJson(TypedDict):
    count: int
    mean: float | None
    p50: float | None
    p99: float | None
    bucketed: bool


@dataclass(frozen=True)
class HistogramStats:
    """A server histogram over a phase, in ms: the count and the exact mean; p50 and p99 bucket-bounded."""

    count: int
    mean: float | None
    p50: float | None
    p99: float | None

    @classmethod
    def of(cls, h: Hist) -> HistogramStats:
        if h.count <= 0:
            return cls(0, None, None, None)
        return cls(round(h.count), h.total / h.count * 1000.0, _quantile(h, 0.5), _quantile(h, 0.99))

    def to_json(self) -> HistogramStatsJson:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p99": self.p99, "bucketed": True}

    @classmethod
    def from_json(cls, raw: HistogramStatsJson) -> HistogramStats:
        return cls(raw["count"], raw["mean"], raw["p50"], raw["p99"])


def _quantile(h: Hist, q: float) -> float | None:
    """As PromQL's histogram_quantile: linear within the bucket holding rank q; the +Inf bucket gives the
    highest finite bound (ms)."""
    rank, lower, below = q * h.count, 0.0, 0.0
    for bound, cumulative in zip(h.bounds, h.cumulative, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower * 1000.0
            inside = cumulative - below
            share = (rank - below) / inside if inside > 0 else 1.0
            return (lower + (bound - lower) * share) * 1000.0
        lower, below = bound, cumulative
    return None


class ServerViewJson(TypedDict):
    sources: list[str]
    scrapes: int
    failed_scrapes: int
    ttft_ms: NotRequired[HistogramStatsJson]
    itl_ms: NotRequired[HistogramStatsJson]
    e2el_ms: NotRequired[HistogramStatsJson]
    waiting: NotRequired[dict[str, float | None]]
    running: NotRequired[dict[str, float | None]]
    ttft_gap_ms: NotRequired[float | None]  # the client's mean TTFT minus this (set by PhaseMetrics)


@dataclass(frozen=True)
class ServerView:
    """The server's own view of one phase (see the module)."""

    sources: tuple[str, ...]
    scrapes: int  # scrapes taken during the phase (every source; up to a second after its end)
    failed_scrapes: int
    histograms: dict[str, HistogramStats] = field(default_factory=dict)
    gauges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # name -> (mean, max)

    def value(self, name: str) -> float | None:
        """``ttft_ms.mean``, ``waiting.max`` ...; None when not measured."""
        head, _, stat = name.partition(".")
        if head in self.histograms and stat in SERVER_STATS[head]:
            found = getattr(self.histograms[head], stat)
            return None if found is None else float(found)
        if head in self.gauges and stat in ("mean", "max"):
            return self.gauges[head][0 if stat == "mean" else 1]
        return None

    def to_json(self) -> ServerViewJson:
        out: ServerViewJson = {"sources": list(self.sources), "scrapes": self.scrapes,
                               "failed_scrapes": self.failed_scrapes}  # fmt: skip
        for name, stats in self.histograms.items():
            out[name] = stats.to_json()  # type: ignore[literal-required]
        for name, (mean, top) in self.gauges.items():
            out[name] = {"mean": mean, "max": top}  # type: ignore[literal-required]
        return out

    @classmethod
    def from_json(cls, raw: ServerViewJson) -> ServerView:
        histograms = {n: HistogramStats.from_json(raw[n]) for n in HISTOGRAMS if n in raw}  # type: ignore[literal-required]
        gauges = {n: (raw[n]["mean"], raw[n]["max"]) for n in GAUGES if n in raw}  # type: ignore[literal-required]
        return cls(tuple(raw["sources"]), raw["scrapes"], raw["failed_scrapes"], histograms, gauges)


def server_view(scrapes: Sequence[Scrape], intervals: Sequence[tuple[float, float]]) -> ServerView | None:
    """The server's view of a phase made of ``intervals``; None when nothing was scraped."""
    good = [s for s in scrapes if s.error is None]
    if not good or not intervals:
        return None
    sources = sorted({s.source for s in scrapes})
    totals: dict[str, Hist] = {}
    gauge_values: dict[str, list[float]] = {}
    inside = failed = 0
    for a, b in intervals:
        for source in sources:
            mine = [s for s in good if s.source == source]
            if not mine:
                continue
            first, last = _nearest(mine, a), _nearest(mine, b)
            for name, h in _delta(mine, first, last).items():
                totals[name] = totals[name].plus(h) if name in totals else h
        rounds = [s for s in scrapes if a <= s.at <= b + _BOUNDARY_S]
        inside += len(rounds)
        failed += sum(1 for s in rounds if s.error is not None)
        for at in sorted({s.at for s in rounds if s.error is None}):
            for name in GAUGES:
                values = [s.gauges[name] for s in rounds if s.at == at and name in s.gauges]
                if values:
                    gauge_values.setdefault(name, []).append(sum(values))
    histograms = {name: HistogramStats.of(h) for name, h in totals.items()}
    gauges: dict[str, tuple[float | None, float | None]] = {
        n: (sum(v) / len(v), max(v)) for n, v in gauge_values.items()
    }
    return ServerView(tuple(sources), inside, failed, histograms, gauges)


#: a scrape taken at a phase boundary lands this soon after the event that marks it
_BOUNDARY_S = 1.0


def _nearest(scrapes: list[Scrape], at: float) -> int:
    return min(range(len(scrapes)), key=lambda i: abs(scrapes[i].at - at))


def _delta(scrapes: list[Scrape], first: int, last: int) -> dict[str, Hist]:
    """Each histogram's increase from scrape ``first`` to scrape ``last``, resets counted from zero."""
    out: dict[str, Hist] = {}
    for i in range(first + 1, last + 1):
        for name, h in scrapes[i].histograms.items():
            step = h.minus(scrapes[i - 1].histograms.get(name))
            out[name] = out[name].plus(step) if name in out else step
    return out
