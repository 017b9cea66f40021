"""Between the method's steps: the facilitator's decisions in a game day, kept in the run's process.

- ``approve: each``: every step of the method waits until someone approves it (or skips it);
- hold: the method stops before its next step until released (a breakpoint, whatever ``approve`` says);
- pick: jump to a later step: the steps before it are skipped when they come, it runs at once;
- next: the method's current wait (an ``observe``) ends now, so the next step comes (RunContext.advance).

The control endpoint (chaoslib_ext.controls.endpoint) calls the decisions from its threads; the chaosllm
control calls :meth:`Gate.before_step` before each activity (Chaos Toolkit's thread for it: the main
one, or a pool's for a background step). Steps are the method's activities, known by identity (names
may repeat); anything else (the steady-state probes, rollbacks) passes. Each decision goes to the
timeline (``step``). A stopped run (an abort, a trip) lets every waiting step through: the control
then ends the method.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.run.context import RunContext

__all__ = ["APPROVE", "Gate"]

APPROVE = ("none", "each")
Decision = Literal["run", "skip"]


class Gate:
    def __init__(self, run: RunContext, method: Sequence[Mapping[str, Any]], approve: str = "none") -> None:
        if approve not in APPROVE:
            raise SpecError("approve", f"unknown approval mode {approve!r}", ", ".join(APPROVE))
        self.run = run
        self.approve_each = approve == "each"
        self.held = False
        self._ids = [id(a) for a in method]
        self.names = [str(a.get("name", f"step {i + 1}")) for i, a in enumerate(method)]
        self.done: set[int] = set()  # steps reached (run or skipped), by index
        self.waiting: list[int] = []  # steps waiting for a decision, in the order they came
        self._cond = threading.Condition()
        self._decisions: list[tuple[Decision, str | None]] = []  # for the waiting steps, oldest first
        self._pick: int | None = None  # a step picked ahead: the ones before it are skipped

    def before_step(self, activity: Mapping[str, Any]) -> Decision:
        """Block until the step may run (or is skipped); "run" at once when nobody has to decide."""
        if id(activity) not in self._ids:
            return "run"
        index = self._ids.index(id(activity))
        with self._cond:
            if self._pick is not None:
                picked = index == self._pick
                self._pick = None if picked else self._pick
                return self._record(index, "run" if picked else "skip", None)
            if not (self.approve_each or self.held):
                self.done.add(index)
                return "run"
            self.waiting.append(index)
            while not self._decisions and not self.run.stopped:
                self._cond.wait(0.2)
            self.waiting.remove(index)
            if self.run.stopped:
                self.done.add(index)
                return "run"  # the control ends the method here
            decision, who = self._decisions.pop(0)
            return self._record(index, decision, who)

    def _record(self, index: int, decision: Decision, who: str | None) -> Decision:
        self.done.add(index)
        self.run.timeline.record_step(self.names[index], "approved" if decision == "run" else "skipped", who)
        return decision

    def decide(self, decision: Decision, who: str | None = None) -> str:
        """Approve or skip the oldest waiting step without a decision (a hold is released); its name.
        Raises SpecError when none waits."""
        with self._cond:
            if len(self._decisions) >= len(self.waiting):
                raise SpecError("step", "no step is waiting for a decision")
            index = self.waiting[len(self._decisions)]
            self._decisions.append((decision, who))
            self._release(who)
            self._cond.notify_all()
            return self.names[index]

    def pick(self, index: int, who: str | None = None) -> str:
        """Run step ``index`` (0-based) next: the steps before it are skipped. Raises SpecError for a step
        that is not ahead."""
        with self._cond:
            ahead = self.ahead()
            if index not in ahead:
                listed = ", ".join(f"{i}: {self.names[i]}" for i in ahead) or "none left"
                raise SpecError("step", f"step {index} is not ahead", listed)
            for waiting in self.waiting[len(self._decisions) :]:
                self._decisions.append(("run" if waiting == index else "skip", who))
            if index not in self.waiting:
                self._pick = index
            self._release(who)
            self._cond.notify_all()
            return self.names[index]

    def ahead(self) -> list[int]:
        """The steps not reached yet, and those waiting."""
        return [i for i in range(len(self.names)) if i not in self.done]

    def hold(self, who: str | None = None) -> None:
        """Stop the method before its next step until released."""
        with self._cond:
            if not self.held:
                self.held = True
                self.run.timeline.record_step(self._next(), "held", who)

    def release(self, who: str | None = None) -> None:
        """Let the method go on (the step a hold stopped runs, unless every step needs approval)."""
        with self._cond:
            self._release(who)
            if not self.approve_each:
                for _ in self.waiting[len(self._decisions) :]:
                    self._decisions.append(("run", who))
            self._cond.notify_all()

    def _release(self, who: str | None) -> None:
        if self.held:
            self.held = False
            self.run.timeline.record_step(self._next(), "released", who)

    def _next(self) -> str:
        ahead = self.ahead()
        return self.names[ahead[0]] if ahead else "(the method's end)"

    def to_json(self) -> dict[str, Any]:
        steps = [{"index": i, "name": n, "state": self._state(i)} for i, n in enumerate(self.names)]
        return {"approve": "each" if self.approve_each else "none", "held": self.held, "steps": steps}

    def _state(self, index: int) -> str:
        if index in self.waiting:
            return "waiting"
        return "done" if index in self.done else "ahead"
