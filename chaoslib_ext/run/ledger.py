"""The fault ledger: every fault of a run, with its undo written *before* the fault takes effect.

``ledger.json`` is the source of truth for what may still be broken: ``chaosllm cleanup``, the end of a
run and its rollbacks all remove whatever it lists as ``pending`` or ``injected``. An undo holds
everything needed to remove the fault from the record alone, in another process, after a crash.

    {"entries": [{"id": "slow-redis", "family": "network", "driver": "proxy", "target": "...",
                  "spec": {...}, "undo": {...}, "state": "injected", "created_at": ..., ...}]}
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import LedgerError

__all__ = ["STATES", "FaultState", "Ledger", "LedgerEntry"]

#: pending: undo recorded, injection under way (it may have partly happened); injected; removed;
#: failed: the injection failed and what it may have done was undone
FaultState = Literal["pending", "injected", "removed", "failed"]
STATES: tuple[FaultState, ...] = get_args(FaultState)


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    family: str
    driver: str
    target: str
    spec: dict[str, Any]
    undo: dict[str, Any]
    state: FaultState = "pending"
    created_at: float = field(default_factory=time.time)
    injected_at: float | None = None
    removed_at: float | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    hold_until: float | None = None  # a fault held for a duration: until when (a game day's extend moves it)

    @property
    def outstanding(self) -> bool:
        """True while the fault may still be in place."""
        return self.state in ("pending", "injected")


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[LedgerEntry]:
        if not self.path.exists():
            return []
        return [LedgerEntry(**raw) for raw in read_json(self.path)["entries"]]

    def get(self, fault_id: str) -> LedgerEntry | None:
        return next((e for e in self.entries() if e.id == fault_id), None)

    def outstanding(self) -> list[LedgerEntry]:
        return [e for e in self.entries() if e.outstanding]

    def add(self, entry: LedgerEntry) -> None:
        """Record a new fault; its id must be new in this run."""
        with locked(self.path):
            entries = self.entries()
            if any(e.id == entry.id for e in entries):
                raise LedgerError(f"fault id {entry.id!r} is already in the ledger {self.path}")
            self._save([*entries, entry])

    def update(self, fault_id: str, **changes: Any) -> LedgerEntry:
        with locked(self.path):
            entries = self.entries()
            for i, e in enumerate(entries):
                if e.id == fault_id:
                    entries[i] = replace(e, **changes)
                    self._save(entries)
                    return entries[i]
        raise LedgerError(f"fault id {fault_id!r} is not in the ledger {self.path}")

    def unique_id(self, base: str) -> str:
        taken = {e.id for e in self.entries()}
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def _save(self, entries: list[LedgerEntry]) -> None:
        write_json_atomic(self.path, {"entries": [asdict(e) for e in entries]})
