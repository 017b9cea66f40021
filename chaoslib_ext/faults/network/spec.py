"""A network fault in Chaos Mesh's vocabulary, so the same block can later target a cluster.

action: delay
link: redis                       # local backend: the fault proxy's link (gateway, redis, kafka)
delay: {latency: 200ms, jitter: 10ms, correlation: "25"}
direction: to                     # to | from | both (Chaos Mesh's default: to)
duration: 20s                     # held for this long, then removed; also the dead-man switch
name: slow-redis                  # the fault's id in the ledger (default: <action>-<link>)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.durations import format_duration
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["ACTIONS", "DIRECTIONS", "DelaySpec", "NetworkFaultSpec"]

ACTIONS = ("delay",)
DIRECTIONS = ("to", "from", "both")
_FIELDS = ("action", "link", "delay", "direction", "duration", "name")


@dataclass(frozen=True)
class DelaySpec:
    latency_s: float
    jitter_s: float = 0.0
    correlation_pct: float = 0.0

    @classmethod
    def parse(cls, raw: object, where: str) -> DelaySpec:
        f = Fields(raw, ["latency", "jitter", "correlation"], where)
        correlation = f.raw.get("correlation", "0")
        try:
            pct = float(correlation)
        except (TypeError, ValueError):
            raise SpecError(
                f"{where}.correlation",
                f"correlation {correlation!r} is not a number",
                'a percentage from 0 to 100, e.g. "25"',
            ) from None
        if not 0 <= pct <= 100:
            raise SpecError(f"{where}.correlation", f"correlation {correlation!r} is out of range", "0 to 100")
        return cls(f.duration("latency"), f.duration("jitter", 0.0), pct)

    def to_json(self) -> dict[str, Any]:
        return {
            "latency": format_duration(self.latency_s),
            "jitter": format_duration(self.jitter_s),
            "correlation": f"{self.correlation_pct:g}",
        }


@dataclass(frozen=True)
class NetworkFaultSpec:
    action: str
    link: str
    delay: DelaySpec | None
    direction: str
    duration_s: float | None
    name: str | None

    @property
    def fault_id(self) -> str:
        return self.name or f"{self.action}-{self.link}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> NetworkFaultSpec:
        """Parse an activity's arguments; raises SpecError naming the field and the accepted values."""
        f = Fields(raw, _FIELDS)
        action = f.string("action", "delay", choices=ACTIONS)
        delay = DelaySpec.parse(f.raw.get("delay"), "delay") if action == "delay" else None
        return cls(
            action=action,
            link=f.string("link"),
            delay=delay,
            direction=f.string("direction", "to", choices=DIRECTIONS),
            duration_s=f.duration("duration", None, positive=True),
            name=f.string("name", None),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "link": self.link, "direction": self.direction}
        if self.delay is not None:
            out["delay"] = self.delay.to_json()
        if self.duration_s is not None:
            out["duration"] = format_duration(self.duration_s)
        return out
