"""One interface for every fault family, after httpx's transports: a driver knows how to inject a
typed spec, what the injection would create (for ``--dry-run``), and how to undo it from a record.

The contract, which ``tests/integration/test_driver_contract.py`` checks for every driver against its
real server:

- ``undo(fault_id)`` is known *before* ``inject``: it is written to the ledger first, so a crash
  between the two still leaves the way back on disk;
- ``remove(undo)`` is a static method: it works from the undo record alone, in another process,
  after a crash (JSON in, nothing of the driver object needed);
- ``remove`` is idempotent and says what it did: True when it removed a fault that was in place,
  False when there was nothing left to remove.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from chaoslib_ext.target import Target

__all__ = ["FaultDriver", "Injected", "PlanContext", "PlannedFault", "Planner", "Undo"]

#: What ``remove`` needs, as JSON: written to the ledger before the fault is injected.
Undo = dict[str, Any]


@dataclass(frozen=True)
class Injected:
    """When the fault took effect (unix seconds), and what the injection measured or learnt
    (Chaos Mesh's time to inject, the Kafka leader before a move): kept in the ledger and timeline."""

    at: float
    details: dict[str, Any] = field(default_factory=dict)


class FaultDriver(Protocol):
    #: The name stored in the ledger, which finds the driver's ``remove`` when sweeping.
    name: ClassVar[str]

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

    def undo(self, fault_id: str) -> Undo:
        """The record ``remove`` needs; written to the ledger before ``inject`` runs."""
        ...

    def inject(self, fault_id: str) -> Injected:
        """Apply the fault. Raises ChaosLLMError."""
        ...

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Remove the fault from its undo record; True if it was in place, False if it was already gone."""
        ...


@dataclass(frozen=True)
class PlanContext:
    """What building a driver needs besides the arguments and the target."""

    run_id: str
    state_dir: Path  # where a driver keeps files its undo refers to (e.g. a helper process's record)
    unique: Callable[[str], str] = field(default=lambda name: name)  # makes a fault id unique in the run


@dataclass(frozen=True)
class PlannedFault:
    """An action's arguments parsed once: the fault's id, the driver that injects it, the spec as the
    ledger records it, and how long the action holds it (None: until removed; 0: a single blow)."""

    fault_id: str
    family: str
    driver: FaultDriver
    spec: dict[str, Any]
    hold_s: float | None


#: Builds what an action would inject from its arguments: (arguments, target, context) -> PlannedFault.
#: Raises SpecError for bad arguments and TargetError for what the target cannot do.
Planner = Callable[[Mapping[str, Any], Target, PlanContext], PlannedFault]
