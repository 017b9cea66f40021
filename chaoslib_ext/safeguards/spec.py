"""The ``safeguards`` block of the chaosllm extension::

    safeguards:
      recovery: 20s          # load keeps running this long after a trip, to measure the recovery
      interval: 1s           # how often every condition is checked
      stop_when:
        - name: error rate above 20 % for 10 s
          metric: error_rate          # a live metric over the last `window` of samples
          window: 10s
          above: 0.2
          for: 10s                    # breached this long without a break (default: at once)
        - name: gateway health
          http: {url: "http://127.0.0.1:8000/health", status: 200, timeout: 2s}
          for: 3s
        - name: 5xx rate in Prometheus
          prometheus: {url: "http://prometheus:9090", query: "sum(rate(http_5xx[1m]))", timeout: 2s}
          above: 5

A metric or Prometheus condition is breached when the value is above ``above`` or below ``below``;
an HTTP condition when the status differs from ``status`` or the request fails. With no request
finished in its window, a throughput reads 0 (a stall) and a latency or error rate is unknown, which
does not breach; a probe that cannot answer does. Metric conditions wait for one whole measured
window after the load's warmup.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.promql import PromQuery

__all__ = ["KINDS", "LIVE_METRICS", "RECOVERY_S", "Condition", "Safeguards"]

KINDS = ("metric", "http", "prometheus")
LIVE_METRICS = (
    "error_rate",
    "ttft_ms.p50",
    "ttft_ms.p90",
    "ttft_ms.p99",
    "itl_ms.p50",
    "itl_ms.p99",
    "e2el_ms.p99",
    "output_throughput_tps",
    "request_throughput_rps",
    # an open loop's (chaoslib_ext.metrics.arrivals)
    "send_lag_ms.p99",
    "ttft_sched_ms.p99",
    "achieved_rate_rps",
)


@dataclass(frozen=True)
class Condition:
    name: str
    kind: str
    for_s: float = 0.0
    above: float | None = None
    below: float | None = None
    metric: str | None = None
    window_s: float = 10.0
    url: str | None = None
    query: str | None = None
    status: int = 200
    timeout_s: float = 2.0

    @classmethod
    def parse(cls, raw: object, where: str) -> Condition:
        f = Fields(raw, ["name", "for", "above", "below", "window", *KINDS], where)
        kinds = [k for k in KINDS if f.has(k)]
        if len(kinds) != 1:
            raise SpecError(where, f"needs exactly one of {', '.join(KINDS)}; found {len(kinds)}", ", ".join(KINDS))
        kind = kinds[0]
        common = {"name": f.string("name"), "kind": kind, "for_s": f.duration("for", 0.0)}
        bounds = {"above": f.number("above", None), "below": f.number("below", None)}
        if kind == "http":
            if bounds["above"] is not None or bounds["below"] is not None:
                raise SpecError(f"{where}.above", "an http condition has no bound: it checks the status")
            p = Fields(f.raw["http"], ["url", "status", "timeout"], f"{where}.http")
            return cls(
                **common,
                url=_url(p.string("url"), f"{where}.http.url"),
                status=p.integer("status", 200, minimum=100, maximum=599),
                timeout_s=p.duration("timeout", 2.0, positive=True),
            )
        if bounds["above"] is None and bounds["below"] is None:
            raise SpecError(f"{where}.above", "needs a bound: above or below (or both)")
        if kind == "metric":
            metric = f.string("metric", choices=LIVE_METRICS)
            return cls(**common, **bounds, metric=metric, window_s=f.duration("window", 10.0, positive=True))
        query = PromQuery.parse(f.raw["prometheus"], f"{where}.prometheus", ranged=False)  # the hypotheses' key too
        return cls(**common, **bounds, url=query.url, query=query.query, timeout_s=query.timeout_s)

    @property
    def prometheus(self) -> PromQuery:
        assert self.url is not None
        assert self.query is not None
        return PromQuery(self.url, self.query, self.timeout_s)

    def breached_by(self, value: float) -> bool:
        return (self.above is not None and value > self.above) or (self.below is not None and value < self.below)

    def describe(self) -> str:
        bound = " and ".join(
            f"{word} {value:g}" for word, value in (("above", self.above), ("below", self.below)) if value is not None
        )
        what = {
            "metric": f"{self.metric} over {self.window_s:g}s",
            "http": f"HTTP status of {self.url} != {self.status}",
            "prometheus": f"Prometheus {self.query!r}",
        }[self.kind]
        held = f" for {self.for_s:g}s" if self.for_s else ""
        return f"{what} {bound}{held}".replace("  ", " ").strip()


#: after a trip or an abort, the load keeps running this long so the recovery is measured
RECOVERY_S = 20.0


@dataclass(frozen=True)
class Safeguards:
    conditions: tuple[Condition, ...]
    recovery_s: float = RECOVERY_S
    interval_s: float = 1.0

    @classmethod
    def parse(cls, raw: object, where: str = "safeguards") -> Safeguards:
        f = Fields(raw, ["recovery", "interval", "stop_when"], where)
        items = f.sequence("stop_when")
        if not items:
            raise SpecError(f"{where}.stop_when", "expected a non-empty list of conditions")
        conditions = [Condition.parse(item, f"{where}.stop_when[{i}]") for i, item in enumerate(items)]
        names = [c.name for c in conditions]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise SpecError(f"{where}.stop_when[{i}].name", f"duplicate condition name {name!r}")
        return cls(
            tuple(conditions),
            recovery_s=f.duration("recovery", RECOVERY_S),
            interval_s=f.duration("interval", 1.0, positive=True),
        )

    @property
    def needs_load(self) -> bool:
        return any(c.kind == "metric" for c in self.conditions)


def _url(value: str, where: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SpecError(where, f"{value!r} is not an http(s) URL", "http://host:port/path or https://...")
    return value
