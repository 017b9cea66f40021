"""The metrics of one window as values: a ``Distribution`` per latency metric and ``PhaseMetrics`` for
the whole window, with one ``value(metric)`` that every reader of a metric name goes through
(hypotheses, safeguards, reports). JSON only at the file edge: ``to_json()`` gives exactly the
``phases.<phase>`` object of ``summary.json`` (schema ``chaosllm/summary``), ``from_json()`` reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict, get_args

from chaoslib_ext.metrics.server import ServerView, ServerViewJson
from chaoslib_ext.samples.errors import matches_class

__all__ = [
    "ARRIVAL_DISTRIBUTIONS",
    "ARRIVAL_SCALARS",
    "DISTRIBUTIONS",
    "ERROR_STATS",
    "SCALARS",
    "STATS",
    "ArrivalMetrics",
    "ArrivalMetricsJson",
    "Distribution",
    "DistributionJson",
    "LengthMetrics",
    "LengthMetricsJson",
    "PhaseMetrics",
    "PhaseMetricsJson",
    "Stat",
]

Stat = Literal["mean", "min", "p50", "p90", "p95", "p99", "max"]
STATS: tuple[Stat, ...] = get_args(Stat)
DistributionName = Literal["ttft_ms", "itl_ms", "tpot_ms", "e2el_ms"]
DISTRIBUTIONS: tuple[DistributionName, ...] = get_args(DistributionName)
SCALARS = (
    "duration_s",
    "requests",
    "completed",
    "failed",
    "error_rate",
    "request_throughput_rps",
    "output_throughput_tps",
    "goodput_rps",
    "ttft_jitter_ms",
    "itl_jitter_ms",
)


class DistributionJson(TypedDict):
    count: int
    mean: float | None
    min: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class Distribution:
    """count and the statistics of a metric's raw values; every statistic None when there were none."""

    count: int
    mean: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    def stat(self, name: str) -> float | None:
        """One statistic by name (``p99``); None for a name that is not one."""
        return getattr(self, name) if name in STATS else None

    @property
    def jitter(self) -> float | None:
        """P99 - P50."""
        return None if self.p99 is None or self.p50 is None else self.p99 - self.p50

    def to_json(self) -> DistributionJson:
        return {
            "count": self.count,
            "mean": self.mean,
            "min": self.min,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
        }

    @classmethod
    def from_json(cls, raw: DistributionJson) -> Distribution:
        return cls(int(raw["count"]), *(_float(raw.get(s)) for s in STATS))


ArrivalDistribution = Literal["send_lag_ms", "ttft_sched_ms", "e2el_sched_ms"]
ARRIVAL_DISTRIBUTIONS: tuple[ArrivalDistribution, ...] = get_args(ArrivalDistribution)
ARRIVAL_SCALARS = ("scheduled", "sent", "late", "not_sent", "unfinished", "offered_rate_rps", "achieved_rate_rps")


class ArrivalMetricsJson(TypedDict):
    scheduled: int
    sent: int
    late: int
    not_sent: int
    unfinished: NotRequired[int]  # absent in summaries written before the schedule was kept
    offered_rate_rps: float | None
    achieved_rate_rps: float | None
    send_lag_ms: DistributionJson
    ttft_sched_ms: DistributionJson
    e2el_sched_ms: DistributionJson


@dataclass(frozen=True)
class ArrivalMetrics:
    scheduled: int
    sent: int
    late: int
    not_sent: int
    offered_rate_rps: float | None
    achieved_rate_rps: float | None
    send_lag_ms: Distribution
    ttft_sched_ms: Distribution
    e2el_sched_ms: Distribution
    unfinished: int = 0  # sent, never finished: in flight when the load was stopped

    def value(self, metric: str) -> float | None:
        head, _, stat = metric.partition(".")
        if head in ARRIVAL_DISTRIBUTIONS:
            dist: Distribution = getattr(self, head)
            return dist.stat(stat) if stat else None
        if stat or head not in ARRIVAL_SCALARS:
            return None
        found = getattr(self, head)
        return None if found is None else float(found)

    def to_json(self) -> ArrivalMetricsJson:
        return {
            "scheduled": self.scheduled,
            "sent": self.sent,
            "late": self.late,
            "not_sent": self.not_sent,
            "unfinished": self.unfinished,
            "offered_rate_rps": self.offered_rate_rps,
            "achieved_rate_rps": self.achieved_rate_rps,
            "send_lag_ms": self.send_lag_ms.to_json(),
            "ttft_sched_ms": self.ttft_sched_ms.to_json(),
            "e2el_sched_ms": self.e2el_sched_ms.to_json(),
        }

    @classmethod
    def from_json(cls, raw: ArrivalMetricsJson) -> ArrivalMetrics:
        return cls(
            raw["scheduled"], raw["sent"], raw["late"], raw["not_sent"], raw["offered_rate_rps"],
            raw["achieved_rate_rps"], Distribution.from_json(raw["send_lag_ms"]),
            Distribution.from_json(raw["ttft_sched_ms"]), Distribution.from_json(raw["e2el_sched_ms"]),
            raw.get("unfinished", 0),
        )  # fmt: skip


LENGTH_DISTRIBUTIONS = ("input_tokens", "requested_input_tokens", "output_tokens", "requested_output_tokens")
LENGTH_SCALARS = ("input_overhead_tokens", "input_error", "output_error")


class LengthMetricsJson(TypedDict):
    input_tokens: DistributionJson
    requested_input_tokens: DistributionJson
    input_overhead_tokens: float | None
    input_error: float | None
    output_tokens: DistributionJson
    requested_output_tokens: DistributionJson
    output_error: float | None


@dataclass(frozen=True)
class LengthMetrics:
    """The token lengths served, and how close they came to those a workload asked for
    (chaoslib_ext.metrics.lengths)."""

    input_tokens: Distribution  # usage.prompt_tokens of successful requests
    requested_input_tokens: Distribution
    input_overhead_tokens: float | None  # median served - requested: a chat template's tokens, a BOS
    input_error: float | None  # median |served - overhead - requested| / requested
    output_tokens: Distribution  # usage.completion_tokens (else content events)
    requested_output_tokens: Distribution
    output_error: float | None  # median |served - requested| / requested

    def value(self, metric: str) -> float | None:
        head, _, stat = metric.partition(".")
        if head in LENGTH_DISTRIBUTIONS:
            dist: Distribution = getattr(self, head)
            return dist.stat(stat) if stat else None
        found = getattr(self, head) if head in LENGTH_SCALARS and not stat else None
        return None if found is None else float(found)

    @property
    def requested(self) -> bool:
        """A workload asked lengths of these requests."""
        return bool(self.requested_input_tokens.count or self.requested_output_tokens.count)

    def to_json(self) -> LengthMetricsJson:
        return {
            "input_tokens": self.input_tokens.to_json(),
            "requested_input_tokens": self.requested_input_tokens.to_json(),
            "input_overhead_tokens": self.input_overhead_tokens,
            "input_error": self.input_error,
            "output_tokens": self.output_tokens.to_json(),
            "requested_output_tokens": self.requested_output_tokens.to_json(),
            "output_error": self.output_error,
        }

    @classmethod
    def from_json(cls, raw: LengthMetricsJson) -> LengthMetrics:
        return cls(
            Distribution.from_json(raw["input_tokens"]), Distribution.from_json(raw["requested_input_tokens"]),
            raw["input_overhead_tokens"], raw["input_error"], Distribution.from_json(raw["output_tokens"]),
            Distribution.from_json(raw["requested_output_tokens"]), raw["output_error"],
        )  # fmt: skip


#: ``retries.<stat>``, a retry policy's (chaoslib_ext.load.retry): the retries sent, their share of the
#: first attempts, the requests a retry saved, those that failed all the same
RETRY_STATS = ("count", "rate", "recovered", "exhausted")


class RetryMetricsJson(TypedDict):
    first_attempts: int
    count: int
    rate: float | None
    recovered: int
    exhausted: int


@dataclass(frozen=True)
class RetryMetrics:
    """A window's retries, counted apart from first attempts (its requests count every attempt: what
    the server saw)."""

    first_attempts: int  # attempts 0 started in the window
    count: int  # retries started in the window
    recovered: int  # retries that succeeded
    exhausted: int  # retries that failed and were not retried again: the request failed after retrying

    @property
    def rate(self) -> float | None:
        return self.count / self.first_attempts if self.first_attempts else None

    def value(self, stat: str) -> float | None:
        if stat not in RETRY_STATS:
            return None
        found = getattr(self, stat)
        return None if found is None else float(found)

    def to_json(self) -> RetryMetricsJson:
        return {"first_attempts": self.first_attempts, "count": self.count, "rate": self.rate,
                "recovered": self.recovered, "exhausted": self.exhausted}  # fmt: skip

    @classmethod
    def from_json(cls, raw: RetryMetricsJson) -> RetryMetrics:
        return cls(raw["first_attempts"], raw["count"], raw["recovered"], raw["exhausted"])


class PhaseMetricsJson(TypedDict):
    retries: NotRequired[RetryMetricsJson]  # a load with a retry policy's only
    arrivals: NotRequired[ArrivalMetricsJson]  # an open loop's only
    lengths: NotRequired[LengthMetricsJson]  # when the server reported prompt tokens or a workload asked lengths
    start_at: float | None
    end_at: float | None
    duration_s: float
    requests: int
    completed: int
    failed: int
    error_rate: float | None
    request_throughput_rps: float | None
    output_throughput_tps: float | None
    goodput_rps: float | None
    ttft_ms: DistributionJson
    itl_ms: DistributionJson
    tpot_ms: DistributionJson
    e2el_ms: DistributionJson
    ttft_jitter_ms: float | None
    itl_jitter_ms: float | None
    errors: NotRequired[dict[str, int]]
    server_metrics: NotRequired[ServerViewJson]  # when the run scraped the server's own metrics


#: ``errors.<class>.rate`` (failed requests of the class / requests) and ``errors.<class>.count``
ERROR_STATS = ("rate", "count")


@dataclass(frozen=True)
class PhaseMetrics:
    """Every metric of one window (definitions: reports/README.md); rates are None for an empty window."""

    start_at: float | None
    end_at: float | None
    duration_s: float
    requests: int
    completed: int
    failed: int
    error_rate: float | None
    request_throughput_rps: float | None
    output_throughput_tps: float | None
    goodput_rps: float | None
    ttft_ms: Distribution
    itl_ms: Distribution
    tpot_ms: Distribution
    e2el_ms: Distribution
    arrivals: ArrivalMetrics | None = None  # an open loop's schedule kept (chaoslib_ext.metrics.arrivals)
    lengths: LengthMetrics | None = None  # token lengths served and asked (chaoslib_ext.metrics.lengths)
    errors: dict[str, int] = field(default_factory=dict)  # failed requests by class (chaoslib_ext.samples.errors)
    retries: RetryMetrics | None = None  # a load with a retry policy's (chaoslib_ext.load.retry)
    server: ServerView | None = None  # the server's own view, from its metrics (chaoslib_ext.metrics.server)

    @property
    def ttft_jitter_ms(self) -> float | None:
        return self.ttft_ms.jitter

    @property
    def ttft_gap_ms(self) -> float | None:
        """The client's mean TTFT minus the server's own (the network, what sits before the server, the
        client): exact, both means; None without the server's."""
        server = None if self.server is None else self.server.value("ttft_ms.mean")
        client = self.ttft_ms.mean
        return None if server is None or client is None else client - server

    @property
    def itl_jitter_ms(self) -> float | None:
        return self.itl_ms.jitter

    def value(self, metric: str) -> float | None:
        """``ttft_ms.p99``, ``error_rate``, ``itl_jitter_ms`` ...; None when not measured (or not a metric)."""
        head, _, stat = metric.partition(".")
        if head == "errors":
            return self._error_value(stat)
        if head == "server_metrics":
            if stat == "ttft_gap_ms":
                return self.ttft_gap_ms
            return None if self.server is None else self.server.value(stat)
        if head == "retries":
            return None if self.retries is None else self.retries.value(stat)
        if head in ARRIVAL_DISTRIBUTIONS or head in ARRIVAL_SCALARS:
            return None if self.arrivals is None else self.arrivals.value(metric)
        if head in LENGTH_DISTRIBUTIONS or head in LENGTH_SCALARS:
            return None if self.lengths is None else self.lengths.value(metric)
        if head in DISTRIBUTIONS:
            dist: Distribution = getattr(self, head)
            return dist.stat(stat) if stat else None
        if stat or head not in SCALARS:
            return None
        found = getattr(self, head)
        return None if found is None else float(found)

    def _error_value(self, rest: str) -> float | None:
        """``http_429.rate`` -> the share of the window's requests that failed so; None when none started."""
        asked, _, stat = rest.rpartition(".")
        if stat not in ERROR_STATS or not asked:
            return None
        count = sum(n for kind, n in self.errors.items() if matches_class(kind, asked))
        if stat == "count":
            return float(count)
        return count / self.requests if self.requests else None

    def to_json(self) -> PhaseMetricsJson:
        out = self._to_json()
        if self.errors:
            out["errors"] = dict(self.errors)
        if self.arrivals is not None:
            out["arrivals"] = self.arrivals.to_json()
        if self.lengths is not None:
            out["lengths"] = self.lengths.to_json()
        if self.retries is not None:
            out["retries"] = self.retries.to_json()
        if self.server is not None:
            out["server_metrics"] = {**self.server.to_json(), "ttft_gap_ms": self.ttft_gap_ms}
        return out

    def _to_json(self) -> PhaseMetricsJson:
        return {
            "start_at": self.start_at,
            "end_at": self.end_at,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "error_rate": self.error_rate,
            "request_throughput_rps": self.request_throughput_rps,
            "output_throughput_tps": self.output_throughput_tps,
            "goodput_rps": self.goodput_rps,
            "ttft_ms": self.ttft_ms.to_json(),
            "itl_ms": self.itl_ms.to_json(),
            "tpot_ms": self.tpot_ms.to_json(),
            "e2el_ms": self.e2el_ms.to_json(),
            "ttft_jitter_ms": self.ttft_jitter_ms,
            "itl_jitter_ms": self.itl_jitter_ms,
        }

    @classmethod
    def from_json(cls, raw: PhaseMetricsJson) -> PhaseMetrics:
        return cls(
            raw["start_at"],
            raw["end_at"],
            raw["duration_s"],
            raw["requests"],
            raw["completed"],
            raw["failed"],
            raw["error_rate"],
            raw["request_throughput_rps"],
            raw["output_throughput_tps"],
            raw["goodput_rps"],
            Distribution.from_json(raw["ttft_ms"]),
            Distribution.from_json(raw["itl_ms"]),
            Distribution.from_json(raw["tpot_ms"]),
            Distribution.from_json(raw["e2el_ms"]),
            ArrivalMetrics.from_json(raw["arrivals"]) if "arrivals" in raw else None,
            LengthMetrics.from_json(raw["lengths"]) if "lengths" in raw else None,
            dict(raw.get("errors", {})),
            RetryMetrics.from_json(raw["retries"]) if "retries" in raw else None,
            ServerView.from_json(raw["server_metrics"]) if "server_metrics" in raw else None,
        )


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)
