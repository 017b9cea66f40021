"""What the fault proxy can do to a link, as value objects shared by the server and its clients.

On the wire a fault is JSON with times in milliseconds::

    {"direction": "to", "delay": {"latency_ms": 200, "jitter_ms": 10, "correlation": 0.25}, "ttl_s": 60}

``direction`` follows Chaos Mesh: ``to`` is what the client sends to the upstream server, ``from`` what
the server sends back, ``both`` is both. Delaying only ``to`` adds the latency once to every round trip,
as netem on the sender's interface does.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.exceptions import SpecError

__all__ = ["MAX_TTL_S", "Delay", "DelaySampler", "Direction", "ProxyFault"]

#: No proxy fault lives longer than this, whatever the client asks: the dead-man switch.
MAX_TTL_S = 3600.0


class Direction(enum.Enum):
    TO = "to"
    FROM = "from"
    BOTH = "both"

    @classmethod
    def parse(cls, value: object, field: str = "direction") -> Direction:
        """The direction named by ``value``; raises SpecError listing the accepted names."""
        for member in cls:
            if value == member.value:
                return member
        raise SpecError(field, f"unknown direction {value!r}", ", ".join(m.value for m in cls))

    def covers(self, flow: Direction) -> bool:
        """Whether a fault aimed at ``self`` applies to bytes flowing ``flow`` (to or from)."""
        return self is Direction.BOTH or self is flow


@dataclass(frozen=True)
class Delay:
    """Added latency: ``latency_ms`` ± ``jitter_ms`` (uniform), successive samples correlated."""

    latency_ms: float
    jitter_ms: float = 0.0
    correlation: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise SpecError("latency", f"latency {self.latency_ms}ms is negative", "a duration >= 0")
        if self.jitter_ms < 0:
            raise SpecError("jitter", f"jitter {self.jitter_ms}ms is negative", "a duration >= 0")
        if not 0.0 <= self.correlation <= 1.0:
            raise SpecError("correlation", f"correlation {self.correlation} is out of range", "0 to 1")

    def to_json(self) -> dict[str, float]:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms, "correlation": self.correlation}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Delay:
        return cls(
            latency_ms=_number(raw, "latency_ms"),
            jitter_ms=_number(raw, "jitter_ms", 0.0),
            correlation=_number(raw, "correlation", 0.0),
        )


class DelaySampler:
    """Draws successive delays in seconds for one direction of one connection, as netem does."""

    def __init__(self, delay: Delay, rng: random.Random) -> None:
        self._delay = delay
        self._rng = rng
        self._last = 0.0

    def next_s(self) -> float:
        d = self._delay
        if d.jitter_ms == 0:
            return d.latency_ms / 1000.0
        fresh = self._rng.uniform(-d.jitter_ms, d.jitter_ms)
        self._last = d.correlation * self._last + (1.0 - d.correlation) * fresh
        return max(0.0, d.latency_ms + self._last) / 1000.0


@dataclass(frozen=True)
class ProxyFault:
    """One named fault on one link; several faults on a link add up."""

    direction: Direction
    delay: Delay | None
    ttl_s: float

    def __post_init__(self) -> None:
        if not 0 < self.ttl_s <= MAX_TTL_S:
            raise SpecError("ttl_s", f"ttl {self.ttl_s}s is out of range", f"0 < ttl_s <= {MAX_TTL_S:g}")
        if self.delay is None:
            raise SpecError("", "a fault must do something", "delay")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"direction": self.direction.value, "ttl_s": self.ttl_s}
        if self.delay is not None:
            out["delay"] = self.delay.to_json()
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProxyFault:
        """Parse the wire form; raises SpecError on any bad field."""
        unknown = set(raw) - {"direction", "delay", "ttl_s"}
        if unknown:
            raise SpecError(sorted(unknown)[0], "unknown field", "direction, delay, ttl_s")
        delay_raw = raw.get("delay")
        if delay_raw is not None and not isinstance(delay_raw, Mapping):
            raise SpecError("delay", "expected a mapping")
        return cls(
            direction=Direction.parse(raw.get("direction", "to")),
            delay=Delay.from_json(delay_raw) if delay_raw is not None else None,
            ttl_s=_number(raw, "ttl_s"),
        )


def _number(raw: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(key, f"expected a number, got {value!r}")
    return float(value)
