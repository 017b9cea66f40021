"""The one run object activities and controls share: the run directory, its ledger and timeline, the target.

Chaos Toolkit hands every activity the experiment's ``configuration``; the chaosllm control puts the
run directory there (``chaosllm_run_dir``) before the first activity, next to ``chaosllm_target``.
All run state lives in that directory, so another process (``chaosllm cleanup``) can act on it too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.run.proxied import local_proxy, through_local_proxy
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.target import SANDBOX, Target, load_target

__all__ = ["RUN_DIR_KEY", "TARGET_KEY", "RunContext", "target_for"]

RUN_DIR_KEY = "chaosllm_run_dir"
TARGET_KEY = "chaosllm_target"

CONTROL_HINT = (
    "add the chaosllm control to the experiment: "
    "controls: [{name: chaosllm, provider: {type: python, module: chaoslib_ext.controls.run}}]"
)


@dataclass(frozen=True)
class RunContext:
    run_dir: RunDir
    target_ref: str

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.run_dir.ledger)

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.run_dir.timeline)

    @property
    def stopped(self) -> bool:
        """True once a safeguard tripped, the load died or the run was aborted: no new fault may go in,
        the method ends at the next activity."""
        return self.run_dir.stop_file.exists()

    def stop(self, by: str, reason: str, **details: Any) -> dict[str, Any]:
        """Stop the run (``stop.json``): ``by`` is ``safeguard``, ``load`` or ``abort``; the first stop is
        kept (this one's record is returned all the same)."""
        record = {"by": by, "reason": reason, "at": time.time(), **details}
        if not self.stopped:
            write_json_atomic(self.run_dir.stop_file, record)
        return record

    def stop_record(self) -> dict[str, Any] | None:
        """The stop, as ``stop`` wrote it (None: the run was not stopped)."""
        return dict(read_json(self.run_dir.stop_file)) if self.stopped else None

    def stop_reason(self) -> str:
        """Why the run was stopped, in words (empty when it was not)."""
        record = self.stop_record()
        if record is None:
            return ""
        if record.get("by") == "load":
            return f"load process {record.get('process')} died: {record.get('reason')}"
        if record.get("by") == "abort":
            who = f" by {record['who']}" if record.get("who") else ""
            return f"aborted{who} ({record.get('via')}): {record.get('reason')}"
        if record.get("by") == "preflight":
            return f"preflight failed: {record.get('reason')}"
        return f"safeguard {record.get('safeguard')!r} tripped: {record.get('reason')}"

    def wait(self, seconds: float, slice_s: float = 0.2, advance: bool = False) -> bool:
        """Sleep ``seconds``, or less if the run is stopped meanwhile (or, with ``advance``, someone asked
        for the next step: see :meth:`advance`); True if the whole time passed."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stopped:
                return False
            if advance and self.run_dir.advance_file.exists():
                self.run_dir.advance_file.unlink(missing_ok=True)
                return False
            time.sleep(min(slice_s, left))
        return True

    def advance(self) -> None:
        """End the method's current wait (an ``observe``) now, so its next step comes (a game day's next)."""
        write_json_atomic(self.run_dir.advance_file, {"at": time.time()})

    def target(self) -> Target:
        """The run's target, seen through the fault proxy the run started for it (if it did)."""
        target = load_target(self.target_ref)
        ready = local_proxy(self.run_dir.proxy) if target.needs_local_proxy else None
        return through_local_proxy(target, ready, self.run_dir.proxy) if ready is not None else target

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None) -> RunContext:
        """The run an activity belongs to; raises ChaosLLMError when no chaosllm control set it up."""
        configuration = configuration or {}
        run_dir = configuration.get(RUN_DIR_KEY)
        if not run_dir:
            raise ChaosLLMError(f"no chaosllm run is active: {CONTROL_HINT}")
        return cls(RunDir(Path(run_dir)), str(configuration.get(TARGET_KEY) or SANDBOX))


def target_for(configuration: Mapping[str, Any] | None) -> Target:
    """The target an activity acts on: its run's (through the run's proxy), else the configured one."""
    configuration = configuration or {}
    if configuration.get(RUN_DIR_KEY):
        return RunContext.from_configuration(configuration).target()
    return load_target(str(configuration.get(TARGET_KEY) or SANDBOX))
