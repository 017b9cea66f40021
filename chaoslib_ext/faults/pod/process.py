"""The local backend of pod faults: the sandbox process that runs a service, stopped or killed.

``pod-failure`` stops the process (SIGSTOP) and starts a watchdog that resumes it at the deadline even
if this run dies; removal resumes it (SIGCONT). ``pod-kill`` and ``container-kill`` kill it (SIGKILL);
removal starts it again with the same command line (a controller would), and writes the new process
into the target file so that ``chaosllm sandbox down`` stops the new one.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, spawn_detached, stop
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.expiry import grace_s
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.target import Target

__all__ = ["WATCHDOG_GRACE_S", "ProcessDriver", "remove_process_fault"]

#: A stopped process is resumed this long after its fault should have ended, should nothing resume it.
WATCHDOG_GRACE_S = 5.0


class ProcessDriver:
    name = "process"

    def __init__(self, target: Target, spec: PodFaultSpec, state_dir: Path) -> None:
        if spec.selector is not None:
            raise TargetError("selector needs a Chaos Mesh target; the local backend faults a service's process")
        assert spec.service is not None
        process = target.service(spec.service).process
        records = {p["name"]: p for p in target.processes}
        if not process or process not in records or not target.state_file:
            raise TargetError(f"target {target.name!r} runs no local process for service {spec.service!r}")
        self._spec = spec
        self._record = ProcessRecord.from_json(records[process])
        self._state_file = target.state_file
        self._state_dir = state_dir
        self.details: dict[str, Any] = {}

    @property
    def expires_by_itself(self) -> bool:
        """A stopped process has its SIGCONT watchdog; a killed one is started again by ours."""
        return self._spec.action == "pod-failure"

    def target(self) -> str:
        return f"process {self._record.name} (pid {self._record.pid}) of service {self._spec.service}"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        if self._spec.action == "pod-failure":
            what = f"SIGSTOP for {self._spec.duration_s:g}s, then SIGCONT (a watchdog resumes it regardless)"
        else:
            what = f"SIGKILL, then the same command line again after {self._spec.duration_s or 0:g}s"
        return [
            {
                "kind": "ProcessFault",
                "service": self._spec.service,
                "process": self._record.name,
                "pid": self._record.pid,
                "action": self._spec.action,
                "signal": what,
            }
        ]

    def undo(self, fault_id: str) -> dict[str, Any]:
        if self._spec.action == "pod-failure":
            return {"resume": self._record.to_json(), "watchdog": str(self._state_dir / f"{fault_id}.watchdog.json")}
        return {"restart": self._record.to_json(), "state_file": self._state_file}

    def inject(self, fault_id: str) -> float:
        if not alive(self._record):
            raise TargetError(f"process {self._record.name} (pid {self._record.pid}) is not running")
        if self._spec.action == "pod-failure":
            until = time.time() + (self._spec.duration_s or 0) + grace_s(WATCHDOG_GRACE_S)
            watchdog = spawn_detached(
                f"watchdog-{fault_id}",
                [
                    sys.executable,
                    "-m",
                    "chaoslib_ext.faults.pod.watchdog",
                    "--pid",
                    str(self._record.pid),
                    "--start-ticks",
                    str(self._record.start_ticks),
                    "--until",
                    str(until),
                ],
                self._state_dir / f"{fault_id}.watchdog.log",
            )
            write_json_atomic(self._state_dir / f"{fault_id}.watchdog.json", watchdog.to_json())
            os.kill(self._record.pid, signal.SIGSTOP)
        else:
            stop(self._record, grace_s=0.0, sig=signal.SIGKILL)
        return time.time()


def remove_process_fault(undo: Mapping[str, Any]) -> bool:
    """Resume a stopped process, or start a killed one again (recording it in the target file)."""
    if "resume" in undo:
        record = ProcessRecord.from_json(undo["resume"])
        watchdog = Path(str(undo["watchdog"]))
        if watchdog.exists():
            stop(ProcessRecord.from_json(read_json(watchdog)), grace_s=5)
        if alive(record):
            os.kill(record.pid, signal.SIGCONT)
            return True
        return False
    killed = ProcessRecord.from_json(undo["restart"])
    state_file = Path(str(undo["state_file"]))
    with locked(state_file):
        state = read_json(state_file)
        current = next((ProcessRecord.from_json(p) for p in state["processes"] if p["name"] == killed.name), None)
        if current is not None and alive(current):
            return False  # already running again
        fresh = spawn_detached(killed.name, killed.argv, Path(killed.log))
        state["processes"] = [fresh.to_json() if p["name"] == killed.name else p for p in state["processes"]]
        write_json_atomic(state_file, state)
    return True
