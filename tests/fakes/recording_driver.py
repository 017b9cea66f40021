"""A fault driver that breaks nothing and records everything, for unit tests of the fault lifecycle
(httpx's ``MockTransport`` for our ``FaultDriver``). Its state lives in a JSON file that its undo record
names, so its ``remove`` works from the record alone, as a real driver's must:

    driver = RecordingDriver(tmp_path / "fault.json", fail_inject=False, fail_removals=2)

``fail_removals`` makes that many removal attempts raise before one succeeds; the file keeps the calls
(``undo``, ``inject``, ``remove``), in order, and whether the fault is in place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from chaoslib_ext.exceptions import FaultRemovalError, TargetError
from chaoslib_ext.faults.driver import Injected

__all__ = ["RecordingDriver", "recorded"]


def recorded(state: Path) -> dict[str, Any]:
    """What the driver of ``state`` saw: ``calls`` in order, ``in_place``, ``removals_to_fail``."""
    return json.loads(state.read_text()) if state.exists() else {"calls": [], "in_place": False}


def _save(state: Path, data: dict[str, Any]) -> None:
    state.write_text(json.dumps(data))


class RecordingDriver:
    name: ClassVar[str] = "recording"

    def __init__(
        self, state: Path, fail_inject: bool = False, fail_removals: int = 0, expires_by_itself: bool = True
    ) -> None:
        self._state = state
        self._fail_inject = fail_inject
        self.expires_by_itself = expires_by_itself
        _save(state, {"calls": [], "in_place": False, "removals_to_fail": fail_removals})

    def _call(self, what: str, **changes: Any) -> dict[str, Any]:
        data = recorded(self._state)
        data["calls"].append(what)
        data.update(changes)
        _save(self._state, data)
        return data

    def target(self) -> str:
        return f"recording driver {self._state.name}"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [{"kind": "RecordedFault", "name": fault_id}]

    def undo(self, fault_id: str) -> dict[str, Any]:
        self._call("undo")
        return {"state": str(self._state), "fault": fault_id}

    def inject(self, fault_id: str) -> Injected:
        if self._fail_inject:
            self._call("inject", in_place=True)  # half-applied, as a real failure may leave it
            raise TargetError("the recording driver was told to fail its injection")
        self._call("inject", in_place=True)
        return Injected(time.time(), {"recorded": True})

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        state = Path(str(undo["state"]))
        data = recorded(state)
        data["calls"].append("remove")
        if data.get("removals_to_fail", 0) > 0:
            data["removals_to_fail"] -= 1
            _save(state, data)
            raise FaultRemovalError("the recording driver was told to fail this removal")
        was = bool(data["in_place"])
        data["in_place"] = False
        _save(state, data)
        return was
