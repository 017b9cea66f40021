"""External checks of a safeguard, each bounded by its own timeout: an HTTP status, a Prometheus query."""

from __future__ import annotations

import requests

from chaoslib_ext.exceptions import ProbeError
from chaoslib_ext.promql import instant
from chaoslib_ext.safeguards.spec import Condition

__all__ = ["ProbeError", "http_status", "prometheus_value"]


def http_status(c: Condition) -> int:
    assert c.url is not None
    try:
        return requests.get(c.url, timeout=c.timeout_s, allow_redirects=False).status_code
    except requests.RequestException as exc:
        raise ProbeError(f"GET {c.url}: {type(exc).__name__}") from exc


def prometheus_value(c: Condition) -> float:
    """The instant query's value: a scalar, or a vector of exactly one sample (chaoslib_ext.promql)."""
    return instant(c.prometheus)
