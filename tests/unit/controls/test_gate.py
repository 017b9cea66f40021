"""The gate between the method's steps: approval, skip, pick, hold and release, each in the timeline."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.rundir import RunDir

METHOD = [{"name": "baseline"}, {"name": "slow redis"}, {"name": "recovery"}]


def run_in(tmp_path: Path) -> RunContext:
    return RunContext(RunDir(tmp_path), "sandbox")


class Step(threading.Thread):
    """``before_step`` of one activity in its own thread (as Chaos Toolkit's would block)."""

    def __init__(self, gate: Gate, activity: dict) -> None:
        super().__init__(daemon=True)
        self.gate, self.activity, self.decision = gate, activity, None
        self.start()

    def run(self) -> None:
        self.decision = self.gate.before_step(self.activity)

    def waiting(self, gate: Gate) -> None:
        for _ in range(200):
            if METHOD.index(self.activity) in gate.waiting:
                return
            self.join(0.01)
        raise AssertionError("the step never waited")


def steps(run: RunContext) -> list[tuple[str, str, str | None]]:
    return [(e["activity"], e["decision"], e.get("who")) for e in run.timeline.events() if e["kind"] == "step"]


def test_with_approve_each_every_step_waits_for_a_decision(tmp_path):
    run = run_in(tmp_path)
    gate = Gate(run, METHOD, "each")
    first = Step(gate, METHOD[0])
    first.waiting(gate)
    assert gate.to_json()["steps"][0]["state"] == "waiting"
    assert gate.decide("run", "ana") == "baseline"
    first.join(2)
    assert first.decision == "run"
    second = Step(gate, METHOD[1])
    second.waiting(gate)
    assert gate.decide("skip", "ana") == "slow redis"
    second.join(2)
    assert second.decision == "skip"
    assert steps(run) == [("baseline", "approved", "ana"), ("slow redis", "skipped", "ana")]
    with pytest.raises(SpecError, match="no step is waiting"):
        gate.decide("run")


def test_without_approval_steps_pass_and_anything_else_is_not_a_step(tmp_path):
    gate = Gate(run_in(tmp_path), METHOD)
    assert gate.before_step(METHOD[0]) == "run"
    assert gate.before_step({"name": "baseline"}) == "run"  # a probe with the same name: not the method's
    assert gate.ahead() == [1, 2]


def test_pick_skips_the_steps_before_the_one_picked(tmp_path):
    run = run_in(tmp_path)
    gate = Gate(run, METHOD)
    assert gate.pick(2, "bo") == "recovery"
    assert [gate.before_step(a) for a in METHOD] == ["skip", "skip", "run"]
    assert steps(run) == [
        ("baseline", "skipped", None),
        ("slow redis", "skipped", None),
        ("recovery", "approved", None),
    ]
    with pytest.raises(SpecError) as err:
        gate.pick(0)
    assert err.value.accepted == "none left"


def test_hold_stops_before_the_next_step_until_released(tmp_path):
    run = run_in(tmp_path)
    gate = Gate(run, METHOD)
    gate.hold("ana")
    step = Step(gate, METHOD[0])
    step.waiting(gate)
    assert step.decision is None
    gate.release("ana")
    step.join(2)
    assert step.decision == "run"
    assert [(a, d) for a, d, _ in steps(run)] == [
        ("baseline", "held"),
        ("baseline", "released"),
        ("baseline", "approved"),
    ]


def test_a_stopped_run_lets_a_waiting_step_through_for_the_control_to_end_the_method(tmp_path):
    run = run_in(tmp_path)
    gate = Gate(run, METHOD, "each")
    step = Step(gate, METHOD[0])
    step.waiting(gate)
    run.stop("abort", "enough")
    step.join(2)
    assert step.decision == "run"  # the control's interrupt_if_stopped ends the method right after


def test_an_unknown_approval_mode_is_refused_by_name(tmp_path):
    with pytest.raises(SpecError) as err:
        Gate(run_in(tmp_path), METHOD, "some")
    assert err.value.accepted == "none, each"
