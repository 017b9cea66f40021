"""What the fault proxy can do to a link, as value objects shared by the server and its clients.

A fault is one or more effects on the bytes of one direction (or both); on the wire, times in ms::

    {"direction": "to", "ttl_s": 60,
     "delay": {"latency_ms": 200, "jitter_ms": 10, "correlation": 0.25},
     "loss": {"percent": 10, "correlation": 0},      # TCP retransmissions, emulated: see below
     "bandwidth": {"rate_bytes_s": 5000},             # shared by every connection of the link
     "partition": {},                                 # nothing gets through until removed
     "reset": {},                                     # live and new connections are reset (RST)
     "slow_close": {"delay_ms": 2000},                # a close reaches the other side late
     "timeout": {"percent": 15, "close_after_ms": 0}, # a share of requests is never answered
     "stream": {"action": "stall", "after_events": 1, "hold_ms": 300}}  # HTTP links only: see proxy.stream

``direction`` follows Chaos Mesh: ``to`` is what the client sends to the upstream server, ``from`` what
the server sends back, ``both`` is both. Delaying only ``to`` adds the latency once to every round trip,
as netem on the sender's interface does.

A userspace relay sees a byte stream, not packets, so packet faults are emulated by what an
application over TCP would see: a lost (or corrupted) packet is retransmitted after the kernel's
retransmission timeout (200 ms minimum on Linux, doubling while retransmissions are lost too), so
``loss`` delays the chunk it hits by that much. A partition holds bytes and delivers them when it
heals, as TCP does for a connection that survives. ``timeout`` makes a connection go silent from the
chunk it selects on (later responses would otherwise answer the wrong requests), then closes it
after ``close_after_ms`` (0: never).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.proxy.stream import StreamFault

__all__ = [
    "EFFECTS",
    "MAX_TTL_S",
    "Bandwidth",
    "Delay",
    "Direction",
    "Loss",
    "ProxyFault",
    "SlowClose",
    "StreamFault",
    "Timeout",
]

#: No proxy fault lives longer than this, whatever the client asks: the dead-man switch.
MAX_TTL_S = 3600.0
EFFECTS = ("delay", "loss", "bandwidth", "partition", "reset", "slow_close", "timeout", "stream")


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


def _check_percent(value: float, field: str) -> None:
    if not 0.0 <= value <= 100.0:
        raise SpecError(field, f"{value:g} is out of range", "a percentage from 0 to 100")


def _check_share(value: float, field: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise SpecError(field, f"correlation {value:g} is out of range", "0 to 1")


@dataclass(frozen=True)
class Delay:
    """Added latency: ``latency_ms`` ± ``jitter_ms`` (uniform), successive samples correlated."""

    latency_ms: float
    jitter_ms: float = 0.0
    correlation: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise SpecError("delay.latency", f"latency {self.latency_ms:g}ms is negative", "a duration >= 0")
        if self.jitter_ms < 0:
            raise SpecError("delay.jitter", f"jitter {self.jitter_ms:g}ms is negative", "a duration >= 0")
        _check_share(self.correlation, "delay.correlation")


@dataclass(frozen=True)
class Loss:
    """A share of chunks pays TCP's retransmission timeout (emulated loss or corruption)."""

    percent: float
    correlation: float = 0.0

    def __post_init__(self) -> None:
        _check_percent(self.percent, "loss.percent")
        _check_share(self.correlation, "loss.correlation")


@dataclass(frozen=True)
class Bandwidth:
    """At most ``rate_bytes_s`` bytes per second, for all connections of the link together."""

    rate_bytes_s: float

    def __post_init__(self) -> None:
        if self.rate_bytes_s <= 0:
            raise SpecError("bandwidth.rate", f"rate {self.rate_bytes_s:g} bytes/s must be above zero")


@dataclass(frozen=True)
class SlowClose:
    delay_ms: float

    def __post_init__(self) -> None:
        if self.delay_ms < 0:
            raise SpecError("slow_close.delay", f"delay {self.delay_ms:g}ms is negative", "a duration >= 0")


@dataclass(frozen=True)
class Timeout:
    """``percent`` of chunks make their connection go silent; it is closed ``close_after_ms`` later."""

    percent: float = 100.0
    close_after_ms: float = 0.0

    def __post_init__(self) -> None:
        _check_percent(self.percent, "timeout.percent")
        if self.close_after_ms < 0:
            raise SpecError("timeout.close_after", f"{self.close_after_ms:g}ms is negative", "a duration >= 0")


_COMPONENTS: dict[str, type] = {
    "delay": Delay,
    "loss": Loss,
    "bandwidth": Bandwidth,
    "slow_close": SlowClose,
    "timeout": Timeout,
}


@dataclass(frozen=True)
class ProxyFault:
    """One named fault on one link; several faults on a link add up."""

    direction: Direction
    ttl_s: float
    delay: Delay | None = None
    loss: Loss | None = None
    bandwidth: Bandwidth | None = None
    partition: bool = False
    reset: bool = False
    slow_close: SlowClose | None = None
    timeout: Timeout | None = None
    stream: StreamFault | None = None

    def __post_init__(self) -> None:
        if not 0 < self.ttl_s <= MAX_TTL_S:
            raise SpecError("ttl_s", f"ttl {self.ttl_s}s is out of range", f"0 < ttl_s <= {MAX_TTL_S:g}")
        if not self.effects:
            raise SpecError("", "a fault must do something", ", ".join(EFFECTS))

    @property
    def effects(self) -> list[str]:
        return [name for name in EFFECTS if getattr(self, name)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"direction": self.direction.value, "ttl_s": self.ttl_s}
        for name in EFFECTS:
            value = getattr(self, name)
            if value is True:
                out[name] = {}
            elif isinstance(value, StreamFault):
                out[name] = value.to_json()
            elif value:
                out[name] = {f.name: getattr(value, f.name) for f in fields(value)}
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProxyFault:
        """Parse the wire form; raises SpecError on any bad field."""
        accepted = ("direction", "ttl_s", *EFFECTS)
        unknown = sorted(set(raw) - set(accepted))
        if unknown:
            raise SpecError(unknown[0], "unknown field", ", ".join(accepted))
        parts: dict[str, Any] = {}
        for name, kind in _COMPONENTS.items():
            if name in raw:
                parts[name] = _component(kind, raw[name], name)
        for flag in ("partition", "reset"):
            if flag in raw:
                if not isinstance(raw[flag], Mapping) or raw[flag]:
                    raise SpecError(flag, "takes no parameters", "{}")
                parts[flag] = True
        if "stream" in raw:
            parts["stream"] = StreamFault.from_json(raw["stream"])
        return cls(direction=Direction.parse(raw.get("direction", "to")), ttl_s=_number(raw, "ttl_s"), **parts)


def _component(kind: type, raw: object, name: str) -> Any:
    if not isinstance(raw, Mapping):
        raise SpecError(name, "expected a mapping")
    names = [f.name for f in fields(kind)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise SpecError(f"{name}.{unknown[0]}", "unknown field", ", ".join(names))
    return kind(**{key: _number(raw, key, field=f"{name}.{key}") for key in raw})


def _number(raw: Mapping[str, Any], key: str, default: float | None = None, field: str | None = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(field or key, f"expected a number, got {value!r}")
    return float(value)
