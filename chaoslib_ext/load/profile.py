"""Load shapes as one tiny contract, like Locust's ``LoadTestShape.tick()``: time -> (users, spawn rate).

    constant                                   ``users`` for the whole run
    {type: ramp, from: 1, over: 30s}           ``from`` users growing linearly to ``users`` over ``over``
    {type: step, step: 4, every: 10s}          ``step`` users, ``step`` more every ``every``, up to ``users``
    {type: spike, to: 64, at: 30s, for: 10s}   ``users``, then ``to`` users from ``at`` for ``for``

An open-loop load (``rate``) reads the same shapes as requests/s: ``level_at(t, rate)``, and
``knots(duration, rate)``: the times between which the level is constant or, on a ramp, linear within
10 ms, so that the level's integral is exact from its values at the midpoints between knots.

Pure Python with no Locust import: the locustfile uses it, and so do tests and the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["SHAPES", "Constant", "LoadProfile", "Ramp", "Shape", "Spike", "Step", "parse_shape"]

#: a ramp's level is integrated in steps this long (its integral's error: a few microseconds of arrivals)
_RAMP_KNOT_S = 0.01


@dataclass(frozen=True)
class Constant:
    def users_at(self, t_s: float, users: int) -> int:
        return users

    def level_at(self, t_s: float, top: float) -> float:
        return top

    def knots(self, duration_s: float, top: float) -> tuple[float, ...]:
        return ()

    def to_json(self) -> dict[str, Any]:
        return {"type": "constant"}


@dataclass(frozen=True)
class Ramp:
    start_users: int
    over_s: float

    def users_at(self, t_s: float, users: int) -> int:
        return round(self.level_at(t_s, users))

    def level_at(self, t_s: float, top: float) -> float:
        share = min(t_s / self.over_s, 1.0) if self.over_s > 0 else 1.0
        return self.start_users + (top - self.start_users) * share

    def knots(self, duration_s: float, top: float) -> tuple[float, ...]:
        return (*(i * _RAMP_KNOT_S for i in range(1, int(min(self.over_s, duration_s) / _RAMP_KNOT_S))), self.over_s)

    def to_json(self) -> dict[str, Any]:
        return {"type": "ramp", "from": self.start_users, "over": f"{self.over_s}s"}


@dataclass(frozen=True)
class Step:
    step_users: int
    every_s: float

    def users_at(self, t_s: float, users: int) -> int:
        return min(users, self.step_users * (1 + math.floor(t_s / self.every_s)))

    def level_at(self, t_s: float, top: float) -> float:
        return min(top, float(self.step_users * (1 + math.floor(t_s / self.every_s))))

    def knots(self, duration_s: float, top: float) -> tuple[float, ...]:
        steps = min(math.ceil(top / self.step_users), math.ceil(duration_s / self.every_s))
        return tuple(k * self.every_s for k in range(1, steps))

    def to_json(self) -> dict[str, Any]:
        return {"type": "step", "step": self.step_users, "every": f"{self.every_s}s"}


@dataclass(frozen=True)
class Spike:
    to_users: int
    at_s: float
    for_s: float

    def users_at(self, t_s: float, users: int) -> int:
        return self.to_users if self.at_s <= t_s < self.at_s + self.for_s else users

    def level_at(self, t_s: float, top: float) -> float:
        return float(self.to_users) if self.at_s <= t_s < self.at_s + self.for_s else top

    def knots(self, duration_s: float, top: float) -> tuple[float, ...]:
        return (self.at_s, self.at_s + self.for_s)

    def to_json(self) -> dict[str, Any]:
        return {"type": "spike", "to": self.to_users, "at": f"{self.at_s}s", "for": f"{self.for_s}s"}


Shape = Constant | Ramp | Step | Spike
SHAPES = ("constant", "ramp", "step", "spike")


def parse_shape(raw: object, where: str = "shape") -> Shape:
    """A shape from ``constant`` or a mapping with ``type``; raises SpecError."""
    if raw is None or raw == "constant":
        return Constant()
    if isinstance(raw, str):
        raise SpecError(where, f"unknown shape {raw!r}", ", ".join(SHAPES))
    if not isinstance(raw, dict) or "type" not in raw:
        raise SpecError(where, "expected a shape name or a mapping with a type", ", ".join(SHAPES))
    kind = raw["type"]
    if kind == "constant":
        Fields(raw, ["type"], where)
        return Constant()
    if kind == "ramp":
        f = Fields(raw, ["type", "from", "over"], where)
        return Ramp(f.integer("from", 1, minimum=0), f.duration("over", positive=True))
    if kind == "step":
        f = Fields(raw, ["type", "step", "every"], where)
        return Step(f.integer("step", minimum=1), f.duration("every", positive=True))
    if kind == "spike":
        f = Fields(raw, ["type", "to", "at", "for"], where)
        return Spike(f.integer("to", minimum=1), f.duration("at"), f.duration("for", positive=True))
    raise SpecError(f"{where}.type", f"unknown shape {kind!r}", ", ".join(SHAPES))


@dataclass(frozen=True)
class LoadProfile:
    """How many users run at each moment, and how fast they are started."""

    users: int
    spawn_rate: float
    shape: Shape
    duration_s: float | None  # None: until stopped

    def tick(self, t_s: float) -> tuple[int, float] | None:
        """Locust's contract: the users wanted ``t_s`` seconds into the run, or None to stop."""
        if self.duration_s is not None and t_s >= self.duration_s:
            return None
        return self.shape.users_at(t_s, self.users), self.spawn_rate
