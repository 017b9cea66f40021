"""Faults inside an HTTP response's token stream, as the proxy's HTTP links apply them (chaoslib_ext.proxy.http).

On the wire (a ProxyFault's ``stream`` effect; times in ms)::

    {"action": "stall", "percent": 50, "seed": 7, "after_events": 1, "hold_ms": 300}

``percent`` is the share of requests a fault touches, drawn per request from a generator seeded with
``seed`` (the same seed and the same requests touch the same ones). A content event is an SSE event
that carries generated text (chaoslib_ext.sse); the actions:

- ``http-error``: the request is answered by the proxy with ``status`` (and ``Retry-After`` when
  ``retry_after_s`` is set) and a JSON error body; the server never sees it; the connection stays open;
- ``stall``: before content event ``after_events`` (0: before the first), the stream is held ``hold_ms``;
- ``cut``: the connection is closed before content event ``after_events``, or, with
  ``cut_probability`` > 0, before each content event with that probability;
- ``slow-tokens``: every content event is held ``delay_ms`` more than the one before it (each gap grows
  by the draw: ``fixed``, ``uniform`` over delay ± jitter, or ``exponential`` with mean delay);
- ``slow-first-token``: the stream is held ``delay_ms`` before its first content event (slow prefill);
- ``corrupt-event``: a content event is replaced, with probability ``rate`` percent, by malformed JSON
  (``corrupt: json``) or a ``data:`` line cut short (``corrupt: truncate``);
- ``drop-done``: the ``data: [DONE]`` event is left out (the body still ends properly).

A hold shifts the rest of its response: bytes leave in order, never overtaking what was held. ``N``
content events count those the fault saw: a stream already open when the fault came counts from then.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from chaoslib_ext.exceptions import SpecError

__all__ = ["CORRUPTIONS", "DISTRIBUTIONS", "STREAM_ACTIONS", "StreamFault"]

STREAM_ACTIONS = ("http-error", "stall", "cut", "slow-tokens", "slow-first-token", "corrupt-event", "drop-done")
DISTRIBUTIONS = ("fixed", "uniform", "exponential")
CORRUPTIONS = ("json", "truncate")
_NUMBERS = ("percent", "retry_after_s", "hold_ms", "cut_probability", "delay_ms", "jitter_ms", "rate")
_INTEGERS = ("seed", "status", "after_events")
_STRINGS = ("action", "body", "distribution", "corrupt")


@dataclass(frozen=True)
class StreamFault:
    action: str
    percent: float = 100.0
    seed: int = 0
    status: int = 503
    retry_after_s: float | None = None
    body: str = ""
    after_events: int = 0
    hold_ms: float = 0.0
    cut_probability: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    distribution: str = "fixed"
    rate: float = 0.0
    corrupt: str = "json"

    def __post_init__(self) -> None:
        _choice(self.action, STREAM_ACTIONS, "stream.action")
        _choice(self.distribution, DISTRIBUTIONS, "stream.distribution")
        _choice(self.corrupt, CORRUPTIONS, "stream.corrupt")
        for name in ("percent", "rate"):
            if not 0.0 <= getattr(self, name) <= 100.0:
                raise SpecError(f"stream.{name}", f"{getattr(self, name):g} is out of range", "0 to 100")
        if not 0.0 <= self.cut_probability <= 1.0:
            raise SpecError("stream.cut_probability", f"{self.cut_probability:g} is out of range", "0 to 1")
        if not 400 <= self.status <= 599:
            raise SpecError("stream.status", f"{self.status} is not an error status", "400 to 599")
        for name in ("hold_ms", "delay_ms", "jitter_ms", "after_events"):
            if getattr(self, name) < 0:
                raise SpecError(f"stream.{name}", f"{getattr(self, name):g} is negative", "a value >= 0")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise SpecError("stream.retry_after_s", f"{self.retry_after_s:g} is negative", "seconds >= 0")

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, raw: object) -> StreamFault:
        if not isinstance(raw, Mapping):
            raise SpecError("stream", "expected a mapping")
        accepted = (*_STRINGS, *_NUMBERS, *_INTEGERS)
        unknown = sorted(set(raw) - set(accepted))
        if unknown:
            raise SpecError(f"stream.{unknown[0]}", "unknown field", ", ".join(accepted))
        if "action" not in raw:
            raise SpecError("stream.action", "is required", ", ".join(STREAM_ACTIONS))
        for key, value in raw.items():
            _check_type(key, value)
        return cls(**raw)

    def touches(self, rng: random.Random) -> bool:
        """Whether the next request is one of the ``percent`` touched (one draw per request)."""
        return rng.random() * 100.0 < self.percent

    def token_delay_s(self, rng: random.Random) -> float:
        """One draw of a slow-tokens delay, in seconds."""
        if self.distribution == "uniform":
            return max(0.0, rng.uniform(self.delay_ms - self.jitter_ms, self.delay_ms + self.jitter_ms)) / 1000.0
        if self.distribution == "exponential":
            return rng.expovariate(1000.0 / self.delay_ms) if self.delay_ms > 0 else 0.0
        return self.delay_ms / 1000.0


def _choice(value: str, accepted: tuple[str, ...], field: str) -> None:
    if value not in accepted:
        raise SpecError(field, f"unknown value {value!r}", ", ".join(accepted))


def _check_type(key: str, value: object) -> None:
    if key in _STRINGS:
        ok = isinstance(value, str)
    elif key in _INTEGERS:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = value is None if key == "retry_after_s" and value is None else _is_number(value)
    if not ok:
        kind = "text" if key in _STRINGS else "an integer" if key in _INTEGERS else "a number"
        raise SpecError(f"stream.{key}", f"expected {kind}, got {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
