"""External checks of a safeguard, each bounded by its own timeout: an HTTP status, a Prometheus query."""

from __future__ import annotations

import math

import requests

from chaoslib_ext.exceptions import ProbeError
from chaoslib_ext.safeguards.spec import Condition

__all__ = ["ProbeError", "http_status", "prometheus_value"]


def http_status(c: Condition) -> int:
    assert c.url is not None
    try:
        return requests.get(c.url, timeout=c.timeout_s, allow_redirects=False).status_code
    except requests.RequestException as exc:
        raise ProbeError(f"GET {c.url}: {type(exc).__name__}") from exc


def prometheus_value(c: Condition) -> float:
    """The instant query's value: a scalar, or a vector of exactly one sample."""
    assert c.url is not None
    assert c.query is not None
    url = c.url.rstrip("/") + "/api/v1/query"
    try:
        resp = requests.get(url, params={"query": c.query}, timeout=c.timeout_s)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProbeError(f"Prometheus {url}: {type(exc).__name__}") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if resp.status_code != 200 or not isinstance(data, dict) or body.get("status") != "success":
        raise ProbeError(f"Prometheus {url}: HTTP {resp.status_code}, {str(body)[:200]}")
    result = data.get("result")
    if data.get("resultType") == "vector" and isinstance(result, list) and len(result) == 1:
        result = result[0].get("value")
    if data.get("resultType") in ("scalar", "vector") and isinstance(result, list) and len(result) == 2:
        try:
            value = float(result[1])
        except (TypeError, ValueError):
            value = math.nan
        if not math.isnan(value):
            return value
    raise ProbeError(f"Prometheus query {c.query!r} did not give one number: {str(data)[:200]}")
