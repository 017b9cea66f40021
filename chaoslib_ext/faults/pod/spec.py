"""A pod fault in Chaos Mesh's PodChaos vocabulary.

action: pod-kill            # pod-kill | pod-failure | container-kill
service: kafka              # portable: the target's pods (cluster) or process (sandbox) for it
mode: one                   # one | all | fixed | fixed-percent | random-max-percent (+ value)
duration: 30s               # pod-failure: how long; pod-kill on the sandbox: how long it stays down
gracePeriod: 0              # pod-kill: seconds before the kill (cluster)
containerNames: [broker]    # container-kill: which containers (required)
selector: {...}             # cluster only: overrides the service's pods
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.durations import format_duration
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.faults.network.selectors import parse_mode, parse_selector
from chaoslib_ext.fields import Fields

__all__ = ["POD_ACTIONS", "PodFaultSpec"]

POD_ACTIONS = ("pod-kill", "pod-failure", "container-kill")
_FIELDS = ("action", "service", "selector", "mode", "value", "duration", "gracePeriod", "containerNames", "name")


@dataclass(frozen=True)
class PodFaultSpec:
    action: str
    service: str | None
    selector: dict[str, Any] | None
    mode: str
    value: str | None
    duration_s: float | None
    grace_period: int | None = None
    container_names: tuple[str, ...] = ()
    name: str | None = None

    @property
    def fault_id(self) -> str:
        return self.name or f"{self.action}-{self.service or 'pods'}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PodFaultSpec:
        f = Fields(raw, _FIELDS)
        action = f.string("action", choices=POD_ACTIONS)
        mode, value = parse_mode(f.raw.get("mode", "one"), f.raw.get("value"), "mode", "value")
        names = f.sequence("containerNames", [])
        if not all(isinstance(n, str) and n for n in names):
            raise SpecError("containerNames", "expected a list of container names")
        if action == "container-kill" and not names:
            raise SpecError("containerNames", "container-kill needs the containers to kill", "a list of names")
        if names and action != "container-kill":
            raise SpecError("containerNames", f"does not apply to action {action!r}", "container-kill")
        if f.has("gracePeriod") and action != "pod-kill":
            raise SpecError("gracePeriod", f"does not apply to action {action!r}", "pod-kill")
        duration = f.duration("duration", None, positive=True)
        if action == "pod-failure" and duration is None:
            raise SpecError("duration", "pod-failure needs a duration: how long the pods stay unavailable")
        spec = cls(
            action=action,
            service=f.string("service", None),
            selector=parse_selector(f.raw["selector"], "selector") if f.has("selector") else None,
            mode=mode,
            value=value,
            duration_s=duration,
            grace_period=f.integer("gracePeriod", None, minimum=0),
            container_names=tuple(names),
            name=f.string("name", None),
        )
        if spec.service is None and spec.selector is None:
            raise SpecError("service", "is required (or a Chaos Mesh selector)", "a service of the target")
        return spec

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "mode": self.mode}
        for key, value in (("service", self.service), ("value", self.value), ("gracePeriod", self.grace_period)):
            if value is not None:
                out[key] = value
        if self.duration_s is not None:
            out["duration"] = format_duration(self.duration_s)
        if self.container_names:
            out["containerNames"] = list(self.container_names)
        return out
