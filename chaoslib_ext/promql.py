"""Prometheus's HTTP API for one ``prometheus`` key, the same in a safeguard and in a hypothesis:

    prometheus: {url: http://prom:9090, query: "sum(rate(http_5xx[1m]))", timeout: 2s}     # a safeguard:
                                                                                            # an instant query
    prometheus: {url: http://prom:9090, query: "...", step: 5s, aggregate: max}             # a hypothesis: a
                                                                                            # range query over
                                                                                            # each phase

A range query runs over each interval of a phase (its start and end, every ``step``) and must give
exactly one series; its values are aggregated into one number: ``mean`` (default), ``max``, ``min``,
``last``, ``p50``, ``p90``, ``p99``. An empty result, several series or an unreachable server raise
ProbeError naming the query and what came back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from chaoslib_ext.exceptions import ProbeError, SpecError
from chaoslib_ext.fields import Fields

__all__ = ["AGGREGATES", "PromQuery", "aggregate", "instant", "range_values"]

AGGREGATES = ("mean", "max", "min", "last", "p50", "p90", "p99")


@dataclass(frozen=True)
class PromQuery:
    url: str
    query: str
    timeout_s: float = 2.0
    step_s: float = 5.0  # a range query's resolution
    aggregate: str = "mean"

    @classmethod
    def parse(cls, raw: object, where: str, ranged: bool) -> PromQuery:
        """``ranged``: a hypothesis's (step and aggregate allowed); raises SpecError naming the field."""
        keys = ["url", "query", "timeout", *(["step", "aggregate"] if ranged else [])]
        p = Fields(raw, keys, where)
        url = p.string("url")
        if not url.startswith(("http://", "https://")):
            raise SpecError(f"{where}.url", f"{url!r} is not an http(s) URL", "http://host:9090 or https://...")
        query = p.string("query")
        if not query.strip():
            raise SpecError(f"{where}.query", "the query is empty", "a PromQL expression")
        timeout = p.duration("timeout", 2.0 if not ranged else 10.0, positive=True)
        if not ranged:
            return cls(url, query, timeout)
        return cls(
            url, query, timeout, p.duration("step", 5.0, positive=True), p.string("aggregate", "mean", AGGREGATES)
        )

    def describe(self) -> str:
        """How a hypothesis's query is named in its verdict."""
        return f"Prometheus {self.query!r} ({self.aggregate} over the phase)"


def _get(q: PromQuery, path: str, params: dict[str, str]) -> dict[str, Any]:
    url = q.url.rstrip("/") + path
    try:
        resp = requests.get(url, params=params, timeout=q.timeout_s)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProbeError(f"Prometheus {url}: {type(exc).__name__}") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if resp.status_code != 200 or not isinstance(data, dict) or body.get("status") != "success":
        raise ProbeError(f"Prometheus {url}: HTTP {resp.status_code}, {str(body)[:200]}")
    return data


def instant(q: PromQuery) -> float:
    """The instant query's value: a scalar, or a vector of exactly one sample."""
    data = _get(q, "/api/v1/query", {"query": q.query})
    result = data.get("result")
    if data.get("resultType") == "vector" and isinstance(result, list) and len(result) == 1:
        result = result[0].get("value")
    if data.get("resultType") in ("scalar", "vector") and isinstance(result, list) and len(result) == 2:
        value = _number(result[1])
        if not math.isnan(value):
            return value
    raise ProbeError(f"Prometheus query {q.query!r} did not give one number: {str(data)[:200]}")


def range_values(q: PromQuery, intervals: Sequence[tuple[float, float]]) -> list[float]:
    """Every value of the query's one series over ``intervals`` (every ``step_s``); raises ProbeError for
    an empty result or several series."""
    values: list[float] = []
    for start, end in intervals:
        params = {"query": q.query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{q.step_s:g}"}
        data = _get(q, "/api/v1/query_range", params)
        series = data.get("result") or []
        if len(series) > 1:
            labels = "; ".join(str(s.get("metric")) for s in series[:3])
            raise ProbeError(f"Prometheus query {q.query!r} gave {len(series)} series (aggregate it to one): {labels}")
        if series:
            values += [v for _, raw in series[0].get("values") or [] if not math.isnan(v := _number(raw))]
    if not values:
        span = f"{intervals[0][0]:.0f} and {intervals[-1][1]:.0f} (unix s)"
        raise ProbeError(f"Prometheus query {q.query!r} gave no data between {span}: is the series scraped, "
                         "and named as in the query?")  # fmt: skip
    return values


def aggregate(values: Sequence[float], how: str) -> float:
    """One number of a series' values (``how``: one of AGGREGATES)."""
    ordered = sorted(values)
    if how == "mean":
        return sum(values) / len(values)
    if how in ("max", "min"):
        return ordered[-1] if how == "max" else ordered[0]
    if how == "last":
        return values[-1]
    rank = float(how[1:]) / 100.0 * (len(ordered) - 1)  # a percentile, linear as numpy's
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _number(raw: object) -> float:
    try:
        return float(str(raw))
    except ValueError:
        return math.nan
