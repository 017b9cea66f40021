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
from typing import Any, ClassVar

from chaoslib_ext._filelock import locked
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, spawn_detached, stop, stopped
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.driver import Injected
from chaoslib_ext.faults.expiry import grace_s
from chaoslib_ext.faults.pod.spec import PodFaultSpec
from chaoslib_ext.target import Target

__all__ = ["WATCHDOG_GRACE_S", "KillProcess", "ProcessDriver", "StopProcess", "process_driver"]

#: A stopped process is resumed this long after its fault should have ended, should nothing resume it.
WATCHDOG_GRACE_S = 5.0


class ProcessDriver:
    """A pod fault on a sandbox service's process, one subclass an action (:func:`process_driver`
    picks it); ``remove`` undoes either from its record: resume the stopped one, start the killed one."""

    name: ClassVar[str] = "process"
    expires_by_itself = False  # a killed process is started again by our watchdog (StopProcess: its own)

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

    def target(self) -> str:
        return f"process {self._record.name} (pid {self._record.pid}) of service {self._spec.service}"

    def _signal(self) -> str:
        raise NotImplementedError

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [
            {
                "kind": "ProcessFault",
                "service": self._spec.service,
                "process": self._record.name,
                "pid": self._record.pid,
                "action": self._spec.action,
                "signal": self._signal(),
            }
        ]

    def undo(self, fault_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def inject(self, fault_id: str) -> Injected:
        raise NotImplementedError

    def _require_alive(self) -> None:
        if not alive(self._record):
            raise TargetError(f"process {self._record.name} (pid {self._record.pid}) is not running")

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Resume a stopped process, or start a killed one again (recording it in the target file)."""
        if "resume" in undo:
            record = ProcessRecord.from_json(undo["resume"])
            was_stopped = stopped(record)  # before the watchdog goes: it resumes the process as it exits
            watchdog = Path(str(undo["watchdog"]))
            if watchdog.exists():
                stop(ProcessRecord.from_json(read_json(watchdog)), grace_s=5)
            if stopped(record):
                os.kill(record.pid, signal.SIGCONT)
            return was_stopped  # False: gone, or running again (its watchdog or an earlier removal resumed it)
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


class StopProcess(ProcessDriver):
    """``pod-failure``: SIGSTOP, with a watchdog that sends SIGCONT at the deadline even if this run dies."""

    expires_by_itself = True

    def _signal(self) -> str:
        return f"SIGSTOP for {self._spec.duration_s:g}s, then SIGCONT (a watchdog resumes it regardless)"

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"resume": self._record.to_json(), "watchdog": str(self._state_dir / f"{fault_id}.watchdog.json")}

    def inject(self, fault_id: str) -> Injected:
        self._require_alive()
        until = time.time() + (self._spec.duration_s or 0) + grace_s(WATCHDOG_GRACE_S)
        argv = [sys.executable, "-m", "chaoslib_ext.faults.pod.watchdog", "--pid", str(self._record.pid),
                "--start-ticks", str(self._record.start_ticks), "--until", str(until)]  # fmt: skip
        watchdog = spawn_detached(f"watchdog-{fault_id}", argv, self._state_dir / f"{fault_id}.watchdog.log")
        write_json_atomic(self._state_dir / f"{fault_id}.watchdog.json", watchdog.to_json())
        os.kill(self._record.pid, signal.SIGSTOP)
        return Injected(_wait_stopped(self._record))


class KillProcess(ProcessDriver):
    """``pod-kill`` / ``container-kill``: SIGKILL; removal starts the same command line again."""

    def _signal(self) -> str:
        return f"SIGKILL, then the same command line again after {self._spec.duration_s or 0:g}s"

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"restart": self._record.to_json(), "state_file": self._state_file}

    def inject(self, fault_id: str) -> Injected:
        self._require_alive()
        stop(self._record, grace_s=0.0, sig=signal.SIGKILL)
        return Injected(time.time())


def _wait_stopped(record: ProcessRecord, within_s: float = 5.0) -> float:
    """The time the process was seen stopped: SIGSTOP takes effect when the kernel next schedules it."""
    deadline = time.monotonic() + within_s
    while not stopped(record):
        if time.monotonic() > deadline or not alive(record):
            raise TargetError(f"process {record.name} (pid {record.pid}) did not stop within {within_s:g}s")
        time.sleep(0.005)
    return time.time()


def process_driver(target: Target, spec: PodFaultSpec, state_dir: Path) -> ProcessDriver:
    """The driver of ``spec``'s action on the target's local process of its service."""
    return (StopProcess if spec.action == "pod-failure" else KillProcess)(target, spec, state_dir)
