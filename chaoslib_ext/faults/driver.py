"""One interface for every fault family, after httpx's transports: a driver knows how to inject a
typed spec, what the injection would create (for ``--dry-run``), and how to undo it from a record.

``remove`` must work from the undo record alone (another process, after a crash) and be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from chaoslib_ext.target import Target

__all__ = ["FaultDriver", "PlanContext", "Planner", "Remover"]

#: Removes a fault from its undo record; True if it was in place, False if it was already gone.
Remover = Callable[[Mapping[str, Any]], bool]


class FaultDriver(Protocol):
    #: The name stored in the ledger, which selects the remover when sweeping.
    name: str
    #: What the injection measured (e.g. Chaos Mesh's time to inject); filled by ``inject``.
    details: dict[str, Any]

    @property
    def expires_by_itself(self) -> bool:
        """True when the backend ends the fault at its TTL (proxy TTL, Chaos Mesh duration, a bounded
        pause); False when a watchdog of ours must (chaoslib_ext.faults.watchdog)."""
        ...

    def target(self) -> str:
        """A human description of what the fault is applied to."""
        ...

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        """The objects the injection would create or change, without touching anything."""
        ...

    def undo(self, fault_id: str) -> dict[str, Any]:
        """The record ``remove`` needs; written to the ledger before ``inject`` runs."""
        ...

    def inject(self, fault_id: str) -> float:
        """Apply the fault; returns the unix time it took effect. Raises ChaosLLMError."""
        ...


@dataclass(frozen=True)
class PlanContext:
    """What building a driver needs besides the arguments and the target."""

    run_id: str
    state_dir: Path  # where a driver keeps files its undo refers to (e.g. a helper process's record)
    unique: Callable[[str], str] = field(default=lambda name: name)  # makes a fault id unique in the run


#: Builds the driver an action would use from its arguments: (arguments, target, context) -> (fault id, driver).
Planner = Callable[[Mapping[str, Any], Target, PlanContext], tuple[str, FaultDriver]]
